/*
 * test_sid.c — SID syntax, binary objectSid, the SID security extension (byte-exact against
 * a known vector, MS-WCCE 2.2.2.7.7.4) and the SID SAN URL (KB5014754).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "base/err.h"
#include "base/sid.h"

#define V1_SID "S-1-5-21-1004336348-1177238915-682003330-1105"
#define V1_EXTNVALUE "303fa03d060a2b060104018237190201a02f042d532d312d352d32312d3130303433" \
                     "33363334382d313137373233383931352d3638323030333333302d31313035"
#define V1_EXT "304e06092b06010401823719020441" V1_EXTNVALUE

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

static size_t from_hex(const char *hex, unsigned char *out, size_t max)
{
    size_t n = strlen(hex) / 2, i;
    unsigned int b;

    assert_true(n <= max);
    for (i = 0; i < n; i++) {
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
        out[i] = (unsigned char)b;
    }
    return n;
}

static char *ext_der_hex(X509_EXTENSION *ext)
{
    unsigned char *der = NULL;
    int n = i2d_X509_EXTENSION(ext, &der);
    char *hex;

    assert_true(n > 0);
    hex = to_hex(der, (size_t)n);
    OPENSSL_free(der);
    return hex;
}

/* A SID of n sub-authorities "S-1-5-21-1-2-..." */
static void make_sid(char *buf, size_t len, int n, const char *sub)
{
    int i;

    snprintf(buf, len, "S-1-5");
    for (i = 0; i < n; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "-%s", sub);
}

static void test_check_accept(void **state)
{
    static const char *good[] = {
        V1_SID, "S-1-5-32-544", "S-1-0x100000000000-1", "S-1-0-0", "S-1-5-18",
        "S-1-0xFFFFFFFFFFFF-4294967295", "S-1-4294967295-0", "S-1-0xabcdef012345-7",
    };
    char sid[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!sid_check(good[i]))
            fail_msg("%s refused: %s", good[i], base_err_msg());
    }
    make_sid(sid, sizeof(sid), 15, "1");
    assert_true(sid_check(sid));
    /* 15 sub-authorities of 10 digits: the longest canonical SID, 4 + 1 + 15 * 11 = 170 chars */
    make_sid(sid, sizeof(sid), 15, "4294967295");
    assert_true(sid_check(sid));
}

struct bad_sid { const char *sid; const char *frag; };

static void test_check_reject(void **state)
{
    static const struct bad_sid bad[] = {
        {"S-1-5", "at least one sub-authority"},
        {"S-2-5-21-1", "revision must be 1"},
        {"S-1-5-021-1", "leading zero"},
        {"S-1-05-21-1", "leading zero"},
        {"S-1-5-21-4294967296", "exceeds 4294967295"},
        {"S-1-5-21-99999999999", "exceeds 4294967295"},
        {"S-1-5-21-1-", "sub-authority is empty"},
        {"S-1-5-", "sub-authority is empty"},
        {"S-1--5", "identifier authority is empty"},
        {"S-1-5-21-1 ", "unexpected character"},
        {" S-1-5-21-1", "must start with 'S-1-'"},
        {"s-1-5-21-1", "uppercase 'S-1-'"},
        {"S-1-4294967296-1", "exceeds 4294967295"},
        {"S-1-0x0000FFFFFFFF-1", "only for values >= 2^32"},
        {"S-1-0x10000000000-1", "exactly 12 hex digits"},
        {"S-1-0x1000000000000-1", "exactly 12 hex digits"},
        {"S-1-0X100000000000-1", "unexpected character"},
        {"S-1-5-21-+1", "not a decimal number"},
        {"S-1-5-21--1", "not a decimal number"},
        {"S-1-5-21-1a", "unexpected character"},
        {"", "empty SID"},
        {"S-1-", "identifier authority is empty"},
        {"SID-1-5", "must start with 'S-1-'"},
    };
    char sid[400];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sid_check(bad[i].sid))
            fail_msg("%s accepted", bad[i].sid);
        if (strstr(base_err_msg(), bad[i].frag) == NULL)
            fail_msg("%s: message '%s' lacks '%s'", bad[i].sid, base_err_msg(), bad[i].frag);
        assert_non_null(strstr(base_err_msg(), "Get-ADComputer NAME | select SID"));
        assert_int_equal(base_err_code(), 1);
    }
    assert_false(sid_check(NULL));
    make_sid(sid, sizeof(sid), 16, "1");
    assert_false(sid_check(sid));
    assert_non_null(strstr(base_err_msg(), "more than 15 sub-authorities"));
    make_sid(sid, sizeof(sid), 20, "4294967295");
    assert_false(sid_check(sid));
    assert_non_null(strstr(base_err_msg(), "longer than 183"));
}

struct bin_case { const char *hex; const char *sid; const char *frag; };

static void test_from_binary(void **state)
{
    static const struct bin_case cases[] = {
        /* S-1-5-21-1004336348-1177238915-682003330-1105, sub-authorities little-endian */
        {"010500000000000515000000" "dcf4dc3b833d2b46828ba62851040000", V1_SID, NULL},
        {"01020000000000052000000020020000", "S-1-5-32-544", NULL},
        {"010110000000000001000000", "S-1-0x100000000000-1", NULL},
        {"0101ffffffffffffffffffff", "S-1-0xFFFFFFFFFFFF-4294967295", NULL},
        {"010100000000000012000000", "S-1-0-18", NULL},
        {"02010000000000051200000000", NULL, "revision is not 1"},
        {"0101000000000005", NULL, "sub-authority count of 1"},
        {"010100000000000512000000ff", NULL, "sub-authority count of 1"},
        {"010000000000000500", NULL, "sub-authority count of 0"},
        {"0110000000000005", NULL, "sub-authority count of 16"},
        {"01010000", NULL, "shorter than 8 bytes"},
    };
    unsigned char bin[128];
    char out[MAX_SID_CHARS + 1];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = from_hex(cases[i].hex, bin, sizeof(bin));
        if (cases[i].sid != NULL) {
            if (!sid_from_binary(bin, n, out, sizeof(out)))
                fail_msg("%s: %s", cases[i].hex, base_err_msg());
            assert_string_equal(out, cases[i].sid);
            assert_true(sid_check(out));
        } else {
            assert_false(sid_from_binary(bin, n, out, sizeof(out)));
            if (strstr(base_err_msg(), cases[i].frag) == NULL)
                fail_msg("%s: '%s' lacks '%s'", cases[i].hex, base_err_msg(), cases[i].frag);
            assert_int_equal(base_err_code(), 3);
        }
    }
    n = from_hex(cases[0].hex, bin, sizeof(bin));
    assert_false(sid_from_binary(bin, n, out, 10));
    assert_non_null(strstr(base_err_msg(), "too small"));
}

static void test_ext_vector(void **state)
{
    X509_EXTENSION *ext = sid_ext_build(V1_SID);
    char *hex, *val;
    char out[MAX_SID_CHARS + 1];
    const ASN1_OCTET_STRING *os;

    (void)state;
    assert_non_null(ext);
    hex = ext_der_hex(ext);
    assert_string_equal(hex, V1_EXT);
    os = X509_EXTENSION_get_data(ext);
    val = to_hex(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
    assert_string_equal(val, V1_EXTNVALUE);
    assert_int_equal(X509_EXTENSION_get_critical(ext), 0);
    assert_true(sid_ext_parse(ext, out, sizeof(out)));
    assert_string_equal(out, V1_SID);
    free(hex);
    free(val);
    X509_EXTENSION_free(ext);
}

/* A long SID pushes the Extension and its extnValue past 127 bytes: lengths must be long form. */
static void test_ext_long_form(void **state)
{
    char sid[256], out[MAX_SID_CHARS + 1], *hex, prefix[64];
    X509_EXTENSION *ext;
    size_t sl;

    (void)state;
    make_sid(sid, sizeof(sid), 15, "4294967295");
    sl = strlen(sid);
    assert_true(sl > 127);
    ext = sid_ext_build(sid);
    assert_non_null(ext);
    hex = ext_der_hex(ext);
    /* Extension SEQUENCE: 30 81 LL; the inner OCTET STRING holding the SID: 04 81 LL */
    snprintf(prefix, sizeof(prefix), "3081%02zx06092b06010401823719020481%02zx3081%02zxa081%02zx",
             sl + 38, sl + 24, sl + 21, sl + 18);
    if (strncmp(hex, prefix, strlen(prefix)) != 0)
        fail_msg("got %.60s want %s", hex, prefix);
    snprintf(prefix, sizeof(prefix), "060a2b060104018237190201a081%02zx0481%02zx", sl + 3, sl);
    assert_non_null(strstr(hex, prefix));
    assert_true(sid_ext_parse(ext, out, sizeof(out)));
    assert_string_equal(out, sid);
    free(hex);
    X509_EXTENSION_free(ext);
}

struct ext_bad { const char *hex; int critical; const char *frag; };

static void test_ext_parse_reject(void **state)
{
    static const struct ext_bad bad[] = {
        {V1_EXTNVALUE, 1, "marked critical"},
        {V1_EXTNVALUE "00", 0, "trailing bytes"},
        {"3000", 0, "exactly one otherName"},
        /* two otherNames */
        {"3032a017060a2b060104018237190201a0090407532d312d352d31"
         "a017060a2b060104018237190201a0090407532d312d352d31", 0, "exactly one otherName"},
        /* type-id 1.3.6.1.4.1.311.20.2.3 (UPN) instead of objectSid */
        {"3019a017060a2b060104018237140203a0090407532d312d352d31", 0, "exactly one otherName"},
        /* value UTF8String instead of OCTET STRING */
        {"3019a017060a2b060104018237190201a0090c07532d312d352d31", 0, "OCTET STRING"},
        /* a dNSName */
        {"30058203612e62", 0, "exactly one otherName"},
        /* OCTET STRING "S-1-5" (no sub-authority) */
        {"3017a015060a2b060104018237190201a0070405532d312d35", 0, "at least one sub-authority"},
        /* "S-1-5-1" followed by a NUL byte */
        {"301aa018060a2b060104018237190201a00a0408532d312d352d3100", 0, "contains NUL"},
        /* non-DER: the outer length in long form where short form is required */
        {"308119a017060a2b060104018237190201a0090407532d312d352d31", 0, "not in DER"},
        /* not ASN.1 GeneralNames at all */
        {"04020000", 0, "not a GeneralNames"},
    };
    unsigned char der[256];
    char out[MAX_SID_CHARS + 1];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OBJECT *obj = OBJ_txt2obj(OID_NTDS_CA_SECURITY_EXT, 1);
        X509_EXTENSION *ext;

        n = from_hex(bad[i].hex, der, sizeof(der));
        assert_true(ASN1_OCTET_STRING_set(os, der, (int)n));
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, bad[i].critical, os);
        assert_non_null(ext);
        if (sid_ext_parse(ext, out, sizeof(out)))
            fail_msg("case %zu accepted", i);
        assert_non_null(strstr(base_err_msg(), "SID extension 1.3.6.1.4.1.311.25.2"));
        if (strstr(base_err_msg(), bad[i].frag) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, base_err_msg(), bad[i].frag);
        X509_EXTENSION_free(ext);
        ASN1_OBJECT_free(obj);
        ASN1_OCTET_STRING_free(os);
    }
}

static void test_ext_build_reject(void **state)
{
    (void)state;
    assert_null(sid_ext_build("S-1-5-21-1-"));
    assert_non_null(strstr(base_err_msg(), "sub-authority is empty"));
    assert_null(sid_ext_build(NULL));
    assert_non_null(strstr(base_err_msg(), "empty SID"));
}

static void test_san_url(void **state)
{
    char buf[256], small[40], out[MAX_SID_CHARS + 1];

    (void)state;
    assert_true(sid_san_url(V1_SID, buf, sizeof(buf)));
    assert_string_equal(buf, "tag:microsoft.com,2022-09-14:sid:" V1_SID);
    assert_int_equal(sid_from_san_url(buf, out, sizeof(out)), 1);
    assert_string_equal(out, V1_SID);

    assert_false(sid_san_url(V1_SID, small, sizeof(small)));
    assert_non_null(strstr(base_err_msg(), "too small"));
    assert_false(sid_san_url("S-1-5-21-01", buf, sizeof(buf)));
    assert_non_null(strstr(base_err_msg(), "leading zero"));

    assert_int_equal(sid_from_san_url("https://contoso.com/x", out, sizeof(out)), 0);
    assert_int_equal(sid_from_san_url("tag:microsoft.com,2022-09-14:si", out, sizeof(out)), 0);
    assert_int_equal(sid_from_san_url(NULL, out, sizeof(out)), 0);
    assert_int_equal(sid_from_san_url("TAG:Microsoft.com,2022-09-14:SID:" V1_SID, out,
                                      sizeof(out)), -1);
    assert_non_null(strstr(base_err_msg(), "in lowercase"));
    assert_int_equal(sid_from_san_url("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1 ", out,
                                      sizeof(out)), -1);
    assert_non_null(strstr(base_err_msg(), "SID SAN URL: SID"));
    assert_int_equal(sid_from_san_url("tag:microsoft.com,2022-09-14:sid:", out, sizeof(out)), -1);
    assert_non_null(strstr(base_err_msg(), "empty SID"));
    assert_int_equal(sid_from_san_url(buf, out, 8), -1);
    assert_non_null(strstr(base_err_msg(), "too small"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accept),
        cmocka_unit_test(test_check_reject),
        cmocka_unit_test(test_from_binary),
        cmocka_unit_test(test_ext_vector),
        cmocka_unit_test(test_ext_long_form),
        cmocka_unit_test(test_ext_parse_reject),
        cmocka_unit_test(test_ext_build_reject),
        cmocka_unit_test(test_san_url),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
