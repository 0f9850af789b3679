/*
 * ca.h — shared declarations inside ca/ (the orchestrator). No other folder includes it.
 *
 * Exit codes (documented in `offca --help` and README):
 *   0 ok; 1 refused by policy; 2 usage; 3 unreadable or malformed input; 4 HSM or store failure.
 * Messages: report once, where found, as "<object>: <rule>: <problem>; <what to do>".
 */
#ifndef OFFCA_CA_H
#define OFFCA_CA_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

enum offca_exit { EXIT_OK = 0, EXIT_POLICY = 1, EXIT_USAGE = 2, EXIT_INPUT = 3, EXIT_SYSTEM = 4 };

/* Print "offca: <message>" to stderr (and syslog when enabled). Never pass a PIN. */
void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, prefixed "offca: warning: ". */
void report_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A result line on stdout ("<message>", no prefix), and in syslog (LOG_INFO) for the cron log:
 * what `crl publish` and `crl import` did. */
void report_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Also send every report to syslog (LOG_USER, ident "offca"): used by `crl publish` for cron. */
void report_use_syslog(int on);

/* The time offca considers "now": time(NULL). In the test build only (build/offca-test,
 * -DOFFCA_TEST_BUILD) $OFFCA_TEST_NOW (seconds since the epoch) overrides it, for the
 * cron-semantics tests; build/offca never reads it. (clock.c) */
time_t ca_now(void);

/* Report a leaf's failure and return its exit class: hsm_error()/tmpl_error()/crl_error()
 * (fail.c; the store's is fail_store in store.h). */
int fail_hsm(void);
int fail_tmpl(void);
int fail_crl(void);
/* Report msg (or an internal-error text when it is empty) and return code, or fallback when
 * code is not a class. */
int fail_with(const char *msg, int code, int fallback);

/* Drain the OpenSSL error queue into text (for messages); per thread. */
const char *ossl_errstr(void);

/* Conversions (convert.c): ASN1_TIME -> time_t (UTC, 0 when unreadable); "2026-11-22T01:02:03Z";
 * DER -> X509 (NULL unless exactly one certificate and nothing after it); X509 -> DER
 * (malloc'd: free()). */
time_t asn1_time_to_time(const ASN1_TIME *t);
void time_iso(time_t t, char out[32]);
X509 *der_to_x509(const unsigned char *der, size_t len);
unsigned char *x509_to_der(X509 *x, size_t *len);

#endif
