/*
 * test_msfmt.c — UPN otherName, template name/information, application policies and the
 * altSecurityIdentities strings, byte for byte against known vectors and openssl(1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "templates/template.h"

/* A fixed P-256 key; its SPKI SHA-1 from `openssl pkey -pubin -outform DER | sha1sum` and its
 * RFC 5280 method-1 key identifier from `openssl req -x509` (subjectKeyIdentifier). */
static const char PUB_PEM[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAELuCsGB2FsES5M0no3qKfl7oQ/qvW\n"
    "fsBBcI1R5MPycgKOSRIw+K12zkU04jOWy5z6WGUhE/bPXjnp0LDCI+WQmQ==\n"
    "-----END PUBLIC KEY-----\n";
#define PUB_SPKI_SHA1 "5b30d693032559999eca4005577af93960bfc4ba"
#define PUB_KEYID "63498762f1dc344aca690a593a41be7c02d635c7"

static char *to_hex(const unsigned char *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    size_t i;

    assert_non_null(s);
    for (i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

static void assert_ext_der(X509_EXTENSION *ext, const char *want)
{
    unsigned char *der = NULL;
    int n;
    char *hex;

    if (ext == NULL)
        fail_msg("no extension: %s", tmpl_error());
    n = i2d_X509_EXTENSION(ext, &der);
    assert_true(n > 0);
    hex = to_hex(der, (size_t)n);
    if (strcmp(hex, want) != 0)
        fail_msg("got %s\nwant %s", hex, want);
    assert_int_equal(X509_EXTENSION_get_critical(ext), 0);
    free(hex);
    OPENSSL_free(der);
    X509_EXTENSION_free(ext);
}

static void test_upn(void **state)
{
    GENERAL_NAME *gn = ms_upn_name_build("user@contoso.com"), *dns;
    unsigned char *der = NULL;
    char *hex, out[64];
    int n;

    (void)state;
    assert_non_null(gn);
    n = i2d_GENERAL_NAME(gn, &der);
    hex = to_hex(der, (size_t)n);
    /* [0] otherName { 1.3.6.1.4.1.311.20.2.3, [0] EXPLICIT UTF8String "user@contoso.com" } */
    assert_string_equal(hex, "a020060a2b060104018237140203a0120c107573657240636f6e746f736f2e636f6d");
    assert_int_equal(ms_upn_name_parse(gn, out, sizeof(out)), 1);
    assert_string_equal(out, "user@contoso.com");
    assert_int_equal(ms_upn_name_parse(gn, out, 8), -1);
    assert_non_null(strstr(tmpl_error(), "too small"));
    free(hex);
    OPENSSL_free(der);
    GENERAL_NAME_free(gn);

    gn = ms_upn_name_build("j\xc3\xb6rg@contoso.com");
    assert_non_null(gn);
    assert_int_equal(ms_upn_name_parse(gn, out, sizeof(out)), 1);
    assert_string_equal(out, "j\xc3\xb6rg@contoso.com");
    GENERAL_NAME_free(gn);

    dns = GENERAL_NAME_new();
    assert_non_null(dns);
    GENERAL_NAME_set0_value(dns, GEN_DNS, ASN1_IA5STRING_new());
    assert_int_equal(ms_upn_name_parse(dns, out, sizeof(out)), 0);
    assert_int_equal(ms_upn_name_parse(NULL, out, sizeof(out)), 0);
    GENERAL_NAME_free(dns);
}

struct bad_upn { const char *upn; const char *frag; };

static void test_upn_reject(void **state)
{
    static const struct bad_upn bad[] = {
        {"", "1 to 1024 characters"},
        {"user", "exactly one '@'"},
        {"@contoso.com", "exactly one '@'"},
        {"user@", "exactly one '@'"},
        {"a@b@c", "exactly one '@'"},
        {"us er@contoso.com", "space or control"},
        {"user@contoso.com\n", "space or control"},
        {"user@\xc3(.com", "not valid UTF-8"},
        {"user@\xed\xa0\x80.com", "not valid UTF-8"},
    };
    char big[1100];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ms_upn_name_build(bad[i].upn) != NULL)
            fail_msg("'%s' accepted", bad[i].upn);
        if (strstr(tmpl_error(), bad[i].frag) == NULL)
            fail_msg("'%s': '%s' lacks '%s'", bad[i].upn, tmpl_error(), bad[i].frag);
        assert_int_equal(tmpl_error_code(), 3);
    }
    memset(big, 'a', sizeof(big));
    memcpy(big + 1020, "@contoso.com", 13);
    assert_null(ms_upn_name_build(big));
    assert_non_null(strstr(tmpl_error(), "1 to 1024 characters"));
    assert_null(ms_upn_name_build(NULL));
    assert_non_null(strstr(tmpl_error(), "missing"));
}

/* A UPN otherName from a hostile CSR: right type-id, wrong value type. */
static void test_upn_parse_malformed(void **state)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_OBJECT *oid = OBJ_txt2obj(OID_MS_UPN, 1);
    ASN1_TYPE *val = ASN1_TYPE_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    char out[64];

    (void)state;
    assert_true(ASN1_OCTET_STRING_set(os, (const unsigned char *)"a@b", 3));
    ASN1_TYPE_set(val, V_ASN1_OCTET_STRING, os);
    assert_true(GENERAL_NAME_set0_othername(gn, oid, val));
    assert_int_equal(ms_upn_name_parse(gn, out, sizeof(out)), -1);
    assert_non_null(strstr(tmpl_error(), "not a UTF8String"));
    GENERAL_NAME_free(gn);
}

static void test_template_name(void **state)
{
    X509_EXTENSION *ext;

    (void)state;
    /* MS-WCCE 2.2.2.7.7.1 as AD CS writes it: "User" -> extnValue 1e080055007300650072 */
    assert_ext_der(ms_template_name_build("User"),
                   "301706092b0601040182371402040a1e080055007300650072");
    /* non-ASCII in the BMP: U+00E9 */
    assert_ext_der(ms_template_name_build("\xc3\xa9"), "301106092b060104018237140204041e0200e9");
    assert_null(ms_template_name_build(""));
    assert_non_null(strstr(tmpl_error(), "1 to 64"));
    assert_null(ms_template_name_build("\xf0\x9f\x98\x80"));   /* U+1F600, outside the BMP */
    assert_non_null(strstr(tmpl_error(), "Basic Multilingual Plane"));
    assert_null(ms_template_name_build("a\tb"));
    assert_non_null(strstr(tmpl_error(), "printable"));
    ext = ms_template_name_build("0123456789012345678901234567890123456789012345678901234567890123");
    assert_non_null(ext);
    X509_EXTENSION_free(ext);
    assert_null(ms_template_name_build("01234567890123456789012345678901234567890123456789012345678901234"));
    assert_null(ms_template_name_build(NULL));
    assert_int_equal(tmpl_error_code(), 3);
}

static void test_template_info(void **state)
{
    (void)state;
    /* MS-WCCE 2.2.2.7.7.2: 1.3.6.1.4.1.311.21.8.1.2 v100.3 */
    assert_ext_der(ms_template_info_build("1.3.6.1.4.1.311.21.8.1.2", 100, 3),
                   "302206092b06010401823715070415"
                   "3013060b2b06010401823715080102020164020103");
    /* 0 and the DWORD maximum (5-byte INTEGER with a leading 00) */
    assert_ext_der(ms_template_info_build("1.2.3", 0, 4294967295L),
                   "301d06092b06010401823715070410300e06022a03020100020500ffffffff");
    assert_null(ms_template_info_build("1.2.3", -1, 0));
    assert_non_null(strstr(tmpl_error(), "versions 0..4294967295"));
    assert_null(ms_template_info_build("1.2.3", 1, 4294967296L));
    assert_null(ms_template_info_build("User", 1, 0));
    assert_non_null(strstr(tmpl_error(), "dotted OID"));
    assert_null(ms_template_info_build("1.02.3", 1, 0));
    assert_null(ms_template_info_build("1..3", 1, 0));
    assert_null(ms_template_info_build("3.1", 1, 0));
    assert_null(ms_template_info_build("1", 1, 0));
    assert_null(ms_template_info_build("1.2.", 1, 0));
    assert_null(ms_template_info_build(NULL, 1, 0));
    assert_int_equal(tmpl_error_code(), 3);
}

static void test_app_policies(void **state)
{
    static const char *const two[] = {"1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2"};
    static const char *const dup[] = {"1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.2"};
    static const char *const bad[] = {"1.3.6.1.5.5.7.3.2", "clientAuth"};

    (void)state;
    /* SEQUENCE { SEQUENCE { clientAuth }, SEQUENCE { smartcardLogon } }, no qualifiers */
    assert_ext_der(ms_app_policies_build(two, 2),
                   "302906092b060104018237150a041c301a300a06082b06010505070302300c060a2b06010401"
                   "8237140202");
    assert_null(ms_app_policies_build(dup, 2));
    assert_non_null(strstr(tmpl_error(), "listed twice"));
    assert_null(ms_app_policies_build(bad, 2));
    assert_non_null(strstr(tmpl_error(), "'clientAuth': not a dotted OID"));
    assert_null(ms_app_policies_build(two, 0));
    assert_non_null(strstr(tmpl_error(), "need 1 to 64 OIDs"));
    assert_null(ms_app_policies_build(NULL, 1));
    assert_int_equal(tmpl_error_code(), 3);
}

/* A certificate (unsigned: only what the mapping strings read) with issuer, serial and key. */
static X509 *make_cert(const char *issuer, const char *serial_hex, const char *skid_hex)
{
    X509 *x = X509_new();
    BIO *b = BIO_new_mem_buf(PUB_PEM, -1);
    EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    X509_NAME *in = dn_parse(issuer);
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn;

    assert_non_null(x);
    assert_non_null(pk);
    assert_non_null(in);
    assert_true(BN_hex2bn(&bn, serial_hex) > 0);
    sn = BN_to_ASN1_INTEGER(bn, NULL);
    assert_true(X509_set_serialNumber(x, sn));
    assert_true(X509_set_issuer_name(x, in));
    assert_true(X509_set_pubkey(x, pk));
    if (skid_hex != NULL) {
        X509V3_CTX ctx;
        X509_EXTENSION *e;

        X509V3_set_ctx(&ctx, NULL, x, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, skid_hex);
        assert_non_null(e);
        assert_true(X509_add_ext(x, e, -1));
        X509_EXTENSION_free(e);
    }
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    X509_NAME_free(in);
    EVP_PKEY_free(pk);
    BIO_free(b);
    return x;
}

/* CA Version (MS-WCCE: "V0.0" is 020100); the other values are openssl asn1parse
 * -genstr INTEGER:0x10001 (key 1 cert 1) and so on, wrapped as a non-critical Extension. */
static void test_ca_version(void **state)
{
    assert_ext_der(ms_ca_version_build(0, 0), "301006092b06010401823715010403020100");
    assert_ext_der(ms_ca_version_build(1, 0), "301006092b06010401823715010403020101");
    assert_ext_der(ms_ca_version_build(1, 1), "301206092b060104018237150104050203010001");
    assert_ext_der(ms_ca_version_build(3, 2), "301206092b060104018237150104050203020003");
    assert_ext_der(ms_ca_version_build(65535, 65535),
                   "301406092b06010401823715010407020500ffffffff");
    assert_null(ms_ca_version_build(1, 2));            /* key index above the cert index */
    assert_null(ms_ca_version_build(65536, 0));
}

/* Previous CA Certificate Hash: OCTET STRING of the SHA-1 of the previous certificate's bytes
 * (SHA-1("abc") = a9993e36... from `printf abc | openssl dgst -sha1`). */
static void test_prev_ca_hash(void **state)
{
    assert_ext_der(ms_prev_ca_hash_build((const unsigned char *)"abc", 3),
                   "302306092b06010401823715020416" "0414a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_null(ms_prev_ca_hash_build(NULL, 0));
}

static void test_altsec_issuer_serial(void **state)
{
    static const unsigned char serial[] = {
        0x62, 0x00, 0x00, 0x00, 0x32, 0xe1, 0xa5, 0xc3, 0x91, 0x51, 0x31, 0x09, 0x7b, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x32};
    static const char want[] = "X509:<I>DC=com,DC=contoso,CN=Contoso Issuing CA"
                               "<SR>3200000000007b09315191c3a5e13200000062";
    X509 *x;
    char *s;

    (void)state;
    /* KB5014754 X509IssuerSerialNumber worked example, from parts and from a certificate */
    s = ms_altsec_issuer_serial_from("DC=com,DC=contoso,CN=Contoso Issuing CA", serial,
                                     sizeof(serial));
    assert_non_null(s);
    assert_string_equal(s, want);
    OPENSSL_free(s);
    x = make_cert("CN=Contoso Issuing CA,DC=contoso,DC=com",
                  "6200000032e1a5c3915131097b000000000032", NULL);
    s = ms_altsec_issuer_serial(x);
    assert_non_null(s);
    assert_string_equal(s, want);
    OPENSSL_free(s);
    X509_free(x);
    /* "A1B2C3" -> "c3b2a1"; a top bit set keeps the DER sign byte 00 (reversed: last) */
    x = make_cert("CN=R,O=Contoso\\, Ltd.", "A1B2C3", NULL);
    s = ms_altsec_issuer_serial(x);
    assert_non_null(s);
    assert_string_equal(s, "X509:<I>O=\"Contoso, Ltd.\",CN=R<SR>c3b2a100");
    OPENSSL_free(s);
    X509_free(x);

    assert_null(ms_altsec_issuer_serial_from("", serial, sizeof(serial)));
    assert_non_null(strstr(tmpl_error(), "need an issuer name"));
    assert_null(ms_altsec_issuer_serial_from("CN=x", serial, 0));
    assert_null(ms_altsec_issuer_serial(NULL));
    assert_non_null(strstr(tmpl_error(), "no certificate"));
}

static void test_altsec_keys(void **state)
{
    X509 *with = make_cert("CN=R", "01", "0102030405060708090a0b0c0d0e0f1011121314");
    X509 *without = make_cert("CN=R", "01", NULL);
    char *s;

    (void)state;
    s = ms_altsec_ski(with);
    assert_non_null(s);
    assert_string_equal(s, "X509:<SKI>0102030405060708090a0b0c0d0e0f1011121314");
    OPENSSL_free(s);
    s = ms_altsec_ski(without);
    assert_non_null(s);
    assert_string_equal(s, "X509:<SKI>" PUB_KEYID);
    OPENSSL_free(s);
    s = ms_altsec_sha1_pukey(without);
    assert_non_null(s);
    assert_string_equal(s, "X509:<SHA1-PUKEY>" PUB_SPKI_SHA1);
    OPENSSL_free(s);
    assert_null(ms_altsec_ski(NULL));
    assert_null(ms_altsec_sha1_pukey(NULL));
    assert_non_null(strstr(tmpl_error(), "no certificate"));
    X509_free(with);
    X509_free(without);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upn),
        cmocka_unit_test(test_upn_reject),
        cmocka_unit_test(test_upn_parse_malformed),
        cmocka_unit_test(test_template_name),
        cmocka_unit_test(test_ca_version),
        cmocka_unit_test(test_prev_ca_hash),
        cmocka_unit_test(test_template_info),
        cmocka_unit_test(test_app_policies),
        cmocka_unit_test(test_altsec_issuer_serial),
        cmocka_unit_test(test_altsec_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
