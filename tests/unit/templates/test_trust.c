/*
 * test_trust.c — the owner/mode rule for files that decide what offca does (templates/trust.c):
 * root or the running user, not group/world-writable; the message names the path, the problem
 * and the chmod/chown fix. Stat records are made up, so no file or second user is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "templates/template.h"

struct trust_case {
    int uid;                       /* -1: the running user */
    mode_t mode;
    int ok;
    const char *msg;
};

static const struct trust_case cases[] = {
    { 0, S_IFREG | 0644, 1, NULL },
    { -1, S_IFREG | 0600, 1, NULL },
    { 0, S_IFDIR | 0755, 1, NULL },
    { 0, S_IFDIR | 01755, 1, NULL },
    { 0, S_IFREG | 0664, 0, "/x/f: file mode: 0664 lets its group write it" },
    { 0, S_IFREG | 0666, 0, "0666 lets anyone write it, and so change what offca does; run chmod go-w /x/f" },
    { 0, S_IFDIR | 0777, 0, "/x/f: directory mode: 0777 lets anyone" },
    { 0, S_IFDIR | 01777, 0, "directory mode: 1777 lets anyone" },
    { 4242, S_IFREG | 0644, 0, "/x/f: file owner: owned by uid 4242" },
    { 4242, S_IFREG | 0600, 0, "run chown root /x/f (or chown it to the offca user)" },
};

static void test_trust_rule(void **state)
{
    char why[1024];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stat st;

        memset(&st, 0, sizeof(st));
        st.st_uid = cases[i].uid < 0 ? geteuid() : (uid_t)cases[i].uid;
        st.st_mode = cases[i].mode;
        why[0] = '\0';
        assert_int_equal(tmpl_trust_check("/x/f", &st, why, sizeof(why)), cases[i].ok);
        if (!cases[i].ok && strstr(why, cases[i].msg) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, why, cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trust_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
