/*
 * test_publish.c — the CRL publication core without the command line: publish_run, handed the
 * store, the HSM handle and the config, on a throwaway SoftHSM token with one root CA (made with
 * ca_create; the config, store and token are opened directly, without struct app). A revoked
 * certificate reaches root.crl (issuer, number, entry, reason, signature); a run with nothing
 * due changes nothing; --force makes the next number. The token, in forked children (a wrong PIN
 * latches the process): an unknown CA is refused before the PIN is sent; a key that cannot be
 * reached fails the run, due or not, and publishes nothing; a key generation whose final CRL is
 * published needs no token at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "hsm/hsm.h"
#include "tests/unit/ca/ca_fixture.h"
#include "ca/authority/authority.h"
#include "ca/issue/issue.h"
#include "ca/publish/publish.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

static char crl_file[128];
static struct config *CFG;
static struct store *ST;
static struct hsm *H;
static X509 *CACERT;
static unsigned char SERIAL[MAX_STORE_SERIAL];
static size_t SERIAL_LEN;

static struct ca_fixture F;

/* The HSM as [hsm] configures it; pin_file NULL and OFFCA_PIN set: the PIN from there. */
static struct hsm_config hsm_cfg(const char *pin_file)
{
    return ca_fixture_hsm_cfg(&F, pin_file);
}

static int open_store_hsm(void)
{
    if (!ca_fixture_open(&F))
        return 0;
    ST = F.st;
    H = F.h;
    return 1;
}

/* The fixture's token, ca.toml, store, HSM and root (made by ca_create). */
static int setup(void **state)
{
    struct ca_signer s;

    if (ca_fixture_setup(&F, "CN=Publish Root") != 0)
        return -1;
    CFG = F.cfg;
    ST = F.st;
    H = F.h;
    snprintf(crl_file, sizeof(crl_file), "%s/pub/root.crl", F.dir);
    if (ca_signer_open(ST, H, CFG, "root", &s) != 0)
        return -1;
    CACERT = X509_dup(s.cert);
    ca_signer_close(&s);
    return CACERT != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    X509_free(CACERT);
    return ca_fixture_teardown(&F);
}

/* The whole file at path (malloc, *len), or NULL when it is missing. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    *len = buf ? (size_t)n : 0;
    fclose(f);
    return buf;
}

static X509_CRL *crl_load(unsigned char **der, size_t *len)
{
    const unsigned char *p;
    X509_CRL *crl;

    *der = slurp(crl_file, len);
    assert_non_null(*der);
    p = *der;
    crl = d2i_X509_CRL(NULL, &p, (long)*len);
    assert_non_null(crl);
    return crl;
}

static uint64_t crl_number(X509_CRL *crl)
{
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    uint64_t n = 0;

    assert_non_null(num);
    assert_true(ASN1_INTEGER_get_uint64(&n, num));
    ASN1_INTEGER_free(num);
    return n;
}

/* The CRL number the store recorded for root's key. */
static uint64_t state_number(void)
{
    struct store_txn *t = store_txn_begin(ST, 0);
    struct crl_state cs;

    assert_non_null(t);
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(store_crl_state_get_k(t, "root", 0, &cs), 1);
    store_txn_abort(t);
    return cs.last_number;
}

/* root's CRL, signed by root, lists SERIAL (superseded) and nothing else. */
static void crl_check(X509_CRL *crl)
{
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    ASN1_ENUMERATED *reason;
    X509_REVOKED *rev = NULL;

    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(CACERT)), 0);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(CACERT)), 1);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
    assert_non_null(serial);
    assert_true(ASN1_STRING_set(serial, SERIAL, (int)SERIAL_LEN));   /* positive, big-endian */
    assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, serial), 1);
    reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
    assert_non_null(reason);
    assert_int_equal(ASN1_ENUMERATED_get(reason), CRL_REASON_SUPERSEDED);
    ASN1_ENUMERATED_free(reason);
    ASN1_INTEGER_free(serial);
}

/* One certificate issued by root through the issuance core (a generated P-256 key). */
static void issue_one(void)
{
    struct tmpl_set *ts = tmpl_set_load(CFG->templates_dir);
    const struct tmpl *tp = ts ? tmpl_set_find(ts, "vpn-server") : NULL;
    X509_NAME *subj = X509_NAME_new();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    struct san san = { SAN_DNS, "vpn1.unit.test" };
    struct tmpl_request q;
    struct ca_signer s;
    struct issued is;

    assert_non_null(tp);
    assert_non_null(key);
    assert_true(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)"vpn1", -1, -1, 0));
    memset(&q, 0, sizeof(q));
    q.source = "unit request";
    q.csr_subject = subj;
    q.pubkey = key;
    q.op_sans = &san;
    q.n_op_sans = 1;
    memset(&is, 0, sizeof(is));
    assert_int_equal(ca_signer_open(ST, H, CFG, "root", &s), 0);
    assert_int_equal(issue_prepare(ST, H, CFG, &s, tp, &q, NULL, &is), 0);
    assert_int_equal(issue_record(ST, &is, 1), 0);
    memcpy(SERIAL, is.rec.serial, is.rec.serial_len);
    SERIAL_LEN = is.rec.serial_len;
    issued_clear(&is);
    ca_signer_close(&s);
    X509_NAME_free(subj);
    EVP_PKEY_free(key);
    tmpl_set_free(ts);
}

/* What `offca revoke --ca root --serial S --reason superseded` records: one transaction. */
static void revoke_one(void)
{
    struct store_txn *t = store_txn_begin(ST, 1);

    assert_non_null(t);
    assert_true(store_revoke(t, "root", SERIAL, SERIAL_LEN, CRL_REASON_SUPERSEDED, ca_now(), 0));
    assert_int_equal(txn_finish(t, store_audit_append(t, "cert.revoke", "unit", "ok",
                                                      "ca=root reason=superseded")), 0);
}

/* The first run after a revocation: root.crl (number 1) lists it, and root.crt is published. */
static void test_publish_revoked(void **state)
{
    unsigned char *der, *crt;
    const unsigned char *p;
    char crt_file[128];
    size_t len, crt_len;
    X509_CRL *crl;
    X509 *x;

    issue_one();
    revoke_one();
    assert_null(slurp(crl_file, &len));
    assert_int_equal(publish_run(ST, H, CFG, NULL, 0), 0);
    crl = crl_load(&der, &len);
    assert_int_equal(crl_number(crl), 1);
    crl_check(crl);
    assert_int_equal(state_number(), 1);
    snprintf(crt_file, sizeof(crt_file), "%s/pub/root.crt", F.dir);
    assert_non_null(crt = slurp(crt_file, &crt_len));
    p = crt;
    assert_non_null(x = d2i_X509(NULL, &p, (long)crt_len));
    assert_int_equal(X509_cmp(x, CACERT), 0);
    X509_free(x);
    free(crt);
    X509_CRL_free(crl);
    free(der);
}

/* Nothing due: the same file, byte for byte, and the same number; --force: number 2. */
static void test_nothing_due_then_force(void **state)
{
    unsigned char *before, *after;
    size_t n_before, n_after;
    X509_CRL *crl;

    assert_non_null(before = slurp(crl_file, &n_before));
    assert_int_equal(publish_run(ST, H, CFG, "root", 0), 0);
    crl = crl_load(&after, &n_after);
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before);
    assert_int_equal(crl_number(crl), 1);
    assert_int_equal(state_number(), 1);
    X509_CRL_free(crl);
    free(after);
    assert_int_equal(publish_run(ST, H, CFG, NULL, 1), 0);
    crl = crl_load(&after, &n_after);
    assert_int_equal(crl_number(crl), 2);
    crl_check(crl);
    assert_int_equal(state_number(), 2);
    assert_true(n_after != n_before || memcmp(after, before, n_before) != 0);
    X509_CRL_free(crl);
    free(after);
    free(before);
}

/* Run fn in a child with its own store and HSM (the parent's are closed across the fork: the
 * HSM refuses a handle from another process, LMDB an environment). The child's stdout and
 * stderr go to dir/child.log, its results (fn fills rc[4]) to dir/child.rc. */
static void in_child(void (*fn)(int rc[4]), int rc[4], char *log, size_t loglen)
{
    char path[128];
    size_t n;
    pid_t pid;
    int status = 0, fd;
    unsigned char *text;

    hsm_close(H);
    store_close(ST);
    H = F.h = NULL;
    ST = F.st = NULL;
    fflush(NULL);
    assert_true((pid = fork()) >= 0);
    if (pid == 0) {
        int r[4] = { -1, -1, -1, -1 };
        FILE *f;

        snprintf(path, sizeof(path), "%s/child.log", F.dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
            (ST = store_open(CFG->store_path, 0)) == NULL)
            _exit(1);
        fn(r);
        snprintf(path, sizeof(path), "%s/child.rc", F.dir);
        f = fopen(path, "w");
        if (f == NULL || fprintf(f, "%d %d %d %d\n", r[0], r[1], r[2], r[3]) < 0 || fclose(f))
            _exit(1);
        fflush(NULL);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(open_store_hsm());
    snprintf(path, sizeof(path), "%s/child.rc", F.dir);
    assert_non_null(text = slurp(path, &n));
    text[n] = '\0';
    assert_int_equal(sscanf((char *)text, "%d %d %d %d", &rc[0], &rc[1], &rc[2], &rc[3]), 4);
    free(text);
    snprintf(path, sizeof(path), "%s/child.log", F.dir);
    assert_non_null(text = slurp(path, &n));
    snprintf(log, loglen, "%.*s", (int)n, (char *)text);
    free(text);
}

/* A wrong PIN (OFFCA_PIN, no pin_file). h1 serves an unknown CA only: if that had sent the PIN,
 * h2's first login would be "not attempted" (one wrong PIN per process). h2: nothing due (its one
 * login, refused), then --force (no second login: "not attempted"). */
static void wrong_pin_child(int rc[4])
{
    struct hsm_config hc = hsm_cfg(NULL);
    struct hsm *h1, *h2;

    setenv("OFFCA_PIN", "wrong", 1);
    if ((h1 = hsm_open_deferred(&hc)) == NULL || (h2 = hsm_open_deferred(&hc)) == NULL)
        return;
    rc[0] = publish_run(ST, h1, CFG, "nosuch", 0);
    rc[1] = publish_run(ST, h2, CFG, "root", 0);
    rc[2] = publish_run(ST, h2, CFG, "root", 1);
    hsm_close(h2);
    hsm_close(h1);
}

/* The unknown CA before any PIN; a key that cannot be reached fails the run even with nothing
 * due (so cron mails it while the CRL still runs), and a forced run publishes nothing. */
static void test_wrong_pin(void **state)
{
    unsigned char *before, *after;
    size_t n_before, n_after;
    char log[16384];
    const char *first, *again;
    int rc[4];

    assert_non_null(before = slurp(crl_file, &n_before));
    in_child(wrong_pin_child, rc, log, sizeof(log));
    assert_int_equal(rc[0], EXIT_USAGE);
    assert_non_null(strstr(log, "crl publish --ca nosuch: CA 'nosuch' is not in the store"));
    assert_int_equal(rc[1], EXIT_SYSTEM);
    assert_non_null(strstr(log, "root: CRL 2 is current (next publish due "));
    assert_non_null(strstr(log, "but the CA key is unreachable"));
    assert_non_null(first = strstr(log, "CKR_PIN_INCORRECT: wrong PIN (1 attempt used in total"));
    /* the first login is h2's (h1 reported its unknown CA and sent none); the forced run on h2
     * sends no second one */
    assert_true(first > strstr(log, "CA 'nosuch' is not in the store"));
    assert_non_null(again = strstr(log, "login: not attempted"));
    assert_true(again > first);
    assert_int_equal(rc[2], EXIT_SYSTEM);
    assert_non_null(strstr(log, "root: a new CRL is due, but the CA key is unreachable"));
    assert_non_null(after = slurp(crl_file, &n_after));
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before);
    assert_int_equal(state_number(), 2);
    free(after);
    free(before);
}

/* The clock past root's notAfter: the good PIN signs root's final CRL; then, with a wrong PIN,
 * runs with and without --force have nothing to sign. A second handle opened afterwards makes
 * this process's first wrong login: had the runs opened the token, it would be "not
 * attempted". */
static void final_child(int rc[4])
{
    struct hsm_config good = hsm_cfg(CFG->hsm_pin_file), bad = hsm_cfg(NULL);
    time_t end = asn1_time_to_time(X509_get0_notAfter(CACERT));
    char now[32];
    struct hsm *h, *h2;

    snprintf(now, sizeof(now), "%lld", (long long)end + 86400);
    setenv("OFFCA_TEST_NOW", now, 1);
    if ((h = hsm_open_deferred(&good)) == NULL)
        return;
    rc[0] = publish_run(ST, h, CFG, NULL, 0);
    hsm_close(h);
    setenv("OFFCA_PIN", "wrong", 1);
    if ((h = hsm_open_deferred(&bad)) == NULL)
        return;
    rc[1] = publish_run(ST, h, CFG, NULL, 0);
    rc[2] = publish_run(ST, h, CFG, "root", 1);
    hsm_close(h);
    if ((h2 = hsm_open_deferred(&bad)) == NULL)
        return;
    rc[3] = hsm_ready(h2);
    fprintf(stderr, "afterwards: %s\n", rc[3] ? "token open" : hsm_error());
    hsm_close(h2);
}

static void test_final_needs_no_token(void **state)
{
    unsigned char *der;
    size_t len;
    X509_CRL *crl;
    char log[16384];
    int rc[4];

    in_child(final_child, rc, log, sizeof(log));
    assert_int_equal(rc[0], 0);
    assert_non_null(strstr(log, "root: published final CRL 3"));
    assert_int_equal(rc[1], 0);
    assert_int_equal(rc[2], 0);
    assert_non_null(strstr(log, "root: its certificates have expired and its final CRL 3 is "
                                "published; nothing more to do"));
    assert_int_equal(rc[3], 0);
    assert_non_null(strstr(log, "afterwards: token 'unit': CKR_PIN_INCORRECT: wrong PIN (1 "
                                "attempt used in total"));
    crl = crl_load(&der, &len);
    assert_int_equal(crl_number(crl), 3);
    crl_check(crl);
    assert_int_equal(state_number(), 3);
    X509_CRL_free(crl);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_revoked),
        cmocka_unit_test(test_nothing_due_then_force),
        cmocka_unit_test(test_wrong_pin),
        cmocka_unit_test(test_final_needs_no_token),
    };

    if (access(SOFTHSM_MODULE, R_OK) != 0) {
        fprintf(stderr, "test_publish: %s missing (make deps installs softhsm2)\n",
                SOFTHSM_MODULE);
        return 1;
    }
    unsetenv("OFFCA_PIN");
    unsetenv("OFFCA_TEST_NOW");
    return cmocka_run_group_tests(tests, setup, teardown);
}
