/*
 * test_toml.c — the strict TOML reader (base/toml.c): values read back, document order,
 * getters, unknown keys, durations, the bounded loader, and the corpus of invalid files in
 * tests/data/bad/toml/ (each with its expected line:column and message, listed in EXPECTED).
 * Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/toml.h"

#define BAD_DIR "tests/data/bad/toml"
#define GOOD_DIR "tests/data/good/toml"

static struct toml_node *parse(const char *text)
{
    return toml_parse(text, strlen(text), "t.toml");
}

/* Walk "a/b/#1/c": '/' separates keys (keys here may contain dots), "#n" is an array index. */
static const struct toml_node *lookup(const struct toml_node *root, const char *path)
{
    char buf[256], *part, *save = NULL;
    const struct toml_node *n = root;

    snprintf(buf, sizeof(buf), "%s", path);
    for (part = strtok_r(buf, "/", &save); n && part; part = strtok_r(NULL, "/", &save))
        n = part[0] == '#' ? toml_at(n, (size_t)atoi(part + 1)) : toml_get(n, part);
    return n;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("message \"%s\" lacks \"%s\"", haystack, needle);
}

/* ---- values read back ------------------------------------------------------------------------ */

struct value_case {
    const char *doc, *path;
    enum toml_type type;
    const char *str;
    int64_t num;                        /* integer, or boolean 0/1 */
};

static const struct value_case values[] = {
    { "a = \"x\"", "a", TOML_STRING, "x", 0 },
    { "a = \"\"", "a", TOML_STRING, "", 0 },
    { "s = \"\\b\\t\\n\\f\\r\\\"\\\\\\u00E9\\U0001F600/\"", "s", TOML_STRING,
      "\b\t\n\f\r\"\\\xC3\xA9\xF0\x9F\x98\x80/", 0 },
    { "s = \"caf\xC3\xA9 \\u20AC\"", "s", TOML_STRING, "caf\xC3\xA9 \xE2\x82\xAC", 0 },
    { "s = 'C:\\path\\n \"q\"'", "s", TOML_STRING, "C:\\path\\n \"q\"", 0 },
    { "s = \"\"\"\nline1\nline2\"\"\"", "s", TOML_STRING, "line1\nline2", 0 },
    { "s = \"\"\"one \\\n\n    two \\  \n three\"\"\"", "s", TOML_STRING, "one two three", 0 },
    { "s = \"\"\"a\"\"b\"\"\"\"", "s", TOML_STRING, "a\"\"b\"", 0 },
    { "s = \"\"\"x\"\"\"\"\"", "s", TOML_STRING, "x\"\"", 0 },
    { "s = \"\"\"tab\\tand \\u0041\"\"\"", "s", TOML_STRING, "tab\tand A", 0 },
    { "s = '''\nraw \\n '' x'''", "s", TOML_STRING, "raw \\n '' x", 0 },
    { "s = '''x'''''", "s", TOML_STRING, "x''", 0 },
    { "s = \"\"\"a\r\nb\"\"\"", "s", TOML_STRING, "a\nb", 0 },
    { "n = 42", "n", TOML_INTEGER, NULL, 42 },
    { "n = +17", "n", TOML_INTEGER, NULL, 17 },
    { "n = -17", "n", TOML_INTEGER, NULL, -17 },
    { "n = 0", "n", TOML_INTEGER, NULL, 0 },
    { "n = -0", "n", TOML_INTEGER, NULL, 0 },
    { "n = 1_000_000", "n", TOML_INTEGER, NULL, 1000000 },
    { "n = 0xDEAD_beef", "n", TOML_INTEGER, NULL, 0xDEADBEEF },
    { "n = 0x0", "n", TOML_INTEGER, NULL, 0 },
    { "n = 0o755", "n", TOML_INTEGER, NULL, 0755 },
    { "n = 0b1101", "n", TOML_INTEGER, NULL, 13 },
    { "n = 9223372036854775807", "n", TOML_INTEGER, NULL, INT64_MAX },
    { "n = -9223372036854775808", "n", TOML_INTEGER, NULL, INT64_MIN },
    { "n = 0x7fffffffffffffff", "n", TOML_INTEGER, NULL, INT64_MAX },
    { "b = true", "b", TOML_BOOL, NULL, 1 },
    { "b = false", "b", TOML_BOOL, NULL, 0 },
    { "a.b.c = 1", "a/b/c", TOML_INTEGER, NULL, 1 },
    { "a . \"b c\" . 'd.e' = 2", "a/b c/d.e", TOML_INTEGER, NULL, 2 },
    { "\"caf\\u00E9\" = 3", "caf\xC3\xA9", TOML_INTEGER, NULL, 3 },
    { "1234 = 5", "1234", TOML_INTEGER, NULL, 5 },
    { "[x.y]\nz = 1", "x/y/z", TOML_INTEGER, NULL, 1 },
    { "[ x . \"y\" ]\nz = 1", "x/y/z", TOML_INTEGER, NULL, 1 },
    { "[a.b]\nc = 1\n[a]\nd = 2", "a/d", TOML_INTEGER, NULL, 2 },
    { "[[f]]\nn = 1\n[[f]]\nn = 2", "f/#1/n", TOML_INTEGER, NULL, 2 },
    { "[[f]]\n[f.s]\nv = 1\n[[f]]\n[f.s]\nv = 2", "f/#1/s/v", TOML_INTEGER, NULL, 2 },
    { "[[f.g]]\nv = 1\n[[f.g]]\nv = 2", "f/g/#1/v", TOML_INTEGER, NULL, 2 },
    { "a = [ 1, \"two\", [3], {x = 4}, # c\n true, ]", "a/#1", TOML_STRING, "two", 0 },
    { "a = [ 1, \"two\", [3], {x = 4}, # c\n true, ]", "a/#3/x", TOML_INTEGER, NULL, 4 },
    { "a = [ 1, \"two\", [3], {x = 4}, # c\n true, ]", "a/#4", TOML_BOOL, NULL, 1 },
    { "a = [\n\n]", "a", TOML_ARRAY, NULL, 0 },
    { "p = { x = 1, y.z = \"q\" }", "p/y/z", TOML_STRING, "q", 0 },
    { "p = { a = { b = [ 1,\n 2 ] } }", "p/a/b/#1", TOML_INTEGER, NULL, 2 },
    { "e = {}", "e", TOML_TABLE, NULL, 0 },
    { "[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nsmooth = true",
      "fruit/apple/texture/smooth", TOML_BOOL, NULL, 1 },
    { "[fruit]\napple.color = 'red'\napple.taste.sweet = true", "fruit/apple/taste/sweet",
      TOML_BOOL, NULL, 1 },
    { "\xEF\xBB\xBF# bom\nk = 'v'", "k", TOML_STRING, "v", 0 },
    { "\n\n  # only comments\n\t k = 1 # c\r\n", "k", TOML_INTEGER, NULL, 1 },
    { "true = false", "true", TOML_BOOL, NULL, 0 },
};

static void test_values(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const struct value_case *c = &values[i];
        struct toml_node *root = parse(c->doc);
        const struct toml_node *n;

        if (!root)
            fail_msg("case %zu: %s", i, base_err_msg());
        n = c->path[0] ? lookup(root, c->path) : root;
        if (!n)
            fail_msg("case %zu: %s not found", i, c->path);
        assert_int_equal(toml_type(n), c->type);
        if (c->type == TOML_STRING)
            assert_string_equal(toml_str(n), c->str);
        else if (c->type == TOML_INTEGER)
            assert_true(toml_int(n) == c->num);
        else if (c->type == TOML_BOOL)
            assert_int_equal(toml_bool(n), (int)c->num);
        toml_free(root);
    }
}

/* ---- committed good files -------------------------------------------------------------------- */

static void test_good_files(void **state)
{
    struct toml_node *root = toml_load(GOOD_DIR "/all-features.toml", NULL);
    const struct toml_node *n;

    (void)state;
    if (!root)
        fail_msg("%s", base_err_msg());
    assert_string_equal(toml_str(lookup(root, "title")), "offca \"TOML\" test");
    assert_string_equal(toml_str(lookup(root, "path")), "C:\\Users\\offca");
    assert_true(toml_int(lookup(root, "quoted key")) == 1);
    assert_true(toml_int(lookup(root, "literal.key")) == 2);
    assert_true(toml_int(lookup(root, "dotted/inner/value")) == 3);
    assert_true(toml_int(lookup(root, "spaced/dots")) == 4);
    assert_int_equal(toml_count(lookup(root, "server/ports")), 2);
    assert_true(toml_int(lookup(root, "server/ports/#1")) == 8080);
    assert_int_equal(toml_count(lookup(root, "server/mixed")), 4);
    assert_int_equal(toml_bool(lookup(root, "server/mixed/#2/#0")), 1);
    assert_string_equal(toml_str(lookup(root, "server/mixed/#3/k")), "v");
    assert_true(toml_int(lookup(root, "server/point/y/z")) == -2);
    assert_string_equal(toml_str(lookup(root, "server/text")), "first line\nsecond line");
    assert_string_equal(toml_str(lookup(root, "server/raw")), "C:\\no\\escapes");
    assert_int_equal(toml_bool(lookup(root, "a/b/c/deep")), 1);
    assert_true(toml_int(lookup(root, "a/shallow")) == 16);
    assert_string_equal(toml_str(lookup(root, "ca/#0/name")), "root");
    n = lookup(root, "ca/#1/crl/period");
    assert_non_null(n);
    assert_string_equal(toml_str(n), "7d");
    assert_string_equal(toml_path(n), "ca[1].crl.period");
    assert_string_equal(toml_where(n), GOOD_DIR "/all-features.toml:38:1");
    assert_false(toml_check_unused(root, "the test"));     /* server.name was not read */
    assert_contains(base_err_msg(), "all-features.toml:10:1: key 'server.name': unknown key");
    toml_free(root);

    root = toml_load(GOOD_DIR "/crlf-bom.toml", NULL);
    if (!root)
        fail_msg("%s", base_err_msg());
    assert_string_equal(toml_str(lookup(root, "t/k")), "v");
    assert_string_equal(toml_str(lookup(root, "t/ml")), "x\ny");
    assert_string_equal(toml_where(lookup(root, "t/k")), GOOD_DIR "/crlf-bom.toml:3:1");
    toml_free(root);
}

/* ---- document order, keys, paths, locations -------------------------------------------------- */

static void test_order_and_paths(void **state)
{
    static const char doc[] = "zeta = 1\nalpha = 2\n\"a b\".c = 3\n[[arr]]\n  x = 1\n"
                              "[t]\nmid = 'm'\nlist = [10, 20]\n";
    static const char *const keys[] = { "zeta", "alpha", "a b", "arr", "t" };
    struct toml_node *root = parse(doc);
    const struct toml_node *n;
    size_t i;

    (void)state;
    assert_non_null(root);
    assert_int_equal(toml_count(root), 5);
    for (i = 0; i < 5; i++)
        assert_string_equal(toml_key(toml_at(root, i)), keys[i]);
    assert_null(toml_at(root, 5));
    n = lookup(root, "a b/c");
    assert_string_equal(toml_path(n), "\"a b\".c");
    assert_string_equal(toml_where(n), "t.toml:3:7");
    n = lookup(root, "arr/#0/x");
    assert_string_equal(toml_path(n), "arr[0].x");
    assert_string_equal(toml_where(n), "t.toml:5:3");
    n = lookup(root, "t/list/#1");
    assert_string_equal(toml_key(n), "");
    assert_string_equal(toml_path(n), "t.list[1]");
    assert_string_equal(toml_where(n), "t.toml:8:13");
    assert_string_equal(toml_where(lookup(root, "t")), "t.toml:6:1");
    assert_string_equal(toml_type_name(TOML_BOOL), "boolean");
    assert_string_equal(toml_type_name(TOML_TABLE), "table");
    assert_string_equal(toml_path(root), "");
    toml_free(root);
    root = parse("\"\" = 3");                  /* the empty quoted key is a key like any other */
    assert_non_null(root);
    assert_true(toml_int(toml_get(root, "")) == 3);
    toml_free(root);
}

/* ---- typed getters --------------------------------------------------------------------------- */

static void test_getters(void **state)
{
    struct toml_node *root = parse("s = 'x'\nn = 7\nb = true\nl = ['a', 'b']\n"
                                   "bad = ['a', 2]\n[tbl]\nk = 1\n");
    const struct toml_node *tbl;
    const char *s = "unset", **arr = NULL;
    int64_t n = -1;
    int b = -1;
    size_t cnt = 0;

    (void)state;
    assert_non_null(root);
    assert_true(toml_get_str(root, "s", 1, &s));
    assert_string_equal(s, "x");
    assert_true(toml_get_int(root, "n", 1, &n));
    assert_true(n == 7);
    assert_true(toml_get_bool(root, "b", 1, &b));
    assert_int_equal(b, 1);
    s = "kept";
    assert_true(toml_get_str(root, "absent", 0, &s));
    assert_string_equal(s, "kept");
    assert_true(toml_get_str_array(root, "l", 1, &arr, &cnt));
    assert_int_equal(cnt, 2);
    assert_string_equal(arr[1], "b");
    free(arr);

    /* negative cases: each asserts the failure and its message */
    assert_false(toml_get_str(root, "n", 1, &s));
    assert_contains(base_err_msg(), "t.toml:2:1: key 'n': expected a string, found an integer");
    assert_int_equal(base_err_code(), 3);
    assert_false(toml_get_int(root, "s", 0, &n));
    assert_contains(base_err_msg(), "t.toml:1:1: key 's': expected an integer, found a string");
    assert_false(toml_get_bool(root, "n", 1, &b));
    assert_contains(base_err_msg(), "t.toml:2:1: key 'n': expected a boolean, found an integer; write n = true or false");
    tbl = toml_get(root, "tbl");
    assert_false(toml_get_str(tbl, "missing", 1, &s));
    assert_contains(base_err_msg(), "t.toml:6:1: key 'tbl.missing': required key is missing");
    assert_false(toml_get_int(root, "nothere", 1, &n));
    assert_contains(base_err_msg(), "t.toml: key 'nothere': required key is missing");
    assert_false(toml_get_str_array(root, "bad", 1, &arr, &cnt));
    assert_contains(base_err_msg(), "t.toml:5:13: key 'bad[1]': expected a string, found an integer");
    assert_false(toml_get_str_array(root, "s", 1, &arr, &cnt));
    assert_contains(base_err_msg(), "key 's': expected an array, found a string");
    assert_false(toml_get_str(toml_get(root, "s"), "k", 0, &s));
    assert_contains(base_err_msg(), "key 's': expected a table, found a string");
    assert_null(toml_get(toml_get(root, "s"), "k"));
    toml_free(root);
}

/* ---- unknown keys ---------------------------------------------------------------------------- */

struct unused_case {
    const char *doc;
    const char *read;                   /* '/'-paths the "consumer" reads, ';'-separated */
    const char *fragment;               /* NULL: no unknown key */
};

static const struct unused_case unused[] = {
    { "[store]\npath = 'x'\n", "store/path", NULL },
    { "[store]\npath = 'x'\npaht = 'y'\n", "store/path",
      "t.toml:3:1: key 'store.paht': unknown key; check the spelling against ca.toml.example" },
    { "[store]\npath = 'x'\n[stor]\nx = 1\n", "store/path", "t.toml:3:1: key 'stor': unknown key" },
    { "top = 1\n[a.b]\nc = 1\n", "a/b/c", "t.toml:1:1: key 'top': unknown key" },
    { "[a.b]\nc = 1\nd = 2\n", "a/b/c", "t.toml:3:1: key 'a.b.d': unknown key" },
    { "[[ca]]\nname = 'r'\nnmae = 's'\n", "ca/#0/name", "t.toml:3:1: key 'ca[0].nmae': unknown key" },
    { "p = { x = 1, y = 2 }\n", "p/x", "t.toml:1:14: key 'p.y': unknown key" },
    { "l = [ { x = 1, typo = 2 } ]\n", "l/#0/x", "t.toml:1:16: key 'l[0].typo': unknown key" },
    { "l = [ 1, 2 ]\n", "l", NULL },
};

static void read_paths(const struct toml_node *root, const char *spec)
{
    char buf[256], *part, *save = NULL;

    snprintf(buf, sizeof(buf), "%s", spec);
    for (part = strtok_r(buf, ";", &save); part; part = strtok_r(NULL, ";", &save))
        assert_non_null(lookup(root, part));
}

static void test_unused(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
        struct toml_node *root = parse(unused[i].doc);

        assert_non_null(root);
        read_paths(root, unused[i].read);
        if (!unused[i].fragment) {
            assert_true(toml_check_unused(root, "ca.toml.example"));
        } else {
            assert_false(toml_check_unused(root, "ca.toml.example"));
            assert_contains(base_err_msg(), unused[i].fragment);
            assert_int_equal(base_err_code(), 3);
        }
        toml_free(root);
    }
}

/* ---- durations ------------------------------------------------------------------------------- */

static void test_duration(void **state)
{
    static const struct { const char *text; int64_t secs; } good[] = {
        { "30d", 30 * 86400 }, { "12h", 12 * 3600 }, { "90m", 90 * 60 }, { "45s", 45 },
        { "2w", 2 * 604800 }, { "0s", 0 }, { "0d", 0 }, { "007d", 7 * 86400 },
        { "9223372036854775807s", INT64_MAX },
    };
    static const struct { const char *text, *fragment; } bad[] = {
        { "", "not a whole number followed by one unit" }, { "7", "not a whole number" },
        { "d", "not a whole number" }, { "7 d", "not a whole number" },
        { " 7d", "not a whole number" }, { "7d ", "not a whole number" },
        { "-7d", "no sign" }, { "+7d", "not a whole number" }, { "7x", "units s, m, h, d, w" },
        { "7D", "not a whole number" }, { "7dd", "not a whole number" },
        { "1.5d", "not a whole number" }, { "1d12h", "not a whole number" },
        { "99999999999999999999d", "too large" }, { "9223372036854775807w", "too large" },
        { "15250284452472w", "too large" },
    };
    int64_t v;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        v = -1;
        if (!toml_parse_duration(good[i].text, &v))
            fail_msg("%s: %s", good[i].text, base_err_msg());
        assert_true(v == good[i].secs);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -1;
        if (toml_parse_duration(bad[i].text, &v))
            fail_msg("'%s' accepted", bad[i].text);
        assert_true(v == -1);
        assert_contains(base_err_msg(), bad[i].fragment);
        assert_contains(base_err_msg(), "duration '");
    }
}

/* ---- the bounded loader ---------------------------------------------------------------------- */

static void test_load_errors(void **state)
{
    char path[] = "/tmp/offca-toml-XXXXXX";
    int fd;

    (void)state;
    assert_null(toml_load(BAD_DIR "/does-not-exist.toml", NULL));
    assert_contains(base_err_msg(), "does-not-exist.toml: cannot open: No such file");
    assert_int_equal(base_err_code(), 3);
    assert_null(toml_load(BAD_DIR, NULL));
    assert_contains(base_err_msg(), "is a directory");

    /* a sparse file one byte over the cap: refused from its size, before any read */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, MAX_TOML_BYTES + 1), 0);
    close(fd);
    assert_null(toml_load(path, NULL));
    assert_contains(base_err_msg(), "1048577 bytes is more than the 1048576 allowed");
    unlink(path);
    assert_null(toml_parse("a = 1", MAX_TOML_BYTES + 1, "big.toml"));
    assert_contains(base_err_msg(), "big.toml: 1048577 bytes is more than the");

    /* text need not be NUL-terminated: only len bytes are read */
    {
        struct toml_node *root = toml_parse("a = 12345", 5, "t.toml");

        assert_non_null(root);
        assert_true(toml_int(toml_get(root, "a")) == 1);
        toml_free(root);
    }
    toml_free(NULL);
}

/* ---- the invalid corpus ---------------------------------------------------------------------- */

static int listed(char names[][128], size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static void test_bad_corpus(void **state)
{
    static char names[256][128];
    char line[512], path[300], want[400];
    size_t n = 0, failed = 0;
    FILE *f = fopen(BAD_DIR "/EXPECTED", "r");
    DIR *d;
    struct dirent *e;

    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char *name = strtok(line, "\t"), *loc = strtok(NULL, "\t"), *frag = strtok(NULL, "\n");
        struct toml_node *root;

        if (!name || name[0] == '#')
            continue;
        assert_non_null(loc);
        assert_non_null(frag);
        assert_true(n < 256);
        snprintf(names[n++], sizeof(names[0]), "%s", name);
        snprintf(path, sizeof(path), BAD_DIR "/%s", name);
        root = toml_load(path, NULL);
        snprintf(want, sizeof(want), "%s:%s: ", path, loc);
        if (root) {
            print_error("%s: accepted\n", name);
            failed++;
        } else if (strncmp(base_err_msg(), want, strlen(want)) != 0 || !strstr(base_err_msg(), frag) ||
                   base_err_code() != 3 || !strchr(base_err_msg(), ';')) {
            /* every message has its location, its fragment, class 3 and a "; what to do" */
            print_error("%s: got \"%s\" (class %d), want \"%s...%s\"\n", name, base_err_msg(),
                        base_err_code(), want, frag);
            failed++;
        }
        toml_free(root);
    }
    fclose(f);
    assert_int_equal(failed, 0);
    assert_true(n >= 30);
    /* every committed bad file is listed, so none goes untested */
    d = opendir(BAD_DIR);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len > 5 && strcmp(e->d_name + len - 5, ".toml") == 0 && !listed(names, n, e->d_name))
            fail_msg("%s is not listed in " BAD_DIR "/EXPECTED", e->d_name);
    }
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_good_files),
        cmocka_unit_test(test_order_and_paths),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_unused),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_bad_corpus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
