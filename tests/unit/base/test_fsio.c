/*
 * test_fsio.c — base/fsio.c: the atomic writer's steps (bytes and exact mode, replace only when
 * asked, no temp file left by a failure, no symlink followed at the target or the temp path),
 * offca's temp names and their sweep, and the bounded loader (size cap, regular files only,
 * O_NOFOLLOW on request, the check callback).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsio.h"
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

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("'%s' lacks '%s'", hay, needle);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* The file at path holds exactly want. */
static void assert_file(const char *path, const char *want)
{
    char buf[256];
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
}

/* Entries in the test directory other than "." and "..". */
static size_t entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The last path component. */
static const char *leaf(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

/* ---- writing ---- */

/* Each kind: the bytes, exactly the mode whatever the umask, a temp name of that kind beside the
 * target, and nothing left but the target once it is in place. */
static void test_write_place(void **state)
{
    static const struct {
        int kind, mode;
        mode_t umask_during;
        const char *tag;
    } c[] = {
        { FSIO_TEMP_ANON, 0644, 077, NULL },
        { FSIO_TEMP_PUBLISH, 0640, 0, NULL },
        { FSIO_TEMP_STAGE, 0600, 022, "0a1b" },
        { FSIO_TEMP_ANON, 0400, 022, NULL },
    };
    char out[512];
    struct stat st;

    path_in(out, sizeof(out), "out.pem");
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct fsio_temp t = { .kind = c[i].kind, .tag = c[i].tag, .mode = c[i].mode,
                               .sync = 1 };
        mode_t old = umask(c[i].umask_during);
        int ok = fsio_temp_write(out, &t, "hello\n", 6);

        umask(old);
        assert_true(ok);
        assert_int_equal(strncmp(t.path, dir, strlen(dir)), 0);     /* beside the target */
        assert_true(fsio_temp_is(leaf(t.path), c[i].kind));
        assert_int_not_equal(access(out, F_OK), 0);                  /* not yet under its name */
        assert_int_equal(lstat(t.path, &st), 0);
        assert_int_equal(st.st_mode & 07777, c[i].mode);
        assert_true(fsio_place(t.path, out, 0));
        assert_true(fsio_dir_sync(out));
        assert_file(out, "hello\n");
        assert_int_equal(stat(out, &st), 0);
        assert_int_equal(st.st_mode & 07777, c[i].mode);
        assert_int_equal(entries(), 1);                              /* the temp file is gone */
        assert_int_equal(unlink(out), 0);
    }
    /* the stage name carries the tag */
    {
        struct fsio_temp t = { .kind = FSIO_TEMP_STAGE, .tag = "00ff", .mode = 0600 };

        assert_true(fsio_temp_write(out, &t, "x", 1));
        assert_string_equal(leaf(t.path), ".out.pem.offca-stage-00ff");
        assert_int_equal(unlink(t.path), 0);
    }
}

/* An existing target is replaced only when asked; the refusal is class 2 with errno EEXIST, and
 * leaves both the target and the temp file as they were. */
static void test_place_replace_only_when_asked(void **state)
{
    struct fsio_temp t = { .kind = FSIO_TEMP_ANON, .mode = 0644, .sync = 1 };
    char out[512];

    path_in(out, sizeof(out), "cert.pem");
    put(out, "first");
    assert_true(fsio_temp_write(out, &t, "second", 6));
    base_err_clear();
    errno = 0;
    assert_false(fsio_place(t.path, out, 0));
    assert_int_equal(errno, EEXIST);
    assert_int_equal(base_err_code(), ERRC_USAGE);
    assert_contains(base_err_msg(), "cert.pem: the file exists and was left as it was");
    assert_file(out, "first");
    assert_int_equal(access(t.path, F_OK), 0);                       /* the caller decides */
    assert_true(fsio_place(t.path, out, 1));
    assert_file(out, "second");
    assert_int_not_equal(access(t.path, F_OK), 0);
    assert_int_equal(entries(), 1);
    unlink(out);
}

/* A failure at each step leaves no temp file: the directory missing (create), the file size
 * limit hit while writing (write), and the target a directory (rename: the temp file is the
 * caller's, which removes it). */
static void test_failures_leave_no_temp(void **state)
{
    struct fsio_temp t = { .kind = FSIO_TEMP_PUBLISH, .mode = 0644, .sync = 1 };
    static char big[64 * 1024];
    struct rlimit old, small = { 1024, 0 };
    char out[512];
    int ok;

    path_in(out, sizeof(out), "no-such-dir/CA.crl");
    assert_false(fsio_temp_write(out, &t, "x", 1));
    assert_int_equal(t.step, FSIO_CREATE);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(base_err_code(), ERRC_SYSTEM);
    assert_contains(base_err_msg(), "create temp file in");
    assert_string_equal(t.path, "");

    path_in(out, sizeof(out), "CA.crl");
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    ok = fsio_temp_write(out, &t, big, sizeof(big));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_false(ok);
    assert_int_equal(t.step, FSIO_WRITE);
    assert_int_equal(errno, EFBIG);
    assert_contains(base_err_msg(), "CA.crl: write: File too large; check the disk");
    assert_int_not_equal(access(t.path, F_OK), 0);
    assert_int_equal(entries(), 0);

    path_in(out, sizeof(out), "adir");
    assert_int_equal(mkdir(out, 0700), 0);
    assert_true(fsio_temp_write(out, &t, "x", 1));
    assert_false(fsio_place(t.path, out, 1));
    assert_int_equal(base_err_code(), ERRC_SYSTEM);
    assert_contains(base_err_msg(), "adir: rename: Is a directory");
    assert_int_equal(unlink(t.path), 0);
    assert_int_equal(rmdir(out), 0);

    path_in(out, sizeof(out), "gone/x");
    assert_false(fsio_dir_sync(out));
    assert_contains(base_err_msg(), "open directory");
}

/* A symlink at the temp path is not followed (the victim is neither created nor written), and a
 * symlink at the target is replaced itself, or refused, never written through. */
static void test_symlinks_not_followed(void **state)
{
    struct fsio_temp t = { .kind = FSIO_TEMP_STAGE, .tag = "ab", .mode = 0600 };
    char out[512], tmp[512], victim[512], absent[512];

    path_in(out, sizeof(out), "o.pem");
    path_in(tmp, sizeof(tmp), ".o.pem.offca-stage-ab");
    path_in(victim, sizeof(victim), "victim");
    path_in(absent, sizeof(absent), "absent");
    put(victim, "keep");
    assert_int_equal(symlink(victim, tmp), 0);
    assert_false(fsio_temp_write(out, &t, "evil", 4));
    assert_int_equal(t.step, FSIO_CREATE);
    assert_file(victim, "keep");
    assert_int_equal(unlink(tmp), 0);
    assert_int_equal(symlink(absent, tmp), 0);               /* dangling: not created either */
    assert_false(fsio_temp_write(out, &t, "evil", 4));
    assert_int_not_equal(access(absent, F_OK), 0);
    assert_int_equal(unlink(tmp), 0);

    assert_int_equal(symlink(victim, out), 0);
    t.kind = FSIO_TEMP_ANON;
    assert_true(fsio_temp_write(out, &t, "new", 3));
    assert_false(fsio_place(t.path, out, 0));                /* a symlink is an existing name */
    assert_int_equal(errno, EEXIST);
    assert_true(fsio_place(t.path, out, 1));
    {
        struct stat st;

        assert_int_equal(lstat(out, &st), 0);
        assert_true(S_ISREG(st.st_mode));                    /* the link itself was replaced */
    }
    assert_file(out, "new");
    assert_file(victim, "keep");
    unlink(out);
    unlink(victim);
}

/* ---- temp names ---- */
static void test_temp_names(void **state)
{
    static const struct {
        const char *name;
        int anon, publish, stage;
    } c[] = {
        { ".offca-tmp-AbC123", 1, 0, 0 },
        { ".offca-tmp-AbC12", 0, 0, 0 },                     /* 5 random characters */
        { ".offca-tmp-AbC1234", 0, 0, 0 },
        { ".offca-tmp-AbC12-", 0, 0, 0 },
        { "offca-tmp-AbC123", 0, 0, 0 },                     /* not hidden */
        { ".CA.crl.0a1b2c3d4e5f.tmp", 0, 1, 0 },
        { ".CA.crl.0A1B2C3D4E5F.tmp", 0, 0, 0 },             /* upper case: not ours */
        { ".CA.crl.0a1b2c3d4e.tmp", 0, 0, 0 },               /* 10 hex digits */
        { ".CA.crl.0a1b2c3d4e5g.tmp", 0, 0, 0 },
        { ".CA.crl.0a1b2c3d4e5f.tmpx", 0, 0, 0 },
        { ".a.pem.offca-stage-00ff", 0, 0, 1 },
        { ".a.pem.offca-stage-", 0, 0, 0 },                  /* no tag */
        { ".a.pem.offca-stage-00XY", 0, 0, 0 },              /* not hex */
        { ".offca-stage-00ff", 0, 0, 0 },                    /* no output name */
        { "a.pem.offca-stage-00ff", 0, 0, 0 },
    };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        if (fsio_temp_is(c[i].name, FSIO_TEMP_ANON) != c[i].anon ||
            fsio_temp_is(c[i].name, FSIO_TEMP_PUBLISH) != c[i].publish ||
            fsio_temp_is(c[i].name, FSIO_TEMP_STAGE) != c[i].stage)
            fail_msg("%s: recognized wrongly", c[i].name);
    }
    assert_string_equal(fsio_stage_tag(".a.pem.offca-stage-0a1b", "a.pem"), "0a1b");
    assert_null(fsio_stage_tag(".b.pem.offca-stage-0a1b", "a.pem"));   /* another output's */
    assert_null(fsio_stage_tag(".a.pem.offca-stage-0a1B", "a.pem"));
    assert_null(fsio_stage_tag(".a.pem.offca-stage-", "a.pem"));
    assert_null(fsio_stage_tag(".a.pem.x.offca-stage-01", "a.pem"));
}

/* The sweep removes its kind's temp files and nothing else; an unlistable directory is -1. */
static void test_sweep(void **state)
{
    static const char *const names[] = {
        ".CA.crl.0a1b2c3d4e5f.tmp", ".CA+.crl.00112233aabb.tmp", "CA.crl",
        ".offca-tmp-AbC123", ".a.pem.offca-stage-01", ".CA.crl.0A1B2C3D4E5F.tmp",
    };
    char p[512];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path_in(p, sizeof(p), names[i]);
        put(p, "x");
    }
    assert_int_equal(fsio_temp_sweep(dir, FSIO_TEMP_PUBLISH), 2);
    assert_int_equal(entries(), 4);
    path_in(p, sizeof(p), ".offca-tmp-AbC123");
    assert_int_equal(access(p, F_OK), 0);                   /* another kind's: kept */
    path_in(p, sizeof(p), ".a.pem.offca-stage-01");
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(fsio_temp_sweep(dir, FSIO_TEMP_STAGE), 1);
    assert_int_not_equal(access(p, F_OK), 0);
    assert_int_equal(fsio_temp_sweep(dir, FSIO_TEMP_PUBLISH), 0);
    path_in(p, sizeof(p), "missing");
    assert_int_equal(fsio_temp_sweep(p, FSIO_TEMP_PUBLISH), -1);
    assert_int_equal(base_err_code(), ERRC_SYSTEM);
    assert_contains(base_err_msg(), p);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path_in(p, sizeof(p), names[i]);
        unlink(p);
    }
}

/* ---- loading ---- */
static void make_sized(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), f);
    assert_int_equal(fclose(f), 0);
}

/* Sizes against the cap: exactly max is read whole, max+1 refused before a byte is read. */
static void test_load_sizes(void **state)
{
    static const struct {
        size_t size, max;
        int ok;
    } c[] = { { 0, 10, 1 }, { 10, 10, 1 }, { 11, 10, 0 }, { 5000, 10000, 1 },
              { 200000, 200000, 1 }, { 3355443, 1048576, 0 } };
    char p[512];

    path_in(p, sizeof(p), "in.bin");
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct fsio_load l = { .max = c[i].max };
        unsigned char *data = NULL;
        size_t len = 777;

        make_sized(p, c[i].size);
        if (fsio_load(p, &l, &data, &len) != c[i].ok)
            fail_msg("%zu bytes, max %zu: wrong result", c[i].size, c[i].max);
        if (c[i].ok) {
            assert_int_equal(len, c[i].size);
            assert_int_equal(data[len], '\0');
            for (size_t j = 0; j < len; j++)
                assert_int_equal(data[j], 'a' + (int)(j % 26));
            free(data);
        } else {
            assert_null(data);
            assert_int_equal(len, 777);                      /* out-params untouched */
            assert_int_equal(l.step, FSIO_SIZE);
            assert_int_equal(base_err_code(), ERRC_INPUT);
            assert_contains(base_err_msg(), "size limit:");
            assert_contains(base_err_msg(), p);
        }
    }
    assert_contains(base_err_msg(), "3.2 MiB is over the 1 MiB limit");
    unlink(p);
}

/* A pipe fed in small pieces (so reads come back short) read to EOF: within the cap, or "more
 * than max" when it goes on. */
static int pipe_of(size_t size)
{
    int fds[2];
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        char piece[100];

        close(fds[0]);
        memset(piece, 'p', sizeof(piece));
        for (size_t done = 0; done < size; done += sizeof(piece)) {
            size_t n = size - done < sizeof(piece) ? size - done : sizeof(piece);

            if (write(fds[1], piece, n) != (ssize_t)n)
                _exit(1);
            usleep(200);
        }
        _exit(0);
    }
    close(fds[1]);
    return fds[0];
}

static void test_load_fd(void **state)
{
    static const struct {
        size_t size, max;
        int ok;
    } c[] = { { 0, 10, 1 }, { 10, 10, 1 }, { 11, 10, 0 }, { 9000, 10000, 1 },
              { 20000, 10000, 0 } };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct fsio_load l = { .max = c[i].max };
        unsigned char *data = NULL;
        size_t len = 0;
        int fd = pipe_of(c[i].size), st;

        if (fsio_load_fd(fd, "stdin", &l, &data, &len) != c[i].ok)
            fail_msg("%zu bytes, max %zu: wrong result", c[i].size, c[i].max);
        close(fd);
        wait(&st);
        if (c[i].ok) {
            assert_int_equal(len, c[i].size);
            for (size_t j = 0; j < len; j++)
                assert_int_equal(data[j], 'p');
            free(data);
        } else {
            assert_null(data);
            assert_int_equal(l.step, FSIO_SIZE);
            assert_contains(base_err_msg(), "stdin: size limit: more than ");
        }
    }
    assert_contains(base_err_msg(), "stdin: size limit: more than 9.8 KiB is over the 9.8 KiB "
                    "limit");
    {
        struct fsio_load l = { .max = 10 };
        unsigned char *data = NULL;
        size_t len = 0;
        int fd = pipe_of(11), st;

        assert_false(fsio_load_fd(fd, "stdin", &l, &data, &len));
        close(fd);
        wait(&st);
        assert_contains(base_err_msg(), "stdin: size limit: more than 11 bytes is over the 10 "
                        "bytes limit");
    }
}

static int checked;

static int refuse_all(const char *path, const struct stat *st)
{
    checked++;
    base_err_set(ERRC_POLICY, "%s: judged and refused", path);
    return 0;
}

/* Not regular files (a directory, a FIFO without blocking, a device) are refused before the
 * check; a missing file is an open failure; the check sees a regular file and may refuse it. */
static void test_load_refuses(void **state)
{
    struct fsio_load l = { .max = 100, .check = refuse_all };
    unsigned char *data = NULL;
    size_t len = 0;
    char p[512];

    checked = 0;
    assert_false(fsio_load(dir, &l, &data, &len));
    assert_int_equal(l.step, FSIO_TYPE);
    assert_int_equal(base_err_code(), ERRC_INPUT);
    assert_contains(base_err_msg(), "not a regular file (a directory)");
    path_in(p, sizeof(p), "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_false(fsio_load(p, &l, &data, &len));             /* must not wait for a writer */
    assert_contains(base_err_msg(), "not a regular file (a device, FIFO or socket)");
    unlink(p);
    assert_false(fsio_load("/dev/zero", &l, &data, &len));
    assert_int_equal(l.step, FSIO_TYPE);
    assert_int_equal(checked, 0);                            /* refused before the check */
    path_in(p, sizeof(p), "missing");
    assert_false(fsio_load(p, &l, &data, &len));
    assert_int_equal(l.step, FSIO_OPEN);
    assert_int_equal(errno, ENOENT);
    assert_contains(base_err_msg(), "open: No such file or directory");
    path_in(p, sizeof(p), "big");
    make_sized(p, 500);
    assert_false(fsio_load(p, &l, &data, &len));             /* the check comes before the size */
    assert_int_equal(l.step, FSIO_CHECK);
    assert_int_equal(checked, 1);
    assert_int_equal(base_err_code(), ERRC_POLICY);
    assert_contains(base_err_msg(), "judged and refused");
    assert_int_equal(l.st.st_size, 500);
    assert_null(data);
    unlink(p);
}

/* A symlink at the path is followed by default and refused with nofollow. */
static void test_load_nofollow(void **state)
{
    struct fsio_load l = { .max = 100 };
    unsigned char *data = NULL;
    size_t len = 0;
    char real[512], link[512];

    path_in(real, sizeof(real), "real");
    path_in(link, sizeof(link), "link");
    put(real, "content");
    assert_int_equal(symlink(real, link), 0);
    assert_true(fsio_load(link, &l, &data, &len));
    assert_int_equal(len, 7);
    free(data);
    data = NULL;
    l.nofollow = 1;
    assert_false(fsio_load(link, &l, &data, &len));
    assert_int_equal(l.step, FSIO_OPEN);
    assert_int_equal(errno, ELOOP);
    assert_null(data);
    assert_true(fsio_load(real, &l, &data, &len));
    free(data);
    unlink(link);
    unlink(real);
}

/* With pipes, a FIFO is waited on and read to EOF under the cap (ca.toml from <(...)), the check
 * sees it, and a directory is still refused. */
static void test_load_pipes(void **state)
{
    struct fsio_load l = { .max = 100, .pipes = 1, .check = NULL };
    unsigned char *data = NULL;
    size_t len = 0;
    char p[512];
    pid_t pid;
    int st;

    path_in(p, sizeof(p), "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        int fd = open(p, O_WRONLY);

        _exit(fd >= 0 && write(fd, "a = 1\n", 6) == 6 ? 0 : 1);
    }
    assert_true(fsio_load(p, &l, &data, &len));
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(len, 6);
    assert_memory_equal(data, "a = 1\n", 6);
    assert_true(S_ISFIFO(l.st.st_mode));
    free(data);
    data = NULL;
    unlink(p);
    assert_false(fsio_load(dir, &l, &data, &len));
    assert_int_equal(l.step, FSIO_TYPE);
    assert_contains(base_err_msg(), "not a regular file (a directory)");
}

/* The bare loops: everything written, everything read up to the cap. */
static void test_bare_loops(void **state)
{
    static char buf[100000], back[100001];
    char p[512];
    size_t got = 0;
    int fd;

    memset(buf, 'z', sizeof(buf));
    path_in(p, sizeof(p), "raw");
    assert_true((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
    assert_true(fsio_write_all(fd, buf, sizeof(buf)));
    close(fd);
    assert_true((fd = open(p, O_RDONLY)) >= 0);
    assert_true(fsio_read_full(fd, back, 10, &got));
    assert_int_equal(got, 10);
    assert_true(fsio_read_full(fd, back, sizeof(back), &got));
    assert_int_equal(got, sizeof(buf) - 10);                 /* to EOF */
    close(fd);
    assert_false(fsio_write_all(-1, buf, 1));
    assert_int_equal(errno, EBADF);
    assert_false(fsio_read_full(-1, back, 1, &got));
    unlink(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_place_replace_only_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_leave_no_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_not_followed, setup, teardown),
        cmocka_unit_test(test_temp_names),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_nofollow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_pipes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_loops, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
