/*
 * status.h — `offca status`: the figures of each CA gathered in one read transaction (status.c)
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
#ifndef OFFCA_STATUS_H
#define OFFCA_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca/config.h"
#include "ca/store.h"

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

#endif
