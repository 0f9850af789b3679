/*
 * prov_keymgmt.c — the provider's key management for token RSA and EC keys. A key is the token
 * handle plus a software copy of its public half (default provider, same libctx). Export is
 * STRICT: any selection with the private key is refused, so OpenSSL can never move the key to
 * another provider and sign without the token.
 */
#include "hsm/hsm_err.h"
#include "hsm/p11.h"
#include "hsm/prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

static void *km_new(void *provctx)
{
    struct prov_key *k = calloc(1, sizeof(*k));

    if (k != NULL)
        k->libctx = ((struct prov_ctx *)provctx)->libctx;
    return k;
}

static void km_free(void *keydata)
{
    struct prov_key *k = keydata;

    if (k == NULL)
        return;
    EVP_PKEY_free(k->pub);
    free(k);
}

static int km_has(const void *keydata, int selection)
{
    const struct prov_key *k = keydata;

    if (k == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->p11 == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) && k->pub == NULL)
        return 0;
    return 1;
}

static int km_match(const void *keydata1, const void *keydata2, int selection)
{
    const struct prov_key *a = keydata1, *b = keydata2;

    if (a->pub == NULL || b->pub == NULL || a->is_rsa != b->is_rsa)
        return 0;
    return EVP_PKEY_eq(a->pub, b->pub) == 1;
}

/* Import either our private reference (hsm_key_load) or a public key only (EVP_PKEY_eq). */
static int km_import(struct prov_key *k, int is_rsa, int selection, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, PROV_PARAM_KEY_REF);
    const struct prov_key_ref *ref;
    EVP_PKEY_CTX *ctx = NULL;
    int ok = 0;

    k->is_rsa = is_rsa;
    if (p != NULL) {
        if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size != sizeof(ref))
            return 0;
        memcpy(&ref, p->data, sizeof(ref));
        if (ref->is_rsa != is_rsa || ref->pub == NULL || !EVP_PKEY_up_ref(ref->pub))
            return 0;
        k->p11 = ref->p11;
        k->handle = ref->handle;
        k->pub = ref->pub;
        snprintf(k->label, sizeof(k->label), "%s", ref->label ? ref->label : "");
        return 1;
    }
    /* Private key material never enters this provider. */
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        return 0;
    ctx = EVP_PKEY_CTX_new_from_name(k->libctx, is_rsa ? "RSA" : "EC", PROV_SOFT_PROPQ);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &k->pub, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) <= 0)
        goto out;
    ok = 1;
out:
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static int km_rsa_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, 1, selection, params);
}

static int km_ec_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, 0, selection, params);
}

static const OSSL_PARAM rsa_types[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_octet_string(PROV_PARAM_KEY_REF, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM ec_types[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_octet_string(PROV_PARAM_KEY_REF, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *km_rsa_types(int selection) { return rsa_types; }
static const OSSL_PARAM *km_ec_types(int selection) { return ec_types; }

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    const struct prov_key *k = keydata;

    /* STRICT: never answer a private selection with the public half (pitfall 1). */
    if (k == NULL || k->pub == NULL || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
        return 0;
    return EVP_PKEY_export(k->pub, selection, cb, cbarg);
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    const struct prov_key *k = keydata;
    OSSL_PARAM *p;

    if (k == NULL || k->pub == NULL)
        return 0;
    /* bits, security-bits, max-size and the public parts come from the software copy. */
    if (!EVP_PKEY_get_params(k->pub, params))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, "SHA256"))
        return 0;
    p = OSSL_PARAM_locate(params, PROV_PARAM_LABEL);
    return p == NULL || OSSL_PARAM_set_utf8_string(p, k->label);
}

static const OSSL_PARAM rsa_gettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(PROV_PARAM_LABEL, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM ec_gettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(PROV_PARAM_LABEL, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *km_rsa_gettable(void *provctx) { return rsa_gettable; }
static const OSSL_PARAM *km_ec_gettable(void *provctx) { return ec_gettable; }

static const char *km_rsa_opname(int op)
{
    return op == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

static const char *km_ec_opname(int op)
{
    return op == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

static void *km_dup(const void *keydata, int selection)
{
    const struct prov_key *k = keydata;
    struct prov_key *d;

    if (k == NULL || (d = malloc(sizeof(*d))) == NULL)
        return NULL;
    *d = *k;
    if (d->pub != NULL && !EVP_PKEY_up_ref(d->pub)) {
        free(d);
        return NULL;
    }
    return d;
}

int prov_key_sign(const struct prov_key *k, CK_MECHANISM *mech, const unsigned char *in,
                  size_t inlen, unsigned char *sig, size_t *siglen)
{
    if (k->p11 == NULL) {
        hsm_seterr(HE_USAGE, "key: sign: this is a public key only; load the key by URI");
        return 0;
    }
    return p11_sign(k->p11, k->handle, mech, in, inlen, sig, siglen);
}

#define KM_COMMON                                                                    \
    { OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new },                               \
    { OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free },                             \
    { OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has },                               \
    { OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match },                           \
    { OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export },                         \
    { OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params },                 \
    { OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup }

const OSSL_DISPATCH prov_rsa_keymgmt[] = {
    KM_COMMON,
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_rsa_import },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_rsa_types },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_rsa_types },
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_rsa_gettable },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_rsa_opname },
    { 0, NULL }
};

const OSSL_DISPATCH prov_ec_keymgmt[] = {
    KM_COMMON,
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_ec_import },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_ec_types },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_ec_types },
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_ec_gettable },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_ec_opname },
    { 0, NULL }
};
