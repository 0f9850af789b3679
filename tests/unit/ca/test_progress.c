/*
 * test_progress.c — the progress line (ca/common/progress.c): exact text with and without a total, the
 * time left, the clamp at 100%, and that nothing is drawn when stderr is not a terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ca/common/common.h"

struct fmt_case {
    const char *what;
    size_t done, total;
    double elapsed;
    const char *extra, *want;
};

static const struct fmt_case cases[] = {
    { "directory import", 50000, 200000, 10.0, NULL,
      "directory import: 50000/200000 (25%), 5000/s, 0:30 left" },
    { "sign --batch", 3, 10, 1.5, "issued 3, failed 0",
      "sign --batch: 3/10 (30%), 2/s, 0:04 left, issued 3, failed 0" },
    { "x", 10, 10, 2.0, "", "x: 10/10 (100%), 5/s, done" },
    { "x", 12, 10, 2.0, NULL, "x: 12/10 (100%), 6/s, done" },
    { "x", 0, 10, 0.0, NULL, "x: 0/10 (0%), 0/s" },
    { "x", 7, 0, 1.0, "n", "x: 7, 7/s, n" },
    { "x", 1, 7201, 1.0, NULL, "x: 1/7201 (0%), 1/s, 2:00:00 left" },
    { "x", 1, 1000000000, 1.0, NULL, "x: 1/1000000000 (0%), 1/s, 99:59:59 left" },
};

static void test_format(void **state)
{
    char buf[PROGRESS_LINE];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(progress_format(buf, sizeof(buf), cases[i].what, cases[i].done,
                                            cases[i].total, cases[i].elapsed, cases[i].extra),
                            cases[i].want);
}

/* stderr redirected to a file (as under cron): nothing is written, whatever the steps. */
static void test_not_a_tty(void **state)
{
    struct progress p;
    FILE *f = tmpfile();
    int saved = dup(2);

    (void)state;
    assert_non_null(f);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), 2) == 2);
    progress_begin(&p, "x", 3);
    for (size_t i = 1; i <= 3; i++)
        progress_step(&p, i, "e");
    progress_end(&p);
    fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    assert_int_equal(p.on, 0);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_int_equal(ftell(f), 0);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_not_a_tty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
