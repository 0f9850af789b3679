/*
 * test_san.c — "type:value" SAN text: every type, case-insensitive types, and refusals with
 * their messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "templates/template.h"

struct good_san { const char *text; enum san_type type; const char *value; };

static void test_parse_good(void **state)
{
    static const struct good_san good[] = {
        {"dns:pc1.contoso.com", SAN_DNS, "pc1.contoso.com"},
        {"DNS:PC1.Contoso.COM", SAN_DNS, "PC1.Contoso.COM"},
        {"dns:*.contoso.com", SAN_DNS, "*.contoso.com"},
        {"dns:localhost", SAN_DNS, "localhost"},
        {"dns:xn--caf-dma.example", SAN_DNS, "xn--caf-dma.example"},
        {"upn:jdoe@contoso.com", SAN_UPN, "jdoe@contoso.com"},
        {"Upn:j\xc3\xb6rg@contoso.com", SAN_UPN, "j\xc3\xb6rg@contoso.com"},
        {"email:jdoe@contoso.com", SAN_EMAIL, "jdoe@contoso.com"},
        {"EMAIL:a@b", SAN_EMAIL, "a@b"},
        {"uri:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1105", SAN_URI,
         "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1105"},
        {"uri:https://pki.contoso.com/a?b=c", SAN_URI, "https://pki.contoso.com/a?b=c"},
        {"ip:10.0.0.1", SAN_IP, "10.0.0.1"},
        {"IP:2001:db8::1", SAN_IP, "2001:db8::1"},
        {"ip:::ffff:10.0.0.1", SAN_IP, "::ffff:10.0.0.1"},
    };
    char value[256];
    enum san_type t;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!san_parse(good[i].text, &t, value, sizeof(value)))
            fail_msg("%s refused: %s", good[i].text, tmpl_error());
        assert_int_equal(t, good[i].type);
        assert_string_equal(value, good[i].value);
    }
}

struct bad_san { const char *text; const char *frag; };

static void test_parse_bad(void **state)
{
    static const struct bad_san bad[] = {
        {"pc1.contoso.com", "unknown or missing type"},
        {"dnsname:pc1", "TYPE one of dns, upn, email, uri, ip"},
        {":x", "unknown or missing type"},
        {"rfc822:a@b", "unknown or missing type"},
        {"dns:", "empty value"},
        {"ip:", "empty value"},
        {"dns:pc1\n.contoso.com", "control character"},
        {"upn:a\x01@b", "control character"},
        {"upn:\xc3@b", "invalid UTF-8"},
        {"dns:pc1.contoso.com.", "not a DNS name"},
        {"dns:pc_1.contoso.com", "not a DNS name"},
        {"dns:-pc1.contoso.com", "not a DNS name"},
        {"dns:pc1-.contoso.com", "not a DNS name"},
        {"dns:pc1..contoso.com", "not a DNS name"},
        {"dns:caf\xc3\xa9.example", "punycode"},
        {"dns:a.*.example", "not a DNS name"},
        {"dns:*.", "not a DNS name"},
        {"dns:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "1-63"},
        {"upn:jdoe", "user@suffix"},
        {"upn:@contoso.com", "user@suffix"},
        {"upn:a@b@c", "user@suffix"},
        {"upn:j doe@contoso.com", "without spaces"},
        {"email:jdoe", "local@domain"},
        {"email:j\xc3\xb6@contoso.com", "in ASCII"},
        {"uri:no-scheme", "needs a scheme"},
        {"uri:1http://x", "needs a scheme"},
        {"uri:http://a b", "needs a scheme"},
        {"uri:http:", "needs a scheme"},
        {"ip:10.0.0.256", "not an IPv4 or IPv6"},
        {"ip:10.0.0", "not an IPv4 or IPv6"},
        {"ip: 10.0.0.1", "not an IPv4 or IPv6"},
        {"ip:pc1.contoso.com", "not an IPv4 or IPv6"},
        {"ip:2001:db8::1::2", "not an IPv4 or IPv6"},
    };
    char value[256];
    enum san_type t = SAN_IP;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (san_parse(bad[i].text, &t, value, sizeof(value)))
            fail_msg("'%s' accepted", bad[i].text);
        if (strstr(tmpl_error(), bad[i].frag) == NULL)
            fail_msg("'%s': '%s' lacks '%s'", bad[i].text, tmpl_error(), bad[i].frag);
        assert_int_equal(tmpl_error_code(), 2);
        assert_int_equal(t, SAN_IP);   /* out-parameters untouched on failure */
    }
    assert_false(san_parse("dns:pc1.contoso.com", &t, value, 8));
    assert_non_null(strstr(tmpl_error(), "too long"));
    assert_false(san_parse(NULL, &t, value, sizeof(value)));
    assert_non_null(strstr(tmpl_error(), "missing"));
}

static void test_type_names(void **state)
{
    static const char *names[] = {"dns", "upn", "email", "uri", "ip"};
    char text[32], value[32];
    enum san_type t;
    int i;

    (void)state;
    for (i = 0; i < SAN_TYPE_COUNT; i++) {
        assert_string_equal(san_type_name((enum san_type)i), names[i]);
        /* every name parses back to its type */
        strcpy(text, names[i]);
        strcat(text, i == SAN_IP ? ":10.1.2.3" : i == SAN_URI ? ":urn:x" : i == SAN_DNS
               ? ":a.b" : ":a@b");
        assert_true(san_parse(text, &t, value, sizeof(value)));
        assert_int_equal(t, i);
    }
    assert_string_equal(san_type_name(SAN_TYPE_COUNT), "?");
    assert_string_equal(san_type_name((enum san_type)-1), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_type_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
