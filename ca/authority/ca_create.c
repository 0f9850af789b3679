/*
 * ca_create.c — self-signed roots and issuing CAs signed by a parent CA in the same token.
 * RFC 5280 profile: basicConstraints CA:TRUE critical (+ pathLen), keyUsage keyCertSign, cRLSign,
 * digitalSignature critical, SKID, and for issuing CAs AKID + CDP + AIA caIssuers pointing at the
 * parent's CRL and certificate (NPS checks revocation of the issuing CA itself: without a CDP
 * every logon fails with reason 258). Microsoft CA Version (V0.0) as AD CS writes it.
 */
#include "ca/authority/authority.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/issue/issue.h"
#include "ca/store/store.h"
#include "hsm/hsm.h"
#include "crl/crl.h"
#include "templates/template.h"

static X509_EXTENSION *ext_from_conf(int nid, const char *value)
{
    return X509V3_EXT_nconf_nid(NULL, NULL, nid, value);
}

/* The extensions of a CA certificate: basicConstraints (critical, CA:TRUE, pathLen when >= 0),
 * keyUsage (critical), Microsoft CA Version V<cert>.<key>, and for a renewal (prev_der set) the
 * Previous CA Certificate Hash of the certificate it follows. NULL on failure (reported). */
STACK_OF(X509_EXTENSION) *ca_cert_extensions(int path_len, unsigned cert_index,
                                             unsigned key_index, const unsigned char *prev_der,
                                             size_t prev_len)
{
    STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
    char bc[64];
    X509_EXTENSION *e[4];
    int n = prev_der ? 4 : 3;

    if (path_len >= 0)
        snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", path_len);
    else
        snprintf(bc, sizeof(bc), "critical,CA:TRUE");
    e[0] = ext_from_conf(NID_basic_constraints, bc);
    e[1] = ext_from_conf(NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
    e[2] = ms_ca_version_build(cert_index, key_index);
    e[3] = prev_der ? ms_prev_ca_hash_build(prev_der, prev_len) : NULL;
    for (int i = 0; i < n; i++) {
        if (sk == NULL || e[i] == NULL || !sk_X509_EXTENSION_push(sk, e[i])) {
            for (int j = i; j < n; j++)
                X509_EXTENSION_free(e[j]);
            sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
            report("CA certificate extensions: %s", tmpl_error()[0] ? tmpl_error() :
                   "out of memory");
            return NULL;
        }
    }
    return sk;
}

/* Default scheme by key: RSA -> PKCS#1 v1.5, EC -> ECDSA; hash by strength. */
static void default_scheme(const struct hsm_key_info *k, const char **sig, const char **hash)
{
    if (*sig == NULL)
        *sig = k->is_rsa ? "rsa-pkcs1" : "ecdsa";
    if (*hash == NULL)
        *hash = (!k->is_rsa && k->bits >= 384) ? "sha384" : "sha256";
}

static int check_scheme(const char *sig, const char *hash)
{
    enum hsm_sig s;

    if (!hsm_sig_parse(sig, &s))
        return fail_hsm();
    if (strcmp(hash, "sha256") && strcmp(hash, "sha384") && strcmp(hash, "sha512")) {
        report("--hash '%s': not one of sha256, sha384, sha512", hash);
        return EXIT_USAGE;
    }
    return 0;
}

/* Validity: now - clock_skew .. now + days, capped by the parent. An explicit --days that would
 * outlive the parent is refused; the default is capped with a note. */
int ca_validity(const struct ca_create_req *r, X509 *parent, int64_t skew, time_t *nb,
                time_t *na)
{
    time_t now = ca_now();
    int days = r->days ? r->days : (r->parent ? ISSUING_DEFAULT_DAYS : ROOT_DEFAULT_DAYS);
    time_t pna = parent ? asn1_time_to_time(X509_get0_notAfter(parent)) : 0;
    time_t pnb = parent ? asn1_time_to_time(X509_get0_notBefore(parent)) : 0;
    char when[32];

    *nb = now - (time_t)skew;
    *na = now + (time_t)days * 86400;
    if (parent && (now < pnb || now >= pna)) {
        char from[32], clock[32];

        time_iso(pnb, from);
        time_iso(pna, when);
        time_iso(now, clock);
        report("CA '%s': RFC 5280 validity: the clock (%s) is %s the parent '%s' certificate's "
               "validity (%s to %s); nothing was created; %s", r->name, clock,
               now < pnb ? "before" : "after", r->parent, from, when, now < pnb ?
               "fix the system clock (the parent is not valid yet)" :
               "renew the parent first, or fix the system clock");
        return EXIT_POLICY;
    }
    if (parent && *nb < pnb)
        *nb = pnb;
    if (parent && *na > pna) {
        time_iso(pna, when);
        if (r->days) {
            report("CA '%s': RFC 5280 path validation: %d days would outlive the parent '%s' "
                   "(valid until %s); give --days %ld or less", r->name, r->days, r->parent, when,
                   (long)((pna - now) / 86400));
            return EXIT_POLICY;
        }
        fprintf(stderr, "offca: note: validity capped at the parent's end, %s\n", when);
        *na = pna;
    }
    if (*na <= now) {
        report("CA '%s': the parent '%s' has expired; renew the parent first", r->name, r->parent);
        return EXIT_POLICY;
    }
    return 0;
}

/* The CDP and AIA of the parent's newest generation (its key's CRL, its certificate). */
int ca_issuing_urls(const struct ca_create_req *r, const struct ca_signer *parent,
                    const char **cdp, const char **aia)
{
    *cdp = parent->cdp[0] ? parent->cdp : NULL;
    *aia = parent->aia[0] ? parent->aia : NULL;
    if (r->no_cdp) {
        report_warn("CA '%s': created WITHOUT a CDP (--no-cdp): Windows NPS checks revocation of "
                    "the issuing CA too and will refuse every VPN/Wi-Fi logon (client error 853, "
                    "NPS reason 258) until this CA is reissued with a CDP", r->name);
        *cdp = *aia = NULL;
        return 0;
    }
    if (*cdp == NULL) {
        report("CA '%s': no CDP URL for parent '%s' ([ca.%s] cdp_url is empty): NPS would refuse "
               "every logon (client error 853, reason 258 'unable to check revocation'); set "
               "cdp_url or [publish] base_url, or pass --no-cdp if you really mean it",
               r->name, r->parent, r->parent);
        return EXIT_POLICY;
    }
    if (!crl_url_check(*cdp, "CDP") || (*aia && !crl_url_check(*aia, "AIA")))
        return fail_crl();
    return 0;
}

/* An issuing CA's certificate is also a certificate its parent issued: record it under the
 * parent like any other, with the parent's key generation that signed it, so `offca revoke --ca
 * PARENT --serial ...` and that generation's CRL cover it (NPS checks the issuing CA's revocation
 * through the parent's CRL). */
int ca_record_under_parent(struct store_txn *t, const char *parent, unsigned key_index,
                           const char *what, X509 *x)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    struct cert_rec c;
    int ok;

    memset(&c, 0, sizeof(c));
    if (sn->length > MAX_STORE_SERIAL)
        return 0;
    snprintf(c.ca, sizeof(c.ca), "%s", parent);
    memcpy(c.serial, sn->data, (size_t)sn->length);
    c.serial_len = (size_t)sn->length;
    c.template_name = (char *)what;
    c.key_index = key_index;
    c.subject = dn_format(X509_get_subject_name(x));
    c.sans = "";
    c.not_before = asn1_time_to_time(X509_get0_notBefore(x));
    c.not_after = asn1_time_to_time(X509_get0_notAfter(x));
    c.issued_at = ca_now();
    c.status = CERT_VALID;
    c.reason = -1;
    c.der = x509_to_der(x, &c.der_len);
    ok = c.subject && c.der && store_cert_add(t, &c);
    OPENSSL_free(c.subject);
    free(c.der);
    return ok;
}

static int store_new_ca(struct store *st, const struct ca_create_req *r, X509 *x,
                        const char *sig, const char *hash, unsigned parent_key)
{
    struct store_txn *t = store_txn_begin(st, 1);
    struct ca_rec rec;
    char detail[512], *subj = dn_format(X509_get_subject_name(x));
    int rc = EXIT_SYSTEM;

    memset(&rec, 0, sizeof(rec));
    snprintf(rec.name, sizeof(rec.name), "%s", r->name);
    rec.key_uri = (char *)r->key_uri;
    rec.parent = (char *)r->parent;
    rec.is_root = r->parent == NULL;
    rec.created = ca_now();
    snprintf(rec.sig, sizeof(rec.sig), "%s", sig);
    snprintf(rec.hash, sizeof(rec.hash), "%s", hash);
    if (t == NULL) {
        rc = fail_store();
        goto out;
    }
    if ((rec.cert_der = x509_to_der(x, &rec.cert_len)) == NULL)
        goto out;
    snprintf(detail, sizeof(detail), "subject=%s parent=%s key=%s", subj ? subj : "?",
             r->parent ? r->parent : "(self-signed)", r->key_uri);
    rc = txn_finish(t, store_ca_add(t, &rec) && store_gen_first(t, &rec) &&
                           (!r->parent || ca_record_under_parent(t, r->parent, parent_key,
                                                                 "(CA certificate)", x)) &&
                           store_audit_append(t, "ca.create", r->name, "ok", detail));
    t = NULL;
out:
    store_txn_abort(t);
    free(rec.cert_der);
    OPENSSL_free(subj);
    return rc;
}

static int name_is_free(struct store *st, const char *name)
{
    struct store_txn *t = store_txn_begin(st, 0);
    struct ca_rec rec;
    int found;

    if (t == NULL)
        return fail_store();
    found = store_ca_get(t, name, &rec);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found > 0) {
        ca_rec_clear(&rec);
        report("CA '%s': already exists; choose another name (see 'offca ca list')", name);
        return EXIT_POLICY;
    }
    return 0;
}

static void print_summary(const char *name, X509 *x, const char *cdp, const char *aia)
{
    char nb[32], na[32], *subj = dn_format(X509_get_subject_name(x));

    time_iso(asn1_time_to_time(X509_get0_notBefore(x)), nb);
    time_iso(asn1_time_to_time(X509_get0_notAfter(x)), na);
    printf("created CA '%s'\n  subject:  %s\n  valid:    %s .. %s\n  CDP:      %s\n  AIA:      "
           "%s\n", name, subj ? subj : "?", nb, na, cdp ? cdp : "(none)", aia ? aia : "(none)");
    OPENSSL_free(subj);
}

struct key_use {
    unsigned char *spki;               /* the new CA's public key, DER SubjectPublicKeyInfo */
    int spki_len;
    const char *uri;
    char user[MAX_CA_NAME + 1];        /* the CA found using it */
};

static int key_match(void *arg, const struct ca_rec *r)
{
    struct key_use *k = arg;
    X509 *x = r->cert_der ? der_to_x509(r->cert_der, r->cert_len) : NULL;
    unsigned char *der = NULL;
    int n = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : -1;
    int same = (r->key_uri && strcmp(r->key_uri, k->uri) == 0) ||
               (n > 0 && n == k->spki_len && memcmp(der, k->spki, (size_t)n) == 0);

    OPENSSL_free(der);
    X509_free(x);
    if (same)
        snprintf(k->user, sizeof(k->user), "%s", r->name);
    return !same;
}

/* A new CA's key must be its own: another CA in the store with the same key (same URI, or the
 * same public key in its certificate) shares its compromise and its revocation. Refused unless
 * --reuse-key (a renewal on purpose), then warned. 0 or EXIT_POLICY / EXIT_SYSTEM, reported. */
int ca_key_unused(struct store *st, const struct ca_create_req *r, EVP_PKEY *key)
{
    struct key_use k = {NULL, 0, r->key_uri, ""};
    struct store_txn *t = store_txn_begin(st, 0);
    int ok;

    if (t == NULL)
        return fail_store();
    k.spki_len = i2d_PUBKEY(key, &k.spki);
    ok = store_ca_foreach(t, key_match, &k);
    store_txn_abort(t);
    OPENSSL_free(k.spki);
    if (!ok && k.user[0] == '\0')
        return fail_store();
    if (k.user[0] == '\0')
        return 0;
    if (!r->reuse_key) {
        report("CA '%s': key %s is already the key of CA '%s'; give the new CA its own key "
               "('offca key generate'), or --reuse-key if reusing it is what you mean", r->name,
               r->key_uri, k.user);
        return EXIT_POLICY;
    }
    report_warn("CA '%s': --reuse-key: the key %s is also the key of CA '%s': a compromise of "
                "one is a compromise of both", r->name, r->key_uri, k.user);
    return 0;
}

/* The certificate of a CA, built from the spec's parts: the CA extensions (pathLen only under a
 * parent; CA Version V0.0: a new CA's first generation), a fresh serial, then linted and signed
 * by signkey in the token (cert_build). NULL with *rc the exit class (reported). */
static X509 *ca_cert_sign(struct hsm *h, struct cert_spec *spec, int path_len, EVP_PKEY *signkey,
                          enum hsm_sig sig, const char *hash, int *rc)
{
    STACK_OF(X509_EXTENSION) *exts = ca_cert_extensions(spec->issuer ? path_len : -1, 0, 0,
                                                        NULL, 0);
    unsigned char serial[SERIAL_BYTES];
    struct cert_built built;
    X509 *x = NULL;

    memset(&built, 0, sizeof(built));
    *rc = EXIT_SYSTEM;
    if (exts == NULL || !serial_new(serial))
        goto out;
    spec->serial = serial;
    spec->serial_len = sizeof(serial);
    spec->exts = exts;
    spec->akid = spec->issuer != NULL;
    x = cert_build(spec, h, signkey, sig, hash, &built);
    OPENSSL_free(built.der);              /* the store record encodes its own copy */
    *rc = x ? 0 : built.rc;
out:
    spec->serial = NULL;
    spec->exts = NULL;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return x;
}

/* A CA certificate issued by the newest generation of a parent CA of this store
 * (create-issuing, sign-subordinate). */
X509 *ca_cert_issue(struct hsm *h, struct ca_cert_req *q, int *rc)
{
    struct cert_spec spec;
    time_t nb, na;

    q->cdp = q->aia = NULL;
    if ((*rc = ca_validity(q->r, q->parent->cert, q->skew, &nb, &na)) != 0 ||
        (*rc = ca_issuing_urls(q->r, q->parent, &q->cdp, &q->aia)) != 0)
        return NULL;
    memset(&spec, 0, sizeof(spec));
    spec.subject = q->subject;
    spec.pubkey = q->pubkey;
    spec.key = q->key;
    spec.issuer = q->parent->cert;
    spec.not_before = nb;
    spec.not_after = na;
    spec.cdp_url = q->cdp;
    spec.aia_url = q->aia;
    return ca_cert_sign(h, &spec, q->r->path_len, q->parent->key, q->parent->sig,
                        q->parent->hash, rc);
}

/* The self-signed certificate of a root. */
static X509 *root_cert_build(struct hsm *h, const struct config *cfg,
                             const struct ca_create_req *r, const X509_NAME *subject,
                             EVP_PKEY *key, const char *sig, const char *hash, int *rc)
{
    struct cert_spec spec;
    enum hsm_sig s;
    time_t nb, na;

    if ((*rc = ca_validity(r, NULL, config_ca(cfg, r->name)->clock_skew, &nb, &na)) != 0)
        return NULL;
    if (!hsm_sig_parse(sig, &s)) {
        *rc = fail_hsm();
        return NULL;
    }
    memset(&spec, 0, sizeof(spec));
    spec.subject = subject;
    spec.pubkey = key;
    spec.not_before = nb;
    spec.not_after = na;
    return ca_cert_sign(h, &spec, -1, key, s, hash, rc);
}

int ca_create_check(const char *name, const char *subject)
{
    X509_NAME *subj;
    int rc;

    if ((rc = ca_name_check(name)) != 0 || subject == NULL)
        return rc;
    if ((subj = dn_parse(subject)) == NULL)
        return fail_tmpl();
    X509_NAME_free(subj);
    return 0;
}

/* The CA's key from the token (a deferred h opens here for a root), warned when it may leave
 * it; the scheme chosen by it when not given, and checked. NULL with *rc the exit class. */
static EVP_PKEY *new_ca_key(struct store *st, struct hsm *h, const struct config *cfg,
                            const struct ca_create_req *r, const char **sig, const char **hash,
                            int *rc)
{
    struct hsm_key_info info;
    EVP_PKEY *key;

    if ((key = hsm_key_load(h, r->key_uri, config_ca(cfg, r->name)->allow_extractable_key,
                            &info)) == NULL) {
        *rc = fail_hsm();
        return NULL;
    }
    if (info.extractable || !info.sensitive)
        report_warn("CA '%s': key %s is extractable or not sensitive (allowed by "
                    "allow_extractable_key); move the CA to a non-extractable key", r->name,
                    r->key_uri);
    default_scheme(&info, sig, hash);
    if ((*rc = keycheck_ca_key(st, cfg, key, r->name)) != 0 ||
        (*rc = ca_key_unused(st, r, key)) != 0 || (*rc = check_scheme(*sig, *hash)) != 0) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

int ca_create(struct store *st, struct hsm *h, const struct config *cfg,
              const struct ca_create_req *r)
{
    struct ca_signer parent;
    X509_NAME *subject = NULL;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    const char *sig = r->sig, *hash = r->hash;
    struct ca_cert_req q;
    int rc;

    memset(&parent, 0, sizeof(parent));
    memset(&q, 0, sizeof(q));
    if ((rc = ca_name_check(r->name)) != 0)
        return rc;
    if ((subject = dn_parse(r->subject)) == NULL)
        return fail_tmpl();
    if ((rc = name_is_free(st, r->name)) != 0 ||
        (r->parent && (rc = ca_signer_open(st, h, cfg, r->parent, &parent)) != 0) ||
        (key = new_ca_key(st, h, cfg, r, &sig, &hash, &rc)) == NULL)
        goto out;
    if (r->parent) {
        q.r = r;
        q.parent = &parent;
        q.subject = subject;
        q.pubkey = key;
        q.skew = config_ca(cfg, r->name)->clock_skew;
        x = ca_cert_issue(h, &q, &rc);
    } else {
        x = root_cert_build(h, cfg, r, subject, key, sig, hash, &rc);
    }
    if (x == NULL || (rc = store_new_ca(st, r, x, sig, hash, parent.key_index)) != 0)
        goto out;
    print_summary(r->name, x, q.cdp, q.aia);
out:
    X509_free(x);
    EVP_PKEY_free(key);
    X509_NAME_free(subject);
    ca_signer_close(&parent);
    return rc;
}
