/*
 * test_revbatch.c — the bulk revocation list reader (ca/revoke/revbatch_read.c, ca/common/csv.c): JSON lines
 * and CSV give the same entries; every malformed line is kept, marked and named, the good ones
 * around it still read; file-level refusals (encoding, header, CSV structure, no entries).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/common/common.h"
#include "ca/revoke/revoke.h"
#include "crl/crl.h"
#include "tests/unit/support/capture.h"

/* Read text; rc and the captured stderr. */
static int read_text(const char *text, struct rb_entry **e, size_t *n, const char **msg)
{
    int rc;

    *e = NULL;
    *n = 0;
    assert_true(capture_start(2));
    rc = revbatch_read("list", text, strlen(text), CRL_REASON_NONE, 0, e, n);
    *msg = capture_stop();
    return rc;
}

static void test_jsonl_and_csv_agree(void **state)
{
    static const char *const texts[] = {
        "# retired\n{\"serial\": \"0A:bc\", \"reason\": \"superseded\"}\n\n"
        "{\"san\": \"DNS:pc1.contoso.com\", \"ca\": \"iss\", \"invalidity_date\": "
        "\"2026-11-01T00:00:00Z\"}\n{\"subject\": \"CN=a, O=b\", \"san\": \"upn:a@b\"}\n",
        "\xef\xbb\xbfSerial,SAN,Reason,ca,invalidityDate,subject\r\n0A:bc,,superseded,,,\r\n"
        ",DNS:pc1.contoso.com,,iss,2026-11-01T00:00:00Z,\r\n,upn:a@b,,,,\"CN=a, O=b\"\r\n",
    };
    struct rb_entry *e;
    const char *msg;
    size_t n;

    (void)state;
    for (size_t t = 0; t < 2; t++) {
        assert_int_equal(read_text(texts[t], &e, &n, &msg), 0);
        assert_string_equal(msg, "");
        assert_int_equal(n, 3);
        assert_int_equal(e[0].state, RB_OK);
        assert_int_equal(e[0].n, 2);
        assert_int_equal(e[0].serial[0], 0x0a);
        assert_int_equal(e[0].serial[1], 0xbc);
        assert_int_equal(e[0].reason, CRL_REASON_SUPERSEDED);
        assert_string_equal(e[1].san, "dns:pc1.contoso.com");
        assert_string_equal(e[1].ca, "iss");
        assert_int_equal(e[1].reason, CRL_REASON_NONE);
        assert_int_equal(e[1].inval, 1793491200);        /* 2026-11-01T00:00:00Z */
        assert_string_equal(e[2].subject, "CN=a, O=b");
        assert_string_equal(e[2].san, "upn:a@b");
        assert_int_equal(e[0].line, 2);
        assert_int_equal(e[1].line, t == 0 ? 4 : 3);
        revbatch_free(e, n);
    }
}

static void test_defaults(void **state)
{
    struct rb_entry *e;
    size_t n;
    const char *text = "{\"serial\":\"01\"}\n{\"serial\":\"02\",\"reason\":\"keyCompromise\"}\n";

    (void)state;
    assert_int_equal(revbatch_read("l", text, strlen(text), CRL_REASON_CESSATION_OF_OPERATION,
                                   1000, &e, &n), 0);
    assert_int_equal(e[0].reason, CRL_REASON_CESSATION_OF_OPERATION);
    assert_int_equal(e[0].inval, 1000);
    assert_int_equal(e[1].reason, CRL_REASON_KEY_COMPROMISE);
    revbatch_free(e, n);
}

struct bad_line {
    const char *line, *expect;
};

static const struct bad_line bad_lines[] = {
    { "{\"serial\":\"01\",}", "list:2: column" },
    { "[\"serial\"]", "list:2: not a JSON object (got an array)" },
    { "{\"serial\":\"zz\"}", "list:2: serial 'zz': not a hex serial" },
    { "{\"serial\":\"\"}", "list:2: key 'serial': empty string" },
    { "{\"serial\":1}", "list:2: key 'serial': expected a string" },
    { "{\"serial\":\"01\",\"reason\":\"lost\"}", "list:2: reason 'lost': RFC 5280 5.3.1" },
    { "{\"serial\":\"01\",\"reason\":\"removeFromCRL\"}", "list:2: reason removeFromCRL" },
    { "{\"serial\":\"01\",\"invalidity_date\":\"2026-11-01\"}", "list:2: invalidity_date" },
    { "{\"serial\":\"01\",\"ca\":\"a b\"}", "list:2: ca 'a b': not a CA name" },
    { "{\"san\":\"pc1\"}", "list:2: san 'pc1'" },
    { "{\"reason\":\"superseded\"}", "list:2: no certificate named" },
    { "{\"serial\":\"01\",\"subject\":\"CN=x\"}", "list:2: both a serial and a subject/san" },
    { "{\"serial\":\"01\",\"Serial\":\"02\"}", "list:2: key 'Serial': unknown key" },
    { "{\"serial\":\"01\",\"serial\":\"02\"}", "list:2: column" },
};

/* A bad line between two good ones: kept, marked, named; the good ones read. */
static void test_bad_lines(void **state)
{
    char text[512];
    struct rb_entry *e;
    const char *msg;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        snprintf(text, sizeof(text), "{\"serial\":\"0a\"}\n%s\n{\"serial\":\"0b\"}\n",
                 bad_lines[i].line);
        assert_int_equal(read_text(text, &e, &n, &msg), 0);
        if (strstr(msg, bad_lines[i].expect) == NULL)
            fail_msg("line %s: wanted '%s' in: %s", bad_lines[i].line, bad_lines[i].expect, msg);
        assert_int_equal(n, 3);
        assert_int_equal(e[0].state, RB_OK);
        assert_int_equal(e[1].state, RB_MALFORMED);
        assert_non_null(e[1].why);
        assert_int_equal(e[1].line, 2);
        assert_int_equal(e[2].state, RB_OK);
        revbatch_free(e, n);
    }
}

static void test_csv_rows(void **state)
{
    struct rb_entry *e;
    const char *msg;
    size_t n;

    (void)state;
    assert_int_equal(read_text("serial,reason\n01,superseded\n02\n\"0\"\"3\",x\n04,,extra\n"
                               "\"05\nline\",superseded\n06,superseded\n", &e, &n, &msg), 0);
    assert_int_equal(n, 6);
    assert_int_equal(e[0].state, RB_OK);
    assert_int_equal(e[1].state, RB_MALFORMED);         /* one field, the header has two */
    assert_non_null(strstr(msg, "list:3: 1 fields, the header has 2"));
    assert_int_equal(e[2].state, RB_MALFORMED);         /* 0"3 is no serial */
    assert_int_equal(e[3].state, RB_MALFORMED);
    assert_int_equal(e[4].state, RB_MALFORMED);         /* a serial with a newline in it */
    assert_int_equal(e[4].line, 6);
    assert_int_equal(e[5].line, 8);                     /* lines counted through the quote */
    assert_int_equal(e[5].state, RB_OK);
    revbatch_free(e, n);
}

struct bad_file {
    const char *text, *expect;
};

static const struct bad_file bad_files[] = {
    { "", "list: empty; give a header row" },
    { "\n\n", "list: empty; give a header row" },
    { "# only comments\n", "list: no entries" },
    { "serial,colour\n01,red\n", "list:1: header: column 'colour' is unknown" },
    { "serial,Serial\n01,02\n", "list:1: header: column serial appears twice" },
    { "reason\nsuperseded\n", "list:1: header: no serial, subject or san column" },
    { "serial\n\"01\n", "list:2: RFC 4180: a quoted field is never closed" },
    { "serial\n\"01\"x\n", "list:2: RFC 4180: text after a closing quote" },
    { "serial\n0\"1\n", "list:2: RFC 4180: a quote inside an unquoted field" },
    { "serial\r01\n", "RFC 4180: a carriage return not followed by a line feed" },
    { "serial\n", "list: no entries" },
    { "\xff\xfes\0e\0", "list: encoding: the file is UTF-16" },
};

static void test_bad_files(void **state)
{
    struct rb_entry *e;
    const char *msg;
    size_t n;
    int rc;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        size_t len = bad_files[i].text[0] == '\xff' ? 6 : strlen(bad_files[i].text);
        assert_true(capture_start(2));
        rc = revbatch_read("list", bad_files[i].text, len, CRL_REASON_NONE, 0, &e, &n);
        msg = capture_stop();
        assert_int_equal(rc, EXIT_INPUT);
        if (strstr(msg, bad_files[i].expect) == NULL)
            fail_msg("file %zu: wanted '%s' in: %s", i, bad_files[i].expect, msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_and_csv_agree),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_csv_rows),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
