/*
 * test_url.c — the URL rules for CDP/AIA/IDP and the RFC 5280 reason names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crl/crl.h"

static const struct {
    const char *url;
    const char *want;            /* NULL: accepted */
} urls[] = {
    { "http://pki.example.com/Issuing.crl", NULL },
    { "http://pki.example.com:8080/crl/Issuing%20CA.crl", NULL },
    { "http://10.0.0.1/a.crt", NULL },
    { "https://pki.example.com/a.crl", "itself needs a revocation check" },
    { "ldap:///CN=Issuing,CN=CDP?certificateRevocationList", "LDAP is not offered" },
    { "HTTP://pki.example.com/a.crl", "lower case" },
    { "ftp://pki.example.com/a.crl", "plain HTTP" },
    { "http:///a.crl", "no host" },
    { "http://:80/a.crl", "no host" },
    { "http://pki.example.com:0/a.crl", "port is not a number" },
    { "http://pki.example.com:99999/a.crl", "port is not a number" },
    { "http://pki.example.com:/a.crl", "port is not a number" },
    { "http://user@pki.example.com/a.crl", "credentials" },
    { "http://pki.example.com/a b.crl", "space at position 25" },
    { "http://pki.example.com/a.crl#x", "fragment" },
    { "http://pki.example.com/\x01.crl", "control character" },
    { "http://pki.example.com/\xc3\xa9.crl", "non-ASCII" },
    { "", "empty" },
};

static void test_url(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        int ok = crl_url_check(urls[i].url, "cdp_url");

        if (urls[i].want == NULL) {
            if (!ok)
                fail_msg("'%s' refused: %s", urls[i].url, crl_error());
            continue;
        }
        if (ok)
            fail_msg("'%s' accepted", urls[i].url);
        if (strstr(crl_error(), urls[i].want) == NULL || strstr(crl_error(), "cdp_url") == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", urls[i].url, crl_error(), urls[i].want);
        assert_int_equal(crl_error_code(), 2);
    }
}

static void test_url_long(void **state)
{
    char u[2100];

    memcpy(u, "http://a/", 9);
    memset(u + 9, 'x', sizeof(u) - 10);
    u[sizeof(u) - 1] = '\0';
    assert_false(crl_url_check(u, "aia_url"));
    assert_non_null(strstr(crl_error(), "exceed 2048"));
    assert_false(crl_url_check(NULL, "aia_url"));
    assert_non_null(strstr(crl_error(), "empty"));
}

static void test_reasons(void **state)
{
    static const struct { const char *name; crl_reason_t r; } t[] = {
        { "unspecified", 0 }, { "keyCompromise", 1 }, { "cACompromise", 2 },
        { "affiliationChanged", 3 }, { "superseded", 4 }, { "cessationOfOperation", 5 },
        { "certificateHold", 6 }, { "removeFromCRL", 8 }, { "privilegeWithdrawn", 9 },
        { "aACompromise", 10 },
    };
    static const char *const bad[] = { "keycompromise", "", "7", "caCompromise ", "none" };
    crl_reason_t r;
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        assert_true(crl_reason_parse(t[i].name, &r));
        assert_int_equal(r, t[i].r);
        assert_string_equal(crl_reason_name(r), t[i].name);
    }
    assert_true(crl_reason_parse("caCompromise", &r));
    assert_int_equal(r, CRL_REASON_CA_COMPROMISE);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(crl_reason_parse(bad[i], &r));
        assert_non_null(strstr(crl_error(), "unknown reason"));
        assert_int_equal(crl_error_code(), 2);
    }
    assert_string_equal(crl_reason_name(CRL_REASON_NONE), "none");
    assert_string_equal(crl_reason_name(7), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_url_long),
        cmocka_unit_test(test_reasons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
