/*
 * clock.c — the time offca considers "now". The shipped binary asks the system; the test build
 * (build/offca-test, -DOFFCA_TEST_BUILD) lets $OFFCA_TEST_NOW move it for the cron tests.
 */
#include "ca/common/common.h"

#include <stdlib.h>

time_t ca_now(void)
{
#ifdef OFFCA_TEST_BUILD
    const char *s = getenv("OFFCA_TEST_NOW");
    char *end;
    long long v;

    if (s && *s) {
        v = strtoll(s, &end, 10);
        if (*end == '\0' && v > 0)
            return (time_t)v;
    }
#endif
    return time(NULL);
}
