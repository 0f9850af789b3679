/*
 * ca/store/ — the room holding the LMDB store: records, their codecs, indexes and the audit chain
 * (store*.c; store.c is the only file of offca that includes <lmdb.h>; store_int.h is private to
 * this room), and a CA's generations as stored, with their file names and URLs (gen.c).
 *
 * May include: base/, the leaves, ca/common, ca/config.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_STORE_H
#define OFFCA_CA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <openssl/x509.h>

#include "base/limits.h"

/* ---- the LMDB store (ca/store/store.c is the only file that includes <lmdb.h>).
 *
 * One LMDB environment at [store] path (directory 0700, files 0600) with named databases:
 *   meta       "schema" -> version (an unknown version is a clear error, never a crash)
 *   cas        name -> CA record
 *   certs      ca '\0' len serial -> certificate record
 *   serials    serial -> ca name (find a certificate by serial alone)
 *   by_expiry  not_after(8 BE, offset 2^63) ca '\0' len serial -> "" (expiry without a full scan)
 *   revoked    ca '\0' len serial -> revocation record (ordered by serial within a CA: CRL order)
 *   crl_state  ca -> last CRL number, this/next update, next publish, published hashes, dirty flag
 *   directory  principal key ("upn:..", "dns:..", "sam:..", lowercased) -> SID
 *   audit      sequence (8 BE) -> hash-chained record
 *   by_key     SHA-256(SubjectPublicKeyInfo) ca '\0' len serial -> "" (certificates by key)
 *   blocked_keys SHA-256(SubjectPublicKeyInfo) -> the certificate revoked for keyCompromise
 *   generations ca '\0' cert index (2 BE) -> one certificate generation of the CA (schema 3)
 *   crl_imported SHA-256(parent's SubjectPublicKeyInfo) number(8 BE) -> a CRL of a parent CA that
 *              lives on another machine, imported (store_crlimp.c; schema 3)
 *   crl_presigned ca '\0' number(8 BE) -> a CRL signed ahead of its time (store_crlimp.c;
 *              schema 3)
 * A schema 1 store (no by_key, blocked_keys, nor the schema 3 databases) or schema 2 store (no
 * schema 3 databases) is upgraded in place on open: one write transaction creates what it lacks,
 * indexes every stored certificate by key (from 1) and gives every CA its generation 0.
 * Every state change is one write transaction: begin, do everything, append the audit record,
 * commit. LMDB's single writer serialises concurrent offca processes. Values are copied out of
 * LMDB before the transaction ends: records handed back are owned by the caller.
 *
 * Errors: 1/0 (or 1 found / 0 not found / -1 error where said); messages through store_error(),
 * MDB codes turned into text here ("store /var/lib/offca: MDB_MAP_FULL: ...; <fix>").
 */

#define STORE_SCHEMA_VERSION 3         /* 2: by_key and blocked_keys; 3: generations,
                                        * crl_imported, crl_presigned (1 and 2 are upgraded in
                                        * place) */
#define STORE_KEY_HASH 32
#define MAX_CA_INDEX 0xffff            /* certificate and key indexes are 16 bits (CA Version) */
#define MAX_STORE_SERIAL 20

struct store;                          /* opaque: the environment and its databases */
struct store_txn;                      /* opaque: one read or write transaction */

const char *store_error(void);
/* The exit class of the last failure: STORE_ERR_REFUSED (1) when the request conflicts with what
 * is stored (unknown or foreign serial, already revoked, not on hold, not a revocation reason),
 * STORE_ERR_SYSTEM (4) for everything else (LMDB, I/O, memory, corruption). */
enum { STORE_ERR_REFUSED = 1, STORE_ERR_SYSTEM = 4 };
int store_error_code(void);

/* Open the environment at dir. create=1 makes the directory (0700) and the databases if missing;
 * create=0 refuses a missing store with "run 'offca init'". Checks the schema version. */
struct store *store_open(const char *dir, int create);
void store_close(struct store *s);
const char *store_get0_path(const struct store *s);

struct store_txn *store_txn_begin(struct store *s, int write);
/* Commit (write txns); the txn is freed either way. 1 ok / 0 (nothing was changed). */
int store_txn_commit(struct store_txn *t) __attribute__((warn_unused_result));
void store_txn_abort(struct store_txn *t);      /* NULL is a no-op */

/* ---- CAs ---- */
enum ca_state { CA_ACTIVE = 0, CA_RETIRED = 1, CA_PENDING = 2 };  /* PENDING: `ca csr` done, no cert */
struct ca_rec {
    char name[MAX_CA_NAME + 1];
    char *key_uri;                     /* owned */
    char *parent;                      /* owned; NULL for a root or an imported CA's outside parent */
    unsigned char *cert_der;           /* owned */
    size_t cert_len;
    unsigned char *chain_der;          /* owned: DER certs of the outside chain (import), or NULL */
    size_t chain_len;
    int is_root;
    enum ca_state state;
    time_t created;
    char sig[16];                      /* "rsa-pkcs1" | "rsa-pss" | "ecdsa" */
    char hash[8];                      /* "sha256" | "sha384" | "sha512" */
};
void ca_rec_clear(struct ca_rec *r);   /* frees owned members, zeroes */
/* Insert; fails (0, message) when the name exists. */
int store_ca_add(struct store_txn *t, const struct ca_rec *r) __attribute__((warn_unused_result));
/* Overwrite an existing CA record (a pending CA getting its certificate at import); 0 when the
 * name does not exist. */
int store_ca_replace(struct store_txn *t, const struct ca_rec *r) __attribute__((warn_unused_result));
/* 1 found (r filled, caller ca_rec_clear), 0 not found, -1 error. */
int store_ca_get(struct store_txn *t, const char *name, struct ca_rec *r);
/* Calls fn for each CA in name order; fn returns 1 to go on, 0 to stop. */
int store_ca_foreach(struct store_txn *t, int (*fn)(void *arg, const struct ca_rec *r), void *arg);

/* ---- certificates ---- */
enum cert_status { CERT_VALID = 0, CERT_REVOKED = 1 };   /* expired is computed from not_after */
struct cert_rec {
    char ca[MAX_CA_NAME + 1];
    unsigned char serial[MAX_STORE_SERIAL];   /* big-endian; stored and returned canonical: DER */
    size_t serial_len;                        /* INTEGER contents (0x00 added when top bit set) */
    unsigned char *der;                /* owned */
    size_t der_len;
    char *template_name;               /* owned */
    char *subject;                     /* owned: RFC 4514 */
    char *sans;                        /* owned: "dns:a\nupn:b" */
    char *sid;                         /* owned or NULL */
    time_t not_before, not_after, issued_at;
    enum cert_status status;
    /* revocation (status == CERT_REVOKED) */
    time_t revoked_at, invalidity;     /* invalidity 0 = none */
    int reason;                        /* crl_reason value; -1 none */
    unsigned key_index;                /* the issuing CA's key generation that signed it (0 for
                                        * every record written before generations existed) */
};
void cert_rec_clear(struct cert_rec *r);
/* 1 when (ca, serial) or the serial alone is already taken, 0 free, -1 error. */
int store_serial_taken(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n);
/* Insert a new certificate (with its serial and expiry indexes); 0 if the serial is taken. */
int store_cert_add(struct store_txn *t, const struct cert_rec *r) __attribute__((warn_unused_result));
/* The same for an adopted certificate of a legacy CA (ca import --certutil-view): der may be NULL
 * (only serial, dates and subject known); such a record is not indexed by key. */
int store_cert_adopt(struct store_txn *t, const struct cert_rec *r) __attribute__((warn_unused_result));
int store_cert_get(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n,
                   struct cert_rec *r);  /* 1 found, 0 not, -1 error */
/* Find by serial alone (any CA): 1 found, 0 not, -1 error. */
int store_cert_find(struct store_txn *t, const unsigned char *serial, size_t n, struct cert_rec *r);
/* Iterate certificates of one CA (ca non-NULL) or all, in key order; fn returns 1 go on, 0 stop. */
int store_cert_foreach(struct store_txn *t, const char *ca,
                       int (*fn)(void *arg, const struct cert_rec *r), void *arg);
/* Iterate certificates whose not_after <= until, oldest first. */
int store_cert_foreach_expiring(struct store_txn *t, time_t until,
                                int (*fn)(void *arg, const struct cert_rec *r), void *arg);
uint64_t store_cert_count(struct store_txn *t);

/* ---- keys: certificates by key, compromised keys (store_keys.c) ---- */
/* SHA-256 of the SubjectPublicKeyInfo of a DER certificate. 1 ok / 0 not a certificate. */
int store_cert_key_hash(const unsigned char *der, size_t len, unsigned char out[STORE_KEY_HASH]);
/* Every certificate (ca, serial) carrying the key; fn returns 1 go on, 0 stop. 1 ok / 0 error. */
int store_key_foreach(struct store_txn *t, const unsigned char hash[STORE_KEY_HASH],
                      int (*fn)(void *arg, const char *ca, const unsigned char *serial, size_t n),
                      void *arg) __attribute__((warn_unused_result));
/* Block the key (keyCompromise of certificate ca/serial); an existing entry is kept. 1 / 0. */
int store_key_block(struct store_txn *t, const unsigned char hash[STORE_KEY_HASH],
                    const char *ca, const unsigned char *serial, size_t n, time_t when)
    __attribute__((warn_unused_result));
/* 1 blocked (why names the revoked certificate), 0 not, -1 error. */
int store_key_blocked(struct store_txn *t, const unsigned char hash[STORE_KEY_HASH], char *why,
                      size_t whylen);
/* ---- revocation ---- */
/* Mark (ca, serial) revoked and add it to the revoked index; 0 with a message when unknown or
 * already revoked (certificateHold may be changed to another reason). Marks the CA's CRL dirty. */
int store_revoke(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n,
                 int reason, time_t when, time_t invalidity) __attribute__((warn_unused_result));
/* Take a certificateHold entry off; 0 unless it is on hold. Its revoked entry stays as a
 * tombstone with reason removeFromCRL (8) and changed_in = the CA's last CRL number: base CRLs
 * skip tombstones, the next delta CRL lists it as removeFromCRL. Marks dirty. */
int store_unrevoke(struct store_txn *t, const char *ca, const unsigned char *serial, size_t n)
    __attribute__((warn_unused_result));
/* Revoked entries of one CA in ascending serial order (the CRL order): a cursor you pull. It
 * also yields removeFromCRL tombstones (reason 8) left by store_unrevoke: a base CRL skips them. */
struct store_rev_iter;
struct store_rev_entry {
    unsigned char serial[MAX_STORE_SERIAL];
    size_t serial_len;
    time_t revoked_at, invalidity;
    int reason;
    uint64_t changed_in;               /* CRL number after which it changed (for deltas) */
    unsigned key_index;                /* key generation that signed it: the CRL it goes on */
};
/* Free the iterator before ending its txn (after, it is dead: next gives -1, free still needed). */
struct store_rev_iter *store_rev_iter_new(struct store_txn *t, const char *ca);
/* 1 entry, 0 end, -1 error. */
int store_rev_iter_next(struct store_rev_iter *it, struct store_rev_entry *e);
void store_rev_iter_free(struct store_rev_iter *it);
uint64_t store_rev_count(struct store_txn *t, const char *ca);   /* tombstones not counted */

/* ---- CRL state ---- */
struct crl_state {
    uint64_t last_number;              /* 0: never published */
    uint64_t last_base_number;
    time_t this_update, next_update, next_publish;
    time_t delta_this_update, delta_next_publish;
    int dirty;                         /* revocations changed since the last CRL */
    unsigned char base_sha256[32];     /* hash of the published full CRL */
    int final;                         /* the key generation's last certificate has expired and
                                        * its final CRL was published: nothing more for it */
};
/* The CRL state of key generation 0 of ca (the only one before renewals). */
int store_crl_state_get(struct store_txn *t, const char *ca, struct crl_state *st); /* 1/0/-1 */
int store_crl_state_put(struct store_txn *t, const char *ca, const struct crl_state *st)
    __attribute__((warn_unused_result));
/* The CRL state of key generation key_index of ca: each key generation has its own CRL. */
int store_crl_state_get_k(struct store_txn *t, const char *ca, unsigned key_index,
                          struct crl_state *st);                                  /* 1/0/-1 */
int store_crl_state_put_k(struct store_txn *t, const char *ca, unsigned key_index,
                          const struct crl_state *st) __attribute__((warn_unused_result));

/* ---- CA generations (schema 3) ----
 * Every CA certificate a CA ever had, in certificate index order: index 0 is the certificate it
 * was created or imported with (store_gen_first, in the txn that stores the CA), each renewal
 * adds the next. The key index is the certificate index at which
 * the key was introduced (a same-key renewal keeps it). The CA record always holds the newest
 * generation's certificate and key: that is the one that signs. */
enum gen_state { GEN_ACTIVE = 0, GEN_SUPERSEDED = 1 };
struct ca_gen {
    char ca[MAX_CA_NAME + 1];
    unsigned cert_index, key_index;
    unsigned char *cert_der;           /* owned */
    size_t cert_len;
    char *key_uri;                     /* owned */
    time_t not_before, not_after, created;
    enum gen_state state;
    unsigned char *link_old_new;       /* owned or NULL: root rollover, the previous key signing
                                        * this generation's key (RFC 4210 4.4 OldWithNew) */
    size_t link_old_new_len;
    unsigned char *link_new_old;       /* owned or NULL: this key signing the previous key
                                        * (NewWithOld) */
    size_t link_new_old_len;
};
void ca_gen_clear(struct ca_gen *g);
/* Generation 0 from the CA record r (its certificate, key URI, validity read from the
 * certificate) unless the CA already has one; nothing for a pending CA. 1 ok / 0. */
int store_gen_first(struct store_txn *t, const struct ca_rec *r)
    __attribute__((warn_unused_result));
/* Insert generation g->cert_index of g->ca; 0 with a message when it exists or the CA does not. */
int store_gen_add(struct store_txn *t, const struct ca_gen *g) __attribute__((warn_unused_result));
/* Overwrite an existing generation (state change). */
int store_gen_put(struct store_txn *t, const struct ca_gen *g) __attribute__((warn_unused_result));
/* 1 found (g filled, caller ca_gen_clear), 0 not found, -1 error. */
int store_gen_get(struct store_txn *t, const char *ca, unsigned cert_index, struct ca_gen *g);
/* The newest generation (highest certificate index): 1 / 0 none (pending CA) / -1. */
int store_gen_newest(struct store_txn *t, const char *ca, struct ca_gen *g);
/* Generations of ca in certificate index order (borrowed for the call); fn 1 go on, 0 stop. */
int store_gen_foreach(struct store_txn *t, const char *ca,
                      int (*fn)(void *arg, const struct ca_gen *g), void *arg);

/* ---- imported parent CRLs, pre-signed CRLs (store_crlimp.c) ---- */
/* A CRL of a parent CA that lives on another machine (the offline root), imported with
 * `crl import`: keyed by the parent (SHA-256 of its SubjectPublicKeyInfo) and the CRL number. */
enum crlimp_state { CRLIMP_WAITING = 0, CRLIMP_PUBLISHED = 1, CRLIMP_SUPERSEDED = 2 };
struct crlimp_rec {
    unsigned char parent[STORE_KEY_HASH];
    uint64_t number;
    time_t this_update, next_update;
    time_t next_publish;               /* Microsoft Next CRL Publish; 0: the CRL has none */
    time_t imported_at;
    int state;                         /* enum crlimp_state */
    unsigned char sha256[32];          /* of der */
    const unsigned char *der;          /* borrowed: from the caller (put) or the store (foreach:
                                        * valid until the callback returns) */
    size_t der_len;
};
/* Insert or overwrite the record (parent, number). 1 ok / 0. */
int store_crlimp_put(struct store_txn *t, const struct crlimp_rec *r)
    __attribute__((warn_unused_result));
/* Delete it (a pre-signed CRL voided by a newer one). 1 ok (also when absent) / 0. */
int store_crlimp_del(struct store_txn *t, const unsigned char parent[STORE_KEY_HASH],
                     uint64_t number) __attribute__((warn_unused_result));
/* The records of one parent (parent non-NULL) or all, ascending (parent, number); fn returns 1 to
 * go on, 0 to stop. 1 ok / 0 error. */
int store_crlimp_foreach(struct store_txn *t, const unsigned char *parent,
                         int (*fn)(void *arg, const struct crlimp_rec *r), void *arg)
    __attribute__((warn_unused_result));
/* A CRL this offca signed ahead of its thisUpdate (`crl presign`), kept for the record: keyed by
 * the CA, the key generation that signed it (each numbers its own CRLs) and the number. */
struct presign_rec {
    char ca[MAX_CA_NAME + 1];
    unsigned key_index;
    uint64_t number;
    time_t this_update, next_update, next_publish, signed_at;
    unsigned char sha256[32];
    const unsigned char *der;          /* borrowed, as in crlimp_rec */
    size_t der_len;
};
int store_presign_put(struct store_txn *t, const struct presign_rec *r)
    __attribute__((warn_unused_result));
/* The pre-signed CRLs of key generation key_index of ca, ascending number; fn as above. 1 ok /
 * 0 error. */
int store_presign_foreach(struct store_txn *t, const char *ca, unsigned key_index,
                          int (*fn)(void *arg, const struct presign_rec *r), void *arg)
    __attribute__((warn_unused_result));

/* ---- directory (AD exports) ---- */
struct dir_entry {
    char *sam, *upn, *dns, *sid;       /* owned; any of sam/upn/dns may be NULL */
    const char *src;                   /* the export it was read from (not stored), or NULL */
    size_t line;                       /* its line there (not stored) */
    int ldif;                          /* read from LDIF (messages say attribute, not column) */
};
/* Replace the whole directory with these entries (one txn). */
int store_dir_replace(struct store_txn *t, const struct dir_entry *e, size_t n)
    __attribute__((warn_unused_result));
/* The same, calling step(arg, written) every 1024 entries and at the end (for a progress line). */
int store_dir_replace_step(struct store_txn *t, const struct dir_entry *e, size_t n,
                           void (*step)(void *arg, size_t done), void *arg)
    __attribute__((warn_unused_result));
/* Look up by "upn", "dns" or "sam" (case-insensitive). Returns the match count (0/1/2+) and
 * copies the SID when exactly 1; -1 error. */
int store_dir_lookup(struct store_txn *t, const char *kind, const char *name, char *sid, size_t n);
/* Find by any name (sam, upn or dns): 1 found (e filled; caller frees members), 0, -1. */
int store_dir_find(struct store_txn *t, const char *name, struct dir_entry *e);
uint64_t store_dir_count(struct store_txn *t);
/* Every entry, in the order of the import that wrote it: 1 ok (*out[0..*n), caller
 * store_dir_entries_free), 0 error. */
int store_dir_load(struct store_txn *t, struct dir_entry **out, size_t *n)
    __attribute__((warn_unused_result));
void store_dir_entries_free(struct dir_entry *e, size_t n);

/* ---- audit ---- */
struct audit_rec {
    uint64_t seq;
    time_t when;
    char user[64];
    char action[48];                   /* "key.generate", "ca.create", "cert.issue", ... */
    char object[256];
    char result[32];                   /* "ok" */
    char detail[512];
    unsigned char prev_hash[32];       /* SHA-256 of the previous record's encoding */
};
/* The clock audit records are stamped with (default time(2)): the application's clock, so that
 * every time offca writes comes from one source. */
void store_audit_clock_set(time_t (*now)(void));
/* Append a record in this write txn (seq, time, user, prev hash filled in here). The sequence
 * only grows; a record whose time is before the one before it shows a clock step back. */
int store_audit_append(struct store_txn *t, const char *action, const char *object,
                       const char *result, const char *detail) __attribute__((warn_unused_result));
int store_audit_foreach(struct store_txn *t, int (*fn)(void *arg, const struct audit_rec *r),
                        void *arg);
/* Walk the chain: 1 intact; 0 with store_error() naming the first record altered, removed or
 * reordered. */
int store_audit_verify(struct store_txn *t) __attribute__((warn_unused_result));

/* ---- backup ---- */
/* Write a compacted, consistent copy of the environment's data file to fd (an empty file opened
 * for writing, or a pipe: the copy is written in order; the caller fsyncs it). It runs in a read
 * transaction of its own: writers in other processes go on meanwhile. Open the copy (as a store
 * directory holding it as data.mdb) to learn what it holds. 1 ok / 0. */
int store_copy_compact(struct store *s, int fd) __attribute__((warn_unused_result));
/* The bytes store_copy_compact would write if it ran now (an estimate for a progress line: writers
 * may commit first); 0 when unknown. */
uint64_t store_copy_size(struct store *s);
struct store_audit_head {
    uint64_t records;                  /* audit records held */
    uint64_t last_seq;                 /* sequence of the last record (0: none) */
    unsigned char sha256[32];          /* SHA-256 of the last record's stored bytes */
};
/* The head of the audit chain as t sees it. 1 ok / 0. */
int store_audit_head(struct store_txn *t, struct store_audit_head *h)
    __attribute__((warn_unused_result));

/* Report the store's failure (store_error()) and return EXIT_SYSTEM (store_fail.c). */
int fail_store(void);
/* End a write transaction: commit when ok, else abort. Returns 0, or EXIT_SYSTEM with the store's
 * message reported (nothing was changed). */
int txn_finish(struct store_txn *t, int ok);

/* ---- CA generations as the rest of offca sees them: the AD CS file and URL names of a
 * generation (NAME.crt / NAME(i).crt per certificate index i, NAME.crl / NAME(k).crl per key
 * index k), the CA Version value, the generations list of `ca show`, and the key generations
 * that still publish CRLs.
 */

#define MAX_CA_GENS 64             /* generations offca handles per CA (renewals in a CA's life) */

/* "NAME.EXT" for index 0, "NAME(i).EXT" otherwise (suffix "+" before ".EXT" for a delta CRL). */
void gen_file(const char *name, unsigned index, const char *ext, int delta, char *buf, size_t n);
/* The URL of generation index from the URL of generation 0: "(i)" inserted before the file
 * extension (".crl", ".crt"), or appended when the URL has none. */
void gen_url(const char *url0, unsigned index, char *buf, size_t n);
/* Microsoft CA Version (1.3.6.1.4.1.311.21.1): key index << 16 | certificate index. */
unsigned long gen_ca_version(unsigned key_index, unsigned cert_index);

/* The indexes of the newest generation of ca (0 and 0 for a pending CA or on error). */
void gen_newest_indexes(struct store_txn *t, const char *ca, unsigned *ci, unsigned *ki);

/* The newest certificate of a generation of CA ca that issued child (a new X509: X509_free),
 * or NULL when none did or on error (reported). */
X509 *gen_issuer_of(struct store_txn *t, const char *ca, X509 *child);

/* All generations of one CA, in certificate index order (owned copies). */
struct gen_list {
    struct ca_gen g[MAX_CA_GENS];
    size_t n;
};
/* Load them in txn t. 1 ok / 0 (store error, or more than MAX_CA_GENS: reported as corrupt). */
int gen_list_load(struct store_txn *t, const char *ca, struct gen_list *l);
void gen_list_clear(struct gen_list *l);
/* The newest generation with key index k (the certificate that names key k's CRL issuer), or
 * NULL. */
const struct ca_gen *gen_list_key(const struct gen_list *l, unsigned k);
/* Latest notAfter of the certificates of key k. */
time_t gen_list_key_end(const struct gen_list *l, unsigned k);
/* `ca show`: the generations of CA r, one block each (text) or ',"generations":[...]' (JSON,
 * to go inside the CA's object): certificate and key index, validity, key URI, state (active,
 * superseded, retired), CRL and certificate file. */
void gen_list_print(const struct ca_rec *r, const struct gen_list *l, int json, FILE *out);

#endif
