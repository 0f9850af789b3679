/*
 * certbuild.c — one function that turns a cert_spec into a signed X.509 v3 certificate:
 * RFC 5280 fields, SKID (method 1: SHA-1 of subjectPublicKey), AKID from the issuer's SKID,
 * CDP and AIA caIssuers URIs; signed by the token key; self-checked by re-parsing the DER and
 * verifying it with the issuer's public key before anyone sees it.
 */
#include "base/x509ext.h"
#include "ca/issue/issue.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "templates/template.h"

#define MAX_ALGID 512

static int add_skid(X509 *x)
{
    ASN1_OCTET_STRING *os = x509ext_skid_of(x);
    int ok = os != NULL &&
             X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, X509V3_ADD_DEFAULT) == 1;

    ASN1_OCTET_STRING_free(os);
    return ok;
}

static int add_akid(X509 *x, X509 *issuer)
{
    AUTHORITY_KEYID *ak;
    int ok;

    if (X509_get0_subject_key_id(issuer) == NULL) {
        report("issuer %s: RFC 5280 4.2.1.1: the issuing certificate has no subject key "
               "identifier, so no AKID can be written; re-issue the CA certificate with a SKID",
               "certificate");
        return 0;
    }
    ak = x509ext_akid_of(issuer);
    ok = ak != NULL &&
         X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0, X509V3_ADD_DEFAULT) == 1;
    AUTHORITY_KEYID_free(ak);
    return ok;
}

static int add_cdp(X509 *x, const char *url)
{
    CRL_DIST_POINTS *cdps = x509ext_cdp(url);
    int ok = cdps != NULL &&
             X509_add1_ext_i2d(x, NID_crl_distribution_points, cdps, 0, X509V3_ADD_DEFAULT) == 1;

    sk_DIST_POINT_pop_free(cdps, DIST_POINT_free);
    return ok;
}

static int add_aia(X509 *x, const char *url)
{
    AUTHORITY_INFO_ACCESS *aia = x509ext_aia_ca_issuers(url);
    int ok = aia != NULL && X509_add1_ext_i2d(x, NID_info_access, aia, 0, X509V3_ADD_DEFAULT) == 1;

    sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
    return ok;
}

/* The SubjectPublicKeyInfo from the key gate's re-encoding of the key (algorithm, parameters
 * and key bits as the gate rebuilt them from the parsed key), set as parts: X509_set_pubkey
 * would encode the EVP_PKEY through an OSSL_ENCODER and decode it back (about an eighth of a
 * batch's CPU in OpenSSL 3.0). 1 ok / 0. */
static int spki_set(X509 *x, const struct keygate_key *k)
{
    unsigned char *bits = OPENSSL_memdup(k->pub, k->pub_len);
    ASN1_OBJECT *curve = NULL;
    int ok;

    if (bits == NULL)
        return 0;
    if (k->type == EVP_PKEY_RSA)
        ok = X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(NID_rsaEncryption),
                                    V_ASN1_NULL, NULL, bits, (int)k->pub_len);
    else
        ok = (curve = OBJ_nid2obj(k->curve_nid)) != NULL &&
             X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x),
                                    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT, curve,
                                    bits, (int)k->pub_len);
    if (!ok)
        OPENSSL_free(bits);
    return ok;
}

static int set_fields(X509 *x, const struct cert_spec *s)
{
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = BN_bin2bn(s->serial, (int)s->serial_len, NULL);
    int ok = 0;

    if (bn == NULL || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
        goto out;
    ok = X509_set_version(x, 2) && X509_set_serialNumber(x, serial) &&
         X509_set_subject_name(x, s->subject) &&
         X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : s->subject) &&
         ASN1_TIME_set(X509_getm_notBefore(x), s->not_before) != NULL &&
         ASN1_TIME_set(X509_getm_notAfter(x), s->not_after) != NULL &&
         (s->key ? spki_set(x, s->key) : X509_set_pubkey(x, s->pubkey));
out:
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok;
}

static int add_extensions(X509 *x, const struct cert_spec *s)
{
    for (int i = 0; s->exts && i < sk_X509_EXTENSION_num(s->exts); i++)
        if (!X509_add_ext(x, sk_X509_EXTENSION_value(s->exts, i), -1))
            return 0;
    if (!add_skid(x))
        return 0;
    if (s->akid && !add_akid(x, s->issuer ? s->issuer : x))
        return 0;
    if (s->cdp_url && !add_cdp(x, s->cdp_url))
        return 0;
    return s->aia_url == NULL || add_aia(x, s->aia_url);
}

/* The slow, thorough check, for self-signed certificates (whose cached public key is the token
 * key itself) and issuers whose key is not a plain software key:
 * re-parse what we signed in a plain context and verify it with the issuer's key from DER. */
static int self_check_reparse(X509 *x, X509 *issuer)
{
    size_t len = 0, ilen = 0;
    unsigned char *der = x509_to_der(x, &len), *ider = NULL;
    X509 *re = der ? der_to_x509(der, len) : NULL, *ire = NULL;
    int ok = 0;

    if (re == NULL)
        goto out;
    if (issuer == NULL)
        ire = X509_dup(re);
    else if ((ider = x509_to_der(issuer, &ilen)) != NULL)
        ire = der_to_x509(ider, ilen);
    ok = ire != NULL && X509_verify(re, X509_get0_pubkey(ire)) == 1;
out:
    free(der);
    free(ider);
    X509_free(re);
    X509_free(ire);
    return ok;
}

/* Verify the signature the token made over exactly the TBS bytes the certificate's DER will
 * carry (X509_verify encodes the TBS as i2d_X509 does), with the issuer's software public key
 * (the issuer certificate was parsed from DER in the default library context, so its key is a
 * plain "default" provider key: the check does not go through the token). This catches a token
 * signing with the wrong key or a corrupted signature before the certificate is stored. */
static int self_check(X509 *x, X509 *issuer)
{
    EVP_PKEY *pub = issuer ? X509_get0_pubkey(issuer) : NULL;
    const OSSL_PROVIDER *p = pub ? EVP_PKEY_get0_provider(pub) : NULL;

    if (p == NULL || strcmp(OSSL_PROVIDER_get0_name(p), "default") != 0)
        return self_check_reparse(x, issuer);
    return X509_verify(x, pub) == 1;
}

/* Write the AlgorithmIdentifier the signing context will use into the TBS now, so that the
 * TBS the lint sees is the TBS the token signs (the provider names its own algorithm, with the
 * RSA-PSS parameters when it signs PSS). */
static int tbs_algid_set(X509 *x, EVP_MD_CTX *md)
{
    EVP_PKEY_CTX *pctx = EVP_MD_CTX_get_pkey_ctx(md);
    unsigned char aid[MAX_ALGID];
    const unsigned char *p = aid;
    OSSL_PARAM params[2];
    X509_ALGOR *alg;
    int ok;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid,
                                                  sizeof(aid));
    params[1] = OSSL_PARAM_construct_end();
    if (pctx == NULL || EVP_PKEY_CTX_get_params(pctx, params) <= 0 ||
        !OSSL_PARAM_modified(&params[0]) || params[0].return_size == 0)
        return 0;
    if ((alg = d2i_X509_ALGOR(NULL, &p, (long)params[0].return_size)) == NULL)
        return 0;
    /* the TBS signature field has no setter; it is the cert's own, writable member */
    ok = X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg);
    X509_ALGOR_free(alg);
    return ok;
}

/* Lint the TBS before the signature: errors refuse (EXIT_POLICY), warnings are shown. */
static int cert_lint(X509 *x, const struct cert_spec *spec)
{
    struct lint_report r;
    struct lint_opts o;
    const struct lint_finding *f;

    lint_opts_init(&o);
    o.issuer = spec->issuer;
    o.allow_wildcard = spec->allow_wildcard;
    if (!lint_cert(x, &o, &r))
        return fail_tmpl();
    for (size_t i = 0; i < r.n; i++)
        if (r.f[i].rule->sev == LINT_WARNING)
            report_warn("certificate: lint %s (%s): %s; %s", r.f[i].rule->id, r.f[i].rule->cite,
                        r.f[i].problem, r.f[i].fix);
    if ((f = lint_first_error(&r)) == NULL)
        return 0;
    report("certificate: lint %s (%s): %s; %s%s", f->rule->id, f->rule->cite, f->problem, f->fix,
           r.n_sev[LINT_ERROR] > 1 ? " (more errors: run 'offca lint' on a test issuance)" : "");
    return EXIT_POLICY;
}

/* The DER of x's TBS as it stands, encoded once here: the lint reads these bytes, the token
 * signs them and cert_der puts them into the certificate. OPENSSL_free. */
static unsigned char *tbs_der(X509 *x, int *len)
{
    unsigned char *der = NULL;

    *len = i2d_re_X509_tbs(x, &der);
    if (*len <= 0) {
        OPENSSL_free(der);
        return NULL;
    }
    return der;
}

/* Sign exactly the linted TBS bytes (one signature in the token) and put the signature and the
 * outer AlgorithmIdentifier (= the TBS one, RFC 5280 4.1.1.2) into x. This is what X509_sign_ctx
 * does, minus its second encoding of the TBS: the TBS keeps the encoding tbs_der() made. */
static int tbs_sign(X509 *x, EVP_MD_CTX *md, const unsigned char *tbs, int len)
{
    const ASN1_BIT_STRING *csig;
    const X509_ALGOR *calg;
    ASN1_BIT_STRING *sig;
    unsigned char *buf = NULL;
    size_t n = 0;
    int ok = 0;

    X509_get0_signature(&csig, &calg, x);
    sig = (ASN1_BIT_STRING *)csig;                 /* the certificate's own, writable members */
    if (EVP_DigestSign(md, NULL, &n, tbs, (size_t)len) <= 0 || (buf = OPENSSL_malloc(n)) == NULL ||
        EVP_DigestSign(md, buf, &n, tbs, (size_t)len) <= 0)
        goto out;
    if (!X509_ALGOR_copy((X509_ALGOR *)calg, X509_get0_tbs_sigalg(x)) ||
        !ASN1_BIT_STRING_set(sig, buf, (int)n))
        goto out;
    sig->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);   /* no unused bits */
    sig->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    ok = 1;
out:
    OPENSSL_free(buf);
    return ok;
}

/* After signing: the certificate's DER made from the linted TBS bytes themselves, SEQUENCE {
 * tbsCertificate, signatureAlgorithm, signatureValue } (RFC 5280 4.1), only the last two encoded
 * from x. The certificate carries the linted TBS byte for byte by construction, without a second
 * encoding of the TBS by i2d_X509 to compare against; and self_check, which verifies the token's
 * signature (made over the linted bytes) against OpenSSL's own encoding of x, fails if that
 * encoding is not the linted bytes. The DER (the record and the output use it) goes to *der. */
static int cert_der(X509 *x, const unsigned char *tbs, int len, unsigned char **der,
                    size_t *der_len)
{
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *alg;
    unsigned char *a = NULL, *s = NULL, *d = NULL, *p;
    int la, ls, body = 0, total = -1;

    X509_get0_signature(&sig, &alg, x);
    la = i2d_X509_ALGOR(alg, &a);
    ls = i2d_ASN1_BIT_STRING(sig, &s);
    if (len > 0 && la > 0 && ls > 0 && len <= INT_MAX - la - ls) {
        body = len + la + ls;
        total = ASN1_object_size(1, body, V_ASN1_SEQUENCE);
    }
    if (total > 0 && tbs[0] == 0x30 && (d = OPENSSL_malloc((size_t)total)) != NULL) {
        p = d;
        ASN1_put_object(&p, 1, body, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
        memcpy(p, tbs, (size_t)len), p += len;
        memcpy(p, a, (size_t)la), p += la;
        memcpy(p, s, (size_t)ls), p += ls;
        *der = d;
        *der_len = (size_t)(p - d);
    }
    OPENSSL_free(a);
    OPENSSL_free(s);
    return d != NULL;
}

X509 *cert_build(const struct cert_spec *spec, struct hsm *h, EVP_PKEY *signkey,
                 enum hsm_sig sig, const char *hash, struct cert_built *out)
{
    int *rc = &out->rc;
    X509 *x = X509_new_ex(hsm_get0_libctx(h), NULL);
    EVP_MD_CTX *md = NULL;
    unsigned char *tbs = NULL;
    int tbs_len = 0;

    memset(out, 0, sizeof(*out));
    *rc = EXIT_SYSTEM;
    if (x == NULL || !set_fields(x, spec) || !add_extensions(x, spec)) {
        report("certificate: building the TBS certificate failed: %s", ossl_errstr());
        goto fail;
    }
    if ((md = hsm_sign_ctx_new(h, signkey, sig, hash)) == NULL) {
        *rc = fail_hsm();
        goto fail;
    }
    if (!tbs_algid_set(x, md) || (tbs = tbs_der(x, &tbs_len)) == NULL) {
        report("certificate: encoding the TBS certificate failed: %s", ossl_errstr());
        goto fail;
    }
    if ((*rc = cert_lint(x, spec)) != 0)
        goto fail;
    *rc = EXIT_SYSTEM;
    if (!tbs_sign(x, md, tbs, tbs_len)) {
        /* The provider leaves the token's own reason in hsm_error(); OpenSSL only knows that
         * the signature failed. */
        if (*hsm_error())
            report("certificate: signing in the token failed: %s", hsm_error());
        else
            report("certificate: signing in the token failed: %s; check the token and "
                   "'offca key list'", ossl_errstr());
        goto fail;
    }
    EVP_MD_CTX_free(md);
    md = NULL;
    if (!cert_der(x, tbs, tbs_len, &out->der, &out->der_len)) {
        report("certificate: encoding the signed certificate failed: %s", ossl_errstr());
        goto fail;
    }
    if (!self_check(x, spec->issuer)) {
        report("certificate: self-check failed: the signed certificate does not verify with the "
               "issuer's public key (%s); the CA key and certificate may not match", ossl_errstr());
        OPENSSL_free(out->der);
        out->der = NULL;
        goto fail;
    }
    OPENSSL_free(tbs);
    *rc = 0;
    return x;
fail:
    OPENSSL_free(tbs);
    EVP_MD_CTX_free(md);
    X509_free(x);
    return NULL;
}
