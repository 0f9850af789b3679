/*
 * test_base.c — base/: the one error slot (per thread, prefix, the OpenSSL queue drained into
 * it), the hex codec and the UTF-8 decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/utf8.h"

static void test_err_set_prefix_clear(void **state)
{
    base_err_set(ERRC_INPUT, "file %s: line %d: bad", "a.csv", 3);
    assert_string_equal(base_err_msg(), "file a.csv: line 3: bad");
    assert_int_equal(base_err_code(), 3);
    base_err_prefix("import %s", "x");
    assert_string_equal(base_err_msg(), "import x: file a.csv: line 3: bad");
    assert_int_equal(base_err_code(), 3);
    base_err_clear();
    assert_string_equal(base_err_msg(), "");
    assert_int_equal(base_err_code(), 0);
}

/* A real OpenSSL failure lands in the message, oldest first, and the queue ends empty. */
static void test_err_ossl(void **state)
{
    char buf[16];

    ERR_clear_error();
    base_err_set_ossl(ERRC_SYSTEM, "nothing queued");
    assert_string_equal(base_err_msg(), "nothing queued");
    assert_null(EVP_MD_fetch(NULL, "no-such-digest", NULL));
    assert_int_not_equal(ERR_peek_error(), 0);
    base_err_set_ossl(ERRC_SYSTEM, "fetch");
    assert_int_equal(strncmp(base_err_msg(), "fetch (OpenSSL: error:", 22), 0);
    assert_non_null(strstr(base_err_msg(), "unsupported"));
    assert_int_equal(ERR_peek_error(), 0);
    /* a short buffer is truncated, still terminated, and the queue still emptied */
    assert_null(EVP_MD_fetch(NULL, "no-such-digest", NULL));
    assert_null(EVP_MD_fetch(NULL, "no-such-digest-2", NULL));
    base_ossl_drain(buf, sizeof(buf));
    assert_true(strlen(buf) < sizeof(buf));
    assert_int_equal(ERR_peek_error(), 0);
    base_ossl_drain(buf, sizeof(buf));
    assert_string_equal(buf, "");
}

static void *other_thread(void *arg)
{
    base_err_set(ERRC_POLICY, "thread's own");
    return (void *)(intptr_t)(strcmp(base_err_msg(), "thread's own") == 0);
}

static void test_err_per_thread(void **state)
{
    pthread_t th;
    void *ok = NULL;

    base_err_set(ERRC_USAGE, "main's");
    assert_int_equal(pthread_create(&th, NULL, other_thread, NULL), 0);
    assert_int_equal(pthread_join(th, &ok), 0);
    assert_true(ok != NULL);
    assert_string_equal(base_err_msg(), "main's");
    assert_int_equal(base_err_code(), 2);
}

static void test_hex(void **state)
{
    const unsigned char in[] = { 0x00, 0x7f, 0x80, 0xab, 0xff };
    unsigned char out[5];
    char s[11];

    hex_encode(in, sizeof(in), s);
    assert_string_equal(s, "007f80abff");
    hex_encode(in, 0, s);
    assert_string_equal(s, "");
    assert_true(hex_decode_lower("007f80abff", out, 5));
    assert_memory_equal(out, in, 5);
    assert_false(hex_decode_lower("007F80abff", out, 5));  /* upper case: not what offca writes */
    assert_false(hex_decode_lower("007f80abf", out, 5));   /* short */
    assert_false(hex_decode_lower("007f80abff0", out, 5)); /* long */
    assert_false(hex_decode_lower("007f80abfg", out, 5));
    assert_int_equal(hex_digit('0'), 0);
    assert_int_equal(hex_digit('9'), 9);
    assert_int_equal(hex_digit('a'), 10);
    assert_int_equal(hex_digit('F'), 15);
    assert_int_equal(hex_digit('g'), -1);
    assert_int_equal(hex_digit('/'), -1);
    assert_int_equal(hex_digit(':'), -1);
}

static void test_utf8(void **state)
{
    static const struct { const char *s; size_t len; int n; unsigned long cp; } v[] = {
        { "A", 1, 1, 0x41 },
        { "\xC3\xA9", 2, 2, 0xE9 },
        { "\xE2\x82\xAC", 3, 3, 0x20AC },
        { "\xF0\x9F\x98\x80", 4, 4, 0x1F600 },
        { "\xF4\x8F\xBF\xBF", 4, 4, 0x10FFFF },
        { "\xC0\x80", 2, 0, 0 },          /* overlong NUL */
        { "\xC1\xBF", 2, 0, 0 },          /* overlong */
        { "\xE0\x80\x80", 3, 0, 0 },      /* overlong */
        { "\xF0\x80\x80\x80", 4, 0, 0 },  /* overlong */
        { "\xED\xA0\x80", 3, 0, 0 },      /* surrogate U+D800 */
        { "\xF4\x90\x80\x80", 4, 0, 0 },  /* above U+10FFFF */
        { "\xF5\x80\x80\x80", 4, 0, 0 },
        { "\x80", 1, 0, 0 },              /* stray continuation */
        { "\xE2\x82", 2, 0, 0 },          /* truncated */
        { "\xE2\x28\xA1", 3, 0, 0 },      /* bad continuation */
    };
    unsigned long cp;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cp = 0;
        assert_int_equal(utf8_next((const unsigned char *)v[i].s, v[i].len, &cp), v[i].n);
        if (v[i].n > 0)
            assert_int_equal(cp, v[i].cp);
    }
    assert_int_equal(utf8_next((const unsigned char *)"", 0, &cp), 0);
    assert_int_equal(utf8_next((const unsigned char *)"\0", 1, &cp), 1);
    assert_int_equal(cp, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_prefix_clear),
        cmocka_unit_test(test_err_ossl),
        cmocka_unit_test(test_err_per_thread),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
