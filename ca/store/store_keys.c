/*
 * store_keys.c — certificates by key and the blocklist of compromised keys (schema 2):
 *   by_key        SHA-256(SPKI) ca '\0' len serial -> ""  (every certificate carrying a key)
 *   blocked_keys  SHA-256(SPKI) -> blocked record (the certificate revoked for keyCompromise)
 * The hash is over the certificate's SubjectPublicKeyInfo DER, as the key gate computes it over
 * the key it re-encoded: the two agree because offca certifies only re-encoded keys. The index
 * of a store written by schema 1 is built once, in place, by st_keys_rebuild (store.c's upgrade).
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"
#include "templates/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_KEY (STORE_KEY_HASH + MAX_CA_NAME + 2 + MAX_STORE_SERIAL)

/* SHA-256 of the SubjectPublicKeyInfo of a DER certificate. 1 ok / 0 not a certificate. */
int store_cert_key_hash(const unsigned char *der, size_t len, unsigned char out[STORE_KEY_HASH])
{
    const unsigned char *spki;
    size_t n;

    return der != NULL && der_cert_spki(der, len, &spki, &n) && st_sha256(spki, n, out);
}

/* Add r to by_key (called by store_cert_add with the serial canonical). Records whose DER is not
 * a certificate (tests of the record codec) are not indexed. 1 ok / 0 (txn broken). */
int st_key_index_put(struct store_txn *t, const struct cert_rec *r, const struct sn *sn)
{
    unsigned char k[MAX_KEY_KEY];
    size_t kn;

    if (!store_cert_key_hash(r->der, r->der_len, k))
        return 1;
    kn = st_key_cs(k + STORE_KEY_HASH, r->ca, sn);
    return st_db_put_more(t, DB_BY_KEY, k, STORE_KEY_HASH + kn, "", 0, 0) == 1;
}

struct key_scan {
    int (*fn)(void *arg, const char *ca, const unsigned char *serial, size_t n);
    void *arg;
};

static int key_scan_one(struct store_txn *t, const struct store_val *k, const struct store_val *v,
                        void *ctx)
{
    struct key_scan *s = ctx;
    char ca[MAX_CA_NAME + 1];
    struct sn sn;

    if (!st_key_cs_parse(k, STORE_KEY_HASH, ca, &sn))
        return st_corrupt(t, "by_key", "key", "malformed CA/serial"), -1;
    return s->fn(s->arg, ca, sn.b, sn.n) ? 1 : 0;
}

/* Every certificate (ca, serial) carrying the key with this SPKI hash, in key order. fn returns
 * 1 to go on, 0 to stop. 1 ok / 0 error. */
int store_key_foreach(struct store_txn *t, const unsigned char hash[STORE_KEY_HASH],
                      int (*fn)(void *arg, const char *ca, const unsigned char *serial, size_t n),
                      void *arg)
{
    struct key_scan s = { fn, arg };

    return st_db_scan(t, DB_BY_KEY, hash, STORE_KEY_HASH, key_scan_one, &s);
}

/* Record the key as blocked (compromised), naming the certificate revoked for it. An existing
 * entry is kept (the first revocation names the key). 1 ok / 0 error. */
int store_key_block(struct store_txn *t, const unsigned char hash[STORE_KEY_HASH],
                    const char *ca, const unsigned char *serial, size_t n, time_t when)
{
    struct enc e = { 0 };
    int r;

    if (!st_need_write(t, "block key"))
        return 0;
    st_enc_head(&e, 'B');
    st_enc_str(&e, ca);
    st_enc_bytes(&e, serial, n);
    st_enc_time(&e, when);
    if (e.bad) {
        OPENSSL_free(e.p);
        st_seterr("store: blocked key: out of memory; free memory and retry");
        return 0;
    }
    r = st_db_put(t, DB_BLOCKED, hash, STORE_KEY_HASH, e.p, e.len, ST_NOOVERWRITE);
    OPENSSL_free(e.p);
    return r >= 0;
}

/* Is the key blocked? 1 yes (why = "revoked for keyCompromise with CA c serial s"), 0 no, -1. */
int store_key_blocked(struct store_txn *t, const unsigned char hash[STORE_KEY_HASH], char *why,
                      size_t whylen)
{
    struct store_val v;
    struct dec d;
    char ca[MAX_CA_NAME + 1], hex[2 * MAX_STORE_SERIAL + 1];
    const unsigned char *serial;
    size_t n = 0;
    int r = st_db_get(t, DB_BLOCKED, hash, STORE_KEY_HASH, &v);

    if (r <= 0)
        return r;
    st_dec_head(&d, &v, 'B');
    st_dec_strbuf(&d, ca, sizeof(ca));
    serial = st_dec_field(&d, &n);
    (void)st_dec_time(&d);
    if (st_dec_end(&d) || serial == NULL || n > MAX_STORE_SERIAL)
        return st_corrupt(t, "blocked_keys", "record", d.err ? d.err : "bad serial"), -1;
    st_hex_of(serial, n, hex, sizeof(hex));
    snprintf(why, whylen, "the key of CA %s certificate %s, revoked for keyCompromise", ca, hex);
    return 1;
}

static int rebuild_one(struct store_txn *t, const struct store_val *k, const struct store_val *v,
                       void *ctx)
{
    struct cert_rec r;
    char ca[MAX_CA_NAME + 1];
    struct sn sn;
    int ok;

    if (!st_key_cs_parse(k, 0, ca, &sn))
        return st_corrupt(t, "certs", "key", "malformed CA/serial"), -1;
    if (st_cert_load(t, ca, &sn, &r) != 1)
        return -1;
    ok = st_key_index_put(t, &r, &sn);
    cert_rec_clear(&r);
    return ok ? 1 : -1;
}

/* Schema 1 -> 2: index every stored certificate by key (in the upgrade's write txn). 1 / 0. */
int st_keys_rebuild(struct store_txn *t)
{
    return st_db_scan(t, DB_CERTS, NULL, 0, rebuild_one, NULL);
}
