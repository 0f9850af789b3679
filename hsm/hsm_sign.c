/*
 * hsm_sign.c — signing contexts for token keys: scheme + hash -> an EVP_MD_CTX bound to the
 * private libctx and the "offcahsm" provider, ready for X509_sign_ctx and friends.
 */
#include "hsm/hsm_err.h"
#include "hsm/hsm_int.h"
#include "hsm/prov.h"

#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>

struct sig_name { const char *name; enum hsm_sig sig; };

static const struct sig_name sig_names[] = {
    { "default", HSM_SIG_DEFAULT },
    { "rsa-pkcs1", HSM_SIG_RSA_PKCS1 },
    { "rsa-pss", HSM_SIG_RSA_PSS },
    { "ecdsa", HSM_SIG_ECDSA },
};

/* Parse a scheme name from the command line. */
int hsm_sig_parse(const char *name, enum hsm_sig *out)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(sig_names) / sizeof(sig_names[0]); i++) {
        if (strcasecmp(name, sig_names[i].name) == 0) {
            *out = sig_names[i].sig;
            return 1;
        }
    }
    hsm_seterr(HE_USAGE, "signature scheme: '%s' is unknown; use rsa-pkcs1, rsa-pss or ecdsa",
               name ? name : "");
    return 0;
}

static const char *hash_check(const char *hash)
{
    static const char *ok[] = { "sha256", "sha384", "sha512" };
    size_t i;

    for (i = 0; hash != NULL && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcasecmp(hash, ok[i]) == 0)
            return ok[i];
    hsm_seterr(HE_USAGE, "signature hash: '%s' is not allowed; use sha256, sha384 or sha512",
               hash ? hash : "");
    return NULL;
}

/* Refuse a scheme the key type cannot use, naming key and scheme. */
static int scheme_check(EVP_PKEY *key, const char *label, enum hsm_sig sig, int *is_rsa)
{
    const OSSL_PROVIDER *p = EVP_PKEY_get0_provider(key);

    if (p == NULL || strcmp(OSSL_PROVIDER_get0_name(p), PROV_NAME) != 0) {
        hsm_seterr(HE_USAGE, "key: sign: not a token key; load it with hsm_key_load");
        return 0;
    }
    *is_rsa = EVP_PKEY_is_a(key, "RSA");
    if (*is_rsa && sig == HSM_SIG_ECDSA) {
        hsm_seterr(HE_POLICY, "key '%s': scheme ecdsa: an RSA key cannot sign ECDSA; use "
                   "rsa-pkcs1 or rsa-pss", label);
        return 0;
    }
    if (!*is_rsa && (sig == HSM_SIG_RSA_PSS || sig == HSM_SIG_RSA_PKCS1)) {
        hsm_seterr(HE_POLICY, "key '%s': scheme %s: an EC key cannot sign RSA; use ecdsa", label,
                   sig == HSM_SIG_RSA_PSS ? "rsa-pss" : "rsa-pkcs1");
        return 0;
    }
    return 1;
}

/* A fresh signing context for one signature with a token key (see hsm.h). */
EVP_MD_CTX *hsm_sign_ctx_new(struct hsm *h, EVP_PKEY *key, enum hsm_sig sig, const char *hash)
{
    char label[HSM_MAX_LABEL + 1] = "";
    const char *md;
    int is_rsa = 0;
    OSSL_PARAM pss[4] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, OSSL_PKEY_RSA_PAD_MODE_PSS, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_END
    };
    EVP_MD_CTX *ctx = NULL;

    hsm_err_clear();
    if (key == NULL || (md = hash_check(hash)) == NULL || !hsm_ready(h))
        goto bad;
    EVP_PKEY_get_utf8_string_param(key, PROV_PARAM_LABEL, label, sizeof(label), NULL);
    if (!scheme_check(key, label, sig, &is_rsa))
        goto bad;
    pss[0].data_size = strlen(OSSL_PKEY_RSA_PAD_MODE_PSS);
    pss[1].data_size = strlen(OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST);
    pss[2].data = (void *)md;
    pss[2].data_size = strlen(md);
    if ((ctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestSignInit_ex(ctx, NULL, md, h->libctx, PROV_PROPQ, key,
                              sig == HSM_SIG_RSA_PSS ? pss : NULL) != 1) {
        hsm_seterr_ossl(HE_SYSTEM, "key '%s': sign: cannot set up %s with %s; check the key",
                        label, sig == HSM_SIG_RSA_PSS ? "rsa-pss" : is_rsa ? "rsa-pkcs1"
                        : "ecdsa", md);
        goto bad;
    }
    return ctx;
bad:
    EVP_MD_CTX_free(ctx);
    return NULL;
}
