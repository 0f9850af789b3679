/*
 * issue.c — the issuance pipeline for end-entity certificates:
 *   issue_prepare: template policy (templates/) -> serial, validity capped by the CA, AKID/SKID,
 *                  CDP and AIA of the issuing CA -> one signature in the token -> self-check
 *   issue_record:  ONE write transaction for a group: serial uniqueness, certificate records,
 *                  audit records; commit
 * Callers write certificates out only after issue_record succeeded.
 */
#include "ca/issue.h"

#include <string.h>

#include "ca/app.h"
#include "templates/template.h"

/* templates/ calls this for sid_source = "directory": a short read transaction per lookup. */
static int dir_lookup(void *arg, enum san_type type, const char *name, char *sid, size_t n)
{
    struct app *a = arg;
    struct store_txn *t = store_txn_begin(a->store, 0);
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

/* Validity: notBefore backdated by the clock-skew allowance, notAfter capped by the CA's. */
static void leaf_validity(struct app *a, struct ca_signer *s, int days, time_t *nb, time_t *na)
{
    time_t now = app_now(), ca_end = asn1_time_to_time(X509_get0_notAfter(s->cert));
    char when[32];

    *nb = now - (time_t)s->cfg->clock_skew;
    *na = now + (time_t)days * 86400;
    if (*na > ca_end) {
        time_iso(ca_end, when);
        report_warn("CA '%s': validity capped at the CA certificate's end, %s", s->rec.name, when);
        *na = ca_end;
    }
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
    r->issued_at = app_now();
    r->status = CERT_VALID;
    r->reason = -1;
    r->der = x509_to_der(out->cert, &r->der_len);
    return r->template_name && r->subject && r->sans && r->der && (!p->sid || r->sid);
}

int issue_prepare(struct app *a, struct ca_signer *s, const struct tmpl *t,
                  const struct issue_input *in, struct issued *out)
{
    struct tmpl_request req;
    struct tmpl_plan *plan;
    struct cert_spec spec;
    unsigned char serial[SERIAL_BYTES];
    int rc = EXIT_SYSTEM;

    memset(out, 0, sizeof(*out));
    memset(&req, 0, sizeof(req));
    req.source = in->source;
    req.csr_subject = in->csr_subject;
    req.pubkey = in->pubkey;
    req.csr_exts = in->csr_exts;
    req.subject_override = in->subject_override;
    req.op_sans = in->sans;
    req.n_op_sans = in->n_sans;
    req.op_sid = in->sid;
    req.days = in->days;
    req.lookup = dir_lookup;
    req.lookup_arg = a;
    if ((plan = tmpl_check(t, &req)) == NULL)
        return fail_tmpl();
    memset(&spec, 0, sizeof(spec));
    if (!serial_new(serial))
        goto out;
    spec.subject = plan->subject;
    spec.pubkey = in->pubkey;
    spec.spki = in->spki;
    spec.issuer = s->cert;
    spec.serial = serial;
    spec.serial_len = sizeof(serial);
    leaf_validity(a, s, plan->days, &spec.not_before, &spec.not_after);
    spec.exts = plan->exts;
    spec.akid = 1;
    spec.cdp_url = s->cfg->cdp_url;
    spec.aia_url = s->cfg->aia_url;
    if ((out->cert = cert_build(&spec, a->hsm, s->key, s->sig, s->hash, &rc)) == NULL)
        goto out;
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
    return rc;
}

int issue_record(struct app *a, struct issued *v, size_t n)
{
    struct store_txn *t = store_txn_begin(a->store, 1);
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
