/*
 * publish.h — `offca crl publish`: for each CA decide whether a CRL is due, build and sign it
 * inside ONE write transaction that reserves its number and records its state, then publish the
 * file atomically and read it back. A published file whose hash differs from the store (a crash
 * after the commit) is simply published again with the next number.
 */
#ifndef OFFCA_PUBLISH_H
#define OFFCA_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "ca/progress.h"

struct config;
struct hsm;
struct store;

#define CRL_FILE_MODE 0644

/* Publish for one CA (name) or all (NULL) into cfg's publish directory, with the store st
 * (open) and the HSM handle h: a deferred one (hsm_open_deferred) is opened only when a key is
 * first needed. force: publish even when nothing is due. Returns 0 or the exit class; prints
 * one line per CA. */
int publish_run(struct store *st, struct hsm *h, const struct config *cfg, const char *name,
                int force);
/* The certificate files of every generation of CA name: NAME.crt, NAME(i).crt, and a root
 * rollover's link certificates NAME(a-b).crt (key a certifying key b), each written when missing
 * or different (publish_certs.c). 0 or the exit class. */
int publish_ca_certs(struct store *st, const struct config *cfg, const char *name);

/* Read a file of the publish directory (at most max bytes) into *data (caller frees, *len its
 * length): only a regular file reached without a symlink (O_NOFOLLOW, O_NONBLOCK). 1 ok; 0,
 * silently, when it is missing, a symlink, a FIFO or device, too big or unreadable: for the
 * publisher that is "not what offca published". */
int publish_file_load(const char *path, size_t max, unsigned char **data, size_t *len);

/* Shared with the imported and pre-signed CRLs (crlimp*.c, crl_presign.c): */
/* The revoked entries one CRL of one key generation lists, walked in serial order for
 * crl_build: a base CRL every revoked certificate that key signed but no removeFromCRL
 * tombstone; a delta CRL everything changed since its base, tombstones included (RFC 5280
 * 5.2.4). Zero the struct, set it, key_index and (deltas) delta and min_changed. */
struct crl_walk {
    struct store_rev_iter *it;
    int delta;
    uint64_t min_changed;         /* delta: only entries changed at or after the base */
    unsigned key_index;           /* only certificates this key generation signed */
    struct progress pg;           /* the entries listed so far, on a terminal (zero: none) */
    size_t done;
    char what[MAX_CA_NAME + 64];
};
/* crl_build's entry source over a struct crl_walk (arg): 1 an entry, 0 the end, -1 error. */
struct crl_entry;
int publish_next_entry(void *arg, struct crl_entry *e);
/* The publish directory is a directory owned by root or us and writable by nobody else. 1 / 0
 * (reported). */
int publish_dir_check(const struct config *cfg);
/* Overlapping publishers wait on an flock of the store directory ([store] path): the
 * descriptor (held until exit; a later call for the same store returns it), or -1 (reported). */
int lock_publish(const struct config *cfg);
/* Publish dir checked, lock held, an interrupted run's temp files swept: what every command
 * that writes into the publish dir does first, once its store is open. 0 or the exit class
 * (reported). */
int publish_begin(const struct config *cfg);
/* The lint of a TBSCertList before it is signed or published (crl_params.tbs_check): errors
 * refuse with msg, warnings are reported. */
struct x509_st;
struct crl_lint_arg {
    struct x509_st *issuer;
    int delta;
    int64_t prev;                 /* the previous CRL number, -1 unknown */
    const char *ca;               /* for messages */
};
int crl_lint_cb(void *arg, const unsigned char *tbs, size_t len, char *msg, size_t n);

#endif
