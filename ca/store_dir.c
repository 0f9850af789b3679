/*
 * store_dir.c — the directory: principal names (UPN, DNS, sAMAccountName) to SIDs, replaced as a
 * whole from an AD export, looked up for the SID strong-mapping extension.
 */
#include "ca/store.h"
#include "ca/store_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- directory ------------------------------------------------------------------------------- */
/* Keys "<kind>:<ASCII-lowercased name>" '\0' <entry index, 4 BE> -> the whole entry, one key per
 * name an entry has; a prefix walk over "<kind>:<name>\0" finds every entry with that name. Case
 * folding is ASCII only: AD compares UPNs and sAMAccountNames case-insensitively, and DNS names
 * are ASCII (A-labels). */

#define DIR_KINDS 3
static const char *const dir_kinds[DIR_KINDS] = { "upn", "dns", "sam" };

static const char *dir_name_of(const struct dir_entry *e, int kind)
{
    const char *n = kind == 0 ? e->upn : kind == 1 ? e->dns : e->sam;

    return n && n[0] ? n : NULL;
}

/* "<kind>:<lowercased name>\0"; the length of that prefix, 0 when the name is too long. */
static size_t dir_key(unsigned char *k, int kind, const char *name)
{
    size_t n = strlen(name);

    if (n > MAX_DIR_NAME) {
        st_seterr("store: directory: name '%.40s...' is longer than %d bytes; fix the export", name,
               MAX_DIR_NAME);
        return 0;
    }
    memcpy(k, dir_kinds[kind], 3);
    k[3] = ':';
    memcpy(k + 4, name, n + 1);
    st_ascii_lower((char *)k + 4);
    return n + 5;
}

static void dir_entry_wipe(struct dir_entry *e)
{
    OPENSSL_free(e->sam);
    OPENSSL_free(e->upn);
    OPENSSL_free(e->dns);
    OPENSSL_free(e->sid);
    memset(e, 0, sizeof(*e));
}

static const char *dir_decode(const struct store_val *v, struct dir_entry *e)
{
    struct dec d;

    st_dec_head(&d, v, 'D');
    e->sam = st_dec_str(&d);
    e->upn = st_dec_str(&d);
    e->dns = st_dec_str(&d);
    e->sid = st_dec_str(&d);
    if (!d.err && e->sid == NULL)
        d.err = "entry without a SID";
    if (st_dec_end(&d))
        dir_entry_wipe(e);
    return d.err;
}

static int dir_check(const struct dir_entry *e, size_t i)
{
    unsigned char k[MAX_DIR_KEY];
    int names = 0;

    if (e->sid == NULL || e->sid[0] == '\0' || strlen(e->sid) > MAX_DIR_NAME) {
        st_seterr("store: directory entry %zu: no SID (or longer than %d bytes); fix the export",
               i + 1, MAX_DIR_NAME);
        return 0;
    }
    for (int kind = 0; kind < DIR_KINDS; kind++) {
        const char *n = dir_name_of(e, kind);
        if (n && !dir_key(k, kind, n))
            return 0;
        names += n != NULL;
    }
    if (names == 0) {
        st_seterr("store: directory entry %zu (SID %s): has no sam, upn or dns name; fix the "
               "export", i + 1, e->sid);
        return 0;
    }
    return 1;
}

static int dir_put_entry(struct store_txn *t, const struct dir_entry *e, uint32_t i)
{
    unsigned char k[MAX_DIR_KEY];
    struct enc en = { 0 };
    int ok = 1;

    st_enc_head(&en, 'D');
    st_enc_str(&en, e->sam);
    st_enc_str(&en, e->upn);
    st_enc_str(&en, e->dns);
    st_enc_str(&en, e->sid);
    if (en.bad) {
        OPENSSL_free(en.p);
        st_txn_break(t);
        return st_code_err(st_txn_path(t), "directory", ENOMEM);
    }
    for (int kind = 0; kind < DIR_KINDS && ok; kind++) {
        const char *n = dir_name_of(e, kind);
        size_t kn;
        if (n == NULL)
            continue;
        kn = dir_key(k, kind, n);
        st_put_be(k + kn, i, 4);
        ok = st_db_put_more(t, DB_DIR, k, kn + 4, en.p, en.len, 0);
    }
    OPENSSL_free(en.p);
    return ok;
}

/*
 * Replace the whole directory with e[0..n) (copied) in this write txn. Every entry needs a SID and
 * at least one of sam/upn/dns; a bad entry refuses the lot before anything is written.
 */
int store_dir_replace(struct store_txn *t, const struct dir_entry *e, size_t n)
{
    unsigned char cnt[8];

    if (!st_need_write(t, "directory replace"))
        return 0;
    if (n > UINT32_MAX || (n > 0 && e == NULL)) {
        st_seterr("store: directory: %zu entries without data or above 2^32; fix the caller", n);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!dir_check(&e[i], i))
            return 0;
    if (!st_db_drop(t, DB_DIR))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!dir_put_entry(t, &e[i], (uint32_t)i))
            return 0;
    st_put_be(cnt, n, 8);
    return st_db_put_more(t, DB_META, "dir_count", 9, cnt, 8, 0);
}

struct dir_scan {
    struct dir_entry first;            /* owned: the first match */
    int count;                         /* matches with distinct SIDs (same SID counts once) */
};

static int dir_scan_one(struct store_txn *t, const struct store_val *k, const struct store_val *v, void *ctx)
{
    struct dir_scan *ds = ctx;
    struct dir_entry e = { 0 };
    const char *why;

    if ((why = dir_decode(v, &e)) != NULL)
        return st_corrupt(t, "directory", "entry", why) - 1;
    if (ds->count == 0) {
        ds->first = e;
        ds->count = 1;
        return 1;
    }
    if (strcmp(e.sid, ds->first.sid) != 0)
        ds->count++;
    dir_entry_wipe(&e);
    return 1;
}

static int dir_scan_kind(struct store_txn *t, int kind, const char *name, struct dir_scan *ds)
{
    unsigned char k[MAX_DIR_KEY];
    size_t kn = dir_key(k, kind, name);

    return kn && st_db_scan(t, DB_DIR, k, kn, dir_scan_one, ds);
}

/*
 * Look up a name of one kind ("upn", "dns" or "sam"; case-insensitive). Returns the number of
 * principals (distinct SIDs) it names: 0, 1 (SID copied into sid[n]) or 2+ (ambiguous); -1 error.
 */
int store_dir_lookup(struct store_txn *t, const char *kind, const char *name, char *sid, size_t n)
{
    struct dir_scan ds = { { 0 }, 0 };
    int k;

    for (k = 0; k < DIR_KINDS; k++)
        if (kind && strcmp(kind, dir_kinds[k]) == 0)
            break;
    if (k == DIR_KINDS || name == NULL || t == NULL) {
        st_seterr("store: directory lookup: kind '%s' is not upn, dns or sam (or no name); fix the "
               "caller", kind ? kind : "");
        return -1;
    }
    if (!dir_scan_kind(t, k, name, &ds)) {
        dir_entry_wipe(&ds.first);
        return -1;
    }
    if (ds.count == 1 && (sid == NULL || strlen(ds.first.sid) >= n)) {
        st_seterr("store: directory: SID of '%s' does not fit the %zu-byte buffer; fix the caller",
               name, n);
        ds.count = -1;
    } else if (ds.count == 1) {
        memcpy(sid, ds.first.sid, strlen(ds.first.sid) + 1);
    }
    dir_entry_wipe(&ds.first);
    return ds.count;
}

/*
 * Find the principal a name means, trying it as upn, dns and sam (case-insensitive): 1 found (e
 * filled; caller OPENSSL_free()s the members), 0 none, -1 error or ambiguous (several SIDs).
 */
int store_dir_find(struct store_txn *t, const char *name, struct dir_entry *e)
{
    struct dir_scan ds = { { 0 }, 0 };

    if (t == NULL || name == NULL || e == NULL) {
        st_seterr("store: directory find: no transaction, name or entry; fix the caller");
        return -1;
    }
    for (int k = 0; k < DIR_KINDS; k++) {
        if (!dir_scan_kind(t, k, name, &ds)) {
            dir_entry_wipe(&ds.first);
            return -1;
        }
    }
    if (ds.count > 1) {
        st_seterr("store %s: directory: '%s' names %d principals with different SIDs; use the "
               "exact upn, dns or sam name", st_txn_path(t), name, ds.count);
        dir_entry_wipe(&ds.first);
        return -1;
    }
    if (ds.count == 1)
        *e = ds.first;
    return ds.count;
}

/* Number of entries written by the last store_dir_replace; 0 also on error. */
uint64_t store_dir_count(struct store_txn *t)
{
    struct store_val v;
    int found;

    if (t == NULL) {
        st_seterr("store: directory count: no transaction; fix the caller");
        return 0;
    }
    if ((found = st_db_get(t, DB_META, "dir_count", 9, &v)) <= 0)
        return 0;
    if (v.mv_size != 8) {
        st_corrupt(t, "meta", "dir_count", "not 8 bytes");
        return 0;
    }
    return st_get_be(v.mv_data, 8);
}
