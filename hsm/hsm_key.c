/*
 * hsm_key.c — token key pairs as offca sees them: describe a private key (attributes, public
 * half, URI), load one by RFC 7512 URI as an EVP_PKEY bound to the token, and list them all.
 */
#include "base/hex.h"
#include "hsm/hsm_err.h"
#include "hsm/hsm_int.h"
#include "hsm/p11.h"
#include "hsm/prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

static EVP_PKEY *pub_from_params(struct hsm *h, const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(h->libctx, type, PROV_SOFT_PROPQ);
    EVP_PKEY *pub = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pub = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return pub;
}

static EVP_PKEY *pub_rsa(struct hsm *h, CK_OBJECT_HANDLE o)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nl = 0, el = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pub = NULL;

    if (bld == NULL || !p11_attr_get(h->p11, o, CKA_MODULUS, &n, &nl) ||
        !p11_attr_get(h->p11, o, CKA_PUBLIC_EXPONENT, &e, &el))
        goto out;
    if ((bn = BN_bin2bn(n, (int)nl, NULL)) == NULL || (be = BN_bin2bn(e, (int)el, NULL)) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto out;
    pub = pub_from_params(h, "RSA", bld);
out:
    BN_free(bn);
    BN_free(be);
    OPENSSL_free(n);
    OPENSSL_free(e);
    OSSL_PARAM_BLD_free(bld);
    return pub;
}

/* The EC public key object of the pair: same CKA_ID (or, without one, same CKA_LABEL). */
static int ec_point_get(struct hsm *h, const struct hsm_key_info *info, CK_OBJECT_HANDLE priv,
                        unsigned char **pt, size_t *ptlen)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    unsigned char *id = NULL;
    size_t idl = 0, n = 0;
    CK_OBJECT_HANDLE pubh;
    CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_LABEL, NULL, 0 } };
    int ok = 0;

    if (info->id_hex[0] != '\0' && p11_attr_get(h->p11, priv, CKA_ID, &id, &idl)) {
        t[1].type = CKA_ID;
        t[1].pValue = id;
        t[1].ulValueLen = idl;
    } else {
        t[1].pValue = (void *)info->label;
        t[1].ulValueLen = strlen(info->label);
    }
    if (!p11_find(h->p11, t, 2, &pubh, 1, &n))
        goto out;
    if (n == 0) {
        hsm_seterr(HE_INPUT, "key '%s': CKO_PUBLIC_KEY: the EC public key object is missing; "
                   "re-create the key pair or import its public key", info->label);
        goto out;
    }
    ok = p11_attr_get(h->p11, pubh, CKA_EC_POINT, pt, ptlen);
out:
    OPENSSL_free(id);
    return ok;
}

static EVP_PKEY *pub_ec(struct hsm *h, CK_OBJECT_HANDLE o, const struct hsm_key_info *info)
{
    unsigned char *par = NULL, *pt = NULL;
    const unsigned char *q;
    size_t parl = 0, ptl = 0;
    ASN1_OBJECT *oid = NULL;
    ASN1_OCTET_STRING *os = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pub = NULL;
    int nid;

    if (bld == NULL || !p11_attr_get(h->p11, o, CKA_EC_PARAMS, &par, &parl) ||
        !ec_point_get(h, info, o, &pt, &ptl))
        goto out;
    q = par;
    if ((oid = d2i_ASN1_OBJECT(NULL, &q, (long)parl)) == NULL ||
        (nid = OBJ_obj2nid(oid)) == NID_undef) {
        hsm_seterr(HE_INPUT, "key '%s': CKA_EC_PARAMS: not a named curve offca knows; use "
                   "P-256 or P-384", info->label);
        goto out;
    }
    /* CKA_EC_POINT is a DER OCTET STRING around the point; some modules give it raw (pitfall 8). */
    q = pt;
    os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)ptl);
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                          os != NULL && q == pt + ptl ? os->data : pt,
                                          os != NULL && q == pt + ptl ? (size_t)os->length : ptl))
        goto out;
    pub = pub_from_params(h, "EC", bld);
out:
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(os);
    OPENSSL_free(par);
    OPENSSL_free(pt);
    OSSL_PARAM_BLD_free(bld);
    return pub;
}

static void alg_name(struct hsm_key_info *info)
{
    if (info->is_rsa)
        snprintf(info->alg, sizeof(info->alg), "rsa%d", info->bits);
    else if (info->bits == 256 || info->bits == 384 || info->bits == 521)
        snprintf(info->alg, sizeof(info->alg), "p%d", info->bits);
    else
        snprintf(info->alg, sizeof(info->alg), "ec%d", info->bits);
}

static int flags_read(struct hsm *h, CK_OBJECT_HANDLE o, struct hsm_key_info *info)
{
    return p11_attr_bool(h->p11, o, CKA_SENSITIVE, &info->sensitive) &&
           p11_attr_bool(h->p11, o, CKA_EXTRACTABLE, &info->extractable) &&
           p11_attr_bool(h->p11, o, CKA_ALWAYS_SENSITIVE, &info->always_sensitive) &&
           p11_attr_bool(h->p11, o, CKA_NEVER_EXTRACTABLE, &info->never_extractable) &&
           p11_attr_bool(h->p11, o, CKA_LOCAL, &info->local);
}

/* Label, CKA_ID (hex) and the URI of the pair. */
static int names_read(struct hsm *h, CK_OBJECT_HANDLE o, struct hsm_key_info *info)
{
    unsigned char *lab = NULL, *id = NULL;
    size_t ll = 0, il = 0;
    int ok = 0;

    if (!p11_attr_get(h->p11, o, CKA_LABEL, &lab, &ll) || !p11_attr_get(h->p11, o, CKA_ID, &id, &il))
        goto out;
    if (ll > HSM_MAX_LABEL || il > 64) {
        hsm_seterr(HE_INPUT, "token '%s': key object: label or id too long (%zu/%zu bytes); "
                   "relabel the key", p11_get0_label(h->p11), ll, il);
        goto out;
    }
    memcpy(info->label, lab, ll);
    info->label[ll] = '\0';
    hex_encode(id, il, info->id_hex);
    ok = hsm_uri_format(p11_get0_label(h->p11), info->label, id, il, "private", info->uri,
                        sizeof(info->uri));
out:
    OPENSSL_free(lab);
    OPENSSL_free(id);
    return ok;
}

int key_describe(struct hsm *h, CK_OBJECT_HANDLE priv, struct hsm_key_info *info, EVP_PKEY **pub)
{
    CK_ULONG kt = 0;
    EVP_PKEY *pk = NULL;

    memset(info, 0, sizeof(*info));
    if (!names_read(h, priv, info) || !p11_attr_ulong(h->p11, priv, CKA_KEY_TYPE, &kt))
        return 0;
    if (kt != CKK_RSA && kt != CKK_EC) {
        hsm_seterr(HE_POLICY, "key '%s': CKA_KEY_TYPE: 0x%lx is not RSA or EC; use an RSA or EC "
                   "key", info->label, (unsigned long)kt);
        return 0;
    }
    info->is_rsa = kt == CKK_RSA;
    if (!flags_read(h, priv, info))
        return 0;
    hsm_err_clear();
    pk = info->is_rsa ? pub_rsa(h, priv) : pub_ec(h, priv, info);
    if (pk == NULL) {
        if (hsm_error()[0] == '\0')
            hsm_seterr_ossl(HE_INPUT, "key '%s': public key: cannot build it from the token's "
                            "attributes; check the key pair", info->label);
        return 0;
    }
    info->bits = EVP_PKEY_get_bits(pk);
    alg_name(info);
    if (pub != NULL)
        *pub = pk;
    else
        EVP_PKEY_free(pk);
    return 1;
}

/* Token part of the URI must name the open token; object or id must be given. */
static int uri_check(struct hsm *h, const char *text, struct hsm_uri *u)
{
    const char *tok = p11_get0_label(h->p11);

    if (!hsm_uri_parse(text, u))
        return 0;
    if ((u->has_token && strcmp(u->token, tok) != 0) ||
        (u->has_serial && strcmp(u->serial, p11_get0_serial(h->p11)) != 0)) {
        hsm_seterr(HE_USAGE, "%s: token: names token '%s' but the open token is '%s' (serial "
                   "%s); fix the URI or token_label in ca.toml", text,
                   u->has_token ? u->token : u->serial, tok, p11_get0_serial(h->p11));
        return 0;
    }
    if (!u->has_object && !u->has_id) {
        hsm_seterr(HE_USAGE, "%s: RFC 7512: names no object or id; add object=<label>", text);
        return 0;
    }
    if (u->type[0] != '\0' && strcmp(u->type, "private") != 0) {
        hsm_seterr(HE_USAGE, "%s: type: '%s' is not a key pair; use type=private", text, u->type);
        return 0;
    }
    return 1;
}

/* The one private key the URI names. */
static int key_find(struct hsm *h, const char *text, const struct hsm_uri *u, CK_OBJECT_HANDLE *o)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 1;
    size_t count = 0;

    if (u->has_object) {
        t[n].type = CKA_LABEL;
        t[n].pValue = (void *)u->object;
        t[n++].ulValueLen = strlen(u->object);
    }
    if (u->has_id) {
        t[n].type = CKA_ID;
        t[n].pValue = (void *)u->id;
        t[n++].ulValueLen = u->id_len;
    }
    if (!p11_find(h->p11, t, n, found, 2, &count))
        return 0;
    if (count != 1) {
        hsm_seterr(count == 0 ? HE_INPUT : HE_USAGE, "%s: key: %s in token '%s'; %s", text,
                   count == 0 ? "no such private key" : "more than one private key matches",
                   p11_get0_label(h->p11), count == 0 ? "list the keys with 'offca key list'"
                   : "add id=... to the URI");
        return 0;
    }
    *o = found[0];
    return 1;
}

static int key_policy_check(const char *text, const struct hsm_key_info *info, int allow)
{
    const char *bad = !info->sensitive ? "CKA_SENSITIVE is false"
                    : info->extractable ? "CKA_EXTRACTABLE is true" : NULL;

    if (bad == NULL || allow)
        return 1;
    hsm_seterr(HE_POLICY, "%s: key policy: %s, the private key can leave the token; generate a "
               "new key with 'offca key gen', or allow it explicitly (allow_extractable)", text,
               bad);
    return 0;
}

/* The token-bound EVP_PKEY: import our reference into the provider's keymgmt. */
static EVP_PKEY *key_bind(struct hsm *h, CK_OBJECT_HANDLE o, const struct hsm_key_info *info,
                          EVP_PKEY *pub)
{
    struct prov_key_ref ref = { h->p11, o, info->is_rsa, pub, info->label };
    const struct prov_key_ref *rp = &ref;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_octet_string(PROV_PARAM_KEY_REF, (void *)&rp, sizeof(rp)), OSSL_PARAM_END
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(h->libctx, info->is_rsa ? "RSA" : "EC",
                                                   PROV_PROPQ);
    EVP_PKEY *key = NULL;

    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0) {
        hsm_seterr_ossl(HE_SYSTEM, "key '%s': provider: cannot bind the token key; report "
                        "this bug", info->label);
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* Load the key pair a PKCS#11 URI names (see hsm.h). Caller frees with EVP_PKEY_free. */
EVP_PKEY *hsm_key_load(struct hsm *h, const char *uri, int allow_extractable,
                       struct hsm_key_info *info)
{
    struct hsm_uri u;
    struct hsm_key_info ki;
    CK_OBJECT_HANDLE o;
    EVP_PKEY *pub = NULL, *key = NULL;

    hsm_err_clear();
    if (!hsm_ready(h) || !uri_check(h, uri, &u) || !key_find(h, uri, &u, &o))
        return NULL;
    if (!key_describe(h, o, &ki, &pub)) {
        hsm_err_prefix("%s", uri);
        return NULL;
    }
    if (key_policy_check(uri, &ki, allow_extractable) && (key = key_bind(h, o, &ki, pub)) != NULL &&
        info != NULL)
        *info = ki;
    EVP_PKEY_free(pub);
    return key;
}

/* Every RSA/EC private key of the token with its public half; other key types are skipped. */
int hsm_key_list(struct hsm *h, struct hsm_key_info **out, size_t *n)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[1] = { { CKA_CLASS, &cls, sizeof(cls) } };
    CK_OBJECT_HANDLE *objs = calloc(MAX_P11_OBJECTS, sizeof(*objs));
    struct hsm_key_info *list = NULL;
    size_t count = 0, i, got = 0;
    CK_ULONG kt;
    int ok = 0;

    hsm_err_clear();
    if (objs == NULL || !hsm_ready(h) || !p11_find(h->p11, t, 1, objs, MAX_P11_OBJECTS, &count))
        goto out;
    if ((list = calloc(count ? count : 1, sizeof(*list))) == NULL)
        goto out;
    for (i = 0; i < count; i++) {
        if (!p11_attr_ulong(h->p11, objs[i], CKA_KEY_TYPE, &kt))
            goto out;
        if (kt != CKK_RSA && kt != CKK_EC)
            continue;
        if (!key_describe(h, objs[i], &list[got], NULL))
            goto out;
        got++;
    }
    *out = list;
    *n = got;
    list = NULL;
    ok = 1;
out:
    if (!ok && hsm_error()[0] == '\0')
        hsm_seterr(HE_SYSTEM, "hsm: memory: allocation failed; retry");
    free(list);
    free(objs);
    return ok;
}
