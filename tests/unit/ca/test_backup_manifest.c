/*
 * test_backup_manifest.c — the backup MANIFEST (ca/backup/backup_manifest.c): text -> parse round trip
 * with exact bytes, the relative-path rule, and a table of altered manifests, each refused with
 * exit 3 and a message naming the line and the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "ca/backup/backup.h"
#include "ca/common/common.h"
#include "tests/unit/support/capture.h"

static struct backup_manifest *sample(void)
{
    struct backup_manifest *m = calloc(1, sizeof(*m));
    unsigned char h[32];

    assert_non_null(m);
    snprintf(m->created, sizeof(m->created), "2026-12-03T13:00:00Z");
    snprintf(m->source_store, sizeof(m->source_store), "/var/lib/offca/store");
    snprintf(m->source_config, sizeof(m->source_config), "/etc/offca/ca.toml");
    m->audit_records = 1234;
    m->audit_last_seq = 1234;
    memset(m->audit_head, 0xab, 32);
    m->certificates = 1200;
    m->cas = 2;
    memset(h, 0x11, 32);
    assert_int_equal(backup_manifest_add(m, "store/data.mdb", h, 65536), 0);
    memset(h, 0x22, 32);
    assert_int_equal(backup_manifest_add(m, "templates/vpn-server.toml", h, 611), 0);
    return m;
}

static char *sealed(const char *body)
{
    unsigned char h[32];
    size_t n = strlen(body);
    char *out = malloc(n + 90);

    assert_non_null(out);
    assert_int_equal(EVP_Digest(body, n, h, NULL, EVP_sha256(), NULL), 1);
    memcpy(out, body, n);
    n += (size_t)sprintf(out + n, "manifest-sha256 ");
    for (int i = 0; i < 32; i++)
        n += (size_t)sprintf(out + n, "%02x", h[i]);
    sprintf(out + n, "\n");
    return out;
}

static void test_round_trip(void **state)
{
    struct backup_manifest *m = sample(), *p = calloc(1, sizeof(*p));
    size_t len = 0;
    char *text = backup_manifest_text(m, &len);

    (void)state;
    assert_non_null(text);
    assert_non_null(strstr(text, "offca-backup 1\ncreated 2026-12-03T13:00:00Z\n"
                                 "source-store /var/lib/offca/store\n"));
    assert_non_null(strstr(text, "\naudit-records 1234\naudit-last-seq 1234\naudit-head-sha256 "
                                 "abababababababababababababababababababababababababababababababab"
                                 "\ncertificates 1200\ncas 2\nfile 1111"));
    assert_non_null(strstr(text, " 611 templates/vpn-server.toml\nmanifest-sha256 "));
    assert_int_equal(backup_manifest_parse(text, len, "MANIFEST", p), 0);
    assert_int_equal(p->n_files, 2);
    assert_string_equal(p->files[1].path, "templates/vpn-server.toml");
    assert_int_equal(p->files[0].size, 65536);
    assert_memory_equal(p->files[1].sha256, m->files[1].sha256, 32);
    assert_memory_equal(p->audit_head, m->audit_head, 32);
    assert_int_equal(p->audit_records, 1234);
    assert_int_equal(p->certificates, 1200);
    assert_string_equal(p->source_config, "/etc/offca/ca.toml");
    free(text);
    free(m);
    free(p);
}

static void test_relpath(void **state)
{
    static const char *const good[] = {"MANIFEST", "store/data.mdb", "certs/root-ca_1.pem",
                                       "templates/intune+user.toml"};
    static const char *const bad[] = {"", "/etc/passwd", "../x", "store/../x", "a/b/c", ".hidden",
                                      "store/.x", "store/", "sp ace", "new\nline", "a\\b"};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(backup_relpath_ok(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(backup_relpath_ok(bad[i]));
}

#define HEAD "offca-backup 1\ncreated 2026-12-03T13:00:00Z\nsource-store /s\nsource-config /c\n" \
             "audit-records 3\naudit-last-seq 3\naudit-head-sha256 " \
             "abababababababababababababababababababababababababababababababab\n" \
             "certificates 0\ncas 1\n"
#define HASH "1111111111111111111111111111111111111111111111111111111111111111"

struct bad_case {
    const char *body;              /* sealed with a correct self-hash unless raw */
    int raw;
    const char *expect;
};

static const struct bad_case bad_cases[] = {
    {HEAD "file " HASH " 10 store/data.mdb\n", 1, "the last line is not 'manifest-sha256 HEX'"},
    {"offca-backup 2\n", 0, ":1: backup manifest: not an 'offca-backup 1' manifest"},
    {HEAD, 0, NULL},                                        /* good: no files is parseable */
    {"offca-backup 1\ncreated x\n", 0, ":3: backup manifest: the header ends early"},
    {HEAD "file " HASH " 10 ../etc/passwd\n", 0, ":10: backup manifest: unexpected, malformed"},
    {HEAD "file " HASH " 10 /etc/passwd\n", 0, ":10:"},
    {HEAD "file " HASH " -1 store/data.mdb\n", 0, ":10:"},
    {HEAD "file 11 10 store/data.mdb\n", 0, ":10:"},
    {HEAD "file " HASH " 10 store/data.mdb\nfile " HASH " 10 store/data.mdb\n", 0, ":11:"},
    {HEAD "certificates 5\n", 0, ":10:"},
    {"offca-backup 1\nsource-store /s\n", 0, ":2:"},
};

static void test_bad(void **state)
{
    struct backup_manifest *m = calloc(1, sizeof(*m));

    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char *text = c->raw ? strdup(c->body) : sealed(c->body);
        const char *msg;
        int rc;

        assert_true(capture_start(2));
        rc = backup_manifest_parse(text, strlen(text), "MANIFEST", m);
        msg = capture_stop();
        if (c->expect == NULL) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, EXIT_INPUT);
            if (strstr(msg, c->expect) == NULL)
                fail_msg("case %zu: '%s' not in '%s'", i, c->expect, msg);
        }
        free(text);
    }
    free(m);
}

static void test_edit_without_reseal(void **state)
{
    struct backup_manifest *m = sample(), *p = calloc(1, sizeof(*p));
    size_t len = 0;
    char *text = backup_manifest_text(m, &len), *at = strstr(text, "certificates 1200");
    const char *msg;

    (void)state;
    at[13] = '9';                     /* certificates 9200 */
    assert_true(capture_start(2));
    assert_int_equal(backup_manifest_parse(text, len, "MANIFEST", p), EXIT_INPUT);
    msg = capture_stop();
    assert_non_null(strstr(msg, "manifest-sha256: the manifest's own checksum does not match"));
    free(text);
    free(m);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_relpath),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_edit_without_reseal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
