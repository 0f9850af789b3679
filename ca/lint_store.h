/*
 * lint_store.h — the core of `offca lint --store` (lint_store.c), with explicit handles so that
 * tests can run it on a store they planted.
 */
#ifndef OFFCA_LINT_STORE_H
#define OFFCA_LINT_STORE_H

#include <stdint.h>
#include <time.h>

#include "ca/store.h"
#include "templates/template.h"

struct lint_scan {
    const char *ca;                 /* only this CA's certificates, or NULL for all */
    time_t now;                     /* what "expired" is measured against */
    struct lint_opts base;          /* allow_any_eku etc.; issuer and wildcard set per cert */
    /* Called for each certificate with findings: obj "CA/serialhex"; revoke is the command that
     * revokes it when it has an error (a root: what to do instead), else NULL. */
    void (*hit)(void *arg, const char *obj, const struct lint_report *r, const char *revoke);
    void *arg;
    /* The key blocklist (keycheck_policy: blocked_keys_file and keys revoked for keyCompromise),
     * or NULL: every certificate's key also goes through today's key gate (key.gate finding). */
    keygate_blocked_fn blocked;
    void *blocked_arg;
    uint64_t checked, hits;         /* out: certificates linted, those with an error */
};

/* Lint every valid stored certificate and root CA certificate (one read transaction), and check
 * each one's key against today's key gate (the template's key policy, a default one for CAs and
 * templates since removed) and the blocklist. 0, or
 * EXIT_SYSTEM with the reason reported (store failure, a stored certificate that does not
 * parse). */
int lint_store_scan(struct store *st, const struct tmpl_set *ts, struct lint_scan *sc);

#endif
