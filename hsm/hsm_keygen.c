/*
 * hsm_keygen.c — key pair generation inside the token with explicit templates (PKCS#11 2.40
 * 4.8/4.9; SoftHSM would otherwise default CKA_WRAP/CKA_UNWRAP to true). The private key is
 * sensitive, never extractable, sign-only.
 */
#include "hsm/hsm_err.h"
#include "hsm/hsm_int.h"
#include "hsm/p11.h"

#include <string.h>

#include <openssl/objects.h>
#include <openssl/rand.h>

#define KEYGEN_ID_LEN 16           /* random CKA_ID bytes shared by the pair */
#define MAX_EC_PARAMS 32           /* DER named-curve OID */

struct keygen_alg { const char *name; int is_rsa; CK_ULONG bits; int nid; };

static const struct keygen_alg keygen_algs[] = {
    { "rsa2048", 1, 2048, NID_undef },
    { "rsa3072", 1, 3072, NID_undef },
    { "rsa4096", 1, 4096, NID_undef },
    { "p256", 0, 0, NID_X9_62_prime256v1 },
    { "p384", 0, 0, NID_secp384r1 },
};

static const struct keygen_alg *keygen_alg_find(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(keygen_algs) / sizeof(keygen_algs[0]); i++)
        if (strcmp(keygen_algs[i].name, name) == 0)
            return &keygen_algs[i];
    hsm_seterr(HE_USAGE, "key gen: algorithm: '%s' is not supported; use rsa2048, rsa3072, "
               "rsa4096, p256 or p384", name ? name : "");
    return NULL;
}

/* Refuse an empty, over-long or already used CKA_LABEL (any object class). */
static int label_free_check(struct hsm *h, const char *label)
{
    CK_ATTRIBUTE t[1] = { { CKA_LABEL, (void *)label, 0 } };
    CK_OBJECT_HANDLE o;
    size_t n = 0;

    if (label == NULL || *label == '\0' || strlen(label) > HSM_MAX_LABEL) {
        hsm_seterr(HE_USAGE, "key gen: label: must be 1..%d bytes; choose another label",
                   HSM_MAX_LABEL);
        return 0;
    }
    t[0].ulValueLen = strlen(label);
    if (!p11_find(h->p11, t, 1, &o, 1, &n))
        return 0;
    if (n != 0) {
        hsm_seterr(HE_POLICY, "key '%s': CKA_LABEL: already exists in token '%s'; choose another "
                   "label", label, p11_get0_label(h->p11));
        return 0;
    }
    return 1;
}

static int keygen_run(struct hsm *h, const struct keygen_alg *a, const char *label,
                      const unsigned char *id, CK_BBOOL extractable)
{
    static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    static CK_BYTE e65537[] = { 0x01, 0x00, 0x01 };
    CK_ULONG bits = a->bits;
    unsigned char ecp[MAX_EC_PARAMS], *q = ecp;
    CK_MECHANISM mech = { a->is_rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_ATTRIBUTE pub[9] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_VERIFY, &yes, 1 }, { CKA_ENCRYPT, &no, 1 },
        { CKA_WRAP, &no, 1 }, { CKA_DERIVE, &no, 1 },
        { CKA_LABEL, (void *)label, strlen(label) }, { CKA_ID, (void *)id, KEYGEN_ID_LEN },
    };
    CK_ATTRIBUTE priv[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
        { CKA_SIGN, &yes, 1 }, { CKA_EXTRACTABLE, &extractable, 1 }, { CKA_DECRYPT, &no, 1 },
        { CKA_UNWRAP, &no, 1 }, { CKA_DERIVE, &no, 1 },
        { CKA_LABEL, (void *)label, strlen(label) }, { CKA_ID, (void *)id, KEYGEN_ID_LEN },
    };
    CK_ULONG npub = 7;
    int n;

    if (a->is_rsa) {
        pub[npub++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof(bits) };
        pub[npub++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537) };
    } else {
        /* CKA_EC_PARAMS: DER of the named curve's OID (PKCS#11 2.40 2.3.3). */
        n = i2d_ASN1_OBJECT(OBJ_nid2obj(a->nid), NULL);
        if (n <= 0 || n > (int)sizeof(ecp) || i2d_ASN1_OBJECT(OBJ_nid2obj(a->nid), &q) != n)
            return 0;
        pub[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, ecp, (CK_ULONG)n };
    }
    return p11_keypair_gen(h->p11, &mech, pub, npub, priv, sizeof(priv) / sizeof(priv[0]));
}

int keygen_with(struct hsm *h, const char *label, const char *alg, int extractable,
                struct hsm_key_info *info)
{
    const struct keygen_alg *a;
    unsigned char id[KEYGEN_ID_LEN];
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, sizeof(id) } };
    CK_OBJECT_HANDLE o;
    size_t n = 0;

    hsm_err_clear();
    if ((a = keygen_alg_find(alg)) == NULL || !hsm_ready(h) || !label_free_check(h, label))
        return 0;
    if (RAND_bytes_ex(h->libctx, id, sizeof(id), 0) != 1) {
        hsm_seterr_ossl(HE_SYSTEM, "key '%s': CKA_ID: no random bytes; check the RNG", label);
        return 0;
    }
    if (!keygen_run(h, a, label, id, extractable ? CK_TRUE : CK_FALSE)) {
        hsm_err_prefix("key '%s'", label);
        return 0;
    }
    if (!p11_find(h->p11, t, 2, &o, 1, &n))
        return 0;
    if (n != 1) {
        hsm_seterr(HE_SYSTEM, "key '%s': C_GenerateKeyPair: the new private key is not found; "
                   "check the token", label);
        return 0;
    }
    return info == NULL || key_describe(h, o, info, NULL);
}

/* Generate a sign-only key pair in the token (templates in hsm.h). */
int hsm_keygen(struct hsm *h, const char *label, const char *alg, struct hsm_key_info *info)
{
    return keygen_with(h, label, alg, 0, info);
}
