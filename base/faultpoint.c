/*
 * faultpoint.c — test build only (-DOFFCA_TEST_BUILD; the Makefile leaves this file out of
 * build/offca): act on $OFFCA_FAULT=<point>[:<n>][:kill|stop|exit] when a FAULTPOINT is reached
 * for the n-th time. See faultpoint.h. One line goes to stderr first,
 *   "offca: fault point <point> #<n> (<detail>): <action>"
 * so a test can tell the kill landed where it asked (and, for "stop", that the process is
 * about to stop). Counting is per process and thread-safe.
 */
#include "base/faultpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SPEC 128

enum fault_action { FAULT_KILL, FAULT_STOP, FAULT_EXIT };

/* Every point a FAULTPOINT names, and where it is. */
static const struct { const char *name, *where; } POINTS[] = {
    {"store.before-commit", "a write transaction is about to commit (nothing of it is stored)"},
    {"store.committed", "a write transaction has committed"},
    {"sign.staged", "sign -o / --pfx: the output is staged next to its name "
                    "(.NAME.offca-stage-SERIAL), the certificate not yet recorded"},
    {"sign.committed", "sign --csr / --pfx: the certificate is recorded, its output not yet in "
                       "place"},
    {"file.temp-written", "an output file's temp file is written and synced, not yet renamed"},
    {"batch.entry-prepared", "sign --batch: a worker has signed and staged an entry and is "
                             "outside any PKCS#11 call (counted over the run)"},
    {"batch.group-committed", "sign --batch: a group is recorded, none of its files renamed"},
    {"batch.file-renamed", "sign --batch: one staged file renamed into place (the others of "
                           "its group may not be)"},
    {"batch.group-written", "sign --batch: a group's files are all in place and flushed, the "
                            "next group not yet recorded"},
    {"renew.signed", "ca renew: the new CA certificate (and a root's link certificates) signed "
                     "and checked, nothing stored yet"},
    {"renew.committed", "ca renew: the new generation is recorded, no certificate file "
                        "written yet"},
    {"revoke.batch-entry", "revoke --batch: one entry revoked and audited in the batch's "
                           "transaction, not committed (counted over the run)"},
    {"crl.committed", "crl publish: a CA's new CRL numbers are recorded, no file written yet"},
    {"crl.temp-written", "crl publish: a CRL/CA certificate temp file is written and synced, "
                         "not yet renamed"},
    {"crl.renamed", "crl publish: a CRL/CA certificate renamed into place, the directory not "
                    "yet synced, the file not yet read back, the next file not yet written"},
    {"crlimp.committed", "crl import / crl publish: which imported parent CRL is published is "
                         "recorded, its file not yet written"},
    {"presign.committed", "crl presign: the pre-signed CRLs are recorded, none written out yet"},
};
#define N_POINTS (sizeof(POINTS) / sizeof(POINTS[0]))

static struct {
    int armed;
    char point[MAX_SPEC];
    unsigned long nth;
    enum fault_action action;
    unsigned long seen;
} fault;

static int point_known(const char *name)
{
    for (size_t i = 0; i < N_POINTS; i++)
        if (strcmp(POINTS[i].name, name) == 0)
            return 1;
    return 0;
}

/* "<point>[:<n>][:kill|stop|exit]" into fault. 1 ok / 0. */
static int spec_parse(const char *spec)
{
    char copy[MAX_SPEC], *n, *act = NULL, *end;

    if (strlen(spec) >= sizeof(copy))
        return 0;
    snprintf(copy, sizeof(copy), "%s", spec);
    fault.nth = 1;
    fault.action = FAULT_KILL;
    if ((n = strchr(copy, ':')) != NULL) {
        *n++ = '\0';
        if ((act = strchr(n, ':')) != NULL)
            *act++ = '\0';
        if (*n >= 'a' && *n <= 'z' && act == NULL) {   /* "<point>:<action>" */
            act = n;
            n = NULL;
        }
    }
    if (n != NULL && ((fault.nth = strtoul(n, &end, 10)) == 0 || *end != '\0' || *n == '-'))
        return 0;
    if (act != NULL && strcmp(act, "kill") != 0 && strcmp(act, "stop") != 0 &&
        strcmp(act, "exit") != 0)
        return 0;
    if (act != NULL)
        fault.action = act[0] == 'k' ? FAULT_KILL : act[0] == 's' ? FAULT_STOP : FAULT_EXIT;
    snprintf(fault.point, sizeof(fault.point), "%s", copy);
    return point_known(fault.point);
}

/* Check $OFFCA_FAULT (see faultpoint.h). */
void faultpoint_init(void)
{
    const char *spec = getenv("OFFCA_FAULT");

    if (spec == NULL || *spec == '\0')
        return;
    if (!spec_parse(spec)) {
        fprintf(stderr, "offca: OFFCA_FAULT: '%s' is not <point>[:<n>][:kill|stop|exit] with a "
                "known point and n >= 1; the points are:\n", spec);
        for (size_t i = 0; i < N_POINTS; i++)
            fprintf(stderr, "  %-22s %s\n", POINTS[i].name, POINTS[i].where);
        exit(2);
    }
    fault.armed = 1;
}

/* Count a reached point; act on the n-th. */
void faultpoint_reach(const char *point, const char *detail)
{
    static const char *const names[] = {"SIGKILL", "SIGSTOP", "exit"};
    unsigned long k;
    char line[512];
    int len;

    if (!fault.armed || strcmp(point, fault.point) != 0)
        return;
    if ((k = __atomic_add_fetch(&fault.seen, 1, __ATOMIC_SEQ_CST)) != fault.nth)
        return;
    len = snprintf(line, sizeof(line), "offca: fault point %s #%lu (%s): %s\n", point, k,
                   detail ? detail : "-", names[fault.action]);
    if (len > (int)sizeof(line) - 1)
        len = (int)sizeof(line) - 1;
    if (len > 0)
        (void)!write(STDERR_FILENO, line, (size_t)len);
    if (fault.action == FAULT_EXIT)
        _exit(FAULTPOINT_EXIT);
    raise(fault.action == FAULT_STOP ? SIGSTOP : SIGKILL);
}
