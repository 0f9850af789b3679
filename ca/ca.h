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

#endif
