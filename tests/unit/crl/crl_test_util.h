/*
 * crl_test_util.h — test-only helpers for tests/unit/crl (static, included by each test):
 * software keys, a small certificate builder with config-style extensions, signing contexts.
 */
#ifndef OFFCA_CRL_TEST_UTIL_H
#define OFFCA_CRL_TEST_UTIL_H

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

enum tkey { TK_RSA, TK_PSS, TK_EC };

static EVP_PKEY *tkey_new(enum tkey t)
{
    return t == TK_EC ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

/* A fresh signing ctx for key; RSA-PSS with salt = digest length (as offca signs). */
static EVP_MD_CTX *tsign_ctx(EVP_PKEY *key, enum tkey t)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;

    if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key) <= 0)
        goto err;
    if (t == TK_PSS && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
                        || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
        goto err;
    return ctx;
err:
    EVP_MD_CTX_free(ctx);
    return NULL;
}

/* Extensions as "name=value" pairs in config syntax, NULL-terminated. */
struct tcert {
    const char *cn;
    long serial;
    time_t not_before, not_after;
    const char *const *exts;
    const char *raw_oid;          /* optional extra extension given as DER value */
    const unsigned char *raw_der;
    int raw_len;
};

/* Build a certificate for subject key pub, signed by ikey as issuer (NULL: self-signed). */
static X509 *tcert_new(const struct tcert *c, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509V3_CTX v3;
    size_t i;

    if (x == NULL || n == NULL || !X509_set_version(x, 2)
        || !ASN1_INTEGER_set(X509_get_serialNumber(x), c->serial)
        || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)c->cn, -1,
                                       -1, 0)
        || !X509_set_subject_name(x, n)
        || !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n)
        || !ASN1_TIME_set(X509_getm_notBefore(x), c->not_before)
        || !ASN1_TIME_set(X509_getm_notAfter(x), c->not_after) || !X509_set_pubkey(x, pub))
        goto err;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    for (i = 0; c->exts && c->exts[i]; i++) {
        char name[64];
        const char *eq = strchr(c->exts[i], '=');
        X509_EXTENSION *e;

        snprintf(name, sizeof(name), "%.*s", (int)(eq - c->exts[i]), c->exts[i]);
        e = X509V3_EXT_nconf(NULL, &v3, name, eq + 1);
        if (e == NULL || !X509_add_ext(x, e, -1)) {
            X509_EXTENSION_free(e);
            goto err;
        }
        X509_EXTENSION_free(e);
    }
    if (c->raw_oid) {
        ASN1_OBJECT *o = OBJ_txt2obj(c->raw_oid, 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e = NULL;
        int ok = o && os && ASN1_OCTET_STRING_set(os, c->raw_der, c->raw_len)
                 && (e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os)) && X509_add_ext(x, e, -1);

        ASN1_OBJECT_free(o);
        ASN1_OCTET_STRING_free(os);
        X509_EXTENSION_free(e);
        if (!ok)
            goto err;
    }
    if (!X509_sign(x, ikey, EVP_sha256()))
        goto err;
    X509_NAME_free(n);
    return x;
err:
    X509_NAME_free(n);
    X509_free(x);
    return NULL;
}

#endif
