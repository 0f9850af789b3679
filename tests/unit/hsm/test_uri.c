/*
 * test_uri.c — RFC 7512 URI parsing and formatting: valid URIs (percent-encoding, binary ids)
 * and refused ones, each with a fragment of its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hsm/hsm.h"

struct good { const char *uri, *token, *object, *type; const char *id; size_t id_len; };

static const struct good goods[] = {
    { "pkcs11:token=offca;object=ca-key;type=private", "offca", "ca-key", "private", NULL, 0 },
    { "pkcs11:object=my%20key", NULL, "my key", "", NULL, 0 },
    { "pkcs11:id=%01%02", NULL, NULL, "", "\x01\x02", 2 },
    { "pkcs11:id=%00%ff%FE", NULL, NULL, "", "\x00\xff\xfe", 3 },
    { "pkcs11:token=a%3Bb;object=x%2fy", "a;b", "x/y", "", NULL, 0 },
    { "pkcs11:object=k;type=public", NULL, "k", "public", NULL, 0 },
    { "pkcs11:object=a b", NULL, "a b", "", NULL, 0 },   /* the label as written, space kept */
    { "pkcs11:object=k;type=cert", NULL, "k", "cert", NULL, 0 },
    { "pkcs11:", NULL, NULL, "", NULL, 0 },
    { "pkcs11:serial=0123abcd;object=k", NULL, "k", "", NULL, 0 },
    { "PKCS11:object=k", NULL, "k", "", NULL, 0 },      /* RFC 3986 3.1: scheme is caseless */
};

static void test_uri_good(void **state)
{
    struct hsm_uri u;
    size_t i;

    for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        const struct good *g = &goods[i];

        if (!hsm_uri_parse(g->uri, &u))
            fail_msg("case %zu '%s': %s", i, g->uri, hsm_error());
        assert_int_equal(u.has_token, g->token != NULL);
        if (g->token)
            assert_string_equal(u.token, g->token);
        assert_int_equal(u.has_object, g->object != NULL);
        if (g->object)
            assert_string_equal(u.object, g->object);
        assert_string_equal(u.type, g->type);
        assert_int_equal(u.has_id, g->id != NULL);
        assert_int_equal(u.id_len, g->id_len);
        if (g->id)
            assert_memory_equal(u.id, g->id, g->id_len);
    }
    assert_true(hsm_uri_parse("pkcs11:serial=0123abcd", &u));
    assert_int_equal(u.has_serial, 1);
    assert_string_equal(u.serial, "0123abcd");
}

struct bad { const char *uri, *msg; };

static const struct bad bads[] = {
    { "pkcs11:object=k;pin-value=1234", "'pin-value' is refused, a PIN never goes in a URI" },
    { "pkcs11:pin-source=file:/x", "'pin-source' is refused" },
    { "pkcs11:object=k?pin-value=1", "query attributes (after '?') are refused" },
    { "pkcs11:object=k;object=j", "attribute 'object' appears twice" },
    { "pkcs11:id=%01;id=%02", "attribute 'id' appears twice" },
    { "pkcs11:type=private;type=public", "attribute 'type' appears twice" },
    { "pkcs11:object=%zz", "'object' has a bad percent-encoding" },
    { "pkcs11:id=%0", "'id' has a bad percent-encoding" },
    { "pkcs11:object=a%", "bad percent-encoding" },
    { "pkcs11:object=a%00b", "contains %00" },
    { "pkcs11:slot-id=3", "unknown attribute 'slot-id'" },
    { "pkcs11:model=x", "unknown attribute 'model'" },
    { "pkcs11:object", "'object' is not name=value" },
    { "pkcs11:=x", "is not name=value" },
    { "pkcs11:object=", "attribute 'object' is empty" },
    { "pkcs11:type=secret-key", "type 'secret-key' is not supported" },
    { "object=k", "does not start with 'pkcs11:'" },
    { "pkcs11:id=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14%15%16%17%18%19"
      "%1a%1b%1c%1d%1e%1f%20%21%22%23%24%25%26%27%28%29%2a%2b%2c%2d%2e%2f%30%31%32%33%34%35"
      "%36%37%38%39%3a%3b%3c%3d%3e%3f%40%41", "'id': longer than 64 bytes" },
};

static void test_uri_bad(void **state)
{
    struct hsm_uri u;
    size_t i;

    for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        memset(&u, 0x5a, sizeof(u));
        assert_int_equal(hsm_uri_parse(bads[i].uri, &u), 0);
        if (strstr(hsm_error(), bads[i].msg) == NULL)
            fail_msg("case %zu '%s': '%s' lacks '%s'", i, bads[i].uri, hsm_error(), bads[i].msg);
        assert_int_equal(hsm_error_code(), 3);
        assert_int_equal(u.has_token, 0x5a5a5a5a);   /* out untouched on failure */
    }
    assert_int_equal(hsm_uri_parse(NULL, &u), 0);
}

static void test_uri_long(void **state)
{
    char big[HSM_MAX_URI + 16];
    struct hsm_uri u;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "pkcs11:object=", 14);
    assert_int_equal(hsm_uri_parse(big, &u), 0);
    assert_non_null(strstr(hsm_error(), "longer than 511 bytes"));
}

struct fmt { const char *token, *object; const char *id; size_t id_len; const char *type, *want; };

static const struct fmt fmts[] = {
    { "offca", "ca-key", "\x01\x02", 2, "private", "pkcs11:token=offca;object=ca-key;id=%01%02;type=private" },
    { "my token", "a;b/c", NULL, 0, NULL, "pkcs11:token=my%20token;object=a%3Bb%2Fc" },
    { NULL, NULL, "\xab", 1, NULL, "pkcs11:id=%ab" },
    { NULL, "k", NULL, 0, "", "pkcs11:object=k" },
};

static void test_uri_format(void **state)
{
    char buf[HSM_MAX_URI];
    struct hsm_uri u;
    size_t i;

    for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        const struct fmt *f = &fmts[i];

        assert_int_equal(hsm_uri_format(f->token, f->object, (const unsigned char *)f->id,
                                         f->id_len, f->type, buf, sizeof(buf)), 1);
        assert_string_equal(buf, f->want);
        /* Round trip: what we print, we parse back to the same values. */
        assert_int_equal(hsm_uri_parse(buf, &u), 1);
        if (f->object)
            assert_string_equal(u.object, f->object);
        if (f->token)
            assert_string_equal(u.token, f->token);
        assert_int_equal(u.id_len, f->id_len);
    }
    assert_int_equal(hsm_uri_format("offca", "ca-key", NULL, 0, NULL, buf, 12), 0);
    assert_non_null(strstr(hsm_error(), "does not fit in 12 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_good),
        cmocka_unit_test(test_uri_bad),
        cmocka_unit_test(test_uri_long),
        cmocka_unit_test(test_uri_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
