/*
 * ca/common/ — the room holding what every room of ca/ shares: exit codes and reporting (report.c,
 * fail.c), the clock (clock.c), conversions of times and DER (convert.c), the bounded loader and
 * the tight-mode atomic writer (fileio.c), the RFC 4180 CSV reader (csv.c), JSON text (json.c) and
 * the terminal progress line (progress.c).
 *
 * May include: base/, the leaves.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_COMMON_H
#define OFFCA_CA_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "base/fsio.h"
#include "templates/template.h"

/* ---- exit codes and reports (report.c, fail.c) ----
 *
 * Exit codes (documented in `offca --help` and README):
 *   0 ok; 1 refused by policy; 2 usage; 3 unreadable or malformed input; 4 HSM or store failure.
 * Messages: report once, where found, as "<object>: <rule>: <problem>; <what to do>".
 */

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

#define MAX_INPUT_BYTES (1024 * 1024)       /* CSR, CSV line budget, manifest line, PEM files */
#define MAX_CSV_BYTES   (64L * 1024 * 1024) /* a whole AD export */
#define MAX_CSV_ROWS    1000000

/* ---- fileio.c ---- */
/* Read at most max bytes of path ("-" = stdin); a larger file is refused before parsing. *data is
 * NUL-terminated (not counted in *len); caller frees with free(). */
int file_load(const char *path, size_t max, unsigned char **data, size_t *len);
/* Write atomically (temp in the same dir, fsync, rename, fsync dir) with mode (e.g. 0600, 0644);
 * path "-" writes to stdout. An existing file is replaced only when overwrite is 1. */
int file_write(const char *path, const void *data, size_t len, int mode, int overwrite);
/* Write all len bytes to fd (EINTR and short writes retried). 1 ok / 0 with errno set. */
static inline int file_write_all(int fd, const void *data, size_t len)
{
    return fsio_write_all(fd, data, len);
}
/* Many outputs, one flush (batches): file_group_add writes each into a temp file in its
 * directory (not yet synced, not yet visible under its name); file_group_commit makes all the
 * staged data durable at once (one syncfs per filesystem), moves each file into place without
 * replacing an existing one, then makes the names durable (one fsync per directory). A file
 * appears under its name only with its whole content on disk; same modes and exit classes as
 * file_write. file_group_rc(g, i) is entry i's result after the commit (0 or an exit class,
 * reported); file_group_free removes whatever was not moved into place. */
struct file_group;
struct file_group *file_group_new(size_t max);
int file_group_add(struct file_group *g, const char *path, const void *data, size_t len, int mode);
/* The same in two steps, so the writing can happen in another thread than the commit:
 * file_stage writes the temp file (any thread); file_group_adopt makes it the group's next entry
 * (consumes st). file_staged_free removes a staged file that was never adopted. */
struct file_staged;
int file_stage(const char *path, const void *data, size_t len, int mode, struct file_staged **out);
int file_group_adopt(struct file_group *g, struct file_staged *st);
/* Staging with a name a later run can find: "<dir>/.<base>" FILE_STAGE_MARK "<tag>" (tag: lowercase
 * hex, e.g. the certificate's serial). A run killed between recording and renaming leaves it;
 * file_stage_find returns one such file of path (1, tag and its path; 0 none; -1 error, reported)
 * so the re-run can resolve it (put in place when recorded, removed otherwise). */
#define FILE_STAGE_MARK FSIO_STAGE_MARK
int file_stage_tagged(const char *path, const char *tag, const void *data, size_t len, int mode,
                      struct file_staged **out);
int file_stage_find(const char *path, char *tag, size_t tagsize, char *tmp, size_t tmpsize);
/* Single outputs (sign -o, --pfx): file_stage_flushed is file_stage_tagged with the content
 * fsync'd before it returns; file_staged_place (or file_place_staged for a staged file found
 * again) fsyncs, moves it to its name (never replacing a file) and fsyncs the directory, leaving
 * the temp file where it is on failure; file_staged_keep forgets it without removing it. */
int file_stage_flushed(const char *path, const char *tag, const void *data, size_t len, int mode,
                       struct file_staged **out);
int file_staged_place(struct file_staged *st);
/* The same, replacing a file already at the name (for --force). */
int file_staged_replace(struct file_staged *st);
int file_place_staged(const char *tmp, const char *path);
const char *file_staged_tmp(const struct file_staged *st);
void file_staged_keep(struct file_staged *st);
/* 1 when path's directory holds any staged file at all, 0 none, -1 error (reported). */
int file_stage_dir_any(const char *path);
void file_staged_free(struct file_staged *st);
int file_group_commit(struct file_group *g);
int file_group_rc(const struct file_group *g, size_t i);
void file_group_free(struct file_group *g);

/* ---- csv.c ---- */
struct csv_reader;
/* Read RFC 4180 records from data (len bytes; BOM skipped; UTF-16 and NUL bytes refused).
 * csv_open: NULL when refused (reported). csv_read: 1 a record, 0 end, -1 error (reported). */
struct csv_reader *csv_open(const char *data, size_t len, const char *source);
int csv_read(struct csv_reader *r);
size_t csv_fields(const struct csv_reader *r);
const char *csv_field_at(const struct csv_reader *r, size_t i);
char *csv_field_edit(struct csv_reader *r, size_t i);   /* decode in place, never longer */
size_t csv_line(const struct csv_reader *r);     /* the line the current record starts on */
void csv_close(struct csv_reader *r);

/* ---- the few JSON writing helpers `--json` output needs: records are written field by field
 * as they stream out of the store; each string is encoded by libjansson (ca/common/json.c).
 */

/* Write s as a JSON string (quoted, escaped, bytes that are not UTF-8 as U+FFFD; NULL, or no
 * memory, writes null). */
void json_str(FILE *f, const char *s);
/* Write "key": "value" with a leading comma unless first. */
void json_kv(FILE *f, int first, const char *key, const char *value);
void json_kv_int(FILE *f, int first, const char *key, long long value);

/* ---- the one-line progress of long work (batch sign, directory import, ...): count,
 * rate and time left, redrawn in place on stderr, and only when stderr is a terminal, so cron
 * mail and redirected logs never see it.
 */

#define PROGRESS_LINE 160                  /* longest line drawn, bytes */

struct progress {
    int on;                                /* stderr is a TTY */
    const char *what;                      /* "sign --batch", borrowed */
    size_t total;                          /* 0: unknown (no percentage, no time left) */
    struct timespec start, last;           /* CLOCK_MONOTONIC */
    int drawn;                             /* a line is on the screen */
};

/* 1 when stderr is a terminal, so a progress line would be drawn: for a caller whose total costs
 * work to learn (a count pass over the store), done only when someone will see it. */
int progress_shown(void);
/* Start: p->on is set when stderr is a terminal; what (borrowed, must outlive p) names the work
 * and total is the number of steps (0 if unknown). Nothing is drawn yet. */
void progress_begin(struct progress *p, const char *what, size_t total);
/* done steps so far; extra (or NULL) is appended ("issued 5, failed 0"). Redraws at most five
 * times a second, and always for the last step; a no-op when p->on is 0. */
void progress_step(struct progress *p, size_t done, const char *extra);
/* End the line (a newline after the last drawn state); a no-op when nothing was drawn. */
void progress_end(struct progress *p);
/* The line itself, for tests: "what: done/total (pct%), rate/s, M:SS left[, extra]" into buf;
 * elapsed in seconds. Returns buf. */
char *progress_format(char *buf, size_t n, const char *what, size_t done, size_t total,
                      double elapsed, const char *extra);

#endif
