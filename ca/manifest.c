/*
 * manifest.c — the one parser of batch manifests (`offca sign --batch`): one JSON object per line,
 * {"csr": "...", "out": "...", "sid": "...", "san": ["dns:...", ...], "subject": "..."}.
 *
 * A strict reader for exactly this shape, not a general JSON library: an object of string values
 * and one array of strings. RFC 8259 strings (escapes, \uXXXX with surrogate pairs to UTF-8; raw
 * control characters, lone surrogates, \u0000 and invalid UTF-8 refused), no trailing commas,
 * duplicate and unknown keys refused. Every refusal is EXIT_INPUT, reported as
 * "SOURCE:LINE: problem; fix". Blank lines and '#' comment lines are the caller's business: it
 * skips them before calling (this parser refuses them as "not a JSON object").
 */
#include "ca/ca.h"
#include "ca/input.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MANIFEST_SANS   64
#define MAX_MANIFEST_STRING 8192   /* decoded bytes: a path, a SID, a SAN or an RFC 4514 subject */
#define MANIFEST_KEYS       "csr, out, sid, san, subject"

enum mkey { K_CSR, K_OUT, K_SID, K_SAN, K_SUBJECT, K_COUNT };
static const char *const key_name[K_COUNT] = { "csr", "out", "sid", "san", "subject" };

struct jp {
    const unsigned char *p, *start, *end;
    const char *src;
    size_t lineno;
};

/* Dynamic buffer for one decoded string. */
struct sbuf {
    char *s;
    size_t len, cap;
};

static void jfail(const struct jp *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jfail(const struct jp *j, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report("%s:%zu: %s", j->src, j->lineno, msg);
}

static size_t jcol(const struct jp *j)
{
    return (size_t)(j->p - j->start) + 1;
}

static void jws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* 1 when the literal word (true, false, null) starts at p and is not part of a longer word. */
static int jlit(const struct jp *j, const char *word)
{
    size_t n = strlen(word);

    return (size_t)(j->end - j->p) >= n && memcmp(j->p, word, n) == 0 &&
           ((size_t)(j->end - j->p) == n || !isalnum((unsigned char)j->p[n]));
}

/* What the value at p is, for type errors. */
static const char *jtype(const struct jp *j)
{
    if (j->p == j->end)
        return "nothing (the line ends)";
    if (jlit(j, "true") || jlit(j, "false"))
        return "a boolean";
    if (jlit(j, "null"))
        return "null";
    switch (*j->p) {
    case '"': return "a string";
    case '[': return "an array";
    case '{': return "an object";
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': return "a number";
    default: return "something that is not JSON";
    }
}

static int sb_put(struct jp *j, struct sbuf *b, const char *data, size_t n)
{
    char *ns;

    if (b->len + n + 1 > MAX_MANIFEST_STRING) {
        jfail(j, "column %zu: a string over %d bytes; shorten it", jcol(j), MAX_MANIFEST_STRING);
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        b->cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 64;
        if ((ns = realloc(b->s, b->cap)) == NULL) {
            jfail(j, "out of memory; free memory and retry");
            return 0;
        }
        b->s = ns;
    }
    memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 1;
}

static int hex4(const unsigned char *p, unsigned int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        unsigned int c = p[i];
        *v <<= 4;
        if (c >= '0' && c <= '9') *v |= c - '0';
        else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
        else return 0;
    }
    return 1;
}

/* \uXXXX (p at the 'u'), with a following \uXXXX low surrogate when XXXX is a high one. */
static int junicode(struct jp *j, struct sbuf *b)
{
    unsigned int cp, lo;
    char u[4];
    size_t n;

    if (j->end - j->p < 5 || !hex4(j->p + 1, &cp)) {
        jfail(j, "column %zu: \\u needs 4 hex digits; fix the escape", jcol(j));
        return 0;
    }
    j->p += 5;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        goto lone;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || !hex4(j->p + 2, &lo) ||
            lo < 0xdc00 || lo > 0xdfff)
            goto lone;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        j->p += 6;
    }
    if (cp == 0) {
        jfail(j, "column %zu: \\u0000 (NUL) in a string; remove it", jcol(j));
        return 0;
    }
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
    }
    return sb_put(j, b, u, n);
lone:
    jfail(j, "column %zu: a lone UTF-16 surrogate in a \\u escape (RFC 8259 8.2); escape "
          "characters outside the BMP as a surrogate pair", jcol(j));
    return 0;
}

/* One backslash escape; p at the backslash. */
static int jescape(struct jp *j, struct sbuf *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e;

    if (++j->p == j->end) {
        jfail(j, "column %zu: the line ends inside an escape; close the string", jcol(j));
        return 0;
    }
    if (*j->p == 'u')
        return junicode(j, b);
    if (*j->p == '\0' || (e = strchr(from, *j->p)) == NULL) {
        jfail(j, "column %zu: \\%c is not a JSON escape (RFC 8259 7); use \\\" \\\\ \\/ \\b \\f "
              "\\n \\r \\t or \\uXXXX", jcol(j), *j->p >= 0x20 && *j->p < 0x7f ? *j->p : '?');
        return 0;
    }
    j->p++;
    return sb_put(j, b, &to[e - from], 1);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0, k;
    unsigned int cp;

    if (n == 0 || p[0] > 0xf4 || (size_t)(end - p) < n)
        return 0;
    cp = p[0] & (0xff >> (n + 1));
    for (k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* A string at p (which is '"'): decoded into *out (malloc'd, NUL-terminated). */
static int jstring(struct jp *j, char **out)
{
    struct sbuf b = { NULL, 0, 0 };
    size_t n;

    j->p++;
    for (;;) {
        if (j->p == j->end) {
            jfail(j, "column %zu: the line ends inside a string; close it with '\"'", jcol(j));
            goto bad;
        }
        if (*j->p == '"')
            break;
        if (*j->p == '\\') {
            if (!jescape(j, &b))
                goto bad;
            continue;
        }
        if (*j->p < 0x20) {
            jfail(j, "column %zu: a raw control character (0x%02x) in a string; escape it",
                  jcol(j), *j->p);
            goto bad;
        }
        n = *j->p < 0x80 ? 1 : utf8_len(j->p, j->end);
        if (n == 0) {
            jfail(j, "column %zu: invalid UTF-8 (byte 0x%02x); save the manifest as UTF-8",
                  jcol(j), *j->p);
            goto bad;
        }
        if (!sb_put(j, &b, (const char *)j->p, n))
            goto bad;
        j->p += n;
    }
    j->p++;
    if (b.s == NULL && !sb_put(j, &b, "", 0))
        goto bad;
    *out = b.s;
    return 1;
bad:
    free(b.s);
    return 0;
}

/* A string value for key k, not empty. */
static int jvalue_str(struct jp *j, enum mkey k, char **out)
{
    if (j->p == j->end || *j->p != '"') {
        jfail(j, "key '%s': expected a string; got %s", key_name[k], jtype(j));
        return 0;
    }
    if (!jstring(j, out))
        return 0;
    if (**out == '\0') {
        jfail(j, "key '%s': empty string; give a value or leave the key out", key_name[k]);
        free(*out);
        *out = NULL;
        return 0;
    }
    return 1;
}

/* "san": ["dns:...", ...] — strings only, no trailing comma, at most MAX_MANIFEST_SANS. */
static int jvalue_san(struct jp *j, struct manifest_line *m)
{
    char **ns;

    if (j->p == j->end || *j->p != '[') {
        jfail(j, "key 'san': expected an array of strings; got %s", jtype(j));
        return 0;
    }
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 1;
    }
    for (;;) {
        if (j->p < j->end && *j->p == ']') {
            jfail(j, "column %zu: key 'san': a trailing comma before ']' (RFC 8259 5); remove it",
                  jcol(j));
            return 0;
        }
        if (j->p == j->end || *j->p != '"') {
            jfail(j, "key 'san': expected an array of strings; element %zu is %s", m->n_san + 1,
                  jtype(j));
            return 0;
        }
        if (m->n_san == MAX_MANIFEST_SANS) {
            jfail(j, "key 'san': more than %d entries; split the request", MAX_MANIFEST_SANS);
            return 0;
        }
        if ((ns = realloc(m->san, (m->n_san + 1) * sizeof(*ns))) == NULL) {
            jfail(j, "out of memory; free memory and retry");
            return 0;
        }
        m->san = ns;
        if (!jvalue_str(j, K_SAN, &m->san[m->n_san]))
            return 0;
        m->n_san++;
        jws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return 1;
        }
        if (j->p == j->end || *j->p != ',') {
            jfail(j, "column %zu: key 'san': expected ',' or ']' in the array; got %s", jcol(j),
                  jtype(j));
            return 0;
        }
        j->p++;
        jws(j);
    }
}

/* One "key": value member; seen[] catches duplicates. */
static int jmember(struct jp *j, struct manifest_line *m, int seen[K_COUNT])
{
    char **slot[K_COUNT] = { &m->csr, &m->out, &m->sid, NULL, &m->subject };
    char *key = NULL;
    int k, ok = 0;

    if (j->p == j->end || *j->p != '"') {
        jfail(j, "column %zu: expected a key in double quotes; got %s", jcol(j), jtype(j));
        return 0;
    }
    if (!jstring(j, &key))
        return 0;
    for (k = 0; k < K_COUNT && strcmp(key, key_name[k]) != 0; k++)
        ;
    if (k == K_COUNT) {
        jfail(j, "key '%.64s': unknown key; the keys are " MANIFEST_KEYS, key);
        goto out;
    }
    if (seen[k]) {
        jfail(j, "key '%s': appears twice in the object; keep one", key);
        goto out;
    }
    seen[k] = 1;
    jws(j);
    if (j->p == j->end || *j->p != ':') {
        jfail(j, "column %zu: expected ':' after key '%s'; got %s", jcol(j), key, jtype(j));
        goto out;
    }
    j->p++;
    jws(j);
    ok = k == K_SAN ? jvalue_san(j, m) : jvalue_str(j, (enum mkey)k, slot[k]);
out:
    free(key);
    return ok;
}

/* The object and nothing after it. */
static int jobject(struct jp *j, struct manifest_line *m)
{
    int seen[K_COUNT] = { 0 };

    jws(j);
    if (j->p == j->end || *j->p != '{') {
        jfail(j, "not a JSON object (got %s); each line must be one {\"csr\": ..., \"out\": ...} "
              "object", jtype(j));
        return 0;
    }
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            if (!jmember(j, m, seen))
                return 0;
            jws(j);
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                break;
            }
            if (j->p == j->end || *j->p != ',') {
                jfail(j, "column %zu: expected ',' or '}' after a value; got %s%s", jcol(j),
                      jtype(j), j->p == j->end ? " (a truncated line?)" : "");
                return 0;
            }
            j->p++;
            jws(j);
            if (j->p < j->end && *j->p == '}') {
                jfail(j, "column %zu: a trailing comma before '}' (RFC 8259 4); remove it",
                      jcol(j));
                return 0;
            }
        }
    }
    jws(j);
    if (j->p != j->end) {
        jfail(j, "column %zu: text after the object; one object per line", jcol(j));
        return 0;
    }
    return 1;
}

/*
 * Parse one manifest line (len bytes, need not be NUL-terminated; a trailing "\n" or "\r\n" is
 * whitespace). source and lineno name it in messages. On success *out is filled (caller
 * manifest_line_clear); on failure *out is untouched. 0 or EXIT_INPUT, reported once.
 */
int manifest_parse_line(const char *line, size_t len, const char *source, size_t lineno,
                        struct manifest_line *out)
{
    struct manifest_line m;
    struct jp j;

    memset(&m, 0, sizeof(m));
    j.p = j.start = (const unsigned char *)line;
    j.end = j.p + len;
    j.src = source;
    j.lineno = lineno;
    if (len > MAX_INPUT_BYTES) {
        jfail(&j, "a line over %d bytes; split the manifest entry", MAX_INPUT_BYTES);
        return EXIT_INPUT;
    }
    if (!jobject(&j, &m))
        goto bad;
    if (m.csr == NULL || m.out == NULL) {
        jfail(&j, "key '%s' is missing; every line needs \"csr\" and \"out\"",
              m.csr == NULL ? "csr" : "out");
        goto bad;
    }
    *out = m;
    return 0;
bad:
    manifest_line_clear(&m);
    return EXIT_INPUT;
}

/* Free the members and zero m; a zeroed m is a no-op. */
void manifest_line_clear(struct manifest_line *m)
{
    size_t i;

    if (m == NULL)
        return;
    free(m->csr);
    free(m->sid);
    free(m->out);
    free(m->subject);
    for (i = 0; i < m->n_san; i++)
        free(m->san[i]);
    free(m->san);
    memset(m, 0, sizeof(*m));
}
