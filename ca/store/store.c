/*
 * store.c — the LMDB store: environment, named databases, transactions, errors, the few LMDB
 * operations the record files use (store_int.h: get/put/del/drop/scan/count, the audit tail),
 * and the ordered walk of the revoked entries. The only file in offca that includes <lmdb.h>;
 * MDB codes become operator text here. Records: store_codec.c (encoding), store_certs.c (CAs,
 * certificates), store_revoke.c (revocations, CRL state), store_dir.c, store_audit.c.
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
#include "base/faultpoint.h"
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STORE_ERR 2048
#define MAX_STORE_PATH 1024
#define MAX_STORE_DBS 16
#define MAX_STORE_MAPSIZE ((size_t)64 << 30)        /* 64 GiB of address space, sparse file */
#define MAX_MAP_WINDOW ((size_t)2 << 20)            /* a PMD-mapped large folio (x86-64) */

_Static_assert(ST_NOOVERWRITE == MDB_NOOVERWRITE, "store_int.h: ST_NOOVERWRITE");

static const char *const db_names[DB_COUNT] = {
    "meta", "cas", "certs", "serials", "by_expiry", "revoked", "crl_state", "directory", "audit",
    "by_key", "blocked_keys", "generations",
    "crl_imported", "crl_presigned"    /* store_crlimp.c */
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
    uintptr_t map_lo, map_hi;          /* the environment's read-only map */
    uintptr_t win;                     /* map window of the current leaf page, or 0 */
    size_t win_size;                   /* MAX_MAP_WINDOW rounded up to the OS page size */
};


/* ---- errors ---------------------------------------------------------------------------------- */

static _Thread_local char err_msg[MAX_STORE_ERR];
static _Thread_local int err_code = STORE_ERR_SYSTEM;

const char *store_error(void) { return err_msg; }
int store_error_code(void) { return err_code; }

/* Every message is a system failure (class 4) unless st_refuse() says the request was refused. */
void st_seterr(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = STORE_ERR_SYSTEM;
}

/* The last message was a refusal (the request conflicts with what is stored). Returns 0. */
int st_refuse(void)
{
    err_code = STORE_ERR_REFUSED;
    return 0;
}

struct code_text {
    int rc;
    const char *name, *problem, *fix;
    int dir;                           /* append the store directory to the fix, then fix2 */
    const char *fix2;
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
    { EPERM, "EPERM", "operation not permitted (ownership, mode, or the immutable attribute)",
      "check ownership and mode of the files in", 1,
      " and whether one is immutable: 'lsattr' shows an 'i' flag, 'chattr -i FILE' (as root) "
      "clears it" },
    { ENOSPC, "ENOSPC", "no space left on device", "free space on the filesystem holding", 1 },
    { EROFS, "EROFS", "the store is on a read-only file system, and LMDB opens lock.mdb "
      "read-write even to read, so every command fails here, 'offca list' too",
      "remount it read-write (mount -o remount,rw), or copy the directory", 1,
      " to a writable place and point [store] path at the copy" },
    { ENOMEM, "ENOMEM", "out of memory", "free memory and run the command again", 0 },
    { ENOTDIR, "ENOTDIR", "a path component is not a directory", "check [store] path", 0 },
    { ENOENT, "ENOENT", "no such file or directory", "create the parent directory of", 1 },
};

/* "store DIR: OP: NAME: problem; fix" for an MDB code or an errno value. Returns 0. */
int st_code_err(const char *dir, const char *op, int rc)
{
    for (size_t i = 0; i < sizeof(code_texts) / sizeof(code_texts[0]); i++) {
        const struct code_text *c = &code_texts[i];
        if (c->rc == rc) {
            st_seterr("store %s: %s: %s: %s; %s%s%s%s", dir, op, c->name, c->problem, c->fix,
                   c->dir ? " " : "", c->dir ? dir : "", c->fix2 ? c->fix2 : "");
            return 0;
        }
    }
    st_seterr("store %s: %s: %s (code %d); check the store directory and run the command again", dir,
           op, mdb_strerror(rc), rc);
    return 0;
}

int st_txn_err(struct store_txn *t, const char *op, int rc)
{
    return st_code_err(t->s->path, op, rc);
}


/* ---- primitive operations -------------------------------------------------------------------- */

static MDB_val mval(const void *p, size_t n)
{
    MDB_val v;

    v.mv_data = (void *)p;
    v.mv_size = n;
    return v;
}

static struct store_val sval(const MDB_val *m)
{
    struct store_val v;

    v.mv_data = m->mv_data;
    v.mv_size = m->mv_size;
    return v;
}

/* 1 found (v borrowed until the txn ends), 0 not found, -1 error. */
int st_db_get(struct store_txn *t, int db, const void *k, size_t kn, struct store_val *v)
{
    MDB_val key = mval(k, kn), val;
    int rc = mdb_get(t->txn, t->s->dbi[db], &key, &val);

    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0) {
        st_txn_err(t, db_names[db], rc);
        return -1;
    }
    *v = sval(&val);
    return 1;
}

/* Empty db (in a write txn). 1 ok / 0 (the txn is marked broken). */
int st_db_drop(struct store_txn *t, int db)
{
    int rc = mdb_drop(t->txn, t->s->dbi[db], 0);

    if (rc != 0) {
        t->broken = 1;
        return st_txn_err(t, db_names[db], rc);
    }
    return 1;
}

/* Mark t broken: its commit is refused. */
void st_txn_break(struct store_txn *t) { t->broken = 1; }

/* The store directory of t's environment. */
const char *st_txn_path(const struct store_txn *t) { return t->s->path; }

/* 1 written, 0 key exists (flags MDB_NOOVERWRITE), -1 error (the txn is marked broken). */
int st_db_put(struct store_txn *t, int db, const void *k, size_t kn, const void *v, size_t vn,
                  unsigned flags)
{
    MDB_val key = mval(k, kn), val = mval(v, vn);
    int rc = mdb_put(t->txn, t->s->dbi[db], &key, &val, flags);

    if (rc == MDB_KEYEXIST)
        return 0;
    if (rc != 0) {
        t->broken = 1;
        st_txn_err(t, db_names[db], rc);
        return -1;
    }
    return 1;
}

/* A put that follows other writes of the same operation: anything but success breaks the txn. */
int st_db_put_more(struct store_txn *t, int db, const void *k, size_t kn, const void *v,
                       size_t vn, unsigned flags)
{
    int rc = st_db_put(t, db, k, kn, v, vn, flags);

    if (rc == 0) {
        t->broken = 1;
        st_seterr("store %s: %s: key already present although it was checked; the store is "
               "inconsistent; restore it from backup", t->s->path, db_names[db]);
    }
    return rc == 1;
}

int st_db_del(struct store_txn *t, int db, const void *k, size_t kn)
{
    MDB_val key = mval(k, kn);
    int rc = mdb_del(t->txn, t->s->dbi[db], &key, NULL);

    if (rc != 0) {
        t->broken = 1;
        return st_txn_err(t, db_names[db], rc);
    }
    return 1;
}

int st_need_write(struct store_txn *t, const char *what)
{
    if (t == NULL) {
        st_seterr("store: %s: no transaction (store_txn_begin failed?); fix the caller", what);
        return 0;
    }
    if (!t->write) {
        st_seterr("store %s: %s: needs a write transaction; begin it with write=1", t->s->path, what);
        return 0;
    }
    if (t->broken) {
        st_seterr("store %s: %s: an earlier write in this transaction failed; abort it", t->s->path,
               what);
        return 0;
    }
    return 1;
}

/* Scan db (see store_int.h). */
int st_db_scan(struct store_txn *t, int db, const void *prefix, size_t plen, st_scan_fn fn,
                   void *ctx)
{
    MDB_cursor *c = NULL;
    MDB_val k = mval(prefix, plen), v;
    int rc, r = 1, ok = 0;

    if (t == NULL) {
        st_seterr("store: %s: no transaction; fix the caller", db_names[db]);
        return 0;
    }
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[db], &c)) != 0)
        return st_txn_err(t, db_names[db], rc);
    rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && r == 1) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        struct store_val sk = sval(&k), sv = sval(&v);

        if ((r = fn(t, &sk, &sv, ctx)) < 0)
            goto out;
        if (r == 1)
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        st_txn_err(t, db_names[db], rc);
        goto out;
    }
    ok = 1;
out:
    mdb_cursor_close(c);
    return ok;
}


/* ---- environment ----------------------------------------------------------------------------- */

/* Refuse a missing store (create=0) or make its directory 0700 (create=1). */
static int dir_prepare(const char *dir, int create)
{
    char file[MAX_STORE_PATH + 16];
    struct stat st;

    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return st_code_err(dir, "stat", errno);
        if (!create) {
            st_seterr("store %s: not initialised; run 'offca init'", dir);
            return 0;
        }
        if (mkdir(dir, 0700) != 0)
            return st_code_err(dir, "mkdir", errno);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        st_seterr("store %s: not a directory; set [store] path to a directory", dir);
        return 0;
    }
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    if (!create && stat(file, &st) != 0) {
        if (errno != ENOENT)
            return st_code_err(dir, "stat data.mdb", errno);
        st_seterr("store %s: not initialised; run 'offca init'", dir);
        return 0;
    }
    return 1;
}

/* The databases every initialised store of the current schema holds, also listed in meta "dbs"
 * by init and by the upgrades from schema 1 and 2. */
#define STORE_DBS_LIST "cas,certs,serials,by_expiry,revoked,crl_state,directory,audit,by_key," \
                       "blocked_keys,generations,crl_imported,crl_presigned"

/* The schema of the store (*out): the current one, or 1 or 2 (upgraded by schema_upgrade). 1 / 0. */
static int schema_check(struct store *s, MDB_txn *txn, uint32_t *out)
{
    MDB_val k = mval("schema", 6), v;
    uint32_t ver;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);

    if (rc == MDB_NOTFOUND) {
        st_seterr("store %s: meta has no schema version: this is not an offca store, or a damaged "
                  "one; restore it from a backup, or point [store] path elsewhere (it was not "
                  "changed)", s->path);
        return 0;
    }
    if (rc != 0)
        return st_code_err(s->path, "meta", rc);
    if (v.mv_size != 4) {
        st_seterr("store %s: meta schema: store corrupt: %zu bytes instead of 4; restore the store "
               "from backup", s->path, v.mv_size);
        return 0;
    }
    ver = (uint32_t)st_get_be(v.mv_data, 4);
    if (ver > STORE_SCHEMA_VERSION) {
        st_seterr("store %s: schema version %u is newer than this offca understands (%u); upgrade "
               "offca", s->path, ver, STORE_SCHEMA_VERSION);
        return 0;
    }
    if (ver < 1) {
        st_seterr("store %s: schema version %u is not one this offca understands (%u); restore the "
               "store from backup", s->path, ver, STORE_SCHEMA_VERSION);
        return 0;
    }
    *out = ver;
    return 1;
}

/* The first database a store of schema ver lacks (DB_COUNT: none). */
static int first_missing_db(uint32_t ver)
{
    return ver == 1 ? DB_FIRST_V2 : ver == 2 ? DB_FIRST_V3 : DB_COUNT;
}

/* Schema 1 or 2 -> 3 in ONE write transaction: create the databases the store lacks (schema 1:
 * by_key, blocked_keys and the schema 3 ones; schema 2: generations, crl_imported and
 * crl_presigned, the last two empty until a parent's CRL is imported or a CRL pre-signed),
 * index every certificate by key
 * (from 1), give every CA its generation 0 with an audit record (st_upgrade), write the new
 * version and the list of databases. A crash before the commit leaves the old store as it was;
 * the next open upgrades it again. Another process may have done it meanwhile: the version is
 * read again under the writer lock. 1 ok / 0 (nothing changed). */
static int schema_upgrade(struct store *s)
{
    MDB_val k = mval("schema", 6), v;
    MDB_val lk = mval("dbs", 3), lv = mval(STORE_DBS_LIST, strlen(STORE_DBS_LIST));
    unsigned char b[4];
    struct store_txn *t;
    uint32_t from = STORE_SCHEMA_VERSION;
    int rc, ok = 1;

    if ((t = store_txn_begin(s, 1)) == NULL)
        return 0;
    if ((rc = mdb_get(t->txn, s->dbi[DB_META], &k, &v)) != 0)
        ok = st_code_err(s->path, "meta", rc);
    if (ok && v.mv_size == 4)
        from = (uint32_t)st_get_be(v.mv_data, 4);
    for (int i = first_missing_db(from); ok && i < DB_COUNT; i++)
        if ((rc = mdb_dbi_open(t->txn, db_names[i], MDB_CREATE, &s->dbi[i])) != 0)
            ok = st_code_err(s->path, db_names[i], rc);
    if (ok && from < STORE_SCHEMA_VERSION) {
        st_put_be(b, STORE_SCHEMA_VERSION, 4);
        v = mval(b, 4);
        ok = (from >= 2 || st_keys_rebuild(t)) && st_upgrade(t, from) &&
             (((rc = mdb_put(t->txn, s->dbi[DB_META], &k, &v, 0)) == 0 &&
               (rc = mdb_put(t->txn, s->dbi[DB_META], &lk, &lv, 0)) == 0) ||
              st_code_err(s->path, "meta", rc));
    }
    if (!ok) {
        store_txn_abort(t);
        return 0;
    }
    if (!store_txn_commit(t))
        return 0;
    if (from < STORE_SCHEMA_VERSION)
        fprintf(stderr, "offca: note: store %s upgraded from schema %u to %u\n", s->path, from,
                STORE_SCHEMA_VERSION);
    return 1;
}

/* Entries in the environment's main database (one per named database). -1 on error. */
static long long main_entries(MDB_txn *txn)
{
    MDB_dbi main;
    MDB_stat st;

    if (mdb_dbi_open(txn, NULL, 0, &main) != 0 || mdb_stat(txn, main, &st) != 0)
        return -1;
    return (long long)st.ms_entries;
}

/* A new store: every database, the schema version and the list of databases, in txn. */
static int dbs_create(struct store *s, MDB_txn *txn)
{
    unsigned char b[4];
    MDB_val k = mval("schema", 6), v = mval(b, 4);
    MDB_val lk = mval("dbs", 3), lv = mval(STORE_DBS_LIST, strlen(STORE_DBS_LIST));
    int rc = 0;

    for (int i = 0; i < DB_COUNT && rc == 0; i++)
        if ((rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i])) != 0)
            return st_code_err(s->path, db_names[i], rc);
    st_put_be(b, STORE_SCHEMA_VERSION, 4);
    if ((rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0)) != 0 ||
        (rc = mdb_put(txn, s->dbi[DB_META], &lk, &lv, 0)) != 0)
        return st_code_err(s->path, "meta", rc);
    return 1;
}

/* An initialised store: every database of its schema must be there (*ver: that schema). One
 * missing (a store dumped and loaded without it) is damage, never "not initialised": recreating
 * it empty would silently drop what it held (a revocation the next CRL would no longer list). */
static int dbs_existing(struct store *s, MDB_txn *txn, uint32_t *ver)
{
    int rc;

    if (!schema_check(s, txn, ver))
        return 0;
    for (int i = 1; i < DB_COUNT; i++) {
        if (i >= first_missing_db(*ver))
            break;                         /* schema_upgrade creates them */
        if ((rc = mdb_dbi_open(txn, db_names[i], 0, &s->dbi[i])) == MDB_NOTFOUND) {
            st_seterr("store %s: database '%s' is missing from an initialised store: the store "
                      "is damaged (what it held is lost); restore it from a backup. Do not run "
                      "'offca init': it never recreates a database", s->path, db_names[i]);
            return 0;
        }
        if (rc != 0)
            return st_code_err(s->path, db_names[i], rc);
    }
    return 1;
}

/* Open the named databases and check the schema (create=1: make them in an empty environment),
 * in one transaction; a schema 1 or 2 store is then upgraded in its own write transaction. An
 * environment that holds anything but an offca store is refused. */
static int dbs_open(struct store *s, int create)
{
    MDB_txn *txn = NULL;
    long long other;
    uint32_t ver = STORE_SCHEMA_VERSION;
    int rc, ok = 0;

    if ((rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn)) != 0)
        return st_code_err(s->path, "begin", rc);
    rc = mdb_dbi_open(txn, db_names[DB_META], 0, &s->dbi[DB_META]);
    if (rc == MDB_NOTFOUND) {
        if ((other = main_entries(txn)) != 0) {
            st_seterr("store %s: data.mdb is an LMDB environment that is not an offca store (no "
                      "offca meta; %lld other database(s) or entries); point [store] path at the "
                      "offca store or an empty directory (nothing was changed)", s->path, other);
            goto out;
        }
        if (!create) {
            st_seterr("store %s: not initialised; run 'offca init'", s->path);
            goto out;
        }
        if (!dbs_create(s, txn))
            goto out;
    } else if (rc != 0) {
        st_code_err(s->path, db_names[DB_META], rc);
        goto out;
    } else if (!dbs_existing(s, txn, &ver)) {
        goto out;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        st_code_err(s->path, "commit", rc);
        goto out;
    }
    ok = ver == STORE_SCHEMA_VERSION || schema_upgrade(s);
out:
    mdb_txn_abort(txn);
    return ok;
}

/* The map size: MAX_STORE_MAPSIZE of address space (sparse; the file grows with the data), or
 * $OFFCA_STORE_MAP_MB megabytes for tools that cannot reserve 64 GiB (valgrind). The value only
 * bounds how large the store may grow; a store opened with a smaller map than its data refuses
 * to open (MDB_INVALID / EINVAL), it is never truncated. */
static size_t store_map_size(void)
{
    const char *e = getenv("OFFCA_STORE_MAP_MB");
    char *end;
    unsigned long long mb;

    if (e && *e) {
        mb = strtoull(e, &end, 10);
        if (*end == '\0' && mb >= 1 && mb <= (MAX_STORE_MAPSIZE >> 20))
            return (size_t)mb << 20;
    }
    return MAX_STORE_MAPSIZE;
}

/*
 * Open the store at dir: create=1 makes the directory (0700, data.mdb and lock.mdb 0600) and the
 * databases when missing; create=0 refuses a missing store. Checks the schema version. Clears
 * reader slots left by crashed processes. Caller store_close()s.
 */
struct store *store_open(const char *dir, int create)
{
    struct store *s = NULL;
    MDB_envinfo info;
    mdb_filehandle_t fd;
    int rc, dead;

    if (dir == NULL || dir[0] == '\0' || strlen(dir) >= MAX_STORE_PATH) {
        st_seterr("store: path: empty or longer than %d bytes; set [store] path", MAX_STORE_PATH - 1);
        return NULL;
    }
    if (!dir_prepare(dir, create) || !store_trust_check(dir) || !st_file_check(dir))
        return NULL;
    if ((s = OPENSSL_zalloc(sizeof(*s))) == NULL) {
        st_code_err(dir, "open", ENOMEM);
        return NULL;
    }
    snprintf(s->path, sizeof(s->path), "%s", dir);
    if ((rc = mdb_env_create(&s->env)) != 0 ||
        (rc = mdb_env_set_maxdbs(s->env, MAX_STORE_DBS)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, store_map_size())) != 0 ||
        (rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_NORDAHEAD, 0600)) != 0) {
        st_code_err(dir, "open", rc);
        goto fail;
    }
    if ((rc = mdb_env_get_fd(s->env, &fd)) != 0) {
        st_code_err(dir, "open", rc);
        goto fail;
    }
    if (!store_trust_fd(dir, fd))
        goto fail;
    if (mdb_env_info(s->env, &info) == 0)
        st_fault_guard(dir, info.me_mapaddr, info.me_mapsize);
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
        st_seterr("store: no store open; fix the caller");
        return NULL;
    }
    if ((t = OPENSSL_zalloc(sizeof(*t))) == NULL) {
        st_code_err(s->path, "begin", ENOMEM);
        return NULL;
    }
    t->s = s;
    t->write = write != 0;
    if ((rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn)) != 0) {
        st_code_err(s->path, "begin", rc);
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
        st_seterr("store: commit: no transaction; fix the caller");
        return 0;
    }
    iters_detach(t);
    if (t->broken) {
        mdb_txn_abort(t->txn);
        st_seterr("store %s: commit refused: a write in this transaction failed, nothing was "
               "changed; fix the earlier error and run the command again", t->s->path);
    } else {
        if (t->write)
            FAULTPOINT("store.before-commit", t->s->path);
        if ((rc = mdb_txn_commit(t->txn)) != 0) {
            st_code_err(t->s->path, "commit", rc);
        } else {
            ok = 1;
            if (t->write)
                FAULTPOINT("store.committed", t->s->path);
        }
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


uint64_t st_db_entries(struct store_txn *t, int db)
{
    MDB_stat st;
    int rc;

    if (t == NULL) {
        st_seterr("store: count: no transaction; fix the caller");
        return 0;
    }
    if ((rc = mdb_stat(t->txn, t->s->dbi[db], &st)) != 0) {
        st_txn_err(t, db_names[db], rc);
        return 0;
    }
    return st.ms_entries;
}


/* Where the environment's map of data.mdb is, for rev_iter_release: LMDB does not say
 * (mdb_env_info's me_mapaddr is set only with MDB_FIXEDMAP), so find the mapping of the
 * environment's file (same device and inode) in /proc/self/maps. Not found: no release. */
static void rev_iter_map(struct store_rev_iter *it, MDB_env *env)
{
    char line[MAX_STORE_PATH + 256];
    unsigned long lo, hi, ino, maj, min;
    mdb_filehandle_t fd;
    struct stat st;
    FILE *f;
    long os = sysconf(_SC_PAGESIZE);

    it->win_size = os > 0 ? ((MAX_MAP_WINDOW + (size_t)os - 1) / (size_t)os) * (size_t)os
                          : MAX_MAP_WINDOW;
    if (mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &st) != 0 ||
        (f = fopen("/proc/self/maps", "re")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%lx-%lx %*s %*x %lx:%lx %lu", &lo, &hi, &maj, &min, &ino) == 5 &&
            ino == (unsigned long)st.st_ino && makedev(maj, min) == st.st_dev) {
            it->map_lo = (uintptr_t)lo;
            it->map_hi = (uintptr_t)hi;
            break;
        }
    fclose(f);
}

/*
 * Memory: a walk of a million revoked entries touches ~26,000 leaf pages scattered through a
 * multi-GB map, and each page fault also maps the cached pages around it (fault-around: 64 KiB;
 * a large page-cache folio, as ext4 and XFS make, up to a whole 2 MiB PMD), so the process's RSS
 * would grow by GBs of clean file pages. When the cursor leaves a leaf page's 2 MiB-aligned
 * window, drop that window from this process: LMDB's map is read-only MAP_SHARED (no
 * MDB_WRITEMAP), so MADV_DONTNEED only unmaps clean page-cache pages, which a later access
 * faults back in unchanged. Only the map itself is touched (a key in a write txn's dirty page
 * lives in heap memory and is skipped); the window is clipped to the map.
 */
static void rev_iter_release(struct store_rev_iter *it, const void *key)
{
    uintptr_t k = (uintptr_t)key, w, lo, hi;

    if (it->map_lo == 0 || k < it->map_lo || k >= it->map_hi)
        return;
    w = k - k % it->win_size;                  /* fault-around windows are address-aligned */
    if (w == it->win)
        return;
    if (it->win != 0) {
        lo = it->win < it->map_lo ? it->map_lo : it->win;
        hi = it->win + it->win_size < it->map_hi ? it->win + it->win_size : it->map_hi;
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);   /* advice: failure is harmless */
    }
    it->win = w;
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
        st_seterr("store: revoked list: no transaction; fix the caller");
        return NULL;
    }
    if (!st_ca_name_ok(ca))
        return NULL;
    if ((it = OPENSSL_zalloc(sizeof(*it))) == NULL) {
        st_txn_err(t, "revoked", ENOMEM);
        return NULL;
    }
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[DB_REVOKED], &it->cur)) != 0) {
        st_txn_err(t, "revoked", rc);
        OPENSSL_free(it);
        return NULL;
    }
    it->plen = strlen(ca) + 1;
    memcpy(it->prefix, ca, it->plen);
    rev_iter_map(it, t->s->env);
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
    struct store_val sk, sv;
    int rc;

    if (it == NULL || it->t == NULL || e == NULL) {
        st_seterr("store: revoked list: the iterator's transaction has ended; fix the caller");
        return -1;
    }
    rc = mdb_cursor_get(it->cur, &k, &v, it->started ? MDB_NEXT : MDB_SET_RANGE);
    it->started = 1;
    if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size < it->plen ||
                                           memcmp(k.mv_data, it->prefix, it->plen) != 0)))
        return 0;
    if (rc != 0) {
        st_txn_err(it->t, "revoked", rc);
        return -1;
    }
    memset(e, 0, sizeof(*e));
    sk = sval(&k);
    sv = sval(&v);
    if (!st_key_cs_parse(&sk, 0, ca, &sn))
        return st_corrupt(it->t, "revoked", (const char *)it->prefix, "malformed key") - 1;
    if ((why = st_rev_decode(&sv, e)) != NULL)
        return st_corrupt(it->t, "revoked", (const char *)it->prefix, why) - 1;
    memcpy(e->serial, sn.b, sn.n);
    e->serial_len = sn.n;
    rev_iter_release(it, k.mv_data);
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


/* The last record: seq (0 when empty) and the hash of its bytes. 1 ok / 0. */
int st_audit_last(struct store_txn *t, uint64_t *seq, unsigned char hash[32])
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc, ok = 0;

    *seq = 0;
    memset(hash, 0, 32);
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[DB_AUDIT], &c)) != 0)
        return st_txn_err(t, "audit", rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size != 8)
        st_corrupt(t, "audit", "last", "key is not 8 bytes");
    else if (rc == 0)
        ok = st_sha256(v.mv_data, v.mv_size, hash) && (*seq = st_get_be(k.mv_data, 8)) < UINT64_MAX;
    else if (rc == MDB_NOTFOUND)
        ok = 1;
    else
        st_txn_err(t, "audit", rc);
    mdb_cursor_close(c);
    return ok;
}

/* ---- backup ---------------------------------------------------------------------------------- */

/*
 * Write a compacted copy of the whole environment to fd (LMDB's mdb_env_copyfd2 with
 * MDB_CP_COMPACT: it runs in a read transaction of its own, so it is one consistent snapshot while
 * other processes go on writing; free pages are left out). fd: an empty regular file, written from
 * its start, or a pipe (written in order, never sought). The caller fsyncs and closes it.
 * 1 ok / 0 (message set).
 */
int store_copy_compact(struct store *s, int fd)
{
    int rc;

    if (s == NULL || fd < 0) {
        st_seterr("store: copy: no store or no output file; fix the caller");
        return 0;
    }
    if ((rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT)) != 0)
        return st_code_err(s->path, "copy", rc);
    return 1;
}

/* Pages on LMDB's free list plus the free list's own tree pages, in txn: what a compacting copy
 * leaves out. 1 ok / 0. */
static int free_pages(MDB_txn *txn, uint64_t *n)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    MDB_stat st;
    size_t ids;
    int rc;

    *n = 0;
    if (mdb_stat(txn, 0, &st) != 0 || mdb_cursor_open(txn, 0, &c) != 0)   /* 0: FREE_DBI */
        return 0;
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0 && v.mv_size >= sizeof(ids)) {
        memcpy(&ids, v.mv_data, sizeof(ids));          /* an ID list: its count comes first */
        *n += ids;
    }
    mdb_cursor_close(c);
    *n += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    return rc == 0 || rc == MDB_NOTFOUND;
}

/*
 * The bytes store_copy_compact would write now: the pages in use (every page up to the last one
 * less the free ones, counted as LMDB's compacting copy counts them). An estimate for a progress
 * line (a writer may commit before the copy starts); 0 when it cannot be learnt.
 */
uint64_t store_copy_size(struct store *s)
{
    MDB_txn *txn = NULL;
    MDB_envinfo info;
    MDB_stat st;
    uint64_t unused = 0, size = 0;

    if (s == NULL || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0 &&
        free_pages(txn, &unused) && (uint64_t)info.me_last_pgno + 1 > unused)
        size = ((uint64_t)info.me_last_pgno + 1 - unused) * st.ms_psize;
    mdb_txn_abort(txn);
    return size;
}

/* The audit chain's head in t: records held, last sequence, SHA-256 of the last record's bytes
 * (what the next record's prev_hash will be; zeros when empty). 1 ok / 0 (message set). */
int store_audit_head(struct store_txn *t, struct store_audit_head *h)
{
    if (t == NULL || h == NULL) {
        st_seterr("store: audit head: no transaction; fix the caller");
        return 0;
    }
    memset(h, 0, sizeof(*h));
    if (!st_audit_last(t, &h->last_seq, h->sha256))
        return 0;
    h->records = st_db_entries(t, DB_AUDIT);
    return 1;
}

/* ---- test hooks: not in store.h; only tests/unit/ca/test_store.c declares and calls them.
 * Test build only (-DOFFCA_TEST_BUILD): build/offca has no raw write into the store. ---- */
#ifdef OFFCA_TEST_BUILD

static int db_index(const char *db)
{
    for (int i = 0; i < DB_COUNT; i++)
        if (db && strcmp(db, db_names[i]) == 0)
            return i;
    st_seterr("store: test hook: no database '%s'", db ? db : "");
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
    ok = val ? st_db_put(t, i, key, klen, val, vlen, 0) == 1 : st_db_del(t, i, key, klen);
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
    struct store_val v;
    int i = db_index(db);

    if (i < 0 || (t = store_txn_begin(s, 0)) == NULL)
        return NULL;
    if (st_db_get(t, i, key, klen, &v) == 1 && (out = OPENSSL_malloc(v.mv_size + 1)) != NULL) {
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

    st_put_be(b, v, 4);
    return store_test_raw_put(s, "meta", "schema", 6, b, 4);
}

/* Turn a store back into schema v (1: delete by_key, blocked_keys and the schema 3 databases;
 * 2: delete generations, crl_imported and crl_presigned) and write version v. Records keep their newer fields. 1 ok / 0. */
int store_test_make_old(struct store *s, uint32_t v)
{
    struct store_txn *t = store_txn_begin(s, 1);
    int ok = t != NULL;

    for (int i = first_missing_db(v); ok && i < DB_COUNT; i++)
        ok = mdb_drop(t->txn, s->dbi[i], 1) == 0;
    if (!ok) {
        store_txn_abort(t);
        return 0;
    }
    return store_txn_commit(t) && store_test_set_schema(s, v);
}

/* store_test_make_old(s, 1). */
int store_test_make_v1(struct store *s) { return store_test_make_old(s, 1); }
#endif /* OFFCA_TEST_BUILD */
