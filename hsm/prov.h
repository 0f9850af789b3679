/*
 * prov.h — private to hsm/: the built-in OpenSSL 3 provider "offcahsm" (keymgmt + signature)
 * that exposes token keys as EVP_PKEYs (OpenSSL provider(7), provider-keymgmt(7),
 * provider-signature(7)).
 */
#ifndef OFFCA_PROV_H
#define OFFCA_PROV_H

#include <openssl/core.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"

#define PROV_NAME          "offcahsm"
#define PROV_PROPQ         "provider=offcahsm"
#define PROV_SOFT_PROPQ    "provider=default"  /* software public keys, digests, verify */
#define PROV_PARAM_KEY_REF "offca-key-ref"     /* octet string: a struct prov_key_ref pointer */
#define PROV_PARAM_LABEL   "offca-label"       /* utf8: the key's CKA_LABEL, for messages */

struct p11;

/* What hsm_key_load hands the keymgmt import (by pointer, inside the private libctx only). */
struct prov_key_ref {
    struct p11 *p11;               /* borrowed; lives until hsm_close */
    CK_OBJECT_HANDLE handle;       /* the private key object */
    int is_rsa;
    EVP_PKEY *pub;                 /* software public key in the same libctx (import up-refs it) */
    const char *label;
};

/* The keymgmt's key data. Immutable once imported; pub is shared by up-ref. */
struct prov_key {
    OSSL_LIB_CTX *libctx;
    struct p11 *p11;               /* NULL for a public-only key (EVP_PKEY_eq imports) */
    CK_OBJECT_HANDLE handle;
    int is_rsa;
    EVP_PKEY *pub;
    char label[HSM_MAX_LABEL + 1];
};

struct prov_ctx {
    OSSL_LIB_CTX *libctx;
};

/* Register "offcahsm" as a built-in provider of libctx and load "default" first, then it
 * (so unqualified fetches never land on the token); default properties prefer "default". The
 * caller unloads both. */
int prov_load(OSSL_LIB_CTX *libctx, OSSL_PROVIDER **dflt, OSSL_PROVIDER **hsm)
    __attribute__((warn_unused_result));

extern const OSSL_DISPATCH prov_rsa_keymgmt[];
extern const OSSL_DISPATCH prov_ec_keymgmt[];
extern const OSSL_DISPATCH prov_signature[];

/* The signature side uses these to reach the key's token object. */
int prov_key_sign(const struct prov_key *k, CK_MECHANISM *mech, const unsigned char *in,
                  size_t inlen, unsigned char *sig, size_t *siglen)
    __attribute__((warn_unused_result));

/* prov_asn1.c: the DER pieces of a signature, all through OpenSSL's ASN.1 templates. Each
 * returns an OPENSSL_malloc'd buffer in *der the caller frees with OPENSSL_free. */
/* signatureAlgorithm: sha*WithRSAEncryption (NULL params), ecdsa-with-SHA* (absent params), or
 * rsassaPss with RFC 4055 RSASSA-PSS-params (hash, MGF1(mgf1), explicit saltLength). */
int prov_algid_build(int is_rsa, int pss, const EVP_MD *md, const EVP_MD *mgf1, int saltlen,
                     unsigned char **der, size_t *len) __attribute__((warn_unused_result));
/* PKCS#1 v1.5 DigestInfo (RFC 8017 9.2) around hash, for CKM_RSA_PKCS (pitfall 7). */
int prov_digestinfo_build(const EVP_MD *md, const unsigned char *hash, size_t hlen,
                          unsigned char **der, size_t *len) __attribute__((warn_unused_result));
/* PKCS#11 raw ECDSA r||s -> DER Ecdsa-Sig-Value (RFC 3279 2.2.3) into out (outsize bytes). */
int prov_ecdsa_der(const unsigned char *raw, size_t rawlen, unsigned char *out, size_t outsize,
                   size_t *outlen) __attribute__((warn_unused_result));

#endif
