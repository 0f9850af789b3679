/*
 * doctor_gen.h — `offca doctor`'s checks of CA generations (doctor_gen.c).
 */
#ifndef OFFCA_DOCTOR_GEN_H
#define OFFCA_DOCTOR_GEN_H

#include <time.h>
#include <openssl/x509.h>

#include "ca/gen.h"
#include "ca/store.h"
#include "crl/crl.h"

struct config;
struct tmpl_set;

/* Active certificate x of CA r near its end ([ca.NAME] renew_warning; default 90 days for an
 * issuing CA, 2 years for a root): a warning naming 'offca ca renew', an error once expired. */
void doctor_gen_expiry(const struct config *cfg, const struct ca_rec *r, X509 *x, time_t now,
                       struct doctor_report *rep);
/* Certificates issued now would be cut short by the CA certificate's end: how short, against
 * the templates ts (NULL: templates that did not load; nothing checked). */
void doctor_gen_capped(const struct tmpl_set *ts, const struct ca_rec *r, X509 *x, time_t now,
                       struct doctor_report *rep);
/* The key indexes of CA ca whose CRLs are still published (l filled: caller gen_list_clear).
 * 1 ok / 0 (reported). */
int doctor_gen_live_keys(struct store_txn *t, const char *ca, struct gen_list *l,
                         unsigned keys[MAX_CA_GENS], size_t *n);

#endif
