/*
 * x509ext.c — extension values shared by certificates and CRLs (see x509ext.h).
 */
#include "base/x509ext.h"
#include "base/oids.h"

#include <string.h>
#include <openssl/evp.h>

GENERAL_NAME *x509ext_uri(const char *url)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (gn == NULL || s == NULL || !ASN1_STRING_set(s, url, (int)strlen(url))) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(s);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    return gn;
}

DIST_POINT_NAME *x509ext_dp_name(const char *url)
{
    DIST_POINT_NAME *dpn = DIST_POINT_NAME_new();
    GENERAL_NAME *gn = x509ext_uri(url);

    if (dpn == NULL || gn == NULL)
        goto err;
    dpn->type = 0;                      /* fullName */
    if ((dpn->name.fullname = sk_GENERAL_NAME_new_null()) == NULL
        || !sk_GENERAL_NAME_push(dpn->name.fullname, gn))
        goto err;
    return dpn;
err:
    GENERAL_NAME_free(gn);
    DIST_POINT_NAME_free(dpn);
    return NULL;
}

CRL_DIST_POINTS *x509ext_cdp(const char *url)
{
    CRL_DIST_POINTS *cdps = sk_DIST_POINT_new_null();
    DIST_POINT *dp = DIST_POINT_new();

    if (cdps == NULL || dp == NULL || (dp->distpoint = x509ext_dp_name(url)) == NULL
        || !sk_DIST_POINT_push(cdps, dp)) {
        DIST_POINT_free(dp);
        sk_DIST_POINT_pop_free(cdps, DIST_POINT_free);
        return NULL;
    }
    return cdps;
}

AUTHORITY_INFO_ACCESS *x509ext_aia_ca_issuers(const char *url)
{
    AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
    ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();

    if (aia == NULL || ad == NULL)
        goto err;
    GENERAL_NAME_free(ad->location);
    if ((ad->location = x509ext_uri(url)) == NULL)
        goto err;
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(NID_ad_ca_issuers);
    if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
        goto err;
    return aia;
err:
    ACCESS_DESCRIPTION_free(ad);
    sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
    return NULL;
}

AUTHORITY_KEYID *x509ext_akid_of(X509 *issuer)
{
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(issuer);
    AUTHORITY_KEYID *ak;

    if (skid == NULL || (ak = AUTHORITY_KEYID_new()) == NULL)
        return NULL;
    if ((ak->keyid = ASN1_OCTET_STRING_dup(skid)) == NULL) {
        AUTHORITY_KEYID_free(ak);
        return NULL;
    }
    return ak;
}

ASN1_OCTET_STRING *x509ext_skid_of(const X509 *x)
{
    const ASN1_BIT_STRING *pk = X509_get0_pubkey_bitstr(x);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ASN1_OCTET_STRING *os;

    if (pk == NULL || !EVP_Digest(pk->data, (size_t)pk->length, md, &mdlen, EVP_sha1(), NULL))
        return NULL;
    if ((os = ASN1_OCTET_STRING_new()) != NULL && !ASN1_OCTET_STRING_set(os, md, (int)mdlen)) {
        ASN1_OCTET_STRING_free(os);
        return NULL;
    }
    return os;
}

X509_EXTENSION *x509ext_raw(const char *oid, const unsigned char *der, int len)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;

    if (o != NULL && os != NULL && len > 0 && ASN1_OCTET_STRING_set(os, der, len))
        ext = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
    ASN1_OBJECT_free(o);
    ASN1_OCTET_STRING_free(os);
    return ext;
}

X509_EXTENSION *x509ext_ca_version(unsigned long value)
{
    ASN1_INTEGER *v = ASN1_INTEGER_new();
    unsigned char *der = NULL;
    X509_EXTENSION *ext = NULL;
    int n;

    if (v != NULL && ASN1_INTEGER_set_uint64(v, value) && (n = i2d_ASN1_INTEGER(v, &der)) > 0)
        ext = x509ext_raw(OID_MS_CA_VERSION, der, n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(v);
    return ext;
}
