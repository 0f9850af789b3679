/*
 * dircsv.c — the one parser of AD exports (Export-Csv of Get-ADComputer / Get-ADUser, or any CSV
 * with the same columns): RFC 4180 records, then one struct dir_entry per row.
 *
 * All or nothing: the first bad row refuses the whole file ("FILE:LINE: column X: problem; fix"),
 * EXIT_INPUT; so a half-read export can never replace the directory.
 * Names are compared case-insensitively in ASCII only (AD's own folding is wider; names outside
 * ASCII are compared byte for byte).
 */
#include "base/utf8.h"
#include "ca/ca.h"
#include "ca/input.h"
#include "ca/store.h"
#include "templates/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define MAX_CSV_FIELDS     512
#define MAX_DIR_NAME_BYTES 2048   /* dNSHostName may hold 2048; sam and upn are shorter */
#define MAX_SID_BIN_BYTES  68     /* 8 + 15 * 4 */

enum col { COL_SAM, COL_UPN, COL_DNS, COL_SID, COL_OBJSID, COL_COUNT };
static const char *const col_name[COL_COUNT] = {
    "SamAccountName", "UserPrincipalName", "DNSHostName", "SID", "objectSid"
};
static const char *const key_prefix[4] = { "sam:", "upn:", "dns:", "sid:" };

/* RFC 4180 reader state: the current record's fields, unescaped, NUL-separated in buf. */
struct csv {
    const char *src;
    const char *p, *end;
    size_t line;                 /* physical line of p */
    size_t rec_line;             /* line where the current record started */
    char *buf;
    size_t used, cap;
    size_t off[MAX_CSV_FIELDS];
    size_t n;
};

/* One principal key for the duplicate check. */
struct dkey {
    char *key;                   /* "sam:pc1$", lowercased */
    const char *name;            /* the name as written (owned by the entry) */
    size_t line;
    enum col col;
};

static int csv_put(struct csv *r, char c)
{
    char *nb;
    size_t ncap;

    if (r->used == r->cap) {
        if (r->cap > MAX_INPUT_BYTES) {
            report("%s:%zu: record over the %d-byte limit; check the quoting (an unclosed quote "
                   "swallows the lines after it)", r->src, r->rec_line, MAX_INPUT_BYTES);
            return 0;
        }
        ncap = r->cap ? r->cap * 2 : 256;
        if ((nb = realloc(r->buf, ncap)) == NULL) {
            report("%s: out of memory; free memory and retry", r->src);
            return 0;
        }
        r->buf = nb;
        r->cap = ncap;
    }
    r->buf[r->used++] = c;
    return 1;
}

/* A quoted field: "" is a quote, commas and newlines are data. p is after the opening quote. */
static int csv_quoted(struct csv *r)
{
    for (;;) {
        if (r->p == r->end) {
            report("%s:%zu: RFC 4180: a quoted field is never closed; add the closing quote",
                   r->src, r->rec_line);
            return 0;
        }
        if (*r->p == '"') {
            if (r->p + 1 < r->end && r->p[1] == '"') {
                r->p += 2;
                if (!csv_put(r, '"'))
                    return 0;
                continue;
            }
            r->p++;
            break;
        }
        if (*r->p == '\n')
            r->line++;
        if (!csv_put(r, *r->p++))
            return 0;
    }
    if (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
        report("%s:%zu: RFC 4180: text after a closing quote; quote the whole field and double "
               "the quotes inside it", r->src, r->line);
        return 0;
    }
    return 1;
}

static int csv_plain(struct csv *r)
{
    while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
        if (*r->p == '"') {
            report("%s:%zu: RFC 4180: a quote inside an unquoted field; quote the whole field "
                   "and double the quotes inside it", r->src, r->line);
            return 0;
        }
        if (!csv_put(r, *r->p++))
            return 0;
    }
    return 1;
}

/* End of a record at p: LF, CRLF or end of data. 1 ended / 0 error. */
static int csv_eol(struct csv *r)
{
    if (r->p == r->end)
        return 1;
    if (*r->p == '\r' && (r->p + 1 == r->end || r->p[1] != '\n')) {
        report("%s:%zu: RFC 4180: a carriage return not followed by a line feed; save the file "
               "with CRLF or LF line ends", r->src, r->line);
        return 0;
    }
    r->p += *r->p == '\r' ? 2 : 1;
    r->line++;
    return 1;
}

/* Next record into r->off/r->n. 1 record, 0 end of data, -1 error (reported). Blank lines are
 * skipped. */
static int csv_next(struct csv *r)
{
    while (r->p < r->end && (*r->p == '\n' ||
                             (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n'))) {
        r->p += *r->p == '\r' ? 2 : 1;
        r->line++;
    }
    if (r->p == r->end)
        return 0;
    r->rec_line = r->line;
    r->used = 0;
    r->n = 0;
    for (;;) {
        if (r->n == MAX_CSV_FIELDS) {
            report("%s:%zu: more than %d fields in a row; export only the columns offca needs "
                   "(select SamAccountName, UserPrincipalName, DNSHostName, SID)", r->src,
                   r->rec_line, MAX_CSV_FIELDS);
            return -1;
        }
        r->off[r->n++] = r->used;
        if (r->p < r->end && *r->p == '"') {
            r->p++;
            if (!csv_quoted(r))
                return -1;
        } else if (!csv_plain(r)) {
            return -1;
        }
        if (!csv_put(r, '\0'))
            return -1;
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        return csv_eol(r) ? 1 : -1;
    }
}

static const char *csv_field(const struct csv *r, size_t i)
{
    return r->buf + r->off[i];
}

/* Whole-file checks before reading records: UTF-16, NUL bytes, invalid UTF-8 (RFC 3629). */
static int text_check(const unsigned char *d, size_t len, const char *src)
{
    size_t i = 0, line = 1, n;
    unsigned long cp;

    if (len >= 2 && ((d[0] == 0xff && d[1] == 0xfe) || (d[0] == 0xfe && d[1] == 0xff))) {
        report("%s: encoding: the export is UTF-16; export again with -Encoding UTF8", src);
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
        if ((n = (size_t)utf8_next(d + i, len - i, &cp)) == 0) {
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
    for (i = 0; i < r->n; i++) {
        for (c = 0; c < COL_COUNT; c++) {
            if (strcasecmp(csv_field(r, i), col_name[c]) != 0)
                continue;
            if (map[c] != -1) {
                report("%s:%zu: header: column %s appears twice; keep one", r->src, r->rec_line,
                       col_name[c]);
                return 0;
            }
            map[c] = (int)i;
        }
    }
    if (map[COL_SID] == -1 && map[COL_OBJSID] == -1) {
        report("%s:%zu: header: no SID or objectSid column; export with -Properties objectSid "
               "(Get-ADComputer -Filter * | select DNSHostName, SamAccountName, SID)", r->src,
               r->rec_line);
        return 0;
    }
    if (map[COL_SAM] == -1 && map[COL_UPN] == -1 && map[COL_DNS] == -1) {
        report("%s:%zu: header: no SamAccountName, UserPrincipalName or DNSHostName column; "
               "export at least one of them", r->src, r->rec_line);
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
            report("%s:%zu: column %s: %s", r->src, r->rec_line, col_name[c], why);
            return 0;
        }
        if (have && strcmp(sid, other) != 0) {
            report("%s:%zu: column objectSid: %s does not match column SID %s; export both "
                   "from the same object, or only one", r->src, r->rec_line, other, sid);
            return 0;
        }
        have = 1;
    }
    if (!have) {
        report("%s:%zu: column %s: the row has no SID; export the objectSid of every object, or "
               "remove the row", r->src, r->rec_line, col_name[map[COL_SID] != -1 ? COL_SID
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

/* One data row into e (members owned). 1 ok / 0 reported. */
static int row_entry(const struct csv *r, const int map[COL_COUNT], size_t n_cols,
                     struct dir_entry *e)
{
    char sid[MAX_SID_CHARS + 1], **slot[3] = { &e->sam, &e->upn, &e->dns };
    const unsigned char *v;
    int c, named = 0;

    if (r->n != n_cols) {
        report("%s:%zu: the row has %zu fields but the header has %zu; check the quoting of "
               "values holding commas", r->src, r->rec_line, r->n, n_cols);
        return 0;
    }
    for (c = COL_SAM; c <= COL_DNS; c++) {
        if (map[c] == -1 || *(v = (const unsigned char *)csv_field(r, (size_t)map[c])) == '\0')
            continue;
        for (; *v != '\0'; v++)
            if (*v < 0x20 || *v == 0x7f)
                break;
        if (*v != '\0' || v - (const unsigned char *)csv_field(r, (size_t)map[c]) >
                              MAX_DIR_NAME_BYTES) {
            report("%s:%zu: column %s: %s; fix the value in the export", r->src, r->rec_line,
                   col_name[c], *v != '\0' ? "a control character (line break, tab) in a name"
                                            : "the name is over the length limit");
            return 0;
        }
        if ((*slot[c] = dup_or_fail(csv_field(r, (size_t)map[c]), r->src)) == NULL)
            return 0;
        named = 1;
    }
    if (!named) {
        report("%s:%zu: column SamAccountName: the row has no name (SamAccountName, "
               "UserPrincipalName and DNSHostName all empty); remove the row", r->src,
               r->rec_line);
        return 0;
    }
    if (!row_sid(r, map, sid, sizeof(sid)))
        return 0;
    return (e->sid = dup_or_fail(sid, r->src)) != NULL;
}

static int dkey_cmp(const void *a, const void *b)
{
    const struct dkey *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Two rows claiming one principal (per kind, ASCII case-insensitive), or two rows with one SID
 * (two principals claiming it): report the first such row in file order, naming the other.
 * keys[] is sorted here. 1 none / 0 reported. */
static int dup_check(struct dkey *keys, size_t n, const char *src)
{
    size_t i, best = n;

    qsort(keys, n, sizeof(*keys), dkey_cmp);
    for (i = 1; i < n; i++)
        if (strcmp(keys[i].key, keys[i - 1].key) == 0 &&
            (best == n || keys[i].line < keys[best].line))
            best = i;
    if (best == n)
        return 1;
    if (keys[best].col == COL_SID)
        report("%s:%zu: column SID: %s is also the SID of line %zu: two principals share one SID, "
               "which is unique in a domain (MS-DTYP 2.4.2) — a broken or forged export; nothing "
               "was imported, export the directory again", src, keys[best].line,
               keys[best].name, keys[best - 1].line);
    else
        report("%s:%zu: column %s: '%s' is also on line %zu (names are case-insensitive); remove "
               "one of the rows", src, keys[best].line, col_name[keys[best].col],
               keys[best].name, keys[best - 1].line);
    return 0;
}

/* The keys of entry e (found on line) appended to *keys. */
static int dkey_add(struct dkey **keys, size_t *n, size_t *cap, const struct dir_entry *e,
                    size_t line, const char *src)
{
    const char *name[4] = { e->sam, e->upn, e->dns, e->sid };
    struct dkey *nk;
    size_t k, i;

    for (k = 0; k < 4; k++) {
        if (name[k] == NULL)
            continue;
        if (*n == *cap) {
            if ((nk = realloc(*keys, (*cap ? *cap * 2 : 64) * sizeof(**keys))) == NULL) {
                report("%s: out of memory; free memory and retry", src);
                return 0;
            }
            *keys = nk;
            *cap = *cap ? *cap * 2 : 64;
        }
        if ((nk = &(*keys)[*n], nk->key = malloc(strlen(name[k]) + 5)) == NULL) {
            report("%s: out of memory; free memory and retry", src);
            return 0;
        }
        memcpy(nk->key, key_prefix[k], 4);
        for (i = 0; name[k][i] != '\0'; i++)
            nk->key[4 + i] = (name[k][i] >= 'A' && name[k][i] <= 'Z') ? (char)(name[k][i] + 32)
                                                                       : name[k][i];
        nk->key[4 + i] = '\0';
        nk->name = name[k];
        nk->line = line;
        nk->col = (enum col)k;
        (*n)++;
    }
    return 1;
}

static void dkeys_free(struct dkey *keys, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(keys[i].key);
    free(keys);
}

/* Start of the records: after a UTF-8 BOM and the "#TYPE ..." line Windows PowerShell 5's
 * Export-Csv writes without -NoTypeInformation. */
static void csv_start(struct csv *r, const char *data, size_t len, const char *src)
{
    memset(r, 0, sizeof(*r));
    r->src = src;
    r->p = data;
    r->end = data + len;
    r->line = 1;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        r->p += 3;
    if (r->end - r->p >= 5 && memcmp(r->p, "#TYPE", 5) == 0) {
        while (r->p < r->end && *r->p != '\n')
            r->p++;
        if (r->p < r->end) {
            r->p++;
            r->line++;
        }
    }
}

/* Data rows after the header into *ents (grown), keys for the duplicate check. */
static int rows_read(struct csv *r, const int map[COL_COUNT], struct dir_entry **ents,
                     size_t *n, struct dkey **keys, size_t *nk)
{
    size_t cap = 0, kcap = 0, n_cols = r->n;
    struct dir_entry *ne;
    int got;

    while ((got = csv_next(r)) == 1) {
        if (*n == MAX_CSV_ROWS) {
            report("%s:%zu: more than %d rows; split the export", r->src, r->rec_line,
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
        if (!row_entry(r, map, n_cols, &(*ents)[*n - 1]) ||
            !dkey_add(keys, nk, &kcap, &(*ents)[*n - 1], r->rec_line, r->src))
            return 0;
    }
    return got == 0;
}

/*
 * Parse an AD export (see input.h): len bytes of data (need not be NUL-terminated), source names
 * it in messages. On success *out (caller dircsv_free(*out, *n)) holds one entry per data row in
 * file order. The whole file is refused on the first problem: 0 or EXIT_INPUT, reported once.
 */
int dircsv_parse(const char *data, size_t len, const char *source, struct dir_entry **out,
                 size_t *n)
{
    struct csv r;
    struct dir_entry *ents = NULL;
    struct dkey *keys = NULL;
    size_t n_ents = 0, nk = 0;
    int map[COL_COUNT], rc = EXIT_INPUT, got;

    csv_start(&r, data, len, source);
    if (len > (size_t)MAX_CSV_BYTES) {
        report("%s: size limit: %zu bytes is over the %ld-byte limit for an export; split it",
               source, len, MAX_CSV_BYTES);
        goto out;
    }
    if (!text_check((const unsigned char *)data, len, source))
        goto out;
    if ((got = csv_next(&r)) != 1) {
        if (got == 0)
            report("%s: header: the export is empty; export again (Get-ADComputer -Filter * "
                   "-Properties objectSid | Export-Csv)", source);
        goto out;
    }
    if (!header_map(&r, map) || !rows_read(&r, map, &ents, &n_ents, &keys, &nk))
        goto out;
    if (n_ents == 0) {
        report("%s: the export has a header but no rows; importing it would empty the "
               "directory, export again", source);
        goto out;
    }
    if (!dup_check(keys, nk, source))
        goto out;
    *out = ents;
    *n = n_ents;
    ents = NULL;
    n_ents = 0;
    rc = 0;
out:
    dkeys_free(keys, nk);
    free(r.buf);
    dircsv_free(ents, n_ents);
    return rc;
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
