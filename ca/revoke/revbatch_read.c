/*
 * revbatch_read.c — the reader of bulk revocation lists (`offca revoke --batch FILE`): JSON
 * lines (each line one object, libjansson through jsonl_object_load, as the sign manifest) or
 * CSV (RFC 4180 through ca/common/csv.c) with a header row. Both give the same entries:
 *   serial            hex serial (':' and 0x allowed), or
 *   subject / san     RFC 4514 subject and/or one SAN "type:value" (dns, upn, email, uri, ip)
 *   ca                optional: the issuing CA
 *   reason            optional RFC 5280 reason name (default: --reason, else no reason code)
 *   invalidity_date   optional RFC 3339 UTC (default: --invalidity-date, else none)
 * A malformed entry is kept (RB_MALFORMED) and reported at once as "FILE:LINE: problem; fix", so
 * one run names every bad line; only an unreadable file (encoding, CSV structure, header) stops.
 */
#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "ca/revoke/revoke.h"
#include "crl/crl.h"
#include "templates/template.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum rb_col { C_SERIAL, C_CA, C_SUBJECT, C_SAN, C_REASON, C_INVAL, C_COUNT };
static const char *const col_names[C_COUNT] = {
    "serial", "ca", "subject", "san", "reason", "invalidity_date"
};
#define RB_KEYS "serial, ca, subject, san, reason, invalidity_date"
#define MAX_RB_VALUE 4096

struct reader {
    const char *src;
    struct rb_entry *e;
    size_t n, cap;
    int defreason;
    time_t definval;
};

/* Mark e malformed with a message, reported now. Returns 0. */
static int bad(const struct reader *r, struct rb_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(const struct reader *r, struct rb_entry *e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (e->state != RB_MALFORMED) {          /* the first problem of a line is its reason */
        e->state = RB_MALFORMED;
        free(e->why);
        e->why = strdup(msg);
    }
    report("%s:%zu: %s", r->src, e->line, msg);
    return 0;
}

/* A new entry for line; NULL (reported) when out of memory. */
static struct rb_entry *entry_new(struct reader *r, size_t line)
{
    struct rb_entry *ne;

    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        if ((ne = realloc(r->e, cap * sizeof(*ne))) == NULL) {
            report("%s: out of memory for %zu entries; split the list", r->src, cap);
            return NULL;
        }
        r->e = ne;
        r->cap = cap;
    }
    ne = &r->e[r->n++];
    memset(ne, 0, sizeof(*ne));
    ne->line = line;
    ne->reason = r->defreason;
    ne->inval = r->definval;
    return ne;
}

static int set_serial(const struct reader *r, struct rb_entry *e, const char *v)
{
    if (!serial_parse(v, e->serial, sizeof(e->serial), &e->n) || e->n == 0)
        return bad(r, e, "serial '%.80s': not a hex serial number of at most 20 bytes; copy it "
                   "from 'offca list'", v);
    return 1;
}

static int set_ca(const struct reader *r, struct rb_entry *e, const char *v)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

    if (strlen(v) > MAX_CA_NAME || v[strspn(v, ok)] != '\0')   /* the rule of ca_name_check */
        return bad(r, e, "ca '%.80s': not a CA name (1 to %d characters of A-Z a-z 0-9 _ -); "
                   "see 'offca ca list'", v, MAX_CA_NAME);
    snprintf(e->ca, sizeof(e->ca), "%s", v);
    return 1;
}

/* "type:value" with a known type, kept as written with the type in lower case. */
static int set_san(const struct reader *r, struct rb_entry *e, const char *v)
{
    char value[MAX_RB_VALUE];
    enum san_type ty;

    if (!san_parse(v, &ty, value, sizeof(value)))
        return bad(r, e, "san '%.80s': %s", v, tmpl_error());
    if (asprintf(&e->san, "%s:%s", san_type_name(ty), value) < 0) {
        e->san = NULL;
        return bad(r, e, "out of memory; free memory and retry");
    }
    return 1;
}

static int set_reason(const struct reader *r, struct rb_entry *e, const char *v)
{
    crl_reason_t reason;

    if (!crl_reason_parse(v, &reason))
        return bad(r, e, "%s", crl_error());
    if (reason == CRL_REASON_REMOVE_FROM_CRL)
        return bad(r, e, "reason removeFromCRL: not a revocation reason (RFC 5280 5.3.1); take a "
                   "held certificate off the CRL with 'offca unrevoke'");
    e->reason = reason;
    return 1;
}

/* One field: value v of column c (already known to be non-empty). 1 ok / 0 (entry malformed). */
static int set_field(const struct reader *r, struct rb_entry *e, int c, const char *v)
{
    if (strlen(v) >= MAX_RB_VALUE)
        return bad(r, e, "%s: a value of %zu bytes, over the limit of %d; shorten it",
                   col_names[c], strlen(v), MAX_RB_VALUE - 1);
    switch (c) {
    case C_SERIAL: return set_serial(r, e, v);
    case C_CA: return set_ca(r, e, v);
    case C_SAN: return set_san(r, e, v);
    case C_REASON: return set_reason(r, e, v);
    case C_INVAL:
        if (!revoke_parse_time(v, &e->inval))
            return bad(r, e, "invalidity_date '%.80s': not RFC 3339 UTC; write e.g. "
                       "2026-11-01T00:00:00Z", v);
        return 1;
    default:
        if ((e->subject = strdup(v)) == NULL)
            return bad(r, e, "out of memory; free memory and retry");
        return 1;
    }
}

/* After the fields: exactly one way to find the certificate. */
static void entry_check(const struct reader *r, struct rb_entry *e)
{
    if (e->state == RB_MALFORMED)
        return;
    if (e->n == 0 && e->subject == NULL && e->san == NULL)
        bad(r, e, "no certificate named; give a serial, or a subject and/or a san");
    else if (e->n > 0 && (e->subject != NULL || e->san != NULL))
        bad(r, e, "both a serial and a subject/san; give one of them (the serial when known)");
}

/* ---- JSON lines ---- */

static void json_entry(struct reader *r, struct rb_entry *e, json_t *obj)
{
    const char *key;
    json_t *v;
    int c;

    json_object_foreach(obj, key, v) {
        for (c = 0; c < C_COUNT && strcmp(key, col_names[c]) != 0; c++)
            ;
        if (c == C_COUNT) {
            bad(r, e, "key '%.64s': unknown key; the keys are " RB_KEYS, key);
            return;
        }
        if (!json_is_string(v)) {
            bad(r, e, "key '%s': expected a string", key);
            return;
        }
        if (json_string_length(v) == 0) {
            bad(r, e, "key '%s': empty string; give a value or leave the key out", key);
            return;
        }
        if (!set_field(r, e, c, json_string_value(v)))
            return;
    }
    entry_check(r, e);
}

static int read_jsonl(struct reader *r, const char *data, size_t len)
{
    const char *p = data, *end = data + len, *nl;
    size_t line = 0;
    struct rb_entry *e;
    json_t *obj;

    for (; p < end; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        line++;
        if (p + strspn(p, " \t\r") >= nl || *p == '#')     /* blank or a comment */
            continue;
        if ((e = entry_new(r, line)) == NULL)
            return EXIT_SYSTEM;
        if (jsonl_object_load(p, (size_t)(nl - p), r->src, line,
                              "{\"serial\": ...} or {\"san\": ...}", &obj) != 0) {
            e->state = RB_MALFORMED;
            e->why = strdup("not a valid JSON object (see above)");
            continue;
        }
        json_entry(r, e, obj);
        json_decref(obj);
    }
    return 0;
}

/* ---- CSV ---- */

/* The header row: which field holds which column (-1 absent); unknown columns are refused. */
static int csv_header(const struct reader *r, struct csv_reader *c, int map[C_COUNT])
{
    size_t i;
    int k;

    for (k = 0; k < C_COUNT; k++)
        map[k] = -1;
    for (i = 0; i < csv_fields(c); i++) {
        const char *h = csv_field_at(c, i);
        for (k = 0; k < C_COUNT && strcasecmp(h, col_names[k]) != 0 &&
                    !(k == C_INVAL && strcasecmp(h, "invalidityDate") == 0); k++)
            ;
        if (k == C_COUNT) {
            report("%s:%zu: header: column '%.64s' is unknown; the columns are " RB_KEYS
                   " (a header row first, then one certificate per row)", r->src, csv_line(c), h);
            return 0;
        }
        if (map[k] != -1) {
            report("%s:%zu: header: column %s appears twice; keep one", r->src, csv_line(c),
                   col_names[k]);
            return 0;
        }
        map[k] = (int)i;
    }
    if (map[C_SERIAL] == -1 && map[C_SUBJECT] == -1 && map[C_SAN] == -1) {
        report("%s:%zu: header: no serial, subject or san column; name the certificates by one "
               "of them", r->src, csv_line(c));
        return 0;
    }
    return 1;
}

static int read_csv(struct reader *r, const char *data, size_t len)
{
    struct csv_reader *c = csv_open(data, len, r->src);
    struct rb_entry *e;
    int map[C_COUNT], got, rc = EXIT_INPUT;
    size_t nhead;

    if (c == NULL)
        return EXIT_INPUT;
    if ((got = csv_read(c)) == 0)
        report("%s: empty; give a header row and one certificate per row", r->src);
    if (got != 1 || !csv_header(r, c, map))
        goto out;
    nhead = csv_fields(c);
    while ((got = csv_read(c)) == 1) {
        if ((e = entry_new(r, csv_line(c))) == NULL) {
            rc = EXIT_SYSTEM;
            goto out;
        }
        if (csv_fields(c) != nhead) {
            bad(r, e, "%zu fields, the header has %zu (RFC 4180 2.4); quote values that hold a "
                "comma", csv_fields(c), nhead);
            continue;
        }
        for (int k = 0; k < C_COUNT; k++) {
            const char *v = map[k] >= 0 ? csv_field_at(c, (size_t)map[k]) : "";
            if (v[0] != '\0' && !set_field(r, e, k, v))
                break;
        }
        entry_check(r, e);
    }
    rc = got < 0 ? EXIT_INPUT : 0;
out:
    csv_close(c);
    return rc;
}

/* JSON lines when the first line that is neither blank nor a comment starts with '{' (or there
 * are only comments: CSV has none). */
static int looks_jsonl(const char *d, size_t len)
{
    size_t i = len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    int comments = 0;

    while (i < len) {
        while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
            i++;
        if (i < len && d[i] == '#') {
            comments = 1;
            while (i < len && d[i] != '\n')
                i++;
            continue;
        }
        return i < len ? d[i] == '{' : comments;
    }
    return comments;
}

/* Read the list (see revoke.h). */
int revbatch_read(const char *src, const char *data, size_t len, int reason, time_t inval,
                  struct rb_entry **out, size_t *n)
{
    struct reader r = { src, NULL, 0, 0, reason, inval };
    int rc, js = looks_jsonl(data, len);

    if (js && len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        data += 3, len -= 3;
    rc = js ? read_jsonl(&r, data, len) : read_csv(&r, data, len);
    if (rc == 0 && r.n == 0) {
        report("%s: no entries; give one certificate per line", src);
        rc = EXIT_INPUT;
    }
    if (rc != 0) {
        revbatch_free(r.e, r.n);
        return rc;
    }
    *out = r.e;
    *n = r.n;
    return 0;
}

void revbatch_free(struct rb_entry *e, size_t n)
{
    for (size_t i = 0; e != NULL && i < n; i++) {
        free(e[i].subject);
        free(e[i].san);
        free(e[i].why);
        free(e[i].extra);
    }
    free(e);
}
