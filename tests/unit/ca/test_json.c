/*
 * test_json.c — --json string writing (ca/common/json.c): exact bytes for escapes, UTF-8 passed through,
 * bytes that are not UTF-8 written as U+FFFD, null for NULL, and every output parses back (with
 * libjansson) to the string written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"

/* What json_str writes for s, NUL-terminated (caller frees). */
static char *written(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    json_str(f, s);
    assert_int_equal(fclose(f), 0);
    return buf;
}

struct str_case {
    const char *in, *out;
};

static const struct str_case cases[] = {
    { "", "\"\"" },
    { "CN=WS01,DC=contoso,DC=com", "\"CN=WS01,DC=contoso,DC=com\"" },
    { "q\"b\\s/", "\"q\\\"b\\\\s/\"" },
    { "\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"" },
    { "\x01\x1f\x7f", "\"\\u0001\\u001F\x7f\"" },
    { "M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x98\x80", "\"M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x98\x80\"" },
    { "a\xff" "b", "\"a\xef\xbf\xbd" "b\"" },
    { "\xc3", "\"\xef\xbf\xbd\"" },
    { "\xc0\xaf\xc3\xa9", "\"\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\"" },
    { "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
};

static void test_strings(void **state)
{
    json_error_t err;
    json_t *back;
    size_t i;
    char *out;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        out = written(cases[i].in);
        assert_string_equal(out, cases[i].out);
        back = json_loads(out, JSON_DECODE_ANY, &err);
        assert_non_null(back);
        assert_true(json_is_string(back));
        if (strstr(cases[i].out, "\xef\xbf\xbd") == NULL)
            assert_string_equal(json_string_value(back), cases[i].in);
        json_decref(back);
        free(out);
    }
    out = written(NULL);
    assert_string_equal(out, "null");
    free(out);
}

static void test_members(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    fputc('{', f);
    json_kv(f, 1, "serial", "0A1B");
    json_kv(f, 0, "sid", NULL);
    json_kv_int(f, 0, "seq", -42);
    json_kv(f, 0, "detail", "path /tmp/\xfe.csr");
    fputc('}', f);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "{\"serial\":\"0A1B\",\"sid\":null,\"seq\":-42,"
                             "\"detail\":\"path /tmp/\xef\xbf\xbd.csr\"}");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_members),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
