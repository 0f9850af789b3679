/*
 * adopt.h — adopting what a legacy CA issued at `offca ca import`: the readers of openssl ca's
 * database (adopt_index.c) and of AD CS's `certutil -view csv` (adopt_certutil.c), and the glue
 * (adopt.c) that checks the set, cross-checks it against the old CA's last CRL and records it in
 * the import's write transaction.
 *
 * All or nothing: a bad line, a certificate the CA key did not sign, a duplicate or oversized
 * serial, an unparseable date, a CRL that disagrees: the whole import is refused (reported
 * "FILE:LINE: problem; what to do", EXIT_INPUT), nothing is written. A serial the store already
 * holds is EXIT_POLICY.
 */
#ifndef OFFCA_ADOPT_H
#define OFFCA_ADOPT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "ca/store.h"

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
