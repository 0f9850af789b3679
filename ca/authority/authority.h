/*
 * ca/authority/ — the room holding the CAs themselves: created (ca_create.c), given a parent's
 * certificate (ca_import.c), signing a subordinate for another machine (ca_subord.c), renewed and
 * retired (ca_renew.c), exported with their chains and NTAuth (ca_export.c), and adopted from
 * openssl ca or AD CS (adopt*.c).
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store, ca/issue, ca/publish.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_AUTHORITY_H
#define OFFCA_CA_AUTHORITY_H

#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <stddef.h>

#include "ca/store/store.h"

/* ---- creating CAs in the store: a self-signed root, an issuing CA signed by a parent
 * held in offca, or (csr + import) an issuing CA whose parent is outside offca.
 */

struct adopt_opts;
struct config;
struct hsm;
struct store;

#define ROOT_DEFAULT_DAYS    3650
#define ISSUING_DEFAULT_DAYS 1825

struct ca_create_req {
    const char *name;
    const char *key_uri;
    const char *subject;          /* RFC 4514 */
    const char *parent;           /* NULL: self-signed root */
    int days;                     /* 0: default (capped by the parent) */
    const char *sig;              /* "rsa-pkcs1" | "rsa-pss" | "ecdsa" | NULL (by key type) */
    const char *hash;             /* "sha256" | "sha384" | "sha512" | NULL (by key size) */
    int path_len;                 /* -1: none */
    int no_cdp;                   /* 1: the operator accepts an issuing CA without CDP/AIA */
    int reuse_key;                /* 1: a key another CA already uses is allowed (warned) */
};

/* What is checked of a new CA's arguments before the config or the store is needed: the name
 * and the syntax of the subject (NULL: not checked). A command runs it before opening them, so
 * a bad argument is reported first; ca_create and ca_make_csr make the same checks themselves.
 * 0 or the exit class (reported). */
int ca_create_check(const char *name, const char *subject);

/* Create the CA: one write transaction (CA record + audit), the certificate self-checked before
 * it is stored. Prints a summary. h may be a deferred handle: the token is opened (the PIN
 * asked) only after the name was found free and the parent found. Returns 0 or the exit class
 * (reported). */
int ca_create(struct store *st, struct hsm *h, const struct config *cfg,
              const struct ca_create_req *r);

/* `ca sign-subordinate`: certify an issuing CA whose key is on another machine (the CSR from
 * `ca csr` or any CA software) with parent's newest generation; the certificate is recorded
 * under parent with that generation's key index (so a revocation lands on that key's CRL) and
 * its audit record in one transaction, and written to out (PEM, 0644) after the commit. */
struct ca_subord_req {
    const char *parent;
    const char *csr_file;
    const char *out;
    int days;                     /* 0: default, capped by the parent */
    int path_len;                 /* -1: none */
    int no_cdp;
};
/* Its checks before the config or the store is needed (the parent's name; out must not exist),
 * run again by ca_sign_subordinate. 0 or the exit class (reported). */
int ca_subord_check(const struct ca_subord_req *r);
/* h may be deferred: the token is opened when the parent's key is loaded, after the request
 * passed its checks. */
int ca_sign_subordinate(struct store *st, struct hsm *h, const struct config *cfg,
                        const struct ca_subord_req *r);

/* `ca csr`: a PKCS#10 request signed by the token key, written to out (0644); the CA is recorded
 * as pending with its key URI. `ca import`: the certificate (+ chain up to a root) for a pending
 * or new CA; must match the token key; warns loudly without CDP/AIA. */
int ca_make_csr(struct store *st, struct hsm *h, const struct config *cfg, const char *name,
                const char *key_uri, const char *subject, const char *hash, const char *out);
/* chain_file may be NULL for a self-signed certificate. adopt (NULL or nothing set: none): the
 * certificates the CA already issued, recorded in the import's transaction (see authority.h). h may
 * be deferred: the token is opened once the certificate files were read. */
int ca_import(struct store *st, struct hsm *h, const struct config *cfg, const char *name,
              const char *cert_file, const char *chain_file, const char *key_uri,
              const struct adopt_opts *adopt);

/* ---- shared with renewal (ca_renew.c) ---- */
struct ca_signer;
struct store_txn;
/* Validity now - skew .. now + days (r->days, or the default), capped by the parent's end; an
 * explicit --days beyond it is refused (EXIT_POLICY). 0 or the exit class (reported). */
int ca_validity(const struct ca_create_req *r, X509 *parent, int64_t skew, time_t *nb,
                time_t *na);
/* CDP/AIA for a CA certificate signed by parent's newest generation (r->no_cdp: none, warned;
 * an empty CDP refused). 0 or the exit class. */
int ca_issuing_urls(const struct ca_create_req *r, const struct ca_signer *parent,
                    const char **cdp, const char **aia);
/* basicConstraints, keyUsage, CA Version V<cert>.<key>, Previous CA Certificate Hash when
 * prev_der is set. NULL (reported). */
STACK_OF(X509_EXTENSION) *ca_cert_extensions(int path_len, unsigned cert_index,
                                             unsigned key_index, const unsigned char *prev_der,
                                             size_t prev_len);
/* A new CA key must be its own: another CA in the store with the same key (same URI, or the
 * same public key in its certificate) is refused unless r->reuse_key (then warned). 0 or the
 * exit class, reported. */
int ca_key_unused(struct store *st, const struct ca_create_req *r, EVP_PKEY *key);
/* A CA certificate issued by the newest generation of a parent CA held in this store
 * (create-issuing; sign-subordinate for a key on another machine): ca_validity, ca_issuing_urls,
 * ca_cert_extensions (CA Version V0.0: the new CA's first generation), SKID, AKID, linted and
 * signed by the parent's key in the token h (cert_build). NULL with *rc the exit class
 * (reported). */
struct keygate_key;
struct ca_cert_req {
    const struct ca_create_req *r;    /* name (for messages), parent, days, path_len, no_cdp */
    struct ca_signer *parent;
    const X509_NAME *subject;
    EVP_PKEY *pubkey;
    const struct keygate_key *key;    /* the key gate's re-encoding of pubkey, or NULL */
    int64_t skew;                     /* notBefore backdating */
    const char *cdp, *aia;            /* out: the URLs written (borrowed from the signer) */
};
X509 *ca_cert_issue(struct hsm *h, struct ca_cert_req *q, int *rc);
/* Record x as a certificate PARENT issued with its key generation key_index (template name
 * what). 1 ok / 0 (store message). */
int ca_record_under_parent(struct store_txn *t, const char *parent, unsigned key_index,
                           const char *what, X509 *x);

/* ---- renewing a CA (same key or new key, root rollover with link certificates) and
 * retiring one.
 */
struct config;
struct hsm;
struct store;

struct ca_renew_req {
    const char *name;
    const char *new_key;          /* NULL: --same-key */
    int days;                     /* 0: default (capped by the parent) */
};

/* Renew the CA: the new generation in ONE write transaction (CA record, generations, the
 * certificate under the parent, link certificates for a root with a new key, audit). Prints a
 * summary; the command then writes its certificate files into the publish directory
 * (publish_ca_certs). h may be deferred: the token is opened (the PIN asked) only once the CA
 * was found renewable. 0 or the exit class. */
int ca_renew(struct store *st, struct hsm *h, const struct config *cfg,
             const struct ca_renew_req *r);

/* Retire the CA: no more issuance (sign and the renewal of its children are refused with the
 * reason); `crl publish` keeps each key generation's CRL fresh while its certificates live, then
 * one final CRL. One write transaction with the audit record. 0 or the exit class. */
int ca_retire(struct store *st, const char *name);

/* ---- reading CAs for `offca ca show` / `ca export` (ca_export.c): one CA record, its
 * generations, its chain as PEM, the NTAuth publication steps.
 */

struct ca_rec;
struct gen_list;
struct store;

/* CA name from the store into *r (ca_rec_clear it). 0, EXIT_USAGE when it is not there, or the
 * store's class; reported. */
int ca_get(struct store *st, const char *name, struct ca_rec *r);
/* Every generation of CA name into *l (gen_list_clear it). 0 or the exit class. */
int ca_gens_read(struct store *st, const char *name, struct gen_list *l);
/* PEM of CA first and, with chain, every parent in the store (and an imported CA's outside
 * chain); all: every generation of each, with a root's link certificates. 0 or the class. */
int ca_chain_pem(struct store *st, const struct ca_rec *first, int chain, int all, BIO *b);
/* Print the certutil steps that publish first's hierarchy to AD (RootCA, SubCA, NTAuthCA). */
int ca_ntauth_print(struct store *st, const struct ca_rec *first);

/* ---- adopting what a legacy CA issued at `offca ca import`: the readers of openssl ca's
 * database (adopt_index.c) and of AD CS's `certutil -view csv` (adopt_certutil.c), and the glue
 * (adopt.c) that checks the set, cross-checks it against the old CA's last CRL and records it in
 * the import's write transaction.
 *
 * All or nothing: a bad line, a certificate the CA key did not sign, a duplicate or oversized
 * serial, an unparseable date, a CRL that disagrees: the whole import is refused (reported
 * "FILE:LINE: problem; what to do", EXIT_INPUT), nothing is written. A serial the store already
 * holds is EXIT_POLICY.
 */

#define ADOPT_TEMPLATE "(adopted)"        /* template name of every adopted certificate */
#define ADOPT_WHERE 320                   /* "FILE:LINE" of a record, for messages */

/* What `ca import` was asked to adopt (NULL / -1: not given). */
struct adopt_opts {
    const char *index;            /* --index: openssl ca's index.txt */
    const char *newcerts;         /* --newcerts DIR (default: DIR-of-index/newcerts) */
    const char *certutil;         /* --certutil-view: `certutil -view csv` output */
    const char *utc_offset;       /* --utc-offset [+-]HH:MM of certutil's local times */
    const char *last_crl;         /* --last-crl: the old CA's last full CRL (PEM or DER) */
    int64_t crl_number;           /* --crl-number N: the old CA's last CRL number; -1 none */
};

/* One certificate of the old CA. */
struct adopt_cert {
    unsigned char serial[MAX_STORE_SERIAL];   /* canonical DER INTEGER contents */
    size_t serial_len;
    unsigned char *der;           /* owned (malloc); NULL when the source has no certificate */
    size_t der_len;
    char *subject;                /* owned (malloc or OPENSSL_malloc: see adopt_set_free) */
    time_t not_before, not_after;
    int revoked, on_crl;                      /* on_crl: listed on --last-crl */
    time_t revoked_at, invalidity;            /* invalidity 0: none */
    int reason;                               /* RFC 5280 CRLReason; -1 none */
    char where[ADOPT_WHERE];                  /* "index.txt:7" */
    char file_sha256[65];                     /* hex SHA-256 of its certificate file, or "" */
};

struct adopt_set {
    struct adopt_cert *c;
    size_t n, cap;
    const char *source;           /* "openssl-ca" | "certutil" */
    char digests[400];            /* "index.txt=<sha256> newcerts=<sha256>..." for the audit */
    uint64_t crl_number;          /* the old CA's last CRL number (the next offca CRL: +1) */
    time_t crl_this_update, crl_next_update;   /* from --last-crl; 0 otherwise */
    size_t n_revoked, n_on_crl;
};

/* Whether any adoption option was given. */
int adopt_wanted(const struct adopt_opts *o);

/* Read and check everything the options name against the CA certificate. 0, or the exit class
 * (reported); s is freed by adopt_set_free either way. */
int adopt_load(const struct adopt_opts *o, X509 *ca, struct adopt_set *s);

/* Record the set for CA ca in write txn t: every certificate (DER when there is one), its
 * revocation, keyCompromise keys blocked, the CRL numbering continued, one audit record. 0, or
 * the exit class (reported; the caller aborts t). */
int adopt_apply(struct store_txn *t, const char *ca, const struct adopt_set *s);

void adopt_set_free(struct adopt_set *s);

/* ---- shared by the readers (adopt.c) ---- */
/* A new zeroed record at the end of s (reason -1). NULL: out of memory (reported). */
struct adopt_cert *adopt_push(struct adopt_set *s, const char *file, size_t line);
/* Big-endian magnitude bytes -> canonical serial of c. 1 ok / 0 (*why says why). */
int adopt_serial_canon(const unsigned char *b, size_t n, struct adopt_cert *c, const char **why);
/* The record with this canonical serial in s (sorted by adopt_load), or NULL. */
struct adopt_cert *adopt_find(const struct adopt_set *s, const unsigned char *serial, size_t n);
/* Hex serial text -> canonical serial of c. 1 ok / 0 (reported, naming c->where). */
int adopt_serial(struct adopt_cert *c, const char *hex);
/* The certificate's fields into c (DER, subject, dates), checked against the CA key and the
 * serial already in c. 0 or EXIT_INPUT (reported). */
int adopt_take_cert(struct adopt_cert *c, X509 *x, X509 *ca);
/* SHA-256 of data as lowercase hex (65 bytes). */
void adopt_sha256_hex(const void *data, size_t len, char out[65]);
/* Append " name=hex" to s->digests. */
void adopt_digest_add(struct adopt_set *s, const char *name, const char *hex);

/* The readers: 0 or EXIT_INPUT (reported "FILE:LINE: ..."). */
int adopt_read_index(const char *path, const char *newcerts, X509 *ca, struct adopt_set *s);
/* The old CA's last CRL: number and times into s, entries cross-checked and taken. */
int adopt_read_last_crl(const char *path, X509 *ca, struct adopt_set *s);
int adopt_read_certutil(const char *path, long utc_offset, X509 *ca, struct adopt_set *s);

#endif
