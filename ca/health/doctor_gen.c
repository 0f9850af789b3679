/*
 * doctor_gen.c — what `offca doctor` checks about a CA's generations: the active certificate's
 * expiry against [ca.NAME] renew_warning (with the renew command to run), certificates issued
 * now that the CA certificate's end would cut short (validity is capped by the CA), and the list
 * of key generations whose CRLs must be live (every one not yet stopped by its final CRL).
 */
#include "ca/health/health.h"

#include <stdio.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/issue/issue.h"
#include "templates/template.h"

#define ISSUING_RENEW_WARN ((int64_t)CA_EXPIRY_WARN_DAYS * 86400)    /* shared with status */
#define ROOT_RENEW_WARN ((int64_t)730 * 86400)

/* The active certificate's end, within renew_warning: a warning with the renew command (an
 * error once it has passed). */
void doctor_gen_expiry(const struct config *cfg, const struct ca_rec *r, X509 *x, time_t now,
                       struct doctor_report *rep)
{
    const struct ca_cfg *cc = config_ca(cfg, r->name);
    int64_t win = cc->renew_warning > 0 ? cc->renew_warning :
                  r->is_root ? ROOT_RENEW_WARN : ISSUING_RENEW_WARN;
    time_t na = asn1_time_to_time(X509_get0_notAfter(x));
    char fix[256], when[32];

    if (r->state != CA_ACTIVE || na - now >= (time_t)win)
        return;
    time_iso(na, when);
    snprintf(fix, sizeof(fix), "renew it now: 'offca ca renew %s --same-key' (or --new-key URI "
             "with a new key from 'offca key generate'); see README 'Renewing and retiring CAs'",
             r->name);
    doctor_add(rep, na < now ? DOCTOR_ERROR : DOCTOR_WARN, r->name, "CA certificate expiry", fix,
               "the active certificate %s on %s (%ld days; warning from %ld days before)",
               na < now ? "expired" : "expires", when, (long)((na - now) / 86400),
               (long)(win / 86400));
}

/* Certificates issued now end with the CA certificate: say how short they come out against the
 * longest default validity of the loaded templates. */
void doctor_gen_capped(const struct tmpl_set *ts, const struct ca_rec *r, X509 *x, time_t now,
                       struct doctor_report *rep)
{
    time_t na = asn1_time_to_time(X509_get0_notAfter(x));
    const struct tmpl *longest = NULL;
    long left = (long)((na - now) / 86400);
    char fix[256];

    if (r->state != CA_ACTIVE || na <= now || ts == NULL)
        return;
    for (size_t i = 0; i < tmpl_set_count(ts); i++) {
        const struct tmpl *t = tmpl_set_at(ts, i);
        if (!longest || tmpl_days_default(t) > tmpl_days_default(longest))
            longest = t;
    }
    if (longest == NULL || tmpl_days_default(longest) <= left)
        return;
    snprintf(fix, sizeof(fix), "renew the CA ('offca ca renew %s --same-key') so what it issues "
             "gets its full validity", r->name);
    doctor_add(rep, DOCTOR_WARN, r->name, "certificate validity capped by the CA", fix,
               "certificates issued now end with the CA certificate in %ld days, not the %ld days "
               "of template '%s'", left, tmpl_days_default(longest), tmpl_get0_name(longest));
}

/* The key generations of ca whose CRLs must be live: not stopped by a final CRL. */
int doctor_gen_live_keys(struct store_txn *t, const char *ca, struct gen_list *l,
                         unsigned keys[MAX_CA_GENS], size_t *n)
{
    struct crl_state st;

    *n = 0;
    if (!gen_list_load(t, ca, l))
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->g[i].key_index != l->g[i].cert_index)
            continue;
        if (store_crl_state_get_k(t, ca, l->g[i].key_index, &st) < 0) {
            report("%s", store_error());
            return 0;
        }
        if (!st.final)
            keys[(*n)++] = l->g[i].key_index;
    }
    return 1;
}
