/*
 * batch.h — `offca sign --batch` (batch.c): the manifest's requests prepared and signed by
 * worker threads, recorded BATCH_GROUP at a time in one write transaction each, the files
 * written only after their group committed; a re-run resumes.
 */
#ifndef OFFCA_BATCH_H
#define OFFCA_BATCH_H

struct ca_signer;
struct config;
struct hsm;
struct store;
struct tmpl;

#define MAX_WORKERS 16            /* --workers: threads preparing and signing (one session each) */

/* Sign every entry of the manifest at path with CA s under template t, workers threads, with the
 * store, the HSM handle and the config given (the command layer opened them). Prints
 * the summary line; 0 when every entry was issued, skipped or recovered, else the first
 * failure's exit class (the failures are reported). */
int batch_sign(struct store *st, struct hsm *h, const struct config *cfg, struct ca_signer *s,
               const struct tmpl *t, const char *path, int workers);

#endif
