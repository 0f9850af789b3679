/*
 * store_dir.c — the directory: principal names (UPN, DNS, sAMAccountName) to SIDs, replaced as a
 * whole from an AD export, looked up for the SID strong-mapping extension.
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"

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
 * at least one of sam/upn/dns; a bad entry refuses the lot before anything is written. step (or
 * NULL) is called with the count written so far, every 1024 entries and at the end (progress).
 */
int store_dir_replace_step(struct store_txn *t, const struct dir_entry *e, size_t n,
                           void (*step)(void *arg, size_t done), void *arg)
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
    for (size_t i = 0; i < n; i++) {
        if (!dir_put_entry(t, &e[i], (uint32_t)i))
            return 0;
        if (step && ((i + 1) % 1024 == 0 || i + 1 == n))
            step(arg, i + 1);
    }
    st_put_be(cnt, n, 8);
    return st_db_put_more(t, DB_META, "dir_count", 9, cnt, 8, 0);
}

/* The same without progress (see store.h). */
int store_dir_replace(struct store_txn *t, const struct dir_entry *e, size_t n)
{
    return store_dir_replace_step(t, e, n, NULL, NULL);
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

struct dir_load {
    struct dir_entry *e;               /* [n], slot i = entry index i */
    size_t n;
};

/* One key of the walk: keep the entry under the first kind it has a name of (each entry is
 * stored once per name), at the index its key ends with. */
static int dir_load_one(struct store_txn *t, const struct store_val *k, const struct store_val *v,
                        void *ctx)
{
    struct dir_load *dl = ctx;
    struct dir_entry e = { 0 };
    const unsigned char *kb = k->mv_data;
    const char *why;
    uint64_t i;
    int first;

    if (k->mv_size < 9 || kb[k->mv_size - 5] != '\0')
        return st_corrupt(t, "directory", "key", "not <kind>:<name> NUL <index>") - 1;
    if ((why = dir_decode(v, &e)) != NULL)
        return st_corrupt(t, "directory", "entry", why) - 1;
    for (first = 0; first < DIR_KINDS && dir_name_of(&e, first) == NULL; first++)
        ;
    i = st_get_be(kb + k->mv_size - 4, 4);
    if (first == DIR_KINDS || memcmp(kb, dir_kinds[first], 3) != 0) {
        dir_entry_wipe(&e);
        return first == DIR_KINDS ? st_corrupt(t, "directory", "entry", "no name") - 1 : 1;
    }
    if (i >= dl->n || dl->e[i].sid != NULL) {
        dir_entry_wipe(&e);
        return st_corrupt(t, "directory", "key", "index beyond dir_count or twice") - 1;
    }
    dl->e[i] = e;
    return 1;
}

/*
 * Every entry of the directory, in the order of the import that wrote it: *out[0..*n) (caller
 * store_dir_entries_free). 1 ok / 0 error (store_error).
 */
int store_dir_load(struct store_txn *t, struct dir_entry **out, size_t *n)
{
    struct dir_load dl = { NULL, 0 };
    size_t used = 0;

    if (t == NULL || out == NULL || n == NULL) {
        st_seterr("store: directory load: no transaction or output; fix the caller");
        return 0;
    }
    dl.n = (size_t)store_dir_count(t);
    if (dl.n > 0 && (dl.e = OPENSSL_zalloc(dl.n * sizeof(*dl.e))) == NULL)
        return st_code_err(st_txn_path(t), "directory", ENOMEM);
    if (!st_db_scan(t, DB_DIR, NULL, 0, dir_load_one, &dl)) {
        store_dir_entries_free(dl.e, dl.n);
        return 0;
    }
    for (size_t i = 0; i < dl.n; i++)  /* a crash-free store has every slot; close gaps anyway */
        if (dl.e[i].sid != NULL)
            dl.e[used++] = dl.e[i];
    *out = dl.e;
    *n = used;
    return 1;
}

/* Free entries from store_dir_load (and store_dir_find); NULL is a no-op. */
void store_dir_entries_free(struct dir_entry *e, size_t n)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        dir_entry_wipe(&e[i]);
    OPENSSL_free(e);
}
