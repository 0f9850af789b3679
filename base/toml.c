/*
 * toml.c — the strict TOML 1.0 reader behind template files and ca.toml (contract: template.h).
 *
 * One pass over bounded text: first the whole text is checked for UTF-8 and control characters,
 * then parsed into a tree of nodes kept in document order. Deliberate refusals beyond TOML 1.0:
 * floats and dates/times (offca has no use for them), "\u0000" in strings and control characters
 * in keys (C strings and terminal messages), more than MAX_TOML_DEPTH levels or MAX_TOML_MEMBERS
 * entries in one table/array (bounded recursion and lookup cost). A leading UTF-8 BOM is skipped.
 * String literals are scanned in toml_string.c; reading the tree (getters, unknown keys,
 * durations) is toml_get.c; the node layout they share is toml_int.h.
 */
#include "base/utf8.h"
#include "base/hex.h"
#include "base/toml.h"
#include "base/err.h"
#include "base/fsio.h"
#include "base/toml_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_TOML_DEPTH   32     /* levels of tables/arrays below the root */
#define MAX_TOML_MEMBERS 4096   /* entries of one table or array (member lookup is linear) */
#define MAX_TOML_SHOWN   64     /* bytes of a bad token quoted back in a message */

struct key {
    size_t n;
    char *part[MAX_TOML_DEPTH];
    size_t off[MAX_TOML_DEPTH];
};

static int parse_value(struct parser *p, struct toml_node *n);
static int parse_keyval(struct parser *p, struct toml_node *t, int line_end);

/* ---- positions and messages ------------------------------------------------------------------ */

static void locate(struct parser *p, size_t off, int *line, int *col)
{
    if (off < p->loc_off) {
        p->loc_off = p->start;
        p->loc_line = 1;
        p->loc_col = 1;
    }
    while (p->loc_off < off && p->loc_off < p->len) {
        unsigned char c = (unsigned char)p->s[p->loc_off++];

        if (c == '\n') {
            p->loc_line++;
            p->loc_col = 1;
        } else if ((c & 0xC0) != 0x80) {
            p->loc_col++;
        }
    }
    *line = p->loc_line;
    *col = p->loc_col;
}

__attribute__((format(printf, 3, 4)))
int toml_perr(struct parser *p, size_t off, const char *fmt, ...)
{
    char msg[1024];
    int line, col;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    locate(p, off, &line, &col);
    if (p->ctx)
        base_err_set(ERRC_INPUT, "%s:%d:%d: key '%s': %s", p->root->str, line, col, p->ctx, msg);
    else
        base_err_set(ERRC_INPUT, "%s:%d:%d: %s", p->root->str, line, col, msg);
    return 0;
}

int toml_oom(void)
{
    base_err_set(ERRC_SYSTEM, "toml: out of memory; free memory and retry");
    return 0;
}

int toml_peek(const struct parser *p, size_t ahead)
{
    return p->pos + ahead < p->len ? (unsigned char)p->s[p->pos + ahead] : -1;
}

/* Bytes of the UTF-8 character at off (the text was validated first). */
static int charlen(const struct parser *p, size_t off)
{
    unsigned char c = off < p->len ? (unsigned char)p->s[off] : 0;
    int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;

    return off + (size_t)n <= p->len ? n : 1;
}

/* The character at the cursor, for "unexpected 'x'" messages. */
const char *toml_shown_char(const struct parser *p, char out[8])
{
    int n = charlen(p, p->pos);

    if (p->pos >= p->len)
        return "end of file";
    if (p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
        return "end of line";
    memcpy(out, p->s + p->pos, (size_t)n);
    out[n] = '\0';
    return out;
}

/* ---- whole-text checks ----------------------------------------------------------------------- */

static int check_text(struct parser *p)
{
    size_t i = p->pos;

    while (i < p->len) {
        unsigned char c = (unsigned char)p->s[i];
        unsigned long cp;
        int n;

        if (c == '\r' && (i + 1 >= p->len || p->s[i + 1] != '\n'))
            return toml_perr(p, i, "carriage return without line feed; save the file with LF or CRLF "
                        "line endings");
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
            return toml_perr(p, i, "control character U+%04X is not allowed; remove it (inside a "
                        "\"basic string\" write it as an escape such as \\t)", c);
        n = utf8_next((const unsigned char *)p->s + i, p->len - i, &cp);
        if (n == 0)
            return toml_perr(p, i, "invalid UTF-8 (byte 0x%02X); save the file as UTF-8", c);
        i += (size_t)n;
    }
    return 1;
}

/* ---- nodes ----------------------------------------------------------------------------------- */

struct toml_node *toml_member(const struct toml_node *t, const char *key)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->kid[i]->key, key) == 0)
            return t->kid[i];
    return NULL;
}

static struct toml_node *node_add(struct parser *p, struct toml_node *parent, const char *key,
                                  size_t off, enum toml_type type, unsigned flags)
{
    struct toml_node *n;

    if (parent->depth >= MAX_TOML_DEPTH) {
        toml_perr(p, off, "nested deeper than %d levels; flatten the document", MAX_TOML_DEPTH);
        return NULL;
    }
    if (parent->n >= MAX_TOML_MEMBERS) {
        toml_perr(p, off, "more than %d entries in one table or array; split it", MAX_TOML_MEMBERS);
        return NULL;
    }
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct toml_node **k = realloc(parent->kid, cap * sizeof(*k));

        if (!k)
            return toml_oom(), NULL;
        parent->kid = k;
        parent->cap = cap;
    }
    if (!(n = calloc(1, sizeof(*n))) || !(n->key = strdup(key ? key : ""))) {
        free(n);
        return toml_oom(), NULL;
    }
    n->type = type;
    n->flags = flags;
    n->parent = parent;
    n->depth = parent->depth + 1;
    n->idx = parent->n;
    locate(p, off, &n->line, &n->col);
    parent->kid[parent->n++] = n;
    return n;
}

static int is_bare(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* base + "." + key, quoting a key that is not bare so the path stays unambiguous. */
char *toml_path_join(const char *base, const char *key)
{
    size_t i, klen = strlen(key), blen = strlen(base), len;
    int quote = klen == 0;
    char *out;

    for (i = 0; i < klen && !quote; i++)
        quote = !is_bare((unsigned char)key[i]);
    len = blen + 1 + klen + 2 * quote + 1;
    if (!(out = malloc(len)))
        return NULL;
    snprintf(out, len, "%s%s%s%s%s", base, blen ? "." : "", quote ? "\"" : "", key,
             quote ? "\"" : "");
    return out;
}

void toml_free(struct toml_node *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->n; i++)
        toml_free(n->kid[i]);
    free(n->kid);
    free(n->key);
    free(n->str);
    free(n->path);
    free(n->where);
    free(n);
}

/* ---- whitespace, comments, keys -------------------------------------------------------------- */

static void skip_ws(struct parser *p)
{
    while (toml_peek(p, 0) == ' ' || toml_peek(p, 0) == '\t')
        p->pos++;
}

static void skip_comment(struct parser *p)
{
    if (toml_peek(p, 0) == '#')
        while (p->pos < p->len && p->s[p->pos] != '\n' && p->s[p->pos] != '\r')
            p->pos++;
}

/* Whitespace, newlines and comments (inside arrays). */
static void skip_ws_nl(struct parser *p)
{
    for (;;) {
        skip_ws(p);
        skip_comment(p);
        if (toml_peek(p, 0) != '\n' && toml_peek(p, 0) != '\r')
            return;
        p->pos++;
    }
}

/* After a key = value or a header: only a comment may follow on the line. */
static int end_of_line(struct parser *p, const char *after)
{
    char c[8];

    skip_ws(p);
    skip_comment(p);
    if (p->pos >= p->len || toml_peek(p, 0) == '\n' || toml_peek(p, 0) == '\r')
        return 1;
    return toml_perr(p, p->pos, "unexpected '%s' after the %s; put each key = value and each [table] "
                "on its own line (comments start with #)", toml_shown_char(p, c), after);
}

int toml_buf_put(struct buf *b, const char *src, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        char *nb;

        while (cap < b->n + n + 1)
            cap *= 2;
        if (!(nb = realloc(b->b, cap)))
            return toml_oom();
        b->b = nb;
        b->cap = cap;
    }
    memcpy(b->b + b->n, src, n);
    b->n += n;
    b->b[b->n] = '\0';
    return 1;
}


static int parse_key_part(struct parser *p, struct key *k)
{
    struct buf b = { 0 };
    size_t start = p->pos, i;
    char c[8];
    int ok;

    if (k->n >= MAX_TOML_DEPTH)
        return toml_perr(p, start, "more than %d parts in a dotted key; flatten the document",
                    MAX_TOML_DEPTH);
    if (toml_peek(p, 0) == '"' || toml_peek(p, 0) == '\'') {
        if (toml_peek(p, 1) == toml_peek(p, 0) && toml_peek(p, 2) == toml_peek(p, 0))
            return toml_perr(p, start, "a multi-line string cannot be a key; use \"key\" or 'key'");
        ok = toml_peek(p, 0) == '"' ? toml_parse_basic(p, &b) : toml_parse_literal(p, &b);
        if (ok && !b.b)
            ok = toml_buf_put(&b, "", 0);
        for (i = 0; ok && i < b.n; i++)
            if ((unsigned char)b.b[i] < 0x20)
                ok = toml_perr(p, start, "control character in a key; remove it");
    } else {
        while (is_bare(toml_peek(p, 0)))
            p->pos++;
        if (p->pos == start)
            return toml_perr(p, start, "expected a key, found '%s'; bare keys use A-Z a-z 0-9 _ -, "
                        "quote anything else", toml_shown_char(p, c));
        ok = toml_buf_put(&b, p->s + start, p->pos - start);
    }
    if (!ok) {
        free(b.b);
        return 0;
    }
    k->part[k->n] = b.b;
    k->off[k->n++] = start;
    return 1;
}

static void key_clear(struct key *k)
{
    while (k->n > 0)
        free(k->part[--k->n]);
}

/* key = part ( ws '.' ws part )* */
static int parse_key(struct parser *p, struct key *k)
{
    for (;;) {
        if (!parse_key_part(p, k))
            return 0;
        skip_ws(p);
        if (toml_peek(p, 0) != '.')
            return 1;
        p->pos++;
        skip_ws(p);
    }
}

/* The dotted path of key parts 0..upto under table t (for messages). */
static char *key_path(const struct toml_node *t, const struct key *k, size_t upto)
{
    char *path = strdup(toml_path(t)), *next;
    size_t i;

    for (i = 0; path && i <= upto && i < k->n; i++) {
        next = toml_path_join(path, k->part[i]);
        free(path);
        path = next;
    }
    return path;
}

static int set_ctx(struct parser *p, const struct toml_node *t, const struct key *k, size_t upto)
{
    free(p->ctx);
    if (!(p->ctx = key_path(t, k, upto)))
        return toml_oom();
    return 1;
}

/* ---- integers, booleans and what offca refuses ----------------------------------------------- */

/* Digits of base with '_' only between digits, into *out, at most max. */
static int parse_digits(struct parser *p, size_t at, const char *tok, int base, uint64_t max,
                        uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    int d;

    for (i = 0; tok[i]; i++) {
        if (tok[i] == '_') {
            if (i == 0 || tok[i - 1] == '_' || tok[i + 1] == '\0')
                return toml_perr(p, at, "'_' in a number must sit between two digits; remove it");
            continue;
        }
        d = hex_digit((unsigned char)tok[i]);
        if (d < 0 || d >= base)
            return toml_perr(p, at, "invalid digit '%c' in a base-%d integer; fix the number",
                        tok[i], base);
        if (v > (max - (uint64_t)d) / (uint64_t)base)
            return toml_perr(p, at, "integer out of range (64-bit signed); use a smaller value");
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (i == 0)
        return toml_perr(p, at, "integer without digits; write a number such as 42");
    *out = v;
    return 1;
}

static int parse_integer(struct parser *p, size_t at, const char *tok, struct toml_node *n)
{
    int neg = tok[0] == '-', sign = tok[0] == '-' || tok[0] == '+', base = 10;
    const char *d = tok + sign;
    uint64_t v = 0;

    if (d[0] == '0' && (d[1] == 'x' || d[1] == 'o' || d[1] == 'b')) {
        if (sign)
            return toml_perr(p, at, "a sign is not allowed on hex, octal or binary integers; "
                        "remove it");
        base = d[1] == 'x' ? 16 : d[1] == 'o' ? 8 : 2;
        d += 2;
    } else if (d[0] == '0' && d[1] != '\0') {
        return toml_perr(p, at, "leading zeros are not allowed in integers; write 0o17 for octal "
                    "or drop the zeros");
    }
    if (!parse_digits(p, at, d, base, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v))
        return 0;
    n->type = TOML_INTEGER;
    n->num = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 1;
}

static int looks_like_date(const char *t)
{
    size_t i = 0;

    while (t[i] >= '0' && t[i] <= '9')
        i++;
    return strchr(t, ':') != NULL || (i == 4 && t[4] == '-');
}

static int looks_like_float(const char *t)
{
    const char *u = t + (t[0] == '+' || t[0] == '-');

    if (strcmp(u, "inf") == 0 || strcmp(u, "nan") == 0)
        return 1;
    if (u[0] == '0' && (u[1] == 'x' || u[1] == 'o' || u[1] == 'b'))
        return 0;
    return (u[0] >= '0' && u[0] <= '9') && strpbrk(u, ".eE") != NULL;
}

/* A bare value: true, false or an integer; floats, dates and unquoted words are refused. */
static int parse_bare(struct parser *p, struct toml_node *n)
{
    size_t at = p->pos, len;
    char tok[MAX_TOML_SHOWN + 1], c[8];
    int first;

    while (is_bare(toml_peek(p, 0)) || toml_peek(p, 0) == '+' || toml_peek(p, 0) == '.' || toml_peek(p, 0) == ':')
        p->pos++;
    if ((len = p->pos - at) == 0)
        return toml_perr(p, at, "expected a value, found '%s'; write a value (strings need quotes)",
                    toml_shown_char(p, c));
    if (len > MAX_TOML_SHOWN)
        return toml_perr(p, at, "value '%.*s...' is not a valid number (too long); strings need "
                    "quotes",
                    MAX_TOML_SHOWN, p->s + at);
    memcpy(tok, p->s + at, len);
    tok[len] = '\0';
    if (strcmp(tok, "true") == 0 || strcmp(tok, "false") == 0) {
        n->type = TOML_BOOL;
        n->num = tok[0] == 't';
        return 1;
    }
    first = (unsigned char)tok[0];
    if (first >= '0' && first <= '9' && looks_like_date(tok))
        return toml_perr(p, at, "'%s' is a date/time: floats/dates are not used by offca; write "
                    "durations as strings like \"7d\"", tok);
    if (looks_like_float(tok))
        return toml_perr(p, at, "'%s' is a float: floats/dates are not used by offca; write "
                    "durations as strings like \"7d\"", tok);
    if (!(first >= '0' && first <= '9') && first != '+' && first != '-')
        return toml_perr(p, at, "invalid value '%s'; strings need quotes: write \"%s\"", tok, tok);
    return parse_integer(p, at, tok, n);
}

/* ---- arrays and inline tables ---------------------------------------------------------------- */

static int parse_array(struct parser *p, struct toml_node *a)
{
    size_t open = p->pos++;
    struct toml_node *e;
    char c[8];

    a->type = TOML_ARRAY;
    for (;;) {
        skip_ws_nl(p);
        if (p->pos >= p->len)
            return toml_perr(p, open, "unterminated array; close it with ']'");
        if (toml_peek(p, 0) == ']')
            break;
        if (!(e = node_add(p, a, "", p->pos, 0, 0)) || !parse_value(p, e))
            return 0;
        skip_ws_nl(p);
        if (toml_peek(p, 0) == ',') {
            p->pos++;
            continue;
        }
        if (toml_peek(p, 0) == ']')
            break;
        if (p->pos >= p->len)
            return toml_perr(p, open, "unterminated array; close it with ']'");
        return toml_perr(p, p->pos, "expected ',' or ']' in the array, found '%s'; separate "
                    "values with commas", toml_shown_char(p, c));
    }
    p->pos++;
    return 1;
}

/* { key = value, ... } on one line; immutable once closed (TOML 1.0 "Inline Table"). */
static int parse_inline_table(struct parser *p, struct toml_node *t)
{
    size_t open = p->pos++;
    char c[8];

    t->type = TOML_TABLE;
    t->flags |= F_DEFINED;
    skip_ws(p);
    while (toml_peek(p, 0) != '}') {
        if (toml_peek(p, 0) < 0 || toml_peek(p, 0) == '\n' || toml_peek(p, 0) == '\r')
            return toml_perr(p, open, "unterminated inline table: it must close with '}' on the same "
                        "line; use a [table] section for longer tables");
        if (!parse_keyval(p, t, 0))
            return 0;
        skip_ws(p);
        if (toml_peek(p, 0) == ',') {
            p->pos++;
            skip_ws(p);
            if (toml_peek(p, 0) == '}')
                return toml_perr(p, p->pos, "trailing comma in an inline table; remove it");
        } else if (toml_peek(p, 0) != '}' && toml_peek(p, 0) >= 0 && toml_peek(p, 0) != '\n' &&
                   toml_peek(p, 0) != '\r') {
            return toml_perr(p, p->pos, "expected ',' or '}' in the inline table, found '%s'; "
                        "separate pairs with commas", toml_shown_char(p, c));
        }
    }
    p->pos++;
    t->flags |= F_INLINE;
    return 1;
}

static int parse_value(struct parser *p, struct toml_node *n)
{
    int c = toml_peek(p, 0);

    if (c == '"' || c == '\'')
        return toml_parse_string(p, n);
    if (c == '[')
        return parse_array(p, n);
    if (c == '{')
        return parse_inline_table(p, n);
    return parse_bare(p, n);
}

/* ---- keys, tables and the document ----------------------------------------------------------- */

const char *toml_kind(const struct toml_node *n)
{
    if (n->type == TOML_TABLE && (n->flags & F_INLINE))
        return "an inline table";
    if (n->type == TOML_TABLE && (n->flags & F_DOTTED))
        return "a table made by dotted keys";
    if (n->type == TOML_TABLE)
        return "a table";
    if (n->type == TOML_ARRAY && (n->flags & F_AOT))
        return "an array of tables";
    return n->type == TOML_ARRAY ? "an array" : n->type == TOML_INTEGER ? "an integer" :
           n->type == TOML_BOOL ? "a boolean" : "a string";
}

/* Walk/create the tables of dotted key parts 0..n-2 under t; only tables that dotted keys made
 * (in this section) can be extended this way. */
static struct toml_node *dotted_parent(struct parser *p, struct toml_node *t, const struct key *k)
{
    const struct toml_node *base = t;
    size_t i;

    for (i = 0; i + 1 < k->n; i++) {
        struct toml_node *m = toml_member(t, k->part[i]);

        if (!m) {
            if (!(m = node_add(p, t, k->part[i], k->off[i], TOML_TABLE, F_DOTTED)))
                return NULL;
        } else if (m->type != TOML_TABLE || !(m->flags & F_DOTTED) || (m->flags & F_INLINE)) {
            if (!set_ctx(p, base, k, i))
                return NULL;
            toml_perr(p, k->off[i], "already %s (defined at %d:%d), a dotted key cannot add to it; "
                 "move this key into that definition", toml_kind(m), m->line, m->col);
            return NULL;
        }
        t = m;
    }
    return t;
}

/* key = value into table t (the current section, or an inline table being read); line_end:
 * only a comment may follow on the line (messages then still name the key). */
static int parse_keyval(struct parser *p, struct toml_node *t, int line_end)
{
    struct key k = { 0 };
    struct toml_node *parent, *dup, *n;
    char *outer = p->ctx, c[8];
    int ok = 0;

    p->ctx = NULL;
    if (!parse_key(p, &k) || !set_ctx(p, t, &k, k.n - 1))
        goto out;
    skip_ws(p);
    if (toml_peek(p, 0) != '=') {
        toml_perr(p, p->pos, "expected '=' after the key, found '%s'; write key = value",
             toml_shown_char(p, c));
        goto out;
    }
    p->pos++;
    skip_ws(p);
    if (p->pos >= p->len || toml_peek(p, 0) == '\n' || toml_peek(p, 0) == '\r' || toml_peek(p, 0) == '#') {
        toml_perr(p, p->pos, "missing value after '='; write a value (strings need quotes)");
        goto out;
    }
    if (!(parent = dotted_parent(p, t, &k)))
        goto out;
    if ((dup = toml_member(parent, k.part[k.n - 1])) != NULL) {
        toml_perr(p, k.off[k.n - 1], "duplicate key (first defined at %d:%d as %s); remove one of "
             "them", dup->line, dup->col, toml_kind(dup));
        goto out;
    }
    if (!(n = node_add(p, parent, k.part[k.n - 1], k.off[k.n - 1], 0, 0)))
        goto out;
    ok = parse_value(p, n) && (!line_end || end_of_line(p, "value"));
out:
    key_clear(&k);
    free(p->ctx);
    p->ctx = outer;
    return ok;
}

/* Intermediate tables of a [a.b.c] / [[a.b.c]] header: created implicitly (located at the
 * header, which keeps locate() moving forward); arrays of tables lead into their last element. */
static struct toml_node *header_parent(struct parser *p, const struct key *k, size_t open)
{
    struct toml_node *t = p->root, *m;
    size_t i;

    for (i = 0; i + 1 < k->n; i++) {
        if (!(m = toml_member(t, k->part[i]))) {
            if (!(m = node_add(p, t, k->part[i], open, TOML_TABLE, F_IMPLICIT)))
                return NULL;
        } else if (m->type == TOML_ARRAY && (m->flags & F_AOT)) {
            m = m->kid[m->n - 1];
        } else if (m->type != TOML_TABLE || (m->flags & F_INLINE)) {
            if (!set_ctx(p, p->root, k, i))
                return NULL;
            toml_perr(p, k->off[i], "already %s (defined at %d:%d), it cannot be extended by a "
                 "[table] header; rename one of them", toml_kind(m), m->line, m->col);
            return NULL;
        }
        t = m;
    }
    return t;
}

/* The table a [header] names: new, or an implicit one defined now. */
static struct toml_node *header_table(struct parser *p, struct toml_node *t, const struct key *k,
                                      size_t open)
{
    struct toml_node *m = toml_member(t, k->part[k->n - 1]);

    if (!m)
        return node_add(p, t, k->part[k->n - 1], open, TOML_TABLE, F_DEFINED);
    if (m->type == TOML_TABLE && m->flags == F_IMPLICIT) {
        m->flags = F_DEFINED;
        locate(p, open, &m->line, &m->col);
        return m;
    }
    if (m->type == TOML_TABLE && (m->flags & F_DEFINED) && !(m->flags & F_INLINE))
        toml_perr(p, open, "table defined twice (first at %d:%d); merge the two sections",
             m->line, m->col);
    else if (m->type == TOML_ARRAY && (m->flags & F_AOT))
        toml_perr(p, open, "already an array of tables (at %d:%d); write [[...]] to add an element",
             m->line, m->col);
    else
        toml_perr(p, open, "already %s (defined at %d:%d), it cannot be redefined as a [table]; "
             "rename one of them", toml_kind(m), m->line, m->col);
    return NULL;
}

/* A new element of the array of tables a [[header]] names. */
static struct toml_node *header_aot(struct parser *p, struct toml_node *t, const struct key *k,
                                    size_t open)
{
    struct toml_node *m = toml_member(t, k->part[k->n - 1]);

    if (!m && !(m = node_add(p, t, k->part[k->n - 1], open, TOML_ARRAY, F_AOT)))
        return NULL;
    if (m->type != TOML_ARRAY || !(m->flags & F_AOT)) {
        toml_perr(p, open, "already %s (defined at %d:%d), it cannot become an array of tables; "
             "rename one of them", toml_kind(m), m->line, m->col);
        return NULL;
    }
    return node_add(p, m, "", open, TOML_TABLE, F_DEFINED);
}

/* [key] or [[key]]: makes the named table the current section. */
static int parse_header(struct parser *p)
{
    size_t open = p->pos;
    int aot = toml_peek(p, 1) == '[';
    struct key k = { 0 };
    struct toml_node *t = NULL;
    char c[8];

    p->pos += aot ? 2 : 1;
    skip_ws(p);
    if (!parse_key(p, &k) || !set_ctx(p, p->root, &k, k.n - 1))
        goto out;
    skip_ws(p);
    if (toml_peek(p, 0) != ']' || (aot && toml_peek(p, 1) != ']')) {
        toml_perr(p, p->pos, "expected '%s' to close the table header, found '%s'; write %s",
             aot ? "]]" : "]", toml_shown_char(p, c), aot ? "[[name]]" : "[name]");
        goto out;
    }
    p->pos += aot ? 2 : 1;
    if (!(t = header_parent(p, &k, open)))
        goto out;
    t = aot ? header_aot(p, t, &k, open) : header_table(p, t, &k, open);
out:
    key_clear(&k);
    free(p->ctx);
    p->ctx = NULL;
    if (!t)
        return 0;
    p->cur = t;
    return end_of_line(p, "table header");
}

static int parse_doc(struct parser *p)
{
    for (;;) {
        skip_ws(p);
        skip_comment(p);
        if (p->pos >= p->len)
            return 1;
        if (toml_peek(p, 0) == '\n' || toml_peek(p, 0) == '\r') {
            p->pos++;
            continue;
        }
        if (toml_peek(p, 0) == '[') {
            if (!parse_header(p))
                return 0;
        } else if (!parse_keyval(p, p->cur, 1)) {
            return 0;
        }
    }
}

/*
 * Parse len bytes of TOML (need not be NUL-terminated); filename is used in messages.
 * Returns the root table (free with toml_free) or NULL with base_err_msg() set (class 3).
 */
struct toml_node *toml_parse(const char *text, size_t len, const char *filename)
{
    struct parser p = { 0 };
    struct toml_node *root = NULL, *ret = NULL;

    base_err_clear();
    if (!(root = calloc(1, sizeof(*root))) || !(root->key = strdup("")) ||
        !(root->str = strdup(filename ? filename : "<toml>"))) {
        toml_oom();
        goto out;
    }
    root->type = TOML_TABLE;
    root->flags = F_DEFINED | F_USED;
    root->line = root->col = 1;
    if (len > MAX_TOML_BYTES) {
        base_err_set(ERRC_INPUT, "%s: %zu bytes is more than the %d allowed; split the file",
                    root->str, len, MAX_TOML_BYTES);
        goto out;
    }
    p.s = text ? text : "";
    p.len = text ? len : 0;
    p.root = p.cur = root;
    if (p.len >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;                      /* Windows editors write a BOM */
    p.start = p.loc_off = p.pos;
    p.loc_line = p.loc_col = 1;
    if (!check_text(&p) || !parse_doc(&p))
        goto out;
    ret = root;
    root = NULL;
out:
    free(p.ctx);
    toml_free(root);
    return ret;
}

/* Say why the loader refused path, in toml_load's words (all class 3 but memory). */
static void load_failed(const char *path, const struct fsio_load *l)
{
    long long size = (long long)l->st.st_size;

    if (l->step == FSIO_OPEN)
        base_err_set(ERRC_INPUT, "%s: cannot open: %s; check the path and its permissions", path,
                     strerror(errno));
    else if (l->step == FSIO_STAT || l->step == FSIO_READ)
        base_err_set(ERRC_INPUT, "%s: cannot read: %s; check the file", path, strerror(errno));
    else if (l->step == FSIO_TYPE)                 /* pipes are read: only a directory */
        base_err_set(ERRC_INPUT, "%s: is a directory; give the path of a TOML file", path);
    else if (l->step == FSIO_SIZE)      /* over the cap from its size, or it grew while read */
        base_err_set(ERRC_INPUT, "%s: %lld bytes is more than the %d allowed; split the file",
                     path, size > MAX_TOML_BYTES ? size : MAX_TOML_BYTES + 1, MAX_TOML_BYTES);
    else if (l->step == FSIO_NOMEM)
        toml_oom();
    /* FSIO_CHECK: the trust callback's own message */
}

/*
 * Read path through the bounded loader (base/fsio.h: anything but a directory, so ca.toml may
 * come from a pipe; its size and the read itself capped at MAX_TOML_BYTES; the open file judged
 * by trust, when given, before it is read), then toml_parse. NULL with base_err_msg() set
 * (class 3) on any failure.
 */
struct toml_node *toml_load(const char *path, int (*trust)(const char *path, const struct stat *st))
{
    struct fsio_load l = { .max = MAX_TOML_BYTES, .pipes = 1, .check = trust };
    struct toml_node *root;
    unsigned char *buf = NULL;
    size_t len = 0;

    if (!fsio_load(path, &l, &buf, &len)) {
        load_failed(path, &l);
        return NULL;
    }
    root = toml_parse((const char *)buf, len, path);
    free(buf);
    return root;
}
