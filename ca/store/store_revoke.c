/*
 * store_revoke.c — revocation records (the CRL's source, ordered by serial within a CA), hold and
 * removeFromCRL, and each CA's CRL publication state. The ordered walk is store.c's iterator.
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRL state ------------------------------------------------------------------------------- */

static void crl_state_encode(struct enc *e, const struct crl_state *st)
{
    st_enc_head(e, 'S');
    st_enc_u64(e, st->last_number);
    st_enc_u64(e, st->last_base_number);
    st_enc_time(e, st->this_update);
    st_enc_time(e, st->next_update);
    st_enc_time(e, st->next_publish);
    st_enc_time(e, st->delta_this_update);
    st_enc_time(e, st->delta_next_publish);
    st_enc_u8(e, st->dirty != 0);
    st_enc_raw(e, st->base_sha256, sizeof(st->base_sha256));
    st_enc_u8(e, st->final != 0);
}

static const char *crl_state_decode(const struct store_val *v, struct crl_state *st)
{
    struct dec d;
    const unsigned char *h;

    memset(st, 0, sizeof(*st));
    st_dec_head(&d, v, 'S');
    st->last_number = st_dec_int(&d, 8);
    st->last_base_number = st_dec_int(&d, 8);
    st->this_update = st_dec_time(&d);
    st->next_update = st_dec_time(&d);
    st->next_publish = st_dec_time(&d);
    st->delta_this_update = st_dec_time(&d);
    st->delta_next_publish = st_dec_time(&d);
    st->dirty = st_dec_small(&d, 1);
    if ((h = st_dec_raw(&d, sizeof(st->base_sha256))) != NULL)
        memcpy(st->base_sha256, h, sizeof(st->base_sha256));
    if (!d.err && d.off < d.len)      /* schema 1 records end here */
        st->final = st_dec_small(&d, 1);
    if (st_dec_end(&d))
        memset(st, 0, sizeof(*st));
    return d.err;
}

/* 1 found (st filled), 0 none yet (st zeroed: never published), -1 error. Key generation k. */
int store_crl_state_get_k(struct store_txn *t, const char *ca, unsigned k, struct crl_state *st)
{
    unsigned char key[MAX_CA_NAME + 3];
    struct crl_state tmp;
    const char *why;
    struct store_val v;
    int found;

    if (t == NULL || st == NULL) {
        st_seterr("store: CRL state: no transaction or record; fix the caller");
        return -1;
    }
    if (!st_ca_name_ok(ca) ||
        (found = st_db_get(t, DB_CRLSTATE, key, st_key_crl(key, ca, k), &v)) < 0)
        return -1;
    if (found == 0) {
        memset(st, 0, sizeof(*st));
        return 0;
    }
    if ((why = crl_state_decode(&v, &tmp)) != NULL) {
        st_corrupt(t, "crl_state", ca, why);
        return -1;
    }
    *st = tmp;
    return 1;
}

/* Key generation 0 (the CA's first key). */
int store_crl_state_get(struct store_txn *t, const char *ca, struct crl_state *st)
{
    return store_crl_state_get_k(t, ca, 0, st);
}

/* Write the CRL state of key generation k of ca (whole record). 1 ok / 0. */
int store_crl_state_put_k(struct store_txn *t, const char *ca, unsigned k,
                          const struct crl_state *st)
{
    unsigned char key[MAX_CA_NAME + 3];
    struct enc e = { 0 };
    int ok = 0;

    if (!st_need_write(t, "CRL state") || !st_ca_name_ok(ca))
        return 0;
    if (st == NULL) {
        st_seterr("store: CRL state of '%s': no record; fix the caller", ca);
        return 0;
    }
    crl_state_encode(&e, st);
    if (e.bad)
        st_code_err(st_txn_path(t), "crl_state", ENOMEM);
    else
        ok = st_db_put(t, DB_CRLSTATE, key, st_key_crl(key, ca, k), e.p, e.len, 0) == 1;
    OPENSSL_free(e.p);
    return ok;
}

/* Key generation 0. */
int store_crl_state_put(struct store_txn *t, const char *ca, const struct crl_state *st)
{
    return store_crl_state_put_k(t, ca, 0, st);
}

/* ---- revocation ------------------------------------------------------------------------------ */

static void rev_encode(struct enc *e, const struct store_rev_entry *re)
{
    st_enc_head(e, 'R');
    st_enc_time(e, re->revoked_at);
    st_enc_time(e, re->invalidity);
    st_enc_u32(e, (uint32_t)(int32_t)re->reason);
    st_enc_u64(e, re->changed_in);
    st_enc_int(e, re->key_index, 2);
}

const char *st_rev_decode(const struct store_val *v, struct store_rev_entry *re)
{
    struct dec d;

    st_dec_head(&d, v, 'R');
    re->revoked_at = st_dec_time(&d);
    re->invalidity = st_dec_time(&d);
    re->reason = (int)(int32_t)(uint32_t)st_dec_int(&d, 4);
    re->changed_in = st_dec_int(&d, 8);
    re->key_index = 0;                /* schema 1 records end here: key 0 */
    if (!d.err && d.off < d.len)
        re->key_index = (unsigned)st_dec_int(&d, 2);
    return st_dec_end(&d);
}

static int reason_ok(int reason)
{
    if (reason == REASON_REMOVE) {
        st_seterr("store: revoke: reason removeFromCRL (8) is not a revocation reason; use "
               "'unrevoke' to take a certificate off hold");
        return st_refuse();
    }
    if (reason < -1 || reason > 10 || reason == 7) {
        st_seterr("store: revoke: reason code %d is not an RFC 5280 5.3.1 CRLReason; use one of "
               "0-6, 9, 10 (or -1 for none)", reason);
        return st_refuse();
    }
    return 1;
}

/* Load (ca, serial) for a revocation change; the messages say why it cannot be found. */
static int rev_target(struct store_txn *t, const char *ca, const struct sn *sn, struct cert_rec *r)
{
    char owner[MAX_CA_NAME + 1], hex[2 * MAX_STORE_SERIAL + 1];
    int found;

    st_hex_of(sn->b, sn->n, hex, sizeof(hex));
    if ((found = st_cert_load(t, ca, sn, r)) != 0)
        return found > 0;
    if ((found = st_serial_owner(t, sn, owner)) < 0)
        return 0;
    if (found)
        st_seterr("store %s: certificate %s: issued by CA '%s', not '%s'; name the issuing CA",
               st_txn_path(t), hex, owner, ca);
    else
        st_seterr("store %s: certificate %s: unknown serial for CA '%s'; check the serial "
               "(offca list --ca %s)", st_txn_path(t), hex, ca, ca);
    return st_refuse();
}

/* Write the changed cert record, the revoked entry (a revocation or a removeFromCRL tombstone)
 * and the dirty CRL state. */
static int rev_write(struct store_txn *t, const struct cert_rec *r, const struct sn *sn,
                     const struct store_rev_entry *re)
{
    unsigned char k[MAX_CS_KEY], sk[MAX_CA_NAME + 3];
    struct enc ce = { 0 }, rv = { 0 }, se = { 0 };
    struct store_rev_entry e2;
    struct crl_state st;
    size_t kn = st_key_cs(k, r->ca, sn), skn = st_key_crl(sk, r->ca, r->key_index);
    int ok = 0;

    if (store_crl_state_get_k(t, r->ca, r->key_index, &st) < 0)
        return 0;
    st.dirty = 1;
    st_cert_encode(&ce, r, sn);
    crl_state_encode(&se, &st);
    e2 = *re;
    e2.changed_in = st.last_number;
    e2.key_index = r->key_index;
    rev_encode(&rv, &e2);
    if (ce.bad || rv.bad || se.bad) {
        st_code_err(st_txn_path(t), "revoked", ENOMEM);
        goto out;
    }
    if (!st_db_put_more(t, DB_CERTS, k, kn, ce.p, ce.len, 0) ||
        !st_db_put_more(t, DB_REVOKED, k, kn, rv.p, rv.len, 0) ||
        !st_db_put_more(t, DB_CRLSTATE, sk, skn, se.p, se.len, 0))
        goto out;
    ok = 1;
out:
    OPENSSL_free(ce.p);
    OPENSSL_free(rv.p);
    OPENSSL_free(se.p);
    return ok;
}

/*
 * Revoke (ca, serial): the certificate record, the revoked index and the CA's CRL dirty flag, in
 * this write txn. 0 with a message (nothing written) when the serial is unknown, belongs to
 * another CA, or is already revoked; a certificateHold entry may be revoked again with another
 * reason (RFC 5280 5.3.1). reason is an RFC 5280 CRLReason or -1 (no reasonCode); invalidity 0 =
 * none. The entry's changed_in is the CA's last CRL number now (delta CRLs list it after that).
 */
int store_revoke(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n,
                 int reason, time_t when, time_t invalidity)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    struct store_rev_entry re;
    struct cert_rec r;
    struct sn sn;
    int ok;

    if (!st_need_write(t, "revoke") || !st_ca_name_ok(ca) || !st_serial_canon(serial, n, &sn) ||
        !reason_ok(reason) || !rev_target(t, ca, &sn, &r))
        return 0;
    if (r.status == CERT_REVOKED && (r.reason != REASON_HOLD || reason == REASON_HOLD)) {
        st_hex_of(sn.b, sn.n, hex, sizeof(hex));
        st_seterr("store %s: certificate %s of CA '%s': already revoked (reason %d)%s; nothing to "
               "do", st_txn_path(t), hex, ca, r.reason, r.reason == REASON_HOLD ?
               ", on certificateHold: give another reason to revoke it for good" : "");
        cert_rec_clear(&r);
        return st_refuse();
    }
    memset(&re, 0, sizeof(re));
    r.status = CERT_REVOKED;
    r.revoked_at = re.revoked_at = when;
    r.invalidity = re.invalidity = invalidity;
    r.reason = re.reason = reason;
    ok = rev_write(t, &r, &sn, &re);
    cert_rec_clear(&r);
    return ok;
}

/*
 * Take a certificateHold entry off the CRL (removeFromCRL, RFC 5280 5.3.1): the certificate is
 * valid again; its revoked entry becomes a tombstone (reason removeFromCRL, the original
 * revocation date, changed_in = the CA's last CRL number) that base CRLs skip and the next delta
 * CRL lists. The CA's CRL is marked dirty. 0 with a message (class 1) unless it is on hold.
 */
int store_unrevoke(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    struct store_rev_entry re;
    struct cert_rec r;
    struct sn sn;
    int ok;

    if (!st_need_write(t, "unrevoke") || !st_ca_name_ok(ca) || !st_serial_canon(serial, n, &sn) ||
        !rev_target(t, ca, &sn, &r))
        return 0;
    if (r.status != CERT_REVOKED || r.reason != REASON_HOLD) {
        st_hex_of(sn.b, sn.n, hex, sizeof(hex));
        st_seterr("store %s: certificate %s of CA '%s': not on certificateHold (%s, reason %d); only "
               "a held certificate can be taken off the CRL", st_txn_path(t), hex, ca,
               r.status == CERT_REVOKED ? "revoked" : "valid", r.reason);
        cert_rec_clear(&r);
        return st_refuse();
    }
    memset(&re, 0, sizeof(re));
    re.revoked_at = r.revoked_at;
    re.reason = REASON_REMOVE;
    r.status = CERT_VALID;
    r.revoked_at = 0;
    r.invalidity = 0;
    r.reason = -1;
    ok = rev_write(t, &r, &sn, &re);
    cert_rec_clear(&r);
    return ok;
}


static int count_one(struct store_txn *t, const struct store_val *k, const struct store_val *v, void *ctx)
{
    struct store_rev_entry e;

    (void)k;
    if (st_rev_decode(v, &e) != NULL)
        return st_corrupt(t, "revoked", "entry", "malformed record") - 1;
    *(uint64_t *)ctx += e.reason != REASON_REMOVE;
    return 1;
}

/* Number of certificates of ca that are revoked (removeFromCRL tombstones not counted; a cursor
 * walk); 0 also on error (store_error() says). */
uint64_t store_rev_count(struct store_txn *t, const char *ca)
{
    uint64_t n = 0;

    if (!st_ca_name_ok(ca) || !st_db_scan(t, DB_REVOKED, ca, strlen(ca) + 1, count_one, &n))
        return 0;
    return n;
}
