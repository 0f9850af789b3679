/*
 * test_dircsv.c — AD export parser (ca/directory/dircsv.c): tables of CSV texts, plus the committed
 * exports in tests/data/{good,bad}/csv/. Run from the repo root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/directory/directory.h"
#include "ca/store/store.h"
#include "tests/unit/support/capture.h"

/* The MS-DTYP test vector in its three spellings. */
#define V     "S-1-5-21-1004336348-1177238915-682003330-1105"
#define V_HEX "010500000000000515000000dcf4dc3b833d2b46828ba62851040000"
#define V_B64 "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA=="
#define V2    "S-1-5-21-1004336348-1177238915-682003330-1106"
#define V3    "S-1-5-21-1004336348-1177238915-682003330-1107"
#define V4    "S-1-5-21-1004336348-1177238915-682003330-1108"

struct want {
    const char *sam, *upn, *dns, *sid;
};

struct good_case {
    const char *name;
    const char *text;
    size_t n;
    struct want e[3];          /* the first entries, in file order */
};

static const struct good_case good_cases[] = {
    { "computers export, Windows PowerShell 5, CRLF",
      "#TYPE Microsoft.ActiveDirectory.Management.ADComputer\r\n"
      "\"DNSHostName\",\"Name\",\"objectSid\",\"SamAccountName\",\"SID\"\r\n"
      "\"ws01.contoso.com\",\"WS01\",\"" V "\",\"WS01$\",\"" V "\"\r\n"
      "\"ws02.contoso.com\",\"WS02\",\"" V2 "\",\"WS02$\",\"" V2 "\"\r\n", 2,
      { { "WS01$", NULL, "ws01.contoso.com", V }, { "WS02$", NULL, "ws02.contoso.com", V2 } } },
    { "users export, UTF-8 BOM, LF, UPN",
      "\xef\xbb\xbf\"SamAccountName\",\"UserPrincipalName\",\"SID\"\n"
      "\"amueller\",\"ana.m\xc3\xbcller@contoso.com\",\"" V "\"\n", 1,
      { { "amueller", "ana.m\xc3\xbcller@contoso.com", NULL, V } } },
    { "binary objectSid as lowercase hex",
      "SamAccountName,objectSid\nWS01$," V_HEX "\n", 1, { { "WS01$", NULL, NULL, V } } },
    { "binary objectSid as uppercase hex",
      "SamAccountName,objectSid\nWS01$,010500000000000515000000DCF4DC3B833D2B46828BA62851040000\n",
      1, { { "WS01$", NULL, NULL, V } } },
    { "binary objectSid as base64 (ldifde)",
      "SamAccountName,objectSid\nWS01$," V_B64 "\n", 1, { { "WS01$", NULL, NULL, V } } },
    { "SID and objectSid agree across forms",
      "\"SamAccountName\",\"SID\",\"objectSid\"\n\"WS01$\",\"" V "\",\"" V_B64 "\"\n", 1,
      { { "WS01$", NULL, NULL, V } } },
    { "quoted commas, doubled quotes, newline in an ignored column",
      "\"Description\",\"DNSHostName\",\"SID\"\n"
      "\"Web, \"\"front\"\" end\nsecond line\",\"web.contoso.com\",\"" V "\"\n"
      "\"plain\",\"db.contoso.com\",\"" V2 "\"\n", 2,
      { { NULL, NULL, "web.contoso.com", V }, { NULL, NULL, "db.contoso.com", V2 } } },
    { "blank lines (LF and CRLF) skipped, no newline at the end",
      "\n\r\nSamAccountName,SID\n\nWS01$," V "\r\n\r\n\nWS02$," V2, 2,
      { { "WS01$", NULL, NULL, V }, { "WS02$", NULL, NULL, V2 } } },
    { "header names in any case, unknown columns ignored, empty values are absent",
      "\"SAMACCOUNTNAME\",\"userprincipalname\",\"Extra\",\"dnshostname\",\"sid\"\n"
      "\"\",\"user@contoso.com\",,\"\",\"" V "\"\n", 1,
      { { NULL, "user@contoso.com", NULL, V } } },
    { "one name in two kinds is not a duplicate",
      "SamAccountName,DNSHostName,SID\nweb,x.contoso.com," V "\nother,web," V2 "\n", 2,
      { { "web", NULL, "x.contoso.com", V }, { "other", NULL, "web", V2 } } },
};

static void expect_str(const char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static void test_good(void **state)
{
    struct dir_entry *e;
    size_t i, k, n;
    const char *msg;
    int rc;

    for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const struct good_case *g = &good_cases[i];
        print_message("good: %s\n", g->name);
        e = NULL;
        n = 0;
        assert_true(capture_start(2));
        rc = dircsv_parse(g->text, strlen(g->text), "mem.csv", &e, &n);
        msg = capture_stop();
        assert_string_equal(msg, "");
        assert_int_equal(rc, 0);
        assert_int_equal(n, g->n);
        for (k = 0; k < n && k < 3; k++) {
            expect_str(e[k].sam, g->e[k].sam);
            expect_str(e[k].upn, g->e[k].upn);
            expect_str(e[k].dns, g->e[k].dns);
            expect_str(e[k].sid, g->e[k].sid);
        }
        dircsv_free(e, n);
    }
}

struct bad_case {
    const char *name;
    const char *text;
    size_t len;                 /* 0: strlen(text) */
    const char *where;          /* "mem.csv:LINE:" or "mem.csv:" */
    const char *fragment;
};

#define HDR "SamAccountName,UserPrincipalName,DNSHostName,SID\n"

static const struct bad_case bad_cases[] = {
    { "string SID with a leading zero", HDR "a,,," V "\nb,,,S-1-5-021-1\n", 0, "mem.csv:3:",
      "column SID: SID 'S-1-5-021-1': MS-DTYP 2.4.2.1" },
    { "objectSid neither SID nor hex nor base64", "SamAccountName,objectSid\na,0105zz\n", 0,
      "mem.csv:2:", "column objectSid: '0105zz' is not a SID" },
    { "hex objectSid with a wrong sub-authority count",
      "SamAccountName,objectSid\na,010600000000000515000000dcf4dc3b833d2b46828ba62851040000\n", 0,
      "mem.csv:2:", "column objectSid: objectSid: MS-DTYP 2.4.2.2" },
    { "hex objectSid of odd length",
      "SamAccountName,objectSid\na,010500000000000515000000dcf4dc3b833d2b46828ba6285104000\n", 0,
      "mem.csv:2:", "is not a SID" },
    /* Found by fuzzing: 92 unpadded base64 characters decode to 69 bytes, one more than the
     * largest binary SID; it used to overrun the decoder's 68-byte buffer. */
    { "base64 objectSid of 69 bytes (over the 68-byte maximum)",
      "SamAccountName,objectSid\na,"
      "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAAEFAAAAAAAFFQAAANz03DuDPStGgoumKFEEAAABBQAAAAAABRUAAADc"
      "\n", 0, "mem.csv:2:", "column objectSid" },
    { "base64 objectSid with bad padding",
      "SamAccountName,objectSid\na,AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA=\n", 0, "mem.csv:2:",
      "is not a SID" },
    { "base64 objectSid with a character outside the alphabet",
      "SamAccountName,objectSid\na,AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6Yo.QQAAA==\n", 0, "mem.csv:2:",
      "is not a SID" },
    { "SID and objectSid disagree",
      "SamAccountName,SID,objectSid\na," V2 "," V_B64 "\n", 0, "mem.csv:2:",
      "column objectSid: " V " does not match column SID " V2 },
    { "row without SID", HDR "a,,," V "\nb,,,\n", 0, "mem.csv:3:",
      "column SID: the row has no SID" },
    { "row without any name", HDR ",,," V "\n", 0, "mem.csv:2:", "the row has no name" },
    { "duplicate sam, other case", HDR "WS01$,,," V "\nws02$,,," V2 "\nws01$,,," V "\n", 0,
      "mem.csv:4:", "column SamAccountName: 'ws01$' is also on line 2" },
    { "duplicate upn", HDR "a,U@Contoso.com,," V "\nb,u@contoso.COM,," V2 "\n", 0, "mem.csv:3:",
      "column UserPrincipalName: 'u@contoso.COM' is also on line 2" },
    { "duplicate dns, first duplicate in file order reported",
      HDR "a,,Z.contoso.com," V "\nb,,y.contoso.com," V2 "\nc,,y.contoso.com," V3
      "\nd,,z.contoso.com," V4 "\n", 0, "mem.csv:4:",
      "column DNSHostName: 'y.contoso.com' is also on line 3" },
    { "two principals share one SID (both rows named)", HDR "a,,," V "\nb,,," V2 "\nc,,," V "\n",
      0, "mem.csv:4:", "column SID: " V " is also the SID of line 2: two principals share one SID" },
    { "a user and a computer share one SID", HDR "pc1$,,pc1.contoso.com," V2 "\n,alice@contoso.com,,"
      V2 "\n", 0, "mem.csv:3:", "is also the SID of line 2" },
    { "too few fields", HDR "a," V "\n", 0, "mem.csv:2:",
      "the row has 2 fields but the header has 4" },
    { "too many fields (unquoted comma)", HDR "Web, Inc,,," V "\n", 0, "mem.csv:2:",
      "the row has 5 fields but the header has 4" },
    { "quoted field never closed", HDR "a,,,\"" V "\nb,,," V "\n", 0, "mem.csv:2:",
      "a quoted field is never closed" },
    { "text after a closing quote", HDR "\"a\"b,,," V "\n", 0, "mem.csv:2:",
      "text after a closing quote" },
    { "quote in an unquoted field", HDR "a\"b,,," V "\n", 0, "mem.csv:2:",
      "a quote inside an unquoted field" },
    { "carriage return alone", HDR "a,,," V "\rb,,," V "\n", 0, "mem.csv:2:",
      "a carriage return not followed by a line feed" },
    { "invalid UTF-8 (lone continuation byte)", HDR "a,,," V "\n\x80,,," V2 "\n", 0,
      "mem.csv:3:", "invalid UTF-8 (byte 0x80)" },
    { "overlong UTF-8", HDR "\xc0\xaf,,," V "\n", 0, "mem.csv:2:", "invalid UTF-8 (byte 0xc0)" },
    { "UTF-8 encoded surrogate", HDR "\xed\xa0\x80,,," V "\n", 0, "mem.csv:2:",
      "invalid UTF-8 (byte 0xed)" },
    { "truncated UTF-8 at the end", HDR "a,,," V "\n\xc3", 0, "mem.csv:3:", "invalid UTF-8" },
    { "NUL byte", HDR "a\0b,,," V "\n", sizeof(HDR "a\0b,,," V "\n") - 1, "mem.csv:2:",
      "a NUL byte" },
    { "UTF-16 export", "\xff\xfeS\0", 4, "mem.csv:", "the export is UTF-16" },
    { "control character in a name", HDR "\"a\nb\",,," V "\n", 0, "mem.csv:2:",
      "column SamAccountName: a control character" },
    { "empty file", "", 0, "mem.csv:", "the export is empty" },
    { "only the #TYPE line", "#TYPE Microsoft.ActiveDirectory.Management.ADUser\r\n", 0,
      "mem.csv:", "the export is empty" },
    { "header without rows", HDR, 0, "mem.csv:", "has a header but no rows" },
    { "header without a SID column", "SamAccountName,Name\na,b\n", 0, "mem.csv:1:",
      "no SID or objectSid column" },
    { "header without a name column", "Name,SID\na," V "\n", 0, "mem.csv:1:",
      "no SamAccountName, UserPrincipalName or DNSHostName column" },
    { "column twice in the header", "SamAccountName,SID,sid\na," V "," V "\n", 0, "mem.csv:1:",
      "column SID appears twice" },
};

static void test_bad(void **state)
{
    struct dir_entry *e;
    size_t i, n, len;
    const char *msg;
    char want[64];
    int rc;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *b = &bad_cases[i];
        print_message("bad: %s\n", b->name);
        e = NULL;
        n = 12345;
        len = b->len ? b->len : strlen(b->text);
        assert_true(capture_start(2));
        rc = dircsv_parse(b->text, len, "mem.csv", &e, &n);
        msg = capture_stop();
        assert_int_equal(rc, EXIT_INPUT);
        assert_null(e);
        assert_int_equal(n, 12345);
        snprintf(want, sizeof(want), "offca: %s", b->where);
        if (strncmp(msg, want, strlen(want)) != 0 || strstr(msg, b->fragment) == NULL)
            fail_msg("message '%s' lacks '%s' or '%s'", msg, want, b->fragment);
        assert_non_null(strchr(msg, ';'));      /* a remedy follows */
        assert_int_equal(strchr(msg, '\n') - msg + 1, (long)strlen(msg));  /* one message */
    }
}

/* The committed exports, read the way cmd code will: file_load then dircsv_parse. */
struct file_case {
    const char *path;
    int rc;
    size_t n;
    const char *fragment;       /* message (bad) or the last entry's sam (good) */
};

static const struct file_case file_cases[] = {
    { "tests/data/good/csv/computers-ps5.csv", 0, 3, "WEB$" },
    { "tests/data/good/csv/users-bom.csv", 0, 3, "carol" },
    { "tests/data/bad/csv/duplicate-sam.csv", EXIT_INPUT, 0,
      "duplicate-sam.csv:4: column SamAccountName: 'ws01$' is also on line 2" },
    { "tests/data/bad/csv/bad-sid.csv", EXIT_INPUT, 0, "bad-sid.csv:3: column SID:" },
    { "tests/data/bad/csv/utf16.csv", EXIT_INPUT, 0, "the export is UTF-16" },
};

static void test_files(void **state)
{
    unsigned char *data;
    struct dir_entry *e;
    size_t i, len, n;
    const char *msg;
    int rc;

    for (i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
        const struct file_case *f = &file_cases[i];
        print_message("file: %s\n", f->path);
        assert_int_equal(file_load(f->path, MAX_CSV_BYTES, &data, &len), 0);
        e = NULL;
        n = 0;
        assert_true(capture_start(2));
        rc = dircsv_parse((const char *)data, len, f->path, &e, &n);
        msg = capture_stop();
        free(data);
        assert_int_equal(rc, f->rc);
        if (rc == 0) {
            assert_int_equal(n, f->n);
            assert_string_equal(e[n - 1].sam, f->fragment);
            assert_non_null(e[0].sid);
            dircsv_free(e, n);
        } else if (strstr(msg, f->fragment) == NULL) {
            fail_msg("message '%s' lacks '%s'", msg, f->fragment);
        }
    }
}

/* The users export holds the vector in base64, hex and string form: all decode as expected. */
static void test_users_export_sids(void **state)
{
    unsigned char *data;
    struct dir_entry *e = NULL;
    size_t len, n = 0;

    assert_int_equal(file_load("tests/data/good/csv/users-bom.csv", MAX_CSV_BYTES, &data, &len), 0);
    assert_int_equal(dircsv_parse((const char *)data, len, "users-bom.csv", &e, &n), 0);
    free(data);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].sid, V);
    assert_string_equal(e[0].sam, "amueller");
    assert_string_equal(e[0].upn, "ana.mueller@contoso.com");
    assert_string_equal(e[1].sid, V2);
    assert_string_equal(e[2].sid, "S-1-5-21-1004336348-1177238915-682003330-1107");
    dircsv_free(e, n);
    dircsv_free(NULL, 0);
}

/* Many rows: the duplicate check sorts rather than compares every pair. */
static void test_many_rows(void **state)
{
    const size_t rows = 20000;
    size_t i, used = 0, cap = rows * 80 + 64, n = 0;
    char *text = malloc(cap);
    struct dir_entry *e = NULL;
    const char *msg;
    int rc;

    assert_non_null(text);
    used += (size_t)snprintf(text + used, cap - used, "SamAccountName,SID\n");
    for (i = 0; i < rows; i++)
        used += (size_t)snprintf(text + used, cap - used, "pc%zu$,S-1-5-21-1-2-3-%zu\n", i, i + 1000);
    assert_int_equal(dircsv_parse(text, used, "big.csv", &e, &n), 0);
    assert_int_equal(n, rows);
    assert_string_equal(e[rows - 1].sam, "pc19999$");
    dircsv_free(e, n);

    used += (size_t)snprintf(text + used, cap - used, "PC777$,S-1-5-21-1-2-3-9\n");
    e = NULL;
    assert_true(capture_start(2));
    rc = dircsv_parse(text, used, "big.csv", &e, &n);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_INPUT);
    assert_non_null(strstr(msg, "big.csv:20002: column SamAccountName: 'PC777$' is also on line 779"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_users_export_sids),
        cmocka_unit_test(test_many_rows),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
