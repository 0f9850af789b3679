/*
 * test_store_backup.c — the store's two backup functions (ca/store/store.c): store_copy_compact writes
 * a copy that opens as a store with the same audit chain and head, unchanged by later writes to
 * the original (a snapshot); store_audit_head gives the record count, the last sequence and the
 * hash the next record will carry as prev_hash; bad output files are refused with a message;
 * store_copy_size predicts the copy's size; a copy into a pipe is the same bytes as into a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ca/store/store.h"
#include "tests/unit/support/capture.h"

static char tmp[256], sdir[300], cdir[300];

static int setup(void **state)
{
    (void)state;
    if (!tmpdir_make(tmp, sizeof(tmp)))
        return -1;
    snprintf(sdir, sizeof(sdir), "%s/store", tmp);
    snprintf(cdir, sizeof(cdir), "%s/copy", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(tmp) ? 0 : -1;
}

static void append(struct store *s, int n)
{
    for (int i = 0; i < n; i++) {
        struct store_txn *t = store_txn_begin(s, 1);
        char obj[32];

        assert_non_null(t);
        snprintf(obj, sizeof(obj), "object-%d", i);
        assert_true(store_audit_append(t, "test.event", obj, "ok", "detail"));
        assert_true(store_txn_commit(t));
    }
}

static struct store_audit_head head_of(struct store *s)
{
    struct store_audit_head h;
    struct store_txn *t = store_txn_begin(s, 0);

    assert_non_null(t);
    assert_true(store_audit_head(t, &h));
    store_txn_abort(t);
    return h;
}

static void copy_to(struct store *s, const char *dir)
{
    char file[400];
    int fd;

    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    assert_true((fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
    if (!store_copy_compact(s, fd))
        fail_msg("store_copy_compact: %s", store_error());
    close(fd);
}

static int last_prev(void *arg, const struct audit_rec *r)
{
    memcpy(arg, r->prev_hash, 32);
    return 1;
}

static void test_copy_is_a_snapshot(void **state)
{
    struct store *s = store_open(sdir, 1), *c;
    struct store_audit_head live, copy, later;
    struct store_txn *t;
    unsigned char prev[32];

    (void)state;
    assert_non_null(s);
    append(s, 7);
    live = head_of(s);
    assert_int_equal(live.records, 7);
    assert_int_equal(live.last_seq, 7);
    copy_to(s, cdir);
    append(s, 3);                                  /* after the copy: not in it */
    assert_non_null(c = store_open(cdir, 0));
    copy = head_of(c);
    assert_int_equal(copy.records, 7);
    assert_int_equal(copy.last_seq, 7);
    assert_memory_equal(copy.sha256, live.sha256, 32);
    assert_non_null(t = store_txn_begin(c, 0));
    assert_true(store_audit_verify(t));
    store_txn_abort(t);
    later = head_of(s);
    assert_int_equal(later.records, 10);
    /* the head hash is what the next record carries: record 8's prev_hash */
    assert_non_null(t = store_txn_begin(s, 0));
    memset(prev, 0, sizeof(prev));
    assert_true(store_audit_foreach(t, last_prev, prev));
    store_txn_abort(t);
    assert_memory_not_equal(prev, live.sha256, 32);   /* record 10's prev is record 9's hash */
    append(c, 1);
    assert_non_null(t = store_txn_begin(c, 0));
    assert_true(store_audit_foreach(t, last_prev, prev));
    store_txn_abort(t);
    assert_memory_equal(prev, live.sha256, 32);
    store_close(c);
    store_close(s);
}

static void test_empty_head(void **state)
{
    struct store *s = store_open(sdir, 1);
    struct store_audit_head h;
    unsigned char zero[32] = {0};

    (void)state;
    assert_non_null(s);
    h = head_of(s);
    assert_int_equal(h.records, 0);
    assert_int_equal(h.last_seq, 0);
    assert_memory_equal(h.sha256, zero, 32);
    assert_false(store_audit_head(NULL, &h));
    assert_non_null(strstr(store_error(), "audit head: no transaction"));
    store_close(s);
}

static void test_copy_refused(void **state)
{
    struct store *s = store_open(sdir, 1);
    char file[400];
    int fd;

    (void)state;
    assert_non_null(s);
    assert_false(store_copy_compact(s, -1));
    assert_non_null(strstr(store_error(), "copy: no store or no output file"));
    snprintf(file, sizeof(file), "%s/ro", tmp);
    assert_true((fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
    close(fd);
    assert_true((fd = open(file, O_RDONLY)) >= 0);     /* not writable: LMDB's write fails */
    assert_false(store_copy_compact(s, fd));
    assert_non_null(strstr(store_error(), ": copy: "));
    close(fd);
    store_close(s);
}

static off_t file_size(const char *dir)
{
    char file[400];
    struct stat st;

    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    assert_int_equal(stat(file, &st), 0);
    return st.st_size;
}

/* store_copy_size: the copy's exact size on an idle store, free pages left out as the copy
 * leaves them (300 single-record transactions free the pages each one replaced). */
static void test_copy_size(void **state)
{
    struct store *s = store_open(sdir, 1);
    uint64_t want;

    (void)state;
    assert_non_null(s);
    append(s, 300);
    want = store_copy_size(s);
    copy_to(s, cdir);
    assert_true(want > 0);
    assert_int_equal(want, (uint64_t)file_size(cdir));
    assert_true(want <= (uint64_t)file_size(sdir));
    store_close(s);
    assert_int_equal(store_copy_size(NULL), 0);
}

/* The copy written into a pipe (what backup does on a terminal, to count the bytes) is the same
 * bytes as the copy written into a file. */
static void test_copy_through_pipe(void **state)
{
    struct store *s = store_open(sdir, 1);
    char a[400], b[400], cmd[900];
    int pfd[2], status, fd;
    pid_t pid;

    (void)state;
    assert_non_null(s);
    append(s, 300);
    copy_to(s, cdir);
    snprintf(a, sizeof(a), "%s/data.mdb", cdir);
    snprintf(b, sizeof(b), "%s/piped.mdb", tmp);
    assert_int_equal(pipe(pfd), 0);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {                                 /* the reader: pipe to file */
        char buf[4096];
        ssize_t n;
        close(pfd[1]);
        if ((fd = open(b, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
            _exit(1);
        while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
            if (write(fd, buf, (size_t)n) != n)
                _exit(1);
        _exit(n == 0 && close(fd) == 0 ? 0 : 1);
    }
    close(pfd[0]);
    if (!store_copy_compact(s, pfd[1]))
        fail_msg("store_copy_compact into a pipe: %s", store_error());
    close(pfd[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
    assert_int_equal(system(cmd), 0);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copy_is_a_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_through_pipe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
