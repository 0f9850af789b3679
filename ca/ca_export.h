/*
 * ca_export.h — reading CAs for `offca ca show` / `ca export` (ca_export.c): one CA record, its
 * generations, its chain as PEM, the NTAuth publication steps.
 */
#ifndef OFFCA_CA_EXPORT_H
#define OFFCA_CA_EXPORT_H

#include <openssl/bio.h>

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

#endif
