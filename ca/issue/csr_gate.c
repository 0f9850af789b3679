/*
 * csr_gate.c — the request gate: what ca/issue/csr.c checks in a certificate request besides parsing
 * it (README "Key gate and request gate"):
 *   - strict DER: the request, and every requested extension value, in DER (X.690 10); after
 *     decoding, the request re-encodes to exactly its own bytes;
 *   - the signature algorithm from an allow-list: RSA PKCS#1 v1.5 and RSASSA-PSS with SHA-256/
 *     384/512, ECDSA with SHA-256/384/512 (RFC 4055, RFC 5758); SHA-1 flagged for the template
 *     to decide; MD2, MD4, MD5 and anything else refused;
 *   - subject strings against their ASN.1 type: PrintableString charset (X.680 41.4), IA5String
 *     for emailAddress and domainComponent (RFC 5280 4.1.2.6, RFC 4519 2.4), ASCII in IA5String.
 * Refusals are reported here: "not DER" and bad strings are malformed input (EXIT_INPUT), a
 * signature algorithm off the list is policy (EXIT_POLICY).
 */
#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "templates/template.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define MAX_WHY 256

static const char FIX_REGEN[] = "regenerate the request";

/* The raw request, before OpenSSL decodes it (it accepts BER). */
int csr_gate_der(const unsigned char *der, size_t len, const char *src)
{
    char why[MAX_WHY];

    if (der_strict_check(der, len, why, sizeof(why)))
        return 0;
    report("%s: request: not DER: %s (X.690 10, RFC 2986); %s in DER", src, why, FIX_REGEN);
    return EXIT_INPUT;
}

/* After decoding: the request re-encodes to its own bytes, and each extension value is DER. */
int csr_gate_reencode(X509_REQ *req, const unsigned char *der, size_t len,
                      const STACK_OF(X509_EXTENSION) *exts, const char *src)
{
    unsigned char *re = NULL;
    char why[MAX_WHY];
    int n = i2d_X509_REQ(req, &re), same = n > 0 && (size_t)n == len && !memcmp(re, der, len);

    OPENSSL_free(re);
    ERR_clear_error();
    if (!same) {
        report("%s: request: not DER: it does not re-encode to its own bytes (X.690 10); %s in "
               "DER", src, FIX_REGEN);
        return EXIT_INPUT;
    }
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(sk_X509_EXTENSION_value(exts, i));
        char oid[80];
        if (!der_strict_check(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), why,
                              sizeof(why))) {
            OBJ_obj2txt(oid, sizeof(oid),
                        X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i)), 1);
            report("%s: requested extension %s: not DER: %s (X.690 10, RFC 5280 4.2); %s", src,
                   oid, why, FIX_REGEN);
            return EXIT_INPUT;
        }
    }
    return 0;
}

static int hash_ok(int nid)
{
    return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* RSASSA-PSS parameters (RFC 4055 3.1): SHA-2 hash, MGF1 with the same hash. */
static int pss_ok(const void *pval, int ptype)
{
    const ASN1_STRING *seq = pval;
    const unsigned char *p;
    RSA_PSS_PARAMS *pss;
    int ok = 0;

    if (ptype != V_ASN1_SEQUENCE || seq == NULL)
        return 0;
    p = ASN1_STRING_get0_data(seq);
    if ((pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq))) == NULL) {
        ERR_clear_error();
        return 0;
    }
    if (pss->hashAlgorithm != NULL && pss->maskGenAlgorithm != NULL && pss->maskHash != NULL) {
        int h = OBJ_obj2nid(pss->hashAlgorithm->algorithm);
        ok = hash_ok(h) && OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) == NID_mgf1 &&
             OBJ_obj2nid(pss->maskHash->algorithm) == h;
    }
    RSA_PSS_PARAMS_free(pss);
    return ok;
}

/*
 * The request's signature algorithm against the allow-list (top of file). *sha1 = 1 when it is
 * SHA-1 based (the template decides: key.allow_sha1_requests). 0 or EXIT_POLICY, reported.
 */
int csr_gate_sigalg(const X509_REQ *req, const char *src, int *sha1)
{
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    const void *pval = NULL;
    char oid[80];
    int ptype = V_ASN1_UNDEF, nid;

    X509_REQ_get0_signature(req, NULL, &alg);
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    nid = OBJ_obj2nid(obj);
    *sha1 = 0;
    switch (nid) {
    case NID_sha256WithRSAEncryption: case NID_sha384WithRSAEncryption:
    case NID_sha512WithRSAEncryption:
        if (ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF)
            return 0;
        break;
    case NID_ecdsa_with_SHA256: case NID_ecdsa_with_SHA384: case NID_ecdsa_with_SHA512:
        if (ptype == V_ASN1_UNDEF)
            return 0;
        break;
    case NID_rsassaPss:
        if (pss_ok(pval, ptype))
            return 0;
        report("%s: request signature: RSASSA-PSS parameters must name SHA-256, SHA-384 or "
               "SHA-512 with MGF1 over the same hash (RFC 4055 3.1); %s", src, FIX_REGEN);
        return EXIT_POLICY;
    case NID_sha1WithRSAEncryption: case NID_ecdsa_with_SHA1:
        *sha1 = 1;
        return 0;
    case NID_md2WithRSAEncryption: case NID_md4WithRSAEncryption:
    case NID_md5WithRSAEncryption:
        OBJ_obj2txt(oid, sizeof(oid), obj, 1);
        report("%s: request signature: %s (%s) is never accepted: MD2, MD4 and MD5 are broken "
               "(RFC 6151); %s with SHA-256", src, OBJ_nid2sn(nid), oid, FIX_REGEN);
        return EXIT_POLICY;
    default:
        OBJ_obj2txt(oid, sizeof(oid), obj, 1);
        report("%s: request signature: algorithm %s is not on the allow-list (RSA PKCS#1 v1.5 or "
               "PSS, ECDSA, with SHA-256/384/512); %s", src, oid, FIX_REGEN);
        return EXIT_POLICY;
    }
    report("%s: request signature: %s with parameters it must not have (RFC 4055 5, RFC 5758 "
           "3.2); %s", src, OBJ_nid2sn(nid), FIX_REGEN);
    return EXIT_POLICY;
}

static int printable_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr(" '()+,-./:=?", c) != NULL;
}

/* One attribute value against its ASN.1 string type. NULL ok, or the problem. */
static const char *string_problem(int nid, const ASN1_STRING *s)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s), type = ASN1_STRING_type(s);

    if ((nid == NID_pkcs9_emailAddress || nid == NID_domainComponent) && type != V_ASN1_IA5STRING)
        return "must be an IA5String (RFC 5280 4.1.2.6, RFC 4519 2.4)";
    for (int i = 0; i < n; i++) {
        if (type == V_ASN1_PRINTABLESTRING && (d[i] == 0 || !printable_char(d[i])))
            return "is a PrintableString with a character outside its set (X.680 41.4)";
        if (type == V_ASN1_IA5STRING && d[i] >= 0x80)
            return "is an IA5String with a non-ASCII octet (X.680 41.4)";
    }
    return NULL;
}

/* Every subject attribute value against its ASN.1 type. 0 or EXIT_INPUT, reported. */
int csr_gate_strings(const X509_NAME *name, const char *src)
{
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
        const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(ne);
        const char *why = string_problem(OBJ_obj2nid(o), X509_NAME_ENTRY_get_data(ne));
        char oid[80];

        if (why == NULL)
            continue;
        OBJ_obj2txt(oid, sizeof(oid), o, 0);
        report("%s: subject: attribute %s %s; %s", src, oid, why, FIX_REGEN);
        return EXIT_INPUT;
    }
    return 0;
}
