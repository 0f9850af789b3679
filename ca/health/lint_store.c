/*
 * lint_store.c — `offca lint --store`: every valid certificate in the store (status valid, not
 * expired) through the lint table again, each with its CA's certificate as issuer and its
 * template's wildcard setting, plus the root CA certificates; one read transaction. Rules get
 * stricter over time: what passed at issuance may not pass today.
 */
#include "ca/health/health.h"

#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"

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

/* The template named name, quietly (a template since removed: NULL). */
static const struct tmpl *scan_tmpl(const struct tmpl_set *ts, const char *name)
{
    for (size_t i = 0; ts && name && i < tmpl_set_count(ts); i++)
        if (strcmp(tmpl_get0_name(tmpl_set_at(ts, i)), name) == 0)
            return tmpl_set_at(ts, i);
    return NULL;
}

/* The key gate is not a lint of the table (it needs the template and the blocklist): its
 * findings carry this rule. */
static const struct lint_rule key_rule = {
    "key.gate", "CA/B BR 6.1.1.3, 6.1.6", LINT_ERROR, LINT_CERT, 0, 0, NULL
};

/* Today's key gate on the certificate's SubjectPublicKeyInfo (der: the certificate): a refusal
 * becomes a key.gate finding in r. 1 / 0 when the gate itself failed (reported). */
static int scan_key(struct scan *s, const unsigned char *der, size_t len, const struct tmpl *t,
                    const char *obj, struct lint_report *r)
{
    struct keygate_policy pol = {1, 1, 0, 0, NULL, 0, NULL, NULL};
    struct keygate_key key;
    const unsigned char *spki;
    size_t n;
    char why[MAX_LINT_PROBLEM];
    int rc;

    if (t != NULL)
        tmpl_keygate_policy(t, &pol);
    pol.blocked = s->sc->blocked;
    pol.blocked_arg = s->sc->blocked_arg;
    memset(&key, 0, sizeof(key));
    if (!der_cert_spki(der, len, &spki, &n)) {
        snprintf(why, sizeof(why), "key: the certificate's SubjectPublicKeyInfo cannot be found");
        rc = 3;
    } else {
        rc = keygate_check(spki, n, &pol, &key, why, sizeof(why));
    }
    keygate_key_clear(&key);
    if (rc == 4) {
        report("%s: key gate: %s", obj, why);
        s->failed = EXIT_SYSTEM;
        return 0;
    }
    if (rc != 0 && r->n < MAX_LINT_FINDINGS) {
        r->f[r->n].rule = &key_rule;
        snprintf(r->f[r->n].problem, sizeof(r->f[r->n].problem), "%s", why);
        snprintf(r->f[r->n].fix, sizeof(r->f[r->n].fix),
                 "revoke it with the command below");
        r->n++;
        r->n_sev[LINT_ERROR]++;
    } else if (rc != 0) {
        r->dropped++;
        r->n_sev[LINT_ERROR]++;
    }
    return 1;
}

/* One certificate to re-check: x and its DER, issued by ca with the serial hex. */
struct scan_item {
    X509 *x, *issuer;
    const unsigned char *der;
    size_t der_len;
    const char *ca, *hex;
    const struct tmpl *tmpl;        /* its template (NULL: a CA, or a template since removed) */
    int revocable;
};

/* Lint the item, put its key through the gate, and print the findings, if any. */
static void scan_lint(struct scan *s, const struct scan_item *it)
{
    struct lint_opts o = s->sc->base;
    struct lint_report r;
    char obj[MAX_CA_NAME + 2 * MAX_STORE_SERIAL + 8], cmd[MAX_CA_NAME + 2 * MAX_STORE_SERIAL + 64];
    size_t lint_errors;

    o.issuer = it->issuer;
    o.allow_wildcard = it->tmpl ? tmpl_allows_wildcard(it->tmpl) : 0;
    s->sc->checked++;
    snprintf(obj, sizeof(obj), "%s/%s", it->ca, it->hex);
    if (!lint_cert(it->x, &o, &r)) {
        report("%s: %s", obj, tmpl_error());
        s->failed = EXIT_SYSTEM;
        return;
    }
    lint_errors = r.n_sev[LINT_ERROR];
    if (!scan_key(s, it->der, it->der_len, it->tmpl, obj, &r))
        return;
    if (r.n == 0 && r.dropped == 0)
        return;
    if (r.n_sev[LINT_ERROR]) {
        const char *ca = it->ca, *hex = it->hex;

        s->sc->hits++;
        if (it->revocable)
            snprintf(cmd, sizeof(cmd), "offca revoke --ca %s --serial %s --reason %s", ca, hex,
                     r.n_sev[LINT_ERROR] > lint_errors ? "keyCompromise" : "superseded");
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

    if (rec->status != CERT_VALID || rec->not_after < s->sc->now || rec->der_len == 0)
        return 1;                        /* der_len 0: adopted without its certificate */
    serial_hex(rec->serial, rec->serial_len, hex);
    if ((x = der_to_x509(rec->der, rec->der_len)) == NULL) {
        report("%s/%s: the stored certificate does not parse; run 'offca audit verify'",
               rec->ca, hex);
        s->failed = EXIT_SYSTEM;
        return 0;
    }
    {
        struct scan_item it = {x, scan_issuer(s, rec->ca), rec->der, rec->der_len, rec->ca, hex,
                               scan_tmpl(s->ts, rec->template_name), 1};

        scan_lint(s, &it);
    }
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
        unsigned char *der = NULL;
        int len;

        serial_hex(ASN1_STRING_get0_data(sn), n > MAX_STORE_SERIAL ? MAX_STORE_SERIAL : n, hex);
        if ((len = i2d_X509(s->cas[i].cert, &der)) <= 0) {
            report("CA '%s': its certificate cannot be encoded; run 'offca audit verify'",
                   s->cas[i].name);
            s->failed = EXIT_SYSTEM;
            return;
        }
        {
            struct scan_item it = {s->cas[i].cert, s->cas[i].cert, der, (size_t)len,
                                   s->cas[i].name, hex, NULL, 0};

            scan_lint(s, &it);
        }
        OPENSSL_free(der);
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
