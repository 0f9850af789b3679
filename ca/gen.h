/*
 * gen.h — CA generations as the rest of offca sees them: the AD CS file and URL names of a
 * generation (NAME.crt / NAME(i).crt per certificate index i, NAME.crl / NAME(k).crl per key
 * index k), the CA Version value, the generations list of `ca show`, and the key generations
 * that still publish CRLs.
 */
#ifndef OFFCA_GEN_H
#define OFFCA_GEN_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <openssl/x509.h>

#include "ca/store.h"

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
