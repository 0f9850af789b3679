/*
 * ca_create.h — creating CAs in the store: a self-signed root, an issuing CA signed by a parent
 * held in offca, or (csr + import) an issuing CA whose parent is outside offca.
 */
#ifndef OFFCA_CA_CREATE_H
#define OFFCA_CA_CREATE_H

#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

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
 * certificates the CA already issued, recorded in the import's transaction (see adopt.h). h may
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

#endif
