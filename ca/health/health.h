/*
 * ca/health/ — the room holding checks of a CA's health that change nothing: status with its
 * Prometheus text (status.c), the audit chain verified (audit_check.c), stored certificates linted
 * again (lint_store.c), and doctor's checks of this machine's CAs: generations and expiry
 * (doctor_gen.c) and the SIDs of issued certificates against the directory (doctor_sid.c); the
 * chain checks an NPS server would make are crl/'s doctor.
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store, ca/directory, ca/issue,
 * ca/publish, ca/authority, ca/revoke, ca/backup.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_HEALTH_H
#define OFFCA_CA_HEALTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "ca/config/config.h"
#include "ca/store/store.h"
#include "templates/template.h"
#include "crl/crl.h"

/* ---- `offca status`: the figures of each CA gathered in one read transaction (status.c)
 * and judged, then printed as text, JSON or node exporter textfile (cmd_status.c).
 *
 * Judgement (the worst finding decides the exit code: 0 ok, 1 warning, 2 error):
 *   error    CA certificate expired; active CA with no CRL published; CRL (or delta CRL) past
 *            nextUpdate; CRL (or delta) publish overdue (Next CRL Publish passed more than
 *            STATUS_PUBLISH_GRACE ago: the hourly cron job missed two runs)
 *   warning  CA certificate expires within CA_EXPIRY_WARN_DAYS (the window `offca doctor` warns
 *            in); CRL publish due (Next CRL Publish passed, within the grace); the imported root
 *            CRL horizon within [publish] ceremony_warn_days (a root ceremony is due)
 * An imported root CRL past its nextUpdate is an error.
 * Leaf certificates are counted (valid / expiring / expired / revoked) but never change the
 * exit code: a shop always has some certificates close to expiry.
 */

#define CA_EXPIRY_WARN_DAYS 90
#define STATUS_EXPIRING_DAYS 30            /* --expiring-days default */
#define STATUS_PUBLISH_GRACE (2 * 3600)
#define MAX_STATUS_CAS 1024
#define MAX_STATUS_FINDINGS 4

enum status_sev { STATUS_OK = 0, STATUS_WARN = 1, STATUS_ERROR = 2 };

/* One key generation of a CA that still publishes CRLs (NAME.crl / NAME(k).crl, signed by key
 * k): not pending, not past its final CRL. cert_index / cert_not_after are the newest
 * certificate of that key (a same-key renewal adds certificates to a key generation).
 * crl_number 0: never published; delta_next_publish 0: no delta CRL (none configured or made). */
struct status_gen {
    unsigned key_index, cert_index;
    time_t cert_not_after;
    uint64_t crl_number;
    time_t crl_this_update, crl_next_publish, crl_next_update;
    time_t delta_this_update, delta_next_publish, delta_next_update;
};

struct status_ca {
    char name[MAX_CA_NAME + 1];
    enum ca_state state;
    int is_root;
    int has_cert;                          /* 0: pending, no certificate yet */
    time_t cert_not_after;
    int crl_checked;                       /* active CAs: offca publishes their CRLs */
    unsigned key_index;                    /* the newest key: the crl_* figures are its CRL's */
    uint64_t crl_number;                   /* 0: never published */
    time_t crl_this_update, crl_next_publish, crl_next_update;
    int delta;                             /* [ca.NAME] delta_period > 0: delta CRLs too */
    time_t delta_this_update, delta_next_publish, delta_next_update;
    /* The CRLs of a parent that lives elsewhere (`crl import`): the published one, and the last
     * one available (published or pre-signed and waiting); root_crl_horizon is that one's
     * nextUpdate, root_crl_ceremony_by its Next CRL Publish (nextUpdate when it has none): the
     * root ceremony is due by then. root_crl_imported 0: none imported ("none imported"). */
    int root_crl_imported;
    time_t root_crl_horizon;
    uint64_t root_crl_number, root_crl_last;
    time_t root_crl_next_update, root_crl_ceremony_by;
    size_t root_crl_waiting;
    uint64_t n_valid, n_expiring, n_expired, n_revoked;
    struct status_gen *gens;               /* owned: key generations still publishing, oldest */
    size_t n_gens;                         /* first (the newest key's last when it publishes) */
    enum status_sev sev;
    char findings[MAX_STATUS_FINDINGS][256];
    size_t n_findings;
};

struct status_report {
    time_t now;
    int expiring_days;
    struct status_ca *cas;                 /* owned */
    size_t n;
    enum status_sev worst;
};

/* Gather and judge every CA of the store at now (cfg: which CAs publish delta CRLs). 1 ok; 0 store failure (store_error() says);
 * -1 more than MAX_STATUS_CAS CAs (nothing partial is reported). Free r either way. */
int status_gather(struct store *s, struct config *cfg, time_t now, int expiring_days,
                  struct status_report *r)
    __attribute__((warn_unused_result));
void status_report_free(struct status_report *r);
const char *status_sev_name(enum status_sev s);
const char *status_ca_state_name(enum ca_state s);

/* ---- `offca audit verify`'s second half: the certificates, CAs, revocations and CRL
 * numbers the audit records say exist, checked against the databases (ca/health/audit_check.c).
 */

/* Walk the audit log in t and check what it records against the store; each thing missing is
 * reported ("store check: ...", with its serial or CA). Returns the number of problems (0: the
 * store holds everything the log says), or -1 on a store error (reported). *checked: how many
 * records were checked. */
int audit_check_store(struct store_txn *t, size_t *checked);

/* ---- the core of `offca lint --store` (lint_store.c), with explicit handles so that
 * tests can run it on a store they planted.
 */

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

/* ---- `offca doctor`'s checks of CA generations (doctor_gen.c).
 */

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

/* ---- doctor's check of issued certificates against the directory (ca/health/doctor_sid.c).
 */

struct store_txn;
struct doctor_report;

/* One ERROR finding per valid (not revoked, not expired) certificate of CA only (or of every CA
 * when NULL) whose SID is not the directory's SID for its UPN or DNS SAN, with the sign command
 * that reissues it and the revoke command for it. 1 ok / 0 store error (store_error). */
int doctor_dir_sid_check(struct store_txn *t, const char *only, time_t now,
                     struct doctor_report *rep) __attribute__((warn_unused_result));

#endif
