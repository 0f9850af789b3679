/*
 * ca_renew.c — `offca ca renew`: a new CA certificate (AD CS "Certification Authority Renewal").
 * Same key: certificate index + 1, key index unchanged, same SKID. New key: the key index becomes
 * the new certificate index and from then on the CA signs with that key only; the older keys
 * keep signing their own CRLs (publish.c) while their certificates live. Every renewed
 * certificate carries CA Version V<cert>.<key> and the Previous CA Certificate Hash. An issuing
 * CA is signed by its parent's newest generation (validity capped by it, as at create); a root
 * signs itself, and a root with a new key also gets the two RFC 4210 4.4 link certificates:
 * OldWithNew (old key certifies the new key) and NewWithOld (new key certifies the old one),
 * recorded under the root with the key that signed them, so they are revocable on its CRL.
 * Everything goes into the store in ONE write transaction; files are written after it commits
 * (and again by every `crl publish`, which also heals a crash in between).
 */
#include "ca/authority/authority.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>

#include "base/faultpoint.h"
#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "ca/issue/issue.h"
#include "hsm/hsm.h"
#include "crl/crl.h"
#include "templates/template.h"

struct renew {
    const struct ca_renew_req *req;
    struct store *st;
    struct hsm *h;
    const struct config *cfg;
    struct ca_rec rec;                 /* the CA as stored */
    struct gen_list gens;
    const struct ca_gen *cur;          /* the newest generation: what is renewed */
    X509 *old;                         /* its certificate */
    struct ca_signer parent;           /* issuing CA: the parent's newest generation */
    EVP_PKEY *key;                     /* the key the new certificate certifies */
    const char *uri;
    unsigned ci, ki;                   /* the new generation's indexes */
    char sig[16], hash[8];
    X509 *x, *link_on, *link_no;       /* the new certificate, OldWithNew, NewWithOld */
};

static void renew_free(struct renew *w)
{
    ca_rec_clear(&w->rec);
    gen_list_clear(&w->gens);
    X509_free(w->old);
    ca_signer_close(&w->parent);
    EVP_PKEY_free(w->key);
    X509_free(w->x);
    X509_free(w->link_on);
    X509_free(w->link_no);
}

/* Why this CA cannot be renewed (state, origin, index space), or 0. */
static int renew_allowed(const struct renew *w)
{
    const char *n = w->rec.name;

    if (w->rec.state == CA_PENDING) {
        report("ca renew %s: CA '%s' is pending (no certificate yet); import its certificate "
               "with 'offca ca import %s' first", n, n, n);
        return EXIT_USAGE;
    }
    if (w->rec.state == CA_RETIRED) {
        report("ca renew %s: CA '%s' is retired; a retired CA is not renewed: create a new CA",
               n, n);
        return EXIT_POLICY;
    }
    if (!w->rec.is_root && w->rec.parent == NULL) {
        report("ca renew %s: CA '%s' was imported from a parent outside offca; renewal needs that "
               "parent: have it issue the new certificate (not supported by 'ca renew')", n, n);
        return EXIT_POLICY;
    }
    if (w->gens.n == 0 || w->cur->cert_index >= MAX_CA_INDEX || w->gens.n >= MAX_CA_GENS) {
        report("ca renew %s: CA '%s' has %s; %s", n, n, w->gens.n ? "used every certificate "
               "index offca handles" : "no generation in the store", w->gens.n ?
               "create a new CA" : "the store may be damaged: run 'offca audit verify'");
        return w->gens.n ? EXIT_POLICY : EXIT_SYSTEM;
    }
    return 0;
}

/* The CA record and its generations (one read txn). 0 or the exit class. */
static int renew_load(struct renew *w)
{
    struct store_txn *t = store_txn_begin(w->st, 0);
    int found, ok = 0;

    if (t == NULL)
        return fail_store();
    if ((found = store_ca_get(t, w->req->name, &w->rec)) == 1)
        ok = gen_list_load(t, w->req->name, &w->gens);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("ca renew %s: CA '%s' is not in the store; see 'offca ca list'", w->req->name,
               w->req->name);
        return EXIT_USAGE;
    }
    if (!ok)
        return EXIT_SYSTEM;
    w->cur = w->gens.n ? &w->gens.g[w->gens.n - 1] : NULL;
    if (w->cur && (w->old = der_to_x509(w->cur->cert_der, w->cur->cert_len)) == NULL) {
        report("CA '%s': the certificate of generation %u does not parse; the store may be "
               "damaged: run 'offca audit verify'", w->rec.name, w->cur->cert_index);
        return EXIT_SYSTEM;
    }
    return renew_allowed(w);
}

/* A new key must be a key no generation of this CA ever had. */
static int key_is_new(const struct renew *w)
{
    for (size_t i = 0; i < w->gens.n; i++) {
        X509 *x = der_to_x509(w->gens.g[i].cert_der, w->gens.g[i].cert_len);
        int same = x && EVP_PKEY_eq(X509_get0_pubkey(x), w->key) == 1;

        X509_free(x);
        if (same) {
            report("ca renew %s --new-key %s: this is the key of generation %u (key index %u); "
                   "generate a new key ('offca key generate') or renew with --same-key",
                   w->rec.name, w->uri, w->gens.g[i].cert_index, w->gens.g[i].key_index);
            return EXIT_POLICY;
        }
    }
    return 0;
}

/* The signature scheme: the CA's own, unless a new key of the other type needs another. */
static void renew_scheme(struct renew *w, const struct hsm_key_info *info)
{
    int rsa_sig = strncmp(w->rec.sig, "rsa", 3) == 0;

    snprintf(w->sig, sizeof(w->sig), "%s", w->rec.sig);
    snprintf(w->hash, sizeof(w->hash), "%s", w->rec.hash);
    if (rsa_sig != (info->is_rsa != 0)) {
        snprintf(w->sig, sizeof(w->sig), "%s", info->is_rsa ? "rsa-pkcs1" : "ecdsa");
        snprintf(w->hash, sizeof(w->hash), "%s",
                 !info->is_rsa && info->bits >= 384 ? "sha384" : "sha256");
    }
}

/* Load the key the new certificate certifies; a new key goes through the key gate like any CA
 * key at create (keycheck_ca_key: size, curve, every rule, the blocklist), must be new to this
 * CA and must not be another CA's key (ca_key_unused). 0 or the exit class. */
static int renew_key(struct renew *w)
{
    struct hsm_key_info info;
    const struct ca_cfg *cc = config_ca(w->cfg, w->rec.name);
    struct ca_create_req cr;
    int rc;

    w->uri = w->req->new_key ? w->req->new_key : w->rec.key_uri;
    if ((w->key = hsm_key_load(w->h, w->uri, cc->allow_extractable_key, &info)) == NULL)
        return fail_hsm();
    if (info.extractable || !info.sensitive)
        report_warn("CA '%s': key %s is extractable or not sensitive (allowed by "
                    "allow_extractable_key); move the CA to a non-extractable key", w->rec.name,
                    w->uri);
    if (w->req->new_key == NULL && EVP_PKEY_eq(X509_get0_pubkey(w->old), w->key) != 1) {
        report("ca renew %s --same-key: the token key %s is not the key of the CA certificate; "
               "check the token, or renew with --new-key", w->rec.name, w->uri);
        return EXIT_SYSTEM;
    }
    w->ci = w->cur->cert_index + 1;
    w->ki = w->req->new_key ? w->ci : w->cur->key_index;
    renew_scheme(w, &info);
    if (w->req->new_key == NULL)
        return 0;
    memset(&cr, 0, sizeof(cr));
    cr.name = w->rec.name;
    cr.key_uri = w->uri;
    if ((rc = keycheck_ca_key(w->st, w->cfg, w->key, w->rec.name)) != 0 ||
        (rc = key_is_new(w)) != 0)
        return rc;
    return ca_key_unused(w->st, &cr, w->key);
}

/* Sign spec with key through cert_build: the lint on the TBS before the token signs, the signed
 * TBS byte-identical to the linted one, the signature self-check. NULL with *rc set. */
static X509 *build_signed(struct hsm *h, const struct cert_spec *spec, EVP_PKEY *key,
                          enum hsm_sig sig, const char *hash, int *rc)
{
    struct cert_built built;
    X509 *x;

    memset(&built, 0, sizeof(built));
    x = cert_build(spec, h, key, sig, hash, &built);
    OPENSSL_free(built.der);              /* the store record encodes its own copy */
    *rc = x ? 0 : built.rc;
    return x;
}

/* The same with the scheme given by name (a key of this CA, or its new key). */
static X509 *sign_with(struct hsm *h, const struct cert_spec *spec, EVP_PKEY *key,
                       const char *sig, const char *hash, int *rc)
{
    enum hsm_sig s;

    if (!hsm_sig_parse(sig, &s)) {
        *rc = fail_hsm();
        return NULL;
    }
    return build_signed(h, spec, key, s, hash, rc);
}

static void spec_base(struct cert_spec *spec, const X509_NAME *subj, EVP_PKEY *pub,
                      const unsigned char *serial, time_t nb, time_t na)
{
    memset(spec, 0, sizeof(*spec));
    spec->subject = subj;
    spec->pubkey = pub;
    spec->serial = serial;
    spec->serial_len = SERIAL_BYTES;
    spec->not_before = nb;
    spec->not_after = na;
}

/* The new CA certificate. 0 or the exit class. */
static int build_cert(struct renew *w)
{
    struct ca_create_req cr;
    struct cert_spec spec;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    unsigned char serial[SERIAL_BYTES];
    const char *cdp = NULL, *aia = NULL;
    time_t nb, na;
    int rc;

    memset(&cr, 0, sizeof(cr));
    cr.name = w->rec.name;
    cr.parent = w->rec.parent;
    cr.days = w->req->days;
    if ((rc = ca_validity(&cr, w->parent.cert, config_ca(w->cfg, w->rec.name)->clock_skew, &nb,
                          &na)) != 0 ||
        (w->rec.parent && (rc = ca_issuing_urls(&cr, &w->parent, &cdp, &aia)) != 0))
        return rc;
    if ((exts = ca_cert_extensions(w->rec.parent ? (int)X509_get_pathlen(w->old) : -1, w->ci,
                                   w->ki, w->cur->cert_der, w->cur->cert_len)) == NULL ||
        !serial_new(serial)) {
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        return EXIT_SYSTEM;
    }
    spec_base(&spec, X509_get_subject_name(w->old), w->key, serial, nb, na);
    spec.exts = exts;
    spec.issuer = w->parent.cert;
    spec.akid = w->rec.parent != NULL;
    spec.cdp_url = cdp;
    spec.aia_url = aia;
    if (w->rec.parent)
        w->x = build_signed(w->h, &spec, w->parent.key, w->parent.sig, w->parent.hash, &rc);
    else
        w->x = sign_with(w->h, &spec, w->key, w->sig, w->hash, &rc);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return w->x ? 0 : rc;
}

/* One link certificate: subject key pub (named as in cert subj_of) signed by signkey, whose
 * certificate is issuer; the CDP/AIA of the signing key's generation; valid now .. the old
 * root's end (RFC 4210 4.4: a link is needed only while the old root lives). */
struct link_signer {
    X509 *cert;                        /* the signing key's certificate */
    EVP_PKEY *key;
    unsigned ki, ci;                   /* its generation: the CDP/AIA the link carries */
    const char *sig, *hash;
};

static X509 *build_link(struct renew *w, X509 *subj_of, EVP_PKEY *pub,
                        const struct link_signer *by, int *rc)
{
    const struct ca_cfg *cc = config_ca(w->cfg, w->rec.name);
    STACK_OF(X509_EXTENSION) *exts = ca_cert_extensions(-1, w->ci, w->ki, NULL, 0);
    unsigned char serial[SERIAL_BYTES];
    char cdp[1024], aia[1024];
    struct cert_spec spec;
    X509 *x = NULL;

    *rc = EXIT_SYSTEM;
    /* a link is not a CA Version holder: keep basicConstraints and keyUsage only */
    if (exts)
        X509_EXTENSION_free(sk_X509_EXTENSION_pop(exts));
    if (exts && serial_new(serial)) {
        gen_url(cc->cdp_url, by->ki, cdp, sizeof(cdp));
        gen_url(cc->aia_url, by->ci, aia, sizeof(aia));
        spec_base(&spec, X509_get_subject_name(subj_of), pub, serial,
                  ca_now() - (time_t)cc->clock_skew, asn1_time_to_time(X509_get0_notAfter(w->old)));
        spec.exts = exts;
        spec.issuer = by->cert;
        spec.akid = 1;
        spec.cdp_url = cdp[0] ? cdp : NULL;
        spec.aia_url = aia[0] ? aia : NULL;
        x = sign_with(w->h, &spec, by->key, by->sig, by->hash, rc);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return x;
}

/* Root with a new key: OldWithNew (old key signs the new key) and NewWithOld. */
static int build_links(struct renew *w)
{
    const struct ca_cfg *cc = config_ca(w->cfg, w->rec.name);
    struct hsm_key_info info;
    struct link_signer old, neu;
    int rc;

    memset(&old, 0, sizeof(old));
    if ((old.key = hsm_key_load(w->h, w->cur->key_uri, cc->allow_extractable_key, &info)) == NULL)
        return fail_hsm();
    old.cert = w->old;
    old.ki = w->cur->key_index;
    old.ci = w->cur->cert_index;
    old.sig = w->rec.sig;
    old.hash = w->rec.hash;
    neu.cert = w->x;
    neu.key = w->key;
    neu.ki = w->ki;
    neu.ci = w->ci;
    neu.sig = w->sig;
    neu.hash = w->hash;
    w->link_on = build_link(w, w->x, w->key, &old, &rc);
    if (w->link_on)
        w->link_no = build_link(w, w->old, X509_get0_pubkey(w->old), &neu, &rc);
    EVP_PKEY_free(old.key);
    return w->link_on && w->link_no ? 0 : rc;
}

/* The new generation as the store keeps it (borrowing w's buffers: the caller frees ders). */
static int gen_fill(struct renew *w, struct ca_gen *g, unsigned char **ders)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->ca, sizeof(g->ca), "%s", w->rec.name);
    g->cert_index = w->ci;
    g->key_index = w->ki;
    g->key_uri = (char *)w->uri;
    g->not_before = asn1_time_to_time(X509_get0_notBefore(w->x));
    g->not_after = asn1_time_to_time(X509_get0_notAfter(w->x));
    g->created = ca_now();
    g->state = GEN_ACTIVE;
    g->cert_der = ders[0] = x509_to_der(w->x, &g->cert_len);
    if (w->link_on) {
        g->link_old_new = ders[1] = x509_to_der(w->link_on, &g->link_old_new_len);
        g->link_new_old = ders[2] = x509_to_der(w->link_no, &g->link_new_old_len);
    }
    return g->cert_der && (!w->link_on || (g->link_old_new && g->link_new_old));
}

/* ONE write transaction: the CA record now holds the new certificate and key, the previous
 * generation is superseded, the new one added, the certificate recorded under the parent (the
 * link certificates under the root itself), the audit record. 0 or the exit class. */
static int renew_store(struct renew *w)
{
    struct store_txn *t = store_txn_begin(w->st, 1);
    unsigned char *ders[3] = {NULL, NULL, NULL};
    struct ca_gen g, prev = *w->cur;
    struct ca_rec rec = w->rec;
    char detail[512];
    int ok, rc;

    if (t == NULL)
        return fail_store();
    ok = gen_fill(w, &g, ders);
    rec.cert_der = g.cert_der;
    rec.cert_len = g.cert_len;
    rec.key_uri = (char *)w->uri;
    snprintf(rec.sig, sizeof(rec.sig), "%s", w->sig);
    snprintf(rec.hash, sizeof(rec.hash), "%s", w->hash);
    prev.state = GEN_SUPERSEDED;
    snprintf(detail, sizeof(detail), "cert_index=%u key_index=%u %s key=%s parent=%s", w->ci,
             w->ki, w->req->new_key ? "new-key" : "same-key", w->uri,
             w->rec.parent ? w->rec.parent : "(self-signed)");
    ok = ok && store_ca_replace(t, &rec) && store_gen_put(t, &prev) && store_gen_add(t, &g) &&
         (!w->rec.parent || ca_record_under_parent(t, w->rec.parent, w->parent.key_index,
                                                   "(CA certificate)", w->x)) &&
         (!w->link_on || (ca_record_under_parent(t, w->rec.name, w->cur->key_index,
                                                 "(link certificate)", w->link_on) &&
                          ca_record_under_parent(t, w->rec.name, w->ki, "(link certificate)",
                                                 w->link_no))) &&
         store_audit_append(t, "ca.renew", w->rec.name, "ok", detail);
    rc = txn_finish(t, ok);
    for (int i = 0; i < 3; i++)
        free(ders[i]);
    return rc;
}

static void print_summary(const struct renew *w)
{
    char nb[32], na[32], crt[MAX_CA_NAME + 16], crl[MAX_CA_NAME + 16];

    time_iso(asn1_time_to_time(X509_get0_notBefore(w->x)), nb);
    time_iso(asn1_time_to_time(X509_get0_notAfter(w->x)), na);
    gen_file(w->rec.name, w->ci, "crt", 0, crt, sizeof(crt));
    gen_file(w->rec.name, w->ki, "crl", 0, crl, sizeof(crl));
    printf("renewed CA '%s' (%s)\n  generation: cert index %u, key index %u (CA Version V%u.%u)\n"
           "  valid:      %s .. %s\n  key:        %s\n  published:  %s; signs %s from now on\n",
           w->rec.name, w->req->new_key ? "new key" : "same key", w->ci, w->ki, w->ci, w->ki, nb,
           na, w->uri, crt, crl);
    if (w->link_on)
        printf("  links:      %s(%u-%u).crt (old key certifies the new), %s(%u-%u).crt (new key "
               "certifies the old)\n", w->rec.name, w->cur->key_index, w->ki, w->rec.name, w->ki,
               w->cur->key_index);
}

int ca_renew(struct store *st, struct hsm *h, const struct config *cfg,
             const struct ca_renew_req *r)
{
    static struct renew w;             /* the generation list is large: kept off the stack */
    int rc;

    memset(&w, 0, sizeof(w));
    w.req = r;
    w.st = st;
    w.h = h;
    w.cfg = cfg;
    if ((rc = ca_name_check(r->name)) != 0 || (rc = renew_load(&w)) != 0)
        goto out;
    if (w.rec.parent && (rc = ca_signer_open(st, h, cfg, w.rec.parent, &w.parent)) != 0)
        goto out;
    /* a deferred h opens the token (asks the PIN) at the first key it loads: the parent's, or
     * in renew_key the key being certified */
    if ((rc = renew_key(&w)) != 0 || (rc = build_cert(&w)) != 0 ||
        (!w.rec.parent && r->new_key && (rc = build_links(&w)) != 0))
        goto out;
    FAULTPOINT("renew.signed", w.rec.name);
    if ((rc = renew_store(&w)) != 0)
        goto out;
    FAULTPOINT("renew.committed", w.rec.name);
    print_summary(&w);
out:
    renew_free(&w);
    return rc;
}

/* One write txn: state retired + audit. The CRLs go on (publish.c) while its certificates live. */
static int retire_store(struct store *st, struct ca_rec *r)
{
    struct store_txn *t = store_txn_begin(st, 1);

    if (t == NULL)
        return fail_store();
    r->state = CA_RETIRED;
    return txn_finish(t, store_ca_replace(t, r) &&
                             store_audit_append(t, "ca.retire", r->name, "ok", "no more issuance"));
}

int ca_retire(struct store *st, const char *name)
{
    struct store_txn *t;
    struct ca_rec r;
    int found, rc;

    if ((rc = ca_name_check(name)) != 0)
        return rc;
    if ((t = store_txn_begin(st, 0)) == NULL)
        return fail_store();
    found = store_ca_get(t, name, &r);
    store_txn_abort(t);
    if (found <= 0) {
        if (found == 0)
            report("ca retire %s: CA '%s' is not in the store; see 'offca ca list'", name, name);
        return found < 0 ? fail_store() : EXIT_USAGE;
    }
    if (r.state != CA_ACTIVE) {
        report("ca retire %s: CA '%s' is %s; only an active CA is retired", name, name,
               r.state == CA_RETIRED ? "already retired" : "pending (no certificate)");
        rc = r.state == CA_RETIRED ? EXIT_POLICY : EXIT_USAGE;
    } else if ((rc = retire_store(st, &r)) == 0) {
        printf("retired CA '%s': it signs nothing more; 'offca crl publish' keeps its CRLs fresh "
               "while any certificate it issued is unexpired, then publishes one final CRL per "
               "key\n", name);
    }
    ca_rec_clear(&r);
    return rc;
}
