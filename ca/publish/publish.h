/*
 * ca/publish/ — the room holding cRLs and CA certificates behind the CDP and AIA URLs: this
 * machine's CAs' CRLs, due or forced, built, signed and published (publish.c) with their
 * certificates (publish_certs.c); an offline parent's CRLs imported and republished (crlimp*.c),
 * presigned (crl_presign.c) and carried to the online machine (crl_carry.c).
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store, ca/issue.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_PUBLISH_H
#define OFFCA_CA_PUBLISH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "base/limits.h"
#include "ca/common/common.h"
#include "ca/store/store.h"

/* ---- `offca crl publish`: for each CA decide whether a CRL is due, build and sign it
 * inside ONE write transaction that reserves its number and records its state, then publish the
 * file atomically and read it back. A published file whose hash differs from the store (a crash
 * after the commit) is simply published again with the next number.
 */

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

/* ---- the offline root on its own machine (README "The offline root"):
 *   root machine     crl_carry.c    `crl publish --ca ROOT --out DIR`: the CRL and certificate
 *                                   for carrying
 *                    crl_presign.c  `crl presign`: the next N CRLs signed in one ceremony
 *   issuing machine  crlimp_parent.c  which parents live elsewhere (an imported CA's chain) and
 *                                   the file name its CDP points at
 *                    crlimp.c       `crl import`: verify, order, record, publish
 *                    crlimp_pub.c   what is due (pre-signed CRLs reaching their thisUpdate),
 *                                   putting files in place; the hourly `crl publish` hook; the
 *                                   horizon that doctor and status judge
 * Records: store_crlimp.c (crl_imported, crl_presigned).
 */

struct config;
struct hsm;

#define MAX_CRLIMP_PARENTS 16          /* parents on other machines known to one store */
#define MAX_CRLIMP_FILES 8             /* published names of one parent's CRL */
#define MAX_CRLIMP_NAME 200            /* a published file name */
#define MAX_CRLIMP_RECS 4096           /* CRLs kept per parent */
#define MAX_CRLIMP_INPUT (64L * 1024 * 1024)
#define MAX_PRESIGN_COUNT 120
#define CEREMONY_WARN_DAYS 30          /* [publish] ceremony_warn_days default */

/* `crl publish --ca NAME --out DIR`: after the publication, NAME.crl (the published CRL in
 * cfg's publish directory, checked against the hash in st) and NAME.crt into DIR (0644,
 * replacing older copies). 0 / class. */
int crl_carry_write(struct store *st, const struct config *cfg, const char *ca, const char *dir);

/* `crl presign --ca NAME --count N [--out DIR]` with the store st (open) and the HSM handle h
 * (a deferred one is opened once the CA is found). out_dir NULL: cfg's publish directory. 0 or
 * the exit class (reported). */
int crl_presign(struct store *st, struct hsm *h, const struct config *cfg, const char *ca,
                int count, const char *out_dir);

/* A parent CA that lives on another machine: the issuer of an imported CA (`ca import`, no
 * parent in the store), found in that CA's chain. */
struct crlimp_parent {
    X509 *cert;                                  /* owned */
    unsigned char id[STORE_KEY_HASH];            /* SHA-256 of its SubjectPublicKeyInfo */
    char label[160];                             /* its subject, for messages */
    char files[MAX_CRLIMP_FILES][MAX_CRLIMP_NAME + 1];   /* CDP basenames of its children */
    char child[MAX_CRLIMP_FILES][MAX_CA_NAME + 1];       /* the CA each name came from */
    size_t n_files;
    char nocdp[MAX_CA_NAME + 1];                 /* a child without an HTTP CDP, or "" */
};
struct crlimp_parents {
    struct crlimp_parent p[MAX_CRLIMP_PARENTS];
    size_t n;
};
/* Every such parent of the store, in t. 0 or the exit class (reported). */
int crlimp_parents_load(struct store_txn *t, struct crlimp_parents *ps);
void crlimp_parents_free(struct crlimp_parents *ps);
/* The parent of one imported CA record (0 found, *id set; 1 not an imported CA / no parent). */
int crlimp_parent_of(const struct ca_rec *r, unsigned char id[STORE_KEY_HASH]);

/* `crl import FILE...`: n files (crlimp_import_count), verified and recorded in the store st
 * (open), the CRL now due published into cfg's publish directory. 0 or the exit class
 * (reported). */
int crlimp_import(struct store *st, const struct config *cfg, char **files, int n);
/* The number of files one import takes (1 to 256), checked before anything is opened. 0 or
 * EXIT_USAGE (reported). */
int crlimp_import_count(int n);

/* The hourly hook of `crl publish`: for each parent, publish the imported CRL now due (a
 * pre-signed one whose thisUpdate has come), or put back a published file that is missing or
 * altered. Quiet when there are no imported parents. 0 or the exit class. */
int crlimp_publish_cron(struct store *st, const struct config *cfg);

/* What is held for one parent: the published CRL and the last one available (published or
 * waiting for its thisUpdate). */
struct crlimp_horizon {
    int any;                                     /* 0: nothing imported */
    uint64_t pub_number;                         /* 0: none published yet */
    time_t pub_this_update, pub_next_update;
    uint64_t last_number;
    time_t last_this_update, last_next_update;
    time_t ceremony_by;                          /* the last one's Next CRL Publish, or its
                                                  * nextUpdate when it has none */
    size_t waiting;                              /* pre-signed CRLs not yet published */
};
/* 1 ok (h filled) / 0 store failure. */
int crlimp_horizon_get(struct store_txn *t, const unsigned char id[STORE_KEY_HASH],
                       struct crlimp_horizon *h) __attribute__((warn_unused_result));

/* `offca doctor`: the root ceremony reminder for each parent on another machine (a warning
 * warn_days before the last root CRL available runs out, an error once the published one is past
 * nextUpdate, a note when none is imported) appended to rep. 0 or the exit class. */
struct doctor_report;
int crlimp_doctor(struct store_txn *t, int warn_days, time_t now, struct doctor_report *rep);

/* Shared by crlimp.c and crlimp_pub.c: the records of one parent, copied out of the store. */
struct crlimp_list {
    struct crlimp_rec *r;                        /* der of each owned (malloc) */
    size_t n;
};
int crlimp_list_load(struct store_txn *t, const unsigned char id[STORE_KEY_HASH],
                     struct crlimp_list *l);     /* 0 or the exit class (reported) */
void crlimp_list_free(struct crlimp_list *l);
/* In write txn t: mark the record that must be published at now (the highest number whose
 * thisUpdate has come) published, older ones superseded. *pick: its index in l, or -1 when
 * none is due; *changed: 1 when the published CRL changed. 0 or the exit class. */
int crlimp_settle(struct store_txn *t, struct crlimp_list *l, time_t now, long *pick,
                  int *changed);
/* Put rec's DER in place under every name of p in cfg's publish directory (temp, fsync,
 * rename) and read each back. only_bad: skip files already equal to it. *written: files
 * written. 0 or the exit class (reported). */
int crlimp_files_put(const struct config *cfg, const struct crlimp_parent *p,
                     const struct crlimp_rec *rec, int only_bad, int *written);
/* The audit record after the files (what: "crl.import-publish", "crl.republish"): "ok" once
 * they are in place and read back, "fail" otherwise (rc). A store failure is reported. */
void crlimp_audit_files(struct store *st, const struct crlimp_parent *p, uint64_t number,
                        const char *what, int rc);

#endif
