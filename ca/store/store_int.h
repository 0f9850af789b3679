/*
 * store_int.h — private to the ca/store*.c files: limits, database indexes, the record codec, and
 * the few LMDB operations the record files need, wrapped by store.c behind the opaque
 * struct store_txn (store.c is the only file that includes <lmdb.h>).
 */
#ifndef OFFCA_STORE_INT_H
#define OFFCA_STORE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca/store/store.h"

#define MAX_STORE_FIELD ((size_t)64 << 20)          /* one field of a record */
#define MAX_DIR_NAME 400                            /* keys must stay under LMDB's 511 bytes */
#define MAX_CS_KEY (8 + MAX_CA_NAME + 2 + MAX_STORE_SERIAL)
#define MAX_DIR_KEY (4 + MAX_DIR_NAME + 1 + 4)
#define REC_VERSION 1
#define LEN_NULL 0xffffffffu
#define REASON_HOLD 6
#define REASON_REMOVE 8
#define ST_NOOVERWRITE 0x10                         /* = MDB_NOOVERWRITE (checked in store.c) */

enum { DB_META, DB_CAS, DB_CERTS, DB_SERIALS, DB_EXPIRY, DB_REVOKED, DB_CRLSTATE, DB_DIR, DB_AUDIT,
       DB_BY_KEY, DB_BLOCKED,
       /* schema 3: generations (store_gen.c), imported parent CRLs, pre-signed CRLs
        * (store_crlimp.c) */
       DB_GENS, DB_CRLIMP, DB_PRESIGN,
       DB_COUNT };
#define DB_FIRST_V2 DB_BY_KEY                       /* databases schema 1 did not have */
#define DB_FIRST_V3 DB_GENS                         /* databases schema 2 did not have */

/* A key or value borrowed from the store until its transaction ends (LMDB's MDB_val fields). */
struct store_val {
    size_t mv_size;
    void *mv_data;
};

struct sn {                            /* a canonical serial */
    unsigned char b[MAX_STORE_SERIAL];
    size_t n;
};

struct enc {
    unsigned char *p;
    size_t len, cap;
    int bad;
};

struct dec {
    const unsigned char *p;
    size_t len, off;
    const char *err;                   /* first problem found; later reads are no-ops */
};

/* ---- errors (store.c) ---- */
/* Every message is a system failure (class 4) unless st_refuse() says the request was refused. */
void st_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message was a refusal (the request conflicts with what is stored). Returns 0. */
int st_refuse(void);
/* "store DIR: OP: NAME: problem; fix" for an MDB code or an errno value. Returns 0. */
int st_code_err(const char *dir, const char *op, int rc);
/* store_guard.c: data.mdb checked against its own header before it is mapped (1 ok / 0 with the
 * restore advice), and a SIGBUS inside the map [map, map+len) turned into that message, exit 4. */
int st_file_check(const char *dir);
void st_fault_guard(const char *dir, const void *map, size_t len);
/* store_trust.c: the store directory, data.mdb and lock.mdb are no symlinks, owned by root or
 * the running user, not group/world-writable (templates/trust.c's rule). store_trust_check runs
 * before LMDB opens them, store_trust_fd on LMDB's data file descriptor after. 1 ok / 0 with the
 * store error set. */
int store_trust_check(const char *dir) __attribute__((warn_unused_result));
int store_trust_fd(const char *dir, int fd) __attribute__((warn_unused_result));
/* The same for the store of t. Returns 0. */
int st_txn_err(struct store_txn *t, const char *op, int rc);
/* "store DIR: DB record WHAT: store corrupt: WHY; restore ...". Returns 0. */
int st_corrupt(struct store_txn *t, const char *db, const char *what, const char *why);

/* ---- transactions and LMDB operations (store.c) ---- */
/* The store directory of t's environment (for messages). */
const char *st_txn_path(const struct store_txn *t);
/* 1 when t is a write transaction where nothing failed yet, else 0 with the reason. */
int st_need_write(struct store_txn *t, const char *what);
/* Mark t broken: its commit is refused (a write failed half-way). */
void st_txn_break(struct store_txn *t);
/* 1 found (v borrowed until the txn ends), 0 not found, -1 error. */
int st_db_get(struct store_txn *t, int db, const void *k, size_t kn, struct store_val *v);
/* 1 written, 0 key exists (flags ST_NOOVERWRITE), -1 error (the txn is marked broken). */
int st_db_put(struct store_txn *t, int db, const void *k, size_t kn, const void *v, size_t vn,
              unsigned flags);
/* A put that follows other writes of the same operation: anything but success breaks the txn. */
int st_db_put_more(struct store_txn *t, int db, const void *k, size_t kn, const void *v,
                   size_t vn, unsigned flags);
/* Delete k: 1 deleted or absent / 0 error (the txn is marked broken). */
int st_db_del(struct store_txn *t, int db, const void *k, size_t kn);
/* Empty db (in a write txn). 1 ok / 0 (the txn is marked broken). */
int st_db_drop(struct store_txn *t, int db);
/* Scan db from the first key >= prefix while keys start with prefix (plen 0: everything).
 * fn returns 1 go on, 0 stop, -1 error (message set). Returns 1 ok / 0 error. */
typedef int (*st_scan_fn)(struct store_txn *t, const struct store_val *k,
                          const struct store_val *v, void *ctx);
int st_db_scan(struct store_txn *t, int db, const void *prefix, size_t plen, st_scan_fn fn,
               void *ctx);
/* Number of entries in db; 0 also on error. */
uint64_t st_db_entries(struct store_txn *t, int db);
/* The last audit record: seq (0 when empty) and the hash of its bytes. 1 ok / 0. */
int st_audit_last(struct store_txn *t, uint64_t *seq, unsigned char hash[32]);

/* ---- codec (store_codec.c) ---- */
void st_hex_of(const unsigned char *p, size_t n, char *out, size_t cap);
void st_put_be(unsigned char *b, uint64_t v, int n);
uint64_t st_get_be(const unsigned char *b, int n);
void st_enc_raw(struct enc *e, const void *v, size_t n);
void st_enc_int(struct enc *e, uint64_t v, int n);
void st_enc_u8(struct enc *e, unsigned v);
void st_enc_u32(struct enc *e, uint32_t v);
void st_enc_u64(struct enc *e, uint64_t v);
void st_enc_time(struct enc *e, time_t t);
void st_enc_bytes(struct enc *e, const void *p, size_t n);
void st_enc_str(struct enc *e, const char *s);
void st_enc_head(struct enc *e, char kind);
const unsigned char *st_dec_raw(struct dec *d, size_t n);
uint64_t st_dec_int(struct dec *d, int n);
time_t st_dec_time(struct dec *d);
int st_dec_small(struct dec *d, unsigned max);
const unsigned char *st_dec_field(struct dec *d, size_t *n);
unsigned char *st_dec_bytes(struct dec *d, size_t *n);
char *st_dec_str(struct dec *d);
void st_dec_strbuf(struct dec *d, char *buf, size_t cap);
void st_dec_head(struct dec *d, const struct store_val *v, char kind);
const char *st_dec_end(struct dec *d);
int st_ca_name_ok(const char *ca);
int st_serial_canon(const unsigned char *in, size_t n, struct sn *out);
size_t st_key_cs(unsigned char *k, const char *ca, const struct sn *sn);
int st_key_cs_parse(const struct store_val *k, size_t off, char *ca, struct sn *sn);
void st_ascii_lower(char *s);
int st_sha256(const void *p, size_t n, unsigned char out[32]);

/* ---- certificate records (store_certs.c) ---- */
void st_cert_encode(struct enc *e, const struct cert_rec *r, const struct sn *sn);
/* The certificate record of ca/serial: 1 found, 0 not found (message set), -1 error. */
int st_cert_load(struct store_txn *t, const char *ca, const struct sn *sn, struct cert_rec *r);
/* The CA owning serial (any CA): 1 found, 0 none, -1 error. */
int st_serial_owner(struct store_txn *t, const struct sn *sn, char owner[MAX_CA_NAME + 1]);

/* ---- keys (store_keys.c) ---- */
/* Index r by its key hash (store_cert_add). 1 ok / 0 (txn broken). */
int st_key_index_put(struct store_txn *t, const struct cert_rec *r, const struct sn *sn);
/* Schema upgrade 1 -> 2: index every stored certificate by key. 1 ok / 0. */
int st_keys_rebuild(struct store_txn *t);
/* ---- generations (store_gen.c) ---- */
/* Schema upgrade from version `from` to 3: generation 0 of every CA and the audit record (store.c opened the new databases): 1 ok / 0. */
int st_upgrade(struct store_txn *t, uint32_t from);
/* The crl_state key of (ca, key index): the name alone for key 0 (as schema 1 wrote it). */
size_t st_key_crl(unsigned char *k, const char *ca, unsigned key_index);

/* ---- revocation records (store_revoke.c) ---- */
const char *st_rev_decode(const struct store_val *v, struct store_rev_entry *re);

#endif
