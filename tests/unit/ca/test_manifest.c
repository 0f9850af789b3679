/*
 * test_manifest.c — batch manifest lines (ca/issue/manifest.c): tables of good and bad lines, and the
 * committed tests/data/{good,bad}/manifest/ files (bad: each line preceded by "# expect: TEXT").
 * The JSON syntax errors are libjansson's (its text quoted in the message, with our remedy).
 * Run from the repo root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "tests/unit/support/capture.h"

struct good_case {
    const char *line;
    const char *csr, *out, *sid, *subject;
    size_t n_san;
    const char *san[3];
};

static const struct good_case good_cases[] = {
    { "{\"csr\": \"req/ws01.csr\", \"out\": \"out/ws01.pem\"}",
      "req/ws01.csr", "out/ws01.pem", NULL, NULL, 0, { NULL } },
    { "{\"csr\":\"a.csr\",\"out\":\"a.pem\",\"sid\":\"S-1-5-21-1-2-3-1105\","
      "\"san\":[\"dns:ws01.contoso.com\",\"upn:ws01$@contoso.com\"],\"subject\":\"CN=WS01\"}\n",
      "a.csr", "a.pem", "S-1-5-21-1-2-3-1105", "CN=WS01", 2,
      { "dns:ws01.contoso.com", "upn:ws01$@contoso.com" } },
    { "  \t{ \"out\" : \"o\" , \"csr\" : \"c\" , \"san\" : [ ] }  \r\n",
      "c", "o", NULL, NULL, 0, { NULL } },
    { "{\"csr\": \"C:\\\\certs\\\\req.csr\", \"out\": \"a\\/b.pem\"}",
      "C:\\certs\\req.csr", "a/b.pem", NULL, NULL, 0, { NULL } },
    { "{\"csr\": \"q\\\"uote\\b\\f\\n\\r\\t\", \"out\": \"o\"}",
      "q\"uote\b\f\n\r\t", "o", NULL, NULL, 0, { NULL } },
    { "{\"csr\": \"\\u00e9\\u20AC\", \"out\": \"\\ud83d\\ude00\", \"subject\": \"CN=M\\u00fcller\\\\, Ana\"}",
      "\xc3\xa9\xe2\x82\xac", "\xf0\x9f\x98\x80", NULL, "CN=M\xc3\xbcller\\, Ana", 0, { NULL } },
    { "{\"csr\": \"raw \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 utf-8\", \"out\": \"o\", "
      "\"san\": [\"dns:a\", \"dns:b\", \"uri:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-4\"]}",
      "raw \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 utf-8", "o", NULL, NULL, 3,
      { "dns:a", "dns:b", "uri:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-4" } },
};

static void expect_str(const char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static void check_good(const struct good_case *g, const struct manifest_line *m)
{
    size_t k;

    expect_str(m->csr, g->csr);
    expect_str(m->out, g->out);
    expect_str(m->sid, g->sid);
    expect_str(m->subject, g->subject);
    assert_int_equal(m->n_san, g->n_san);
    for (k = 0; k < g->n_san; k++)
        assert_string_equal(m->san[k], g->san[k]);
}

static void test_good(void **state)
{
    struct manifest_line m;
    const char *msg;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        print_message("good: %s\n", good_cases[i].line);
        memset(&m, 0, sizeof(m));
        assert_true(capture_start(2));
        rc = manifest_parse_line(good_cases[i].line, strlen(good_cases[i].line), "batch.jsonl",
                                 i + 1, &m);
        msg = capture_stop();
        assert_string_equal(msg, "");
        assert_int_equal(rc, 0);
        check_good(&good_cases[i], &m);
        manifest_line_clear(&m);
        assert_null(m.csr);
        manifest_line_clear(&m);          /* a cleared line clears again harmlessly */
    }
}

struct bad_case {
    const char *name;
    const char *line;
    size_t len;                 /* 0: strlen */
    const char *fragment;
};

#define OK_START "{\"csr\": \"a.csr\", \"out\": \"a.pem\""

static const struct bad_case bad_cases[] = {
    { "not JSON", "csr=a.csr out=a.pem", 0, "not a JSON object (got something that is not JSON)" },
    { "an array, not an object", "[\"a.csr\"]", 0, "not a JSON object (got an array)" },
    { "a sentence starting with t", "this line is not JSON", 0,
      "not a JSON object (got something that is not JSON)" },
    { "a bare true", "true", 0, "not a JSON object (got a boolean)" },
    { "nullable is not null", "nullable", 0, "not a JSON object (got something that is not JSON)" },
    { "empty line", "", 0, "not a JSON object (got nothing (the line ends))" },
    { "comment line (caller skips these)", "# a comment", 0, "not a JSON object" },
    { "truncated after a value", OK_START, 0, "column 31: the line ends early ('}' expected "
      "near end of file); complete the object (a truncated line?)" },
    { "truncated inside a string", "{\"csr\": \"a.c", 0, "the line ends early (premature end of input "
      "near '\"a.c')" },
    { "truncated after a colon", "{\"csr\":", 0, "column 7: the line ends early" },
    { "trailing garbage after the object", OK_START "} x", 0, "column 34: text after the object" },
    { "two objects on a line", OK_START "}{}", 0, "text after the object" },
    { "trailing comma in the object", OK_START ",}", 0,
      "column 33: expected a key in double quotes (string or '}' expected near '}'); quote every "
      "key and leave no comma before '}'" },
    { "trailing comma in the array", OK_START ", \"san\": [\"dns:a\",]}", 0,
      "a value is missing (unexpected token near ']')" },
    { "missing comma between members", "{\"csr\": \"a\" \"out\": \"b\"}", 0,
      "expected ',' or '}' after a value ('}' expected near '\"out\"')" },
    { "missing colon", "{\"csr\" \"a\"}", 0, "expected ':' after a key (':' expected near '\"a\"')" },
    { "unquoted key", "{csr: \"a\"}", 0, "expected a key in double quotes" },
    { "single-quoted string", "{\"csr\": 'a'}", 0,
      "not a JSON value (invalid token near ''')" },
    { "missing csr", "{\"out\": \"a.pem\"}", 0, "key 'csr' is missing" },
    { "missing out", "{\"csr\": \"a.csr\"}", 0, "key 'out' is missing" },
    { "empty object", "{}", 0, "key 'csr' is missing" },
    { "unknown key", OK_START ", \"template\": \"user\"}", 0,
      "key 'template': unknown key; the keys are csr, out, sid, san, subject" },
    { "key case matters", "{\"CSR\": \"a\", \"out\": \"b\"}", 0, "key 'CSR': unknown key" },
    { "duplicate key", OK_START ", \"csr\": \"b.csr\"}", 0, "duplicate object key near '\"csr\"'; keep one" },
    { "duplicate san", OK_START ", \"san\": [], \"san\": []}", 0, "duplicate object key near '\"san\"'" },
    { "csr is a number", "{\"csr\": 12, \"out\": \"a\"}", 0,
      "key 'csr': expected a string; got a number" },
    { "sid is null", OK_START ", \"sid\": null}", 0, "key 'sid': expected a string; got null" },
    { "subject is an object", OK_START ", \"subject\": {\"CN\": \"x\"}}", 0,
      "key 'subject': expected a string; got an object" },
    { "out is a boolean", "{\"csr\": \"a\", \"out\": true}", 0,
      "key 'out': expected a string; got a boolean" },
    { "san is a string", OK_START ", \"san\": \"dns:a\"}", 0,
      "key 'san': expected an array of strings; got a string" },
    { "san holds a number", OK_START ", \"san\": [\"dns:a\", 5]}", 0,
      "key 'san': expected an array of strings; element 2 is a number" },
    { "san holds an array", OK_START ", \"san\": [[\"dns:a\"]]}", 0,
      "key 'san': expected an array of strings; element 1 is an array" },
    { "san array not closed", OK_START ", \"san\": [\"dns:a\" \"dns:b\"]}", 0,
      "expected ',' or ']' in the array (']' expected near '\"dns:b\"')" },
    { "empty csr string", "{\"csr\": \"\", \"out\": \"a\"}", 0, "key 'csr': empty string" },
    { "bad escape \\x", "{\"csr\": \"a\\x41\", \"out\": \"b\"}", 0,
      "not a JSON escape (invalid escape near '\"a\\x'); use \\\" \\\\ \\/ \\b" },
    { "bad escape \\'", "{\"csr\": \"a\\'\", \"out\": \"b\"}", 0, "invalid escape near '\"a\\''" },
    { "short \\u escape", "{\"csr\": \"a\\u12\", \"out\": \"b\"}", 0,
      "invalid escape near '\"a\\u12\"'" },
    { "non-hex \\u escape", "{\"csr\": \"a\\u12G4\", \"out\": \"b\"}", 0,
      "invalid escape near '\"a\\u12G'" },
    { "\\u0000", "{\"csr\": \"a\\u0000b\", \"out\": \"b\"}", 0, "\\u0000 (NUL) in a string; remove it" },
    { "lone high surrogate", "{\"csr\": \"\\ud83d\", \"out\": \"b\"}", 0,
      "a lone UTF-16 surrogate" },
    { "high surrogate then a non-surrogate", "{\"csr\": \"\\ud83d\\u0041\", \"out\": \"b\"}", 0,
      "a lone UTF-16 surrogate" },
    { "lone low surrogate", "{\"csr\": \"\\ude00\", \"out\": \"b\"}", 0,
      "a lone UTF-16 surrogate" },
    { "raw tab in a string", "{\"csr\": \"a\tb\", \"out\": \"b\"}", 0,
      "column 10: a raw control character in a string (control character 0x9 near '\"a')" },
    { "raw NUL in a string", "{\"csr\": \"a\0b\", \"out\": \"b\"}", 24,
      "a raw control character in a string (control character 0x0" },
    { "NUL after the object", OK_START "}\0", sizeof(OK_START "}\0") - 1, "text after the object" },
    { "invalid UTF-8", "{\"csr\": \"a\xff\", \"out\": \"b\"}", 0, "invalid UTF-8 (unable to decode byte 0xff" },
    { "overlong UTF-8", "{\"csr\": \"\xc0\xaf\", \"out\": \"b\"}", 0, "invalid UTF-8 (unable to decode byte 0xc0" },
    { "UTF-8 encoded surrogate", "{\"csr\": \"\xed\xa0\x80\", \"out\": \"b\"}", 0,
      "invalid UTF-8 (unable to decode byte 0xed" },
    { "duplicate key spelt with an escape", OK_START ", \"\\u0063sr\": \"b.csr\"}", 0,
      "duplicate object key near '\"\\u0063sr\"'; keep one" },
    { "number too big", "{\"csr\": 1e999, \"out\": \"b\"}", 0,
      "column 13: a number out of range (real number overflow near '1e999'); the manifest's values "
      "are strings" },
    { "an escape sequence quoted back is defused", "{\"csr\": \x1b[2J, \"out\": \"b\"}", 0,
      "not a JSON value (invalid token near '?'); values are strings" },
    { "escape at the end of the line", "{\"csr\": \"a\\", 0, "invalid escape near '\"a\\'" },
};

static void test_bad(void **state)
{
    unsigned char pat[sizeof(struct manifest_line)];
    struct manifest_line m;
    const char *msg;
    size_t i, len;
    int rc;

    assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 25);
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *b = &bad_cases[i];
        print_message("bad: %s\n", b->name);
        memset(&m, 0xA5, sizeof(m));       /* must stay untouched on failure */
        len = b->len ? b->len : strlen(b->line);
        assert_true(capture_start(2));
        rc = manifest_parse_line(b->line, len, "manifest.jsonl", 12, &m);
        msg = capture_stop();
        assert_int_equal(rc, EXIT_INPUT);
        memset(pat, 0xA5, sizeof(pat));
        assert_memory_equal(&m, pat, sizeof(m));
        if (strncmp(msg, "offca: manifest.jsonl:12: ", 26) != 0 || strstr(msg, b->fragment) == NULL)
            fail_msg("message '%s' lacks '%s'", msg, b->fragment);
        assert_int_equal(strchr(msg, '\n') - msg + 1, (long)strlen(msg));  /* one message */
    }
}

/* Limits: over-long lines, strings and SAN lists. */
static void test_limits(void **state)
{
    struct manifest_line m = { 0 };
    size_t cap = MAX_INPUT_BYTES + 64, used, i;
    char *line = malloc(cap);
    const char *msg;
    int rc;

    assert_non_null(line);
    used = (size_t)snprintf(line, cap, OK_START ", \"san\": [");
    for (i = 0; i < 65; i++)
        used += (size_t)snprintf(line + used, cap - used, "%s\"dns:h%zu\"", i ? "," : "", i);
    used += (size_t)snprintf(line + used, cap - used, "]}");
    assert_true(capture_start(2));
    rc = manifest_parse_line(line, used, "m", 1, &m);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_INPUT);
    assert_non_null(strstr(msg, "key 'san': more than 64 entries"));

    used = (size_t)snprintf(line, cap, "{\"csr\": \"");
    memset(line + used, 'a', 9000);
    used += 9000;
    used += (size_t)snprintf(line + used, cap - used, "\", \"out\": \"o\"}");
    assert_true(capture_start(2));
    rc = manifest_parse_line(line, used, "m", 2, &m);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_INPUT);
    assert_non_null(strstr(msg, "m:2: key 'csr': a string of 9000 bytes, over the limit of 8191; shorten it"));

    memset(line, ' ', MAX_INPUT_BYTES + 1);
    assert_true(capture_start(2));
    rc = manifest_parse_line(line, MAX_INPUT_BYTES + 1, "m", 3, &m);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_INPUT);
    assert_non_null(strstr(msg, "m:3: a line over 1048576 bytes"));
    free(line);
}

/* Split a loaded file into lines (NUL-terminating each); returns the count. */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    char *p = text, *nl;

    while (*p != '\0' && n < max) {
        nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        lines[n++] = p;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return n;
}

static void test_files(void **state)
{
    unsigned char *data;
    char *lines[256];
    struct manifest_line m;
    const char *msg, *expect = NULL;
    size_t len, n, i, good = 0, bad = 0;
    int rc;

    assert_int_equal(file_load("tests/data/good/manifest/batch.jsonl", MAX_INPUT_BYTES, &data, &len), 0);
    n = split_lines((char *)data, lines, 256);
    for (i = 0; i < n; i++) {
        if (lines[i][0] == '\0' || lines[i][0] == '#')      /* the caller's business */
            continue;
        memset(&m, 0, sizeof(m));
        assert_int_equal(manifest_parse_line(lines[i], strlen(lines[i]), "batch.jsonl", i + 1, &m), 0);
        assert_non_null(m.csr);
        assert_non_null(m.out);
        manifest_line_clear(&m);
        good++;
    }
    free(data);
    assert_int_equal(good, 4);

    assert_int_equal(file_load("tests/data/bad/manifest/bad.jsonl", MAX_INPUT_BYTES, &data, &len), 0);
    n = split_lines((char *)data, lines, 256);
    for (i = 0; i < n; i++) {
        if (strncmp(lines[i], "# expect: ", 10) == 0) {
            expect = lines[i] + 10;
            continue;
        }
        if (lines[i][0] == '#' || lines[i][0] == '\0')
            continue;
        assert_non_null(expect);
        assert_true(capture_start(2));
        rc = manifest_parse_line(lines[i], strlen(lines[i]), "bad.jsonl", i + 1, &m);
        msg = capture_stop();
        assert_int_equal(rc, EXIT_INPUT);
        if (strstr(msg, expect) == NULL)
            fail_msg("bad.jsonl:%zu: message '%s' lacks '%s'", i + 1, msg, expect);
        expect = NULL;
        bad++;
    }
    free(data);
    assert_true(bad >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_files),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
