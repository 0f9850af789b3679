/*
 * sid.c — Windows security identifiers: the strict string syntax (MS-DTYP 2.4.2.1), the binary
 * objectSid form, the SID security extension 1.3.6.1.4.1.311.25.2 and the SID SAN URL
 * (MS-WCCE 2.2.2.7.7.4, KB5014754).
 */
#include "base/err.h"
#include "base/sid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#define MAX_SID_SUBAUTH 15
#define MAX_SID_DEC_DIGITS 10
#define SID_HEX_AUTH_DIGITS 12
#define SID_BIN_HEADER 8
#define SID_FIX "copy the SID from the objectSid attribute: Get-ADComputer NAME | select SID " \
                "(Get-ADUser for users)"

/* Copy at most 60 bytes of untrusted text for a message, non-printables as '?'. */
static const char *sid_quote(const char *s, char *buf, size_t buflen)
{
    size_t i;

    for (i = 0; s[i] != '\0' && i + 4 < buflen && i < 60; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] != '\0' && i + 4 <= buflen) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static void sid_fail(const char *sid, const char *problem)
{
    char q[72];

    base_err_set(ERRC_POLICY, "SID '%s': MS-DTYP 2.4.2.1: %s; " SID_FIX,
                sid_quote(sid, q, sizeof(q)), problem);
}

/* One decimal field at *p: 1-10 digits, no leading zero (except "0"), <= 4294967295. */
static int sid_dec_field(const char **p, const char *what, const char *sid)
{
    const char *s = *p;
    unsigned long long v = 0;
    size_t n = 0;
    char msg[128];

    while (isdigit((unsigned char)s[n]) && n <= MAX_SID_DEC_DIGITS) {
        v = v * 10 + (unsigned long long)(s[n] - '0');
        n++;
    }
    if (n == 0) {
        snprintf(msg, sizeof(msg), "%s is empty or not a decimal number", what);
        goto fail;
    }
    if (n > 1 && s[0] == '0') {
        snprintf(msg, sizeof(msg), "%s has a leading zero", what);
        goto fail;
    }
    if (n > MAX_SID_DEC_DIGITS || v > 0xffffffffULL) {
        snprintf(msg, sizeof(msg), "%s exceeds 4294967295", what);
        goto fail;
    }
    *p = s + n;
    return 1;
fail:
    sid_fail(sid, msg);
    return 0;
}

/* The identifier authority: decimal < 2^32, or "0x" + exactly 12 hex digits for values >= 2^32. */
static int sid_authority(const char **p, const char *sid)
{
    const char *s = *p;
    unsigned long long v = 0;
    size_t n;

    if (s[0] != '0' || s[1] != 'x')
        return sid_dec_field(p, "the identifier authority", sid);
    s += 2;
    for (n = 0; isxdigit((unsigned char)s[n]); n++) {
        if (n < SID_HEX_AUTH_DIGITS)
            v = v * 16 + (unsigned long long)(isdigit((unsigned char)s[n]) ? s[n] - '0'
                                              : tolower((unsigned char)s[n]) - 'a' + 10);
    }
    if (n != SID_HEX_AUTH_DIGITS) {
        sid_fail(sid, "a hexadecimal identifier authority needs exactly 12 hex digits after '0x'");
        return 0;
    }
    if (v <= 0xffffffffULL) {
        sid_fail(sid, "a hexadecimal identifier authority is only for values >= 2^32; "
                      "write it in decimal");
        return 0;
    }
    *p = s + n;
    return 1;
}

/* Strict syntax check of a string SID in canonical form (see sid.h); class ERRC_POLICY. */
int sid_check(const char *sid)
{
    const char *p;
    int subs = 0;

    if (sid == NULL || sid[0] == '\0') {
        base_err_set(ERRC_POLICY, "SID: MS-DTYP 2.4.2.1: empty SID; " SID_FIX);
        return 0;
    }
    if (strlen(sid) > MAX_SID_CHARS) {
        sid_fail(sid, "longer than 183 characters");
        return 0;
    }
    if (strncmp(sid, "S-1-", 4) != 0) {
        sid_fail(sid, (sid[0] == 's') ? "must start with an uppercase 'S-1-'"
                      : (strncmp(sid, "S-", 2) == 0 && sid[2] != '1') ? "revision must be 1"
                      : "must start with 'S-1-'");
        return 0;
    }
    p = sid + 4;
    if (!sid_authority(&p, sid))
        return 0;
    while (*p == '-') {
        p++;
        if (++subs > MAX_SID_SUBAUTH) {
            sid_fail(sid, "more than 15 sub-authorities");
            return 0;
        }
        if (!sid_dec_field(&p, "a sub-authority", sid))
            return 0;
    }
    if (*p != '\0') {
        sid_fail(sid, "unexpected character after a number (only '-' and digits are allowed)");
        return 0;
    }
    if (subs == 0) {
        sid_fail(sid, "needs at least one sub-authority after the identifier authority");
        return 0;
    }
    return 1;
}

/* Binary objectSid -> canonical string SID: revision 1, count 1..15, 6-byte big-endian authority,
 * count little-endian uint32 sub-authorities, nothing after. Class ERRC_INPUT on malformed input. */
int sid_from_binary(const unsigned char *bin, size_t len, char *out, size_t outlen)
{
    char buf[MAX_SID_CHARS + 1];
    unsigned long long auth = 0;
    size_t i, count, pos;
    int n;

    if (bin == NULL || len < SID_BIN_HEADER || bin[0] != 1) {
        base_err_set(ERRC_INPUT, "objectSid: MS-DTYP 2.4.2.2: %s; export the objectSid attribute "
                    "unchanged (binary, base64 or hex)",
                    (bin == NULL || len < SID_BIN_HEADER) ? "shorter than 8 bytes"
                    : "revision is not 1");
        return 0;
    }
    count = bin[1];
    if (count < 1 || count > MAX_SID_SUBAUTH || len != SID_BIN_HEADER + 4 * count) {
        base_err_set(ERRC_INPUT, "objectSid: MS-DTYP 2.4.2.2: %zu bytes with a sub-authority count "
                    "of %zu (need 1..15 and 8 + 4*count bytes); export the objectSid attribute "
                    "unchanged", len, count);
        return 0;
    }
    for (i = 2; i < SID_BIN_HEADER; i++)
        auth = (auth << 8) | bin[i];
    if (auth <= 0xffffffffULL)
        n = snprintf(buf, sizeof(buf), "S-1-%llu", auth);
    else
        n = snprintf(buf, sizeof(buf), "S-1-0x%012llX", auth);
    pos = (size_t)n;
    for (i = 0; i < count; i++) {
        const unsigned char *s = bin + SID_BIN_HEADER + 4 * i;
        unsigned long v = (unsigned long)s[0] | (unsigned long)s[1] << 8
                          | (unsigned long)s[2] << 16 | (unsigned long)s[3] << 24;
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "-%lu", v);
    }
    if (pos + 1 > outlen) {
        base_err_set(ERRC_SYSTEM, "objectSid: output buffer of %zu bytes is too small for %s; "
                    "pass a buffer of MAX_SID_CHARS + 1", outlen, buf);
        return 0;
    }
    memcpy(out, buf, pos + 1);
    return 1;
}

/* A ERRC_SYSTEM message about obj, with the OpenSSL error queue (drained). */
static void sid_ossl_fail(const char *obj)
{
    base_err_set_ossl(ERRC_SYSTEM, "%s: encoding failed; this is a bug or out of memory, report it",
                     obj);
}

/* The SID security extension (MS-WCCE 2.2.2.7.7.4): non-critical, extnValue = GeneralNames
 * with one otherName {1.3.6.1.4.1.311.25.2.1, [0] EXPLICIT OCTET STRING "S-1-..."}. The [0]
 * EXPLICIT wrapping comes from OpenSSL's OTHERNAME template. Caller frees with
 * X509_EXTENSION_free. NULL with base_err_msg() set (class 1 for an invalid SID). */
X509_EXTENSION *sid_ext_build(const char *sid)
{
    X509_EXTENSION *ext = NULL;
    GENERAL_NAMES *gens = NULL;
    GENERAL_NAME *gen = NULL;
    ASN1_OBJECT *type_id = NULL, *ext_oid = NULL;
    ASN1_TYPE *val = NULL;
    ASN1_OCTET_STRING *str = NULL, *der_os = NULL;
    unsigned char *der = NULL;
    int derlen;

    if (!sid_check(sid))
        return NULL;
    if ((gens = GENERAL_NAMES_new()) == NULL || (gen = GENERAL_NAME_new()) == NULL
        || (type_id = OBJ_txt2obj(OID_NTDS_OBJECTSID, 1)) == NULL
        || (ext_oid = OBJ_txt2obj(OID_NTDS_CA_SECURITY_EXT, 1)) == NULL
        || (val = ASN1_TYPE_new()) == NULL || (str = ASN1_OCTET_STRING_new()) == NULL
        || !ASN1_OCTET_STRING_set(str, (const unsigned char *)sid, (int)strlen(sid)))
        goto fail;
    ASN1_TYPE_set(val, V_ASN1_OCTET_STRING, str);
    str = NULL;
    if (!GENERAL_NAME_set0_othername(gen, type_id, val))
        goto fail;
    type_id = NULL;
    val = NULL;
    if (!sk_GENERAL_NAME_push(gens, gen))
        goto fail;
    gen = NULL;
    if ((derlen = i2d_GENERAL_NAMES(gens, &der)) <= 0 || (der_os = ASN1_OCTET_STRING_new()) == NULL
        || !ASN1_OCTET_STRING_set(der_os, der, derlen))
        goto fail;
    if ((ext = X509_EXTENSION_create_by_OBJ(NULL, ext_oid, 0, der_os)) == NULL)
        goto fail;
    goto out;
fail:
    sid_ossl_fail("SID extension");
out:
    ASN1_OCTET_STRING_free(der_os);
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(str);
    ASN1_TYPE_free(val);
    ASN1_OBJECT_free(type_id);
    ASN1_OBJECT_free(ext_oid);
    GENERAL_NAME_free(gen);
    GENERAL_NAMES_free(gens);
    return ext;
}

static int sid_ext_fail(const char *problem)
{
    base_err_set(ERRC_INPUT, "SID extension 1.3.6.1.4.1.311.25.2: MS-WCCE 2.2.2.7.7.4: %s; "
                "request a certificate without it or with a well-formed one", problem);
    return 0;
}

/* Decode extnValue strictly: DER GeneralNames, no trailing bytes, re-encoding identical. */
static GENERAL_NAMES *sid_ext_decode(const ASN1_OCTET_STRING *os)
{
    const unsigned char *p = ASN1_STRING_get0_data(os);
    long len = ASN1_STRING_length(os);
    GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, len);
    unsigned char *der = NULL;
    int derlen;

    ERR_clear_error();
    if (gens == NULL || p != ASN1_STRING_get0_data(os) + len) {
        GENERAL_NAMES_free(gens);
        sid_ext_fail("extnValue is not a GeneralNames or has trailing bytes");
        return NULL;
    }
    derlen = i2d_GENERAL_NAMES(gens, &der);
    if (derlen != len || memcmp(der, ASN1_STRING_get0_data(os), (size_t)len) != 0) {
        GENERAL_NAMES_free(gens);
        gens = NULL;
        sid_ext_fail("extnValue is not in DER (distinguished) encoding");
    }
    OPENSSL_free(der);
    return gens;
}

/* The two OIDs as DER contents (what OBJ_cmp compares), so a parse looks nothing up by text. */
static const unsigned char DER_SID_EXT[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x19, 0x02};
static const unsigned char DER_SID_TYPE[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x19, 0x02, 0x01};

static int oid_is(const ASN1_OBJECT *o, const unsigned char *der, size_t n)
{
    return o != NULL && (size_t)OBJ_length(o) == n && memcmp(OBJ_get0_data(o), der, n) == 0;
}

/* Read the SID back out of a SID security extension built as by sid_ext_build: exactly one
 * otherName with type-id 1.3.6.1.4.1.311.25.2.1 and an OCTET STRING value, non-critical, DER,
 * the SID passing sid_check. Copies it NUL-terminated into out; 1 ok / 0 with a message. */
int sid_ext_parse(const X509_EXTENSION *ext, char *out, size_t outlen)
{
    GENERAL_NAMES *gens = NULL;
    const GENERAL_NAME *gen;
    const ASN1_STRING *s;
    char sid[MAX_SID_CHARS + 1];
    int ok = 0, slen;

    if (ext == NULL)
        return sid_ext_fail("missing extension");
    if (!oid_is(X509_EXTENSION_get_object((X509_EXTENSION *)ext), DER_SID_EXT,
                sizeof(DER_SID_EXT))) {
        sid_ext_fail("wrong extension OID");
        goto out;
    }
    if (X509_EXTENSION_get_critical(ext)) {
        sid_ext_fail("marked critical (MS-WCCE 2.2.2.7.7.4: it must not be)");
        goto out;
    }
    if ((gens = sid_ext_decode(X509_EXTENSION_get_data((X509_EXTENSION *)ext))) == NULL)
        goto out;
    if (sk_GENERAL_NAME_num(gens) != 1 || (gen = sk_GENERAL_NAME_value(gens, 0))->type != GEN_OTHERNAME
        || !oid_is(gen->d.otherName->type_id, DER_SID_TYPE, sizeof(DER_SID_TYPE))
        || gen->d.otherName->value->type != V_ASN1_OCTET_STRING) {
        sid_ext_fail("need exactly one otherName 1.3.6.1.4.1.311.25.2.1 with an OCTET STRING");
        goto out;
    }
    s = gen->d.otherName->value->value.octet_string;
    slen = ASN1_STRING_length(s);
    if (slen <= 0 || slen > MAX_SID_CHARS || memchr(ASN1_STRING_get0_data(s), 0, (size_t)slen)) {
        sid_ext_fail("the SID string is empty, longer than 183 characters or contains NUL");
        goto out;
    }
    memcpy(sid, ASN1_STRING_get0_data(s), (size_t)slen);
    sid[slen] = '\0';
    if (!sid_check(sid)) {
        base_err_prefix("SID extension 1.3.6.1.4.1.311.25.2");
        goto out;
    }
    if ((size_t)slen + 1 > outlen) {
        base_err_set(ERRC_SYSTEM, "SID extension: output buffer too small; pass MAX_SID_CHARS + 1");
        goto out;
    }
    memcpy(out, sid, (size_t)slen + 1);
    ok = 1;
out:
    GENERAL_NAMES_free(gens);
    return ok;
}

/* "tag:microsoft.com,2022-09-14:sid:<SID>" (KB5014754, the SAN URL) into buf. 1 ok; 0 when the
 * SID fails sid_check (class 1) or the URL does not fit (class 4). */
int sid_san_url(const char *sid, char *buf, size_t buflen)
{
    int n;

    if (!sid_check(sid))
        return 0;
    n = snprintf(buf, buflen, "%s%s", SID_URL_PREFIX, sid);
    if (n < 0 || (size_t)n >= buflen) {
        base_err_set(ERRC_SYSTEM, "SID SAN URL: buffer of %zu bytes too small; pass at least %zu",
                    buflen, strlen(SID_URL_PREFIX) + MAX_SID_CHARS + 1);
        return 0;
    }
    return 1;
}

/* SID SAN URL -> SID. 0: not a SID URL (no message). 1: SID copied. -1 (message set): the URL
 * has the prefix in the wrong case (the KDC only knows the exact lowercase literal), or a SID
 * that fails sid_check, or out is too small. */
int sid_from_san_url(const char *uri, char *out, size_t outlen)
{
    size_t plen = strlen(SID_URL_PREFIX);
    const char *sid;

    if (uri == NULL || strncasecmp(uri, SID_URL_PREFIX, plen) != 0)
        return 0;
    if (strncmp(uri, SID_URL_PREFIX, plen) != 0) {
        base_err_set(ERRC_POLICY, "SID SAN URL: KB5014754: the prefix must be exactly '"
                    SID_URL_PREFIX "' in lowercase (the KDC ignores other spellings); "
                    "rewrite the URL");
        return -1;
    }
    sid = uri + plen;
    if (!sid_check(sid)) {
        base_err_prefix("SID SAN URL");
        return -1;
    }
    if (strlen(sid) + 1 > outlen) {
        base_err_set(ERRC_SYSTEM, "SID SAN URL: output buffer too small; pass MAX_SID_CHARS + 1");
        return -1;
    }
    memcpy(out, sid, strlen(sid) + 1);
    return 1;
}
