/*
 * test_config.c — ca.toml (ca/config/config.c): ca.toml.example itself must load, relative paths and
 * derived URLs, config_ca() for CAs with and without a section, the lookup order of the file,
 * and the corpus of invalid configs in tests/data/bad/config/ (expected line:col and message in
 * EXPECTED; the message is what report() printed). Run from the repository root.
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

#include "ca/config/config.h"
#include "tests/unit/support/capture.h"

#define BAD_DIR "tests/data/bad/config"
#define GOOD_DIR "tests/data/good/config"
#define DAY 86400

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("message \"%s\" lacks \"%s\"", haystack, needle);
}

/* config_load with stderr captured; *msg gets what report() printed. */
static struct config *load_quiet(const char *path, const char **msg)
{
    struct config *c;

    assert_true(capture_start(STDERR_FILENO));
    c = config_load(path);
    *msg = capture_stop();
    return c;
}

static void test_example(void **state)
{
    const char *msg;
    struct config *c = load_quiet("ca.toml.example", &msg);
    const struct ca_cfg *root, *iss;

    (void)state;
    if (!c)
        fail_msg("ca.toml.example does not load: %s", msg);
    assert_string_equal(msg, "");
    assert_string_equal(c->path, "ca.toml.example");
    assert_string_equal(c->store_path, "/var/lib/offca/store");
    assert_string_equal(c->hsm_module, "/usr/lib/softhsm/libsofthsm2.so");
    assert_string_equal(c->hsm_token, "offca");
    assert_null(c->hsm_token_serial);
    assert_string_equal(c->hsm_pin_file, "/etc/offca/pin");
    assert_string_equal(c->publish_dir, "/var/lib/offca/publish");
    assert_string_equal(c->base_url, "http://pki.contoso.com/pki");
    assert_string_equal(c->templates_dir, "/etc/offca/templates");
    assert_null(c->blocked_keys_file);                  /* commented out in the example */
    assert_int_equal(c->n_cas, 2);
    root = config_ca(c, "contoso-root");
    assert_ptr_equal(root, &c->cas[0]);
    assert_string_equal(root->name, "contoso-root");
    assert_true(root->crl_period == 180 * DAY);
    assert_true(root->crl_overlap == 30 * DAY);
    assert_true(root->delta_period == 0);
    assert_true(root->clock_skew == 600);
    assert_string_equal(root->cdp_url, "http://pki.contoso.com/pki/contoso-root.crl");
    assert_string_equal(root->aia_url, "http://pki.contoso.com/pki/contoso-root.crt");
    iss = config_ca(c, "contoso-issuing1");
    assert_ptr_equal(iss, &c->cas[1]);
    assert_true(iss->crl_period == 7 * DAY);
    assert_true(iss->crl_overlap == 2 * DAY);
    assert_int_equal(iss->crl_idp, 0);
    assert_int_equal(iss->allow_extractable_key, 0);
    assert_string_equal(iss->cdp_url, "http://pki.contoso.com/pki/contoso-issuing1.crl");
    assert_true(c->defaults.crl_period == 7 * DAY);
    config_free(c);
}

static void test_relative_and_defaults(void **state)
{
    const char *msg;
    struct config *c = load_quiet(GOOD_DIR "/sub/relative.toml", &msg);
    const struct ca_cfg *ca;

    (void)state;
    if (!c)
        fail_msg("%s", msg);
    assert_string_equal(c->store_path, GOOD_DIR "/sub/store");
    assert_string_equal(c->hsm_module, GOOD_DIR "/sub/../lib/module.so");
    assert_string_equal(c->hsm_pin_file, GOOD_DIR "/sub/pin");
    assert_string_equal(c->publish_dir, "/srv/pki");
    assert_null(c->hsm_token);
    assert_string_equal(c->hsm_token_serial, "0123456789abcdef");
    assert_string_equal(c->base_url, "http://pki.example.net");
    assert_string_equal(c->templates_dir, "/etc/offca/templates");
    assert_null(c->blocked_keys_file);                  /* [keys] is optional */
    ca = config_ca(c, "only-urls");
    assert_string_equal(ca->cdp_url, "http://cdp.example.net/x.crl");
    assert_string_equal(ca->aia_url, "http://pki.example.net/only-urls.crt");
    assert_true(ca->crl_period == 7 * DAY);
    assert_true(ca->crl_overlap == 2 * DAY);
    assert_true(ca->delta_period == 0);
    assert_true(ca->clock_skew == 600);
    assert_int_equal(ca->crl_idp, 0);
    config_free(c);
}

static void test_config_ca_derived(void **state)
{
    const char *msg;
    struct config *c = load_quiet(GOOD_DIR "/minimal.toml", &msg);
    const struct ca_cfg *a, *b;

    (void)state;
    if (!c)
        fail_msg("%s", msg);
    assert_int_equal(c->n_cas, 0);
    a = config_ca(c, "Sub_CA-2");
    assert_non_null(a);
    assert_string_equal(a->name, "Sub_CA-2");
    assert_string_equal(a->cdp_url, "http://pki/Sub_CA-2.crl");
    assert_string_equal(a->aia_url, "http://pki/Sub_CA-2.crt");
    assert_true(a->crl_period == 7 * DAY);
    b = config_ca(c, "other");
    assert_string_equal(b->cdp_url, "http://pki/other.crl");
    assert_ptr_equal(config_ca(c, "Sub_CA-2"), a);     /* built once, stable while c lives */
    assert_string_equal(a->cdp_url, "http://pki/Sub_CA-2.crl");

    assert_true(capture_start(STDERR_FILENO));
    a = config_ca(c, "bad name");
    msg = capture_stop();
    assert_null(a);
    assert_contains(msg, "CA name 'bad name': invalid; use 1 to 64 of A-Z a-z 0-9 _ -");
    assert_true(capture_start(STDERR_FILENO));
    a = config_ca(c, "");
    msg = capture_stop();
    assert_null(a);
    assert_contains(msg, "CA name '': invalid");
    config_free(c);
    config_free(NULL);
}

static void test_path_choose(void **state)
{
    (void)state;
    unsetenv("OFFCA_CONFIG");
    assert_string_equal(config_path_choose(NULL), "./ca.toml");
    assert_string_equal(config_path_choose(""), "./ca.toml");
    assert_string_equal(config_path_choose("/etc/offca/ca.toml"), "/etc/offca/ca.toml");
    setenv("OFFCA_CONFIG", "/srv/offca.toml", 1);
    assert_string_equal(config_path_choose(NULL), "/srv/offca.toml");
    assert_string_equal(config_path_choose("x.toml"), "x.toml");
    setenv("OFFCA_CONFIG", "", 1);
    assert_string_equal(config_path_choose(NULL), "./ca.toml");
    unsetenv("OFFCA_CONFIG");
}

static void test_unreadable(void **state)
{
    const char *msg;

    (void)state;
    assert_null(load_quiet(BAD_DIR "/no-such-file.toml", &msg));
    assert_contains(msg, "offca: " BAD_DIR "/no-such-file.toml: cannot open: No such file");
    assert_null(load_quiet(BAD_DIR, &msg));
    assert_contains(msg, "is a directory");
}

static int listed(char names[][128], size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static void test_bad_configs(void **state)
{
    static char names[128][128];
    char line[768], path[300], want[400];
    size_t n = 0, failed = 0;
    FILE *f = fopen(BAD_DIR "/EXPECTED", "r");
    DIR *d;
    struct dirent *e;

    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char *name = strtok(line, "\t"), *loc = strtok(NULL, "\t"), *frag = strtok(NULL, "\n");
        const char *msg;
        struct config *c;

        if (!name || name[0] == '#')
            continue;
        assert_non_null(loc);
        assert_non_null(frag);
        assert_true(n < 128);
        snprintf(names[n++], sizeof(names[0]), "%s", name);
        snprintf(path, sizeof(path), BAD_DIR "/%s", name);
        if (strcmp(loc, "-") == 0)
            snprintf(want, sizeof(want), "offca: %s: ", path);
        else
            snprintf(want, sizeof(want), "offca: %s:%s: ", path, loc);
        c = load_quiet(path, &msg);
        if (c) {
            print_error("%s: accepted\n", name);
            failed++;
        } else if (strncmp(msg, want, strlen(want)) != 0 || !strstr(msg, frag) ||
                   !strchr(msg, ';') || strchr(msg, '\n') != msg + strlen(msg) - 1) {
            /* one report, at its location, with the fragment and a "; what to do" */
            print_error("%s: got \"%s\", want \"%s...%s\"\n", name, msg, want, frag);
            failed++;
        }
        config_free(c);
    }
    fclose(f);
    assert_int_equal(failed, 0);
    assert_true(n >= 20);
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
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_relative_and_defaults),
        cmocka_unit_test(test_config_ca_derived),
        cmocka_unit_test(test_path_choose),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_bad_configs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
