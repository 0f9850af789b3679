/*
 * import.c — the checks on a CRL made by a parent CA that lives on another machine, before an
 * issuing machine publishes it (`crl import`): one full v2 CRL (DER or PEM, nothing after it),
 * its issuer name equal to the parent's subject, its AKID equal to the parent's SKID, its
 * signature made by the parent's key over its own TBSCertList bytes (RFC 5280 6.3.3 (f), (g)),
 * a CRL number (5.2.3) and a nextUpdate (5.1.2.5). Time and ordering rules need the store and
 * the clock: ca/ applies them to what crl_import_parse hands back.
 */
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <string.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#define OID_MS_NEXT_CRL_PUBLISH "1.3.6.1.4.1.311.21.4"

static time_t asn1_to_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    return timegm(&tm);
}

/* The Microsoft Next CRL Publish extension (a Time), or 0 when absent or malformed. */
static time_t next_publish_of(const X509_CRL *crl)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(OID_MS_NEXT_CRL_PUBLISH, 1);
    int i = obj ? X509_CRL_get_ext_by_OBJ(crl, obj, -1) : -1;
    const ASN1_OCTET_STRING *os;
    const unsigned char *p;
    ASN1_TIME *t = NULL;
    time_t when = 0;

    ASN1_OBJECT_free(obj);
    if (i < 0)
        return 0;
    os = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, i));
    p = os->data;
    if ((t = d2i_ASN1_TIME(NULL, &p, os->length)) != NULL && p == os->data + os->length)
        when = asn1_to_time(t);
    ASN1_TIME_free(t);
    return when;
}

/* The TBSCertList TLV inside the CRL's DER (the outer SEQUENCE's first element). */
static int tbs_locate(const unsigned char *der, size_t len, size_t *off, size_t *tlen)
{
    const unsigned char *p = der, *q;
    long l;
    int tag, cls;

    if (ASN1_get_object(&p, &l, &tag, &cls, (long)len) & 0x80 || tag != V_ASN1_SEQUENCE)
        return 0;
    q = p;
    if (ASN1_get_object(&p, &l, &tag, &cls, (long)(len - (size_t)(q - der))) & 0x80 ||
        tag != V_ASN1_SEQUENCE)
        return 0;
    *off = (size_t)(q - der);
    *tlen = (size_t)(p - q) + (size_t)l;
    return *off + *tlen <= len;
}

static int info_fill(X509_CRL *crl, const char *what, struct crl_import_info *out)
{
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    int n = i2d_X509_CRL(crl, &out->der), ok = 0;

    if (n <= 0 || !tbs_locate(out->der, (size_t)n, &out->tbs_off, &out->tbs_len)) {
        crl_seterr_ossl(CE_INPUT, "%s: RFC 5280 5.1: cannot encode the CRL; republish the file",
                        what);
        goto out;
    }
    out->der_len = (size_t)n;
    if (num == NULL || !ASN1_INTEGER_get_uint64(&out->number, num) ||
        out->number > (uint64_t)INT64_MAX) {
        crl_seterr(CE_POLICY, "%s: RFC 5280 5.2.3: %s; the parent CA must issue CRLs with a "
                   "CRL number", what, num ? "CRL number out of range" : "no CRL number");
        goto out;
    }
    if (X509_CRL_get0_nextUpdate(crl) == NULL) {
        crl_seterr(CE_POLICY, "%s: RFC 5280 5.1.2.5: no nextUpdate; a CRL without one cannot be "
                   "judged fresh; have the parent CA issue one with nextUpdate", what);
        goto out;
    }
    out->this_update = asn1_to_time(X509_CRL_get0_lastUpdate(crl));
    out->next_update = asn1_to_time(X509_CRL_get0_nextUpdate(crl));
    out->next_publish = next_publish_of(crl);
    ok = EVP_Digest(out->der, out->der_len, out->sha256, NULL, EVP_sha256(), NULL) > 0;
out:
    ASN1_INTEGER_free(num);
    return ok;
}

/* See crl.h. */
X509_CRL *crl_import_parse(const unsigned char *buf, size_t len, const char *what,
                           struct crl_import_info *out)
{
    X509_CRL *crl;

    memset(out, 0, sizeof(*out));
    crl_err_clear();
    if ((crl = crl_parse(buf, len, what)) == NULL)
        return NULL;
    if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2) {
        crl_seterr(CE_POLICY, "%s: RFC 5280 5.1.2.1: not a v2 CRL; a v1 CRL has no number, so "
                   "its order cannot be checked; have the parent CA issue v2 CRLs", what);
    } else if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        crl_seterr(CE_POLICY, "%s: RFC 5280 5.2.4: a delta CRL; import the parent's full CRL "
                   "(the one its certificates' CDP names)", what);
    } else if (info_fill(crl, what, out)) {
        return crl;
    }
    X509_CRL_free(crl);
    crl_import_info_clear(out);
    return NULL;
}

/* See crl.h. */
int crl_import_check(X509_CRL *crl, X509 *parent, const char *what)
{
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(parent);
    AUTHORITY_KEYID *ak = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    EVP_PKEY *pub = X509_get0_pubkey(parent);
    int ok = 0;

    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(parent)) != 0) {
        crl_seterr(CE_POLICY, "%s: RFC 5280 6.3.3 (b): wrong issuer: the CRL's issuer is not the "
                   "parent CA's subject; import the CRL of the parent that signed the issuing "
                   "CA", what);
    } else if (ak == NULL || ak->keyid == NULL || skid == NULL ||
               ASN1_OCTET_STRING_cmp(ak->keyid, skid) != 0) {
        crl_seterr(CE_POLICY, "%s: RFC 5280 5.2.1: %s; import a CRL signed by the key that "
                   "signed the issuing CA", what, ak == NULL || ak->keyid == NULL ?
                   "no authority key identifier" :
                   "the authority key identifier is not the parent's subject key identifier");
    } else if (pub == NULL || X509_CRL_verify(crl, pub) != 1) {
        crl_seterr_ossl(CE_POLICY, "%s: RFC 5280 6.3.3 (g): bad signature: the CRL does not "
                        "verify with the parent CA's public key (altered or not the parent's); "
                        "carry a fresh copy from the root machine", what);
    } else {
        ok = 1;
    }
    AUTHORITY_KEYID_free(ak);
    return ok;
}

/* See crl.h. */
void crl_import_info_clear(struct crl_import_info *i)
{
    if (i == NULL)
        return;
    OPENSSL_free(i->der);
    memset(i, 0, sizeof(*i));
}
