/*
 * crl.h — the only header other folders include from crl/.
 *
 * crl/ builds CRLs (full and delta) streamed from the revoked entries it is handed, knows the
 * CDP/AIA/IDP URL rules, publishes files atomically, and runs `doctor` (chain checks as Windows
 * NPS sees them). It depends on OpenSSL only: the signing context comes in ready-made (from hsm/
 * in offca, a software key in tests), the entries come through a callback that ca/ fills from the
 * store in serial order.
 *
 * Errors: functions return 1/0 or pointer/NULL; on failure crl_error() holds one operator-ready
 * message "<object>: <rule>: <problem>; <what to do>" and crl_error_code() its exit-code class
 * (1 policy, 2 usage, 3 input, 4 system/HSM/IO).
 */
#ifndef OFFCA_CRL_H
#define OFFCA_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "base/limits.h"

/* Last error of the calling thread (never NULL; "" when none) and its exit-code class: offca's
 * one error slot (base/err.h), which every folder reports through. */
static inline const char *crl_error(void) { return base_err_msg(); }
static inline int crl_error_code(void) { return base_err_code(); }

/* RFC 5280 5.3.1 reason codes: the values are OpenSSL's CRL_REASON_* macros from
 * <openssl/x509v3.h> (CRL_REASON_NONE = -1 means no reasonCode extension on the entry;
 * CRL_REASON_UNSPECIFIED 0 ... CRL_REASON_AA_COMPROMISE 10). */
#include <openssl/x509v3.h>
typedef int crl_reason_t;

/* "keyCompromise" <-> CRL_REASON_KEY_COMPROMISE (RFC 5280 names). 1 ok / 0 unknown (class 2). */
int crl_reason_parse(const char *name, crl_reason_t *out) __attribute__((warn_unused_result));
const char *crl_reason_name(crl_reason_t r);


/* One revoked certificate, as the callback hands it over (borrowed until the next call). */
struct crl_entry {
    unsigned char serial[MAX_SERIAL_BYTES];   /* big-endian, positive, minimal */
    size_t serial_len;
    time_t revoked_at;
    crl_reason_t reason;                      /* CRL_REASON_NONE: no reasonCode */
    time_t invalidity;                        /* 0: no invalidityDate */
};
/* Fill *e with the next entry (ascending serial order): return 1, 0 at the end, -1 on error (the
 * callback reports it). */
typedef int (*crl_next_fn)(void *arg, struct crl_entry *e);

struct crl_params {
    X509 *issuer;                 /* the CA certificate (issuer name, AKID from its SKID) */
    uint64_t number;              /* CRL number (strictly increasing per CA across base and delta) */
    time_t this_update;           /* already backdated by the caller for clock skew */
    time_t next_update;
    time_t next_publish;          /* Microsoft Next CRL Publish; 0 = leave the extension out */
    long ca_version;              /* Microsoft CA Version value; -1 = leave out */
    int is_delta;                 /* 1: Delta CRL Indicator (critical) with base_number */
    uint64_t base_number;
    const char *idp_url;          /* Issuing Distribution Point fullName URI, or NULL (default) */
    const char *freshest_url;     /* Freshest CRL (on a base CRL when deltas exist), or NULL */
    /* Called with the finished TBSCertList (its exact bytes) before the signature: the caller's
     * lint. Return 1 to sign; 0 refuses the CRL (class 1) with msg (filled by the callback) as
     * the reason. NULL: no check. */
    int (*tbs_check)(void *arg, const unsigned char *tbs, size_t len, char *msg, size_t msglen);
    void *tbs_check_arg;
};

/* Build and sign a v2 CRL in one ordered pass over the entries: the revoked list is encoded
 * entry by entry into one DER buffer (no per-entry OpenSSL objects kept), so memory is about the
 * size of the CRL. The TBS handed to p->tbs_check is the buffer the signature is then computed
 * over, unchanged. sign is a fresh EVP_MD_CTX initialised for the issuer key (consumed: one
 * signature). Returns the DER (OPENSSL_malloc'd; caller OPENSSL_free) and its length. */
unsigned char *crl_build(const struct crl_params *p, crl_next_fn next, void *arg,
                         EVP_MD_CTX *sign, size_t *der_len);

/* Write data to dir/name atomically: temp file in dir (mode), fsync, rename, fsync(dir).
 * A reader of dir never sees a partial file. 1 ok / 0 (class 4). */
int crl_publish_file(const char *dir, const char *name, const unsigned char *data, size_t len,
                     int mode) __attribute__((warn_unused_result));

/* Remove the temp files (".NAME.<12 hex>.tmp") that publishers killed before their rename left
 * in dir. Only while holding the publishers' lock: a running publisher's temp file looks the
 * same. Returns how many were removed, or -1 (class 4) when dir cannot be listed. */
int crl_publish_sweep(const char *dir);

/* Read back dir/name and check it is a CRL signed by issuer with this number (and delta-ness).
 * 1 ok / 0 with the reason. */
int crl_verify_published(const char *path, X509 *issuer, uint64_t number, int is_delta)
    __attribute__((warn_unused_result));

/* URL rules: a CDP/AIA URL offca writes must be http:// (Windows/NPS fetch CDPs over HTTP; an
 * https CDP is a chicken-and-egg revocation problem), no fragment, no whitespace. 1 ok / 0. */
int crl_url_check(const char *url, const char *what) __attribute__((warn_unused_result));

/* ---- CRLs of a parent on another machine (import.c) ---------------------------------------- */
struct crl_import_info {
    uint64_t number;              /* CRL number */
    time_t this_update, next_update;
    time_t next_publish;          /* Microsoft Next CRL Publish (1.3.6.1.4.1.311.21.4); 0 none */
    unsigned char sha256[32];     /* of der */
    unsigned char *der;           /* the CRL's DER (OPENSSL_malloc'd; crl_import_info_clear) */
    size_t der_len;
    size_t tbs_off, tbs_len;      /* the TBSCertList inside der (for the lint) */
};
/* Parse the bytes of a CRL file (DER or PEM, one CRL, nothing after it): a full v2 CRL with a
 * CRL number and a nextUpdate. Returns the CRL (caller X509_CRL_free) and fills *out; NULL with
 * crl_error() (class 3 malformed, 1 a delta, v1, no number or no nextUpdate). */
X509_CRL *crl_import_parse(const unsigned char *buf, size_t len, const char *what,
                           struct crl_import_info *out);
/* The CRL belongs to parent: issuer name = parent's subject, AKID = parent's SKID, signature by
 * parent's key. 1 ok / 0 with crl_error() (class 1). */
int crl_import_check(X509_CRL *crl, X509 *parent, const char *what)
    __attribute__((warn_unused_result));
void crl_import_info_clear(struct crl_import_info *i);

/* ---- doctor --------------------------------------------------------------------------------- */
enum doctor_sev { DOCTOR_OK = 0, DOCTOR_INFO, DOCTOR_WARN, DOCTOR_ERROR };
struct doctor_finding {
    enum doctor_sev sev;
    char cert[256];               /* which certificate (subject CN or file), or CRL */
    char rule[128];               /* e.g. "NPS revocation check (reason 258)" */
    char problem[512];
    char fix[512];                /* what to do: certutil / registry / offca command */
};
struct doctor_report {
    struct doctor_finding *f;
    size_t n, cap;
};
void doctor_report_free(struct doctor_report *r);
size_t doctor_report_count(const struct doctor_report *r, enum doctor_sev sev);

/* Where CRLs come from in `doctor --chain`: a directory (file name = last path segment of the
 * CDP URL) or HTTP fetch (OSSL_HTTP, timeout and size cap). */
struct doctor_source {
    const char *crl_dir;          /* or NULL */
    int fetch;                    /* 1: download CDP URLs over HTTP */
    int timeout_s;                /* fetch timeout */
    time_t now;                   /* evaluation time (tests override) */
    /* Optional: the offca name of a CA certificate (the --ca NAME a fix text gives), or NULL
     * when it is not one of the caller's CAs. */
    const char *(*ca_name)(void *arg, X509 *ca);
    void *ca_name_arg;
};
#define MAX_FETCH_BYTES (64L * 1024 * 1024)

/* Check a chain as NPS does: chain[0] is the leaf, the last is the root (self-signed) or the
 * top intermediate. Every non-root: HTTP CDP present, CRL reachable, signed by the issuer, issuer
 * has cRLSign, not past nextUpdate, IDP (if any) equal to the CDP URL, not revoked; AIA present;
 * leaf EKU fits client authentication; SID extension well-formed where meant for AD logon.
 * Findings are appended to r. 1 when the check ran (findings say the verdict) / 0 on failure. */
int doctor_check_chain(STACK_OF(X509) *chain, const struct doctor_source *src,
                       struct doctor_report *r) __attribute__((warn_unused_result));

/* Append a finding (also used by ca/ for offca's own state checks). */
int doctor_add(struct doctor_report *r, enum doctor_sev sev, const char *cert, const char *rule,
               const char *fix, const char *problem_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The one CRL file parser: DER, or PEM "X509 CRL", the whole buffer being the CRL (no trailing
 * bytes). NULL with crl_error() naming what (class 3). */
X509_CRL *crl_parse(const unsigned char *buf, size_t len, const char *what);

#endif
