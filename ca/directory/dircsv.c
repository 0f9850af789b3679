/*
 * dircsv.c — the one parser of AD exports (Export-Csv of Get-ADComputer / Get-ADUser, or any CSV
 * with the same columns): RFC 4180 records, then one struct dir_entry per row.
 *
 * All or nothing: the first bad row refuses the whole file ("FILE:LINE: column X: problem; fix"),
 * EXIT_INPUT; so a half-read export can never replace the directory.
 * Names are compared case-insensitively in ASCII only (AD's own folding is wider; names outside
 * ASCII are compared byte for byte).
 */
#include "base/hex.h"
#include "base/utf8.h"
#include "ca/common/common.h"
#include "ca/directory/directory.h"
#include "ca/store/store.h"
#include "templates/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define MAX_DIR_NAME_BYTES 400    /* the store's key limit (LMDB keys < 511 bytes); AD names are
                                     shorter in practice (a DNS name is at most 253) */
#define MAX_SID_BIN_BYTES  68     /* 8 + 15 * 4 */

enum col { COL_SAM, COL_UPN, COL_DNS, COL_SID, COL_OBJSID, COL_COUNT };
static const char *const col_name[COL_COUNT] = {
    "SamAccountName", "UserPrincipalName", "DNSHostName", "SID", "objectSid"
};

/* An export being read: the RFC 4180 records (ca/common/csv.c) and whether it is csvde's. */
struct csv {
    struct csv_reader *rd;
    const char *src;
    int csvde;                   /* header starts with DN: csvde's X'..' values */
};

static const char *csv_field(const struct csv *r, size_t i)
{
    return csv_field_at(r->rd, i);
}

/* Length of the UTF-8 sequence (RFC 3629) at d[i] of a non-ASCII byte, 0 when invalid. */
static size_t utf8_seq(const unsigned char *d, size_t i, size_t len)
{
    unsigned long cp;

    return (size_t)utf8_next(d + i, len - i, &cp);
}

static int utf8_valid(const unsigned char *d, size_t len)
{
    size_t i = 0, n;

    while (i < len) {
        if (d[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = utf8_seq(d, i, len)) == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Whole-file checks before reading an export (see directory.h). */
int dir_text_check(const unsigned char *d, size_t len, const char *src)
{
    size_t i = 0, line = 1, n;

    if (len >= 2 && ((d[0] == 0xff && d[1] == 0xfe) || (d[0] == 0xfe && d[1] == 0xff))) {
        report("%s: encoding: the export is UTF-16; export again with -Encoding UTF8 (csvde, "
               "ldifde: without -u)", src);
        return 0;
    }
    while (i < len) {
        if (d[i] < 0x80) {
            if (d[i] == '\0') {
                report("%s:%zu: encoding: a NUL byte; export again with -Encoding UTF8", src,
                       line);
                return 0;
            }
            line += d[i++] == '\n';
            continue;
        }
        if ((n = utf8_seq(d, i, len)) == 0) {
            report("%s:%zu: encoding: invalid UTF-8 (byte 0x%02x); export again with -Encoding "
                   "UTF8", src, line, d[i]);
            return 0;
        }
        i += n;
    }
    return 1;
}

/* Header row: which field holds which column (-1: absent). Unknown columns are ignored. */
static int header_map(const struct csv *r, int map[COL_COUNT])
{
    size_t i;
    int c;

    for (c = 0; c < COL_COUNT; c++)
        map[c] = -1;
    for (i = 0; i < csv_fields(r->rd); i++) {
        for (c = 0; c < COL_COUNT; c++) {
            if (strcasecmp(csv_field(r, i), col_name[c]) != 0)
                continue;
            if (map[c] != -1) {
                report("%s:%zu: header: column %s appears twice; keep one", r->src, csv_line(r->rd),
                       col_name[c]);
                return 0;
            }
            map[c] = (int)i;
        }
    }
    if (map[COL_SID] == -1 && map[COL_OBJSID] == -1) {
        report("%s:%zu: header: no SID or objectSid column; export with -Properties objectSid "
               "(Get-ADComputer -Filter * | select DNSHostName, SamAccountName, SID)", r->src,
               csv_line(r->rd));
        return 0;
    }
    if (map[COL_SAM] == -1 && map[COL_UPN] == -1 && map[COL_DNS] == -1) {
        report("%s:%zu: header: no SamAccountName, UserPrincipalName or DNSHostName column; "
               "export at least one of them", r->src, csv_line(r->rd));
        return 0;
    }
    return 1;
}

static int is_hex(const char *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f') ||
              (v[i] >= 'A' && v[i] <= 'F')))
            return 0;
    return 1;
}

/* Strict base64 (RFC 4648 4): alphabet only, padding only at the end. At most outmax bytes into
 * out (a 92-character value decodes to 69 bytes: the scratch buffer holds it, out may not). */
static int b64_decode(const char *v, size_t n, unsigned char *out, size_t outmax,
                      size_t *outlen)
{
    unsigned char tmp[(MAX_SID_BIN_BYTES + 2) / 3 * 3];
    size_t i, pad = 0;
    int got;

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(tmp))
        return 0;
    if (v[n - 1] == '=')
        pad = v[n - 2] == '=' ? 2 : 1;
    for (i = 0; i < n - pad; i++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", v[i]) ==
            NULL || v[i] == '\0')
            return 0;
    got = EVP_DecodeBlock(tmp, (const unsigned char *)v, (int)n);
    if (got < 0 || (size_t)got < pad)
        return 0;
    if ((size_t)got - pad > outmax)
        return 0;
    *outlen = (size_t)got - pad;
    memcpy(out, tmp, *outlen);
    return 1;
}

/* A SID in any of the three forms, decided by syntax, into its canonical string. 1 ok / 0 with
 * the problem in why. */
static int sid_decode(const char *v, char *sid, size_t sidlen, char *why, size_t whylen)
{
    unsigned char bin[MAX_SID_BIN_BYTES];
    size_t n = strlen(v), blen = 0, i;
    unsigned int b;

    if (v[0] == 'S' || v[0] == 's') {
        if (!sid_check(v)) {
            snprintf(why, whylen, "%s", tmpl_error());
            return 0;
        }
        snprintf(sid, sidlen, "%s", v);
        return 1;
    }
    if (n % 2 == 0 && n >= 16 && n <= 2 * MAX_SID_BIN_BYTES && is_hex(v, n)) {
        for (i = 0; i < n / 2; i++) {
            sscanf(v + 2 * i, "%2x", &b);
            bin[blen++] = (unsigned char)b;
        }
    } else if (!b64_decode(v, n, bin, sizeof(bin), &blen)) {
        snprintf(why, whylen, "'%.60s' is not a SID: expected S-1-..., or a binary objectSid as "
                 "hex or base64; export the objectSid or SID attribute unchanged", v);
        return 0;
    }
    if (!sid_from_binary(bin, blen, sid, sidlen)) {
        snprintf(why, whylen, "%s", tmpl_error());
        return 0;
    }
    return 1;
}

/* The row's SID from the SID and/or objectSid columns; both present must agree. */
static int row_sid(const struct csv *r, const int map[COL_COUNT], char *sid, size_t sidlen)
{
    char why[1024], other[MAX_SID_CHARS + 1];
    const char *v;
    int c, have = 0;

    for (c = COL_SID; c <= COL_OBJSID; c++) {
        if (map[c] == -1 || *(v = csv_field(r, (size_t)map[c])) == '\0')
            continue;
        if (!sid_decode(v, have ? other : sid, have ? sizeof(other) : sidlen, why, sizeof(why))) {
            report("%s:%zu: column %s: %s", r->src, csv_line(r->rd), col_name[c], why);
            return 0;
        }
        if (have && strcmp(sid, other) != 0) {
            report("%s:%zu: column objectSid: %s does not match column SID %s; export both "
                   "from the same object, or only one", r->src, csv_line(r->rd), other, sid);
            return 0;
        }
        have = 1;
    }
    if (!have) {
        report("%s:%zu: column %s: the row has no SID; export the objectSid of every object, or "
               "remove the row", r->src, csv_line(r->rd), col_name[map[COL_SID] != -1 ? COL_SID
                                                                   : COL_OBJSID]);
        return 0;
    }
    return 1;
}

static char *dup_or_fail(const char *s, const char *src)
{
    char *d = strdup(s);

    if (d == NULL)
        report("%s: out of memory; free memory and retry", src);
    return d;
}

/* Problem with a principal name of n bytes (see directory.h), or NULL. */
const char *dir_name_problem(const unsigned char *v, size_t n)
{
    size_t i;

    if (n > MAX_DIR_NAME_BYTES)
        return "the name is over the length limit";
    for (i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] == 0x7f)
            return "a control character (line break, tab, NUL) in a name";
    if (!utf8_valid(v, n))
        return "the name is not UTF-8";
    return NULL;
}

/* csvde writes a binary value, and any value outside ASCII, as X'<hex>' (the UTF-8 bytes for
 * text). Field i decoded in place: a SID column keeps the hex digits (sid_decode reads hex), a
 * name becomes its bytes. 1 ok (also for a plain value) / 0 reported. */
static int csvde_value(struct csv *r, const int map[COL_COUNT], int c)
{
    char *v = csv_field_edit(r->rd, (size_t)map[c]);
    size_t n = strlen(v), i;

    if (n < 3 || (v[0] != 'X' && v[0] != 'x') || v[1] != '\'' || v[n - 1] != '\'')
        return 1;
    if ((n - 3) % 2 != 0 || !is_hex(v + 2, n - 3)) {
        report("%s:%zu: column %s: csvde value %.40s is not X'<hex digits>'; export again with "
               "csvde", r->src, csv_line(r->rd), col_name[c], v);
        return 0;
    }
    if (c == COL_SID || c == COL_OBJSID) {
        memmove(v, v + 2, n - 3);
        v[n - 3] = '\0';
        return 1;
    }
    for (i = 0; i < (n - 3) / 2; i++)      /* in place: byte i from digits 2 + 2i, 3 + 2i */
        v[i] = (char)(hex_digit(v[2 + 2 * i]) << 4 | hex_digit(v[3 + 2 * i]));
    if (memchr(v, '\0', i) != NULL) {
        report("%s:%zu: column %s: a NUL byte in a name; fix the value in the export", r->src,
               csv_line(r->rd), col_name[c]);
        return 0;
    }
    v[i] = '\0';
    return 1;
}

/* One data row into e (members owned). 1 ok / 0 reported. */
static int row_entry(struct csv *r, const int map[COL_COUNT], size_t n_cols, struct dir_entry *e)
{
    char sid[MAX_SID_CHARS + 1], **slot[3] = { &e->sam, &e->upn, &e->dns };
    const unsigned char *v;
    const char *why;
    int c, named = 0;

    if (csv_fields(r->rd) != n_cols) {
        report("%s:%zu: the row has %zu fields but the header has %zu; check the quoting of "
               "values holding commas", r->src, csv_line(r->rd), csv_fields(r->rd), n_cols);
        return 0;
    }
    e->src = r->src;
    e->line = csv_line(r->rd);
    for (c = 0; r->csvde && c < COL_COUNT; c++)
        if (map[c] != -1 && !csvde_value(r, map, c))
            return 0;
    for (c = COL_SAM; c <= COL_DNS; c++) {
        if (map[c] == -1 || *(v = (const unsigned char *)csv_field(r, (size_t)map[c])) == '\0')
            continue;
        if ((why = dir_name_problem(v, strlen((const char *)v))) != NULL) {
            report("%s:%zu: column %s: %s; fix the value in the export", r->src, csv_line(r->rd),
                   col_name[c], why);
            return 0;
        }
        if ((*slot[c] = dup_or_fail(csv_field(r, (size_t)map[c]), r->src)) == NULL)
            return 0;
        named = 1;
    }
    if (!named) {
        report("%s:%zu: column SamAccountName: the row has no name (SamAccountName, "
               "UserPrincipalName and DNSHostName all empty); remove the row", r->src,
               csv_line(r->rd));
        return 0;
    }
    if (!row_sid(r, map, sid, sizeof(sid)))
        return 0;
    return (e->sid = dup_or_fail(sid, r->src)) != NULL;
}

/* Data rows after the header into *ents (grown). */
static int rows_read(struct csv *r, const int map[COL_COUNT], struct dir_entry **ents,
                     size_t *n)
{
    size_t cap = 0, n_cols = csv_fields(r->rd);
    struct dir_entry *ne;
    int got;

    while ((got = csv_read(r->rd)) == 1) {
        if (*n == MAX_CSV_ROWS) {
            report("%s:%zu: more than %d rows; split the export", r->src, csv_line(r->rd),
                   MAX_CSV_ROWS);
            return 0;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            if ((ne = realloc(*ents, cap * sizeof(**ents))) == NULL) {
                report("%s: out of memory; free memory and retry", r->src);
                return 0;
            }
            *ents = ne;
        }
        memset(&(*ents)[*n], 0, sizeof(**ents));
        (*n)++;          /* counted now, so a half-filled entry is freed too */
        if (!row_entry(r, map, n_cols, &(*ents)[*n - 1]))
            return 0;
    }
    return got == 0;
}

/* The header, then the rows: *out and *n set only on success. 0 or EXIT_INPUT (reported). */
static int dir_csv_read(const char *data, size_t len, const char *source, struct dir_entry **out,
                        size_t *n)
{
    struct csv r;
    struct dir_entry *ents = NULL;
    size_t n_ents = 0;
    int map[COL_COUNT], rc = EXIT_INPUT, got;

    memset(&r, 0, sizeof(r));
    r.src = source;
    if (len > (size_t)MAX_CSV_BYTES) {
        report("%s: size limit: %zu bytes is over the %ld-byte limit for an export; split it",
               source, len, MAX_CSV_BYTES);
        goto out;
    }
    if (!dir_text_check((const unsigned char *)data, len, source) ||
        (r.rd = csv_open(data, len, source)) == NULL)
        goto out;
    if ((got = csv_read(r.rd)) != 1) {
        if (got == 0)
            report("%s: header: the export is empty; export again (Get-ADComputer -Filter * "
                   "-Properties objectSid | Export-Csv)", source);
        goto out;
    }
    r.csvde = csv_fields(r.rd) > 0 && strcasecmp(csv_field(&r, 0), "DN") == 0;
    if (!header_map(&r, map) || !rows_read(&r, map, &ents, &n_ents))
        goto out;
    if (n_ents == 0) {
        report("%s: the export has a header but no rows; importing it would empty the "
               "directory, export again", source);
        goto out;
    }
    *out = ents;
    *n = n_ents;
    ents = NULL;
    n_ents = 0;
    rc = 0;
out:
    csv_close(r.rd);
    dircsv_free(ents, n_ents);
    return rc;
}

/*
 * Parse an AD export (see directory.h): len bytes of data (need not be NUL-terminated), source names
 * it in messages. On success *out (caller dircsv_free(*out, *n)) holds one entry per data row in
 * file order. The whole file is refused on the first problem: 0 or EXIT_INPUT, reported once.
 */
int dircsv_parse(const char *data, size_t len, const char *source, struct dir_entry **out,
                 size_t *n)
{
    struct dir_entry *e = NULL;
    struct dir_index ix;
    size_t ne = 0;
    int rc;

    if ((rc = dir_csv_read(data, len, source, &e, &ne)) != 0)
        return rc;
    if (!dir_index_build(&ix, e, ne)) {
        dircsv_free(e, ne);
        return EXIT_SYSTEM;
    }
    rc = dir_index_dup_check(&ix, e) ? 0 : EXIT_INPUT;
    dir_index_free(&ix);
    if (rc != 0) {
        dircsv_free(e, ne);
        return rc;
    }
    *out = e;
    *n = ne;
    return 0;
}

/* Free n entries and the array; NULL is a no-op. */
void dircsv_free(struct dir_entry *e, size_t n)
{
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < n; i++) {
        free(e[i].sam);
        free(e[i].upn);
        free(e[i].dns);
        free(e[i].sid);
    }
    free(e);
}
