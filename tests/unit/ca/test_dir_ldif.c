/*
 * test_dir_ldif.c — the ldifde reader (ca/directory/dir_ldif.c), csvde's X'..' values (ca/directory/dircsv.c), the
 * format detection, and the duplicate check across exports (ca/directory/dir_index.c): tables of texts,
 * each negative case with its file:line and a fragment of its message.
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

/* The MS-DTYP test vector: string, hex, base64 (split for a folded line) */
#define V     "S-1-5-21-1004336348-1177238915-682003330-1105"
#define V_HEX "010500000000000515000000dcf4dc3b833d2b46828ba62851040000"
#define V_B64 "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA=="
#define V2_B64 "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUgQAAA=="     /* ...-1106 */
#define V2    "S-1-5-21-1004336348-1177238915-682003330-1106"

struct good_case {
    const char *name, *text;
    size_t n, skipped;
    const char *sam0, *upn0, *dns0, *sid0;
    size_t line0;
};

static const struct good_case good[] = {
    { "one computer", "dn: CN=PC42,DC=contoso,DC=com\nsAMAccountName: PC42$\n"
      "dNSHostName: pc42.contoso.com\nobjectSid:: " V_B64 "\n", 1, 0, "PC42$", NULL,
      "pc42.contoso.com", V, 1 },
    { "version line, comments, CRLF, folded value and folded base64, changetype add",
      "version: 1\r\n\r\n# exported\r\n#  folded comment\r\n continues\r\ndn: CN=PC42,DC=co\r\n"
      " ntoso,DC=com\r\nchangetype: add\r\nobjectClass: top\r\nobjectClass: computer\r\n"
      "dNSHostName: pc4\r\n 2.contoso.com\r\nobjectSid:: AQUAAAAAAAUVAAAA\r\n 3PTcO4M9K0aCi6YoUQQAAA==\r\n"
      "sAMAccountName: PC42$\r\n\r\n", 1, 0, "PC42$", NULL, "pc42.contoso.com", V, 6 },
    { "containers and the domain object skipped, attribute names in any case, options",
      "dn: DC=contoso,DC=com\nobjectSid:: AQQAAAAAAAUVAAAA3PTcO4M9K0aCi6Yo\n\n"
      "dn: OU=x,DC=contoso,DC=com\nobjectClass: organizationalUnit\n\n"
      "dn:: Q049QWxpY2UsREM9Y29udG9zbyxEQz1jb20=\nSAMACCOUNTNAME: alice\n"
      "userprincipalname:: YWxpY2VAY29udG9zby5jb20=\nobjectSid;binary:: " V_B64 "\n", 1, 2,
      "alice", "alice@contoso.com", NULL, V, 7 },
    { "string SID from another tool; no trailing newline",
      "dn: CN=b,DC=x\nsAMAccountName: bob\nobjectSid: " V, 1, 0, "bob", NULL, NULL, V, 1 },
    { "two entries, several blank lines between",
      "dn: CN=a,DC=x\nsAMAccountName: a\nobjectSid:: " V_B64 "\n\n\n\ndn: CN=b,DC=x\n"
      "sAMAccountName: b\nobjectSid:: " V2_B64 "\n", 2, 0, "a", NULL, NULL, V, 1 },
};

struct bad_case {
    const char *name, *text, *where, *fragment;
};

static const struct bad_case bad[] = {
    { "a record without dn:", "sAMAccountName: x\n", "mem.ldf:1:", "an entry starts with a dn:" },
    { "an entry without objectSid", "dn: CN=x\nsAMAccountName: x\n", "mem.ldf:1:",
      "names a principal but has no objectSid" },
    { "bad base64", "dn: CN=x\nsAMAccountName: x\nobjectSid:: AQ=A\n", "mem.ldf:3:",
      "not base64" },
    { "base64 of a bad binary SID", "dn: CN=x\nsAMAccountName: x\nobjectSid:: AQUAAAAAAAUV\n",
      "mem.ldf:3:", "attribute objectSid:" },
    { "a bad string SID", "dn: CN=x\nsAMAccountName: x\nobjectSid: S-1-5-021-1\n", "mem.ldf:3:",
      "attribute objectSid:" },
    { "two objectSid values", "dn: CN=x\nsAMAccountName: x\nobjectSid:: " V_B64 "\nobjectSid:: "
      V_B64 "\n", "mem.ldf:4:", "a second value in the entry of line 1" },
    { "changetype delete", "dn: CN=x\nchangetype: delete\n", "mem.ldf:2:", "records are changes" },
    { "a second dn: without a blank line", "dn: CN=x\ndn: CN=y\n", "mem.ldf:2:",
      "a second dn: line" },
    { "a line without a colon", "dn: CN=x\nfoo\n", "mem.ldf:2:", "is not an 'attribute: value'" },
    { "a URL value", "dn: CN=x\ndNSHostName:< file:///x\n", "mem.ldf:2:", "a URL value" },
    { "a base64 name that is not UTF-8", "dn: CN=x\nsAMAccountName:: /w==\n", "mem.ldf:2:",
      "not UTF-8" },
    { "an empty name", "dn: CN=x\nsAMAccountName:\n", "mem.ldf:2:", "an empty name" },
    { "one principal twice", "dn: CN=a\nsAMAccountName: PC1$\nobjectSid:: " V_B64 "\n\ndn: CN=b\n"
      "sAMAccountName: pc1$\nobjectSid:: " V2_B64 "\n", "mem.ldf:5:",
      "attribute sAMAccountName: 'pc1$' is also on line 1 (names are case-insensitive)" },
    { "one SID twice", "dn: CN=a\nsAMAccountName: a\nobjectSid:: " V_B64 "\n\ndn: CN=b\n"
      "sAMAccountName: b\nobjectSid:: " V_B64 "\n", "mem.ldf:5:", "is also the SID of line 1" },
    { "nothing but containers", "dn: OU=x\nobjectClass: organizationalUnit\n", "mem.ldf:",
      "no entry with sAMAccountName" },
};

static void test_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const struct good_case *g = &good[i];
        struct dir_entry *e = NULL;
        size_t n = 0, skipped = 99;
        int rc;

        print_message("good: %s\n", g->name);
        assert_int_equal(dir_export_is_ldif(g->text, strlen(g->text)), 1);
        assert_true(capture_start(2));
        rc = dirldif_parse(g->text, strlen(g->text), "mem.ldf", &e, &n, &skipped);
        assert_string_equal(capture_stop(), "");
        assert_int_equal(rc, 0);
        assert_int_equal(n, g->n);
        assert_int_equal(skipped, g->skipped);
        assert_true(e[0].sam == NULL ? g->sam0 == NULL : strcmp(e[0].sam, g->sam0) == 0);
        assert_true(e[0].upn == NULL ? g->upn0 == NULL : strcmp(e[0].upn, g->upn0) == 0);
        assert_true(e[0].dns == NULL ? g->dns0 == NULL : strcmp(e[0].dns, g->dns0) == 0);
        assert_string_equal(e[0].sid, g->sid0);
        assert_int_equal(e[0].line, g->line0);
        assert_string_equal(e[0].src, "mem.ldf");
        dircsv_free(e, n);
    }
}

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dir_entry *e = NULL;
        size_t n = 0, skipped = 0;
        const char *msg;
        int rc;

        print_message("bad: %s\n", bad[i].name);
        assert_true(capture_start(2));
        rc = dirldif_parse(bad[i].text, strlen(bad[i].text), "mem.ldf", &e, &n, &skipped);
        msg = capture_stop();
        assert_int_equal(rc, EXIT_INPUT);
        assert_null(e);
        assert_non_null(strstr(msg, bad[i].where));
        if (strstr(msg, bad[i].fragment) == NULL)
            fail_msg("'%s' not in: %s", bad[i].fragment, msg);
    }
}

/* csvde: DN first, X'..' objectSid and a name outside ASCII as X'<UTF-8 hex>'. */
static void test_csvde(void **state)
{
    static const char text[] =
        "DN,objectClass,sAMAccountName,objectSid\r\n"
        "\"CN=PC42,OU=Computers,DC=contoso,DC=com\",computer,PC42$,X'" V_HEX "'\r\n"
        "\"CN=Zoe,DC=contoso,DC=com\",user,X'7a6fc3ab',X'" V_HEX "'\r\n";
    static const char not_csvde[] = "SamAccountName,objectSid\na,X'" V_HEX "'\n";
    struct dir_entry *e = NULL;
    size_t n = 0;
    const char *msg;

    (void)state;
    assert_int_equal(dir_export_is_ldif(text, strlen(text)), 0);
    /* the same SID twice is refused, naming both lines: proves both decoded to it */
    assert_true(capture_start(2));
    assert_int_equal(dircsv_parse(text, strlen(text), "c.csv", &e, &n), EXIT_INPUT);
    msg = capture_stop();
    assert_non_null(strstr(msg, "c.csv:3: column SID: " V " is also the SID of line 2"));
    {
        static const char one[] = "DN,sAMAccountName,objectSid\n\"CN=Zoe\",X'7a6fc3ab',X'" V_HEX
                                  "'\n";
        assert_int_equal(dircsv_parse(one, strlen(one), "c.csv", &e, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(e[0].sam, "zo\xc3\xab");
        assert_string_equal(e[0].sid, V);
        assert_int_equal(e[0].line, 2);
        dircsv_free(e, n);
    }
    /* X'..' is csvde's only: in an Export-Csv file it is not a SID */
    assert_true(capture_start(2));
    assert_int_equal(dircsv_parse(not_csvde, strlen(not_csvde), "p.csv", &e, &n), EXIT_INPUT);
    assert_non_null(strstr(capture_stop(), "p.csv:2: column objectSid:"));
}

/* Across exports: the later one is named with its file:line and the other's. */
static void test_dup_across(void **state)
{
    char sam1[] = "PC1$", sam2[] = "pc1$", s1[] = V, s2[] = V2, u[] = "u@x";
    struct dir_entry e[3] = {
        { sam1, NULL, NULL, s1, "a.csv", 7, 0 },
        { NULL, u, NULL, s2, "b.ldf", 3, 1 },
        { sam2, NULL, NULL, s2, "b.ldf", 9, 1 },
    };
    struct dir_index ix;
    const char *msg;

    (void)state;
    assert_true(dir_index_build(&ix, e, 3));
    assert_int_equal(dir_index_get(&ix, 0, "pc1$"), 0);
    assert_int_equal(dir_index_get(&ix, 1, "U@X"), 1);
    assert_int_equal(dir_index_get(&ix, 2, "pc1$"), -1);
    assert_int_equal(dir_index_get(&ix, 3, V2), 1);
    assert_true(capture_start(2));
    assert_false(dir_index_dup_check(&ix, e));
    msg = capture_stop();
    dir_index_free(&ix);
    /* entry 2 collides on the sam with a.csv:7 and on the SID with line 3 of its own file; the
     * keys sort sam: before sid:, so the name is reported */
    if (strstr(msg, "b.ldf:9: attribute sAMAccountName: 'pc1$' is also on a.csv:7 (names are "
                    "case-insensitive); one principal in two exports") == NULL)
        fail_msg("%s", msg);
    assert_true(dir_index_build(&ix, e, 2));
    assert_true(dir_index_dup_check(&ix, e));
    dir_index_free(&ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_csvde),
        cmocka_unit_test(test_dup_across),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
