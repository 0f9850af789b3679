/*
 * inventory.h — one certificate as an inventory row (CSV or JSON) and the filters of `offca
 * list` and `offca report`: shared by cmd_certs.c (list) and cmd_report.c (report).
 *
 * The row, in this column order (CSV header = these names):
 *   ca, generation, serial, subject, sans, sid, template, not_before, not_after, status,
 *   revoked_at, reason, invalidity_date
 * sans are separated by one space in CSV (a JSON array in JSON); times are RFC 3339 UTC; empty
 * (CSV) or null (JSON) where there is no value.
 */
#ifndef OFFCA_INVENTORY_H
#define OFFCA_INVENTORY_H

#include <stdio.h>
#include <time.h>

#include "ca/store.h"

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
