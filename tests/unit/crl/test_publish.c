/*
 * test_publish.c — atomic publication (old or new full content, never partial; failures leave
 * the old file and no temp file) and the read-back check of a published CRL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "crl/crl.h"
#include "tests/unit/crl/crl_test_util.h"
#include "tests/unit/support/capture.h"

#define T0 1767225600

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    if (d)
        closedir(d);
    return n;
}

static void file_equals(const char *path, const unsigned char *want, size_t len)
{
    unsigned char buf[256];
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, len);
    assert_memory_equal(buf, want, len);
}

static void test_publish_replace(void **state)
{
    char dir[256], path[300];
    struct stat st;

    assert_true(tmpdir_make(dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/CA.crl", dir);
    assert_true(crl_publish_file(dir, "CA.crl", (const unsigned char *)"old content", 11, 0644));
    file_equals(path, (const unsigned char *)"old content", 11);
    assert_true(crl_publish_file(dir, "CA.crl", (const unsigned char *)"new", 3, 0640));
    file_equals(path, (const unsigned char *)"new", 3);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);     /* exact mode, whatever the umask */
    assert_int_equal(dir_entries(dir), 1);          /* no temp file left */
    assert_true(crl_publish_file(dir, "empty.crl", NULL, 0, 0600));
    tmpdir_remove(dir);
}

/* The sweep removes exactly the names a killed publisher leaves (".NAME.<12 hex>.tmp") and
 * nothing that merely looks close; a missing directory is an error with the path in it. */
static void test_publish_sweep(void **state)
{
    static const struct {
        const char *name;
        int removed;
    } files[] = {
        { ".CA.crl.0a1b2c3d4e5f.tmp", 1 },
        { ".CA+.crl.00112233aabb.tmp", 1 },
        { ".CA.crt.ffffffffffff.tmp", 1 },
        { "CA.crl", 0 },                        /* the published file */
        { ".offca-publish.lock", 0 },
        { ".CA.crl.0A1B2C3D4E5F.tmp", 0 },      /* upper case: not ours */
        { ".CA.crl.0a1b2c3d4e.tmp", 0 },        /* 10 hex digits */
        { "CA.crl.0a1b2c3d4e5f.tmp", 0 },       /* not hidden */
        { ".CA.crl.0a1b2c3d4e5g.tmp", 0 },
        { ".CA.crl.0a1b2c3d4e5f.tmpx", 0 },
    };
    char dir[256], path[400];
    size_t i;

    assert_true(tmpdir_make(dir, sizeof(dir)));
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *f;
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
        assert_non_null(f = fopen(path, "w"));
        fclose(f);
    }
    assert_int_equal(crl_publish_sweep(dir), 3);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
        if ((access(path, F_OK) == 0) != !files[i].removed)
            fail_msg("%s: %s", files[i].name, files[i].removed ? "not removed" : "removed");
    }
    assert_int_equal(crl_publish_sweep(dir), 0);
    tmpdir_remove(dir);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(crl_publish_sweep(path), -1);
    assert_non_null(strstr(crl_error(), path));
    assert_int_equal(crl_error_code(), 4);
}

static void test_publish_fail(void **state)
{
    static const struct {
        const char *name;        /* relative to the temp dir; "-" = the dir itself */
        const char *sub, *file;
        int code;
        const char *want;
    } t[] = {
        { "dir is a regular file", "afile", "CA.crl", 4, "cannot create a temporary file" },
        { "dir missing", "nodir", "CA.crl", 4, "cannot create a temporary file" },
        { "target is a directory", "-", "adir", 4, "rename failed" },
        { "name with slash", "-", "../CA.crl", 2, "plain file name" },
        { "name dot-dot", "-", "..", 2, "plain file name" },
    };
    char dir[256], sub[300], path[300];
    size_t i;
    FILE *f;

    assert_true(tmpdir_make(dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/afile", dir);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    snprintf(path, sizeof(path), "%s/adir", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcmp(t[i].sub, "-") == 0)
            snprintf(sub, sizeof(sub), "%s", dir);
        else
            snprintf(sub, sizeof(sub), "%s/%s", dir, t[i].sub);
        if (crl_publish_file(sub, t[i].file, (const unsigned char *)"x", 1, 0644))
            fail_msg("%s: published", t[i].name);
        if (strstr(crl_error(), t[i].want) == NULL)
            fail_msg("%s: '%s' lacks '%s'", t[i].name, crl_error(), t[i].want);
        assert_int_equal(crl_error_code(), t[i].code);
    }
    assert_int_equal(dir_entries(dir), 2);          /* afile, adir: no temp left behind */
    tmpdir_remove(dir);
}

/* A reader racing a writer sees the old or the new full content, never a mix or a prefix. */
static void test_publish_race(void **state)
{
    static unsigned char a[200000], b[150000];
    static unsigned char got[200001];
    char dir[256], path[300];
    pid_t pid;
    int i, st, seen_a = 0, seen_b = 0;

    memset(a, 'A', sizeof(a));
    memset(b, 'B', sizeof(b));
    assert_true(tmpdir_make(dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/CA.crl", dir);
    assert_true(crl_publish_file(dir, "CA.crl", a, sizeof(a), 0644));
    if ((pid = fork()) == 0) {
        for (i = 0; i < 200; i++)
            if (!crl_publish_file(dir, "CA.crl", i % 2 ? a : b, i % 2 ? sizeof(a) : sizeof(b),
                                  0644))
                _exit(1);
        _exit(0);
    }
    assert_true(pid > 0);
    for (i = 0; i < 2000; i++) {
        FILE *f = fopen(path, "rb");
        size_t n;

        assert_non_null(f);
        n = fread(got, 1, sizeof(got), f);
        fclose(f);
        if (n == sizeof(a) && memcmp(got, a, n) == 0)
            seen_a++;
        else if (n == sizeof(b) && memcmp(got, b, n) == 0)
            seen_b++;
        else
            fail_msg("reader saw a partial or mixed file of %zu bytes", n);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(seen_a + seen_b == 2000);
    assert_int_equal(dir_entries(dir), 1);
    tmpdir_remove(dir);
}

static int no_entries(void *arg, struct crl_entry *e) { return 0; }

static void test_verify_published(void **state)
{
    static const char *const exts[] = { "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign", "subjectKeyIdentifier=hash", NULL };
    struct tcert c = { "Pub CA", 1, T0 - 86400, T0 + 86400 * 365, exts, NULL, NULL, 0 };
    struct tcert c2 = { "Other CA", 2, T0 - 86400, T0 + 86400 * 365, exts, NULL, NULL, 0 };
    EVP_PKEY *k = tkey_new(TK_EC), *k2 = tkey_new(TK_EC);
    X509 *ca = tcert_new(&c, k, NULL, k), *other = tcert_new(&c2, k2, NULL, k2);
    struct crl_params p = { ca, 5, T0, T0 + 86400, 0, -1, 1, 4, NULL, NULL };
    char dir[256], path[300];
    unsigned char *der;
    size_t len = 0;

    assert_true(tmpdir_make(dir, sizeof(dir)));
    assert_non_null(der = crl_build(&p, no_entries, NULL, tsign_ctx(k, TK_EC), &len));
    assert_true(crl_publish_file(dir, "Pub+.crl", der, len, 0644));
    snprintf(path, sizeof(path), "%s/Pub+.crl", dir);
    assert_true(crl_verify_published(path, ca, 5, 1));
    assert_false(crl_verify_published(path, ca, 6, 1));
    assert_non_null(strstr(crl_error(), "CRL number is different, expected 6"));
    assert_false(crl_verify_published(path, ca, 5, 0));
    assert_non_null(strstr(crl_error(), "the file is a delta CRL, expected a full CRL"));
    assert_false(crl_verify_published(path, other, 5, 1));
    assert_non_null(strstr(crl_error(), "CRL issuer differs"));
    der[len - 1] ^= 1;                              /* break the signature */
    assert_true(crl_publish_file(dir, "Pub+.crl", der, len, 0644));
    assert_false(crl_verify_published(path, ca, 5, 1));
    assert_non_null(strstr(crl_error(), "does not verify with the CA key"));
    assert_true(crl_publish_file(dir, "Pub+.crl", der, len - 1, 0644));
    assert_false(crl_verify_published(path, ca, 5, 1));
    assert_non_null(strstr(crl_error(), "not a CRL"));
    snprintf(path, sizeof(path), "%s/missing.crl", dir);
    assert_false(crl_verify_published(path, ca, 5, 1));
    assert_non_null(strstr(crl_error(), "cannot read"));
    OPENSSL_free(der);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    tmpdir_remove(dir);
}

/* ---- read-back of a large CRL: every key type, then one damage at a time ---------------------- */
#define BIG_N 12000               /* ~0.5 MB of entries: the list streams through several chunks */

struct seq { size_t i, n; };

static int seq_next(void *arg, struct crl_entry *e)
{
    struct seq *g = arg;
    size_t v = g->i;

    if (g->i >= g->n)
        return 0;
    e->serial_len = 10;
    memset(e->serial, 0, sizeof(e->serial));
    e->serial[0] = v < g->n / 2 ? 0x4f : 0xcf;
    e->serial[8] = (unsigned char)(v >> 8);
    e->serial[9] = (unsigned char)v;
    e->revoked_at = T0 - 86400 + (time_t)(v / 7);
    e->reason = v % 3 ? CRL_REASON_KEY_COMPROMISE : CRL_REASON_NONE;
    e->invalidity = v % 5 ? 0 : T0 - 7 * 86400;
    g->i++;
    return 1;
}

/* Offset of the last occurrence of needle in hay (the outer AlgorithmIdentifier), or -1. */
static long last_of(const unsigned char *hay, size_t n, const unsigned char *needle, size_t k)
{
    for (size_t i = n - k + 1; i-- > 0;)
        if (memcmp(hay + i, needle, k) == 0)
            return (long)i;
    return -1;
}

enum damage { D_NONE, D_ENTRY, D_TRUNC1, D_TRUNC_HALF, D_TRAILING, D_OUTER_ALG, D_BOTH_ALGS };
struct dcase {
    const char *name;
    enum damage d;
    const char *want;             /* error fragment; NULL: verifies */
};
static const struct dcase dcases[] = {
    { "intact", D_NONE, NULL },
    { "one entry's serial changed", D_ENTRY, "does not verify with the CA key" },
    { "last byte cut", D_TRUNC1, "not a CRL in DER" },
    { "cut in the middle of the list", D_TRUNC_HALF, "not a CRL in DER" },
    { "a byte after the CRL", D_TRAILING, "bytes after the CRL" },
    { "outer algorithm differs from the signed one", D_OUTER_ALG, "not a CRL in DER" },
    { "both algorithms changed", D_BOTH_ALGS, "does not verify with the CA key" },
};

/* Apply damage d to a copy of der (*len may change); the caller frees. */
static unsigned char *damaged(const unsigned char *der, size_t *len, enum damage d)
{
    unsigned char *c = malloc(*len + 1), *a = NULL;
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)*len);
    const X509_ALGOR *alg = NULL;
    unsigned char ser[] = { 0x02, 0x0b, 0x00, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x17, 0x70 }; /* 6000 */
    long at;
    int an;

    assert_non_null(c);
    assert_non_null(crl);
    memcpy(c, der, *len);
    X509_CRL_get0_signature(crl, NULL, &alg);
    an = i2d_X509_ALGOR(alg, &a);
    assert_true(an > 0);
    if (d == D_ENTRY) {
        assert_true((at = last_of(c, *len, ser, sizeof(ser))) > 0);
        c[at + sizeof(ser) - 1] ^= 1;
    } else if (d == D_TRUNC1 || d == D_TRUNC_HALF) {
        *len = d == D_TRUNC1 ? *len - 1 : *len / 2;
    } else if (d == D_TRAILING) {
        c[(*len)++] = 0;
    } else if (d == D_OUTER_ALG || d == D_BOTH_ALGS) {
        for (int k = 0; k < (d == D_BOTH_ALGS ? 2 : 1); k++) {
            assert_true((at = last_of(c, k ? (size_t)at : *len, a, (size_t)an)) > 0);
            c[at + 3 + a[3]] ^= 0x01;   /* the OID's last byte: ecdsa-with-SHA384, RSA-PSS... */
        }
    }
    OPENSSL_free(a);
    X509_CRL_free(crl);
    return c;
}

static void test_verify_big(void **state)
{
    static const char *const exts[] = { "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign", "subjectKeyIdentifier=hash", NULL };
    static const enum tkey keys[] = { TK_RSA, TK_PSS, TK_EC };
    struct tcert c = { "Big CA", 3, T0 - 86400, T0 + 86400 * 365, exts, NULL, NULL, 0 };
    char dir[256], path[300];

    assert_true(tmpdir_make(dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/Big.crl", dir);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        EVP_PKEY *key = tkey_new(keys[k]);
        X509 *ca = tcert_new(&c, key, NULL, key);
        struct crl_params p = { ca, 9, T0, T0 + 86400, T0 + 3600, 0, 0, 0, NULL, NULL };
        struct seq g = { 0, BIG_N };
        unsigned char *der;
        size_t len = 0;

        assert_non_null(der = crl_build(&p, seq_next, &g, tsign_ctx(key, keys[k]), &len));
        assert_true(len > 3 * 256 * 1024 / 2);
        for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
            size_t dl = len;
            unsigned char *d = damaged(der, &dl, dcases[i].d);
            int ok;

            print_message("key %zu: %s\n", k, dcases[i].name);
            assert_true(crl_publish_file(dir, "Big.crl", d, dl, 0644));
            ok = crl_verify_published(path, ca, 9, 0);
            if (dcases[i].want == NULL) {
                assert_true(ok);
            } else {
                assert_false(ok);
                if (strstr(crl_error(), dcases[i].want) == NULL)
                    fail_msg("got '%s'", crl_error());
                assert_int_equal(crl_error_code(), 4);
            }
            free(d);
        }
        OPENSSL_free(der);
        X509_free(ca);
        EVP_PKEY_free(key);
    }
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_replace),
        cmocka_unit_test(test_publish_sweep),
        cmocka_unit_test(test_publish_fail),
        cmocka_unit_test(test_publish_race),
        cmocka_unit_test(test_verify_published),
        cmocka_unit_test(test_verify_big),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
