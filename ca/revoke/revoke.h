/*
 * ca/revoke/ — the room holding revocation and the certificate inventory: one or many revocations
 * in one transaction (revoke_batch.c, lists read by revbatch_read.c), listing and reporting what
 * was issued (inventory.c), and what is due for renewal (renewals.c).
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store, ca/directory, ca/issue.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_REVOKE_H
#define OFFCA_CA_REVOKE_H

#include <stdio.h>
#include <time.h>

#include "ca/store/store.h"

/* ---- what `offca revoke` (cmd_revoke.c) and `offca revoke --batch` (revoke_batch.c,
 * revbatch_read.c) share: the request, the keyCompromise handling (block the key, list or revoke
 * the other certificates carrying it) and the bulk list's entries.
 */

#define MAX_SAME_KEY 256                /* other certificates of one key listed or revoked */

struct same_key {
    char ca[MAX_CA_NAME + 1];
    unsigned char serial[MAX_STORE_SERIAL];
    size_t n;
    int was_revoked, revoked_now;
};

struct rev_req {
    int undo, all_with_key;
    const char *cmd, *ca, *sn;
    unsigned char serial[MAX_STORE_SERIAL];
    size_t n;
    int reason;                         /* crl_reason_t; CRL_REASON_NONE: no reason code */
    time_t inval;
    /* --batch FILE: the list; --dry-run, --skip-unknown */
    const char *batch;
    int dry_run, skip_unknown;
    /* keyCompromise: the key blocked and the other certificates carrying it */
    unsigned char hash[STORE_KEY_HASH];
    int blocked;
    struct same_key same[MAX_SAME_KEY];
    size_t n_same, more_same;
};

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (UTC only) into *out. 1 ok / 0. */
int revoke_parse_time(const char *s, time_t *out);
/* keyCompromise of q->ca/q->serial in write txn t: block the key, find the other certificates
 * that carry it and (q->all_with_key) revoke the valid ones, one audit record each (q->sn names
 * the compromised certificate in their detail). 1 ok / 0 (store_error()). */
int revoke_key_compromise(struct store_txn *t, struct rev_req *q);
/* What revoke_key_compromise did, as lines on f ("key blocked: ...", "same key, ..."). */
void revoke_key_compromise_print(FILE *f, const struct rev_req *q);

/* ---- the bulk list (revbatch_read.c) ---- */
enum rb_state { RB_OK = 0, RB_MALFORMED, RB_UNKNOWN, RB_CONFLICT };
struct rb_entry {
    size_t line;                        /* line (CSV: the record's first line) in the file */
    char ca[MAX_CA_NAME + 1];           /* "" when the entry names none */
    unsigned char serial[MAX_STORE_SERIAL];
    size_t n;                           /* serial length; 0: matched by subject / SAN */
    char *subject, *san;                /* owned or NULL; san as "type:value" */
    int reason;
    time_t inval;
    /* what the batch found (revoke_batch.c) */
    enum rb_state state;
    char *why;                          /* owned: the problem, for the report */
    char tca[MAX_CA_NAME + 1];          /* the target certificate */
    unsigned char tserial[MAX_STORE_SERIAL];
    size_t tn;
    size_t matches;
    char *extra;                        /* owned: keyCompromise lines after the revoke line */
};
/* Read a bulk revocation list: JSON lines when its first line that is neither blank nor a '#'
 * comment starts with '{', else CSV with a header row. Entries without reason or invalidity
 * date get reason / inval. Malformed entries are kept with state RB_MALFORMED and reported
 * ("FILE:LINE: problem; fix"), so every bad line is named. 0, or EXIT_INPUT when the file as a
 * whole cannot be read (encoding, CSV structure, header), EXIT_SYSTEM (memory); reported. */
int revbatch_read(const char *src, const char *data, size_t len, int reason, time_t inval,
                  struct rb_entry **out, size_t *n);
void revbatch_free(struct rb_entry *e, size_t n);

/* `offca revoke --batch FILE` with q's options, in the store st (revoke_batch.c). Returns the
 * exit code. */
int revoke_batch(struct store *st, struct rev_req *q);

/* ---- one certificate as an inventory row (CSV or JSON) and the filters of `offca
 * list` and `offca report`: shared by cmd_certs.c (list) and cmd_report.c (report).
 *
 * The row, in this column order (CSV header = these names):
 *   ca, generation, serial, subject, sans, sid, template, not_before, not_after, status,
 *   revoked_at, reason, invalidity_date
 * sans are separated by one space in CSV (a JSON array in JSON); times are RFC 3339 UTC; empty
 * (CSV) or null (JSON) where there is no value.
 */

enum inv_status { INV_ANY, INV_VALID, INV_REVOKED, INV_EXPIRED };

struct inv_filter {
    const char *ca, *template_name, *sid, *san;   /* NULL: any */
    enum inv_status status;
    time_t now, until;                             /* until 0: no --expiring */
};

/* "valid", "revoked" or "expired" at now. */
const char *inv_status_name(const struct cert_rec *r, time_t now);
/* 1 when r passes every filter of f. --san VALUE matches a SAN "type:value" exactly or, without
 * a type, any SAN's value (ASCII case-insensitive); --sid and --template compare exactly
 * (the SID case-insensitively). */
int inv_match(const struct inv_filter *f, const struct cert_rec *r);
/* The CA generation that issued r: the key index of the CA key that signed it (the CRL it goes
 * on is NAME(k).crl; README "Renewing and retiring CAs"). */
unsigned inv_generation(const struct cert_rec *r);

void inv_csv_header(FILE *f);
void inv_csv_row(FILE *f, const struct cert_rec *r, time_t now);
/* One JSON object (no separator). */
void inv_json_row(FILE *f, const struct cert_rec *r, time_t now);
/* One CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180 2.6, 2.7). */
void inv_csv_field(FILE *f, const char *s);

/* `offca report --renewals` (renewals.c): the valid certificates in st of template tmpl (found
 * in ts; of CA ca, or any) expiring within days, soonest first, with principal and re-issue
 * command; on stdout, or atomically to out (0600; an existing file only with force). Returns
 * the exit code. */
struct tmpl_set;
enum renew_format { RENEW_TEXT, RENEW_CSV, RENEW_JSON };
int renewals_list(struct store *st, const struct tmpl_set *ts, const char *ca, const char *tmpl,
                  int days, enum renew_format fmt, const char *out, int force);

#endif
