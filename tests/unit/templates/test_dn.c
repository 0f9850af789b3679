/*
 * test_dn.c — RFC 4514 parsing (byte-exact DER, encodings, hostile input), dn_format round trips,
 * agreement with OpenSSL's RFC 2253 printer, and the Windows form for altSecurityIdentities.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "templates/template.h"

#define CONTOSO "CN=Issuing CA 1,O=Contoso\\, Ltd.,DC=contoso,DC=com"
/* SEQUENCE { SET{DC IA5 "com"} SET{DC IA5 "contoso"} SET{O UTF8 "Contoso, Ltd."}
 *            SET{CN UTF8 "Issuing CA 1"} } — built by hand from X.501 and RFC 4519 */
#define CONTOSO_DER "305d31133011060a0992268993f22c6401191603636f6d31173015060a0992268993f22c" \
                    "6401191607636f6e746f736f31163014060355040a0c0d436f6e746f736f2c204c74642e31" \
                    "15301306035504030c0c49737375696e672043412031"

static char *name_der_hex(const X509_NAME *n)
{
    unsigned char *der = NULL;
    int len = i2d_X509_NAME(n, &der), i;
    char *hex;

    assert_true(len > 0);
    hex = malloc(2 * (size_t)len + 1);
    assert_non_null(hex);
    for (i = 0; i < len; i++)
        sprintf(hex + 2 * i, "%02x", der[i]);
    OPENSSL_free(der);
    return hex;
}

static X509_NAME *parse_ok(const char *s)
{
    X509_NAME *n = dn_parse(s);

    if (n == NULL)
        fail_msg("dn_parse(%s): %s", s, tmpl_error());
    return n;
}

static void test_parse_der_vector(void **state)
{
    X509_NAME *n = parse_ok(CONTOSO);
    char *hex = name_der_hex(n);

    (void)state;
    assert_string_equal(hex, CONTOSO_DER);
    /* encoding order: the string's last RDN (DC=com) is entry 0 */
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))),
                     NID_domainComponent);
    free(hex);
    X509_NAME_free(n);
}

struct enc_case { const char *dn; int nid; int type; };

static void test_parse_encodings(void **state)
{
    static const struct enc_case cases[] = {
        {"CN=x", NID_commonName, V_ASN1_UTF8STRING},
        {"C=US", NID_countryName, V_ASN1_PRINTABLESTRING},
        {"serialNumber=AB-12 (3)", NID_serialNumber, V_ASN1_PRINTABLESTRING},
        {"DC=contoso", NID_domainComponent, V_ASN1_IA5STRING},
        {"E=a@contoso.com", NID_pkcs9_emailAddress, V_ASN1_IA5STRING},
        {"emailAddress=a@contoso.com", NID_pkcs9_emailAddress, V_ASN1_IA5STRING},
        {"O=o", NID_organizationName, V_ASN1_UTF8STRING},
        {"OU=u", NID_organizationalUnitName, V_ASN1_UTF8STRING},
        {"ST=Wa", NID_stateOrProvinceName, V_ASN1_UTF8STRING},
        {"L=Redmond", NID_localityName, V_ASN1_UTF8STRING},
        {"UID=jdoe", NID_userId, V_ASN1_UTF8STRING},
        {"GN=Jo", NID_givenName, V_ASN1_UTF8STRING},
        {"givenName=Jo", NID_givenName, V_ASN1_UTF8STRING},
        {"SN=Doe", NID_surname, V_ASN1_UTF8STRING},
        {"surname=Doe", NID_surname, V_ASN1_UTF8STRING},
        {"title=Dr", NID_title, V_ASN1_UTF8STRING},
        {"street=1 Main St", NID_streetAddress, V_ASN1_UTF8STRING},
        {"postalCode=98052", NID_postalCode, V_ASN1_UTF8STRING},
        {"cn=lower case type", NID_commonName, V_ASN1_UTF8STRING},
        {"2.5.4.6=FR", NID_countryName, V_ASN1_PRINTABLESTRING},
        {"1.3.6.1.4.1.311.60.2.1.3=DE", NID_jurisdictionCountryName, V_ASN1_UTF8STRING},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *n = parse_ok(cases[i].dn);
        X509_NAME_ENTRY *e;

        assert_int_equal(X509_NAME_entry_count(n), 1);
        e = X509_NAME_get_entry(n, 0);
        if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != cases[i].nid
            || ASN1_STRING_type(X509_NAME_ENTRY_get_data(e)) != cases[i].type)
            fail_msg("%s: nid %d type %d", cases[i].dn,
                     OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)),
                     ASN1_STRING_type(X509_NAME_ENTRY_get_data(e)));
        X509_NAME_free(n);
    }
}

struct rt_case { const char *in; const char *out; };

/* dn_format(dn_parse(in)) == out, and dn_parse(out) encodes to the same DER as dn_parse(in). */
static void test_roundtrip(void **state)
{
    static const struct rt_case cases[] = {
        {CONTOSO, CONTOSO},
        {"CN=\\#hash,O=a\\+b\\;c\\=d", "CN=\\#hash,O=a\\+b\\;c=d"},
        {"CN=\\ lead and trail\\ ", "CN=\\ lead and trail\\ "},
        {"CN=\\ ", "CN=\\ "},
        {"CN=a\\\"q\\\\b", "CN=a\\\"q\\\\b"},
        {"CN=Jos\\C3\\A9", "CN=Jos\xc3\xa9"},
        {"CN=Jos\xc3\xa9", "CN=Jos\xc3\xa9"},
        {"CN=\\e6\\97\\a5\\e6\\9c\\ac", "CN=\xe6\x97\xa5\xe6\x9c\xac"},
        {"CN=a+UID=b,O=x", "CN=a+UID=b,O=x"},
        {"CN=a+UID=b+SN=c", "CN=a+UID=b+SN=c"},
        {"CN=x, O=y,  DC=z", "CN=x,O=y,DC=z"},
        {"CN=x+ UID=y", "CN=x+UID=y"},
        {"CN=a=b", "CN=a=b"},
        {"CN=a#b", "CN=a#b"},
        {"CN=\\<x\\>", "CN=\\<x\\>"},
        {"CN=tab\\09x", "CN=tab\\09x"},
        {"CN=\\41\\42", "CN=AB"},
        {"2.5.4.3=viaoid", "CN=viaoid"},
        {"1.2.3.4=hello", "1.2.3.4=hello"},
        {"1.2.3.4=#130568656c6c6f", "1.2.3.4=#130568656c6c6f"},
        {"1.2.3.4=#0c0568656c6c6f", "1.2.3.4=hello"},
        {"1.2.3.4=#1e020041", "1.2.3.4=#1e020041"},
        {"E=a@b.c,C=US,ST=Wa,L=Redmond,OU=IT,serialNumber=1234,GN=Jo,SN=Doe,title=Dr,"
         "street=1 Main,postalCode=98052,UID=jdoe",
         "emailAddress=a@b.c,C=US,ST=Wa,L=Redmond,OU=IT,serialNumber=1234,GN=Jo,SN=Doe,"
         "title=Dr,street=1 Main,postalCode=98052,UID=jdoe"},
        {"", ""},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *a = parse_ok(cases[i].in), *b;
        char *s = dn_format(a), *ha, *hb;

        assert_non_null(s);
        if (strcmp(s, cases[i].out) != 0)
            fail_msg("dn_format(dn_parse(%s)) = '%s', want '%s'", cases[i].in, s, cases[i].out);
        b = parse_ok(s);
        ha = name_der_hex(a);
        hb = name_der_hex(b);
        if (strcmp(ha, hb) != 0)
            fail_msg("%s: DER differs after round trip: %s vs %s", cases[i].in, ha, hb);
        free(ha);
        free(hb);
        OPENSSL_free(s);
        X509_NAME_free(a);
        X509_NAME_free(b);
    }
}

/* Also after a DER round trip (d2i re-orders multi-valued RDNs into DER SET order). */
static void test_roundtrip_der(void **state)
{
    X509_NAME *a = parse_ok("CN=zz+UID=aa+OU=mm,O=x"), *b, *c;
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_X509_NAME(a, &der);
    char *s, *ha, *hc;

    (void)state;
    p = der;
    b = d2i_X509_NAME(NULL, &p, len);
    assert_non_null(b);
    s = dn_format(b);
    assert_non_null(s);
    c = parse_ok(s);
    ha = name_der_hex(a);
    hc = name_der_hex(c);
    assert_string_equal(ha, hc);
    assert_non_null(strstr(s, ",O=x"));
    free(ha);
    free(hc);
    OPENSSL_free(s);
    OPENSSL_free(der);
    X509_NAME_free(a);
    X509_NAME_free(b);
    X509_NAME_free(c);
}

/* OpenSSL's own RFC 2253 printer agrees with dn_format, and dn_parse reads what OpenSSL prints. */
static void test_openssl_agrees(void **state)
{
    static const char *cases[] = {
        CONTOSO, "CN=\\#hash,O=a\\+b\\;c=d", "CN=\\ lead and trail\\ ", "CN=a\\\"q\\\\b",
        "CN=x,OU=IT,O=Contoso,L=Redmond,ST=Wa,C=US", "emailAddress=a@b.c,CN=\\<x\\>",
        "CN=Jos\xc3\xa9,DC=contoso",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *n = parse_ok(cases[i]), *m;
        BIO *b = BIO_new(BIO_s_mem());
        char *mine = dn_format(n), *ossl, *h1, *h2;
        long len;

        assert_non_null(b);
        /* RFC 2253 flags but UTF-8 kept raw, as dn_format does */
        assert_true(X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0);
        len = BIO_get_mem_data(b, &ossl);
        if ((size_t)len != strlen(mine) || memcmp(ossl, mine, (size_t)len) != 0)
            fail_msg("OpenSSL prints '%.*s', dn_format '%s'", (int)len, ossl, mine);
        m = parse_ok(mine);
        h1 = name_der_hex(n);
        h2 = name_der_hex(m);
        assert_string_equal(h1, h2);
        free(h1);
        free(h2);
        OPENSSL_free(mine);
        BIO_free(b);
        X509_NAME_free(n);
        X509_NAME_free(m);
    }
}

struct bad_dn { const char *dn; const char *frag; };

static void test_parse_reject(void **state)
{
    static const struct bad_dn bad[] = {
        {"CN=a,,O=b", "empty RDN"},
        {",CN=a", "empty RDN"},
        {"CN=a,", "trailing separator"},
        {"CN=a, ", "trailing separator"},
        {"CN=a+", "trailing separator"},
        {"CN=", "empty attribute value"},
        {"CN=a,O=", "empty attribute value"},
        {"CN=+O=b", "empty attribute value"},
        {"XX=a", "unknown attribute type"},
        {"C N=a", "space before '='"},
        {"CN =a", "space before '='"},
        {"CN", "without '='"},
        {"CN=a,O", "without '='"},
        {"CN= a", "unescaped leading space"},
        {"CN=a ,O=b", "unescaped trailing space"},
        {"CN=a ", "unescaped trailing space"},
        {" CN=a", "space before an attribute type"},
        {"1.2.3=#1e03004100", "hexstring is not one"},
        {"1.2.3=#1e0400410000", "NUL character"},
        {"CN=a;O=b", "unescaped ';'"},
        {"CN=a<b", "unescaped special character"},
        {"CN=a>b", "unescaped special character"},
        {"CN=a\"b", "unescaped special character"},
        {"CN=a\\00b", "NUL"},
        {"CN=\\C3", "not valid UTF-8"},
        {"CN=\\C3\\28", "not valid UTF-8"},
        {"CN=\\C0\\AF", "not valid UTF-8"},
        {"CN=\\ED\\A0\\80", "not valid UTF-8"},
        {"CN=\\F4\\90\\80\\80", "not valid UTF-8"},
        {"CN=\xff", "not valid UTF-8"},
        {"CN=a\\x", "bad escape"},
        {"CN=a\\4", "bad escape"},
        {"CN=a\\", "bad escape"},
        {"C=USA", "two capital letters"},
        {"C=us", "two capital letters"},
        {"C=U", "two capital letters"},
        {"C=\\C3\\A9\\C3\\A9", "non-ASCII"},
        {"serialNumber=a_b", "PrintableString"},
        {"serialNumber=a@b", "PrintableString"},
        {"serialNumber=Jos\\C3\\A9", "non-ASCII"},
        {"DC=caf\\C3\\A9", "non-ASCII"},
        {"E=j\\C3\\B6@b.c", "non-ASCII"},
        {"CN=#414243", "unescaped '#'"},
        {"1.2.3=#zz", "non-hex"},
        {"1.2.3=#041", "even, non-zero"},
        {"1.2.3=#", "even, non-zero"},
        {"1.2.3=#0403414243", "hexstring is not one"},
        {"1.2.3=#0c0341", "hexstring is not one"},
        {"1.2.3=#0c0141ff", "hexstring is not one"},
        {"1.2.3=#0c0200ff", "NUL"},
        {"1.02.3=x", "unknown attribute type"},
        {"1.=x", "unknown attribute type"},
        {"1=x", "unknown attribute type"},
        {"OID.2.5.4.3=x", "unknown attribute type"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        X509_NAME *n = dn_parse(bad[i].dn);

        if (n != NULL)
            fail_msg("'%s' accepted", bad[i].dn);
        if (strstr(tmpl_error(), bad[i].frag) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].dn, tmpl_error(), bad[i].frag);
        assert_non_null(strstr(tmpl_error(), "RFC 4514"));
        assert_int_equal(tmpl_error_code(), 3);
    }
    assert_null(dn_parse("CN=a ,O=b"));
    assert_non_null(strstr(tmpl_error(), "at character 5;"));
}

/* Upper bounds and the size limits. */
static void test_parse_limits(void **state)
{
    char buf[MAX_DN_CHARS + 64];
    X509_NAME *n;
    size_t i;

    (void)state;
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "CN=", 3);
    memset(buf + 3, 'a', 64);
    n = parse_ok(buf);
    X509_NAME_free(n);
    buf[3 + 64] = 'a';
    assert_null(dn_parse(buf));
    assert_non_null(strstr(tmpl_error(), "65 characters exceeds the upper bound of 64"));
    /* 64 characters of 2 bytes each: the bound counts characters, not bytes */
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "CN=", 3);
    for (i = 0; i < 64; i++)
        memcpy(buf + 3 + 2 * i, "\xc3\xa9", 2);
    n = parse_ok(buf);
    X509_NAME_free(n);
    /* DC is one DNS label: 63 */
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "DC=", 3);
    memset(buf + 3, 'd', 64);
    assert_null(dn_parse(buf));
    assert_non_null(strstr(tmpl_error(), "upper bound of 63"));
    /* more than MAX_DN_CHARS */
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "UID=", 4);
    memset(buf + 4, 'u', MAX_DN_CHARS);
    assert_null(dn_parse(buf));
    assert_non_null(strstr(tmpl_error(), "too long"));
    /* 65 attributes */
    buf[0] = '\0';
    for (i = 0; i < 65; i++)
        strcat(buf, i ? ",OU=x" : "OU=x");
    assert_null(dn_parse(buf));
    assert_non_null(strstr(tmpl_error(), "more than 64 attributes"));
    assert_null(dn_parse(NULL));
    assert_non_null(strstr(tmpl_error(), "missing"));
    assert_null(dn_format(NULL));
    assert_non_null(strstr(tmpl_error(), "no name given"));
}

struct ms_case { const char *dn; const char *ms; };

static void test_format_ms(void **state)
{
    static const struct ms_case cases[] = {
        {"CN=Contoso Issuing CA,DC=contoso,DC=com", "DC=com,DC=contoso,CN=Contoso Issuing CA"},
        {CONTOSO, "DC=com,DC=contoso,O=\"Contoso, Ltd.\",CN=Issuing CA 1"},
        {"E=a@b.c,ST=Wa,serialNumber=12,UID=u,GN=g,title=t,SN=s,street=x,postalCode=1,C=US,L=l,"
         "OU=ou",
         "OU=ou,L=l,C=US,PostalCode=1,STREET=x,SN=s,T=t,G=g,OID.0.9.2342.19200300.100.1.1=u,"
         "SERIALNUMBER=12,S=Wa,E=a@b.c"},
        {"CN=say \\\"hi\\\"", "CN=\"say \"\"hi\"\"\""},
        {"CN=\\ x", "CN=\" x\""},
        {"CN=x\\ ", "CN=\"x \""},
        {"CN=a#b", "CN=\"a#b\""},
        {"CN=a=b", "CN=\"a=b\""},
        {"CN=a\\+b", "CN=\"a+b\""},
        {"CN=a\\;b", "CN=\"a;b\""},
        {"CN=\\<b\\>", "CN=\"<b>\""},
        {"CN=Jos\\C3\\A9", "CN=Jos\xc3\xa9"},
        {"CN=a+UID=b,DC=com", "DC=com,CN=a+OID.0.9.2342.19200300.100.1.1=b"},
        {"1.2.3.4=v", "OID.1.2.3.4=v"},
        {"", ""},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *n = parse_ok(cases[i].dn);
        char *s = dn_format_ms(n);

        assert_non_null(s);
        if (strcmp(s, cases[i].ms) != 0)
            fail_msg("dn_format_ms(%s) = '%s', want '%s'", cases[i].dn, s, cases[i].ms);
        OPENSSL_free(s);
        X509_NAME_free(n);
    }
    assert_null(dn_format_ms(NULL));
}

/* A name as a CSR may carry it: PrintableString CN and a BMPString O print as text. */
static void test_format_foreign_types(void **state)
{
    X509_NAME *n = X509_NAME_new();
    static const unsigned char bmp[] = {0, 'A', 0, 0xe9};
    char *s, *ms;

    (void)state;
    assert_non_null(n);
    assert_true(X509_NAME_add_entry_by_NID(n, NID_organizationName, V_ASN1_BMPSTRING, bmp, 4, -1, 0));
    assert_true(X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_PRINTABLESTRING,
                                           (const unsigned char *)"host1", -1, -1, 0));
    s = dn_format(n);
    ms = dn_format_ms(n);
    assert_string_equal(s, "CN=host1,O=A\xc3\xa9");
    assert_string_equal(ms, "O=A\xc3\xa9,CN=host1");
    OPENSSL_free(s);
    OPENSSL_free(ms);
    X509_NAME_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_der_vector),
        cmocka_unit_test(test_parse_encodings),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_roundtrip_der),
        cmocka_unit_test(test_openssl_agrees),
        cmocka_unit_test(test_parse_reject),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_format_ms),
        cmocka_unit_test(test_format_foreign_types),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
