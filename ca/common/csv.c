/*
 * csv.c — the one RFC 4180 record reader (AD exports in dircsv.c, bulk revocation lists):
 * quoted fields with "" escapes, commas and newlines inside quotes, CRLF or LF line ends, a UTF-8
 * BOM and the "#TYPE ..." line Windows PowerShell 5's Export-Csv writes without
 * -NoTypeInformation skipped, blank lines skipped; UTF-16 and NUL bytes refused. Every
 * structural error is reported once as "SOURCE:LINE: RFC 4180: problem; fix".
 */
#include "ca/common/common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CSV_FIELDS 512

struct csv_reader {
    const char *src;
    const char *p, *end;
    size_t line, rec_line;
    char *buf;
    size_t used, cap;
    size_t off[MAX_CSV_FIELDS];
    size_t n;
};

/* Start reading data (len bytes) named src in messages. NULL (reported) on UTF-16, a NUL byte or
 * no memory. */
struct csv_reader *csv_open(const char *data, size_t len, const char *src)
{
    struct csv_reader *r;

    if (len >= 2 && ((data[0] == '\xff' && data[1] == '\xfe') ||
                     (data[0] == '\xfe' && data[1] == '\xff'))) {
        report("%s: encoding: the file is UTF-16; save it as UTF-8", src);
        return NULL;
    }
    if (memchr(data, '\0', len) != NULL) {
        report("%s: encoding: a NUL byte; save the file as UTF-8 text", src);
        return NULL;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        report("%s: out of memory; free memory and retry", src);
        return NULL;
    }
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
    return r;
}

void csv_close(struct csv_reader *r)
{
    if (r != NULL)
        free(r->buf);
    free(r);
}

static int put(struct csv_reader *r, char c)
{
    char *nb;

    if (r->used == r->cap) {
        if (r->cap > MAX_INPUT_BYTES) {
            report("%s:%zu: record over the %d-byte limit; check the quoting (an unclosed quote "
                   "swallows the lines after it)", r->src, r->rec_line, MAX_INPUT_BYTES);
            return 0;
        }
        if ((nb = realloc(r->buf, r->cap ? r->cap * 2 : 256)) == NULL) {
            report("%s: out of memory; free memory and retry", r->src);
            return 0;
        }
        r->buf = nb;
        r->cap = r->cap ? r->cap * 2 : 256;
    }
    r->buf[r->used++] = c;
    return 1;
}

/* A quoted field; p is after the opening quote. */
static int quoted(struct csv_reader *r)
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
                if (!put(r, '"'))
                    return 0;
                continue;
            }
            r->p++;
            break;
        }
        r->line += *r->p == '\n';
        if (!put(r, *r->p++))
            return 0;
    }
    if (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
        report("%s:%zu: RFC 4180: text after a closing quote; quote the whole field and double "
               "the quotes inside it", r->src, r->line);
        return 0;
    }
    return 1;
}

static int plain(struct csv_reader *r)
{
    while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
        if (*r->p == '"') {
            report("%s:%zu: RFC 4180: a quote inside an unquoted field; quote the whole field "
                   "and double the quotes inside it", r->src, r->line);
            return 0;
        }
        if (!put(r, *r->p++))
            return 0;
    }
    return 1;
}

static int eol(struct csv_reader *r)
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

/* The next record. 1 record, 0 end of data, -1 error (reported). Blank lines are skipped. */
int csv_read(struct csv_reader *r)
{
    while (r->p < r->end && (*r->p == '\n' ||
                             (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n'))) {
        r->p += *r->p == '\r' ? 2 : 1;
        r->line++;
    }
    if (r->p == r->end)
        return 0;
    r->rec_line = r->line;
    r->used = r->n = 0;
    for (;;) {
        if (r->n == MAX_CSV_FIELDS) {
            report("%s:%zu: more than %d fields in a row; keep only the columns offca reads",
                   r->src, r->rec_line, MAX_CSV_FIELDS);
            return -1;
        }
        r->off[r->n++] = r->used;
        if (r->p < r->end && *r->p == '"') {
            r->p++;
            if (!quoted(r))
                return -1;
        } else if (!plain(r)) {
            return -1;
        }
        if (!put(r, '\0'))
            return -1;
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        return eol(r) ? 1 : -1;
    }
}

/* Fields of the current record: their count, field i (NUL-terminated), the record's first line. */
size_t csv_fields(const struct csv_reader *r) { return r->n; }
const char *csv_field_at(const struct csv_reader *r, size_t i) { return r->buf + r->off[i]; }
/* Field i's own buffer, for a caller that decodes it in place (never longer than it is). */
char *csv_field_edit(struct csv_reader *r, size_t i) { return r->buf + r->off[i]; }
size_t csv_line(const struct csv_reader *r) { return r->rec_line; }
