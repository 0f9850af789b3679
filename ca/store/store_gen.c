/*
 * store_gen.c — CA generations (schema 3): one record per CA certificate a CA ever had, keyed
 * ca '\0' cert index (2 bytes BE) so a CA's generations scan in index order; generation 0 made
 * from the CA record the first time it has a certificate; the in-place upgrade of a schema 1
 * store (generation 0 of every CA, one transaction with the schema bump and an audit record).
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#define MAX_GEN_KEY (MAX_CA_NAME + 3)

/* Free the owned members of g and zero it. NULL is a no-op. */
void ca_gen_clear(struct ca_gen *g)
{
    if (g == NULL)
        return;
    OPENSSL_free(g->cert_der);
    OPENSSL_free(g->key_uri);
    OPENSSL_free(g->link_old_new);
    OPENSSL_free(g->link_new_old);
    memset(g, 0, sizeof(*g));
}

static size_t gen_key(unsigned char *k, const char *ca, unsigned cert_index)
{
    size_t n = strlen(ca);

    memcpy(k, ca, n);
    k[n++] = 0;
    st_put_be(k + n, cert_index, 2);
    return n + 2;
}

/* The crl_state key of (ca, key index): the name alone for key 0 (as schema 1 wrote it), else
 * name '\0' key index (2 BE). */
size_t st_key_crl(unsigned char *k, const char *ca, unsigned key_index)
{
    return key_index == 0 ? (memcpy(k, ca, strlen(ca)), strlen(ca)) : gen_key(k, ca, key_index);
}

static void gen_encode(struct enc *e, const struct ca_gen *g)
{
    st_enc_head(e, 'G');
    st_enc_str(e, g->ca);
    st_enc_int(e, g->cert_index, 2);
    st_enc_int(e, g->key_index, 2);
    st_enc_bytes(e, g->cert_der, g->cert_len);
    st_enc_str(e, g->key_uri);
    st_enc_time(e, g->not_before);
    st_enc_time(e, g->not_after);
    st_enc_time(e, g->created);
    st_enc_u8(e, (unsigned)g->state);
    st_enc_bytes(e, g->link_old_new, g->link_old_new ? g->link_old_new_len : 0);
    st_enc_bytes(e, g->link_new_old, g->link_new_old ? g->link_new_old_len : 0);
}

static const char *gen_decode(const struct store_val *v, struct ca_gen *g)
{
    struct dec d;

    memset(g, 0, sizeof(*g));
    st_dec_head(&d, v, 'G');
    st_dec_strbuf(&d, g->ca, sizeof(g->ca));
    g->cert_index = (unsigned)st_dec_int(&d, 2);
    g->key_index = (unsigned)st_dec_int(&d, 2);
    g->cert_der = st_dec_bytes(&d, &g->cert_len);
    g->key_uri = st_dec_str(&d);
    g->not_before = st_dec_time(&d);
    g->not_after = st_dec_time(&d);
    g->created = st_dec_time(&d);
    g->state = (enum gen_state)st_dec_small(&d, GEN_SUPERSEDED);
    g->link_old_new = st_dec_bytes(&d, &g->link_old_new_len);
    g->link_new_old = st_dec_bytes(&d, &g->link_new_old_len);
    if (!d.err && (g->cert_der == NULL || g->key_uri == NULL || g->key_index > g->cert_index))
        d.err = "no certificate, no key URI, or a key index above the certificate index";
    if (st_dec_end(&d))
        ca_gen_clear(g);
    return d.err;
}

static int gen_from_val(struct store_txn *t, const char *ca, unsigned idx,
                        const struct store_val *v, struct ca_gen *g)
{
    char what[MAX_CA_NAME + 16];
    const char *why = gen_decode(v, g);

    if (why == NULL && (strcmp(g->ca, ca) != 0 || g->cert_index != idx)) {
        ca_gen_clear(g);
        why = "CA or index in the record differs from its key";
    }
    snprintf(what, sizeof(what), "%s(%u)", ca, idx);
    return why ? st_corrupt(t, "generations", what, why) : 1;
}

static int gen_check(struct store_txn *t, const struct ca_gen *g, const char *what)
{
    struct store_val v;
    int found;

    if (!st_need_write(t, what))
        return 0;
    if (g == NULL || g->cert_der == NULL || g->key_uri == NULL || !st_ca_name_ok(g->ca) ||
        g->cert_index > MAX_CA_INDEX || g->key_index > g->cert_index ||
        (unsigned)g->state > GEN_SUPERSEDED) {
        st_seterr("store: CA generation: missing certificate or key, or bad indexes; fix the "
                  "caller");
        return 0;
    }
    if ((found = st_db_get(t, DB_CAS, g->ca, strlen(g->ca), &v)) <= 0) {
        if (found == 0)
            st_seterr("store %s: CA '%s' is not in the store; create it first", st_txn_path(t),
                      g->ca);
        return 0;
    }
    return 1;
}

static int gen_write(struct store_txn *t, const struct ca_gen *g, int replace)
{
    unsigned char k[MAX_GEN_KEY];
    struct enc e = { 0 };
    struct store_val v;
    size_t kn;
    int found, ok = 0;

    if (!gen_check(t, g, replace ? "generation put" : "generation add"))
        return 0;
    kn = gen_key(k, g->ca, g->cert_index);
    if ((found = st_db_get(t, DB_GENS, k, kn, &v)) < 0)
        return 0;
    if (found != replace) {
        st_seterr("store %s: CA '%s' certificate index %u: %s; see 'offca ca show %s'",
                  st_txn_path(t), g->ca, g->cert_index, found ? "already exists" :
                  "does not exist", g->ca);
        return st_refuse();
    }
    gen_encode(&e, g);
    if (e.bad)
        st_code_err(st_txn_path(t), "generations", ENOMEM);
    else
        ok = st_db_put(t, DB_GENS, k, kn, e.p, e.len, 0) == 1;
    OPENSSL_free(e.p);
    return ok;
}

/* Insert a new generation (copied). 0 with a message when the index is taken. */
int store_gen_add(struct store_txn *t, const struct ca_gen *g) { return gen_write(t, g, 0); }

/* Overwrite an existing generation (copied). 0 with a message when it does not exist. */
int store_gen_put(struct store_txn *t, const struct ca_gen *g) { return gen_write(t, g, 1); }

/* 1 found (g filled: caller ca_gen_clear), 0 not found, -1 error. */
int store_gen_get(struct store_txn *t, const char *ca, unsigned cert_index, struct ca_gen *g)
{
    unsigned char k[MAX_GEN_KEY];
    struct store_val v;
    int found;

    if (t == NULL || g == NULL || !st_ca_name_ok(ca) || cert_index > MAX_CA_INDEX) {
        if (t == NULL || g == NULL)
            st_seterr("store: generation get: no transaction or record; fix the caller");
        else if (cert_index > MAX_CA_INDEX)
            st_seterr("store: generation get: index %u out of range; fix the caller", cert_index);
        return -1;
    }
    if ((found = st_db_get(t, DB_GENS, k, gen_key(k, ca, cert_index), &v)) <= 0)
        return found;
    return gen_from_val(t, ca, cert_index, &v, g) ? 1 : -1;
}

struct gen_scan {
    const char *ca;
    int (*fn)(void *arg, const struct ca_gen *g);
    void *arg;
    struct ca_gen *last;               /* store_gen_newest: keep a copy of the last one */
};

static int gen_scan_one(struct store_txn *t, const struct store_val *k, const struct store_val *v,
                        void *ctx)
{
    struct gen_scan *gs = ctx;
    size_t n = strlen(gs->ca);
    struct ca_gen g;
    int go = 1;

    if (k->mv_size != n + 3)
        return st_corrupt(t, "generations", gs->ca, "key of the wrong length") - 1;
    if (!gen_from_val(t, gs->ca, (unsigned)st_get_be((const unsigned char *)k->mv_data + n + 1, 2),
                      v, &g))
        return -1;
    if (gs->fn)
        go = gs->fn(gs->arg, &g);
    if (gs->last) {
        ca_gen_clear(gs->last);
        *gs->last = g;
    } else {
        ca_gen_clear(&g);
    }
    return go ? 1 : 0;
}

/* Generations of ca in certificate index order. 1 ok (also when stopped) / 0 error. */
int store_gen_foreach(struct store_txn *t, const char *ca,
                      int (*fn)(void *arg, const struct ca_gen *g), void *arg)
{
    struct gen_scan gs = { ca, fn, arg, NULL };

    if (!st_ca_name_ok(ca))
        return 0;
    return st_db_scan(t, DB_GENS, ca, strlen(ca) + 1, gen_scan_one, &gs);
}

/* The newest generation of ca: 1 (g filled: caller ca_gen_clear), 0 none, -1 error. */
int store_gen_newest(struct store_txn *t, const char *ca, struct ca_gen *g)
{
    struct ca_gen last;
    struct gen_scan gs = { ca, NULL, NULL, &last };

    memset(&last, 0, sizeof(last));
    if (g == NULL || !st_ca_name_ok(ca) || !st_db_scan(t, DB_GENS, ca, strlen(ca) + 1,
                                                       gen_scan_one, &gs)) {
        ca_gen_clear(&last);
        return -1;
    }
    *g = last;
    return last.cert_der != NULL;
}

static int asn1_time(const ASN1_TIME *a, time_t *out)
{
    struct tm tm;

    if (!ASN1_TIME_to_tm(a, &tm))
        return 0;
    *out = timegm(&tm);
    return 1;
}

/* Generation 0 of the CA record r: its certificate and key, validity from the certificate. */
static int gen0_write(struct store_txn *t, const struct ca_rec *r)
{
    const unsigned char *p = r->cert_der;
    X509 *x = d2i_X509(NULL, &p, (long)r->cert_len);
    struct ca_gen g;
    int ok;

    if (x == NULL) {
        st_corrupt(t, "cas", r->name, "the CA certificate does not parse");
        return 0;
    }
    memset(&g, 0, sizeof(g));
    snprintf(g.ca, sizeof(g.ca), "%s", r->name);
    g.cert_der = r->cert_der;
    g.cert_len = r->cert_len;
    g.key_uri = r->key_uri;
    g.created = r->created;
    g.state = GEN_ACTIVE;
    ok = asn1_time(X509_get0_notBefore(x), &g.not_before) &&
         asn1_time(X509_get0_notAfter(x), &g.not_after);
    X509_free(x);
    if (!ok) {
        st_corrupt(t, "cas", r->name, "the CA certificate's validity does not parse");
        return 0;
    }
    return store_gen_add(t, &g);
}

/* Generation 0 from r when r has a certificate and the CA has no generation yet. 1 ok / 0. */
int store_gen_first(struct store_txn *t, const struct ca_rec *r)
{
    unsigned char k[MAX_GEN_KEY];
    struct store_val v;
    int found;

    if (!st_need_write(t, "first generation"))
        return 0;
    if (r->cert_der == NULL || r->cert_len == 0 || r->key_uri == NULL)
        return 1;
    if ((found = st_db_get(t, DB_GENS, k, gen_key(k, r->name, 0), &v)) > 0)
        return 1;
    if (found < 0 || !gen0_write(t, r)) {
        st_txn_break(t);
        return 0;
    }
    return 1;
}

struct upgrade_scan {
    struct store_txn *t;
    int ok;
};

static int upgrade_one(void *arg, const struct ca_rec *r)
{
    struct upgrade_scan *u = arg;

    return u->ok = store_gen_first(u->t, r);
}

/* Schema 1 or 2 -> 3: generation 0 of every CA that has a certificate (pending ones get theirs
 * at import). Certificate, revocation and CRL state records of schemas 1 and 2 read as key
 * generation 0, which is what they are, so they are not rewritten. 1 ok / 0. */
int st_upgrade(struct store_txn *t, uint32_t from)
{
    struct upgrade_scan u = { t, 1 };
    char detail[64];

    if (from != 1 && from != 2) {
        st_seterr("store %s: no upgrade from schema %u; restore the store from backup",
                  st_txn_path(t), from);
        return 0;
    }
    if (!store_ca_foreach(t, upgrade_one, &u) || !u.ok || !st_need_write(t, "upgrade"))
        return 0;
    snprintf(detail, sizeof(detail), "schema %u -> %u", from, STORE_SCHEMA_VERSION);
    return store_audit_append(t, "store.upgrade", "schema", "ok", detail);
}
