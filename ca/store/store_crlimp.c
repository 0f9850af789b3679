/*
 * store_crlimp.c — the records of schema 3: CRLs of a parent CA that lives on another machine
 * (crl_imported: `crl import` on the issuing machine) and CRLs signed ahead of their thisUpdate
 * (crl_presigned: `crl presign` on the root machine).
 *
 *   crl_imported   key: SHA-256(parent SubjectPublicKeyInfo) (32) number (8 BE)
 *                  value 'I': this/next update, next publish, imported at, state, SHA-256, DER
 *   crl_presigned  key: ca '\0' key index (2 BE) number (8 BE)
 *                  value 'P': this/next update, next publish, signed at, SHA-256, DER
 * Keys sort by parent (or CA and key generation: each key generation numbers its own CRLs)
 * and then numerically by CRL number.
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>

#define IMP_KEY (STORE_KEY_HASH + 8)
#define PRE_KEY (MAX_CA_NAME + 1 + 2 + 8)

static size_t imp_key(unsigned char *k, const unsigned char *parent, uint64_t number)
{
    memcpy(k, parent, STORE_KEY_HASH);
    st_put_be(k + STORE_KEY_HASH, number, 8);
    return IMP_KEY;
}

/* Insert or overwrite the imported CRL record (parent, number). 1 ok / 0. */
int store_crlimp_put(struct store_txn *t, const struct crlimp_rec *r)
{
    unsigned char k[IMP_KEY];
    struct enc e = { 0 };
    int ok = 0;

    if (!st_need_write(t, "imported CRL"))
        return 0;
    if (r == NULL || r->der == NULL || r->state < 0 || r->state > CRLIMP_SUPERSEDED) {
        st_seterr("store: imported CRL: no record or no DER; fix the caller");
        return 0;
    }
    st_enc_head(&e, 'I');
    st_enc_time(&e, r->this_update);
    st_enc_time(&e, r->next_update);
    st_enc_time(&e, r->next_publish);
    st_enc_time(&e, r->imported_at);
    st_enc_u8(&e, (unsigned)r->state);
    st_enc_raw(&e, r->sha256, 32);
    st_enc_bytes(&e, r->der, r->der_len);
    if (e.bad)
        st_code_err(st_txn_path(t), "crl_imported", ENOMEM);
    else
        ok = st_db_put(t, DB_CRLIMP, k, imp_key(k, r->parent, r->number), e.p, e.len, 0) == 1;
    OPENSSL_free(e.p);
    return ok;
}

/* Delete the record (parent, number); absent is fine. 1 ok / 0. */
int store_crlimp_del(struct store_txn *t, const unsigned char parent[STORE_KEY_HASH],
                     uint64_t number)
{
    unsigned char k[IMP_KEY];
    struct store_val v;
    size_t kn;
    int found;

    if (!st_need_write(t, "imported CRL"))
        return 0;
    kn = imp_key(k, parent, number);
    if ((found = st_db_get(t, DB_CRLIMP, k, kn, &v)) <= 0)
        return found == 0;
    return st_db_del(t, DB_CRLIMP, k, kn);
}

static const char *imp_decode(const struct store_val *k, const struct store_val *v,
                              struct crlimp_rec *r)
{
    struct dec d;
    const unsigned char *h;
    size_t n;

    if (k->mv_size != IMP_KEY)
        return "malformed key";
    memset(r, 0, sizeof(*r));
    memcpy(r->parent, k->mv_data, STORE_KEY_HASH);
    r->number = st_get_be((const unsigned char *)k->mv_data + STORE_KEY_HASH, 8);
    st_dec_head(&d, v, 'I');
    r->this_update = st_dec_time(&d);
    r->next_update = st_dec_time(&d);
    r->next_publish = st_dec_time(&d);
    r->imported_at = st_dec_time(&d);
    r->state = st_dec_small(&d, CRLIMP_SUPERSEDED);
    if ((h = st_dec_raw(&d, 32)) != NULL)
        memcpy(r->sha256, h, 32);
    r->der = st_dec_field(&d, &n);
    r->der_len = n;
    if (!d.err && (r->der == NULL || n == 0 || n == LEN_NULL))
        d.err = "no CRL bytes";
    return st_dec_end(&d);
}

struct imp_walk {
    int (*fn)(void *arg, const struct crlimp_rec *r);
    void *arg;
};

static int imp_one(struct store_txn *t, const struct store_val *k, const struct store_val *v,
                   void *ctx)
{
    struct imp_walk *w = ctx;
    struct crlimp_rec r;
    const char *why = imp_decode(k, v, &r);

    if (why != NULL)
        return st_corrupt(t, "crl_imported", "entry", why) - 1;
    return w->fn(w->arg, &r) ? 1 : 0;
}

/* The records of one parent (or all) in key order. 1 ok / 0 error. */
int store_crlimp_foreach(struct store_txn *t, const unsigned char *parent,
                         int (*fn)(void *arg, const struct crlimp_rec *r), void *arg)
{
    struct imp_walk w = { fn, arg };

    return st_db_scan(t, DB_CRLIMP, parent, parent ? STORE_KEY_HASH : 0, imp_one, &w);
}

static size_t pre_key(unsigned char *k, const char *ca, unsigned key_index, uint64_t number)
{
    size_t n = strlen(ca) + 1;

    memcpy(k, ca, n);
    st_put_be(k + n, key_index, 2);
    st_put_be(k + n + 2, number, 8);
    return n + 10;
}

/* Record a pre-signed CRL of ca (insert or overwrite). 1 ok / 0. */
int store_presign_put(struct store_txn *t, const struct presign_rec *r)
{
    unsigned char k[PRE_KEY];
    struct enc e = { 0 };
    int ok = 0;

    if (!st_need_write(t, "pre-signed CRL") || r == NULL || !st_ca_name_ok(r->ca))
        return 0;
    if (r->der == NULL || r->key_index > MAX_CA_INDEX) {
        st_seterr("store: pre-signed CRL of '%s': no DER or key index %u; fix the caller", r->ca,
                  r->key_index);
        return 0;
    }
    st_enc_head(&e, 'P');
    st_enc_time(&e, r->this_update);
    st_enc_time(&e, r->next_update);
    st_enc_time(&e, r->next_publish);
    st_enc_time(&e, r->signed_at);
    st_enc_raw(&e, r->sha256, 32);
    st_enc_bytes(&e, r->der, r->der_len);
    if (e.bad)
        st_code_err(st_txn_path(t), "crl_presigned", ENOMEM);
    else
        ok = st_db_put(t, DB_PRESIGN, k, pre_key(k, r->ca, r->key_index, r->number), e.p, e.len, 0) == 1;
    OPENSSL_free(e.p);
    return ok;
}

struct pre_walk {
    const char *ca;
    unsigned key_index;
    int (*fn)(void *arg, const struct presign_rec *r);
    void *arg;
};

static int pre_one(struct store_txn *t, const struct store_val *k, const struct store_val *v,
                   void *ctx)
{
    struct pre_walk *w = ctx;
    size_t cn = strlen(w->ca) + 1;
    struct presign_rec r;
    const unsigned char *h;
    struct dec d;
    size_t n;

    if (k->mv_size != cn + 10)
        return st_corrupt(t, "crl_presigned", w->ca, "malformed key") - 1;
    memset(&r, 0, sizeof(r));
    snprintf(r.ca, sizeof(r.ca), "%s", w->ca);
    r.key_index = w->key_index;
    r.number = st_get_be((const unsigned char *)k->mv_data + cn + 2, 8);
    st_dec_head(&d, v, 'P');
    r.this_update = st_dec_time(&d);
    r.next_update = st_dec_time(&d);
    r.next_publish = st_dec_time(&d);
    r.signed_at = st_dec_time(&d);
    if ((h = st_dec_raw(&d, 32)) != NULL)
        memcpy(r.sha256, h, 32);
    r.der = st_dec_field(&d, &n);
    r.der_len = n;
    if (st_dec_end(&d) != NULL || r.der == NULL)
        return st_corrupt(t, "crl_presigned", w->ca, d.err ? d.err : "no CRL bytes") - 1;
    return w->fn(w->arg, &r) ? 1 : 0;
}

/* The pre-signed CRLs of key generation key_index of ca, ascending number. 1 ok / 0 error. */
int store_presign_foreach(struct store_txn *t, const char *ca, unsigned key_index,
                          int (*fn)(void *arg, const struct presign_rec *r), void *arg)
{
    struct pre_walk w = { ca, key_index, fn, arg };
    unsigned char prefix[MAX_CA_NAME + 3];
    size_t n;

    if (!st_ca_name_ok(ca) || key_index > MAX_CA_INDEX)
        return 0;
    n = strlen(ca) + 1;
    memcpy(prefix, ca, n);
    st_put_be(prefix + n, key_index, 2);
    return st_db_scan(t, DB_PRESIGN, prefix, n + 2, pre_one, &w);
}
