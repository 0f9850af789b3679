/*
 * ca/config/ — the room holding ca.toml's one parser and the settings every command reads
 * (config.c).
 *
 * May include: base/, the leaves, ca/common.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_CONFIG_H
#define OFFCA_CA_CONFIG_H

#include <stddef.h>
#include <stdint.h>


/* ---- ca.toml, read with the strict TOML reader (base/toml.c). ca/config/config.c is the one
 * parser of ca.toml; ca.toml.example documents every key it accepts. Unknown keys are errors.
 *
 * Lookup order of the file: -c FILE, else $OFFCA_CONFIG, else ./ca.toml.
 */

#define MAX_CA_SECTIONS 64
/* A CDP or AIA URL, explicit or made from base_url: at most this many bytes (the delta CRL's
 * Freshest CRL URL adds one); a longer one is refused when ca.toml is read, never cut. */
#define MAX_CONFIG_URL 1000

/* [ca.NAME]: per-CA settings. Every field has a default, so a CA without a section works. */
struct ca_cfg {
    const char *name;            /* NAME */
    const char *cdp_url;         /* CDP written into certs issued BY this CA; default
                                    <base_url>/NAME.crl */
    const char *aia_url;         /* AIA caIssuers; default <base_url>/NAME.crt */
    int64_t crl_period;          /* seconds; default 7d */
    int64_t crl_overlap;         /* seconds; default 2d */
    int64_t delta_period;        /* seconds; 0 = no delta CRLs (default) */
    int64_t clock_skew;          /* thisUpdate/notBefore backdating; default 10m */
    int crl_idp;                 /* 1: Issuing Distribution Point on this CA's CRLs (default 0) */
    int allow_extractable_key;   /* 1: accept a CA key with CKA_EXTRACTABLE (warns every use) */
    int64_t renew_warning;       /* seconds before the CA certificate expires that doctor warns
                                    (with the renew command); 0 = 90d issuing, 2 years roots */
};

struct config {
    const char *path;            /* the file read */
    const char *store_path;      /* [store] path */
    const char *hsm_module;      /* [hsm] module */
    const char *hsm_token;       /* [hsm] token (label) */
    const char *hsm_token_serial;/* [hsm] token_serial (instead of or as well as token) */
    const char *hsm_pin_file;    /* [hsm] pin_file, or NULL */
    const char *publish_dir;     /* [publish] dir */
    const char *base_url;        /* [publish] base_url (no trailing slash) */
    int ceremony_warn_days;      /* [publish] ceremony_warn_days: doctor/status warn this many
                                    days before the last root CRL imported from an offline
                                    parent runs out (default 30) */
    const char *templates_dir;   /* [templates] dir */
    const char *blocked_keys_file; /* [keys] blocked_keys_file, or NULL */
    struct ca_cfg cas[MAX_CA_SECTIONS];
    size_t n_cas;
    struct ca_cfg defaults;      /* what a CA without a section gets */
    void *doc;                   /* the parsed document the strings point into */
};

/* Load and validate; NULL with the message already printed through report (exit class 3). */
struct config *config_load(const char *path);
void config_free(struct config *c);
/* Which file to read: explicit (-c) if given, else $OFFCA_CONFIG, else "./ca.toml". */
const char *config_path_choose(const char *explicit_path);
/* Settings for CA name (its section, or the defaults with cdp/aia derived from base_url).
 * Returned struct is owned by c; URLs are built on demand into c-owned storage (c is logically
 * const: what is derived is cached in its private part, so call it from one thread). */
const struct ca_cfg *config_ca(const struct config *c, const char *name);

#endif
