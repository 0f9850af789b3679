/*
 * test_store.c — the LMDB store (ca/store/store.c): open/schema/modes, CAs, certificates, revocation
 * order, CRL state, directory, the audit hash chain and its tampering, corrupt records, bulk.
 * Each test gets a fresh temporary directory; the store lives in <tmp>/store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/store/store.h"
#include "tests/unit/support/capture.h"

/* Test hooks in ca/store/store.c (deliberately not in store.h). */
extern int store_test_raw_put(struct store *s, const char *db, const void *key, size_t klen,
                              const void *val, size_t vlen);
extern unsigned char *store_test_raw_get(struct store *s, const char *db, const void *key,
                                         size_t klen, size_t *vlen);
extern int store_test_set_schema(struct store *s, uint32_t v);
extern int store_test_make_v1(struct store *s);

static char tmp[256], sdir[300];

#define HAS(msg, frag) assert_non_null_msg(strstr((msg), (frag)), (msg))
static void assert_non_null_msg(const void *p, const char *msg)
{
    if (p == NULL)
        fail_msg("message was: %s", msg);
}

static int setup(void **state)
{
    if (!tmpdir_make(tmp, sizeof(tmp)))
        return -1;
    snprintf(sdir, sizeof(sdir), "%s/store", tmp);
    return 0;
}

static int teardown(void **state)
{
    chmod(sdir, 0700);
    return tmpdir_remove(tmp) ? 0 : -1;
}

static struct store *fresh(void)
{
    struct store *s = store_open(sdir, 1);

    if (s == NULL)
        fail_msg("store_open: %s", store_error());
    return s;
}

static void ca_add(struct store *s, const char *name)
{
    struct store_txn *t = store_txn_begin(s, 1);
    struct ca_rec r;
    unsigned char der[3] = { 0x30, 0x01, 0x00 };

    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    r.key_uri = "pkcs11:token=offca;object=root";
    r.cert_der = der;
    r.cert_len = sizeof(der);
    r.is_root = 1;
    r.created = 1700000000;
    snprintf(r.sig, sizeof(r.sig), "ecdsa");
    snprintf(r.hash, sizeof(r.hash), "sha384");
    assert_non_null(t);
    if (!store_ca_add(t, &r))
        fail_msg("ca add: %s", store_error());
    assert_true(store_txn_commit(t));
}

static void cert_fill(struct cert_rec *r, const char *ca, const unsigned char *serial, size_t n,
                      time_t not_after)
{
    static unsigned char der[4] = { 0x30, 0x02, 0x05, 0x00 };

    memset(r, 0, sizeof(*r));
    snprintf(r->ca, sizeof(r->ca), "%s", ca);
    memcpy(r->serial, serial, n);
    r->serial_len = n;
    r->der = der;
    r->der_len = sizeof(der);
    r->template_name = "intune-device";
    r->subject = "CN=dev1";
    r->sans = "dns:dev1.corp.example";
    r->sid = NULL;
    r->not_before = not_after - 86400;
    r->not_after = not_after;
    r->issued_at = not_after - 86400;
    r->reason = -1;
}

static int cert_add(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n,
                    time_t not_after)
{
    struct cert_rec r;

    cert_fill(&r, ca, serial, n, not_after);
    return store_cert_add(t, &r);
}

/* ---- open, schema, modes ------------------------------------------------------------------- */

static void test_open_create_reopen(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    struct ca_rec r;

    assert_string_equal(store_get0_path(s), sdir);
    ca_add(s, "root");
    store_close(s);
    s = store_open(sdir, 0);
    assert_non_null(s);
    t = store_txn_begin(s, 0);
    assert_int_equal(store_ca_get(t, "root", &r), 1);
    assert_string_equal(r.name, "root");
    assert_string_equal(r.key_uri, "pkcs11:token=offca;object=root");
    assert_int_equal(r.cert_len, 3);
    assert_null(r.parent);
    assert_null(r.chain_der);
    assert_string_equal(r.sig, "ecdsa");
    assert_string_equal(r.hash, "sha384");
    assert_int_equal(r.created, 1700000000);
    ca_rec_clear(&r);
    store_txn_abort(t);
    store_close(s);
    /* create=1 on an existing store just opens it */
    s = fresh();
    store_close(s);
}

static void setup_none(void) {}
static void setup_empty_dir(void) { assert_int_equal(mkdir(sdir, 0700), 0); }
static void setup_file(void)
{
    FILE *f = fopen(sdir, "w");
    assert_non_null(f);
    fclose(f);
}
static void setup_garbage(void)
{
    char path[400], junk[5000];
    FILE *f;

    setup_empty_dir();
    snprintf(path, sizeof(path), "%s/data.mdb", sdir);
    memset(junk, 'x', sizeof(junk));
    assert_non_null(f = fopen(path, "w"));
    assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    fclose(f);
}
static void setup_schema(uint32_t v)
{
    struct store *s = fresh();
    assert_true(store_test_set_schema(s, v));
    store_close(s);
}
static void setup_schema7(void) { setup_schema(7); }
static void setup_schema0(void) { setup_schema(0); }
static void setup_schema_short(void)
{
    struct store *s = fresh();
    assert_true(store_test_raw_put(s, "meta", "schema", 6, "\0\1", 2));
    store_close(s);
}

static const struct {
    const char *name;
    void (*prepare)(void);
    int create;
    const char *frag1, *frag2;
} open_bad[] = {
    { "missing", setup_none, 0, "not initialised", "run 'offca init'" },
    { "empty dir", setup_empty_dir, 0, "not initialised", "run 'offca init'" },
    { "a file", setup_file, 1, "not a directory", "[store] path" },
    { "garbage data.mdb", setup_garbage, 0, "data.mdb is truncated or damaged",
      "restore it from a backup" },
    { "newer schema", setup_schema7, 0,
      "schema version 7 is newer than this offca understands (3)", "upgrade offca" },
    { "newer schema, create=1", setup_schema7, 1, "schema version 7 is newer", "upgrade offca" },
    { "older schema", setup_schema0, 0, "schema version 0 is not one", "restore" },
    { "short schema", setup_schema_short, 0, "store corrupt: 2 bytes", "restore" },
};

static void test_open_refused(void **state)
{
    for (size_t i = 0; i < sizeof(open_bad) / sizeof(open_bad[0]); i++) {
        struct store *s;
        char cmd[400];

        open_bad[i].prepare();
        s = store_open(sdir, open_bad[i].create);
        if (s != NULL)
            fail_msg("case '%s' opened", open_bad[i].name);
        HAS(store_error(), sdir);
        HAS(store_error(), open_bad[i].frag1);
        HAS(store_error(), open_bad[i].frag2);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
        assert_int_equal(system(cmd), 0);
    }
}

/* A data.mdb that shrinks under an open store (truncated while mapped): the next read of the map
 * faults; the guard turns the SIGBUS into the restore message and exit 4 (never 135, silent). The
 * child truncates the file itself, then reads: the fault is placed by that event. */
static void test_fault_in_map(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    struct ca_rec r;
    char path[400], buf[1024] = "";
    int pfd[2], status;
    ssize_t n;
    pid_t pid;

    ca_add(s, "ca");
    store_close(s);
    snprintf(path, sizeof(path), "%s/data.mdb", sdir);
    assert_int_equal(pipe(pfd), 0);
    if ((pid = fork()) == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        if ((s = store_open(sdir, 0)) == NULL)
            _exit(10);
        if (truncate(path, 0) != 0)
            _exit(11);
        t = store_txn_begin(s, 0);
        if (t != NULL && store_ca_get(t, "ca", &r) == 1)
            ca_rec_clear(&r);
        _exit(12);                   /* not reached: the read faults */
    }
    close(pfd[1]);
    n = read(pfd[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 4)
        fail_msg("child: %s %d; stderr: %s", WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf);
    HAS(buf, "data.mdb is truncated or damaged");
    HAS(buf, "restore it from a backup");
}

static void test_file_modes(void **state)
{
    static const char *const files[] = { "data.mdb", "lock.mdb" };
    struct store *s;
    struct stat st;
    char path[400];
    mode_t old = umask(0);             /* even a permissive umask must not loosen the modes */

    s = fresh();
    umask(old);
    assert_int_equal(stat(sdir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", sdir, files[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
    }
    store_close(s);
}

/* A store the process may not write: as non-root, chmod the directory 0500 and the files 0400;
 * root ignores modes, so then a child drops to uid/gid 65534 (nobody) and tries the store. */
static void test_access_denied(void **state)
{
    char path[400];
    struct store *s = fresh();
    int fd[2], status;
    char msg[2048] = "";
    pid_t pid;

    store_close(s);
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/data.mdb", sdir);
        assert_int_equal(chmod(path, 0400), 0);
        snprintf(path, sizeof(path), "%s/lock.mdb", sdir);
        assert_int_equal(chmod(path, 0400), 0);
        assert_int_equal(chmod(sdir, 0500), 0);
        assert_null(store_open(sdir, 0));
        HAS(store_error(), "EACCES");
        HAS(store_error(), "check ownership and mode of");
        chmod(path, 0600);
        snprintf(path, sizeof(path), "%s/data.mdb", sdir);
        chmod(path, 0600);
        return;
    }
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *m = "child could not drop privileges";
        close(fd[0]);
        if (setgid(65534) == 0 && setuid(65534) == 0)
            m = store_open(sdir, 0) ? "opened" : store_error();
        if (write(fd[1], m, strlen(m)) < 0)
            _exit(2);
        _exit(0);
    }
    close(fd[1]);
    assert_true(read(fd[0], msg, sizeof(msg) - 1) > 0);
    close(fd[0]);
    waitpid(pid, &status, 0);
    HAS(msg, "EACCES");
    HAS(msg, "check ownership and mode of");
}

/* MDB_NOTLS: one thread may hold two read transactions; threads run their own. */
static void *reader_thread(void *arg)
{
    struct store_txn *t = store_txn_begin(arg, 0);
    struct ca_rec r;
    intptr_t ok = t && store_ca_get(t, "root", &r) == 1;

    if (ok)
        ca_rec_clear(&r);
    store_txn_abort(t);
    return (void *)ok;
}

static void test_concurrent_readers(void **state)
{
    struct store *s = fresh();
    struct store_txn *a, *b, *w;
    pthread_t th[2];
    void *res;

    ca_add(s, "root");
    a = store_txn_begin(s, 0);
    b = store_txn_begin(s, 0);
    if (b == NULL)
        fail_msg("second read txn: %s", store_error());
    w = store_txn_begin(s, 1);          /* a writer while this thread reads */
    assert_non_null(a);
    assert_non_null(w);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, s), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], &res), 0);
        assert_true(res != NULL);
    }
    store_txn_abort(w);
    store_txn_abort(b);
    store_txn_abort(a);
    store_close(s);
}

/* Another process commits while this one has the store open: the next txn sees it. */
static void test_two_processes(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    struct ca_rec r;
    int status;
    pid_t pid;

    store_close(s);
    s = fresh();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child must not use the parent's environment: open its own */
        struct store *c = store_open(sdir, 0);
        struct store_txn *ct = c ? store_txn_begin(c, 1) : NULL;
        struct ca_rec cr;
        memset(&cr, 0, sizeof(cr));
        snprintf(cr.name, sizeof(cr.name), "child");
        _exit(ct && store_ca_add(ct, &cr) && store_txn_commit(ct) ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    t = store_txn_begin(s, 0);
    assert_int_equal(store_ca_get(t, "child", &r), 1);
    ca_rec_clear(&r);
    store_txn_abort(t);
    store_close(s);
}

/* ---- CAs ------------------------------------------------------------------------------------ */

static int collect_ca(void *arg, const struct ca_rec *r)
{
    char *out = arg;

    strcat(out, r->name);
    strcat(out, ",");
    return strcmp(r->name, "m") != 0;  /* stop after "m" */
}

static void test_ca(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    struct ca_rec r, r2;
    char seen[64] = "";

    ca_add(s, "z");
    ca_add(s, "a");
    ca_add(s, "m");
    ca_add(s, "q");
    t = store_txn_begin(s, 1);
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "a");
    assert_false(store_ca_add(t, &r));
    HAS(store_error(), "CA 'a': already exists");
    snprintf(r.name, sizeof(r.name), "nope");
    assert_false(store_ca_replace(t, &r));
    HAS(store_error(), "CA 'nope': does not exist");
    r.name[0] = '\0';
    assert_false(store_ca_add(t, &r));
    HAS(store_error(), "must be 1 to 64 characters");
    /* replace: pending -> active with a chain */
    assert_int_equal(store_ca_get(t, "q", &r), 1);
    OPENSSL_free(r.chain_der);
    r.chain_der = OPENSSL_memdup("\x30\x00", 2);
    r.chain_len = 2;
    r.state = CA_RETIRED;
    assert_true(store_ca_replace(t, &r));
    assert_int_equal(store_ca_get(t, "q", &r2), 1);
    assert_int_equal(r2.state, CA_RETIRED);
    assert_int_equal(r2.chain_len, 2);
    assert_memory_equal(r2.chain_der, "\x30\x00", 2);
    ca_rec_clear(&r);
    ca_rec_clear(&r2);
    assert_int_equal(store_ca_get(t, "absent", &r), 0);
    assert_int_equal(store_ca_get(t, "this-name-is-far-too-long-for-a-ca-this-name-is-far-too-long"
                                     "-for-a-ca", &r), -1);
    assert_true(store_ca_foreach(t, collect_ca, seen));
    assert_string_equal(seen, "a,m,");
    assert_true(store_txn_commit(t));
    store_close(s);
}

/* ---- certificates ---------------------------------------------------------------------------- */

static void test_cert_add_get_find(void **state)
{
    static const unsigned char s1[] = { 0x12, 0x34 }, s_ff[] = { 0xff },
                               s_00ff[] = { 0x00, 0xff }, s_0001[] = { 0x00, 0x00, 0x01 };
    struct store *s = fresh();
    struct store_txn *t;
    struct cert_rec r;

    ca_add(s, "issuing");
    ca_add(s, "other");
    t = store_txn_begin(s, 1);
    assert_true(cert_add(t, "issuing", s1, sizeof(s1), 2000000000));
    assert_true(cert_add(t, "issuing", s_ff, sizeof(s_ff), 2000000000));
    assert_true(cert_add(t, "issuing", s_0001, sizeof(s_0001), 2000000000));
    /* same serial, same CA; and the same number written differently */
    assert_false(cert_add(t, "issuing", s1, sizeof(s1), 2000000000));
    HAS(store_error(), "serial already used by CA 'issuing'");
    assert_false(cert_add(t, "issuing", s_00ff, sizeof(s_00ff), 2000000000));
    HAS(store_error(), "certificate 00ff: serial already used");
    /* serials are unique store-wide */
    assert_false(cert_add(t, "other", s1, sizeof(s1), 2000000000));
    HAS(store_error(), "serial already used by CA 'issuing'");
    assert_false(cert_add(t, "ghost", (const unsigned char *)"\x05", 1, 2000000000));
    HAS(store_error(), "CA 'ghost' is not in the store");
    /* a clean failure leaves the txn usable */
    assert_true(cert_add(t, "other", (const unsigned char *)"\x05", 1, 2000000000));
    assert_true(store_txn_commit(t));

    t = store_txn_begin(s, 0);
    assert_int_equal(store_cert_count(t), 4);
    assert_int_equal(store_cert_get(t, "issuing", s1, sizeof(s1), &r), 1);
    assert_string_equal(r.ca, "issuing");
    assert_string_equal(r.template_name, "intune-device");
    assert_string_equal(r.subject, "CN=dev1");
    assert_string_equal(r.sans, "dns:dev1.corp.example");
    assert_null(r.sid);
    assert_int_equal(r.der_len, 4);
    assert_int_equal(r.not_after, 2000000000);
    assert_int_equal(r.status, CERT_VALID);
    cert_rec_clear(&r);
    /* canonical serial: 0xff comes back as 00ff, 000001 as 01 */
    assert_int_equal(store_cert_find(t, s_00ff, sizeof(s_00ff), &r), 1);
    assert_int_equal(r.serial_len, 2);
    assert_memory_equal(r.serial, s_00ff, 2);
    cert_rec_clear(&r);
    assert_int_equal(store_cert_get(t, "issuing", (const unsigned char *)"\x01", 1, &r), 1);
    assert_int_equal(r.serial_len, 1);
    cert_rec_clear(&r);
    assert_int_equal(store_cert_find(t, (const unsigned char *)"\x05", 1, &r), 1);
    assert_string_equal(r.ca, "other");
    cert_rec_clear(&r);
    assert_int_equal(store_cert_get(t, "other", s1, sizeof(s1), &r), 0);
    assert_int_equal(store_cert_find(t, (const unsigned char *)"\x06", 1, &r), 0);
    assert_int_equal(store_serial_taken(t, "other", s1, sizeof(s1)), 1);
    assert_int_equal(store_serial_taken(t, NULL, (const unsigned char *)"\x06", 1), 0);
    store_txn_abort(t);
    store_close(s);
}

static void test_serial_refused(void **state)
{
    static const unsigned char zero[] = { 0, 0 }, big[21] = { 1 }, top20[20] = { 0x80 };
    static const struct {
        const unsigned char *serial;
        size_t n;
        const char *frag;
    } bad[] = {
        { NULL, 0, "serial: empty" },
        { zero, sizeof(zero), "zero is not a positive serial" },
        { big, sizeof(big), "longer than 20 octets" },
        { top20, sizeof(top20), "longer than 20 octets" },   /* needs a 0x00: 21 as DER */
    };
    struct store *s = fresh();
    struct store_txn *t;

    ca_add(s, "ca");
    t = store_txn_begin(s, 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(cert_add(t, "ca", bad[i].serial ? bad[i].serial : zero, bad[i].n, 1));
        HAS(store_error(), bad[i].frag);
        assert_int_equal(store_serial_taken(t, "ca", bad[i].serial, bad[i].n), -1);
        HAS(store_error(), bad[i].frag);
    }
    store_txn_abort(t);
    /* writes need a write txn */
    t = store_txn_begin(s, 0);
    assert_false(cert_add(t, "ca", (const unsigned char *)"\x01", 1, 1));
    HAS(store_error(), "needs a write transaction");
    store_txn_abort(t);
    store_close(s);
}

struct seen {
    char text[512];
    int stop_after;
    int calls;
};

static int collect_cert(void *arg, const struct cert_rec *r)
{
    struct seen *sn = arg;
    char buf[64];

    snprintf(buf, sizeof(buf), "%s/%02x%s,", r->ca, r->serial[r->serial_len - 1],
             r->serial_len > 1 ? "+" : "");
    strcat(sn->text, buf);
    return ++sn->calls != sn->stop_after;
}

static void test_cert_foreach_expiring(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    struct seen sn;

    ca_add(s, "a");
    ca_add(s, "b");
    t = store_txn_begin(s, 1);
    assert_true(cert_add(t, "b", (const unsigned char *)"\x03", 1, 300));
    assert_true(cert_add(t, "a", (const unsigned char *)"\x01\x00", 2, 100));
    assert_true(cert_add(t, "a", (const unsigned char *)"\x02", 1, -50));   /* before 1970 */
    assert_true(cert_add(t, "b", (const unsigned char *)"\x04", 1, 200));
    assert_true(store_txn_commit(t));

    t = store_txn_begin(s, 0);
    memset(&sn, 0, sizeof(sn));
    assert_true(store_cert_foreach(t, "a", collect_cert, &sn));
    assert_string_equal(sn.text, "a/02,a/00+,");             /* serial 2 before serial 256 */
    memset(&sn, 0, sizeof(sn));
    assert_true(store_cert_foreach(t, NULL, collect_cert, &sn));
    assert_string_equal(sn.text, "a/02,a/00+,b/03,b/04,");
    memset(&sn, 0, sizeof(sn));
    sn.stop_after = 1;
    assert_true(store_cert_foreach(t, "b", collect_cert, &sn));
    assert_string_equal(sn.text, "b/03,");
    memset(&sn, 0, sizeof(sn));
    assert_true(store_cert_foreach_expiring(t, 200, collect_cert, &sn));
    assert_string_equal(sn.text, "a/02,a/00+,b/04,");
    memset(&sn, 0, sizeof(sn));
    assert_true(store_cert_foreach_expiring(t, -100, collect_cert, &sn));
    assert_string_equal(sn.text, "");
    store_txn_abort(t);
    store_close(s);
}

/* ---- revocation ------------------------------------------------------------------------------ */

static const unsigned char S1[] = { 0x11 }, S2[] = { 0x22 }, S3[] = { 0x33 }, SX[] = { 0x44 };

static void rev_setup(struct store *s)
{
    struct store_txn *t;

    ca_add(s, "ca");
    ca_add(s, "other");
    t = store_txn_begin(s, 1);
    assert_true(cert_add(t, "ca", S1, 1, 1000));
    assert_true(cert_add(t, "ca", S2, 1, 1000));
    assert_true(cert_add(t, "ca", S3, 1, 1000));
    assert_true(cert_add(t, "other", SX, 1, 1000));
    assert_true(store_txn_commit(t));
}

static void test_revoke_rules(void **state)
{
    static const struct {
        const char *ca;
        const unsigned char *serial;
        int reason;                    /* -99: unrevoke */
        int ok;
        const char *frag;
    } steps[] = {
        { "ca", S1, 1, 1, NULL },
        { "ca", S1, 1, 0, "already revoked (reason 1)" },
        { "ca", S1, 6, 0, "already revoked (reason 1)" },
        { "ca", S1, -99, 0, "not on certificateHold (revoked, reason 1)" },
        { "ca", S2, 6, 1, NULL },
        { "ca", S2, 6, 0, "on certificateHold: give another reason" },
        { "ca", S2, -99, 1, NULL },                          /* off hold */
        { "ca", S2, -99, 0, "not on certificateHold (valid" },
        { "ca", S2, 6, 1, NULL },
        { "ca", S2, 1, 1, NULL },                            /* hold -> keyCompromise */
        { "ca", S3, 8, 0, "removeFromCRL (8) is not a revocation reason" },
        { "ca", S3, 7, 0, "reason code 7 is not an RFC 5280" },
        { "ca", S3, 11, 0, "reason code 11" },
        { "ca", SX, 1, 0, "issued by CA 'other', not 'ca'" },
        { "ca", (const unsigned char *)"\x55", 1, 0, "unknown serial for CA 'ca'" },
        { "ca", (const unsigned char *)"\x55", -99, 0, "unknown serial for CA 'ca'" },
        { "ca", S3, -1, 1, NULL },                           /* no reasonCode */
    };
    struct store *s = fresh();
    struct store_txn *t;
    struct cert_rec r;

    rev_setup(s);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int ok;
        t = store_txn_begin(s, 1);
        ok = steps[i].reason == -99 ? store_unrevoke(t, steps[i].ca, steps[i].serial, 1)
                                    : store_revoke(t, steps[i].ca, steps[i].serial, 1,
                                                   steps[i].reason, 5000 + (time_t)i, 0);
        if (ok != steps[i].ok)
            fail_msg("step %zu: %d (%s)", i, ok, store_error());
        if (!ok) {
            HAS(store_error(), steps[i].frag);
            /* every one of these is a refusal (exit class 1), never a store failure */
            assert_int_equal(store_error_code(), STORE_ERR_REFUSED);
        }
        assert_true(store_txn_commit(t));
    }
    t = store_txn_begin(s, 0);
    assert_int_equal(store_cert_get(t, "ca", S2, 1, &r), 1);
    assert_int_equal(r.status, CERT_REVOKED);
    assert_int_equal(r.reason, 1);
    assert_int_equal(r.revoked_at, 5009);
    cert_rec_clear(&r);
    assert_int_equal(store_cert_get(t, "other", SX, 1, &r), 1);
    assert_int_equal(r.status, CERT_VALID);
    cert_rec_clear(&r);
    assert_int_equal(store_rev_count(t, "ca"), 3);
    assert_int_equal(store_rev_count(t, "other"), 0);
    store_txn_abort(t);
    store_close(s);
}

static void test_revoke_crl_state(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    struct crl_state st, st2;
    struct store_rev_iter *it;
    struct store_rev_entry e;

    rev_setup(s);
    t = store_txn_begin(s, 1);
    assert_int_equal(store_crl_state_get(t, "ca", &st), 0);
    assert_int_equal(st.last_number, 0);
    assert_true(store_revoke(t, "ca", S1, 1, 0, 100, 90));
    assert_int_equal(store_crl_state_get(t, "ca", &st), 1);
    assert_int_equal(st.dirty, 1);
    /* publish CRL 7: clean, then a new revocation is changed_in 7 */
    memset(&st, 0, sizeof(st));
    st.last_number = 7;
    st.last_base_number = 6;
    st.this_update = 1000;
    st.next_update = 2000;
    st.next_publish = 1500;
    st.delta_this_update = 1100;
    st.delta_next_publish = -5;
    memset(st.base_sha256, 0xab, 32);
    assert_true(store_crl_state_put(t, "ca", &st));
    assert_int_equal(store_crl_state_get(t, "ca", &st2), 1);
    assert_memory_equal(&st, &st2, sizeof(st));
    assert_true(store_revoke(t, "ca", S3, 1, 4, 200, 0));
    assert_int_equal(store_crl_state_get(t, "ca", &st2), 1);
    assert_int_equal(st2.dirty, 1);
    assert_int_equal(st2.last_number, 7);
    it = store_rev_iter_new(t, "ca");
    assert_non_null(it);
    assert_int_equal(store_rev_iter_next(it, &e), 1);
    assert_int_equal(e.serial[0], 0x11);
    assert_int_equal(e.changed_in, 0);
    assert_int_equal(e.revoked_at, 100);
    assert_int_equal(e.invalidity, 90);
    assert_int_equal(e.reason, 0);
    assert_int_equal(store_rev_iter_next(it, &e), 1);
    assert_int_equal(e.serial[0], 0x33);
    assert_int_equal(e.changed_in, 7);
    assert_int_equal(e.reason, 4);
    assert_int_equal(store_rev_iter_next(it, &e), 0);
    /* the transaction ends before the iterator is freed: the iterator is dead, not dangling */
    assert_true(store_txn_commit(t));
    assert_int_equal(store_rev_iter_next(it, &e), -1);
    HAS(store_error(), "transaction has ended");
    store_rev_iter_free(it);
    store_close(s);
}

/* Unrevoke leaves a removeFromCRL tombstone changed in the CA's current CRL number (the next
 * delta lists it); the certificate is valid, the count ignores it, a new revocation replaces it;
 * a store failure is class 4, not a refusal. */
static void test_unrevoke_tombstone(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    struct crl_state st;
    struct store_rev_iter *it;
    struct store_rev_entry e;
    struct cert_rec r;

    rev_setup(s);
    t = store_txn_begin(s, 1);
    assert_true(store_revoke(t, "ca", S2, 1, 6, 300, 0));
    memset(&st, 0, sizeof(st));
    st.last_number = 4;
    st.last_base_number = 3;
    assert_true(store_crl_state_put(t, "ca", &st));
    assert_true(store_unrevoke(t, "ca", S2, 1));
    assert_int_equal(store_crl_state_get(t, "ca", &st), 1);
    assert_int_equal(st.dirty, 1);
    it = store_rev_iter_new(t, "ca");
    assert_int_equal(store_rev_iter_next(it, &e), 1);
    assert_int_equal(e.serial[0], 0x22);
    assert_int_equal(e.reason, 8);
    assert_int_equal(e.changed_in, 4);
    assert_int_equal(e.revoked_at, 300);
    assert_int_equal(e.invalidity, 0);
    assert_int_equal(store_rev_iter_next(it, &e), 0);
    store_rev_iter_free(it);
    assert_int_equal(store_rev_count(t, "ca"), 0);
    assert_int_equal(store_cert_get(t, "ca", S2, 1, &r), 1);
    assert_int_equal(r.status, CERT_VALID);
    assert_int_equal(r.reason, -1);
    cert_rec_clear(&r);
    assert_false(store_unrevoke(t, "ca", S2, 1));
    HAS(store_error(), "not on certificateHold (valid");
    assert_int_equal(store_error_code(), STORE_ERR_REFUSED);
    assert_true(store_revoke(t, "ca", S2, 1, 1, 400, 0));   /* the tombstone is replaced */
    assert_int_equal(store_rev_count(t, "ca"), 1);
    it = store_rev_iter_new(t, "ca");
    assert_int_equal(store_rev_iter_next(it, &e), 1);
    assert_int_equal(e.reason, 1);
    assert_int_equal(e.revoked_at, 400);
    store_rev_iter_free(it);
    assert_true(store_txn_commit(t));
    t = store_txn_begin(s, 0);                               /* read-only: a write fails */
    assert_false(store_revoke(t, "ca", S3, 1, 1, 500, 0));
    assert_int_equal(store_error_code(), STORE_ERR_SYSTEM);
    store_txn_abort(t);
    store_close(s);
}

/* Mixed-length serials come out in numeric order, and a CA whose name is a prefix of another's
 * does not see the other's entries. */
static void test_rev_iter_order(void **state)
{
    static const struct {
        unsigned char b[4];
        size_t n;
    } serials[] = {
        { { 0x01, 0x00 }, 2 }, { { 0x7f }, 1 }, { { 0x00, 0xff }, 2 }, { { 0x01 }, 1 },
        { { 0x00, 0x80 }, 2 }, { { 0x80 }, 1 } /* = 0x0080: taken */, { { 0x01, 0x00, 0x00 }, 3 },
        { { 0x02 }, 1 },
    };
    static const unsigned char expect[][4] = {
        { 1, 0x01 }, { 1, 0x02 }, { 1, 0x7f }, { 2, 0x00, 0x80 }, { 2, 0x00, 0xff },
        { 2, 0x01, 0x00 }, { 3, 0x01, 0x00, 0x00 },
    };
    struct store *s = fresh();
    struct store_txn *t;
    struct store_rev_iter *it;
    struct store_rev_entry e;
    size_t got = 0;

    ca_add(s, "ca");
    ca_add(s, "ca2");
    t = store_txn_begin(s, 1);
    for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
        int ok = cert_add(t, "ca", serials[i].b, serials[i].n, 1000);
        assert_int_equal(ok, i != 5);
        if (ok)
            assert_true(store_revoke(t, "ca", serials[i].b, serials[i].n, 1, 1, 0));
    }
    assert_true(cert_add(t, "ca2", (const unsigned char *)"\x03", 1, 1000));
    assert_true(store_revoke(t, "ca2", (const unsigned char *)"\x03", 1, 1, 1, 0));
    assert_true(store_txn_commit(t));
    t = store_txn_begin(s, 0);
    it = store_rev_iter_new(t, "ca");
    while (store_rev_iter_next(it, &e) == 1) {
        assert_true(got < sizeof(expect) / sizeof(expect[0]));
        assert_int_equal(e.serial_len, expect[got][0]);
        assert_memory_equal(e.serial, &expect[got][1], e.serial_len);
        got++;
    }
    assert_int_equal(got, sizeof(expect) / sizeof(expect[0]));
    store_rev_iter_free(it);
    assert_null(store_rev_iter_new(t, ""));
    HAS(store_error(), "must be 1 to 64");
    store_txn_abort(t);
    store_close(s);
}

/* This process's resident file-backed pages (the LMDB map among them), in KiB. */
static long rss_file_kib(void)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "RssFile: %ld kB", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* 100,000 revoked entries of mixed lengths, inserted out of order, come back in numeric order;
 * the walk releases the map pages behind it (the process's file-backed RSS stays flat). */
static void test_bulk_revoked(void **state)
{
    enum { N = 100000 };
    struct store *s = fresh();
    struct store_txn *t;
    struct store_rev_iter *it;
    struct store_rev_entry e;
    unsigned char prev[MAX_STORE_SERIAL];
    size_t prev_len = 0, count = 0;
    clock_t c0 = clock();
    long rss0, rss_max = 0;

    ca_add(s, "bulk");
    t = store_txn_begin(s, 1);
    for (uint32_t i = 0; i < N; i++) {
        /* a permutation of 1..N, spread over 1- to 4-byte serials */
        uint32_t v = (uint32_t)(((uint64_t)i * 7919u) % N) + 1;
        uint64_t x = v < 100 ? v : v < 20000 ? (uint64_t)v * 131 : (uint64_t)v * 40009;
        unsigned char b[8];
        size_t n = 0;
        for (int sh = 56; sh >= 0; sh -= 8)
            if (n || (x >> sh) & 0xff)
                b[n++] = (unsigned char)(x >> sh);
        if (!cert_add(t, "bulk", b, n, 1000) || !store_revoke(t, "bulk", b, n, 1, 1, 0))
            fail_msg("entry %u: %s", i, store_error());
    }
    assert_true(store_txn_commit(t));
    t = store_txn_begin(s, 0);
    it = store_rev_iter_new(t, "bulk");
    rss0 = rss_file_kib();
    while (store_rev_iter_next(it, &e) == 1) {
        if (count % 1000 == 0 && rss_file_kib() - rss0 > rss_max)
            rss_max = rss_file_kib() - rss0;
        if (prev_len)
            assert_true(e.serial_len > prev_len ||
                        (e.serial_len == prev_len && memcmp(e.serial, prev, prev_len) > 0));
        memcpy(prev, e.serial, e.serial_len);
        prev_len = e.serial_len;
        count++;
    }
    store_rev_iter_free(it);
    assert_int_equal(count, N);
    print_message("bulk: file-backed RSS grew by at most %ld KiB during the walk\n", rss_max);
    assert_true(rss0 >= 0 && rss_max < 4 * 1024);   /* without the release: ~26 MiB */
    assert_int_equal(store_rev_count(t, "bulk"), N);
    store_txn_abort(t);
    store_close(s);
    print_message("bulk: %d revocations written and read in %.2f s CPU\n", N,
                  (double)(clock() - c0) / CLOCKS_PER_SEC);
}

/* ---- directory ------------------------------------------------------------------------------- */

static void test_directory(void **state)
{
    struct dir_entry in[] = {
        { "ALICE", "Alice@Corp.Example", NULL, "S-1-5-21-1-2-3-1001" },
        { "bob", "bob@corp.example", NULL, "S-1-5-21-1-2-3-1002" },
        { "bob2", "BOB@corp.example", NULL, "S-1-5-21-1-2-3-1003" },   /* same UPN: ambiguous */
        { "LAPTOP1$", NULL, "Laptop1.Corp.Example", "S-1-5-21-1-2-3-2001" },
        { "carol", "carol@corp.example", NULL, "S-1-5-21-1-2-3-1004" },
        { "carol", NULL, NULL, "S-1-5-21-1-2-3-1004" },                /* same SID: counts once */
    };
    struct dir_entry bad_none[] = { { NULL, NULL, "", "S-1-5-21-9" } };
    struct dir_entry bad_sid[] = { { "x", NULL, NULL, NULL } };
    struct store *s = fresh();
    struct store_txn *t;
    struct dir_entry e;
    char sid[64], small[4];

    t = store_txn_begin(s, 1);
    assert_true(store_dir_replace(t, in, sizeof(in) / sizeof(in[0])));
    assert_int_equal(store_dir_count(t), 6);
    assert_int_equal(store_dir_lookup(t, "upn", "alice@corp.EXAMPLE", sid, sizeof(sid)), 1);
    assert_string_equal(sid, "S-1-5-21-1-2-3-1001");
    assert_int_equal(store_dir_lookup(t, "sam", "alice", sid, sizeof(sid)), 1);
    assert_int_equal(store_dir_lookup(t, "dns", "LAPTOP1.corp.example", sid, sizeof(sid)), 1);
    assert_string_equal(sid, "S-1-5-21-1-2-3-2001");
    assert_int_equal(store_dir_lookup(t, "upn", "bob@corp.example", sid, sizeof(sid)), 2);
    assert_int_equal(store_dir_lookup(t, "sam", "carol", sid, sizeof(sid)), 1);
    assert_int_equal(store_dir_lookup(t, "sam", "bo", sid, sizeof(sid)), 0);   /* no prefix match */
    assert_int_equal(store_dir_lookup(t, "dns", "alice", sid, sizeof(sid)), 0);
    assert_int_equal(store_dir_lookup(t, "mail", "alice", sid, sizeof(sid)), -1);
    HAS(store_error(), "kind 'mail' is not upn, dns or sam");
    assert_int_equal(store_dir_lookup(t, "sam", "alice", small, sizeof(small)), -1);
    HAS(store_error(), "does not fit");
    assert_int_equal(store_dir_find(t, "laptop1$", &e), 1);
    assert_string_equal(e.dns, "Laptop1.Corp.Example");
    assert_string_equal(e.sid, "S-1-5-21-1-2-3-2001");
    OPENSSL_free(e.sam);
    OPENSSL_free(e.upn);
    OPENSSL_free(e.dns);
    OPENSSL_free(e.sid);
    assert_int_equal(store_dir_find(t, "BOB@corp.example", &e), -1);
    HAS(store_error(), "names 2 principals with different SIDs");
    assert_int_equal(store_dir_find(t, "nobody", &e), 0);
    /* refused entries change nothing */
    assert_false(store_dir_replace(t, bad_none, 1));
    HAS(store_error(), "directory entry 1 (SID S-1-5-21-9): has no sam, upn or dns name");
    assert_false(store_dir_replace(t, bad_sid, 1));
    HAS(store_error(), "directory entry 1: no SID");
    assert_int_equal(store_dir_count(t), 6);
    /* a new export replaces the old one entirely */
    assert_true(store_dir_replace(t, &in[1], 1));
    assert_int_equal(store_dir_count(t), 1);
    assert_int_equal(store_dir_lookup(t, "upn", "alice@corp.example", sid, sizeof(sid)), 0);
    assert_int_equal(store_dir_lookup(t, "upn", "bob@corp.example", sid, sizeof(sid)), 1);
    assert_true(store_txn_commit(t));
    store_close(s);
}

/* ---- audit ----------------------------------------------------------------------------------- */

static void audit_fill(struct store *s, int n)
{
    struct store_txn *t = store_txn_begin(s, 1);
    char obj[32];

    for (int i = 1; i <= n; i++) {
        snprintf(obj, sizeof(obj), "object-%d", i);
        assert_true(store_audit_append(t, "cert.issue", obj, "ok", "template=intune-device"));
    }
    assert_true(store_txn_commit(t));
}

static int audit_collect(void *arg, const struct audit_rec *r)
{
    int *n = arg;

    (*n)++;
    assert_int_equal(r->seq, (uint64_t)*n);
    assert_string_equal(r->action, "cert.issue");
    assert_string_equal(r->result, "ok");
    assert_true(r->user[0] != '\0');
    if (r->seq == 1) {
        static const unsigned char zero[32];
        assert_memory_equal(r->prev_hash, zero, 32);
    }
    return 1;
}

static int verify(struct store *s)
{
    struct store_txn *t = store_txn_begin(s, 0);
    int ok = store_audit_verify(t);

    store_txn_abort(t);
    return ok;
}

static void key8(unsigned char k[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        k[i] = (unsigned char)v;
}

static void tamper_alter(struct store *s, int rec)
{
    unsigned char k[8], *v;
    size_t n;

    key8(k, (uint64_t)rec);
    assert_non_null(v = store_test_raw_get(s, "audit", k, 8, &n));
    v[n - 40] ^= 0x01;                 /* a byte of the detail text */
    assert_true(store_test_raw_put(s, "audit", k, 8, v, n));
    OPENSSL_free(v);
}

static void tamper_delete(struct store *s, int rec)
{
    unsigned char k[8];

    key8(k, (uint64_t)rec);
    assert_true(store_test_raw_put(s, "audit", k, 8, NULL, 0));
}

static void tamper_swap(struct store *s, int rec)
{
    unsigned char k1[8], k2[8], *v1, *v2;
    size_t n1, n2;

    key8(k1, (uint64_t)rec);
    key8(k2, (uint64_t)rec + 1);
    assert_non_null(v1 = store_test_raw_get(s, "audit", k1, 8, &n1));
    assert_non_null(v2 = store_test_raw_get(s, "audit", k2, 8, &n2));
    assert_true(store_test_raw_put(s, "audit", k1, 8, v2, n2));
    assert_true(store_test_raw_put(s, "audit", k2, 8, v1, n1));
    OPENSSL_free(v1);
    OPENSSL_free(v2);
}

static void tamper_truncate(struct store *s, int rec)
{
    unsigned char k[8], *v;
    size_t n;

    key8(k, (uint64_t)rec);
    assert_non_null(v = store_test_raw_get(s, "audit", k, 8, &n));
    assert_true(store_test_raw_put(s, "audit", k, 8, v, n - 1));
    OPENSSL_free(v);
}

static void test_audit_chain(void **state)
{
    static const struct {
        const char *name;
        void (*tamper)(struct store *s, int rec);
        int rec;
        const char *frag1, *frag2;
    } cases[] = {
        { "alter 16", tamper_alter, 16, "audit record 17: hash chain broken",
          "record 16 was altered, or a record was removed/reordered" },
        { "alter 1", tamper_alter, 1, "audit record 2: hash chain broken", "record 1 was altered" },
        { "alter last", tamper_alter, 20, "audit record 20: hash chain broken",
          "record 20 was altered" },
        { "delete 5", tamper_delete, 5, "audit record 6: sequence gap", "record 5 was removed" },
        { "delete 1", tamper_delete, 1, "audit record 2: sequence gap", "record 1 was removed" },
        { "delete last", tamper_delete, 20, "audit record 20: removed",
          "the log ends at record 19 but 20 were written" },
        { "swap 3 and 4", tamper_swap, 3, "audit record 3: holds record 4", "reordered" },
        { "truncate 9", tamper_truncate, 9, "audit record 9: store corrupt",
          "restore the store from backup" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store *s = fresh();
        struct store_txn *t;
        char cmd[400];
        int n = 0;

        assert_true(verify(s));        /* empty log */
        audit_fill(s, 12);
        audit_fill(s, 8);
        assert_true(verify(s));
        t = store_txn_begin(s, 0);
        assert_true(store_audit_foreach(t, audit_collect, &n));
        assert_int_equal(n, 20);
        store_txn_abort(t);
        cases[i].tamper(s, cases[i].rec);
        if (verify(s))
            fail_msg("case '%s' verified", cases[i].name);
        HAS(store_error(), cases[i].frag1);
        HAS(store_error(), cases[i].frag2);
        HAS(store_error(), "restore the store from backup");
        store_close(s);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
        assert_int_equal(system(cmd), 0);
    }
}

static void test_audit_fields(void **state)
{
    struct store *s = fresh();
    struct store_txn *t;
    char longtext[2000];

    memset(longtext, 'd', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    t = store_txn_begin(s, 1);
    assert_false(store_audit_append(t, "", "x", "ok", ""));
    HAS(store_error(), "audit: no action");
    assert_true(store_audit_append(t, "crl.publish", NULL, "ok", longtext));  /* cut to fit */
    assert_true(store_txn_commit(t));
    assert_true(verify(s));
    t = store_txn_begin(s, 0);
    assert_false(store_audit_append(t, "x", "y", "ok", ""));
    HAS(store_error(), "needs a write transaction");
    store_txn_abort(t);
    store_close(s);
}

/* ---- corrupt records ------------------------------------------------------------------------- */

static void test_corrupt_records(void **state)
{
    static const struct {
        const char *name;
        size_t cut;                    /* bytes removed at the end */
        size_t add;                    /* zero bytes added at the end */
        int byte;                      /* index to overwrite, -1 none */
        unsigned char value;
        const char *frag;
    } cases[] = {
        { "trailing byte", 0, 1, -1, 0, "trailing bytes after the last field" },
        { "short", 1, 0, -1, 0, "shorter than its fields say" },
        { "only header", 1000, 0, -1, 0, "shorter than its fields say" },
        { "version 2", 0, 0, 1, 2, "unknown record format version" },
        { "wrong kind", 0, 0, 0, 'X', "record of the wrong kind" },
        { "huge length", 0, 0, 2, 0x7f, "shorter than its fields say" },
        { "NUL in key_uri", 0, 0, 15, 0, "holds a NUL byte" },
        { "state 9", 0, 0, -2, 9, "enumerated field out of range" },
    };
    struct store *s = fresh();
    unsigned char *orig, buf[4096];
    size_t n;

    ca_add(s, "root");
    assert_non_null(orig = store_test_raw_get(s, "cas", "root", 4, &n));
    assert_true(n < sizeof(buf) - 8);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_txn *t;
        struct ca_rec r;
        char seen[64] = "";
        size_t len = cases[i].cut >= n ? 2 : n - cases[i].cut;

        memcpy(buf, orig, n);
        memset(buf + n, 0, 8);
        if (cases[i].byte >= 0)
            buf[cases[i].byte] = cases[i].value;
        if (cases[i].byte == -2)       /* state: after created(8), sig(4+5), hash(4+6) */
            buf[n - 8 - 9 - 10 - 1] = cases[i].value;
        len += cases[i].add;
        assert_true(store_test_raw_put(s, "cas", "root", 4, buf, len));
        t = store_txn_begin(s, 0);
        if (store_ca_get(t, "root", &r) != -1)
            fail_msg("case '%s' decoded", cases[i].name);
        HAS(store_error(), "cas record root: store corrupt");
        HAS(store_error(), cases[i].frag);
        assert_int_equal(store_ca_foreach(t, collect_ca, seen), 0);
        store_txn_abort(t);
    }
    OPENSSL_free(orig);
    store_close(s);
}

/* A txn whose write failed half-way cannot be committed. */
static void test_broken_txn_refused(void **state)
{
    struct store *s = fresh();
    struct store_txn *t = store_txn_begin(s, 0);

    assert_false(store_crl_state_put(t, "ca", &(struct crl_state){ 0 }));
    HAS(store_error(), "needs a write transaction");
    store_txn_abort(t);
    assert_false(store_txn_commit(NULL));
    HAS(store_error(), "no transaction");
    store_txn_abort(NULL);
    store_close(s);
}

/* ---- keys: the by-key index, the blocklist, the schema 1 -> 3 upgrade ---------------------- */

/* A real certificate DER for key k (the index hashes its SubjectPublicKeyInfo). */
static unsigned char *cert_der_of(EVP_PKEY *k, long serial, size_t *len)
{
    X509 *x = X509_new();
    unsigned char *der = NULL;
    int n;

    assert_true(X509_set_version(x, 2) && X509_set_pubkey(x, k) &&
                ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
                X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
                X509_gmtime_adj(X509_getm_notAfter(x), 60) && X509_sign(x, k, EVP_sha256()));
    assert_true((n = i2d_X509(x, &der)) > 0);
    X509_free(x);
    *len = (size_t)n;
    return der;
}

static void key_cert_add(struct store *s, const unsigned char *sn, unsigned char *der, size_t n)
{
    struct store_txn *t = store_txn_begin(s, 1);
    struct cert_rec r;

    cert_fill(&r, "root", sn, 1, 1900000000);
    r.der = der;
    r.der_len = n;
    assert_non_null(t);
    if (!store_cert_add(t, &r))
        fail_msg("cert add: %s", store_error());
    assert_true(store_txn_commit(t));
}

static int count_one(void *arg, const char *ca, const unsigned char *serial, size_t n)
{
    (*(int *)arg)++;
    return 1;
}

static int key_uses(struct store *s, const unsigned char *h)
{
    struct store_txn *t = store_txn_begin(s, 0);
    int n = 0;

    assert_non_null(t);
    assert_true(store_key_foreach(t, h, count_one, &n));
    store_txn_abort(t);
    return n;
}

static void test_keys_index_block_upgrade(void **state)
{
    EVP_PKEY *a = EVP_EC_gen("P-256"), *b = EVP_EC_gen("P-256");
    struct store *s = fresh();
    unsigned char ha[32], hb[32], sn1[1] = { 1 }, sn2[1] = { 2 }, sn3[1] = { 3 }, *d1, *d2, *d3;
    size_t n1, n2, n3;
    struct store_txn *t;
    struct ca_rec cr;
    char why[256] = "";

    ca_add(s, "root");
    d1 = cert_der_of(a, 1, &n1);
    d2 = cert_der_of(a, 2, &n2);
    d3 = cert_der_of(b, 3, &n3);
    assert_true(store_cert_key_hash(d1, n1, ha));
    assert_true(store_cert_key_hash(d3, n3, hb));
    assert_memory_not_equal(ha, hb, 32);
    key_cert_add(s, sn1, d1, n1);
    key_cert_add(s, sn2, d2, n2);
    key_cert_add(s, sn3, d3, n3);
    assert_int_equal(key_uses(s, ha), 2);
    assert_int_equal(key_uses(s, hb), 1);
    /* blocklist: absent, then blocked naming the certificate; a second block keeps the first */
    assert_non_null(t = store_txn_begin(s, 1));
    assert_int_equal(store_key_blocked(t, ha, why, sizeof(why)), 0);
    assert_true(store_key_block(t, ha, "root", sn1, 1, 1700000000));
    assert_true(store_key_block(t, ha, "root", sn2, 1, 1700000001));
    assert_true(store_txn_commit(t));
    assert_non_null(t = store_txn_begin(s, 0));
    assert_int_equal(store_key_blocked(t, ha, why, sizeof(why)), 1);
    HAS(why, "the key of CA root certificate 01, revoked for keyCompromise");
    assert_int_equal(store_key_blocked(t, hb, why, sizeof(why)), 0);
    store_txn_abort(t);
    /* a schema 1 store (no by_key, no blocked_keys) is upgraded in place on open; the upgrade
     * also reads the CA's certificate (its generation 0), so root gets a real one first */
    assert_non_null(t = store_txn_begin(s, 1));
    assert_int_equal(store_ca_get(t, "root", &cr), 1);
    OPENSSL_free(cr.cert_der);
    cr.cert_der = OPENSSL_memdup(d1, n1);
    cr.cert_len = n1;
    assert_true(store_ca_replace(t, &cr));
    ca_rec_clear(&cr);
    assert_true(store_txn_commit(t));
    assert_true(store_test_make_v1(s));
    store_close(s);
    s = fresh();
    assert_int_equal(key_uses(s, ha), 2);
    assert_int_equal(key_uses(s, hb), 1);
    store_close(s);
    s = store_open(sdir, 0);
    assert_non_null(s);
    assert_int_equal(key_uses(s, ha), 2);
    store_close(s);
    OPENSSL_free(d1);
    OPENSSL_free(d2);
    OPENSSL_free(d3);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_create_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_in_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_add_get_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_foreach_expiring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_crl_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unrevoke_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rev_iter_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_revoked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_txn_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_index_block_upgrade, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
