/*
 * toml_string.c — TOML string literals for the reader in toml.c: basic strings with every TOML 1.0
 * escape (\uXXXX and \UXXXXXXXX as UTF-8, surrogates and U+0000 refused), literal strings, and
 * the multi-line forms with line-ending backslashes.
 */
#include "base/hex.h"
#include "base/toml.h"
#include "base/err.h"
#include "base/toml_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- strings --------------------------------------------------------------------------------- */

static int put_utf8(struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return toml_buf_put(b, u, n);
}

/* \uXXXX or \UXXXXXXXX at the cursor (on the backslash): a Unicode scalar value, not NUL. */
static int parse_unicode_escape(struct parser *p, struct buf *b, int ndig)
{
    size_t at = p->pos;
    unsigned long cp = 0;
    int i, v;

    for (i = 0; i < ndig; i++) {
        if ((v = hex_digit(toml_peek(p, 2 + (size_t)i))) < 0)
            return toml_perr(p, at, "\\%c needs exactly %d hex digits; write e.g. \\u00E9",
                        p->s[at + 1], ndig);
        cp = cp * 16 + (unsigned long)v;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return toml_perr(p, at, "\\%c%0*lX is a UTF-16 surrogate, not a character; write the "
                    "character itself or its \\U code point", p->s[at + 1], ndig, cp);
    if (cp > 0x10FFFF)
        return toml_perr(p, at, "\\U%08lX is beyond U+10FFFF; use a valid code point", cp);
    if (cp == 0)
        return toml_perr(p, at, "NUL (\\u0000) is not allowed in offca strings; remove it");
    p->pos += 2 + (size_t)ndig;
    return put_utf8(b, cp);
}

/* One escape sequence at the cursor (on the backslash). TOML 1.0 section "String". */
static int parse_escape(struct parser *p, struct buf *b)
{
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *hit;
    char c[8];
    int e = toml_peek(p, 1);

    if (e < 0)
        return toml_perr(p, p->pos, "unterminated string: it ends with a backslash; close it");
    if (e == '\n' || e == '\r')
        return toml_perr(p, p->pos, "a backslash cannot end the line of a single-line string; write "
                    "\\\\ for a backslash or use \"\"\" for a multi-line string");
    if (e == 'u' || e == 'U')
        return parse_unicode_escape(p, b, e == 'u' ? 4 : 8);
    if (e > 0 && (hit = strchr(from, e)) != NULL) {
        p->pos += 2;
        return toml_buf_put(b, to + (hit - from), 1);
    }
    p->pos++;
    toml_shown_char(p, c);
    p->pos--;
    return toml_perr(p, p->pos, "invalid escape '\\%s'; valid escapes are \\b \\t \\n \\f \\r \\\" "
                "\\\\ \\uXXXX \\UXXXXXXXX (for backslashes use a 'literal string')", c);
}

/* "basic string" on one line; cursor on the opening quote. */
int toml_parse_basic(struct parser *p, struct buf *b)
{
    size_t open = p->pos++;

    for (;;) {
        int c = toml_peek(p, 0);

        if (c < 0 || c == '\n' || c == '\r')
            return toml_perr(p, open, "unterminated string; close it with \" on the same line (use "
                        "\"\"\" for a multi-line string)");
        if (c == '"') {
            p->pos++;
            return b->b ? 1 : toml_buf_put(b, "", 0);
        }
        if (c == '\\') {
            if (!parse_escape(p, b))
                return 0;
            continue;
        }
        if (!toml_buf_put(b, p->s + p->pos, 1))
            return 0;
        p->pos++;
    }
}

/* 'literal string' on one line; cursor on the opening quote. */
int toml_parse_literal(struct parser *p, struct buf *b)
{
    size_t open = p->pos++, start = p->pos;

    while (toml_peek(p, 0) >= 0 && toml_peek(p, 0) != '\'' && toml_peek(p, 0) != '\n' && toml_peek(p, 0) != '\r')
        p->pos++;
    if (toml_peek(p, 0) != '\'')
        return toml_perr(p, open, "unterminated string; close it with ' on the same line (use ''' "
                    "for a multi-line string)");
    p->pos++;
    return toml_buf_put(b, p->s + start, p->pos - 1 - start);
}

/* The run of quote characters q at the cursor inside a multi-line string: 1 closed, 0 error,
 * -1 not a closing delimiter (quotes appended). */
static int ml_quotes(struct parser *p, struct buf *b, int q)
{
    size_t run = 0;

    while (toml_peek(p, run) == q)
        run++;
    if (run < 3) {
        p->pos += run;
        return toml_buf_put(b, p->s + p->pos - run, run) ? -1 : 0;
    }
    if (run > 5)
        return toml_perr(p, p->pos, "too many quotes at the end of a multi-line string; escape the "
                    "extra ones");
    if (!toml_buf_put(b, p->s + p->pos, run - 3))
        return 0;
    p->pos += run;
    return 1;
}

/* A backslash at the end of a line in a multi-line basic string: 1 when it was one (trimmed
 * with all following whitespace and newlines), 0 when it is an ordinary escape. */
static int line_ending_backslash(struct parser *p)
{
    size_t i = 1;

    while (toml_peek(p, i) == ' ' || toml_peek(p, i) == '\t')
        i++;
    if (toml_peek(p, i) != '\n' && toml_peek(p, i) != '\r')
        return 0;
    p->pos += i;
    while (toml_peek(p, 0) == ' ' || toml_peek(p, 0) == '\t' || toml_peek(p, 0) == '\n' || toml_peek(p, 0) == '\r')
        p->pos++;
    return 1;
}

/* """multi-line basic""" or '''multi-line literal'''; cursor on the first quote. CRLF in the
 * text becomes LF; a newline right after the opening delimiter is trimmed. */
static int parse_multiline(struct parser *p, struct buf *b)
{
    int q = toml_peek(p, 0), r;
    size_t open = p->pos;

    p->pos += 3;
    if (toml_peek(p, 0) == '\r')
        p->pos++;
    if (toml_peek(p, 0) == '\n')
        p->pos++;
    if (!toml_buf_put(b, "", 0))
        return 0;
    for (;;) {
        int c = toml_peek(p, 0);

        if (c < 0)
            return toml_perr(p, open, "unterminated multi-line string; close it with %s",
                        q == '"' ? "\"\"\"" : "'''");
        if (c == q) {
            if ((r = ml_quotes(p, b, q)) >= 0)
                return r;
        } else if (c == '\\' && q == '"') {
            if (!line_ending_backslash(p) && !parse_escape(p, b))
                return 0;
        } else if (c == '\r') {
            p->pos++;
        } else {
            if (!toml_buf_put(b, p->s + p->pos, 1))
                return 0;
            p->pos++;
        }
    }
}

int toml_parse_string(struct parser *p, struct toml_node *n)
{
    struct buf b = { 0 };
    int q = toml_peek(p, 0), ok;

    if (toml_peek(p, 1) == q && toml_peek(p, 2) == q)
        ok = parse_multiline(p, &b);
    else
        ok = q == '"' ? toml_parse_basic(p, &b) : toml_parse_literal(p, &b);
    if (!ok) {
        free(b.b);
        return 0;
    }
    n->type = TOML_STRING;
    n->str = b.b;
    return 1;
}
