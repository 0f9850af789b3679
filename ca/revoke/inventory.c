/*
 * inventory.c — inventory rows and filters (see revoke.h).
 */
#include "ca/revoke/revoke.h"
#include "ca/common/common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca/issue/issue.h"
#include "crl/crl.h"

/* "valid", "revoked" or "expired" at now. */
const char *inv_status_name(const struct cert_rec *r, time_t now)
{
    if (r->status == CERT_REVOKED)
        return "revoked";
    return r->not_after < now ? "expired" : "valid";
}

/* The CA generation of r: the index of the CA key that signed it (its CRL is NAME(k).crl). */
unsigned inv_generation(const struct cert_rec *r)
{
    return r->key_index;
}

/* One SAN line (len bytes) against the --san value. */
static int san_one(const char *san, size_t len, const char *want)
{
    const char *colon = memchr(san, ':', len);
    size_t wl = strlen(want);

    if (strchr(want, ':') && wl == len && strncasecmp(san, want, len) == 0)
        return 1;
    return colon != NULL && (size_t)(san + len - colon - 1) == wl &&
           strncasecmp(colon + 1, want, wl) == 0;
}

static int san_match(const char *sans, const char *want)
{
    for (const char *p = sans ? sans : ""; *p;) {
        size_t len = strcspn(p, "\n");
        if (san_one(p, len, want))
            return 1;
        p += len + (p[len] == '\n');
    }
    return 0;
}

/* 1 when r passes every filter of f. */
int inv_match(const struct inv_filter *f, const struct cert_rec *r)
{
    const char *st = inv_status_name(r, f->now);

    if ((f->status == INV_VALID && strcmp(st, "valid")) ||
        (f->status == INV_REVOKED && strcmp(st, "revoked")) ||
        (f->status == INV_EXPIRED && strcmp(st, "expired")))
        return 0;
    if (f->until && (strcmp(st, "valid") || r->not_after > f->until))
        return 0;
    if ((f->ca && strcmp(f->ca, r->ca)) ||
        (f->template_name && strcmp(f->template_name, r->template_name ? r->template_name : "")) ||
        (f->sid && (r->sid == NULL || strcasecmp(f->sid, r->sid))))
        return 0;
    return f->san == NULL || san_match(r->sans, f->san);
}

/* One CSV field, quoted when needed. */
void inv_csv_field(FILE *f, const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void inv_csv_header(FILE *f)
{
    fputs("ca,generation,serial,subject,sans,sid,template,not_before,not_after,status,"
          "revoked_at,reason,invalidity_date\n", f);
}

/* The row's text fields (times in RFC 3339; "" where none). */
struct row {
    char serial[2 * MAX_STORE_SERIAL + 1], nb[32], na[32], ra[32], inv[32];
    const char *reason;
};

static void row_fill(struct row *w, const struct cert_rec *r)
{
    int revoked = r->status == CERT_REVOKED;

    serial_hex(r->serial, r->serial_len, w->serial);
    time_iso(r->not_before, w->nb);
    time_iso(r->not_after, w->na);
    w->ra[0] = w->inv[0] = '\0';
    if (revoked)
        time_iso(r->revoked_at, w->ra);
    if (revoked && r->invalidity)
        time_iso(r->invalidity, w->inv);
    w->reason = revoked && r->reason >= 0 ? crl_reason_name(r->reason) : NULL;
}

void inv_csv_row(FILE *f, const struct cert_rec *r, time_t now)
{
    struct row w;
    char *sans = strdup(r->sans ? r->sans : "");

    row_fill(&w, r);
    for (char *p = sans; p && *p; p++)
        if (*p == '\n')
            *p = ' ';
    inv_csv_field(f, r->ca);
    fprintf(f, ",%u,%s,", inv_generation(r), w.serial);
    inv_csv_field(f, r->subject);
    fputc(',', f);
    inv_csv_field(f, sans);
    fputc(',', f);
    inv_csv_field(f, r->sid);
    fputc(',', f);
    inv_csv_field(f, r->template_name);
    fprintf(f, ",%s,%s,%s,%s,%s,%s\n", w.nb, w.na, inv_status_name(r, now), w.ra,
            w.reason ? w.reason : "", w.inv);
    free(sans);
}

void inv_json_row(FILE *f, const struct cert_rec *r, time_t now)
{
    struct row w;
    int first = 1;

    row_fill(&w, r);
    fputc('{', f);
    json_kv(f, 1, "ca", r->ca);
    json_kv_int(f, 0, "generation", inv_generation(r));
    json_kv(f, 0, "serial", w.serial);
    json_kv(f, 0, "subject", r->subject);
    fputs(",\"sans\":[", f);
    for (const char *p = r->sans ? r->sans : ""; *p;) {
        size_t len = strcspn(p, "\n");
        char one[4096];
        snprintf(one, sizeof(one), "%.*s", (int)len, p);
        if (!first)
            fputc(',', f);
        json_str(f, one);
        first = 0;
        p += len + (p[len] == '\n');
    }
    fputc(']', f);
    json_kv(f, 0, "sid", r->sid);
    json_kv(f, 0, "template", r->template_name);
    json_kv(f, 0, "not_before", w.nb);
    json_kv(f, 0, "not_after", w.na);
    json_kv(f, 0, "status", inv_status_name(r, now));
    json_kv(f, 0, "revoked_at", w.ra[0] ? w.ra : NULL);
    json_kv(f, 0, "reason", w.reason);
    json_kv(f, 0, "invalidity_date", w.inv[0] ? w.inv : NULL);
    fputc('}', f);
}
