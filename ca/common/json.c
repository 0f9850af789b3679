/*
 * json.c — the writing helpers of --json output. Every string is encoded by libjansson (the
 * library the manifest reader parses with): RFC 8259 escaping, and the output is always valid
 * UTF-8 JSON: a byte that does not begin a UTF-8 character (a file name in an audit detail, say)
 * is written as U+FFFD instead of making the whole document unreadable.
 */
#include "base/utf8.h"
#include "ca/common/common.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 character at s (at most left bytes), or 0 if the bytes are not one. */
static size_t utf8_char(const char *s, size_t left)
{
    unsigned long cp;

    return (size_t)utf8_next((const unsigned char *)s, left, &cp);
}

/* A jansson string of s with each byte that is not UTF-8 replaced by U+FFFD; NULL: no memory. */
static json_t *json_lossy(const char *s)
{
    size_t n = strlen(s), i = 0, o = 0, k;
    char *buf = malloc(3 * n + 1);
    json_t *v;

    if (buf == NULL)
        return NULL;
    while (i < n) {
        if ((k = utf8_char(s + i, n - i)) == 0) {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, s + i, k);
            o += k;
            i += k;
        }
    }
    v = json_stringn(buf, o);
    free(buf);
    return v;
}

/* s as a JSON string; NULL, or no memory for the copy, writes null. */
void json_str(FILE *f, const char *s)
{
    json_t *v;

    if (s == NULL || ((v = json_string(s)) == NULL && (v = json_lossy(s)) == NULL)) {
        fputs("null", f);
        return;
    }
    json_dumpf(v, f, JSON_ENCODE_ANY);
    json_decref(v);
}

/* "key":"value", after a comma unless first. */
void json_kv(FILE *f, int first, const char *key, const char *value)
{
    if (!first)
        fputc(',', f);
    json_str(f, key);
    fputc(':', f);
    json_str(f, value);
}

/* "key":number, after a comma unless first. */
void json_kv_int(FILE *f, int first, const char *key, long long value)
{
    if (!first)
        fputc(',', f);
    json_str(f, key);
    fprintf(f, ":%lld", value);
}
