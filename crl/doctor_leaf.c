/*
 * doctor_leaf.c — leaf checks: EKU fit for EAP-TLS client authentication, and the SID strong
 * mapping a certificate meant for AD logon needs since KB5014754 full enforcement (MS-WCCE
 * 2.2.2.7.7.4, MS-DTYP 2.4.2.1). The SID extension is parsed with OpenSSL's GENERAL_NAMES template.
 */
#include "base/oids.h"
#include "base/sid.h"
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define RULE_SID "KB5014754 strong certificate mapping"
#define FIX_SID "reissue with offca sign --template <a logon template> (it adds the SID), or map " \
    "the account by hand: set altSecurityIdentities with offca mapping"

/* s[0..len) is a SID string (MS-DTYP 2.4.2.1, the one parser in base/sid.c). */
int doctor_sid_check(const char *s, size_t len)
{
    char buf[MAX_SID_CHARS + 1];

    if (len > MAX_SID_CHARS || memchr(s, '\0', len) != NULL)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return sid_check(buf);
}

/* The SID extension: -1 absent, 1 well-formed, 0 malformed (why in why). */
static int sid_ext_check(X509 *x, char *why, size_t len)
{
    ASN1_OBJECT *o = OBJ_txt2obj(OID_NTDS_CA_SECURITY_EXT, 1), *want = OBJ_txt2obj(OID_NTDS_OBJECTSID, 1);
    int loc = o ? X509_get_ext_by_OBJ(x, o, -1) : -1, rc = 0;
    GENERAL_NAMES *gns = NULL;
    ASN1_OCTET_STRING *v;
    const unsigned char *p, *q;
    GENERAL_NAME *gn;

    if (loc < 0) {
        rc = -1;
        goto out;
    }
    v = X509_EXTENSION_get_data(X509_get_ext(x, loc));
    p = q = ASN1_STRING_get0_data(v);
    gns = d2i_GENERAL_NAMES(NULL, &p, ASN1_STRING_length(v));
    if (gns == NULL || p != q + ASN1_STRING_length(v) || sk_GENERAL_NAME_num(gns) != 1
        || (gn = sk_GENERAL_NAME_value(gns, 0))->type != GEN_OTHERNAME
        || OBJ_cmp(gn->d.otherName->type_id, want) != 0
        || gn->d.otherName->value->type != V_ASN1_OCTET_STRING) {
        snprintf(why, len, "the SID extension %s is not one otherName %s holding an OCTET "
                 "STRING", OID_NTDS_CA_SECURITY_EXT, OID_NTDS_OBJECTSID);
        goto out;
    }
    v = gn->d.otherName->value->value.octet_string;
    if (!doctor_sid_check((const char *)ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v))) {
        snprintf(why, len, "the SID extension holds '%.*s', which is not a SID string "
                 "(S-1-5-21-...)", ASN1_STRING_length(v) > 200 ? 200 : ASN1_STRING_length(v),
                 (const char *)ASN1_STRING_get0_data(v));
        goto out;
    }
    rc = 1;
out:
    ERR_clear_error();
    ASN1_OBJECT_free(o);
    ASN1_OBJECT_free(want);
    GENERAL_NAMES_free(gns);
    return rc;
}

/* SAN: *upn = has a UPN otherName; return SID URL state -1 absent, 1 good, 0 malformed. */
static int san_scan(X509 *x, int *upn, char *why, size_t len)
{
    GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t plen = strlen(SID_URL_PREFIX);
    int i, rc = -1;

    *upn = 0;
    for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);
        const char *u;
        int n;

        if (gn->type == GEN_OTHERNAME && OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn)
            *upn = 1;
        if (gn->type != GEN_URI)
            continue;
        u = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
        n = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
        if ((size_t)n < plen || strncmp(u, SID_URL_PREFIX, plen) != 0 || rc == 1)
            continue;
        rc = doctor_sid_check(u + plen, (size_t)n - plen);
        if (!rc)
            snprintf(why, len, "the SAN URL '%.*s' does not end in a SID string", n > 240 ? 240 : n,
                     u);
    }
    GENERAL_NAMES_free(san);
    return rc;
}

static int eku_has_smartcard(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    int i, found = 0;

    for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
        found |= OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_ms_smartcard_login;
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return found;
}

/* Leaf-only checks (see the file comment); findings go to r. */
void doctor_leaf_check(struct doctor_report *r, X509 *leaf, const char *label)
{
    char why_ext[512] = "", why_url[512] = "";
    int upn, ext, url, logon;

    if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE)
        && !(X509_get_extended_key_usage(leaf) & (XKU_SSL_CLIENT | XKU_ANYEKU)))
        doctor_add(r, DOCTOR_WARN, label, "EKU for EAP-TLS (RFC 5280 4.2.1.12)",
                   "reissue with a template whose EKU includes Client Authentication "
                   "(1.3.6.1.5.5.7.3.2)",
                   "the EKU lacks clientAuth: not usable for EAP-TLS client authentication");
    ext = sid_ext_check(leaf, why_ext, sizeof(why_ext));
    url = san_scan(leaf, &upn, why_url, sizeof(why_url));
    logon = upn || eku_has_smartcard(leaf);
    if (ext == 0)
        doctor_add(r, DOCTOR_ERROR, label, RULE_SID, FIX_SID,
                   "%s (MS-WCCE 2.2.2.7.7.4: SID extension); "
                   "the KDC cannot map it strongly", why_ext);
    if (url == 0)
        doctor_add(r, DOCTOR_ERROR, label, RULE_SID, FIX_SID, "%s; the KDC cannot map it "
                   "strongly", why_url);
    if (logon && ext != 1 && url != 1 && ext != 0 && url != 0)
        doctor_add(r, DOCTOR_ERROR, label, RULE_SID, FIX_SID,
                   "meant for AD logon (%s) but carries no SID (extension %s or SAN URL "
                   "tag:microsoft.com,2022-09-14:sid:...): since KB5014754 full enforcement "
                   "the domain controller refuses the logon", upn ? "UPN in the SAN"
                   : "Smart Card Logon EKU", OID_NTDS_CA_SECURITY_EXT);
}
