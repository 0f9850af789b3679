/*
 * test_fuzz_replay.c — `make test` replays the committed fuzz corpora: every file in
 * tests/fuzz/seeds/<target>/ and tests/fuzz/regress/<target>/ goes through its target in
 * tests/fuzz/targets.c (the same functions libFuzzer drives in `make fuzz`). A target must return
 * on every input without aborting (a broken round trip aborts); `make asan` runs this under
 * ASan+UBSan, which turns any memory error or leak into a failure. Run from the repo root.
 *
 * The Makefile's ca test rule links one source per test, so the targets are #included here and
 * built as one translation unit with this file (gcc, the normal flags).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/targets.c"

#define FUZZ_DIR "tests/fuzz"
#define MAX_REPLAY_BYTES (1024 * 1024)

/* Read a whole corpus file (they are small; bigger ones are refused). Caller frees. */
static uint8_t *replay_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *d = NULL;
    long len;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > MAX_REPLAY_BYTES ||
        fseek(f, 0, SEEK_SET) != 0 || (d = malloc((size_t)len + 1)) == NULL ||
        fread(d, 1, (size_t)len, f) != (size_t)len) {
        free(d);
        d = NULL;
    } else {
        *n = (size_t)len;
    }
    fclose(f);
    return d;
}

/* Library messages (report() on stderr) go to /dev/null while a target runs; a finding's message
 * (fuzz_fail) still reaches the real stderr through fz.msg_fd. */
static void quiet_run(const struct fuzz_target *t, const uint8_t *d, size_t n)
{
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC), saved;

    assert_true(null >= 0);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(null, 2) == 2);
    close(null);
    fz.msg_fd = saved;
    assert_int_equal(t->run(d, n), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fz.msg_fd = 2;
}

/* Replay every regular file of FUZZ_DIR/kind/<target>/; returns how many ran. */
static size_t replay_dir(const char *kind, const struct fuzz_target *t)
{
    char dir[256], path[768];
    struct dirent *e;
    struct stat st;
    size_t ran = 0, n = 0;
    uint8_t *d;
    DIR *dp;

    snprintf(dir, sizeof(dir), "%s/%s/%s", FUZZ_DIR, kind, t->name);
    if ((dp = opendir(dir)) == NULL)
        return 0;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        d = replay_read(path, &n);
        if (d == NULL)
            fail_msg("%s: cannot read (or over %d bytes)", path, MAX_REPLAY_BYTES);
        quiet_run(t, d, n);
        free(d);
        ran++;
    }
    closedir(dp);
    return ran;
}

/* Seeds: every target has a committed seed corpus that replays cleanly and holds inputs its parser
 * accepts (so the fuzzer starts past the parser, e.g. templates named "fuzz") and inputs it
 * refuses; the CSR and template seeds reach tmpl_check and get plans. */
static void test_seeds(void **state)
{
    (void)state;
    for (size_t i = 0; i < fuzz_n_targets; i++) {
        const struct fuzz_target *t = &fuzz_targets[i];
        size_t ran, acc0 = fz.accepted, plan0 = fz.planned, acc, planned;

        ran = replay_dir("seeds", t);
        acc = fz.accepted - acc0;
        planned = fz.planned - plan0;
        print_message("seeds/%s: %zu inputs, %zu accepted, %zu plans\n", t->name, ran, acc, planned);
        assert_true(ran >= 3);
        if (strcmp(t->name, "csr") != 0)  /* re-signed CSRs count too: more than ran */
            assert_true(acc < ran);
        assert_true(acc >= 1);
        if (strcmp(t->name, "csr") == 0 || strcmp(t->name, "template") == 0)
            assert_true(planned >= 1);
    }
}

/* Regressions: inputs that once crashed a target (fixed since) replay cleanly. */
static void test_regress(void **state)
{
    size_t total = 0;

    (void)state;
    for (size_t i = 0; i < fuzz_n_targets; i++) {
        size_t ran = replay_dir("regress", &fuzz_targets[i]);

        print_message("regress/%s: %zu inputs\n", fuzz_targets[i].name, ran);
        total += ran;
    }
    print_message("regress: %zu inputs in all\n", total);
}

/* The corpus directories name only known targets (a typo would silently skip a corpus). */
static void test_dirs_name_targets(void **state)
{
    static const char *const kinds[] = { "seeds", "regress", "pending" };
    char dir[128];
    struct dirent *e;
    DIR *dp;

    (void)state;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        snprintf(dir, sizeof(dir), "%s/%s", FUZZ_DIR, kinds[k]);
        if ((dp = opendir(dir)) == NULL)
            continue;
        while ((e = readdir(dp)) != NULL)
            if (e->d_name[0] != '.' && strcmp(e->d_name, "README") != 0 &&
                fuzz_target_find(e->d_name) == NULL)
                fail_msg("%s/%s: no fuzz target of that name", dir, e->d_name);
        closedir(dp);
    }
}

/* The round-trip checks do fire: a target given a crafted finding would abort, so instead check
 * the promise they rest on directly for a name with every escape. */
static void test_dn_roundtrip_holds(void **state)
{
    static const char *const names[] = {
        "CN=\\#hash\\ ,O=\\\"q\\\"\\;\\<\\>\\=\\\\,L=M\\C3\\BCnchen",
        "CN=a+UID=b,OU=x\\+y,C=DE",
        "CN=\\ lead and trail\\ ,DC=example",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        X509_NAME *x = dn_parse(names[i]);

        assert_non_null(x);
        fuzz_dn_roundtrip(x, names[i]);
        X509_NAME_free(x);
    }
}

static int group_teardown(void **state)
{
    (void)state;
    fuzz_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirs_name_targets),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_regress),
        cmocka_unit_test(test_dn_roundtrip_holds),
    };

    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
