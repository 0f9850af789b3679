/*
 * store.c — the LMDB store: environment, named databases, record encoding, the audit chain.
 * The only file in offca that includes <lmdb.h>; MDB codes become operator text here.
 *
 * Environment: MDB_NOTLS, so a read transaction's reader slot belongs to the transaction, not to
 * the thread: worker threads may each run their own read transactions on one struct store, and
 * one thread may hold a read transaction while it writes. A write transaction stays on the thread
 * that began it, and a thread must not begin a second write transaction while it holds one (LMDB's
 * writer lock is not recursive). The map is 64 GiB of address space: the file is sparse and only
 * grows with the data (no MDB_WRITEMAP, so nothing is preallocated). Open a directory once per
 * process (LMDB's POSIX locks are per process); two processes at once are fine: LMDB has one
 * writer at a time, and nothing here is cached across transactions.
 *
 * Records are a compact versioned encoding: kind byte, format version byte, then fields in a fixed
 * order: integers big-endian (u8/u32/u64; times as int64), byte strings and text as u32 length +
 * bytes (0xffffffff = NULL). Decoding is bounds-checked and refuses short or trailing data.
 *
 * Serials: any big-endian unsigned byte string is accepted and kept in one canonical form, the DER
 * INTEGER content octets (leading zeros stripped, one 0x00 added when the top bit is set), at most
 * 20 octets (RFC 5280 4.1.2.2). Keys hold "len serial" after the CA name, so the key order within
 * a CA is the numeric serial order (a longer minimal encoding is always the larger number).
 */
#include "ca/store.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STORE_ERR 2048
#define MAX_STORE_PATH 1024
#define MAX_STORE_DBS 16
#define MAX_STORE_MAPSIZE ((size_t)64 << 30)        /* 64 GiB of address space, sparse file */
#define MAX_STORE_FIELD ((size_t)64 << 20)          /* one field of a record */
#define MAX_DIR_NAME 400                            /* keys must stay under LMDB's 511 bytes */
#define MAX_CS_KEY (8 + MAX_CA_NAME + 2 + MAX_STORE_SERIAL)
#define MAX_DIR_KEY (4 + MAX_DIR_NAME + 1 + 4)
#define REC_VERSION 1
#define LEN_NULL 0xffffffffu
#define REASON_HOLD 6
#define REASON_REMOVE 8

enum { DB_META, DB_CAS, DB_CERTS, DB_SERIALS, DB_EXPIRY, DB_REVOKED, DB_CRLSTATE, DB_DIR, DB_AUDIT,
       DB_COUNT };
static const char *const db_names[DB_COUNT] = {
    "meta", "cas", "certs", "serials", "by_expiry", "revoked", "crl_state", "directory", "audit"
};

struct store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    char path[MAX_STORE_PATH];
};

struct store_txn {
    struct store *s;
    MDB_txn *txn;
    int write;
    int broken;                        /* a write failed half-way: commit is refused */
    struct store_rev_iter *iters;      /* open iterators: their cursors die with the txn */
};

struct store_rev_iter {
    struct store_txn *t;               /* NULL once the transaction has ended */
    MDB_cursor *cur;
    unsigned char prefix[MAX_CA_NAME + 1];
    size_t plen;
    int started;
    struct store_rev_iter *next;
};

struct sn {                            /* a canonical serial */
    unsigned char b[MAX_STORE_SERIAL];
    size_t n;
};

/* ---- errors ---------------------------------------------------------------------------------- */

static _Thread_local char err_msg[MAX_STORE_ERR];
static _Thread_local int err_code = STORE_ERR_SYSTEM;

const char *store_error(void) { return err_msg; }
int store_error_code(void) { return err_code; }

/* Every message is a system failure (class 4) unless refuse() says the request was refused. */
static void __attribute__((format(printf, 1, 2))) seterr(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = STORE_ERR_SYSTEM;
}

/* The last message was a refusal (the request conflicts with what is stored). Returns 0. */
static int refuse(void)
{
    err_code = STORE_ERR_REFUSED;
    return 0;
}

struct code_text {
    int rc;
    const char *name, *problem, *fix;
    int dir;                           /* append the store directory to the fix */
};

static const struct code_text code_texts[] = {
    { MDB_MAP_FULL, "MDB_MAP_FULL", "the store reached its 64 GiB map size",
      "archive the store and start a new one, or raise MAX_STORE_MAPSIZE", 0 },
    { MDB_READERS_FULL, "MDB_READERS_FULL", "all reader slots are taken",
      "stop other offca processes, then clear stale readers with 'mdb_stat -rr'", 1 },
    { MDB_VERSION_MISMATCH, "MDB_VERSION_MISMATCH",
      "the store was written by an incompatible LMDB library",
      "use the offca build that wrote it, or move it over with mdb_dump/mdb_load", 0 },
    { MDB_INVALID, "MDB_INVALID", "data.mdb is not an LMDB file or its header is corrupt",
      "restore the store from backup", 0 },
    { MDB_CORRUPTED, "MDB_CORRUPTED", "a database page is corrupt",
      "restore the store from backup", 0 },
    { MDB_PANIC, "MDB_PANIC", "the environment had a fatal error",
      "run the command again; restore the store from backup if it persists", 0 },
    { MDB_MAP_RESIZED, "MDB_MAP_RESIZED", "another process grew the map",
      "run the command again", 0 },
    { MDB_TXN_FULL, "MDB_TXN_FULL", "the transaction changes too many pages",
      "split the operation into smaller batches", 0 },
    { MDB_DBS_FULL, "MDB_DBS_FULL", "the store has more databases than this offca knows",
      "upgrade offca", 0 },
    { MDB_BAD_TXN, "MDB_BAD_TXN", "the transaction failed earlier",
      "run the command again", 0 },
    { MDB_INCOMPATIBLE, "MDB_INCOMPATIBLE", "a database has the wrong format",
      "check that this is an offca store; restore it from backup", 0 },
    { EACCES, "EACCES", "permission denied", "check ownership and mode of", 1 },
    { EPERM, "EPERM", "operation not permitted", "check ownership and mode of", 1 },
    { ENOSPC, "ENOSPC", "no space left on device", "free space on the filesystem holding", 1 },
    { EROFS, "EROFS", "store is read-only (read-only filesystem)",
      "remount it read-write or work on a copy of", 1 },
    { ENOMEM, "ENOMEM", "out of memory", "free memory and run the command again", 0 },
    { ENOTDIR, "ENOTDIR", "a path component is not a directory", "check [store] path", 0 },
    { ENOENT, "ENOENT", "no such file or directory", "create the parent directory of", 1 },
};

/* "store DIR: OP: NAME: problem; fix" for an MDB code or an errno value. Returns 0. */
static int code_err(const char *dir, const char *op, int rc)
{
    for (size_t i = 0; i < sizeof(code_texts) / sizeof(code_texts[0]); i++) {
        const struct code_text *c = &code_texts[i];
        if (c->rc == rc) {
            seterr("store %s: %s: %s: %s; %s%s%s", dir, op, c->name, c->problem, c->fix,
                   c->dir ? " " : "", c->dir ? dir : "");
            return 0;
        }
    }
    seterr("store %s: %s: %s (code %d); check the store directory and run the command again", dir,
           op, mdb_strerror(rc), rc);
    return 0;
}

static int txn_err(struct store_txn *t, const char *op, int rc)
{
    return code_err(t->s->path, op, rc);
}

static void hex_of(const unsigned char *p, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n && 2 * i + 2 < cap; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * i] = '\0';
}

/* ---- record encoding ------------------------------------------------------------------------- */

struct enc {
    unsigned char *p;
    size_t len, cap;
    int bad;
};

static void enc_raw(struct enc *e, const void *v, size_t n)
{
    if (e->bad || n == 0)
        return;
    if (n > MAX_STORE_FIELD + 8 || e->len + n > ((size_t)1 << 31)) {
        e->bad = 1;
        return;
    }
    if (e->len + n > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        unsigned char *np;
        while (cap < e->len + n)
            cap *= 2;
        if ((np = OPENSSL_realloc(e->p, cap)) == NULL) {
            e->bad = 1;
            return;
        }
        e->p = np;
        e->cap = cap;
    }
    memcpy(e->p + e->len, v, n);
    e->len += n;
}

static void put_be(unsigned char *b, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *b, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

static void enc_int(struct enc *e, uint64_t v, int n)
{
    unsigned char b[8];

    put_be(b, v, n);
    enc_raw(e, b, (size_t)n);
}

static void enc_u8(struct enc *e, unsigned v) { enc_int(e, v, 1); }
static void enc_u32(struct enc *e, uint32_t v) { enc_int(e, v, 4); }
static void enc_u64(struct enc *e, uint64_t v) { enc_int(e, v, 8); }
static void enc_time(struct enc *e, time_t t) { enc_u64(e, (uint64_t)(int64_t)t); }

static void enc_bytes(struct enc *e, const void *p, size_t n)
{
    if (n > MAX_STORE_FIELD || (n > 0 && p == NULL)) {
        e->bad = 1;
        return;
    }
    enc_u32(e, (uint32_t)n);
    enc_raw(e, p, n);
}

static void enc_str(struct enc *e, const char *s)
{
    if (s == NULL)
        enc_u32(e, LEN_NULL);
    else
        enc_bytes(e, s, strlen(s));
}

static void enc_head(struct enc *e, char kind)
{
    enc_u8(e, (unsigned char)kind);
    enc_u8(e, REC_VERSION);
}

struct dec {
    const unsigned char *p;
    size_t len, off;
    const char *err;                   /* first problem found; later reads are no-ops */
};

static const unsigned char *dec_raw(struct dec *d, size_t n)
{
    const unsigned char *r;

    if (d->err)
        return NULL;
    if (n > d->len - d->off) {
        d->err = "record is shorter than its fields say";
        return NULL;
    }
    r = d->p + d->off;
    d->off += n;
    return r;
}

static uint64_t dec_int(struct dec *d, int n)
{
    const unsigned char *b = dec_raw(d, (size_t)n);

    return b ? get_be(b, n) : 0;
}

static time_t dec_time(struct dec *d) { return (time_t)(int64_t)dec_int(d, 8); }

/* A u8 that must be <= max (enum and flag fields). */
static int dec_small(struct dec *d, unsigned max)
{
    unsigned v = (unsigned)dec_int(d, 1);

    if (v > max && !d->err)
        d->err = "enumerated field out of range";
    return (int)v;
}

/* Returns the field bytes (borrowed) and sets *n; NULL with *n = LEN_NULL for a NULL field. */
static const unsigned char *dec_field(struct dec *d, size_t *n)
{
    uint32_t len = (uint32_t)dec_int(d, 4);

    *n = 0;
    if (d->err)
        return NULL;
    if (len == LEN_NULL) {
        *n = LEN_NULL;
        return NULL;
    }
    *n = len;
    return dec_raw(d, len);
}

static unsigned char *dec_bytes(struct dec *d, size_t *n)
{
    size_t len;
    const unsigned char *b = dec_field(d, &len);
    unsigned char *out;

    *n = 0;
    if (d->err || len == 0)
        return NULL;
    if (len == LEN_NULL) {
        d->err = "byte field marked NULL";
        return NULL;
    }
    if ((out = OPENSSL_memdup(b, len)) == NULL)
        d->err = "out of memory";
    else
        *n = len;
    return out;
}

static char *dec_str(struct dec *d)
{
    size_t len;
    const unsigned char *b = dec_field(d, &len);
    char *out;

    if (d->err || len == LEN_NULL)
        return NULL;
    if (len > 0 && memchr(b, 0, len)) {
        d->err = "text field holds a NUL byte";
        return NULL;
    }
    if ((out = OPENSSL_malloc(len + 1)) == NULL) {
        d->err = "out of memory";
        return NULL;
    }
    if (len)
        memcpy(out, b, len);
    out[len] = '\0';
    return out;
}

static void dec_strbuf(struct dec *d, char *buf, size_t cap)
{
    size_t len;
    const unsigned char *b = dec_field(d, &len);

    buf[0] = '\0';
    if (d->err)
        return;
    if (len == LEN_NULL || len >= cap || (len > 0 && memchr(b, 0, len))) {
        d->err = "text field is NULL, too long for its place, or holds a NUL byte";
        return;
    }
    if (len)
        memcpy(buf, b, len);
    buf[len] = '\0';
}

static void dec_head(struct dec *d, const MDB_val *v, char kind)
{
    memset(d, 0, sizeof(*d));
    d->p = v->mv_data;
    d->len = v->mv_size;
    if (dec_int(d, 1) != (unsigned char)kind && !d->err)
        d->err = "record of the wrong kind";
    if (dec_int(d, 1) != REC_VERSION && !d->err)
        d->err = "unknown record format version (written by a newer offca?)";
}

/* The problem text, or NULL when the record was read exactly to its end. */
static const char *dec_end(struct dec *d)
{
    if (!d->err && d->off != d->len)
        d->err = "trailing bytes after the last field";
    return d->err;
}

static int corrupt(struct store_txn *t, const char *db, const char *what, const char *why)
{
    seterr("store %s: %s record %s: store corrupt: %s; restore the store from backup", t->s->path,
           db, what, why);
    return 0;
}

/* ---- keys, names and serials ----------------------------------------------------------------- */

static int ca_name_ok(const char *ca)
{
    if (ca == NULL || ca[0] == '\0' || strnlen(ca, MAX_CA_NAME + 1) > MAX_CA_NAME) {
        seterr("store: CA name '%.*s': must be 1 to %d characters; use a shorter name",
               MAX_CA_NAME, ca ? ca : "", MAX_CA_NAME);
        return 0;
    }
    return 1;
}

/* Canonical serial (DER INTEGER contents) from a big-endian unsigned byte string. */
static int serial_canon(const unsigned char *in, size_t n, struct sn *out)
{
    char hex[2 * 32 + 1];
    size_t i = 0, len, pad;

    if (in == NULL || n == 0) {
        seterr("store: serial: empty; pass the certificate serial number");
        return 0;
    }
    while (i < n && in[i] == 0)
        i++;
    hex_of(in, n < 32 ? n : 32, hex, sizeof(hex));
    if (i == n) {
        seterr("store: serial %s: RFC 5280 4.1.2.2: zero is not a positive serial; use another "
               "serial", hex);
        return 0;
    }
    len = n - i;
    pad = (in[i] & 0x80) ? 1 : 0;
    if (len + pad > MAX_STORE_SERIAL) {
        seterr("store: serial %s: RFC 5280 4.1.2.2: longer than %d octets as DER; use a shorter "
               "serial", hex, MAX_STORE_SERIAL);
        return 0;
    }
    out->n = len + pad;
    out->b[0] = 0;
    memcpy(out->b + pad, in + i, len);
    return 1;
}

/* ca '\0' len serial */
static size_t key_cs(unsigned char *k, const char *ca, const struct sn *sn)
{
    size_t n = strlen(ca);

    memcpy(k, ca, n);
    k[n++] = 0;
    k[n++] = (unsigned char)sn->n;
    memcpy(k + n, sn->b, sn->n);
    return n + sn->n;
}

/* Parse ca '\0' len serial starting at off; 1 ok / 0 malformed. */
static int key_cs_parse(const MDB_val *k, size_t off, char *ca, struct sn *sn)
{
    const unsigned char *p = (const unsigned char *)k->mv_data + off;
    size_t n = k->mv_size - off;
    const unsigned char *z = n ? memchr(p, 0, n) : NULL;
    size_t cl;

    if (k->mv_size < off || z == NULL || (cl = (size_t)(z - p)) == 0 || cl > MAX_CA_NAME ||
        cl + 2 > n)
        return 0;
    sn->n = p[cl + 1];
    if (sn->n == 0 || sn->n > MAX_STORE_SERIAL || cl + 2 + sn->n != n)
        return 0;
    memcpy(ca, p, cl);
    ca[cl] = '\0';
    memcpy(sn->b, p + cl + 2, sn->n);
    return 1;
}

static void ascii_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* ---- primitive operations -------------------------------------------------------------------- */

static MDB_val mval(const void *p, size_t n)
{
    MDB_val v;

    v.mv_data = (void *)p;
    v.mv_size = n;
    return v;
}

/* 1 found (v borrowed until the txn ends), 0 not found, -1 error. */
static int db_get(struct store_txn *t, int db, const void *k, size_t kn, MDB_val *v)
{
    MDB_val key = mval(k, kn);
    int rc = mdb_get(t->txn, t->s->dbi[db], &key, v);

    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0) {
        txn_err(t, db_names[db], rc);
        return -1;
    }
    return 1;
}

/* 1 written, 0 key exists (flags MDB_NOOVERWRITE), -1 error (the txn is marked broken). */
static int db_put(struct store_txn *t, int db, const void *k, size_t kn, const void *v, size_t vn,
                  unsigned flags)
{
    MDB_val key = mval(k, kn), val = mval(v, vn);
    int rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, flags);

    if (rc == MDB_KEYEXIST)
        return 0;
    if (rc != 0) {
        t->broken = 1;
        txn_err(t, db_names[db], rc);
        return -1;
    }
    return 1;
}

/* A put that follows other writes of the same operation: anything but success breaks the txn. */
static int db_put_more(struct store_txn *t, int db, const void *k, size_t kn, const void *v,
                       size_t vn, unsigned flags)
{
    int rc = db_put(t, db, k, kn, v, vn, flags);

    if (rc == 0) {
        t->broken = 1;
        seterr("store %s: %s: key already present although it was checked; the store is "
               "inconsistent; restore it from backup", t->s->path, db_names[db]);
    }
    return rc == 1;
}

static int db_del(struct store_txn *t, int db, const void *k, size_t kn)
{
    MDB_val key = mval(k, kn);
    int rc = mdb_del(t->txn, t->s->dbi[db], &key, NULL);

    if (rc != 0) {
        t->broken = 1;
        return txn_err(t, db_names[db], rc);
    }
    return 1;
}

static int need_write(struct store_txn *t, const char *what)
{
    if (t == NULL) {
        seterr("store: %s: no transaction (store_txn_begin failed?); fix the caller", what);
        return 0;
    }
    if (!t->write) {
        seterr("store %s: %s: needs a write transaction; begin it with write=1", t->s->path, what);
        return 0;
    }
    if (t->broken) {
        seterr("store %s: %s: an earlier write in this transaction failed; abort it", t->s->path,
               what);
        return 0;
    }
    return 1;
}

/* Scan db from the first key >= prefix while keys start with prefix (plen 0: everything).
 * fn returns 1 go on, 0 stop, -1 error (message set). Returns 1 ok / 0 error. */
typedef int (*scan_fn)(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx);

static int db_scan(struct store_txn *t, int db, const void *prefix, size_t plen, scan_fn fn,
                   void *ctx)
{
    MDB_cursor *c = NULL;
    MDB_val k = mval(prefix, plen), v;
    int rc, r = 1, ok = 0;

    if (t == NULL) {
        seterr("store: %s: no transaction; fix the caller", db_names[db]);
        return 0;
    }
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[db], &c)) != 0)
        return txn_err(t, db_names[db], rc);
    rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && r == 1) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        if ((r = fn(t, &k, &v, ctx)) < 0)
            goto out;
        if (r == 1)
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        txn_err(t, db_names[db], rc);
        goto out;
    }
    ok = 1;
out:
    mdb_cursor_close(c);
    return ok;
}

static int sha256(const void *p, size_t n, unsigned char out[32])
{
    size_t len = 32;

    if (!EVP_Q_digest(NULL, "SHA256", NULL, p, n, out, &len)) {
        seterr("store: audit: SHA-256 is unavailable in OpenSSL's default library context; check "
               "the OpenSSL configuration (OPENSSL_CONF)");
        return 0;
    }
    return 1;
}

/* ---- environment ----------------------------------------------------------------------------- */

/* Refuse a missing store (create=0) or make its directory 0700 (create=1). */
static int dir_prepare(const char *dir, int create)
{
    char file[MAX_STORE_PATH + 16];
    struct stat st;

    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return code_err(dir, "stat", errno);
        if (!create) {
            seterr("store %s: not initialised; run 'offca init'", dir);
            return 0;
        }
        if (mkdir(dir, 0700) != 0)
            return code_err(dir, "mkdir", errno);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        seterr("store %s: not a directory; set [store] path to a directory", dir);
        return 0;
    }
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    if (!create && stat(file, &st) != 0) {
        if (errno != ENOENT)
            return code_err(dir, "stat data.mdb", errno);
        seterr("store %s: not initialised; run 'offca init'", dir);
        return 0;
    }
    return 1;
}

static int schema_check(struct store *s, MDB_txn *txn, int create)
{
    MDB_val k = mval("schema", 6), v;
    unsigned char b[4];
    uint32_t ver;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);

    if (rc == MDB_NOTFOUND && create) {
        put_be(b, STORE_SCHEMA_VERSION, 4);
        v = mval(b, 4);
        rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
        return rc == 0 ? 1 : code_err(s->path, "meta", rc);
    }
    if (rc == MDB_NOTFOUND) {
        seterr("store %s: no schema version: not initialised; run 'offca init'", s->path);
        return 0;
    }
    if (rc != 0)
        return code_err(s->path, "meta", rc);
    if (v.mv_size != 4) {
        seterr("store %s: meta schema: store corrupt: %zu bytes instead of 4; restore the store "
               "from backup", s->path, v.mv_size);
        return 0;
    }
    ver = (uint32_t)get_be(v.mv_data, 4);
    if (ver > STORE_SCHEMA_VERSION) {
        seterr("store %s: schema version %u is newer than this offca understands (%u); upgrade "
               "offca", s->path, ver, STORE_SCHEMA_VERSION);
        return 0;
    }
    if (ver != STORE_SCHEMA_VERSION) {
        seterr("store %s: schema version %u is not one this offca understands (%u); restore the "
               "store from backup", s->path, ver, STORE_SCHEMA_VERSION);
        return 0;
    }
    return 1;
}

/* Open (or create) the named databases and check the schema, in one transaction. */
static int dbs_open(struct store *s, int create)
{
    MDB_txn *txn = NULL;
    unsigned flags = create ? MDB_CREATE : 0;
    int rc, ok = 0;

    if ((rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn)) != 0)
        return code_err(s->path, "begin", rc);
    for (int i = 0; i < DB_COUNT; i++) {
        if ((rc = mdb_dbi_open(txn, db_names[i], flags, &s->dbi[i])) == MDB_NOTFOUND) {
            seterr("store %s: database '%s' is missing: not initialised; run 'offca init'",
                   s->path, db_names[i]);
            goto out;
        }
        if (rc != 0) {
            code_err(s->path, db_names[i], rc);
            goto out;
        }
        if (i == DB_META && !schema_check(s, txn, create))
            goto out;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        code_err(s->path, "commit", rc);
        goto out;
    }
    ok = 1;
out:
    mdb_txn_abort(txn);
    return ok;
}

/*
 * Open the store at dir: create=1 makes the directory (0700, data.mdb and lock.mdb 0600) and the
 * databases when missing; create=0 refuses a missing store. Checks the schema version. Clears
 * reader slots left by crashed processes. Caller store_close()s.
 */
struct store *store_open(const char *dir, int create)
{
    struct store *s = NULL;
    int rc, dead;

    if (dir == NULL || dir[0] == '\0' || strlen(dir) >= MAX_STORE_PATH) {
        seterr("store: path: empty or longer than %d bytes; set [store] path", MAX_STORE_PATH - 1);
        return NULL;
    }
    if (!dir_prepare(dir, create))
        return NULL;
    if ((s = OPENSSL_zalloc(sizeof(*s))) == NULL) {
        code_err(dir, "open", ENOMEM);
        return NULL;
    }
    snprintf(s->path, sizeof(s->path), "%s", dir);
    if ((rc = mdb_env_create(&s->env)) != 0 ||
        (rc = mdb_env_set_maxdbs(s->env, MAX_STORE_DBS)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, MAX_STORE_MAPSIZE)) != 0 ||
        (rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600)) != 0) {
        code_err(dir, "open", rc);
        goto fail;
    }
    (void)mdb_reader_check(s->env, &dead);
    if (!dbs_open(s, create))
        goto fail;
    return s;
fail:
    store_close(s);
    return NULL;
}

/* Close the environment; every transaction must have ended. NULL is a no-op. */
void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->env)
        mdb_env_close(s->env);
    OPENSSL_free(s);
}

/* The directory the store was opened at (borrowed). */
const char *store_get0_path(const struct store *s) { return s ? s->path : ""; }

/* ---- transactions ---------------------------------------------------------------------------- */

/*
 * Begin a read (write=0) or write transaction. Only one write transaction runs at a time across
 * all processes: a second writer waits for the first. End it with store_txn_commit or _abort.
 */
struct store_txn *store_txn_begin(struct store *s, int write)
{
    struct store_txn *t;
    int rc;

    if (s == NULL) {
        seterr("store: no store open; fix the caller");
        return NULL;
    }
    if ((t = OPENSSL_zalloc(sizeof(*t))) == NULL) {
        code_err(s->path, "begin", ENOMEM);
        return NULL;
    }
    t->s = s;
    t->write = write != 0;
    if ((rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn)) != 0) {
        code_err(s->path, "begin", rc);
        OPENSSL_free(t);
        return NULL;
    }
    return t;
}

/* Iterators still open die with the transaction: close their cursors now (before the txn ends,
 * as LMDB requires for write txns), keep their memory for store_rev_iter_free. */
static void iters_detach(struct store_txn *t)
{
    for (struct store_rev_iter *it = t->iters; it; it = it->next) {
        mdb_cursor_close(it->cur);
        it->cur = NULL;
        it->t = NULL;
    }
    t->iters = NULL;
}

/* Commit and free t. A transaction where a write failed is aborted instead (0: nothing changed). */
int store_txn_commit(struct store_txn *t)
{
    int rc, ok = 0;

    if (t == NULL) {
        seterr("store: commit: no transaction; fix the caller");
        return 0;
    }
    iters_detach(t);
    if (t->broken) {
        mdb_txn_abort(t->txn);
        seterr("store %s: commit refused: a write in this transaction failed, nothing was "
               "changed; fix the earlier error and run the command again", t->s->path);
    } else if ((rc = mdb_txn_commit(t->txn)) != 0) {
        code_err(t->s->path, "commit", rc);
    } else {
        ok = 1;
    }
    OPENSSL_free(t);
    return ok;
}

/* Abort and free t; NULL is a no-op. */
void store_txn_abort(struct store_txn *t)
{
    if (t == NULL)
        return;
    iters_detach(t);
    mdb_txn_abort(t->txn);
    OPENSSL_free(t);
}

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
    enc_head(e, 'C');
    enc_str(e, r->name);
    enc_str(e, r->key_uri);
    enc_str(e, r->parent);
    enc_bytes(e, r->cert_der, r->cert_der ? r->cert_len : 0);
    enc_bytes(e, r->chain_der, r->chain_der ? r->chain_len : 0);
    enc_u8(e, r->is_root != 0);
    enc_u8(e, (unsigned)r->state);
    enc_time(e, r->created);
    enc_str(e, r->sig);
    enc_str(e, r->hash);
}

static const char *ca_decode(const MDB_val *v, struct ca_rec *r)
{
    struct dec d;

    memset(r, 0, sizeof(*r));
    dec_head(&d, v, 'C');
    dec_strbuf(&d, r->name, sizeof(r->name));
    r->key_uri = dec_str(&d);
    r->parent = dec_str(&d);
    r->cert_der = dec_bytes(&d, &r->cert_len);
    r->chain_der = dec_bytes(&d, &r->chain_len);
    r->is_root = dec_small(&d, 1);
    r->state = (enum ca_state)dec_small(&d, CA_PENDING);
    r->created = dec_time(&d);
    dec_strbuf(&d, r->sig, sizeof(r->sig));
    dec_strbuf(&d, r->hash, sizeof(r->hash));
    if (dec_end(&d))
        ca_rec_clear(r);
    return d.err;
}

static int ca_check(const struct ca_rec *r)
{
    if (r == NULL) {
        seterr("store: CA: no record; fix the caller");
        return 0;
    }
    if (!ca_name_ok(r->name))
        return 0;
    if (memchr(r->sig, 0, sizeof(r->sig)) == NULL || memchr(r->hash, 0, sizeof(r->hash)) == NULL ||
        (unsigned)r->state > CA_PENDING) {
        seterr("store: CA '%s': sig, hash or state field is malformed; fix the caller", r->name);
        return 0;
    }
    return 1;
}

static int ca_write(struct store_txn *t, const struct ca_rec *r, int replace)
{
    struct enc e = { 0 };
    MDB_val v;
    int found, rc = 0;

    if (!need_write(t, replace ? "CA replace" : "CA add") || !ca_check(r))
        return 0;
    if ((found = db_get(t, DB_CAS, r->name, strlen(r->name), &v)) < 0)
        return 0;
    if (found && !replace) {
        seterr("store %s: CA '%s': already exists; choose another name (see 'offca ca list')",
               t->s->path, r->name);
        return 0;
    }
    if (!found && replace) {
        seterr("store %s: CA '%s': does not exist, nothing to replace; check the name (see "
               "'offca ca list')", t->s->path, r->name);
        return 0;
    }
    ca_encode(&e, r);
    if (e.bad)
        seterr("store: CA '%s': record too large or out of memory; check the certificates",
               r->name);
    else
        rc = db_put(t, DB_CAS, r->name, strlen(r->name), e.p, e.len, 0) == 1;
    OPENSSL_free(e.p);
    return rc;
}

/* Insert a CA record (copied); 0 with a message when the name exists. */
int store_ca_add(struct store_txn *t, const struct ca_rec *r) { return ca_write(t, r, 0); }

/* Overwrite an existing CA record (copied); 0 with a message when the name does not exist. */
int store_ca_replace(struct store_txn *t, const struct ca_rec *r) { return ca_write(t, r, 1); }

static int ca_from_val(struct store_txn *t, const char *name, const MDB_val *v, struct ca_rec *r)
{
    const char *why = ca_decode(v, r);

    if (why == NULL && strcmp(r->name, name) != 0) {
        ca_rec_clear(r);
        why = "name in the record differs from its key";
    }
    return why ? corrupt(t, "cas", name, why) : 1;
}

/* 1 found (r filled: caller ca_rec_clear), 0 not found, -1 error. r is set only when found. */
int store_ca_get(struct store_txn *t, const char *name, struct ca_rec *r)
{
    struct ca_rec tmp;
    MDB_val v;
    int found;

    if (t == NULL || r == NULL || !ca_name_ok(name)) {
        if (t == NULL || r == NULL)
            seterr("store: CA get: no transaction or record; fix the caller");
        return -1;
    }
    if ((found = db_get(t, DB_CAS, name, strlen(name), &v)) <= 0)
        return found;
    if (!ca_from_val(t, name, &v, &tmp))
        return -1;
    *r = tmp;
    return 1;
}

struct ca_scan { int (*fn)(void *arg, const struct ca_rec *r); void *arg; };

static int ca_scan_one(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct ca_scan *cs = ctx;
    struct ca_rec r;
    char name[MAX_CA_NAME + 1];
    int go;

    if (k->mv_size == 0 || k->mv_size > MAX_CA_NAME) {
        seterr("store %s: cas: store corrupt: key of %zu bytes; restore the store from backup",
               t->s->path, k->mv_size);
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

    return db_scan(t, DB_CAS, NULL, 0, ca_scan_one, &cs);
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

static void cert_encode(struct enc *e, const struct cert_rec *r, const struct sn *sn)
{
    enc_head(e, 'X');
    enc_str(e, r->ca);
    enc_bytes(e, sn->b, sn->n);
    enc_bytes(e, r->der, r->der_len);
    enc_str(e, r->template_name);
    enc_str(e, r->subject);
    enc_str(e, r->sans);
    enc_str(e, r->sid);
    enc_time(e, r->not_before);
    enc_time(e, r->not_after);
    enc_time(e, r->issued_at);
    enc_u8(e, (unsigned)r->status);
    enc_time(e, r->revoked_at);
    enc_time(e, r->invalidity);
    enc_u32(e, (uint32_t)(int32_t)r->reason);
}

static const char *cert_decode(const MDB_val *v, struct cert_rec *r)
{
    struct dec d;
    size_t n;
    const unsigned char *sb;

    memset(r, 0, sizeof(*r));
    dec_head(&d, v, 'X');
    dec_strbuf(&d, r->ca, sizeof(r->ca));
    sb = dec_field(&d, &n);
    if (!d.err && (n == 0 || n > MAX_STORE_SERIAL))
        d.err = "serial length out of range";
    if (!d.err) {
        memcpy(r->serial, sb, n);
        r->serial_len = n;
    }
    r->der = dec_bytes(&d, &r->der_len);
    r->template_name = dec_str(&d);
    r->subject = dec_str(&d);
    r->sans = dec_str(&d);
    r->sid = dec_str(&d);
    r->not_before = dec_time(&d);
    r->not_after = dec_time(&d);
    r->issued_at = dec_time(&d);
    r->status = (enum cert_status)dec_small(&d, CERT_REVOKED);
    r->revoked_at = dec_time(&d);
    r->invalidity = dec_time(&d);
    r->reason = (int)(int32_t)(uint32_t)dec_int(&d, 4);
    if (dec_end(&d))
        cert_rec_clear(r);
    return d.err;
}

/* Decode a certs value and check it belongs to its key. 1 ok / 0 (message set). */
static int cert_from_val(struct store_txn *t, const char *ca, const struct sn *sn,
                         const MDB_val *v, struct cert_rec *r)
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
    hex_of(sn->b, sn->n, hex, sizeof(hex));
    return corrupt(t, "certs", hex, why);
}

/* Fetch and decode (ca, sn). 1 found / 0 not / -1 error. */
static int cert_load(struct store_txn *t, const char *ca, const struct sn *sn, struct cert_rec *r)
{
    unsigned char k[MAX_CS_KEY];
    MDB_val v;
    int found = db_get(t, DB_CERTS, k, key_cs(k, ca, sn), &v);

    if (found <= 0)
        return found;
    return cert_from_val(t, ca, sn, &v, r) ? 1 : -1;
}

/* Which CA holds this serial: 1 (owner filled) / 0 none / -1 error. */
static int serial_owner(struct store_txn *t, const struct sn *sn, char owner[MAX_CA_NAME + 1])
{
    MDB_val v;
    int found = db_get(t, DB_SERIALS, sn->b, sn->n, &v);

    if (found <= 0)
        return found;
    if (v.mv_size == 0 || v.mv_size > MAX_CA_NAME || memchr(v.mv_data, 0, v.mv_size)) {
        char hex[2 * MAX_STORE_SERIAL + 1];
        hex_of(sn->b, sn->n, hex, sizeof(hex));
        corrupt(t, "serials", hex, "CA name of a bad length");
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
        seterr("store: serial check: no transaction; fix the caller");
        return -1;
    }
    if ((ca != NULL && !ca_name_ok(ca)) || !serial_canon(serial, n, &sn))
        return -1;
    return serial_owner(t, &sn, owner);
}

static int cert_add_check(struct store_txn *t, const struct cert_rec *r, struct sn *sn)
{
    char owner[MAX_CA_NAME + 1], hex[2 * MAX_STORE_SERIAL + 1];
    MDB_val v;
    int found;

    if (!need_write(t, "certificate add"))
        return 0;
    if (r == NULL || r->der == NULL || r->der_len == 0) {
        seterr("store: certificate: no DER; fix the caller");
        return 0;
    }
    if (!ca_name_ok(r->ca) || !serial_canon(r->serial, r->serial_len, sn))
        return 0;
    hex_of(sn->b, sn->n, hex, sizeof(hex));
    if (r->status != CERT_VALID) {
        seterr("store: certificate %s: added as revoked; add it valid, then store_revoke", hex);
        return 0;
    }
    if ((found = db_get(t, DB_CAS, r->ca, strlen(r->ca), &v)) <= 0) {
        if (found == 0)
            seterr("store %s: certificate %s: CA '%s' is not in the store; create or import the "
                   "CA first", t->s->path, hex, r->ca);
        return 0;
    }
    if ((found = serial_owner(t, sn, owner)) != 0) {
        if (found > 0)
            seterr("store %s: certificate %s: serial already used by CA '%s'; draw a new serial "
                   "and issue again", t->s->path, hex, owner);
        return 0;
    }
    return 1;
}

/*
 * Insert a certificate with its serial and expiry indexes. 0 with a message when the serial is
 * already taken (by any CA) or the CA is unknown: nothing was written, the txn stays usable (draw
 * a new serial and try again). The serial is stored canonical (see the top of this file).
 */
int store_cert_add(struct store_txn *t, const struct cert_rec *r)
{
    unsigned char k[MAX_CS_KEY];
    struct enc e = { 0 };
    struct sn sn;
    size_t kn;
    int ok = 0;

    if (!cert_add_check(t, r, &sn))
        return 0;
    cert_encode(&e, r, &sn);
    if (e.bad) {
        seterr("store: certificate: record too large or out of memory; check the request");
        goto out;
    }
    put_be(k, (uint64_t)(int64_t)r->not_after ^ ((uint64_t)1 << 63), 8);
    kn = key_cs(k + 8, r->ca, &sn);
    if (!db_put_more(t, DB_SERIALS, sn.b, sn.n, r->ca, strlen(r->ca), MDB_NOOVERWRITE) ||
        !db_put_more(t, DB_CERTS, k + 8, kn, e.p, e.len, MDB_NOOVERWRITE) ||
        !db_put_more(t, DB_EXPIRY, k, kn + 8, "", 0, 0))
        goto out;
    ok = 1;
out:
    OPENSSL_free(e.p);
    return ok;
}

/* 1 found (r filled: caller cert_rec_clear), 0 not found, -1 error. */
int store_cert_get(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n,
                   struct cert_rec *r)
{
    struct cert_rec tmp;
    struct sn sn;
    int found;

    if (t == NULL || r == NULL) {
        seterr("store: certificate get: no transaction or record; fix the caller");
        return -1;
    }
    if (!ca_name_ok(ca) || !serial_canon(serial, n, &sn))
        return -1;
    if ((found = cert_load(t, ca, &sn, &tmp)) == 1)
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
        seterr("store: certificate find: no transaction or record; fix the caller");
        return -1;
    }
    if (!serial_canon(serial, n, &sn))
        return -1;
    if ((found = serial_owner(t, &sn, owner)) <= 0)
        return found;
    if ((found = cert_load(t, owner, &sn, &tmp)) == 0) {
        hex_of(sn.b, sn.n, hex, sizeof(hex));
        corrupt(t, "serials", hex, "points to a certificate that is not there");
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

static int cert_scan_call(struct store_txn *t, const MDB_val *k, size_t off, const MDB_val *v,
                          struct cert_scan *cs)
{
    char ca[MAX_CA_NAME + 1];
    struct cert_rec r;
    struct sn sn;
    int go;

    if (!key_cs_parse(k, off, ca, &sn)) {
        seterr("store %s: %s: store corrupt: malformed key; restore the store from backup",
               t->s->path, off ? "by_expiry" : "certs");
        return -1;
    }
    if (v != NULL) {
        if (!cert_from_val(t, ca, &sn, v, &r))
            return -1;
    } else if ((go = cert_load(t, ca, &sn, &r)) <= 0) {
        if (go == 0)
            corrupt(t, "by_expiry", ca, "points to a certificate that is not there");
        return -1;
    }
    go = cs->fn(cs->arg, &r);
    cert_rec_clear(&r);
    return go ? 1 : 0;
}

static int cert_scan_one(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx)
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
        if (!ca_name_ok(ca))
            return 0;
        plen = strlen(ca) + 1;
        memcpy(prefix, ca, plen);      /* the name and its '\0' */
    }
    return db_scan(t, DB_CERTS, prefix, plen, cert_scan_one, &cs);
}

static int expiry_scan_one(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct cert_scan *cs = ctx;

    if (k->mv_size < 8) {
        seterr("store %s: by_expiry: store corrupt: short key; restore the store from backup",
               t->s->path);
        return -1;
    }
    if (get_be(k->mv_data, 8) > cs->until)
        return 0;
    return cert_scan_call(t, k, 8, NULL, cs);
}

/* Call fn for each certificate (all CAs) whose not_after <= until, oldest first; as foreach. */
int store_cert_foreach_expiring(struct store_txn *t, time_t until,
                                int (*fn)(void *arg, const struct cert_rec *r), void *arg)
{
    struct cert_scan cs = { fn, arg, (uint64_t)(int64_t)until ^ ((uint64_t)1 << 63) };

    return db_scan(t, DB_EXPIRY, NULL, 0, expiry_scan_one, &cs);
}

static uint64_t db_entries(struct store_txn *t, int db)
{
    MDB_stat st;
    int rc;

    if (t == NULL) {
        seterr("store: count: no transaction; fix the caller");
        return 0;
    }
    if ((rc = mdb_stat(t->txn, t->s->dbi[db], &st)) != 0) {
        txn_err(t, db_names[db], rc);
        return 0;
    }
    return st.ms_entries;
}

/* Number of certificates in the store (all CAs); 0 also on error (store_error() says). */
uint64_t store_cert_count(struct store_txn *t) { return db_entries(t, DB_CERTS); }

/* ---- CRL state ------------------------------------------------------------------------------- */

static void crl_state_encode(struct enc *e, const struct crl_state *st)
{
    enc_head(e, 'S');
    enc_u64(e, st->last_number);
    enc_u64(e, st->last_base_number);
    enc_time(e, st->this_update);
    enc_time(e, st->next_update);
    enc_time(e, st->next_publish);
    enc_time(e, st->delta_this_update);
    enc_time(e, st->delta_next_publish);
    enc_u8(e, st->dirty != 0);
    enc_raw(e, st->base_sha256, sizeof(st->base_sha256));
}

static const char *crl_state_decode(const MDB_val *v, struct crl_state *st)
{
    struct dec d;
    const unsigned char *h;

    memset(st, 0, sizeof(*st));
    dec_head(&d, v, 'S');
    st->last_number = dec_int(&d, 8);
    st->last_base_number = dec_int(&d, 8);
    st->this_update = dec_time(&d);
    st->next_update = dec_time(&d);
    st->next_publish = dec_time(&d);
    st->delta_this_update = dec_time(&d);
    st->delta_next_publish = dec_time(&d);
    st->dirty = dec_small(&d, 1);
    if ((h = dec_raw(&d, sizeof(st->base_sha256))) != NULL)
        memcpy(st->base_sha256, h, sizeof(st->base_sha256));
    if (dec_end(&d))
        memset(st, 0, sizeof(*st));
    return d.err;
}

/* 1 found (st filled), 0 none yet (st zeroed: never published), -1 error. */
int store_crl_state_get(struct store_txn *t, const char *ca, struct crl_state *st)
{
    struct crl_state tmp;
    const char *why;
    MDB_val v;
    int found;

    if (t == NULL || st == NULL) {
        seterr("store: CRL state: no transaction or record; fix the caller");
        return -1;
    }
    if (!ca_name_ok(ca) || (found = db_get(t, DB_CRLSTATE, ca, strlen(ca), &v)) < 0)
        return -1;
    if (found == 0) {
        memset(st, 0, sizeof(*st));
        return 0;
    }
    if ((why = crl_state_decode(&v, &tmp)) != NULL) {
        corrupt(t, "crl_state", ca, why);
        return -1;
    }
    *st = tmp;
    return 1;
}

/* Write the CRL state of ca (whole record). 1 ok / 0. */
int store_crl_state_put(struct store_txn *t, const char *ca, const struct crl_state *st)
{
    struct enc e = { 0 };
    int ok = 0;

    if (!need_write(t, "CRL state") || !ca_name_ok(ca))
        return 0;
    if (st == NULL) {
        seterr("store: CRL state of '%s': no record; fix the caller", ca);
        return 0;
    }
    crl_state_encode(&e, st);
    if (e.bad)
        code_err(t->s->path, "crl_state", ENOMEM);
    else
        ok = db_put(t, DB_CRLSTATE, ca, strlen(ca), e.p, e.len, 0) == 1;
    OPENSSL_free(e.p);
    return ok;
}

/* ---- revocation ------------------------------------------------------------------------------ */

static void rev_encode(struct enc *e, const struct store_rev_entry *re)
{
    enc_head(e, 'R');
    enc_time(e, re->revoked_at);
    enc_time(e, re->invalidity);
    enc_u32(e, (uint32_t)(int32_t)re->reason);
    enc_u64(e, re->changed_in);
}

static const char *rev_decode(const MDB_val *v, struct store_rev_entry *re)
{
    struct dec d;

    dec_head(&d, v, 'R');
    re->revoked_at = dec_time(&d);
    re->invalidity = dec_time(&d);
    re->reason = (int)(int32_t)(uint32_t)dec_int(&d, 4);
    re->changed_in = dec_int(&d, 8);
    return dec_end(&d);
}

static int reason_ok(int reason)
{
    if (reason == REASON_REMOVE) {
        seterr("store: revoke: reason removeFromCRL (8) is not a revocation reason; use "
               "'unrevoke' to take a certificate off hold");
        return refuse();
    }
    if (reason < -1 || reason > 10 || reason == 7) {
        seterr("store: revoke: reason code %d is not an RFC 5280 5.3.1 CRLReason; use one of "
               "0-6, 9, 10 (or -1 for none)", reason);
        return refuse();
    }
    return 1;
}

/* Load (ca, serial) for a revocation change; the messages say why it cannot be found. */
static int rev_target(struct store_txn *t, const char *ca, const struct sn *sn, struct cert_rec *r)
{
    char owner[MAX_CA_NAME + 1], hex[2 * MAX_STORE_SERIAL + 1];
    int found;

    hex_of(sn->b, sn->n, hex, sizeof(hex));
    if ((found = cert_load(t, ca, sn, r)) != 0)
        return found > 0;
    if ((found = serial_owner(t, sn, owner)) < 0)
        return 0;
    if (found)
        seterr("store %s: certificate %s: issued by CA '%s', not '%s'; name the issuing CA",
               t->s->path, hex, owner, ca);
    else
        seterr("store %s: certificate %s: unknown serial for CA '%s'; check the serial "
               "(offca list --ca %s)", t->s->path, hex, ca, ca);
    return refuse();
}

/* Write the changed cert record, the revoked entry (a revocation or a removeFromCRL tombstone)
 * and the dirty CRL state. */
static int rev_write(struct store_txn *t, const struct cert_rec *r, const struct sn *sn,
                     const struct store_rev_entry *re)
{
    unsigned char k[MAX_CS_KEY];
    struct enc ce = { 0 }, rv = { 0 }, se = { 0 };
    struct store_rev_entry e2;
    struct crl_state st;
    size_t kn = key_cs(k, r->ca, sn);
    int ok = 0;

    if (store_crl_state_get(t, r->ca, &st) < 0)
        return 0;
    st.dirty = 1;
    cert_encode(&ce, r, sn);
    crl_state_encode(&se, &st);
    e2 = *re;
    e2.changed_in = st.last_number;
    rev_encode(&rv, &e2);
    if (ce.bad || rv.bad || se.bad) {
        code_err(t->s->path, "revoked", ENOMEM);
        goto out;
    }
    if (!db_put_more(t, DB_CERTS, k, kn, ce.p, ce.len, 0) ||
        !db_put_more(t, DB_REVOKED, k, kn, rv.p, rv.len, 0) ||
        !db_put_more(t, DB_CRLSTATE, r->ca, strlen(r->ca), se.p, se.len, 0))
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

    if (!need_write(t, "revoke") || !ca_name_ok(ca) || !serial_canon(serial, n, &sn) ||
        !reason_ok(reason) || !rev_target(t, ca, &sn, &r))
        return 0;
    if (r.status == CERT_REVOKED && (r.reason != REASON_HOLD || reason == REASON_HOLD)) {
        hex_of(sn.b, sn.n, hex, sizeof(hex));
        seterr("store %s: certificate %s of CA '%s': already revoked (reason %d)%s; nothing to "
               "do", t->s->path, hex, ca, r.reason, r.reason == REASON_HOLD ?
               ", on certificateHold: give another reason to revoke it for good" : "");
        cert_rec_clear(&r);
        return refuse();
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

    if (!need_write(t, "unrevoke") || !ca_name_ok(ca) || !serial_canon(serial, n, &sn) ||
        !rev_target(t, ca, &sn, &r))
        return 0;
    if (r.status != CERT_REVOKED || r.reason != REASON_HOLD) {
        hex_of(sn.b, sn.n, hex, sizeof(hex));
        seterr("store %s: certificate %s of CA '%s': not on certificateHold (%s, reason %d); only "
               "a held certificate can be taken off the CRL", t->s->path, hex, ca,
               r.status == CERT_REVOKED ? "revoked" : "valid", r.reason);
        cert_rec_clear(&r);
        return refuse();
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

/*
 * A cursor over the revoked entries of CA ca in ascending serial order (the CRL order); nothing
 * is accumulated, so a million entries take constant memory. Free it with store_rev_iter_free;
 * when the transaction ends first, the iterator is dead (next returns -1) but still needs freeing.
 */
struct store_rev_iter *store_rev_iter_new(struct store_txn *t, const char *ca)
{
    struct store_rev_iter *it;
    int rc;

    if (t == NULL) {
        seterr("store: revoked list: no transaction; fix the caller");
        return NULL;
    }
    if (!ca_name_ok(ca))
        return NULL;
    if ((it = OPENSSL_zalloc(sizeof(*it))) == NULL) {
        txn_err(t, "revoked", ENOMEM);
        return NULL;
    }
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[DB_REVOKED], &it->cur)) != 0) {
        txn_err(t, "revoked", rc);
        OPENSSL_free(it);
        return NULL;
    }
    it->plen = strlen(ca) + 1;
    memcpy(it->prefix, ca, it->plen);
    it->t = t;
    it->next = t->iters;
    t->iters = it;
    return it;
}

/* The next entry (e filled): 1, 0 at the end, -1 on error (store_error() says). */
int store_rev_iter_next(struct store_rev_iter *it, struct store_rev_entry *e)
{
    char ca[MAX_CA_NAME + 1];
    struct sn sn;
    const char *why;
    MDB_val k = mval(it ? it->prefix : NULL, it ? it->plen : 0), v;
    int rc;

    if (it == NULL || it->t == NULL || e == NULL) {
        seterr("store: revoked list: the iterator's transaction has ended; fix the caller");
        return -1;
    }
    rc = mdb_cursor_get(it->cur, &k, &v, it->started ? MDB_NEXT : MDB_SET_RANGE);
    it->started = 1;
    if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size < it->plen ||
                                           memcmp(k.mv_data, it->prefix, it->plen) != 0)))
        return 0;
    if (rc != 0) {
        txn_err(it->t, "revoked", rc);
        return -1;
    }
    memset(e, 0, sizeof(*e));
    if (!key_cs_parse(&k, 0, ca, &sn))
        return corrupt(it->t, "revoked", (const char *)it->prefix, "malformed key") - 1;
    if ((why = rev_decode(&v, e)) != NULL)
        return corrupt(it->t, "revoked", (const char *)it->prefix, why) - 1;
    memcpy(e->serial, sn.b, sn.n);
    e->serial_len = sn.n;
    return 1;
}

/* Close the cursor (when the txn is still open) and free it. NULL is a no-op. */
void store_rev_iter_free(struct store_rev_iter *it)
{
    if (it == NULL)
        return;
    if (it->t != NULL) {
        struct store_rev_iter **pp = &it->t->iters;
        while (*pp && *pp != it)
            pp = &(*pp)->next;
        if (*pp)
            *pp = it->next;
        mdb_cursor_close(it->cur);
    }
    OPENSSL_free(it);
}

static int count_one(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct store_rev_entry e;

    (void)k;
    if (rev_decode(v, &e) != NULL)
        return corrupt(t, "revoked", "entry", "malformed record") - 1;
    *(uint64_t *)ctx += e.reason != REASON_REMOVE;
    return 1;
}

/* Number of certificates of ca that are revoked (removeFromCRL tombstones not counted; a cursor
 * walk); 0 also on error (store_error() says). */
uint64_t store_rev_count(struct store_txn *t, const char *ca)
{
    uint64_t n = 0;

    if (!ca_name_ok(ca) || !db_scan(t, DB_REVOKED, ca, strlen(ca) + 1, count_one, &n))
        return 0;
    return n;
}

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
        seterr("store: directory: name '%.40s...' is longer than %d bytes; fix the export", name,
               MAX_DIR_NAME);
        return 0;
    }
    memcpy(k, dir_kinds[kind], 3);
    k[3] = ':';
    memcpy(k + 4, name, n + 1);
    ascii_lower((char *)k + 4);
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

static const char *dir_decode(const MDB_val *v, struct dir_entry *e)
{
    struct dec d;

    dec_head(&d, v, 'D');
    e->sam = dec_str(&d);
    e->upn = dec_str(&d);
    e->dns = dec_str(&d);
    e->sid = dec_str(&d);
    if (!d.err && e->sid == NULL)
        d.err = "entry without a SID";
    if (dec_end(&d))
        dir_entry_wipe(e);
    return d.err;
}

static int dir_check(const struct dir_entry *e, size_t i)
{
    unsigned char k[MAX_DIR_KEY];
    int names = 0;

    if (e->sid == NULL || e->sid[0] == '\0' || strlen(e->sid) > MAX_DIR_NAME) {
        seterr("store: directory entry %zu: no SID (or longer than %d bytes); fix the export",
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
        seterr("store: directory entry %zu (SID %s): has no sam, upn or dns name; fix the "
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

    enc_head(&en, 'D');
    enc_str(&en, e->sam);
    enc_str(&en, e->upn);
    enc_str(&en, e->dns);
    enc_str(&en, e->sid);
    if (en.bad) {
        OPENSSL_free(en.p);
        t->broken = 1;
        return code_err(t->s->path, "directory", ENOMEM);
    }
    for (int kind = 0; kind < DIR_KINDS && ok; kind++) {
        const char *n = dir_name_of(e, kind);
        size_t kn;
        if (n == NULL)
            continue;
        kn = dir_key(k, kind, n);
        put_be(k + kn, i, 4);
        ok = db_put_more(t, DB_DIR, k, kn + 4, en.p, en.len, 0);
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
    int rc;

    if (!need_write(t, "directory replace"))
        return 0;
    if (n > UINT32_MAX || (n > 0 && e == NULL)) {
        seterr("store: directory: %zu entries without data or above 2^32; fix the caller", n);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!dir_check(&e[i], i))
            return 0;
    if ((rc = mdb_drop(t->txn, t->s->dbi[DB_DIR], 0)) != 0) {
        t->broken = 1;
        return txn_err(t, "directory", rc);
    }
    for (size_t i = 0; i < n; i++)
        if (!dir_put_entry(t, &e[i], (uint32_t)i))
            return 0;
    put_be(cnt, n, 8);
    return db_put_more(t, DB_META, "dir_count", 9, cnt, 8, 0);
}

struct dir_scan {
    struct dir_entry first;            /* owned: the first match */
    int count;                         /* matches with distinct SIDs (same SID counts once) */
};

static int dir_scan_one(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct dir_scan *ds = ctx;
    struct dir_entry e = { 0 };
    const char *why;

    if ((why = dir_decode(v, &e)) != NULL)
        return corrupt(t, "directory", "entry", why) - 1;
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

    return kn && db_scan(t, DB_DIR, k, kn, dir_scan_one, ds);
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
        seterr("store: directory lookup: kind '%s' is not upn, dns or sam (or no name); fix the "
               "caller", kind ? kind : "");
        return -1;
    }
    if (!dir_scan_kind(t, k, name, &ds)) {
        dir_entry_wipe(&ds.first);
        return -1;
    }
    if (ds.count == 1 && (sid == NULL || strlen(ds.first.sid) >= n)) {
        seterr("store: directory: SID of '%s' does not fit the %zu-byte buffer; fix the caller",
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
        seterr("store: directory find: no transaction, name or entry; fix the caller");
        return -1;
    }
    for (int k = 0; k < DIR_KINDS; k++) {
        if (!dir_scan_kind(t, k, name, &ds)) {
            dir_entry_wipe(&ds.first);
            return -1;
        }
    }
    if (ds.count > 1) {
        seterr("store %s: directory: '%s' names %d principals with different SIDs; use the "
               "exact upn, dns or sam name", t->s->path, name, ds.count);
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
    MDB_val v;
    int found;

    if (t == NULL) {
        seterr("store: directory count: no transaction; fix the caller");
        return 0;
    }
    if ((found = db_get(t, DB_META, "dir_count", 9, &v)) <= 0)
        return 0;
    if (v.mv_size != 8) {
        corrupt(t, "meta", "dir_count", "not 8 bytes");
        return 0;
    }
    return get_be(v.mv_data, 8);
}

/* ---- audit ----------------------------------------------------------------------------------- */
/* Key: sequence (8 BE, from 1). prev_hash = SHA-256 of the previous record's stored bytes (zeros
 * for the first). meta "audit_head" = last sequence (8 BE) + SHA-256 of the last record, so a
 * removed or altered last record is found too. */

static void audit_encode(struct enc *e, const struct audit_rec *a)
{
    enc_head(e, 'A');
    enc_u64(e, a->seq);
    enc_time(e, a->when);
    enc_str(e, a->user);
    enc_str(e, a->action);
    enc_str(e, a->object);
    enc_str(e, a->result);
    enc_str(e, a->detail);
    enc_raw(e, a->prev_hash, sizeof(a->prev_hash));
}

static const char *audit_decode(const MDB_val *v, struct audit_rec *a)
{
    struct dec d;
    const unsigned char *h;

    memset(a, 0, sizeof(*a));
    dec_head(&d, v, 'A');
    a->seq = dec_int(&d, 8);
    a->when = dec_time(&d);
    dec_strbuf(&d, a->user, sizeof(a->user));
    dec_strbuf(&d, a->action, sizeof(a->action));
    dec_strbuf(&d, a->object, sizeof(a->object));
    dec_strbuf(&d, a->result, sizeof(a->result));
    dec_strbuf(&d, a->detail, sizeof(a->detail));
    if ((h = dec_raw(&d, sizeof(a->prev_hash))) != NULL)
        memcpy(a->prev_hash, h, sizeof(a->prev_hash));
    return dec_end(&d);
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

/* The last record: seq (0 when empty) and the hash of its bytes. 1 ok / 0. */
static int audit_last(struct store_txn *t, uint64_t *seq, unsigned char hash[32])
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc, ok = 0;

    *seq = 0;
    memset(hash, 0, 32);
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[DB_AUDIT], &c)) != 0)
        return txn_err(t, "audit", rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size != 8)
        corrupt(t, "audit", "last", "key is not 8 bytes");
    else if (rc == 0)
        ok = sha256(v.mv_data, v.mv_size, hash) && (*seq = get_be(k.mv_data, 8)) < UINT64_MAX;
    else if (rc == MDB_NOTFOUND)
        ok = 1;
    else
        txn_err(t, "audit", rc);
    mdb_cursor_close(c);
    return ok;
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

    if (!need_write(t, "audit"))
        return 0;
    if (action == NULL || action[0] == '\0') {
        seterr("store: audit: no action; fix the caller");
        return 0;
    }
    memset(&a, 0, sizeof(a));
    if (!audit_last(t, &a.seq, a.prev_hash))
        return 0;
    a.seq++;
    a.when = time(NULL);
    audit_user(a.user, sizeof(a.user));
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.object, sizeof(a.object), "%s", object ? object : "");
    snprintf(a.result, sizeof(a.result), "%s", result ? result : "");
    snprintf(a.detail, sizeof(a.detail), "%s", detail ? detail : "");
    audit_encode(&e, &a);
    put_be(k, a.seq, 8);
    put_be(head, a.seq, 8);
    if (e.bad) {
        code_err(t->s->path, "audit", ENOMEM);
        goto out;
    }
    if (!sha256(e.p, e.len, head + 8) ||
        !db_put_more(t, DB_AUDIT, k, 8, e.p, e.len, MDB_NOOVERWRITE) ||
        !db_put_more(t, DB_META, "audit_head", 10, head, sizeof(head), 0))
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

static int audit_scan_one(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct audit_scan *as = ctx;
    struct audit_rec a;
    const char *why;
    char what[32];

    snprintf(what, sizeof(what), "%llu",
             k->mv_size == 8 ? (unsigned long long)get_be(k->mv_data, 8) : 0ULL);
    if (k->mv_size != 8)
        return corrupt(t, "audit", what, "key is not 8 bytes") - 1;
    if ((why = audit_decode(v, &a)) != NULL)
        return corrupt(t, "audit", what, why) - 1;
    return as->fn(as->arg, &a) ? 1 : 0;
}

/* Call fn for each audit record, oldest first; fn returns 1 to go on, 0 to stop. 1 ok / 0. */
int store_audit_foreach(struct store_txn *t, int (*fn)(void *arg, const struct audit_rec *r),
                        void *arg)
{
    struct audit_scan as = { fn, arg, 0, { 0 } };

    return db_scan(t, DB_AUDIT, NULL, 0, audit_scan_one, &as);
}

#define AUDIT_FIX "restore the store from backup"

static int verify_one(struct store_txn *t, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct audit_scan *as = ctx;
    struct audit_rec a;
    const char *why;
    uint64_t seq = k->mv_size == 8 ? get_be(k->mv_data, 8) : 0;

    if (k->mv_size != 8 || seq == 0)
        return corrupt(t, "audit", "key", "not a sequence number from 1") - 1;
    if (seq != as->expect) {
        if (seq == as->expect + 1)
            seterr("audit record %llu: sequence gap: record %llu was removed; " AUDIT_FIX,
                   (unsigned long long)seq, (unsigned long long)as->expect);
        else
            seterr("audit record %llu: sequence gap: records %llu to %llu were removed; "
                   AUDIT_FIX, (unsigned long long)seq, (unsigned long long)as->expect,
                   (unsigned long long)seq - 1);
        return -1;
    }
    if ((why = audit_decode(v, &a)) != NULL) {
        seterr("audit record %llu: store corrupt: %s; " AUDIT_FIX, (unsigned long long)seq, why);
        return -1;
    }
    if (a.seq != seq) {
        seterr("audit record %llu: holds record %llu: records were reordered; " AUDIT_FIX,
               (unsigned long long)seq, (unsigned long long)a.seq);
        return -1;
    }
    if (CRYPTO_memcmp(a.prev_hash, as->prev, 32) != 0) {
        if (seq == 1)
            seterr("audit record 1: hash chain broken: the first record does not start the "
                   "chain (altered, or records before it were removed); " AUDIT_FIX);
        else
            seterr("audit record %llu: hash chain broken: record %llu was altered, or a record "
                   "was removed/reordered; " AUDIT_FIX, (unsigned long long)seq,
                   (unsigned long long)seq - 1);
        return -1;
    }
    as->expect = seq + 1;
    return sha256(v->mv_data, v->mv_size, as->prev) ? 1 : -1;
}

/* The walk ended at record last (0: empty): does meta "audit_head" agree? 1 / 0. */
static int verify_head(struct store_txn *t, uint64_t last, const unsigned char hash[32])
{
    MDB_val v;
    uint64_t head;
    int found = db_get(t, DB_META, "audit_head", 10, &v);

    if (found < 0)
        return 0;
    if (found == 0 || v.mv_size != 40) {
        if (found == 0 && last == 0)
            return 1;
        seterr("audit: chain head missing or malformed in meta; " AUDIT_FIX);
        return 0;
    }
    head = get_be(v.mv_data, 8);
    if (head > last) {
        seterr("audit record %llu: removed: the log ends at record %llu but %llu were "
               "written; " AUDIT_FIX, (unsigned long long)last + 1, (unsigned long long)last,
               (unsigned long long)head);
        return 0;
    }
    if (head < last || CRYPTO_memcmp((const unsigned char *)v.mv_data + 8, hash, 32) != 0) {
        seterr("audit record %llu: hash chain broken: record %llu was altered or added outside "
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

    if (!db_scan(t, DB_AUDIT, NULL, 0, verify_one, &as))
        return 0;
    return verify_head(t, as.expect - 1, as.prev);
}

/* ---- test hooks: not in store.h; only tests/unit/ca/test_store.c declares and calls them ---- */

static int db_index(const char *db)
{
    for (int i = 0; i < DB_COUNT; i++)
        if (db && strcmp(db, db_names[i]) == 0)
            return i;
    seterr("store: test hook: no database '%s'", db ? db : "");
    return -1;
}

/* Write (val non-NULL) or delete (val NULL) one raw key in db, in its own txn. 1 ok / 0. */
int store_test_raw_put(struct store *s, const char *db, const void *key, size_t klen,
                       const void *val, size_t vlen)
{
    struct store_txn *t;
    int i = db_index(db), ok;

    if (i < 0 || (t = store_txn_begin(s, 1)) == NULL)
        return 0;
    ok = val ? db_put(t, i, key, klen, val, vlen, 0) == 1 : db_del(t, i, key, klen);
    if (!ok) {
        store_txn_abort(t);
        return 0;
    }
    return store_txn_commit(t);
}

/* A copy of one raw value (OPENSSL_free it), or NULL. */
unsigned char *store_test_raw_get(struct store *s, const char *db, const void *key, size_t klen,
                                  size_t *vlen)
{
    struct store_txn *t;
    unsigned char *out = NULL;
    MDB_val v;
    int i = db_index(db);

    if (i < 0 || (t = store_txn_begin(s, 0)) == NULL)
        return NULL;
    if (db_get(t, i, key, klen, &v) == 1 && (out = OPENSSL_malloc(v.mv_size + 1)) != NULL) {
        memcpy(out, v.mv_data, v.mv_size);
        *vlen = v.mv_size;
    }
    store_txn_abort(t);
    return out;
}

/* Overwrite meta "schema" with v. 1 ok / 0. */
int store_test_set_schema(struct store *s, uint32_t v)
{
    unsigned char b[4];

    put_be(b, v, 4);
    return store_test_raw_put(s, "meta", "schema", 6, b, 4);
}
