/*
 * test_store_crlimp.c — the schema 3 records (ca/store/store_crlimp.c): imported parent CRLs and
 * pre-signed CRLs round-trip, sort by parent and number, delete; a corrupt record is named;
 * a schema 2 store (made by the previous offca: no crl_imported / crl_presigned) is upgraded
 * in place on open, in one transaction, keeping everything it held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ca/store/store.h"
#include "tests/unit/support/capture.h"

extern int store_test_make_old(struct store *s, uint32_t v);
extern int store_test_raw_put(struct store *s, const char *db, const void *key, size_t klen,
                              const void *val, size_t vlen);

static char tmp[256], sdir[300];

static int setup(void **state)
{
    if (!tmpdir_make(tmp, sizeof(tmp)))
        return -1;
    snprintf(sdir, sizeof(sdir), "%s/store", tmp);
    return 0;
}

static int teardown(void **state) { return tmpdir_remove(tmp) ? 0 : -1; }

static struct store *fresh(void)
{
    struct store *s = store_open(sdir, 1);

    if (s == NULL)
        fail_msg("store_open: %s", store_error());
    return s;
}

static const unsigned char DER_A[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const unsigned char DER_B[] = { 0x30, 0x03, 0x02, 0x01, 0x02, 0x00 };

static void imp_put(struct store *s, unsigned char parent, uint64_t number, int state,
                    const unsigned char *der, size_t len)
{
    struct store_txn *t = store_txn_begin(s, 1);
    struct crlimp_rec r;

    memset(&r, 0, sizeof(r));
    memset(r.parent, parent, sizeof(r.parent));
    r.number = number;
    r.this_update = 1700000000 + (time_t)number;
    r.next_update = r.this_update + 86400;
    r.next_publish = number % 2 ? 0 : r.this_update + 3600;
    r.imported_at = 1700000000;
    r.state = state;
    memset(r.sha256, (int)number, 32);
    r.der = der;
    r.der_len = len;
    assert_non_null(t);
    assert_true(store_crlimp_put(t, &r));
    assert_true(store_txn_commit(t));
}

struct seen {
    uint64_t numbers[16];
    int states[16];
    size_t n;
    size_t last_len;
};

static int seen_one(void *arg, const struct crlimp_rec *r)
{
    struct seen *v = arg;

    v->numbers[v->n] = r->number;
    v->states[v->n++] = r->state;
    v->last_len = r->der_len;
    assert_int_equal(r->this_update, 1700000000 + (time_t)r->number);
    assert_int_equal(r->next_publish, r->number % 2 ? 0 : r->this_update + 3600);
    return 1;
}

static struct seen imp_list(struct store *s, const unsigned char *parent)
{
    struct store_txn *t = store_txn_begin(s, 0);
    struct seen v;

    memset(&v, 0, sizeof(v));
    assert_non_null(t);
    assert_true(store_crlimp_foreach(t, parent, seen_one, &v));
    store_txn_abort(t);
    return v;
}

static void test_imported_records(void **state)
{
    struct store *s = fresh();
    unsigned char p1[STORE_KEY_HASH];
    struct store_txn *t;
    struct seen v;

    memset(p1, 1, sizeof(p1));
    imp_put(s, 1, 300, CRLIMP_WAITING, DER_B, sizeof(DER_B));
    imp_put(s, 1, 2, CRLIMP_PUBLISHED, DER_A, sizeof(DER_A));
    imp_put(s, 2, 1, CRLIMP_PUBLISHED, DER_A, sizeof(DER_A));
    imp_put(s, 1, 7, CRLIMP_SUPERSEDED, DER_A, sizeof(DER_A));
    v = imp_list(s, p1);
    assert_int_equal(v.n, 3);                       /* the other parent's record not listed */
    assert_int_equal(v.numbers[0], 2);               /* numeric order, not byte order of text */
    assert_int_equal(v.numbers[1], 7);
    assert_int_equal(v.numbers[2], 300);
    assert_int_equal(v.states[1], CRLIMP_SUPERSEDED);
    assert_int_equal(v.last_len, sizeof(DER_B));
    assert_int_equal(imp_list(s, NULL).n, 4);
    /* overwrite changes the state; delete removes one */
    imp_put(s, 1, 300, CRLIMP_PUBLISHED, DER_B, sizeof(DER_B));
    assert_non_null(t = store_txn_begin(s, 1));
    assert_true(store_crlimp_del(t, p1, 7));
    assert_true(store_crlimp_del(t, p1, 99));        /* absent: fine */
    assert_true(store_txn_commit(t));
    v = imp_list(s, p1);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.states[1], CRLIMP_PUBLISHED);
    /* a write needs a write transaction */
    assert_non_null(t = store_txn_begin(s, 0));
    assert_false(store_crlimp_del(t, p1, 2));
    store_txn_abort(t);
    store_close(s);
}

static void test_corrupt_record_named(void **state)
{
    struct store *s = fresh();
    unsigned char key[STORE_KEY_HASH + 8];
    struct store_txn *t;
    struct seen v;

    memset(key, 3, sizeof(key));
    assert_true(store_test_raw_put(s, "crl_imported", key, sizeof(key), "I\1xx", 4));
    memset(&v, 0, sizeof(v));
    assert_non_null(t = store_txn_begin(s, 0));
    assert_false(store_crlimp_foreach(t, NULL, seen_one, &v));
    store_txn_abort(t);
    assert_non_null(strstr(store_error(), "crl_imported"));
    assert_non_null(strstr(store_error(), "store corrupt"));
    store_close(s);
}

static int pre_one(void *arg, const struct presign_rec *r)
{
    struct seen *v = arg;

    v->numbers[v->n++] = r->number;
    assert_string_equal(r->ca, "root");
    assert_int_equal(r->next_update, r->this_update + 100);
    return 1;
}

static void test_presigned_records(void **state)
{
    struct store *s = fresh();
    struct store_txn *t = store_txn_begin(s, 1);
    struct presign_rec r;
    struct seen v;

    assert_non_null(t);
    memset(&r, 0, sizeof(r));
    r.der = DER_A;
    r.der_len = sizeof(DER_A);
    for (uint64_t n = 9; n <= 12; n++) {
        snprintf(r.ca, sizeof(r.ca), "%s", n == 10 ? "root2" : "root");
        r.key_index = n == 12 ? 1 : 0;     /* 12: another key generation of root */
        r.number = n == 12 ? 9 : n;        /* its own numbering: 9 again */
        r.this_update = (time_t)r.number * 1000;
        r.next_update = r.this_update + 100;
        assert_true(store_presign_put(t, &r));
    }
    assert_true(store_txn_commit(t));
    memset(&v, 0, sizeof(v));
    assert_non_null(t = store_txn_begin(s, 0));
    assert_true(store_presign_foreach(t, "root", 0, pre_one, &v));  /* not root2's, not key 1 */
    assert_int_equal(v.n, 2);
    assert_int_equal(v.numbers[0], 9);
    assert_int_equal(v.numbers[1], 11);
    memset(&v, 0, sizeof(v));
    assert_true(store_presign_foreach(t, "root", 1, pre_one, &v));  /* key 1's own CRL 9 */
    store_txn_abort(t);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.numbers[0], 9);
    store_close(s);
}

/* A store of schema 2 (the previous offca: no crl_imported, no crl_presigned) opens as schema 3
 * with what it held, and the new databases work. */
static void test_upgrade_from_2(void **state)
{
    struct store *s = fresh();
    struct store_txn *t = store_txn_begin(s, 1);
    unsigned char p1[STORE_KEY_HASH];
    struct ca_rec ca, got;

    memset(&ca, 0, sizeof(ca));
    snprintf(ca.name, sizeof(ca.name), "root");
    ca.key_uri = "pkcs11:object=root";
    ca.is_root = 1;
    assert_non_null(t);
    assert_true(store_ca_add(t, &ca));
    assert_true(store_audit_append(t, "ca.create", "root", "ok", ""));
    assert_true(store_txn_commit(t));
    imp_put(s, 1, 5, CRLIMP_PUBLISHED, DER_A, sizeof(DER_A));
    assert_true(store_test_make_old(s, 2));
    store_close(s);
    s = store_open(sdir, 0);
    assert_non_null(s);
    assert_non_null(t = store_txn_begin(s, 0));
    assert_int_equal(store_ca_get(t, "root", &got), 1);
    ca_rec_clear(&got);
    assert_true(store_audit_verify(t));
    store_txn_abort(t);
    memset(p1, 1, sizeof(p1));
    assert_int_equal(imp_list(s, p1).n, 0);        /* the databases are new and empty */
    imp_put(s, 1, 6, CRLIMP_WAITING, DER_A, sizeof(DER_A));
    assert_int_equal(imp_list(s, p1).n, 1);
    store_close(s);
    /* and a plain reopen is schema 3 with nothing to upgrade */
    assert_non_null(s = store_open(sdir, 0));
    assert_int_equal(imp_list(s, p1).n, 1);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_imported_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presigned_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_2, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
