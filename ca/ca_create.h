/*
 * ca_create.h — creating CAs in the store: a self-signed root, an issuing CA signed by a parent
 * held in offca, or (csr + import) an issuing CA whose parent is outside offca.
 */
#ifndef OFFCA_CA_CREATE_H
#define OFFCA_CA_CREATE_H

struct app;
struct adopt_opts;

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

/* Create the CA: one write transaction (CA record + audit), the certificate self-checked before
 * it is stored. Prints a summary. Returns 0 or the exit class (reported). */
int ca_create(struct app *a, const struct ca_create_req *r);

/* `ca csr`: a PKCS#10 request signed by the token key, written to out (0644); the CA is recorded
 * as pending with its key URI. `ca import`: the certificate (+ chain up to a root) for a pending
 * or new CA; must match the token key; warns loudly without CDP/AIA. */
int ca_make_csr(struct app *a, const char *name, const char *key_uri, const char *subject,
                const char *hash, const char *out);
/* chain_file may be NULL for a self-signed certificate. adopt (NULL or nothing set: none): the
 * certificates the CA already issued, recorded in the import's transaction (see adopt.h). */
int ca_import(struct app *a, const char *name, const char *cert_file, const char *chain_file,
              const char *key_uri, const struct adopt_opts *adopt);

#endif
