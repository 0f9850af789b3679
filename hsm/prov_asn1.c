/*
 * prov_asn1.c — DER the provider needs around a raw token signature: the signature
 * AlgorithmIdentifier (asked for by ASN1_item_sign_ctx through OSSL_SIGNATURE_PARAM_ALGORITHM_ID),
 * the PKCS#1 DigestInfo for CKM_RSA_PKCS, and ECDSA r||s -> DER. No hand-written DER tables.
 */
#include "hsm/prov.h"

#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* Give alg's DER to the caller. */
static int algor_der(X509_ALGOR *alg, unsigned char **der, size_t *len)
{
    unsigned char *buf = NULL;
    int n = i2d_X509_ALGOR(alg, &buf);

    if (n <= 0)
        return 0;
    *der = buf;
    *len = (size_t)n;
    return 1;
}

/* RFC 4055 3.1 RSASSA-PSS-params as an ASN1_STRING (SEQUENCE contents). */
static ASN1_STRING *pss_params(const EVP_MD *md, const EVP_MD *mgf1, int saltlen)
{
    RSA_PSS_PARAMS *pp = RSA_PSS_PARAMS_new();
    X509_ALGOR *mgfhash = X509_ALGOR_new();
    ASN1_STRING *mgfseq = NULL, *ret = NULL;

    if (pp == NULL || mgfhash == NULL)
        goto out;
    if ((pp->hashAlgorithm = X509_ALGOR_new()) == NULL ||
        (pp->maskGenAlgorithm = X509_ALGOR_new()) == NULL)
        goto out;
    X509_ALGOR_set_md(pp->hashAlgorithm, md);
    X509_ALGOR_set_md(mgfhash, mgf1);
    if ((mgfseq = ASN1_item_pack(mgfhash, ASN1_ITEM_rptr(X509_ALGOR), NULL)) == NULL ||
        !X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgfseq))
        goto out;
    mgfseq = NULL;
    /* DER: saltLength DEFAULT 20 is left out when it is 20. */
    if (saltlen != 20) {
        if ((pp->saltLength = ASN1_INTEGER_new()) == NULL ||
            !ASN1_INTEGER_set(pp->saltLength, saltlen))
            goto out;
    }
    ret = ASN1_item_pack(pp, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
out:
    ASN1_STRING_free(mgfseq);
    X509_ALGOR_free(mgfhash);
    RSA_PSS_PARAMS_free(pp);
    return ret;
}

int prov_algid_build(int is_rsa, int pss, const EVP_MD *md, const EVP_MD *mgf1, int saltlen,
                     unsigned char **der, size_t *len)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_STRING *params = NULL;
    int sigid, ok = 0;

    if (alg == NULL)
        goto out;
    if (is_rsa && pss) {
        if ((params = pss_params(md, mgf1 != NULL ? mgf1 : md, saltlen)) == NULL ||
            !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params))
            goto out;
        params = NULL;
    } else {
        if (!OBJ_find_sigid_by_algs(&sigid, EVP_MD_get_type(md),
                                    is_rsa ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey) ||
            !X509_ALGOR_set0(alg, OBJ_nid2obj(sigid), is_rsa ? V_ASN1_NULL : V_ASN1_UNDEF, NULL))
            goto out;
    }
    ok = algor_der(alg, der, len);
out:
    ASN1_STRING_free(params);
    X509_ALGOR_free(alg);
    return ok;
}

int prov_digestinfo_build(const EVP_MD *md, const unsigned char *hash, size_t hlen,
                          unsigned char **der, size_t *len)
{
    X509_SIG *di = X509_SIG_new();
    X509_ALGOR *alg;
    ASN1_OCTET_STRING *digest;
    unsigned char *buf = NULL;
    int n, ok = 0;

    if (di == NULL)
        goto out;
    X509_SIG_getm(di, &alg, &digest);
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) ||
        !ASN1_OCTET_STRING_set(digest, hash, (int)hlen))
        goto out;
    if ((n = i2d_X509_SIG(di, &buf)) <= 0)
        goto out;
    *der = buf;
    *len = (size_t)n;
    ok = 1;
out:
    X509_SIG_free(di);
    return ok;
}

int prov_ecdsa_der(const unsigned char *raw, size_t rawlen, unsigned char *out, size_t outsize,
                   size_t *outlen)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *p = out;
    int n, ok = 0;

    if (sig == NULL || rawlen == 0 || rawlen % 2 != 0)
        goto out;
    r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
    s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
    if (r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s))
        goto out;
    r = s = NULL;
    /* Minimal INTEGERs: short r/s give DER shorter than the maximum (pitfall 8). */
    n = i2d_ECDSA_SIG(sig, NULL);
    if (n <= 0 || (size_t)n > outsize || i2d_ECDSA_SIG(sig, &p) != n)
        goto out;
    *outlen = (size_t)n;
    ok = 1;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return ok;
}
