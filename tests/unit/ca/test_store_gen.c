/*
 * test_store_gen.c — CA generations in the store (ca/store/store_gen.c): add/get/newest/foreach/put,
 * the rules they refuse, CRL state per key generation, a revocation landing on the CRL state
 * and revoked entry of the key generation that signed it, schema 1 records read as key 0, and
 * the in-place upgrade of a schema 1 or 2 store (generation 0 of each CA, audit record, once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/store/store.h"
#include "tests/unit/support/capture.h"

extern int store_test_set_schema(struct store *s, uint32_t v);
extern int store_test_make_old(struct store *s, uint32_t v);
extern unsigned char *store_test_raw_get(struct store *s, const char *db, const void *key,
                                         size_t klen, size_t *vlen);
extern int store_test_raw_put(struct store *s, const char *db, const void *key, size_t klen,
                              const void *val, size_t vlen);

static char tmp[256], sdir[300];
static unsigned char *cert_der;
static int cert_len;

static int setup(void **state)
{
    if (!tmpdir_make(tmp, sizeof(tmp)))
        return -1;
    snprintf(sdir, sizeof(sdir), "%s/store", tmp);
    return 0;
}

static int teardown(void **state) { return tmpdir_remove(tmp) ? 0 : -1; }

/* A real self-signed certificate valid 1700000000 .. 1800000000 (generation 0 reads it). */
static int group_setup(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    if (!k || !x || !n || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                                      (const unsigned char *)"Gen Root", -1, -1, 0))
        return -1;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
    ASN1_TIME_set(X509_getm_notAfter(x), 1800000000);
    X509_set_pubkey(x, k);
    if (!X509_sign(x, k, EVP_sha256()) || (cert_len = i2d_X509(x, &cert_der)) <= 0)
        return -1;
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
    return 0;
}

static int group_teardown(void **state)
{
    OPENSSL_free(cert_der);
    return 0;
}

static void ca_add(struct store *s, const char *name, int with_gen)
{
    struct store_txn *t = store_txn_begin(s, 1);
    struct ca_rec r;

    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    r.key_uri = "pkcs11:object=k0";
    r.cert_der = cert_der;
    r.cert_len = (size_t)cert_len;
    r.is_root = 1;
    r.created = 1700000001;
    snprintf(r.sig, sizeof(r.sig), "ecdsa");
    snprintf(r.hash, sizeof(r.hash), "sha256");
    assert_non_null(t);
    assert_true(store_ca_add(t, &r));
    if (with_gen && !store_gen_first(t, &r))
        fail_msg("gen first: %s", store_error());
    assert_true(store_txn_commit(t));
}

static void gen_fill(struct ca_gen *g, const char *ca, unsigned ci, unsigned ki, const char *uri)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->ca, sizeof(g->ca), "%s", ca);
    g->cert_index = ci;
    g->key_index = ki;
    g->cert_der = cert_der;
    g->cert_len = (size_t)cert_len;
    g->key_uri = (char *)uri;
    g->not_before = 1700000000 + ci;
    g->not_after = 1800000000 + ci;
}

static int count_gen(void *arg, const struct ca_gen *g)
{
    unsigned *seen = arg;

    assert_int_equal(g->cert_index, seen[0]);    /* index order */
    seen[0]++;
    return 1;
}

static void test_generations(void **state)
{
    struct store *s = store_open(sdir, 1);
    struct store_txn *t;
    struct ca_gen g, got;
    unsigned seen[1] = {0};

    assert_non_null(s);
    ca_add(s, "root", 1);
    assert_non_null(t = store_txn_begin(s, 1));
    assert_int_equal(store_gen_get(t, "root", 0, &got), 1);
    assert_int_equal(got.key_index, 0);
    assert_int_equal(got.not_before, 1700000000);
    assert_int_equal(got.not_after, 1800000000);
    assert_string_equal(got.key_uri, "pkcs11:object=k0");
    assert_int_equal(got.state, GEN_ACTIVE);
    ca_gen_clear(&got);
    gen_fill(&g, "root", 0, 0, "pkcs11:object=k0");
    assert_false(store_gen_add(t, &g));                       /* index 0 is taken */
    assert_non_null(strstr(store_error(), "already exists"));
    gen_fill(&g, "root", 1, 2, "pkcs11:object=k1");
    assert_false(store_gen_add(t, &g));                       /* key index above cert index */
    gen_fill(&g, "nosuch", 1, 1, "pkcs11:object=k1");
    assert_false(store_gen_add(t, &g));
    assert_non_null(strstr(store_error(), "not in the store"));
    gen_fill(&g, "root", 1, 0, "pkcs11:object=k0");
    assert_true(store_gen_add(t, &g));
    gen_fill(&g, "root", 2, 2, "pkcs11:object=k2");
    g.link_old_new = (unsigned char *)"AB";
    g.link_old_new_len = 2;
    assert_true(store_gen_add(t, &g));
    gen_fill(&g, "root", 5, 5, "pkcs11:object=k5");
    g.state = GEN_SUPERSEDED;
    assert_false(store_gen_put(t, &g));                       /* put needs an existing one */
    assert_true(store_txn_commit(t));

    assert_non_null(t = store_txn_begin(s, 0));
    assert_int_equal(store_gen_newest(t, "root", &got), 1);
    assert_int_equal(got.cert_index, 2);
    assert_int_equal(got.key_index, 2);
    assert_int_equal(got.link_old_new_len, 2);
    assert_memory_equal(got.link_old_new, "AB", 2);
    assert_null(got.link_new_old);
    ca_gen_clear(&got);
    assert_true(store_gen_foreach(t, "root", count_gen, seen));
    assert_int_equal(seen[0], 3);
    assert_int_equal(store_gen_newest(t, "ro", &got), 0);     /* a name prefix is not the CA */
    store_txn_abort(t);
    store_close(s);
}

static void cert_add(struct store_txn *t, const unsigned char *sn, unsigned key_index)
{
    static unsigned char der[4] = {0x30, 0x02, 0x05, 0x00};
    struct cert_rec r;

    memset(&r, 0, sizeof(r));
    snprintf(r.ca, sizeof(r.ca), "root");
    memcpy(r.serial, sn, 2);
    r.serial_len = 2;
    r.der = der;
    r.der_len = sizeof(der);
    r.template_name = "t";
    r.subject = "CN=x";
    r.sans = "";
    r.not_after = 1900000000;
    r.reason = -1;
    r.key_index = key_index;
    assert_true(store_cert_add(t, &r));
}

static void test_revoke_per_key(void **state)
{
    struct store *s = store_open(sdir, 1);
    struct store_txn *t;
    struct crl_state st;
    struct store_rev_iter *it;
    struct store_rev_entry e;
    struct cert_rec r;

    assert_non_null(s);
    ca_add(s, "root", 1);
    assert_non_null(t = store_txn_begin(s, 1));
    cert_add(t, (const unsigned char *)"\x11\x11", 0);
    cert_add(t, (const unsigned char *)"\x22\x22", 3);
    memset(&st, 0, sizeof(st));
    st.last_number = 9;
    assert_true(store_crl_state_put_k(t, "root", 3, &st));
    assert_true(store_revoke(t, "root", (const unsigned char *)"\x22\x22", 2, 1, 1750000000, 0));
    assert_true(store_txn_commit(t));

    assert_non_null(t = store_txn_begin(s, 0));
    assert_int_equal(store_cert_get(t, "root", (const unsigned char *)"\x22\x22", 2, &r), 1);
    assert_int_equal(r.key_index, 3);
    cert_rec_clear(&r);
    assert_int_equal(store_crl_state_get_k(t, "root", 3, &st), 1);
    assert_int_equal(st.dirty, 1);
    assert_int_equal(st.last_number, 9);
    assert_int_equal(store_crl_state_get(t, "root", &st), 0);  /* key 0 untouched */
    assert_non_null(it = store_rev_iter_new(t, "root"));
    assert_int_equal(store_rev_iter_next(it, &e), 1);
    assert_int_equal(e.key_index, 3);
    assert_int_equal(e.changed_in, 9);
    assert_int_equal(store_rev_iter_next(it, &e), 0);
    store_rev_iter_free(it);
    store_txn_abort(t);
    store_close(s);
}

static int count_imp(void *arg, const struct crlimp_rec *r)
{
    (void)r;
    ++*(int *)arg;
    return 1;
}

static int count_pre(void *arg, const struct presign_rec *r)
{
    (void)r;
    ++*(int *)arg;
    return 1;
}

/* The databases of imported and pre-signed CRLs exist after the upgrade, empty, and take
 * records in the same way as in a store made as schema 3. */
static void crl_dbs_work(struct store *s)
{
    static const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    struct store_txn *t = store_txn_begin(s, 1);
    struct crlimp_rec ir;
    struct presign_rec pr;
    int ni = 0, np = 0;

    assert_non_null(t);
    assert_true(store_crlimp_foreach(t, NULL, count_imp, &ni));
    assert_true(store_presign_foreach(t, "root", 0, count_pre, &np));
    assert_int_equal(ni + np, 0);
    memset(&ir, 0, sizeof(ir));
    memset(ir.parent, 7, sizeof(ir.parent));
    ir.number = 3;
    ir.der = der;
    ir.der_len = sizeof(der);
    memset(&pr, 0, sizeof(pr));
    snprintf(pr.ca, sizeof(pr.ca), "root");
    pr.number = 5;
    pr.der = der;
    pr.der_len = sizeof(der);
    assert_true(store_crlimp_put(t, &ir));
    assert_true(store_presign_put(t, &pr));
    assert_true(store_txn_commit(t));
    assert_non_null(t = store_txn_begin(s, 0));
    assert_true(store_crlimp_foreach(t, NULL, count_imp, &ni));
    assert_true(store_presign_foreach(t, "root", 0, count_pre, &np));
    store_txn_abort(t);
    assert_int_equal(ni, 1);
    assert_int_equal(np, 1);
}

static int find_upgrade(void *arg, const struct audit_rec *r)
{
    *(int *)arg += strcmp(r->action, "store.upgrade") == 0;
    return 1;
}

/* A store turned back into schema `from` (its newer databases dropped) with a CA and no
 * generation: opening it upgrades it to 3 once, with every schema 3 database (generations,
 * crl_imported, crl_presigned) and meta "dbs" listing them all. */
static void upgrade_from(uint32_t from)
{
    struct store *s = store_open(sdir, 1);
    struct store_txn *t;
    struct ca_gen g;
    struct crl_state st;
    const char *msg;
    char note[64], *dbs;
    size_t dbs_len = 0;
    int n = 0;

    assert_non_null(s);
    ca_add(s, "root", 0);
    /* a schema 1 CRL state record: no 'final' byte at its end */
    static const unsigned char st1[2 + 8 * 7 + 1 + 32] = {'S', 1, 0, 0, 0, 0, 0, 0, 0, 4};
    assert_true(store_test_raw_put(s, "crl_state", "root", 4, st1, sizeof(st1)));
    assert_true(store_test_make_old(s, from));
    store_close(s);
    assert_true(capture_start(2));
    s = store_open(sdir, 0);
    msg = capture_stop();
    assert_non_null(s);
    snprintf(note, sizeof(note), "upgraded from schema %u to 3", from);
    assert_non_null(strstr(msg, note));
    assert_non_null(t = store_txn_begin(s, 0));
    assert_int_equal(store_gen_get(t, "root", 0, &g), 1);
    assert_int_equal(g.not_after, 1800000000);
    assert_int_equal(g.created, 1700000001);
    ca_gen_clear(&g);
    assert_true(store_audit_foreach(t, find_upgrade, &n));
    assert_int_equal(n, 1);
    assert_true(store_audit_verify(t));
    assert_int_equal(store_crl_state_get(t, "root", &st), 1);
    assert_int_equal(st.last_number, 4);
    assert_int_equal(st.final, 0);
    store_txn_abort(t);
    crl_dbs_work(s);
    dbs = (char *)store_test_raw_get(s, "meta", "dbs", 3, &dbs_len);
    assert_non_null(dbs);
    dbs[dbs_len] = '\0';
    assert_string_equal(dbs, "cas,certs,serials,by_expiry,revoked,crl_state,directory,audit,"
                             "by_key,blocked_keys,generations,crl_imported,crl_presigned");
    OPENSSL_free(dbs);
    store_close(s);
    assert_true(capture_start(2));
    s = store_open(sdir, 0);                 /* once: no second upgrade */
    msg = capture_stop();
    assert_non_null(s);
    assert_null(strstr(msg, "upgraded"));
    store_close(s);
}

static void test_upgrade_from_1(void **state)
{
    (void)state;
    upgrade_from(1);
}

static void test_upgrade_from_2(void **state)
{
    (void)state;
    upgrade_from(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
