/*
 * lint_store.c — `offca lint --store`: every valid certificate in the store (status valid, not
 * expired) through the lint table again, each with its CA's certificate as issuer and its
 * template's wildcard setting, plus the root CA certificates; one read transaction. Rules get
 * stricter over time: what passed at issuance may not pass today.
 */
#include "ca/lint_store.h"

#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "ca/issue.h"

struct scan_ca {
    char name[MAX_CA_NAME + 1];
    X509 *cert;
    int is_root;
};

struct scan {
    struct lint_scan *sc;
    const struct tmpl_set *ts;
    struct scan_ca *cas;
    size_t n_cas, cap;
    int failed;
};
static int scan_ca_take(void *arg, const struct ca_rec *r)
{
    struct scan *s = arg;
    struct scan_ca *n;

    if (r->cert_der == NULL || r->cert_len == 0)
        return 1;                              /* pending: no certificate yet */
    if (s->n_cas == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        if ((n = realloc(s->cas, s->cap * sizeof(*n))) == NULL) {
            report("lint --store: memory: cannot list the CAs; free memory");
            s->failed = EXIT_SYSTEM;
            return 0;
        }
        s->cas = n;
    }
    n = &s->cas[s->n_cas];
    snprintf(n->name, sizeof(n->name), "%s", r->name);
    n->is_root = r->is_root;
    if ((n->cert = der_to_x509(r->cert_der, r->cert_len)) == NULL) {
        report("CA '%s': the stored certificate does not parse; run 'offca audit verify'",
               r->name);
        s->failed = EXIT_SYSTEM;
        return 0;
    }
    s->n_cas++;
    return 1;
}

static X509 *scan_issuer(const struct scan *s, const char *ca)
{
    for (size_t i = 0; i < s->n_cas; i++)
        if (strcmp(s->cas[i].name, ca) == 0)
            return s->cas[i].cert;
    return NULL;
}

/* The template's wildcard setting, quietly (a template since removed allows nothing). */
static int scan_wildcard(const struct tmpl_set *ts, const char *name)
{
    for (size_t i = 0; ts && name && i < tmpl_set_count(ts); i++)
        if (strcmp(tmpl_get0_name(tmpl_set_at(ts, i)), name) == 0)
            return tmpl_allows_wildcard(tmpl_set_at(ts, i));
    return 0;
}

/* Lint x (issued by ca with the serial hex) and print its findings, if any. */
static void scan_lint(struct scan *s, X509 *x, X509 *issuer, const char *ca,
                      const char *hex, int wildcard, int revocable)
{
    struct lint_opts o = s->sc->base;
    struct lint_report r;
    char obj[MAX_CA_NAME + 2 * MAX_STORE_SERIAL + 8], cmd[MAX_CA_NAME + 2 * MAX_STORE_SERIAL + 64];

    o.issuer = issuer;
    o.allow_wildcard = wildcard;
    s->sc->checked++;
    if (!lint_cert(x, &o, &r)) {
        report("%s/%s: %s", ca, hex, tmpl_error());
        s->failed = EXIT_SYSTEM;
        return;
    }
    if (r.n == 0 && r.dropped == 0)
        return;
    snprintf(obj, sizeof(obj), "%s/%s", ca, hex);
    if (r.n_sev[LINT_ERROR]) {
        s->sc->hits++;
        if (revocable)
            snprintf(cmd, sizeof(cmd), "offca revoke --ca %s --serial %s --reason superseded", ca,
                     hex);
        else
            snprintf(cmd, sizeof(cmd), "root CA '%s' cannot be revoked: create a new root and "
                     "retire this one", ca);
    }
    s->sc->hit(s->sc->arg, obj, &r, r.n_sev[LINT_ERROR] ? cmd : NULL);
}

static int scan_cert(void *arg, const struct cert_rec *rec)
{
    struct scan *s = arg;
    char hex[2 * MAX_STORE_SERIAL + 1];
    X509 *x;

    if (rec->status != CERT_VALID || rec->not_after < s->sc->now)
        return 1;
    serial_hex(rec->serial, rec->serial_len, hex);
    if ((x = der_to_x509(rec->der, rec->der_len)) == NULL) {
        report("%s/%s: the stored certificate does not parse; run 'offca audit verify'",
               rec->ca, hex);
        s->failed = EXIT_SYSTEM;
        return 0;
    }
    scan_lint(s, x, scan_issuer(s, rec->ca), rec->ca, hex,
              scan_wildcard(s->ts, rec->template_name), 1);
    X509_free(x);
    return s->failed == 0;
}

static void scan_roots(struct scan *s)
{
    char hex[2 * MAX_STORE_SERIAL + 1];

    for (size_t i = 0; i < s->n_cas && !s->failed; i++) {
        const ASN1_INTEGER *sn = X509_get0_serialNumber(s->cas[i].cert);
        size_t n = (size_t)ASN1_STRING_length(sn);

        if (!s->cas[i].is_root || (s->sc->ca && strcmp(s->sc->ca, s->cas[i].name) != 0))
            continue;
        serial_hex(ASN1_STRING_get0_data(sn), n > MAX_STORE_SERIAL ? MAX_STORE_SERIAL : n, hex);
        scan_lint(s, s->cas[i].cert, s->cas[i].cert, s->cas[i].name, hex, 0, 0);
    }
}

int lint_store_scan(struct store *st, const struct tmpl_set *ts, struct lint_scan *sc)
{
    struct scan s;
    struct store_txn *t;

    memset(&s, 0, sizeof(s));
    s.sc = sc;
    s.ts = ts;
    if ((t = store_txn_begin(st, 0)) == NULL) {
        report("%s", store_error());
        return EXIT_SYSTEM;
    }
    if (!store_ca_foreach(t, scan_ca_take, &s) && !s.failed)
        s.failed = EXIT_SYSTEM;
    if (!s.failed)
        scan_roots(&s);
    if (!s.failed && !store_cert_foreach(t, sc->ca, scan_cert, &s) && !s.failed)
        s.failed = EXIT_SYSTEM;
    if (s.failed == EXIT_SYSTEM && *store_error())
        report("%s", store_error());
    store_txn_abort(t);
    for (size_t i = 0; i < s.n_cas; i++)
        X509_free(s.cas[i].cert);
    free(s.cas);
    return s.failed;
}
