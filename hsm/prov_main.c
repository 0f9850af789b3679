/*
 * prov_main.c — entry of the built-in provider "offcahsm": provider context, the algorithm
 * tables, and prov_load() which registers it in a private OSSL_LIB_CTX after "default".
 * provider-base(7): core_get_libctx's result may be used as an OSSL_LIB_CTX only by built-in
 * providers, which this is.
 */
#include "hsm/hsm_err.h"
#include "hsm/prov.h"

#include <stdlib.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>

static const OSSL_ALGORITHM prov_keymgmts[] = {
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROV_PROPQ, prov_rsa_keymgmt,
      "offca token RSA key" },
    { "EC:id-ecPublicKey:1.2.840.10045.2.1", PROV_PROPQ, prov_ec_keymgmt,
      "offca token EC key" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM prov_signatures[] = {
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROV_PROPQ, prov_signature,
      "offca token RSA signature" },
    { "ECDSA", PROV_PROPQ, prov_signature, "offca token ECDSA signature" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return prov_keymgmts;
    case OSSL_OP_SIGNATURE:
        return prov_signatures;
    }
    return NULL;
}

static void prov_teardown(void *provctx)
{
    free(provctx);
}

static const OSSL_PARAM prov_param_types[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    return prov_param_types;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "offca PKCS#11 token provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    return p == NULL || OSSL_PARAM_set_int(p, 1);
}

static const OSSL_DISPATCH prov_base[] = {
    { OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query },
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params },
    { 0, NULL }
};

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                     const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_libctx_fn *get_libctx = NULL;
    struct prov_ctx *pc;

    for (; in->function_id != 0; in++)
        if (in->function_id == OSSL_FUNC_CORE_GET_LIBCTX)
            get_libctx = OSSL_FUNC_core_get_libctx(in);
    if (get_libctx == NULL || (pc = calloc(1, sizeof(*pc))) == NULL)
        return 0;
    pc->libctx = (OSSL_LIB_CTX *)get_libctx(handle);
    *out = prov_base;
    *provctx = pc;
    return 1;
}

int prov_load(OSSL_LIB_CTX *libctx, OSSL_PROVIDER **dflt, OSSL_PROVIDER **hsm)
{
    OSSL_PROVIDER *d = NULL, *h = NULL;

    /* "default" first, and preferred, so unqualified fetches (software keygen, digests) never
     * land on the token provider. */
    if (!OSSL_PROVIDER_add_builtin(libctx, PROV_NAME, prov_init) ||
        (d = OSSL_PROVIDER_load(libctx, "default")) == NULL ||
        !EVP_set_default_properties(libctx, "?" PROV_SOFT_PROPQ) ||
        (h = OSSL_PROVIDER_load(libctx, PROV_NAME)) == NULL) {
        hsm_seterr_ossl(HE_SYSTEM, "hsm: provider: loading 'default' and '" PROV_NAME "' failed; "
                        "check the OpenSSL installation (OPENSSL_MODULES, openssl.cnf)");
        OSSL_PROVIDER_unload(d);
        return 0;
    }
    *dflt = d;
    *hsm = h;
    return 1;
}
