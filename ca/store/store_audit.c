/*
 * store_audit.c — the hash-chained audit log: each record carries the SHA-256 of the one before,
 * appended in the same transaction as the change it records; verify walks the whole chain.
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>

/* ---- audit ----------------------------------------------------------------------------------- */
/* Key: sequence (8 BE, from 1). prev_hash = SHA-256 of the previous record's stored bytes (zeros
 * for the first). meta "audit_head" = last sequence (8 BE) + SHA-256 of the last record, so a
 * removed or altered last record is found too. */

static void audit_encode(struct enc *e, const struct audit_rec *a)
{
    st_enc_head(e, 'A');
    st_enc_u64(e, a->seq);
    st_enc_time(e, a->when);
    st_enc_str(e, a->user);
    st_enc_str(e, a->action);
    st_enc_str(e, a->object);
    st_enc_str(e, a->result);
    st_enc_str(e, a->detail);
    st_enc_raw(e, a->prev_hash, sizeof(a->prev_hash));
}

static const char *audit_decode(const struct store_val *v, struct audit_rec *a)
{
    struct dec d;
    const unsigned char *h;

    memset(a, 0, sizeof(*a));
    st_dec_head(&d, v, 'A');
    a->seq = st_dec_int(&d, 8);
    a->when = st_dec_time(&d);
    st_dec_strbuf(&d, a->user, sizeof(a->user));
    st_dec_strbuf(&d, a->action, sizeof(a->action));
    st_dec_strbuf(&d, a->object, sizeof(a->object));
    st_dec_strbuf(&d, a->result, sizeof(a->result));
    st_dec_strbuf(&d, a->detail, sizeof(a->detail));
    if ((h = st_dec_raw(&d, sizeof(a->prev_hash))) != NULL)
        memcpy(a->prev_hash, h, sizeof(a->prev_hash));
    return st_dec_end(&d);
}

static time_t (*audit_now)(void);

void store_audit_clock_set(time_t (*now)(void))
{
    audit_now = now;
}

static void audit_user(char *buf, size_t n)
{
    char pwbuf[4096];
    struct passwd pw, *res = NULL;
    uid_t uid = geteuid();

    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res && res->pw_name)
        snprintf(buf, n, "%s", res->pw_name);
    else
        snprintf(buf, n, "uid %lu", (unsigned long)uid);
}



/*
 * Append an audit record in this write txn: sequence, time, user (effective uid's name) and the
 * previous record's hash are filled in here; longer texts are cut to the record's fields.
 */
int store_audit_append(struct store_txn *t, const char *action, const char *object,
                       const char *result, const char *detail)
{
    unsigned char k[8], head[40];
    struct audit_rec a;
    struct enc e = { 0 };
    int ok = 0;

    if (!st_need_write(t, "audit"))
        return 0;
    if (action == NULL || action[0] == '\0') {
        st_seterr("store: audit: no action; fix the caller");
        return 0;
    }
    memset(&a, 0, sizeof(a));
    if (!st_audit_last(t, &a.seq, a.prev_hash))
        return 0;
    a.seq++;
    a.when = audit_now ? audit_now() : time(NULL);
    audit_user(a.user, sizeof(a.user));
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.object, sizeof(a.object), "%s", object ? object : "");
    snprintf(a.result, sizeof(a.result), "%s", result ? result : "");
    snprintf(a.detail, sizeof(a.detail), "%s", detail ? detail : "");
    audit_encode(&e, &a);
    st_put_be(k, a.seq, 8);
    st_put_be(head, a.seq, 8);
    if (e.bad) {
        st_code_err(st_txn_path(t), "audit", ENOMEM);
        goto out;
    }
    if (!st_sha256(e.p, e.len, head + 8) ||
        !st_db_put_more(t, DB_AUDIT, k, 8, e.p, e.len, ST_NOOVERWRITE) ||
        !st_db_put_more(t, DB_META, "audit_head", 10, head, sizeof(head), 0))
        goto out;
    ok = 1;
out:
    OPENSSL_free(e.p);
    return ok;
}

struct audit_scan {
    int (*fn)(void *arg, const struct audit_rec *r);
    void *arg;
    uint64_t expect;                   /* verify: the next sequence */
    unsigned char prev[32];            /* verify: hash of the previous record */
};

static int audit_scan_one(struct store_txn *t, const struct store_val *k, const struct store_val *v, void *ctx)
{
    struct audit_scan *as = ctx;
    struct audit_rec a;
    const char *why;
    char what[32];

    snprintf(what, sizeof(what), "%llu",
             k->mv_size == 8 ? (unsigned long long)st_get_be(k->mv_data, 8) : 0ULL);
    if (k->mv_size != 8)
        return st_corrupt(t, "audit", what, "key is not 8 bytes") - 1;
    if ((why = audit_decode(v, &a)) != NULL)
        return st_corrupt(t, "audit", what, why) - 1;
    return as->fn(as->arg, &a) ? 1 : 0;
}

/* Call fn for each audit record, oldest first; fn returns 1 to go on, 0 to stop. 1 ok / 0. */
int store_audit_foreach(struct store_txn *t, int (*fn)(void *arg, const struct audit_rec *r),
                        void *arg)
{
    struct audit_scan as = { fn, arg, 0, { 0 } };

    return st_db_scan(t, DB_AUDIT, NULL, 0, audit_scan_one, &as);
}

#define AUDIT_FIX "restore the store from backup"

static int verify_one(struct store_txn *t, const struct store_val *k, const struct store_val *v, void *ctx)
{
    struct audit_scan *as = ctx;
    struct audit_rec a;
    const char *why;
    uint64_t seq = k->mv_size == 8 ? st_get_be(k->mv_data, 8) : 0;

    if (k->mv_size != 8 || seq == 0)
        return st_corrupt(t, "audit", "key", "not a sequence number from 1") - 1;
    if (seq != as->expect) {
        if (seq == as->expect + 1)
            st_seterr("audit record %llu: sequence gap: record %llu was removed; " AUDIT_FIX,
                   (unsigned long long)seq, (unsigned long long)as->expect);
        else
            st_seterr("audit record %llu: sequence gap: records %llu to %llu were removed; "
                   AUDIT_FIX, (unsigned long long)seq, (unsigned long long)as->expect,
                   (unsigned long long)seq - 1);
        return -1;
    }
    if ((why = audit_decode(v, &a)) != NULL) {
        st_seterr("audit record %llu: store corrupt: %s; " AUDIT_FIX, (unsigned long long)seq, why);
        return -1;
    }
    if (a.seq != seq) {
        st_seterr("audit record %llu: holds record %llu: records were reordered; " AUDIT_FIX,
               (unsigned long long)seq, (unsigned long long)a.seq);
        return -1;
    }
    if (CRYPTO_memcmp(a.prev_hash, as->prev, 32) != 0) {
        if (seq == 1)
            st_seterr("audit record 1: hash chain broken: the first record does not start the "
                   "chain (altered, or records before it were removed); " AUDIT_FIX);
        else
            st_seterr("audit record %llu: hash chain broken: record %llu was altered, or a record "
                   "was removed/reordered; " AUDIT_FIX, (unsigned long long)seq,
                   (unsigned long long)seq - 1);
        return -1;
    }
    as->expect = seq + 1;
    return st_sha256(v->mv_data, v->mv_size, as->prev) ? 1 : -1;
}

/* The walk ended at record last (0: empty): does meta "audit_head" agree? 1 / 0. */
static int verify_head(struct store_txn *t, uint64_t last, const unsigned char hash[32])
{
    struct store_val v;
    uint64_t head;
    int found = st_db_get(t, DB_META, "audit_head", 10, &v);

    if (found < 0)
        return 0;
    if (found == 0 || v.mv_size != 40) {
        if (found == 0 && last == 0)
            return 1;
        st_seterr("audit: chain head missing or malformed in meta; " AUDIT_FIX);
        return 0;
    }
    head = st_get_be(v.mv_data, 8);
    if (head > last) {
        st_seterr("audit record %llu: removed: the log ends at record %llu but %llu were "
               "written; " AUDIT_FIX, (unsigned long long)last + 1, (unsigned long long)last,
               (unsigned long long)head);
        return 0;
    }
    if (head < last || CRYPTO_memcmp((const unsigned char *)v.mv_data + 8, hash, 32) != 0) {
        st_seterr("audit record %llu: hash chain broken: record %llu was altered or added outside "
               "offca (it does not match the chain head); " AUDIT_FIX, (unsigned long long)last,
               (unsigned long long)last);
        return 0;
    }
    return 1;
}

/*
 * Walk the audit chain in order: 1 intact; 0 with store_error() naming the first record that was
 * altered, removed or reordered. (Tamper-evident against edits of the store file; someone who can
 * rewrite the whole chain and its head is not stopped by a hash chain.)
 */
int store_audit_verify(struct store_txn *t)
{
    struct audit_scan as = { NULL, NULL, 1, { 0 } };

    if (!st_db_scan(t, DB_AUDIT, NULL, 0, verify_one, &as))
        return 0;
    return verify_head(t, as.expect - 1, as.prev);
}
