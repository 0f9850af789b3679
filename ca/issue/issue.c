/*
 * issue.c — the issuance pipeline for end-entity certificates:
 *   issue_prepare: template policy (templates/) -> serial, validity capped by the CA, AKID/SKID,
 *                  CDP and AIA of the issuing CA -> one signature in the token -> self-check
 *   issue_record:  ONE write transaction for a group: serial uniqueness, certificate records,
 *                  audit records; commit
 * Callers write certificates out only after issue_record succeeded.
 */
#include "ca/issue/issue.h"

#include <string.h>

#include "ca/common/common.h"
#include "templates/template.h"

/* templates/ calls this for sid_source = "directory": a short read transaction per lookup. */
static int dir_lookup(void *arg, enum san_type type, const char *name, char *sid, size_t n)
{
    struct store *st = arg;
    struct store_txn *t = store_txn_begin(st, 0);
    int r;

    if (t == NULL) {
        report("%s", store_error());
        return -1;
    }
    r = store_dir_lookup(t, type == SAN_UPN ? "upn" : "dns", name, sid, n);
    if (r < 0)
        report("%s", store_error());
    store_txn_abort(t);
    return r;
}

static char *sans_text(const struct tmpl_plan *p)
{
    size_t len = 1;
    char *s;

    for (size_t i = 0; i < p->n_sans; i++)
        len += strlen(p->sans[i].value) + 8;
    if ((s = malloc(len)) == NULL)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < p->n_sans; i++) {
        if (i)
            strcat(s, "\n");
        strcat(s, san_type_name(p->sans[i].type));
        strcat(s, ":");
        strcat(s, p->sans[i].value);
    }
    return s;
}

/* Validity: notBefore backdated by the clock-skew allowance (never before the CA's own
 * notBefore), notAfter capped by the CA's. RFC 5280 6.1.3 (a)(2): a certificate outside its
 * issuer's validity is useless to a relying party, so a clock outside the CA's validity, or a cap
 * that leaves less than the template's min_days, is refused. 0 or EXIT_POLICY, reported. */
static int leaf_validity(struct ca_signer *s, const struct tmpl_plan *p, time_t *nb, time_t *na)
{
    struct ca_window w;
    time_t now, ca_start, ca_end;
    const char *from = w.from, *to = w.to, *clock = w.clock;

    ca_window_of(s, &w);
    now = w.now, ca_start = w.start, ca_end = w.end;
    if (now < ca_start || now >= ca_end) {
        report("CA '%s': RFC 5280 validity: the clock (%s) is %s the CA certificate's validity "
               "(%s to %s); nothing was issued; %s", s->rec.name, clock,
               now < ca_start ? "before" : "after", from, to, now < ca_start ?
               "fix the system clock (the CA is not valid yet)" :
               "renew the CA ('offca ca create-issuing' or a new root), or fix the system clock");
        return EXIT_POLICY;
    }
    *nb = now - (time_t)s->cfg->clock_skew;
    if (*nb < ca_start)
        *nb = ca_start;
    *na = now + (time_t)p->days * 86400;
    if (*na > ca_end) {
        if (ca_end - now < (time_t)p->min_days * 86400) {
            report("CA '%s': validity: the CA certificate ends %s, %ld day(s) from now, below the "
                   "template '%s' minimum of %d days; nothing was issued; renew the CA first",
                   s->rec.name, to, (long)((ca_end - now) / 86400), p->template_name,
                   p->min_days);
            return EXIT_POLICY;
        }
        report_warn("CA '%s': validity capped at the CA certificate's end, %s", s->rec.name, to);
        *na = ca_end;
    }
    return 0;
}

static int fill_record(struct issued *out, struct ca_signer *s, const struct tmpl_plan *p,
                       const unsigned char *serial, time_t nb, time_t na)
{
    struct cert_rec *r = &out->rec;

    snprintf(r->ca, sizeof(r->ca), "%s", s->rec.name);
    memcpy(r->serial, serial, SERIAL_BYTES);
    r->serial_len = SERIAL_BYTES;
    r->template_name = strdup(p->template_name);
    r->subject = dn_format(p->subject);
    r->sans = sans_text(p);
    r->sid = p->sid ? strdup(p->sid) : NULL;
    r->not_before = nb;
    r->not_after = na;
    r->issued_at = ca_now();
    r->status = CERT_VALID;
    r->reason = -1;
    r->key_index = s->key_index;
    return r->template_name && r->subject && r->sans && r->der && (!p->sid || r->sid);
}

/* The key gate for this template: a generated key goes through it whole (gen filled); a CSR's
 * key passed the structural rules in csr.c, here it meets the blocklist. 0 or exit class. */
static int key_gate(struct store *st, const struct config *cfg, const struct tmpl *t,
                    const struct tmpl_request *in,
                    const struct keygate_key *csr_key, struct keygate_key *gen,
                    const struct keygate_key **key)
{
    struct keygate_policy pol;
    struct keycheck_ctx ctx;
    char why[512];
    int rc;

    if (csr_key != NULL) {
        *key = csr_key;
        return keycheck_blocked(st, cfg, csr_key, in->source);
    }
    tmpl_keygate_policy(t, &pol);
    if ((rc = keycheck_policy(st, cfg, &ctx, &pol)) != 0)
        return rc;
    if ((rc = keygate_check_pkey(in->pubkey, &pol, gen, why, sizeof(why))) != 0) {
        report("%s: %s", in->source, why);
        return rc;
    }
    *key = gen;
    return 0;
}

int issue_prepare(struct store *st, struct hsm *h, const struct config *cfg,
                  struct ca_signer *s, const struct tmpl *t,
                  const struct tmpl_request *in, const struct keygate_key *csr_key,
                  struct issued *out)
{
    struct keygate_key gen;
    const struct keygate_key *key = NULL;
    struct tmpl_request req = *in;
    struct tmpl_plan *plan;
    struct cert_spec spec;
    struct cert_built built;
    unsigned char serial[SERIAL_BYTES];
    int rc = EXIT_SYSTEM;

    memset(out, 0, sizeof(*out));
    req.lookup = dir_lookup;
    req.lookup_arg = st;
    memset(&gen, 0, sizeof(gen));
    if ((plan = tmpl_check(t, &req)) == NULL)
        return fail_tmpl();
    if ((rc = key_gate(st, cfg, t, in, csr_key, &gen, &key)) != 0 ||
        (rc = keycheck_reuse(st, t, key, plan->subject, in->source)) != 0)
        goto out;
    rc = EXIT_SYSTEM;
    memset(&spec, 0, sizeof(spec));
    if (!serial_new(serial))
        goto out;
    spec.subject = plan->subject;
    spec.pubkey = in->pubkey;
    spec.key = csr_key;             /* a generated key keeps its EVP_PKEY: the PKCS#12 needs it */
    spec.issuer = s->cert;
    spec.serial = serial;
    spec.serial_len = sizeof(serial);
    if ((rc = leaf_validity(s, plan, &spec.not_before, &spec.not_after)) != 0)
        goto out;
    spec.exts = plan->exts;
    spec.akid = 1;
    spec.cdp_url = s->cdp;
    spec.aia_url = s->aia;
    spec.allow_wildcard = tmpl_allows_wildcard(t);
    if ((out->cert = cert_build(&spec, h, s->key, s->sig, s->hash, &built)) == NULL) {
        rc = built.rc;
        goto out;
    }
    out->rec.der = built.der;             /* the DER cert_build checked; the record owns it now */
    out->rec.der_len = built.der_len;
    if (!fill_record(out, s, plan, serial, spec.not_before, spec.not_after)) {
        report("certificate: out of memory while recording it");
        rc = EXIT_SYSTEM;
        goto out;
    }
    rc = 0;
out:
    if (rc)
        issued_clear(out);
    tmpl_plan_free(plan);
    keygate_key_clear(&gen);
    return rc;
}

int issue_record(struct store *st, struct issued *v, size_t n)
{
    struct store_txn *t = store_txn_begin(st, 1);
    char hex[2 * MAX_STORE_SERIAL + 1], detail[600];
    int ok = 1;

    if (t == NULL)
        return fail_store();
    for (size_t i = 0; ok && i < n; i++) {
        const struct cert_rec *r = &v[i].rec;
        serial_hex(r->serial, r->serial_len, hex);
        snprintf(detail, sizeof(detail), "template=%s subject=%s sid=%s", r->template_name,
                 r->subject, r->sid ? r->sid : "-");
        ok = store_cert_add(t, r) && store_audit_append(t, "cert.issue", hex, "ok", detail);
    }
    return txn_finish(t, ok);
}

void issued_clear(struct issued *i)
{
    X509_free(i->cert);
    cert_rec_clear(&i->rec);
    memset(i, 0, sizeof(*i));
}
