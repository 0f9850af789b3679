/*
 * test_pin.c — PIN sources: pin_file rules (mode, symlink, directory, missing), content handling
 * (one trailing newline stripped; a second line, CR, tab, edge spaces refused; empty, too long),
 * $OFFCA_PIN, precedence and the "no source" message.
 * Files are made at run time in a mkdtemp directory (git does not keep file modes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/hsm.h"
#include "hsm/pin.h"

static char dir[64];

static const char *path_of(const char *name)
{
    static char p[160];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static const char *make_file(const char *name, const char *content, size_t len, mode_t mode)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/offca-pin-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct mode_case { mode_t mode; int ok; const char *msg; };

static const struct mode_case mode_cases[] = {
    { 0600, 1, NULL },
    { 0400, 1, NULL },
    { 0640, 0, "mode 0640 lets group/others read or write it; run chmod 600" },
    { 0644, 0, "mode 0644 lets group/others" },
    { 0602, 0, "mode 0602" },
    { 0660, 0, "run chmod 600" },
};

static void test_pin_file_mode(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(mode_cases) / sizeof(mode_cases[0]); i++) {
        const char *p = make_file("pin", "1234\n", 5, mode_cases[i].mode);

        assert_int_equal(hsm_pin_file_check(p), mode_cases[i].ok);
        if (!mode_cases[i].ok) {
            if (strstr(hsm_error(), mode_cases[i].msg) == NULL)
                fail_msg("mode %04o: '%s' lacks '%s'", (unsigned)mode_cases[i].mode, hsm_error(),
                         mode_cases[i].msg);
            assert_non_null(strstr(hsm_error(), p));
            assert_int_equal(hsm_error_code(), 1);
        }
    }
}

static void test_pin_file_kind(void **state)
{
    const char *target = make_file("real", "1234\n", 5, 0600);
    char link[160];

    snprintf(link, sizeof(link), "%s", path_of("link"));
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(hsm_pin_file_check(link), 0);
    assert_non_null(strstr(hsm_error(), "pin_file: is a symlink"));
    assert_int_equal(mkdir(path_of("adir"), 0700), 0);
    assert_int_equal(hsm_pin_file_check(path_of("adir")), 0);
    assert_non_null(strstr(hsm_error(), "pin_file: not a regular file"));
    assert_int_equal(hsm_pin_file_check(path_of("missing")), 0);
    assert_non_null(strstr(hsm_error(), "pin_file: cannot open"));
    assert_int_equal(hsm_error_code(), 3);
}

struct content_case { const char *content; size_t len; int ok; const char *want; };

static const struct content_case contents[] = {
    { "1234\n", 5, 1, "1234" },
    { "1234", 4, 1, "1234" },
    { "12 34\n", 6, 1, "12 34" },        /* a space inside is part of the PIN */
    { "", 0, 0, "PIN: empty" },
    { "\n", 1, 0, "PIN: empty" },
    /* One newline is stripped, nothing else: anything more is refused, never sent. */
    { "1234\n\n", 6, 0, "PIN: contains a second line (byte 5); not sent to the token" },
    { "1234\nabcd\n", 10, 0, "PIN: contains a second line" },
    { "1234\r\n", 6, 0, "PIN: contains a carriage return (CR) (byte 5)" },
    { "12\t34\n", 6, 0, "PIN: contains a tab or another control character (byte 3)" },
    { " 1234\n", 6, 0, "PIN: contains a space at its start or end (byte 1)" },
    { "1234 \n", 6, 0, "PIN: contains a space at its start or end (byte 5)" },
    { "\n\n", 2, 0, "PIN: contains a second line" },
};

static void test_pin_file_content(void **state)
{
    struct hsm_config cfg = { "m.so", "t", NULL, NULL, 0 };
    char pin[MAX_PIN + 1];
    size_t len, i;

    unsetenv("OFFCA_PIN");
    for (i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
        cfg.pin_file = make_file("pin", contents[i].content, contents[i].len, 0600);
        assert_int_equal(pin_get(&cfg, "t", pin, &len), contents[i].ok);
        if (contents[i].ok) {
            assert_string_equal(pin, contents[i].want);
            assert_int_equal(len, strlen(contents[i].want));
        } else {
            assert_non_null(strstr(hsm_error(), contents[i].want));
        }
    }
}

static void test_pin_file_too_long(void **state)
{
    struct hsm_config cfg = { "m.so", "t", NULL, NULL, 0 };
    char big[MAX_PIN + 40], pin[MAX_PIN + 1];
    size_t len;

    memset(big, '7', sizeof(big));
    cfg.pin_file = make_file("pin", big, MAX_PIN, 0600);
    assert_int_equal(pin_get(&cfg, "t", pin, &len), 1);
    assert_int_equal(len, MAX_PIN);
    cfg.pin_file = make_file("pin", big, MAX_PIN + 1, 0600);
    assert_int_equal(pin_get(&cfg, "t", pin, &len), 0);
    assert_non_null(strstr(hsm_error(), "longer than 256 bytes"));
    cfg.pin_file = make_file("pin", big, sizeof(big), 0600);
    assert_int_equal(pin_get(&cfg, "t", pin, &len), 0);
    assert_non_null(strstr(hsm_error(), "longer than 256 bytes"));
    cfg.pin_file = make_file("pin", "1234\n", 5, 0644);
    assert_int_equal(pin_get(&cfg, "t", pin, &len), 0);
    assert_non_null(strstr(hsm_error(), "run chmod 600"));
}

static void test_pin_sources(void **state)
{
    struct hsm_config cfg = { "m.so", "t", NULL, NULL, 0 };
    char pin[MAX_PIN + 1];
    size_t len;

    setenv("OFFCA_PIN", "5678", 1);
    assert_int_equal(pin_get(&cfg, "t", pin, &len), 1);
    assert_string_equal(pin, "5678");
    /* pin_file wins over the environment. */
    cfg.pin_file = make_file("pin", "1234\n", 5, 0600);
    assert_int_equal(pin_get(&cfg, "t", pin, &len), 1);
    assert_string_equal(pin, "1234");
    setenv("OFFCA_PIN", "", 1);
    cfg.pin_file = NULL;
    assert_int_equal(pin_get(&cfg, "t", pin, &len), 0);
    assert_non_null(strstr(hsm_error(), "OFFCA_PIN: PIN: empty"));
    unsetenv("OFFCA_PIN");
    assert_int_equal(pin_get(&cfg, "tok", pin, &len), 0);
    assert_non_null(strstr(hsm_error(), "token 'tok': PIN: no PIN source; set pin_file"));
    assert_non_null(strstr(hsm_error(), "export OFFCA_PIN"));
    assert_non_null(strstr(hsm_error(), "prompted"));
    assert_int_equal(hsm_error_code(), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_file_mode),
        cmocka_unit_test(test_pin_file_kind),
        cmocka_unit_test(test_pin_file_content),
        cmocka_unit_test(test_pin_file_too_long),
        cmocka_unit_test(test_pin_sources),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
