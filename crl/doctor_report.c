/*
 * doctor_report.c — the list of findings doctor produces (ca/ prints it as text or JSON).
 */
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_FINDINGS 100000

/* Append one finding; strings are copied (truncated to the field sizes). 1 ok / 0 (memory or
 * MAX_FINDINGS reached, class 4). */
int doctor_add(struct doctor_report *r, enum doctor_sev sev, const char *cert, const char *rule,
               const char *fix, const char *problem_fmt, ...)
{
    struct doctor_finding *f;
    va_list ap;

    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct doctor_finding *n;

        if (cap > MAX_FINDINGS || (n = OPENSSL_realloc(r->f, cap * sizeof(*n))) == NULL) {
            crl_seterr(CE_SYSTEM, "doctor: findings: cannot store more than %zu; check fewer "
                       "certificates at once", r->n);
            return 0;
        }
        r->f = n;
        r->cap = cap;
    }
    f = &r->f[r->n++];
    memset(f, 0, sizeof(*f));
    f->sev = sev;
    snprintf(f->cert, sizeof(f->cert), "%s", cert ? cert : "");
    snprintf(f->rule, sizeof(f->rule), "%s", rule ? rule : "");
    snprintf(f->fix, sizeof(f->fix), "%s", fix ? fix : "");
    va_start(ap, problem_fmt);
    vsnprintf(f->problem, sizeof(f->problem), problem_fmt, ap);
    va_end(ap);
    return 1;
}

/* Free the findings array and zero r (NULL-safe). */
void doctor_report_free(struct doctor_report *r)
{
    if (r == NULL)
        return;
    OPENSSL_free(r->f);
    memset(r, 0, sizeof(*r));
}

/* Number of findings of exactly severity sev. */
size_t doctor_report_count(const struct doctor_report *r, enum doctor_sev sev)
{
    size_t i, n = 0;

    for (i = 0; r != NULL && i < r->n; i++)
        n += r->f[i].sev == sev;
    return n;
}
