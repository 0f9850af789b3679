/*
 * manifest.c — the one parser of batch manifests (`offca sign --batch`): one JSON object per line,
 * {"csr": "...", "out": "...", "sid": "...", "san": ["dns:...", ...], "subject": "..."}.
 *
 * The JSON itself is libjansson's (json_loadb): RFC 8259 syntax and strings, duplicate keys
 * refused (JSON_REJECT_DUPLICATES), \u0000 refused (no JSON_ALLOW_NUL), lone surrogates and
 * invalid UTF-8 refused. This file turns jansson's errors into offca messages (what is wrong and
 * what to do) and checks the shape: an object of non-empty strings and one array of them, unknown
 * keys refused, "csr" and "out" required. Every refusal is EXIT_INPUT, reported once as
 * "SOURCE:LINE: problem; fix". Blank lines and '#' comment lines are the caller's business: it
 * skips them before calling (this parser refuses them as "not a JSON object").
 */
#include "ca/common/common.h"
#include "ca/issue/issue.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MANIFEST_SANS   64
#define MAX_MANIFEST_STRING 8192   /* bytes with the NUL: a path, a SID, a SAN or an RFC 4514 DN */
#define MANIFEST_KEYS       "csr, out, sid, san, subject"

struct where {
    const char *src;
    size_t lineno;
};

static void mfail(const struct where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mfail(const struct where *w, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report("%s:%zu: %s", w->src, w->lineno, msg);
}

/*
 * What a jansson error means for a manifest line and what to do about it. Matched on the error
 * code, and for json_error_invalid_syntax on the start of jansson's text (as 2.14 words it;
 * tests/unit/ca/test_manifest.c pins each, and unknown wording still gets the generic remedy).
 * what == NULL: jansson's text says it alone; show_text == 0: jansson's text is not shown (it
 * names a library flag instead of the problem).
 */
struct jerr_hint {
    int code;
    const char *prefix;
    const char *what, *fix;
    int show_text;
};

static const struct jerr_hint jerr_hints[] = {
    { json_error_premature_end_of_input, NULL, "the line ends early",
      "complete the object (a truncated line?)", 1 },
    { json_error_end_of_input_expected, NULL, "text after the object", "one object per line", 1 },
    { json_error_null_character, NULL, "\\u0000 (NUL) in a string", "remove it", 0 },
    { json_error_duplicate_key, NULL, NULL, "keep one of them", 1 },
    { json_error_invalid_utf8, NULL, "invalid UTF-8", "save the manifest as UTF-8", 1 },
    { json_error_numeric_overflow, NULL, "a number out of range",
      "the manifest's values are strings", 1 },
    { json_error_stack_overflow, NULL, "nested too deep",
      "the manifest's values are strings and one array of strings", 1 },
    { json_error_out_of_memory, NULL, "out of memory", "free memory and retry", 0 },
    { json_error_invalid_syntax, "invalid escape", "not a JSON escape",
      "use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX (RFC 8259 7)", 1 },
    { json_error_invalid_syntax, "invalid Unicode", "a lone UTF-16 surrogate in a \\u escape",
      "escape characters outside the BMP as a surrogate pair (RFC 8259 7)", 1 },
    { json_error_invalid_syntax, "control character", "a raw control character in a string",
      "escape it (RFC 8259 7)", 1 },
    { json_error_invalid_syntax, "string or '}' expected", "expected a key in double quotes",
      "quote every key and leave no comma before '}' (RFC 8259 4)", 1 },
    { json_error_invalid_syntax, "':' expected", "expected ':' after a key",
      "write \"key\": value", 1 },
    { json_error_invalid_syntax, "'}' expected", "expected ',' or '}' after a value",
      "separate the members with ','", 1 },
    { json_error_invalid_syntax, "']' expected", "expected ',' or ']' in the array",
      "separate the elements with ','", 1 },
    { json_error_invalid_syntax, "unexpected token", "a value is missing",
      "give a value after each ':' and ',' and leave no comma before ']' or '}' (RFC 8259)", 1 },
    { json_error_invalid_syntax, "invalid token", "not a JSON value",
      "values are strings in double quotes or an array of them (RFC 8259 7)", 1 },
};

/* jansson quotes up to 20 bytes of the input after "near"; keep control bytes off the terminal. */
static void text_clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Report a json_loadb failure on a line that starts like an object. */
static void jerr_report(const struct where *w, json_error_t *e)
{
    int code = (int)json_error_code(e);
    const struct jerr_hint *h = NULL;
    size_t i;

    text_clean(e->text);
    for (i = 0; i < sizeof(jerr_hints) / sizeof(jerr_hints[0]) && h == NULL; i++)
        if (jerr_hints[i].code == code && (jerr_hints[i].prefix == NULL ||
            strncmp(e->text, jerr_hints[i].prefix, strlen(jerr_hints[i].prefix)) == 0))
            h = &jerr_hints[i];
    if (h == NULL)
        mfail(w, "column %d: %s; fix the JSON on this line (RFC 8259)", e->column, e->text);
    else if (h->what == NULL)
        mfail(w, "column %d: %s; %s", e->column, e->text, h->fix);
    else if (!h->show_text)
        mfail(w, "column %d: %s; %s", e->column, h->what, h->fix);
    else
        mfail(w, "column %d: %s (%s); %s", e->column, h->what, e->text, h->fix);
}

/* What a parsed value is, for type errors. */
static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* What a line that does not parse starts with, when that is not '{'. */
static const char *jtype_raw(const char *line, size_t len)
{
    size_t i = 0;

    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r'))
        i++;
    if (i == len)
        return "nothing (the line ends)";
    return line[i] == '{' ? NULL : line[i] == '[' ? "an array" : line[i] == '"' ? "a string" :
           "something that is not JSON";
}

/* A copy of the non-empty string value v of key (element n of "san" when n > 0), or NULL. */
static char *jvalue_str(const struct where *w, const char *key, size_t n, const json_t *v)
{
    size_t len;
    char *s;

    if (!json_is_string(v)) {
        if (n > 0)
            mfail(w, "key '%s': expected an array of strings; element %zu is %s", key, n,
                  jtype(v));
        else
            mfail(w, "key '%s': expected a string; got %s", key, jtype(v));
        return NULL;
    }
    if ((len = json_string_length(v)) == 0) {
        mfail(w, "key '%s': empty string; give a value or leave the key out", key);
        return NULL;
    }
    if (len >= MAX_MANIFEST_STRING) {
        mfail(w, "key '%s': a string of %zu bytes, over the limit of %d; shorten it", key, len,
              MAX_MANIFEST_STRING - 1);
        return NULL;
    }
    if ((s = strdup(json_string_value(v))) == NULL)
        mfail(w, "out of memory; free memory and retry");
    return s;
}

/* "san": ["dns:...", ...] — strings only, at most MAX_MANIFEST_SANS. */
static int jvalue_san(const struct where *w, const json_t *v, struct manifest_line *m)
{
    size_t i, n;

    if (!json_is_array(v)) {
        mfail(w, "key 'san': expected an array of strings; got %s", jtype(v));
        return 0;
    }
    if ((n = json_array_size(v)) > MAX_MANIFEST_SANS) {
        mfail(w, "key 'san': more than %d entries; split the request", MAX_MANIFEST_SANS);
        return 0;
    }
    if (n > 0 && (m->san = calloc(n, sizeof(*m->san))) == NULL) {
        mfail(w, "out of memory; free memory and retry");
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((m->san[i] = jvalue_str(w, "san", i + 1, json_array_get(v, i))) == NULL)
            return 0;
        m->n_san++;
    }
    return 1;
}

/* The members of the object, in the order they were written. */
static int jobject(const struct where *w, json_t *obj, struct manifest_line *m)
{
    static const char *const names[] = { "csr", "out", "sid", "subject", "san" };
    char **slot[] = { &m->csr, &m->out, &m->sid, &m->subject, NULL };
    const char *key;
    json_t *v;
    size_t k;

    json_object_foreach(obj, key, v) {
        for (k = 0; k < sizeof(names) / sizeof(names[0]) && strcmp(key, names[k]) != 0; k++)
            ;
        if (k == sizeof(names) / sizeof(names[0])) {
            mfail(w, "key '%.64s': unknown key; the keys are " MANIFEST_KEYS, key);
            return 0;
        }
        if (slot[k] == NULL ? !jvalue_san(w, v, m) : (*slot[k] = jvalue_str(w, key, 0, v)) == NULL)
            return 0;
    }
    if (m->csr == NULL || m->out == NULL) {
        mfail(w, "key '%s' is missing; every line needs \"csr\" and \"out\"",
              m->csr == NULL ? "csr" : "out");
        return 0;
    }
    return 1;
}

/*
 * Load one JSON-lines entry (len bytes, need not be NUL-terminated; a trailing "\n" or "\r\n" is
 * whitespace) as an object: *out is a new reference. shape is what a line must be, for the
 * message when it is not an object. 0 or EXIT_INPUT, reported once.
 */
int jsonl_object_load(const char *line, size_t len, const char *source, size_t lineno,
                      const char *shape, json_t **out)
{
    const struct where w = { source, lineno };
    const char *got;
    json_error_t err;
    json_t *root;

    if (len > MAX_INPUT_BYTES) {
        mfail(&w, "a line over %d bytes; split the entry", MAX_INPUT_BYTES);
        return EXIT_INPUT;
    }
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    got = root != NULL ? (json_is_object(root) ? NULL : jtype(root)) : jtype_raw(line, len);
    if (got != NULL) {
        mfail(&w, "not a JSON object (got %s); each line must be one %s object", got, shape);
        json_decref(root);
        return EXIT_INPUT;
    }
    if (root == NULL) {
        jerr_report(&w, &err);
        return EXIT_INPUT;
    }
    *out = root;
    return 0;
}

/*
 * Parse one manifest line (len bytes, need not be NUL-terminated; a trailing "\n" or "\r\n" is
 * whitespace). source and lineno name it in messages. On success *out is filled (caller
 * manifest_line_clear); on failure *out is untouched. 0 or EXIT_INPUT, reported once.
 */
int manifest_parse_line(const char *line, size_t len, const char *source, size_t lineno,
                        struct manifest_line *out)
{
    const struct where w = { source, lineno };
    struct manifest_line m;
    json_t *root;
    int ok, rc;

    if ((rc = jsonl_object_load(line, len, source, lineno, "{\"csr\": ..., \"out\": ...}",
                                &root)) != 0)
        return rc;
    memset(&m, 0, sizeof(m));
    ok = jobject(&w, root, &m);
    json_decref(root);
    if (!ok) {
        manifest_line_clear(&m);
        return EXIT_INPUT;
    }
    *out = m;
    return 0;
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
