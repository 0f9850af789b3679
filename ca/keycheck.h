/*
 * keycheck.h — the key gate's blocklist and key-reuse rules, which need the config and the store
 * (ca/keycheck.c), given explicitly; the key rules themselves are templates/keygate.c
 * (template.h).
 */
#ifndef OFFCA_KEYCHECK_H
#define OFFCA_KEYCHECK_H

#include "ca/config.h"
#include "ca/store.h"
#include "templates/template.h"

struct keyblock;
struct keycheck_ctx {
    struct store *st;                  /* NULL: the store's blocklist is not consulted */
    const struct config *cfg;
    const struct keyblock *list;
};

/* Set pol->blocked to the blocklist (ca.toml [keys] blocked_keys_file, then the store's
 * blocked_keys); ctx must outlive the use of pol. 0 or the exit class (reported). */
int keycheck_policy(struct store *st, const struct config *cfg, struct keycheck_ctx *ctx,
                    struct keygate_policy *pol);
/* The blocklist alone for a key the gate already re-encoded. 0, EXIT_POLICY, or a failure class;
 * reported as "<src>: key: blocked: ...". */
int keycheck_blocked(struct store *st, const struct config *cfg, const struct keygate_key *key,
                     const char *src);
/* Refuse a key already certified to a different subject unless the template allows reuse.
 * 0, EXIT_POLICY or EXIT_SYSTEM, reported. */
int keycheck_reuse(struct store *st, const struct tmpl *t, const struct keygate_key *key,
                   const X509_NAME *subject, const char *src);
/* The key gate for a CA key (RSA >= 2048 bits or P-256/P-384/P-521, every rule, blocklist).
 * 0 or the exit class, reported as "CA 'NAME': key: ...". */
int keycheck_ca_key(struct store *st, const struct config *cfg, EVP_PKEY *key, const char *name);

#endif
