/*
 * prov_signature.c — the provider's signature operation. Hashing happens in software (default
 * provider); the token sees exactly one C_SignInit + C_Sign per signature:
 *   RSA PKCS#1 v1.5: CKM_RSA_PKCS over DigestInfo(hash)        (PKCS#11 2.40 2.1.6)
 *   RSA-PSS:         CKM_RSA_PKCS_PSS over hash, MGF1, sLen      (PKCS#11 2.40 2.1.10)
 *   ECDSA:           CKM_ECDSA over hash, raw r||s -> DER       (PKCS#11 2.40 2.3.6)
 * Verification is delegated to the key's software public half so X509_verify() works with the
 * token key cached in an X509.
 */
#include "hsm/hsm_err.h"
#include "hsm/p11.h"
#include "hsm/prov.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

struct sig_ctx {
    OSSL_LIB_CTX *libctx;
    const struct prov_key *key;    /* borrowed: the EVP_PKEY_CTX keeps the key alive */
    EVP_MD *md;
    EVP_MD *mgf1;                  /* NULL: same as md */
    EVP_MD_CTX *mdctx;             /* streaming hash for digest_sign_update/final */
    int pad;                       /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
    int saltlen;                   /* RSA_PSS_SALTLEN_* or an explicit byte count */
    EVP_MD_CTX *vctx;              /* verify: software delegate */
};

struct md_map { int nid; CK_MECHANISM_TYPE hash; CK_RSA_PKCS_MGF_TYPE mgf; };

static const struct md_map md_table[] = {
    { NID_sha224, CKM_SHA224, CKG_MGF1_SHA224 },
    { NID_sha256, CKM_SHA256, CKG_MGF1_SHA256 },
    { NID_sha384, CKM_SHA384, CKG_MGF1_SHA384 },
    { NID_sha512, CKM_SHA512, CKG_MGF1_SHA512 },
};

static const struct md_map *md_find(const EVP_MD *md)
{
    size_t i;

    for (i = 0; md != NULL && i < sizeof(md_table) / sizeof(md_table[0]); i++)
        if (md_table[i].nid == EVP_MD_get_type(md))
            return &md_table[i];
    return NULL;
}

static void *sig_newctx(void *provctx, const char *propq)
{
    struct sig_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->libctx = ((struct prov_ctx *)provctx)->libctx;
    c->pad = RSA_PKCS1_PADDING;
    c->saltlen = RSA_PSS_SALTLEN_DIGEST;
    return c;
}

static void sig_freectx(void *vctx)
{
    struct sig_ctx *c = vctx;

    if (c == NULL)
        return;
    EVP_MD_free(c->md);
    EVP_MD_free(c->mgf1);
    EVP_MD_CTX_free(c->mdctx);
    EVP_MD_CTX_free(c->vctx);
    free(c);
}

static void *sig_dupctx(void *vctx)
{
    const struct sig_ctx *c = vctx;
    struct sig_ctx *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    *d = *c;
    d->md = d->mgf1 = NULL;
    d->mdctx = d->vctx = NULL;
    if ((c->md != NULL && (!EVP_MD_up_ref(c->md) || (d->md = c->md) == NULL)) ||
        (c->mgf1 != NULL && (!EVP_MD_up_ref(c->mgf1) || (d->mgf1 = c->mgf1) == NULL)))
        goto bad;
    if (c->mdctx != NULL &&
        ((d->mdctx = EVP_MD_CTX_new()) == NULL || !EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx)))
        goto bad;
    if (c->vctx != NULL &&
        ((d->vctx = EVP_MD_CTX_new()) == NULL || !EVP_MD_CTX_copy_ex(d->vctx, c->vctx)))
        goto bad;
    return d;
bad:
    sig_freectx(d);
    return NULL;
}

/* Fetch the digest (from "default": this provider has none) and restart the running hash. */
static int sig_set_md(struct sig_ctx *c, const char *name, int is_mgf1)
{
    EVP_MD *md = EVP_MD_fetch(c->libctx, name, NULL);

    if (md == NULL || md_find(md) == NULL) {
        hsm_seterr(HE_USAGE, "key '%s': digest: '%s' is not supported; use sha256, sha384 or "
                   "sha512", c->key != NULL ? c->key->label : "", name);
        EVP_MD_free(md);
        return 0;
    }
    if (is_mgf1) {
        EVP_MD_free(c->mgf1);
        c->mgf1 = md;
        return 1;
    }
    EVP_MD_free(c->md);
    c->md = md;
    if (c->mdctx == NULL && (c->mdctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    return EVP_DigestInit_ex(c->mdctx, c->md, NULL);
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int sig_init(struct sig_ctx *c, const char *mdname, void *provkey,
                    const OSSL_PARAM params[])
{
    c->key = provkey;
    EVP_MD_CTX_free(c->vctx);
    c->vctx = NULL;
    if (c->key == NULL || c->key->p11 == NULL) {
        hsm_seterr(HE_USAGE, "key: sign: no token key; load the key by URI");
        return 0;
    }
    c->pad = RSA_PKCS1_PADDING;
    c->saltlen = RSA_PSS_SALTLEN_DIGEST;
    if (!sig_set_md(c, mdname != NULL && *mdname != '\0' ? mdname : "SHA256", 0))
        return 0;
    return sig_set_ctx_params(c, params);
}

static int sig_digest_sign_init(void *vctx, const char *mdname, void *provkey,
                                const OSSL_PARAM params[])
{
    return sig_init(vctx, mdname, provkey, params);
}

static int sig_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return sig_init(vctx, NULL, provkey, params);
}

/* PSS salt length in bytes from OpenSSL's codes (RFC 8017 9.1.1: emLen - hLen - 2 at most). */
static int sig_saltlen(const struct sig_ctx *c)
{
    int hlen = EVP_MD_get_size(c->md);
    int emlen = (EVP_PKEY_get_bits(c->key->pub) - 1 + 7) / 8;
    int max = emlen - hlen - 2;

    if (c->saltlen == RSA_PSS_SALTLEN_DIGEST)
        return hlen;
    if (c->saltlen == RSA_PSS_SALTLEN_MAX || c->saltlen == RSA_PSS_SALTLEN_AUTO)
        return max;
    return c->saltlen >= 0 && c->saltlen <= max ? c->saltlen : -1;
}

static int sig_rsa(struct sig_ctx *c, const unsigned char *h, size_t hl, unsigned char *sig,
                   size_t *siglen, size_t sigsize)
{
    const struct md_map *m = md_find(c->md);
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
    unsigned char *di = NULL;
    size_t dilen = 0;
    int ok = 0;

    *siglen = sigsize;
    if (c->pad == RSA_PKCS1_PSS_PADDING) {
        pss.hashAlg = m->hash;
        pss.mgf = md_find(c->mgf1 != NULL ? c->mgf1 : c->md)->mgf;
        pss.sLen = (CK_ULONG)sig_saltlen(c);
        mech.mechanism = CKM_RSA_PKCS_PSS;
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof(pss);
        return prov_key_sign(c->key, &mech, h, hl, sig, siglen);
    }
    /* CKM_RSA_PKCS pads only: the DigestInfo is ours to add (pitfall 7). */
    if (!prov_digestinfo_build(c->md, h, hl, &di, &dilen))
        goto out;
    ok = prov_key_sign(c->key, &mech, di, dilen, sig, siglen);
out:
    OPENSSL_free(di);
    return ok;
}

static int sig_ecdsa(struct sig_ctx *c, const unsigned char *h, size_t hl, unsigned char *sig,
                     size_t *siglen, size_t sigsize)
{
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    unsigned char raw[MAX_P11_SIG];
    size_t rawlen = sizeof(raw);

    if (!prov_key_sign(c->key, &mech, h, hl, raw, &rawlen))
        return 0;
    if (!prov_ecdsa_der(raw, rawlen, sig, sigsize, siglen)) {
        hsm_seterr(HE_SYSTEM, "key '%s': CKM_ECDSA: the token returned %zu bytes, not r||s; "
                   "check the module", c->key->label, rawlen);
        return 0;
    }
    return 1;
}

/* Sign a finished hash: the one place a signature is made. */
static int sig_hash_sign(struct sig_ctx *c, const unsigned char *h, size_t hl,
                         unsigned char *sig, size_t *siglen, size_t sigsize)
{
    if (c->key->is_rsa && c->pad == RSA_PKCS1_PSS_PADDING && sig_saltlen(c) < 0) {
        hsm_seterr(HE_USAGE, "key '%s': RSA-PSS: salt length %d does not fit the key; use the "
                   "digest length", c->key->label, c->saltlen);
        return 0;
    }
    if (c->key->is_rsa)
        return sig_rsa(c, h, hl, sig, siglen, sigsize);
    return sig_ecdsa(c, h, hl, sig, siglen, sigsize);
}

static int sig_size(const struct sig_ctx *c, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    size_t max = (size_t)EVP_PKEY_get_size(c->key->pub);

    if (sig == NULL) {
        *siglen = max;
        return 1;
    }
    return sigsize >= max;
}

static int sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                           const unsigned char *tbs, size_t tbslen)
{
    struct sig_ctx *c = vctx;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;

    if (!sig_size(c, sig, siglen, sigsize))
        return 0;
    if (sig == NULL)
        return 1;
    if (!EVP_Digest(tbs, tbslen, h, &hl, c->md, NULL))
        return 0;
    return sig_hash_sign(c, h, hl, sig, siglen, sigsize);
}

static int sig_digest_sign_update(void *vctx, const unsigned char *data, size_t len)
{
    struct sig_ctx *c = vctx;

    return c->mdctx != NULL && EVP_DigestUpdate(c->mdctx, data, len);
}

static int sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    struct sig_ctx *c = vctx;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;

    if (!sig_size(c, sig, siglen, sigsize))
        return 0;
    if (sig == NULL)
        return 1;
    if (c->mdctx == NULL || !EVP_DigestFinal_ex(c->mdctx, h, &hl))
        return 0;
    return sig_hash_sign(c, h, hl, sig, siglen, sigsize);
}

/* EVP_PKEY_sign on a precomputed hash of the context's digest. */
static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen)
{
    struct sig_ctx *c = vctx;

    if (!sig_size(c, sig, siglen, sigsize))
        return 0;
    if (sig == NULL)
        return 1;
    if (tbslen != (size_t)EVP_MD_get_size(c->md)) {
        hsm_seterr(HE_USAGE, "key '%s': sign: %zu input bytes is not a %s hash; hash first",
                   c->key->label, tbslen, EVP_MD_get0_name(c->md));
        return 0;
    }
    return sig_hash_sign(c, tbs, tbslen, sig, siglen, sigsize);
}

static int sig_digest_verify_init(void *vctx, const char *mdname, void *provkey,
                                  const OSSL_PARAM params[])
{
    struct sig_ctx *c = vctx;

    c->key = provkey;
    EVP_MD_CTX_free(c->vctx);
    if (c->key == NULL || c->key->pub == NULL || (c->vctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    return EVP_DigestVerifyInit_ex(c->vctx, NULL, mdname, c->libctx, PROV_SOFT_PROPQ,
                                   c->key->pub, params) == 1;
}

static int sig_digest_verify_update(void *vctx, const unsigned char *data, size_t len)
{
    struct sig_ctx *c = vctx;

    return c->vctx != NULL && EVP_DigestVerifyUpdate(c->vctx, data, len) == 1;
}

static int sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    struct sig_ctx *c = vctx;

    return c->vctx != NULL && EVP_DigestVerifyFinal(c->vctx, sig, siglen) == 1;
}

static int sig_digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
                             const unsigned char *tbs, size_t tbslen)
{
    struct sig_ctx *c = vctx;

    return c->vctx != NULL && EVP_DigestVerify(c->vctx, sig, siglen, tbs, tbslen) == 1;
}

/* pad-mode and saltlen come as integers or as strings (EVP_PKEY_CTX_ctrl_str). */
static int param_pad(const OSSL_PARAM *p, int *out)
{
    const char *s = NULL;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
            return 0;
        *out = strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0 ? RSA_PKCS1_PSS_PADDING
             : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING : -1;
        return 1;
    }
    return OSSL_PARAM_get_int(p, out);
}

static int param_saltlen(const OSSL_PARAM *p, int *out)
{
    const char *s = NULL;

    if (p->data_type != OSSL_PARAM_UTF8_STRING)
        return OSSL_PARAM_get_int(p, out);
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
        return 0;
    if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
        *out = RSA_PSS_SALTLEN_DIGEST;
    else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
        *out = RSA_PSS_SALTLEN_MAX;
    else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0)
        *out = RSA_PSS_SALTLEN_AUTO;
    else
        *out = atoi(s);
    return 1;
}

static int sig_set_rsa_params(struct sig_ctx *c, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p;
    int pad, salt;

    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL) {
        if (!param_pad(p, &pad))
            return 0;
        if (!c->key->is_rsa || (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING)) {
            hsm_seterr(HE_USAGE, "key '%s': pad-mode: %d is not usable with this key; use "
                       "PKCS#1 v1.5 or PSS with RSA keys", c->key->label, pad);
            return 0;
        }
        c->pad = pad;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL) {
        if (!param_saltlen(p, &salt) || salt < RSA_PSS_SALTLEN_MAX)
            return 0;
        c->saltlen = salt;
    }
    return 1;
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct sig_ctx *c = vctx;
    const OSSL_PARAM *p;
    const char *name = NULL;

    if (c->vctx != NULL)
        return EVP_PKEY_CTX_set_params(EVP_MD_CTX_get_pkey_ctx(c->vctx), params);
    if (params == NULL)
        return 1;
    if (c->key == NULL)
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !sig_set_md(c, name, 0)))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !sig_set_md(c, name, 1)))
        return 0;
    return sig_set_rsa_params(c, params);
}

static int sig_get_algid(const struct sig_ctx *c, OSSL_PARAM *p)
{
    unsigned char *der = NULL;
    size_t len = 0;
    int ok;

    if (c->md == NULL || (c->key->is_rsa && c->pad == RSA_PKCS1_PSS_PADDING && sig_saltlen(c) < 0))
        return 0;
    ok = prov_algid_build(c->key->is_rsa, c->pad == RSA_PKCS1_PSS_PADDING, c->md, c->mgf1,
                          c->key->is_rsa ? sig_saltlen(c) : 0, &der, &len) &&
         OSSL_PARAM_set_octet_string(p, der, len);
    OPENSSL_free(der);
    return ok;
}

static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct sig_ctx *c = vctx;
    OSSL_PARAM *p;

    if (c->vctx != NULL)
        return EVP_PKEY_CTX_get_params(EVP_MD_CTX_get_pkey_ctx(c->vctx), params);
    if (c->key == NULL)
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (p != NULL && !sig_get_algid(c, p))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && (c->md == NULL || !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(c->md))))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && c->key->is_rsa && p->data_type == OSSL_PARAM_INTEGER &&
        !OSSL_PARAM_set_int(p, c->pad))
        return 0;
    if (p != NULL && c->key->is_rsa && p->data_type == OSSL_PARAM_UTF8_STRING &&
        !OSSL_PARAM_set_utf8_string(p, c->pad == RSA_PKCS1_PSS_PADDING
                                    ? OSSL_PKEY_RSA_PAD_MODE_PSS : OSSL_PKEY_RSA_PAD_MODE_PKCSV15))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL && p->data_type == OSSL_PARAM_INTEGER && !OSSL_PARAM_set_int(p, c->saltlen))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL && c->md != NULL &&
        !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(c->mgf1 != NULL ? c->mgf1 : c->md)))
        return 0;
    return 1;
}

static const OSSL_PARAM sig_gettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
    OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM sig_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
    OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *sig_gettable_ctx_params(void *vctx, void *provctx)
{
    return sig_gettable;
}

static const OSSL_PARAM *sig_settable_ctx_params(void *vctx, void *provctx)
{
    return sig_settable;
}

const OSSL_DISPATCH prov_signature[] = {
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_newctx },
    { OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx },
    { OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx },
    { OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init },
    { OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign },
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init },
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_sign_update },
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final },
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))sig_digest_sign },
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))sig_digest_verify_init },
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))sig_digest_verify_update },
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))sig_digest_verify_final },
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))sig_digest_verify },
    { OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params },
    { OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sig_gettable_ctx_params },
    { OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params },
    { OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable_ctx_params },
    { 0, NULL }
};
