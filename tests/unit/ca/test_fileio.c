/*
 * test_fileio.c — bounded loader and atomic writer (ca/common/fileio.c).
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
#include <unistd.h>

#include "ca/common/common.h"
#include "tests/unit/support/capture.h"

static char dir[256];

static int setup(void **state)
{
    return tmpdir_make(dir, sizeof(dir)) ? 0 : -1;
}

static int teardown(void **state)
{
    return tmpdir_remove(dir) ? 0 : -1;
}

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

/* a file of size bytes of a repeating pattern */
static void make_file(const char *path, size_t size)
{
    FILE *f = fopen(path, "wb");
    size_t i;

    assert_non_null(f);
    for (i = 0; i < size; i++)
        fputc('a' + (int)(i % 26), f);
    assert_int_equal(fclose(f), 0);
}

static size_t count_entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' || strncmp(de->d_name, ".offca-tmp", 10) == 0)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                n++;
    closedir(d);
    return n;
}

/* ---- file_load on regular files: a table of sizes against limits ---- */
struct load_case {
    const char *name;
    size_t size, max;
    int rc;
    const char *fragment;       /* in the message when rc != 0 */
};

static const struct load_case load_cases[] = {
    { "empty file is fine (callers decide)", 0, 100, 0, NULL },
    { "small file", 17, 100, 0, NULL },
    { "exactly the limit", 100, 100, 0, NULL },
    { "one byte over", 101, 100, EXIT_INPUT, "101 bytes is over the 100 bytes limit" },
    { "large file, CSR limit", 3355443, MAX_INPUT_BYTES, EXIT_INPUT,
      "3.2 MiB is over the 1 MiB limit" },
    { "1 MiB + 1", MAX_INPUT_BYTES + 1, MAX_INPUT_BYTES, EXIT_INPUT, "over the 1 MiB limit" },
    { "1 MiB exactly", MAX_INPUT_BYTES, MAX_INPUT_BYTES, 0, NULL },
    { "bigger than one read chunk", 200000, 300000, 0, NULL },
};

static void test_load_table(void **state)
{
    size_t i, len, j;
    unsigned char *data;
    char path[512];
    const char *msg;
    int rc;

    for (i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
        const struct load_case *c = &load_cases[i];
        print_message("case: %s\n", c->name);
        path_in(path, sizeof(path), "in.bin");
        make_file(path, c->size);
        data = NULL;
        len = 12345;
        assert_true(capture_start(2));
        rc = file_load(path, c->max, &data, &len);
        msg = capture_stop();
        assert_int_equal(rc, c->rc);
        if (c->rc == 0) {
            assert_string_equal(msg, "");
            assert_non_null(data);
            assert_int_equal(len, c->size);
            assert_int_equal(data[len], '\0');
            for (j = 0; j < len; j++)
                assert_int_equal(data[j], 'a' + (int)(j % 26));
            free(data);
        } else {
            assert_null(data);
            assert_int_equal(len, 12345);   /* out-params untouched on failure */
            assert_non_null(strstr(msg, c->fragment));
            assert_non_null(strstr(msg, path));
            assert_non_null(strstr(msg, "check you passed the right file"));
        }
        unlink(path);
    }
}

/* ---- file_load on things that are not regular files ---- */
static void expect_load_fails(const char *path, int want, const char *fragment)
{
    unsigned char *data = NULL;
    size_t len = 0;
    const char *msg;
    int rc;

    assert_true(capture_start(2));
    rc = file_load(path, 1000, &data, &len);
    msg = capture_stop();
    assert_int_equal(rc, want);
    assert_null(data);
    assert_non_null(strstr(msg, fragment));
}

static void test_load_refuses_special(void **state)
{
    char path[512];

    expect_load_fails(dir, EXIT_INPUT, "not a regular file (a directory)");
    path_in(path, sizeof(path), "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    /* must not block waiting for a writer */
    expect_load_fails(path, EXIT_INPUT, "not a regular file (a device, FIFO or socket)");
    unlink(path);
    expect_load_fails("/dev/zero", EXIT_INPUT, "not a regular file");
    path_in(path, sizeof(path), "missing");
    expect_load_fails(path, EXIT_INPUT, "open: No such file or directory");
}

/* ---- stdin ("-"): read with the cap ---- */
static void load_stdin(size_t size, size_t max, int want, const char *fragment)
{
    char path[512];
    unsigned char *data = NULL;
    size_t len = 0;
    int saved, fd, rc;
    const char *msg;

    path_in(path, sizeof(path), "stdin.bin");
    make_file(path, size);
    /* a pipe-like source: stdin from a file, read through the "-" path */
    saved = dup(0);
    fd = open(path, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    assert_true(dup2(fd, 0) == 0);
    close(fd);
    assert_true(capture_start(2));
    rc = file_load("-", max, &data, &len);
    msg = capture_stop();
    assert_true(dup2(saved, 0) == 0);
    close(saved);
    assert_int_equal(rc, want);
    if (want == 0) {
        assert_int_equal(len, size);
        assert_int_equal(data[len], '\0');
        free(data);
    } else {
        assert_null(data);
        assert_non_null(strstr(msg, fragment));
    }
    unlink(path);
}

static void test_load_stdin(void **state)
{
    load_stdin(0, 10, 0, NULL);
    load_stdin(10, 10, 0, NULL);
    load_stdin(9000, 10000, 0, NULL);
    load_stdin(11, 10, EXIT_INPUT, "stdin: size limit: more than 11 bytes is over the 10 bytes");
    load_stdin(MAX_INPUT_BYTES + 1, MAX_INPUT_BYTES, EXIT_INPUT, "over the 1 MiB limit");
}

/* ---- file_write ---- */
static void read_back(const char *path, const char *want)
{
    unsigned char *data = NULL;
    size_t len = 0;

    assert_int_equal(file_load(path, 1000, &data, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    free(data);
}

struct write_case {
    const char *name;
    int mode;
    mode_t umask_during;
};

static const struct write_case write_cases[] = {
    { "0600 under umask 022", 0600, 022 },
    { "0644 under umask 077 (umask ignored)", 0644, 077 },
    { "0400 read-only", 0400, 022 },
    { "0640 under umask 0", 0640, 0 },
};

static void test_write_modes(void **state)
{
    char path[512];
    struct stat st;
    mode_t old;
    size_t i;

    for (i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++) {
        print_message("case: %s\n", write_cases[i].name);
        path_in(path, sizeof(path), "out.pem");
        old = umask(write_cases[i].umask_during);
        assert_int_equal(file_write(path, "hello\n", 6, write_cases[i].mode, 0), 0);
        umask(old);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, write_cases[i].mode);
        read_back(path, "hello\n");
        assert_int_equal(count_entries(), 1);    /* no temp file left behind */
        unlink(path);
    }
}

static void test_write_no_overwrite(void **state)
{
    char path[512];
    const char *msg;
    int rc;

    path_in(path, sizeof(path), "cert.pem");
    assert_int_equal(file_write(path, "first", 5, 0644, 0), 0);
    assert_true(capture_start(2));
    rc = file_write(path, "second", 6, 0644, 0);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_USAGE);
    assert_non_null(strstr(msg, "the file exists and was left as it was"));
    assert_non_null(strstr(msg, "remove it or choose another -o"));
    read_back(path, "first");
    assert_int_equal(count_entries(), 1);

    assert_int_equal(file_write(path, "third", 5, 0600, 1), 0);
    read_back(path, "third");
    assert_int_equal(count_entries(), 1);
    unlink(path);
}

static void test_write_failures(void **state)
{
    char path[512];
    const char *msg;
    int rc;

    path_in(path, sizeof(path), "no-such-dir/out.pem");
    assert_true(capture_start(2));
    rc = file_write(path, "x", 1, 0644, 0);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_SYSTEM);
    assert_non_null(strstr(msg, "create temp file in"));
    assert_non_null(strstr(msg, "check the directory exists and is writable"));

    /* overwriting a directory with a file fails and cleans up its temp file */
    path_in(path, sizeof(path), "adir");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_true(capture_start(2));
    rc = file_write(path, "x", 1, 0644, 1);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_SYSTEM);
    assert_non_null(strstr(msg, "rename: Is a directory"));
    assert_int_equal(count_entries(), 1);
    rmdir(path);

    assert_true(capture_start(2));
    rc = file_write("", "x", 1, 0644, 0);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_USAGE);
    assert_non_null(strstr(msg, "path is empty or too long"));
}

static void test_write_stdout(void **state)
{
    static const char bin[] = { 'a', 0, 'b', '\n' };
    const char *out;

    assert_true(capture_start(1));
    assert_int_equal(file_write("-", bin, sizeof(bin), 0644, 0), 0);
    out = capture_stop();
    assert_int_equal(capture_len(), sizeof(bin));
    assert_memory_equal(out, bin, sizeof(bin));
    assert_int_equal(count_entries(), 0);
}

/* ---- file_group: many outputs, one flush ---- */
static void test_group_commit(void **state)
{
    char a[512], b[512], c[512];
    struct file_group *g = file_group_new(3);
    struct stat st;
    const char *msg;
    int rc;

    assert_non_null(g);
    path_in(a, sizeof(a), "a.pem");
    path_in(b, sizeof(b), "b.pem");
    path_in(c, sizeof(c), "no-such-dir/c.pem");
    assert_int_equal(file_write(b, "old", 3, 0644, 0), 0);
    assert_int_equal(file_group_add(g, a, "alpha", 5, 0644), 0);
    assert_int_equal(file_group_add(g, b, "beta", 4, 0644), 0);
    assert_true(capture_start(2));
    rc = file_group_add(g, c, "gamma", 5, 0644);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_SYSTEM);
    assert_non_null(strstr(msg, "check the directory exists and is writable"));
    /* staged, not visible: nothing under a.pem before the commit */
    assert_int_not_equal(access(a, F_OK), 0);
    assert_int_equal(count_entries(), 3);          /* b.pem + two temp files */
    assert_true(capture_start(2));
    rc = file_group_commit(g);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_USAGE);             /* the first failing entry: b.pem exists */
    assert_non_null(strstr(msg, "the file exists and was left as it was"));
    assert_int_equal(file_group_rc(g, 0), 0);
    assert_int_equal(file_group_rc(g, 1), EXIT_USAGE);
    assert_int_equal(file_group_rc(g, 2), EXIT_SYSTEM);
    assert_int_equal(file_group_rc(g, 3), EXIT_SYSTEM);   /* out of range */
    file_group_free(g);
    read_back(a, "alpha");
    read_back(b, "old");
    assert_int_equal(stat(a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(count_entries(), 2);          /* a.pem, b.pem: no temp file left */
    unlink(a);
    unlink(b);
}

static void test_group_abandoned(void **state)
{
    char a[512];
    struct file_group *g = file_group_new(1);
    const char *msg;
    int rc;

    assert_non_null(g);
    path_in(a, sizeof(a), "a.pem");
    assert_int_equal(file_group_add(g, a, "alpha", 5, 0600), 0);
    assert_true(capture_start(2));
    rc = file_group_add(g, a, "again", 5, 0600);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_SYSTEM);
    assert_non_null(strstr(msg, "group full"));
    assert_int_equal(count_entries(), 1);          /* one temp file */
    file_group_free(g);                            /* never committed: the temp file goes */
    assert_int_equal(count_entries(), 0);
    file_group_free(NULL);
}

static void test_group_staged(void **state)
{
    char a[512], b[512];
    struct file_staged *sa = NULL, *sb = NULL;
    struct file_group *g = file_group_new(1);

    assert_non_null(g);
    path_in(a, sizeof(a), "a.pem");
    path_in(b, sizeof(b), "b.pem");
    assert_int_equal(file_stage(a, "alpha", 5, 0644, &sa), 0);
    assert_int_equal(file_stage(b, "beta", 4, 0644, &sb), 0);
    assert_int_equal(count_entries(), 2);          /* two temp files, nothing under a name */
    assert_int_not_equal(access(a, F_OK), 0);
    file_staged_free(sb);                          /* never adopted: its temp file goes */
    assert_int_equal(count_entries(), 1);
    assert_int_equal(file_group_adopt(g, sa), 0);
    assert_int_equal(file_group_commit(g), 0);
    assert_int_equal(file_group_rc(g, 0), 0);
    file_group_free(g);
    read_back(a, "alpha");
    assert_int_not_equal(access(b, F_OK), 0);
    assert_int_equal(count_entries(), 1);
    file_staged_free(NULL);
    unlink(a);
}

/* A tagged staged file carries its tag in its name, so a later run finds it again; names of other
 * outputs, non-hex tags and plain temp files are not taken for it. */
static void test_stage_tagged_find(void **state)
{
    static const char *const ignored[] = {
        ".b.pem.offca-stage-00ab",                 /* another output's */
        ".a.pem.offca-stage-00XY",                 /* not hex */
        ".a.pem.offca-stage-",                     /* no tag */
        ".offca-tmp-abcdef",                       /* untagged temp file */
        "a.pem.offca-stage-01",                    /* not hidden: not ours */
    };
    char a[512], p[512], tag[64], tmp[512], want[512];
    struct file_staged *st = NULL;
    size_t i;

    path_in(a, sizeof(a), "a.pem");
    assert_int_equal(file_stage_find(a, tag, sizeof(tag), tmp, sizeof(tmp)), 0);
    assert_int_equal(file_stage_dir_any(a), 0);
    path_in(p, sizeof(p), ".offca-tmp-abcdef");   /* a plain temp file is no staged file */
    make_file(p, 3);
    assert_int_equal(file_stage_dir_any(a), 0);
    for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        path_in(p, sizeof(p), ignored[i]);
        make_file(p, 3);
    }
    assert_int_equal(file_stage_find(a, tag, sizeof(tag), tmp, sizeof(tmp)), 0);
    assert_int_equal(file_stage_dir_any(a), 1);   /* b.pem's counts for the directory */
    assert_int_equal(file_stage_tagged(a, "0a1b2c", "alpha", 5, 0644, &st), 0);
    path_in(want, sizeof(want), ".a.pem.offca-stage-0a1b2c");
    read_back(want, "alpha");
    assert_int_equal(file_stage_find(a, tag, sizeof(tag), tmp, sizeof(tmp)), 1);
    assert_string_equal(tag, "0a1b2c");
    assert_string_equal(tmp, want);
    /* a tag longer than the caller's buffer is not returned truncated */
    assert_int_equal(file_stage_find(a, tag, 4, tmp, sizeof(tmp)), 0);
    file_staged_free(st);                          /* never adopted: removed */
    assert_int_not_equal(access(want, F_OK), 0);
    assert_int_equal(file_stage_find(a, tag, sizeof(tag), tmp, sizeof(tmp)), 0);
    path_in(p, sizeof(p), "missing/a.pem");        /* no such directory: nothing staged */
    assert_int_equal(file_stage_find(p, tag, sizeof(tag), tmp, sizeof(tmp)), 0);
    assert_int_equal(file_stage_dir_any(p), 0);
    for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        path_in(p, sizeof(p), ignored[i]);
        unlink(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_special, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_no_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_abandoned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_staged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_tagged_find, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
