/*
 * store_certs.c — CA and certificate records: add, replace, get, find by serial, scans by CA and
 * by expiry, counts. Each certificate is indexed by serial (one owner CA) and by expiry.
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CAs ------------------------------------------------------------------------------------- */

/* Free the owned members of r and zero it. NULL is a no-op. */
void ca_rec_clear(struct ca_rec *r)
{
    if (r == NULL)
        return;
    OPENSSL_free(r->key_uri);
    OPENSSL_free(r->parent);
    OPENSSL_free(r->cert_der);
    OPENSSL_free(r->chain_der);
    memset(r, 0, sizeof(*r));
}

static void ca_encode(struct enc *e, const struct ca_rec *r)
{
    st_enc_head(e, 'C');
    st_enc_str(e, r->name);
    st_enc_str(e, r->key_uri);
    st_enc_str(e, r->parent);
    st_enc_bytes(e, r->cert_der, r->cert_der ? r->cert_len : 0);
    st_enc_bytes(e, r->chain_der, r->chain_der ? r->chain_len : 0);
    st_enc_u8(e, r->is_root != 0);
    st_enc_u8(e, (unsigned)r->state);
    st_enc_time(e, r->created);
    st_enc_str(e, r->sig);
    st_enc_str(e, r->hash);
}

static const char *ca_decode(const struct store_val *v, struct ca_rec *r)
{
    struct dec d;

    memset(r, 0, sizeof(*r));
    st_dec_head(&d, v, 'C');
    st_dec_strbuf(&d, r->name, sizeof(r->name));
    r->key_uri = st_dec_str(&d);
    r->parent = st_dec_str(&d);
    r->cert_der = st_dec_bytes(&d, &r->cert_len);
    r->chain_der = st_dec_bytes(&d, &r->chain_len);
    r->is_root = st_dec_small(&d, 1);
    r->state = (enum ca_state)st_dec_small(&d, CA_PENDING);
    r->created = st_dec_time(&d);
    st_dec_strbuf(&d, r->sig, sizeof(r->sig));
    st_dec_strbuf(&d, r->hash, sizeof(r->hash));
    if (st_dec_end(&d))
        ca_rec_clear(r);
    return d.err;
}

static int ca_check(const struct ca_rec *r)
{
    if (r == NULL) {
        st_seterr("store: CA: no record; fix the caller");
        return 0;
    }
    if (!st_ca_name_ok(r->name))
        return 0;
    if (memchr(r->sig, 0, sizeof(r->sig)) == NULL || memchr(r->hash, 0, sizeof(r->hash)) == NULL ||
        (unsigned)r->state > CA_PENDING) {
        st_seterr("store: CA '%s': sig, hash or state field is malformed; fix the caller", r->name);
        return 0;
    }
    return 1;
}

static int ca_write(struct store_txn *t, const struct ca_rec *r, int replace)
{
    struct enc e = { 0 };
    struct store_val v;
    int found, rc = 0;

    if (!st_need_write(t, replace ? "CA replace" : "CA add") || !ca_check(r))
        return 0;
    if ((found = st_db_get(t, DB_CAS, r->name, strlen(r->name), &v)) < 0)
        return 0;
    if (found && !replace) {
        st_seterr("store %s: CA '%s': already exists; choose another name (see 'offca ca list')",
               st_txn_path(t), r->name);
        return 0;
    }
    if (!found && replace) {
        st_seterr("store %s: CA '%s': does not exist, nothing to replace; check the name (see "
               "'offca ca list')", st_txn_path(t), r->name);
        return 0;
    }
    ca_encode(&e, r);
    if (e.bad)
        st_seterr("store: CA '%s': record too large or out of memory; check the certificates",
               r->name);
    else
        rc = st_db_put(t, DB_CAS, r->name, strlen(r->name), e.p, e.len, 0) == 1;
    OPENSSL_free(e.p);
    return rc;
}

/* Insert a CA record (copied); 0 with a message when the name exists. */
int store_ca_add(struct store_txn *t, const struct ca_rec *r) { return ca_write(t, r, 0); }

/* Overwrite an existing CA record (copied); 0 with a message when the name does not exist. */
int store_ca_replace(struct store_txn *t, const struct ca_rec *r) { return ca_write(t, r, 1); }

static int ca_from_val(struct store_txn *t, const char *name, const struct store_val *v, struct ca_rec *r)
{
    const char *why = ca_decode(v, r);

    if (why == NULL && strcmp(r->name, name) != 0) {
        ca_rec_clear(r);
        why = "name in the record differs from its key";
    }
    return why ? st_corrupt(t, "cas", name, why) : 1;
}

/* 1 found (r filled: caller ca_rec_clear), 0 not found, -1 error. r is set only when found. */
int store_ca_get(struct store_txn *t, const char *name, struct ca_rec *r)
{
    struct ca_rec tmp;
    struct store_val v;
    int found;

    if (t == NULL || r == NULL || !st_ca_name_ok(name)) {
        if (t == NULL || r == NULL)
            st_seterr("store: CA get: no transaction or record; fix the caller");
        return -1;
    }
    if ((found = st_db_get(t, DB_CAS, name, strlen(name), &v)) <= 0)
        return found;
    if (!ca_from_val(t, name, &v, &tmp))
        return -1;
    *r = tmp;
    return 1;
}

struct ca_scan { int (*fn)(void *arg, const struct ca_rec *r); void *arg; };

static int ca_scan_one(struct store_txn *t, const struct store_val *k, const struct store_val *v, void *ctx)
{
    struct ca_scan *cs = ctx;
    struct ca_rec r;
    char name[MAX_CA_NAME + 1];
    int go;

    if (k->mv_size == 0 || k->mv_size > MAX_CA_NAME) {
        st_seterr("store %s: cas: store corrupt: key of %zu bytes; restore the store from backup",
               st_txn_path(t), k->mv_size);
        return -1;
    }
    memcpy(name, k->mv_data, k->mv_size);
    name[k->mv_size] = '\0';
    if (!ca_from_val(t, name, v, &r))
        return -1;
    go = cs->fn(cs->arg, &r);
    ca_rec_clear(&r);
    return go ? 1 : 0;
}

/* Call fn for each CA in name order (record borrowed for the call); fn returns 1 to go on, 0 to
 * stop. 1 ok (also when stopped) / 0 error. fn must not write to the store. */
int store_ca_foreach(struct store_txn *t, int (*fn)(void *arg, const struct ca_rec *r), void *arg)
{
    struct ca_scan cs = { fn, arg };

    return st_db_scan(t, DB_CAS, NULL, 0, ca_scan_one, &cs);
}

/* ---- certificates ---------------------------------------------------------------------------- */

/* Free the owned members of r and zero it. NULL is a no-op. */
void cert_rec_clear(struct cert_rec *r)
{
    if (r == NULL)
        return;
    OPENSSL_free(r->der);
    OPENSSL_free(r->template_name);
    OPENSSL_free(r->subject);
    OPENSSL_free(r->sans);
    OPENSSL_free(r->sid);
    memset(r, 0, sizeof(*r));
}

void st_cert_encode(struct enc *e, const struct cert_rec *r, const struct sn *sn)
{
    st_enc_head(e, 'X');
    st_enc_str(e, r->ca);
    st_enc_bytes(e, sn->b, sn->n);
    st_enc_bytes(e, r->der, r->der_len);
    st_enc_str(e, r->template_name);
    st_enc_str(e, r->subject);
    st_enc_str(e, r->sans);
    st_enc_str(e, r->sid);
    st_enc_time(e, r->not_before);
    st_enc_time(e, r->not_after);
    st_enc_time(e, r->issued_at);
    st_enc_u8(e, (unsigned)r->status);
    st_enc_time(e, r->revoked_at);
    st_enc_time(e, r->invalidity);
    st_enc_u32(e, (uint32_t)(int32_t)r->reason);
    st_enc_int(e, r->key_index, 2);
}

static const char *cert_decode(const struct store_val *v, struct cert_rec *r)
{
    struct dec d;
    size_t n;
    const unsigned char *sb;

    memset(r, 0, sizeof(*r));
    st_dec_head(&d, v, 'X');
    st_dec_strbuf(&d, r->ca, sizeof(r->ca));
    sb = st_dec_field(&d, &n);
    if (!d.err && (n == 0 || n > MAX_STORE_SERIAL))
        d.err = "serial length out of range";
    if (!d.err) {
        memcpy(r->serial, sb, n);
        r->serial_len = n;
    }
    r->der = st_dec_bytes(&d, &r->der_len);
    r->template_name = st_dec_str(&d);
    r->subject = st_dec_str(&d);
    r->sans = st_dec_str(&d);
    r->sid = st_dec_str(&d);
    r->not_before = st_dec_time(&d);
    r->not_after = st_dec_time(&d);
    r->issued_at = st_dec_time(&d);
    r->status = (enum cert_status)st_dec_small(&d, CERT_REVOKED);
    r->revoked_at = st_dec_time(&d);
    r->invalidity = st_dec_time(&d);
    r->reason = (int)(int32_t)(uint32_t)st_dec_int(&d, 4);
    if (!d.err && d.off < d.len)      /* schema 1 records end here: signed by key 0 */
        r->key_index = (unsigned)st_dec_int(&d, 2);
    if (st_dec_end(&d))
        cert_rec_clear(r);
    return d.err;
}

/* Decode a certs value and check it belongs to its key. 1 ok / 0 (message set). */
static int cert_from_val(struct store_txn *t, const char *ca, const struct sn *sn,
                         const struct store_val *v, struct cert_rec *r)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    const char *why = cert_decode(v, r);

    if (why == NULL && (strcmp(r->ca, ca) != 0 || r->serial_len != sn->n ||
                        memcmp(r->serial, sn->b, sn->n) != 0)) {
        cert_rec_clear(r);
        why = "CA or serial in the record differs from its key";
    }
    if (why == NULL)
        return 1;
    st_hex_of(sn->b, sn->n, hex, sizeof(hex));
    return st_corrupt(t, "certs", hex, why);
}

/* Fetch and decode (ca, sn). 1 found / 0 not / -1 error. */
int st_cert_load(struct store_txn *t, const char *ca, const struct sn *sn, struct cert_rec *r)
{
    unsigned char k[MAX_CS_KEY];
    struct store_val v;
    int found = st_db_get(t, DB_CERTS, k, st_key_cs(k, ca, sn), &v);

    if (found <= 0)
        return found;
    return cert_from_val(t, ca, sn, &v, r) ? 1 : -1;
}

/* Which CA holds this serial: 1 (owner filled) / 0 none / -1 error. */
int st_serial_owner(struct store_txn *t, const struct sn *sn, char owner[MAX_CA_NAME + 1])
{
    struct store_val v;
    int found = st_db_get(t, DB_SERIALS, sn->b, sn->n, &v);

    if (found <= 0)
        return found;
    if (v.mv_size == 0 || v.mv_size > MAX_CA_NAME || memchr(v.mv_data, 0, v.mv_size)) {
        char hex[2 * MAX_STORE_SERIAL + 1];
        st_hex_of(sn->b, sn->n, hex, sizeof(hex));
        st_corrupt(t, "serials", hex, "CA name of a bad length");
        return -1;
    }
    memcpy(owner, v.mv_data, v.mv_size);
    owner[v.mv_size] = '\0';
    return 1;
}

/*
 * 1 when the serial is taken in this store (by any CA; ca may be NULL), 0 when free, -1 error.
 * Serials are unique store-wide, so the (ca, serial) pair is covered by the serial alone.
 */
int store_serial_taken(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n)
{
    char owner[MAX_CA_NAME + 1];
    struct sn sn;

    if (t == NULL) {
        st_seterr("store: serial check: no transaction; fix the caller");
        return -1;
    }
    if ((ca != NULL && !st_ca_name_ok(ca)) || !st_serial_canon(serial, n, &sn))
        return -1;
    return st_serial_owner(t, &sn, owner);
}

static int cert_add_check(struct store_txn *t, const struct cert_rec *r, struct sn *sn,
                          int need_der)
{
    char owner[MAX_CA_NAME + 1], hex[2 * MAX_STORE_SERIAL + 1];
    struct store_val v;
    int found;

    if (!st_need_write(t, "certificate add"))
        return 0;
    if (r == NULL || (need_der && (r->der == NULL || r->der_len == 0))) {
        st_seterr("store: certificate: no DER; fix the caller");
        return 0;
    }
    if (!st_ca_name_ok(r->ca) || !st_serial_canon(r->serial, r->serial_len, sn))
        return 0;
    st_hex_of(sn->b, sn->n, hex, sizeof(hex));
    if (r->status != CERT_VALID) {
        st_seterr("store: certificate %s: added as revoked; add it valid, then store_revoke", hex);
        return 0;
    }
    if ((found = st_db_get(t, DB_CAS, r->ca, strlen(r->ca), &v)) <= 0) {
        if (found == 0)
            st_seterr("store %s: certificate %s: CA '%s' is not in the store; create or import the "
                   "CA first", st_txn_path(t), hex, r->ca);
        return 0;
    }
    if ((found = st_serial_owner(t, sn, owner)) != 0) {
        if (found > 0)
            st_seterr("store %s: certificate %s: serial already used by CA '%s'; draw a new serial "
                   "and issue again", st_txn_path(t), hex, owner);
        return 0;
    }
    return 1;
}

static int cert_add(struct store_txn *t, const struct cert_rec *r, int need_der)
{
    unsigned char k[MAX_CS_KEY];
    struct enc e = { 0 };
    struct sn sn;
    size_t kn;
    int ok = 0;

    if (!cert_add_check(t, r, &sn, need_der))
        return 0;
    st_cert_encode(&e, r, &sn);
    if (e.bad) {
        st_seterr("store: certificate: record too large or out of memory; check the request");
        goto out;
    }
    st_put_be(k, (uint64_t)(int64_t)r->not_after ^ ((uint64_t)1 << 63), 8);
    kn = st_key_cs(k + 8, r->ca, &sn);
    if (!st_db_put_more(t, DB_SERIALS, sn.b, sn.n, r->ca, strlen(r->ca), ST_NOOVERWRITE) ||
        !st_db_put_more(t, DB_CERTS, k + 8, kn, e.p, e.len, ST_NOOVERWRITE) ||
        !st_db_put_more(t, DB_EXPIRY, k, kn + 8, "", 0, 0) || !st_key_index_put(t, r, &sn))
        goto out;
    ok = 1;
out:
    OPENSSL_free(e.p);
    return ok;
}

/*
 * Insert a certificate with its serial and expiry indexes. 0 with a message when the serial is
 * already taken (by any CA) or the CA is unknown: nothing was written, the txn stays usable (draw
 * a new serial and try again). The serial is stored canonical (see the top of this file).
 */
int store_cert_add(struct store_txn *t, const struct cert_rec *r)
{
    return cert_add(t, r, 1);
}

/* Like store_cert_add, but the DER may be missing (an adopted certificate whose old CA kept only
 * its serial, dates and subject). Such a record is not in by_key. */
int store_cert_adopt(struct store_txn *t, const struct cert_rec *r)
{
    return cert_add(t, r, 0);
}

/* 1 found (r filled: caller cert_rec_clear), 0 not found, -1 error. */
int store_cert_get(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n,
                   struct cert_rec *r)
{
    struct cert_rec tmp;
    struct sn sn;
    int found;

    if (t == NULL || r == NULL) {
        st_seterr("store: certificate get: no transaction or record; fix the caller");
        return -1;
    }
    if (!st_ca_name_ok(ca) || !st_serial_canon(serial, n, &sn))
        return -1;
    if ((found = st_cert_load(t, ca, &sn, &tmp)) == 1)
        *r = tmp;
    return found;
}

/* Find by serial alone (any CA): 1 found (caller cert_rec_clear), 0 not found, -1 error. */
int store_cert_find(struct store_txn *t, const unsigned char *serial, size_t n, struct cert_rec *r)
{
    char owner[MAX_CA_NAME + 1], hex[2 * MAX_STORE_SERIAL + 1];
    struct cert_rec tmp;
    struct sn sn;
    int found;

    if (t == NULL || r == NULL) {
        st_seterr("store: certificate find: no transaction or record; fix the caller");
        return -1;
    }
    if (!st_serial_canon(serial, n, &sn))
        return -1;
    if ((found = st_serial_owner(t, &sn, owner)) <= 0)
        return found;
    if ((found = st_cert_load(t, owner, &sn, &tmp)) == 0) {
        st_hex_of(sn.b, sn.n, hex, sizeof(hex));
        st_corrupt(t, "serials", hex, "points to a certificate that is not there");
        return -1;
    }
    if (found == 1)
        *r = tmp;
    return found;
}

struct cert_scan {
    int (*fn)(void *arg, const struct cert_rec *r);
    void *arg;
    uint64_t until;                    /* by_expiry: offset not_after bound */
};

static int cert_scan_call(struct store_txn *t, const struct store_val *k, size_t off, const struct store_val *v,
                          struct cert_scan *cs)
{
    char ca[MAX_CA_NAME + 1];
    struct cert_rec r;
    struct sn sn;
    int go;

    if (!st_key_cs_parse(k, off, ca, &sn)) {
        st_seterr("store %s: %s: store corrupt: malformed key; restore the store from backup",
               st_txn_path(t), off ? "by_expiry" : "certs");
        return -1;
    }
    if (v != NULL) {
        if (!cert_from_val(t, ca, &sn, v, &r))
            return -1;
    } else if ((go = st_cert_load(t, ca, &sn, &r)) <= 0) {
        if (go == 0)
            st_corrupt(t, "by_expiry", ca, "points to a certificate that is not there");
        return -1;
    }
    go = cs->fn(cs->arg, &r);
    cert_rec_clear(&r);
    return go ? 1 : 0;
}

static int cert_scan_one(struct store_txn *t, const struct store_val *k, const struct store_val *v, void *ctx)
{
    return cert_scan_call(t, k, 0, v, ctx);
}

/*
 * Call fn for each certificate of CA ca (or of all CAs when ca is NULL) in key order: by CA name,
 * then ascending serial. fn returns 1 to go on, 0 to stop; it must not write to the store.
 * 1 ok (also when stopped) / 0 error.
 */
int store_cert_foreach(struct store_txn *t, const char *ca,
                       int (*fn)(void *arg, const struct cert_rec *r), void *arg)
{
    struct cert_scan cs = { fn, arg, 0 };
    char prefix[MAX_CA_NAME + 1];
    size_t plen = 0;

    if (ca != NULL) {
        if (!st_ca_name_ok(ca))
            return 0;
        plen = strlen(ca) + 1;
        memcpy(prefix, ca, plen);      /* the name and its '\0' */
    }
    return st_db_scan(t, DB_CERTS, prefix, plen, cert_scan_one, &cs);
}

static int expiry_scan_one(struct store_txn *t, const struct store_val *k, const struct store_val *v, void *ctx)
{
    struct cert_scan *cs = ctx;

    if (k->mv_size < 8) {
        st_seterr("store %s: by_expiry: store corrupt: short key; restore the store from backup",
               st_txn_path(t));
        return -1;
    }
    if (st_get_be(k->mv_data, 8) > cs->until)
        return 0;
    return cert_scan_call(t, k, 8, NULL, cs);
}

/* Call fn for each certificate (all CAs) whose not_after <= until, oldest first; as foreach. */
int store_cert_foreach_expiring(struct store_txn *t, time_t until,
                                int (*fn)(void *arg, const struct cert_rec *r), void *arg)
{
    struct cert_scan cs = { fn, arg, (uint64_t)(int64_t)until ^ ((uint64_t)1 << 63) };

    return st_db_scan(t, DB_EXPIRY, NULL, 0, expiry_scan_one, &cs);
}


/* Number of certificates in the store (all CAs); 0 also on error (store_error() says). */
uint64_t store_cert_count(struct store_txn *t) { return st_db_entries(t, DB_CERTS); }
