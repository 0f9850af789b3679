/*
 * msfmt.c — the Microsoft encodings other than the SID (MS-WCCE 2.2.2.7.7.1-3, KB5014754): the
 * UPN otherName, the template name and template information extensions, application policies, and
 * the altSecurityIdentities strong-mapping strings printed for the operator.
 */
#include "base/utf8.h"
#include "base/x509ext.h"
#include "templates/template.h"
#include "templates/tmpl_err.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#define MAX_UPN_CHARS 1024          /* AD userPrincipalName rangeUpper */
#define MAX_TEMPLATE_NAME_CHARS 64  /* AD pKICertificateTemplate cn rangeUpper */
#define MAX_TEMPLATE_VERSION 0xffffffffL /* DWORD in the AD template object */
#define MAX_APP_POLICIES 64
#define MAX_FOREIGN_SERIAL_BYTES 64 /* any CA's serial, longer than RFC 5280 allows */
#define SHA1_LEN 20

/* Template information v2: SEQUENCE { templateID OID, majorVersion INTEGER OPTIONAL,
 * minorVersion INTEGER OPTIONAL } (MS-WCCE 2.2.2.7.7.2). */
typedef struct {
    ASN1_OBJECT *id;
    ASN1_INTEGER *major;
    ASN1_INTEGER *minor;
} MS_TMPL_INFO;

ASN1_SEQUENCE(MS_TMPL_INFO) = {
    ASN1_SIMPLE(MS_TMPL_INFO, id, ASN1_OBJECT),
    ASN1_OPT(MS_TMPL_INFO, major, ASN1_INTEGER),
    ASN1_OPT(MS_TMPL_INFO, minor, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(MS_TMPL_INFO)

/* A TE_SYSTEM message about obj, with the OpenSSL error queue (drained). */
static void ms_ossl_fail(const char *obj)
{
    tmpl_seterr_ossl(TE_SYSTEM, "%s: encoding failed; this is a bug or out of memory, report it",
                     obj);
}


/* Strict dotted OID: at least two arcs, first 0-2, no leading zeros, digits and dots only. */
static int ms_oid_ok(const char *s)
{
    size_t i, arcs = 0, digits = 0;

    if (s == NULL || strlen(s) > MAX_OID_CHARS || s[0] < '0' || s[0] > '2' || s[1] != '.')
        return 0;
    for (i = 0;; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (digits == 1 && s[i - 1] == '0')
                return 0;
            digits++;
        } else if (s[i] == '.' || s[i] == '\0') {
            if (digits == 0)
                return 0;
            arcs++;
            digits = 0;
            if (s[i] == '\0')
                break;
        } else {
            return 0;
        }
    }
    return arcs >= 2;
}

/* Wrap DER bytes as a non-critical extension with the given dotted OID. */
/* A non-critical extension of oid holding der (base/x509ext.c); obj names it in the message. */
static X509_EXTENSION *ms_ext(const char *oid, const unsigned char *der, int len, const char *obj)
{
    X509_EXTENSION *ext = x509ext_raw(oid, der, len);

    if (ext == NULL)
        ms_ossl_fail(obj);
    return ext;
}

/* UPN syntax: valid UTF-8, 1..MAX_UPN_CHARS characters, one '@' with text on both sides, no
 * spaces or control characters. */
static int ms_upn_check(const unsigned char *u, size_t len)
{
    const char *problem = NULL;
    const unsigned char *at = memchr(u, '@', len);
    size_t i, chars = 0;
    unsigned long cp;
    int n;

    for (i = 0; i < len && problem == NULL; i += (size_t)n, chars++) {
        if ((n = utf8_next(u + i, len - i, &cp)) == 0)
            problem = "is not valid UTF-8";
        else if (cp <= 0x20 || cp == 0x7f)
            problem = "contains a space or control character";
    }
    if (problem == NULL && (len == 0 || chars > MAX_UPN_CHARS))
        problem = "must be 1 to 1024 characters";
    if (problem == NULL && (at == NULL || at == u || at == u + len - 1
                            || memchr(at + 1, '@', len - (size_t)(at - u) - 1) != NULL))
        problem = "must be user@suffix with exactly one '@'";
    if (problem != NULL) {
        tmpl_seterr(TE_INPUT, "UPN '%.*s': MS-WCCE userPrincipalName: %s; use the account's "
                    "userPrincipalName (Get-ADUser NAME | select UserPrincipalName)",
                    (int)(len > 80 ? 80 : len), (const char *)u, problem);
        return 0;
    }
    return 1;
}

/* UPN otherName 1.3.6.1.4.1.311.20.2.3 with value [0] EXPLICIT UTF8String (the [0] EXPLICIT comes
 * from OpenSSL's OTHERNAME template). Caller frees with GENERAL_NAME_free. NULL + message. */
GENERAL_NAME *ms_upn_name_build(const char *upn)
{
    GENERAL_NAME *gen = NULL, *ret = NULL;
    ASN1_OBJECT *oid = NULL;
    ASN1_TYPE *val = NULL;
    ASN1_UTF8STRING *str = NULL;

    if (upn == NULL || !ms_upn_check((const unsigned char *)upn, strlen(upn))) {
        if (upn == NULL)
            tmpl_seterr(TE_INPUT, "UPN: missing; give upn:user@suffix");
        return NULL;
    }
    if ((gen = GENERAL_NAME_new()) == NULL || (oid = OBJ_txt2obj(OID_MS_UPN, 1)) == NULL
        || (val = ASN1_TYPE_new()) == NULL || (str = ASN1_UTF8STRING_new()) == NULL
        || !ASN1_STRING_set(str, upn, (int)strlen(upn))) {
        ms_ossl_fail("UPN otherName");
        goto out;
    }
    ASN1_TYPE_set(val, V_ASN1_UTF8STRING, str);
    str = NULL;
    if (!GENERAL_NAME_set0_othername(gen, oid, val)) {
        ms_ossl_fail("UPN otherName");
        goto out;
    }
    oid = NULL;
    val = NULL;
    ret = gen;
    gen = NULL;
out:
    ASN1_UTF8STRING_free(str);
    ASN1_TYPE_free(val);
    ASN1_OBJECT_free(oid);
    GENERAL_NAME_free(gen);
    return ret;
}

/* 1 and the UPN in out when gn is a UPN otherName; 0 when gn is something else; -1 (message set)
 * when it is a UPN otherName whose value is not a UTF8String, fails the UPN syntax, or does not
 * fit in out. */
int ms_upn_name_parse(const GENERAL_NAME *gn, char *out, size_t outlen)
{
    ASN1_OBJECT *oid;
    const ASN1_TYPE *val;
    size_t len;
    int is_upn;

    if (gn == NULL || gn->type != GEN_OTHERNAME || (oid = OBJ_txt2obj(OID_MS_UPN, 1)) == NULL)
        return 0;
    is_upn = OBJ_cmp(gn->d.otherName->type_id, oid) == 0;
    ASN1_OBJECT_free(oid);
    if (!is_upn)
        return 0;
    val = gn->d.otherName->value;
    if (val == NULL || val->type != V_ASN1_UTF8STRING) {
        tmpl_seterr(TE_INPUT, "UPN otherName 1.3.6.1.4.1.311.20.2.3: szOID_NT_PRINCIPAL_NAME: "
                    "the value is not a UTF8String; request the UPN as [0] EXPLICIT UTF8String");
        return -1;
    }
    len = (size_t)ASN1_STRING_length(val->value.utf8string);
    if (!ms_upn_check(ASN1_STRING_get0_data(val->value.utf8string), len))
        return -1;
    if (len + 1 > outlen) {
        tmpl_seterr(TE_SYSTEM, "UPN otherName: output buffer of %zu bytes is too small; pass "
                    "at least %zu", outlen, len + 1);
        return -1;
    }
    memcpy(out, ASN1_STRING_get0_data(val->value.utf8string), len);
    out[len] = '\0';
    return 1;
}

/* UTF-8 -> UCS-2 big-endian into ucs (2*MAX_TEMPLATE_NAME_CHARS bytes); its length or -1. */
static int ms_bmp_encode(const char *name, unsigned char *ucs)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t len = strlen(name), i, chars = 0;
    unsigned long cp;
    int n;

    for (i = 0; i < len; i += (size_t)n) {
        if ((n = utf8_next(s + i, len - i, &cp)) == 0 || cp > 0xffff || cp < 0x20
            || cp == 0x7f || chars == MAX_TEMPLATE_NAME_CHARS)
            return -1;
        ucs[2 * chars] = (unsigned char)(cp >> 8);
        ucs[2 * chars + 1] = (unsigned char)cp;
        chars++;
    }
    return chars == 0 ? -1 : (int)(2 * chars);
}

/* Template name v1 (1.3.6.1.4.1.311.20.2), non-critical, extnValue a bare BMPString as real
 * AD CS certificates carry (MS-WCCE 2.2.2.7.7.1). Caller frees. NULL + message. */
X509_EXTENSION *ms_template_name_build(const char *name)
{
    unsigned char ucs[2 * MAX_TEMPLATE_NAME_CHARS], *der = NULL;
    ASN1_BMPSTRING *bmp = NULL;
    X509_EXTENSION *ext = NULL;
    int n, derlen;

    if (name == NULL || (n = ms_bmp_encode(name, ucs)) < 0) {
        tmpl_seterr(TE_INPUT, "template name '%.80s': MS-WCCE 2.2.2.7.7.1: must be 1 to 64 "
                    "printable characters of the Basic Multilingual Plane in valid UTF-8; use "
                    "the template's short name (cn) as shown by certutil -template",
                    name == NULL ? "" : name);
        return NULL;
    }
    if ((bmp = ASN1_BMPSTRING_new()) == NULL || !ASN1_STRING_set(bmp, ucs, n)
        || (derlen = i2d_ASN1_BMPSTRING(bmp, &der)) <= 0) {
        ms_ossl_fail("template name extension");
        goto out;
    }
    ext = ms_ext(OID_MS_TEMPLATE_NAME, der, derlen, "template name extension");
out:
    OPENSSL_free(der);
    ASN1_BMPSTRING_free(bmp);
    return ext;
}

/* Template information v2 (1.3.6.1.4.1.311.21.7), non-critical: { templateID, major, minor },
 * both versions always present. oid is the template's dotted OID; versions 0..4294967295. */
X509_EXTENSION *ms_template_info_build(const char *oid, long major, long minor)
{
    MS_TMPL_INFO *info = NULL;
    unsigned char *der = NULL;
    X509_EXTENSION *ext = NULL;
    int derlen;

    if (!ms_oid_ok(oid) || major < 0 || minor < 0 || major > MAX_TEMPLATE_VERSION
        || minor > MAX_TEMPLATE_VERSION) {
        tmpl_seterr(TE_INPUT, "template information '%.80s' v%ld.%ld: MS-WCCE 2.2.2.7.7.2: needs a "
                    "dotted OID and versions 0..4294967295; copy msPKI-Cert-Template-OID and "
                    "the revision from certutil -template", oid == NULL ? "" : oid, major, minor);
        return NULL;
    }
    info = (MS_TMPL_INFO *)ASN1_item_new(ASN1_ITEM_rptr(MS_TMPL_INFO));
    if (info == NULL || (info->id = OBJ_txt2obj(oid, 1)) == NULL
        || (info->major = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set(info->major, major)
        || (info->minor = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set(info->minor, minor)
        || (derlen = ASN1_item_i2d((ASN1_VALUE *)info, &der, ASN1_ITEM_rptr(MS_TMPL_INFO))) <= 0) {
        ms_ossl_fail("template information extension");
        goto out;
    }
    ext = ms_ext(OID_MS_TEMPLATE_INFO, der, derlen, "template information extension");
out:
    OPENSSL_free(der);
    ASN1_item_free((ASN1_VALUE *)info, ASN1_ITEM_rptr(MS_TMPL_INFO));
    return ext;
}

/* Application policies (1.3.6.1.4.1.311.21.10), non-critical: encoded like certificatePolicies,
 * one PolicyInformation without qualifiers per OID, in the order given (mirror the EKU list).
 * 1..MAX_APP_POLICIES distinct dotted OIDs. Caller frees. NULL + message. */
X509_EXTENSION *ms_app_policies_build(const char *const *oids, size_t n)
{
    CERTIFICATEPOLICIES *pols = NULL;
    POLICYINFO *pi = NULL;
    unsigned char *der = NULL;
    X509_EXTENSION *ext = NULL;
    size_t i, j;
    int derlen;

    if (oids == NULL || n == 0 || n > MAX_APP_POLICIES) {
        tmpl_seterr(TE_INPUT, "application policies: MS-WCCE 2.2.2.7.7.3: need 1 to %d OIDs, got "
                    "%zu; list the EKU OIDs", MAX_APP_POLICIES, n);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < i && ms_oid_ok(oids[i]) && strcmp(oids[i], oids[j]) != 0; j++)
            ;
        if (!ms_oid_ok(oids[i]) || j < i) {
            tmpl_seterr(TE_INPUT, "application policies: OID '%.80s': %s; list each EKU OID "
                        "once in dotted form", oids[i] == NULL ? "" : oids[i],
                        ms_oid_ok(oids[i]) ? "listed twice" : "not a dotted OID");
            return NULL;
        }
    }
    if ((pols = CERTIFICATEPOLICIES_new()) == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        if ((pi = POLICYINFO_new()) == NULL)
            goto fail;
        ASN1_OBJECT_free(pi->policyid);
        if ((pi->policyid = OBJ_txt2obj(oids[i], 1)) == NULL || !sk_POLICYINFO_push(pols, pi))
            goto fail;
        pi = NULL;
    }
    if ((derlen = i2d_CERTIFICATEPOLICIES(pols, &der)) <= 0)
        goto fail;
    ext = ms_ext(OID_MS_APP_POLICIES, der, derlen, "application policies extension");
    goto out;
fail:
    ms_ossl_fail("application policies extension");
out:
    POLICYINFO_free(pi);
    CERTIFICATEPOLICIES_free(pols);
    OPENSSL_free(der);
    return ext;
}

/* "<prefix><lowercase hex of p[0..n), reversed when rev>"; OPENSSL_malloc'd or NULL. */
static char *ms_hex_string(const char *prefix, const unsigned char *p, size_t n, int rev)
{
    static const char digits[] = "0123456789abcdef";
    size_t plen = strlen(prefix), i;
    char *s = OPENSSL_malloc(plen + 2 * n + 1);

    if (s == NULL) {
        tmpl_seterr(TE_SYSTEM, "altSecurityIdentities: out of memory; retry");
        return NULL;
    }
    memcpy(s, prefix, plen);
    for (i = 0; i < n; i++) {
        unsigned char b = rev ? p[n - 1 - i] : p[i];

        s[plen + 2 * i] = digits[b >> 4];
        s[plen + 2 * i + 1] = digits[b & 15];
    }
    s[plen + 2 * n] = '\0';
    return s;
}

/* "X509:<I>issuer<SR>serial": issuer_ms as dn_format_ms prints it, serial the big-endian DER
 * content octets of the serialNumber, written with its bytes in reverse order, lowercase hex
 * (KB5014754, manual mapping X509IssuerSerialNumber). OPENSSL_free. */
char *ms_altsec_issuer_serial_from(const char *issuer_ms, const unsigned char *serial, size_t n)
{
    char *prefix, *s;
    size_t plen;

    if (issuer_ms == NULL || issuer_ms[0] == '\0' || serial == NULL || n == 0
        || n > MAX_FOREIGN_SERIAL_BYTES) {
        tmpl_seterr(TE_INPUT, "altSecurityIdentities: KB5014754 X509IssuerSerialNumber: need an "
                    "issuer name and a serial of 1 to %d bytes; pass the issuing certificate's "
                    "values",
                    MAX_FOREIGN_SERIAL_BYTES);
        return NULL;
    }
    plen = strlen("X509:<I>") + strlen(issuer_ms) + strlen("<SR>") + 1;
    if ((prefix = OPENSSL_malloc(plen)) == NULL) {
        tmpl_seterr(TE_SYSTEM, "altSecurityIdentities: out of memory; retry");
        return NULL;
    }
    snprintf(prefix, plen, "X509:<I>%s<SR>", issuer_ms);
    s = ms_hex_string(prefix, serial, n, 1);
    OPENSSL_free(prefix);
    return s;
}

/* X509:<I>..<SR>.. for cert. The serial bytes are the DER content octets, so a serial whose top
 * bit is set keeps its leading 00 (Windows shows such serials with the 00; unconfirmed for
 * altSecurityIdentities — offca's own serials keep the top bit clear). OPENSSL_free. */
char *ms_altsec_issuer_serial(const X509 *cert)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    char *issuer = NULL, *s = NULL;
    long len;
    int derlen, tag, cls;

    if (cert == NULL || (issuer = dn_format_ms(X509_get_issuer_name(cert))) == NULL)
        goto out;
    if ((derlen = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der)) <= 0) {
        ms_ossl_fail("certificate serial number");
        goto out;
    }
    p = der;
    if (ASN1_get_object(&p, &len, &tag, &cls, derlen) & 0x80 || tag != V_ASN1_INTEGER) {
        ms_ossl_fail("certificate serial number");
        goto out;
    }
    s = ms_altsec_issuer_serial_from(issuer, p, (size_t)len);
out:
    if (cert == NULL)
        tmpl_seterr(TE_USAGE, "altSecurityIdentities: no certificate; pass one");
    OPENSSL_free(issuer);
    OPENSSL_free(der);
    return s;
}

/* X509:<SKI>hex of the subjectKeyIdentifier extension; when the certificate has none, the SHA-1
 * of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2 method 1, what Windows computes
 * for a missing SKI as far as known). OPENSSL_free. */
char *ms_altsec_ski(const X509 *cert)
{
    ASN1_OCTET_STRING *ski = NULL;
    const ASN1_BIT_STRING *bits;
    unsigned char md[SHA1_LEN];
    char *s = NULL;
    int crit = -1;

    if (cert == NULL) {
        tmpl_seterr(TE_USAGE, "altSecurityIdentities: no certificate; pass one");
        return NULL;
    }
    ski = X509_get_ext_d2i(cert, NID_subject_key_identifier, &crit, NULL);
    if (ski != NULL && ASN1_STRING_length(ski) > 0) {
        s = ms_hex_string("X509:<SKI>", ASN1_STRING_get0_data(ski),
                          (size_t)ASN1_STRING_length(ski), 0);
    } else if (crit != -1) {
        tmpl_seterr(TE_INPUT, "certificate: RFC 5280 4.2.1.2: subjectKeyIdentifier is empty, "
                    "malformed or repeated; map with X509:<I>..<SR>.. instead");
    } else if ((bits = X509_get0_pubkey_bitstr(cert)) == NULL
               || !EVP_Digest(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), md,
                              NULL, EVP_sha1(), NULL)) {
        ms_ossl_fail("certificate public key");
    } else {
        s = ms_hex_string("X509:<SKI>", md, sizeof(md), 0);
    }
    ERR_clear_error();
    ASN1_OCTET_STRING_free(ski);
    return s;
}

/* X509:<SHA1-PUKEY>hex: SHA-1 over the DER SubjectPublicKeyInfo. Which bytes Windows hashes for
 * this mapping (KB5014754 X509SHA1PublicKey) is not confirmed: offer it only as a secondary one. */
char *ms_altsec_sha1_pukey(const X509 *cert)
{
    unsigned char *der = NULL, md[SHA1_LEN];
    char *s = NULL;
    int derlen;

    if (cert == NULL) {
        tmpl_seterr(TE_USAGE, "altSecurityIdentities: no certificate; pass one");
        return NULL;
    }
    if ((derlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der)) <= 0
        || !EVP_Digest(der, (size_t)derlen, md, NULL, EVP_sha1(), NULL)) {
        ms_ossl_fail("certificate public key");
        goto out;
    }
    s = ms_hex_string("X509:<SHA1-PUKEY>", md, sizeof(md), 0);
out:
    OPENSSL_free(der);
    return s;
}

/* CA Version (1.3.6.1.4.1.311.21.1), non-critical, in CA certificates and CRLs: INTEGER
 * key index << 16 | certificate index (AD CS's "V<cert>.<key>"; V0.0 is 02 01 00). */
X509_EXTENSION *ms_ca_version_build(unsigned cert_index, unsigned key_index)
{
    X509_EXTENSION *ext;

    if (cert_index > 0xffff || key_index > cert_index) {
        tmpl_seterr(TE_INPUT, "CA Version V%u.%u: MS-WCCE: indexes are 16 bits and the key index "
                    "is never above the certificate index; fix the caller", cert_index, key_index);
        return NULL;
    }
    if ((ext = x509ext_ca_version((unsigned long)key_index << 16 | cert_index)) == NULL)
        ms_ossl_fail("CA Version extension");
    return ext;
}

/* Previous CA Certificate Hash (1.3.6.1.4.1.311.21.2), non-critical, in every renewed CA
 * certificate: OCTET STRING holding the SHA-1 thumbprint of the previous CA certificate's DER. */
X509_EXTENSION *ms_prev_ca_hash_build(const unsigned char *prev_der, size_t prev_len)
{
    unsigned char md[20], *der = NULL;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int derlen;

    if (os == NULL || prev_der == NULL || prev_len == 0 ||
        !EVP_Digest(prev_der, prev_len, md, NULL, EVP_sha1(), NULL) ||
        !ASN1_OCTET_STRING_set(os, md, sizeof(md)) ||
        (derlen = i2d_ASN1_OCTET_STRING(os, &der)) <= 0) {
        ms_ossl_fail("previous CA certificate hash extension");
        goto out;
    }
    ext = ms_ext(OID_MS_PREV_CA_HASH, der, derlen, "previous CA certificate hash extension");
out:
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(os);
    return ext;
}
