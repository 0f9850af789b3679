/*
 * convert.c — conversions every room of ca/ needs: ASN1_TIME to time_t, ISO 8601 text, DER to
 * X509 (exactly one, nothing trailing) and back.
 */
#include "ca/common/common.h"

#include <stdlib.h>
#include <time.h>

time_t asn1_time_to_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    return timegm(&tm);
}

void time_iso(time_t t, char out[32])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

X509 *der_to_x509(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);

    if (x && p != der + len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

unsigned char *x509_to_der(X509 *x, size_t *len)
{
    int n = i2d_X509(x, NULL);
    unsigned char *der = n > 0 ? malloc((size_t)n) : NULL, *p = der;

    if (der == NULL || i2d_X509(x, &p) != n) {
        free(der);
        return NULL;
    }
    *len = (size_t)n;
    return der;
}
