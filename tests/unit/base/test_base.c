/*
 * test_base.c — base/: the one error slot (per thread, prefix, the OpenSSL queue drained into
 * it) and the hex codec.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_prefix_clear),
        cmocka_unit_test(test_err_ossl),
        cmocka_unit_test(test_err_per_thread),
        cmocka_unit_test(test_hex),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
