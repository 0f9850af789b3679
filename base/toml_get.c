/*
 * toml_get.c — reading a parsed TOML document (contract: template.h): typed accessors, getters
 * that mark what they read and say what was expected, the unknown-key check, durations.
 */
#include "base/toml.h"
#include "base/err.h"
#include "base/toml_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- accessors ------------------------------------------------------------------------------- */

static void mark(const struct toml_node *n)
{
    ((struct toml_node *)n)->flags |= F_USED;   /* a cache bit: nodes are never really const */
}

enum toml_type toml_type(const struct toml_node *n) { return n->type; }
const char *toml_key(const struct toml_node *n) { return n->key; }
const char *toml_str(const struct toml_node *n) { return n->type == TOML_STRING ? n->str : ""; }
int64_t toml_int(const struct toml_node *n) { return n->type == TOML_INTEGER ? n->num : 0; }
int toml_bool(const struct toml_node *n) { return n->type == TOML_BOOL && n->num; }
size_t toml_count(const struct toml_node *n) { return n ? n->n : 0; }

/* Name of a type for messages ("string", "integer", ...). */
const char *toml_type_name(enum toml_type t)
{
    switch (t) {
    case TOML_STRING: return "string";
    case TOML_INTEGER: return "integer";
    case TOML_BOOL: return "boolean";
    case TOML_ARRAY: return "array";
    case TOML_TABLE: return "table";
    }
    return "nothing";
}

/* Full dotted path ("ca.root.crl_period", "san[2]"); built on first use, owned by the node. */
const char *toml_path(const struct toml_node *n)
{
    struct toml_node *m = (struct toml_node *)n;
    char idx[32];

    if (!n->parent)
        return "";
    if (!n->path) {
        if (n->parent->type == TOML_ARRAY) {
            const char *pp = toml_path(n->parent);
            size_t len = strlen(pp) + sizeof(idx);

            snprintf(idx, sizeof(idx), "[%zu]", n->idx);
            if ((m->path = malloc(len)) != NULL)
                snprintf(m->path, len, "%s%s", pp, idx);
        } else {
            m->path = toml_path_join(toml_path(n->parent), n->key);
        }
    }
    return n->path ? n->path : n->key;
}

/* "file:line:column" where the node was defined; built on first use, owned by the node. */
const char *toml_where(const struct toml_node *n)
{
    struct toml_node *m = (struct toml_node *)n;
    const struct toml_node *root = n;
    size_t len;

    while (root->parent)
        root = root->parent;
    if (!n->where) {
        len = strlen(root->str) + 32;
        if ((m->where = malloc(len)) != NULL)
            snprintf(m->where, len, "%s:%d:%d", root->str, n->line, n->col);
    }
    return n->where ? n->where : root->str;
}

/* Member key of table (marked used), or NULL when absent or when table is not a table. */
const struct toml_node *toml_get(const struct toml_node *table, const char *key)
{
    const struct toml_node *n;

    if (!table || table->type != TOML_TABLE || !key || !(n = toml_member(table, key)))
        return NULL;
    mark(n);
    return n;
}

/* Entry i of a table or array in document order (marked used), or NULL past the end. */
const struct toml_node *toml_at(const struct toml_node *n, size_t i)
{
    if (!n || i >= n->n)
        return NULL;
    mark(n->kid[i]);
    return n->kid[i];
}

static const char *type_a(enum toml_type t)
{
    switch (t) {
    case TOML_INTEGER: return "an integer";
    case TOML_ARRAY: return "an array";
    case TOML_BOOL: return "a boolean";
    case TOML_TABLE: return "a table";
    default: return "a string";
    }
}

static const char *example_of(enum toml_type t)
{
    switch (t) {
    case TOML_STRING: return "\"...\"";
    case TOML_INTEGER: return "42";
    case TOML_BOOL: return "true or false";
    case TOML_ARRAY: return "[ ... ]";
    default: return "{ ... }";
    }
}

/* Shared by the typed getters: *out = the node, or NULL when absent and not required. */
static int get_typed(const struct toml_node *t, const char *key, int required,
                     enum toml_type type, const struct toml_node **out)
{
    const struct toml_node *n;

    if (t && t->type != TOML_TABLE) {
        base_err_set(ERRC_INPUT, "%s: key '%s': expected a table, found %s; write it as a [%s] "
                    "section", toml_where(t), toml_path(t), toml_kind(t), toml_path(t));
        return 0;
    }
    if (!(n = toml_get(t, key))) {
        if (!required) {
            *out = NULL;
            return 1;
        }
        if (!t || !t->parent)
            base_err_set(ERRC_INPUT, "%s: key '%s': required key is missing; add %s = %s",
                        t ? t->str : "toml", key, key, example_of(type));
        else
            base_err_set(ERRC_INPUT, "%s: key '%s.%s': required key is missing; add %s = %s to "
                        "[%s]", toml_where(t), toml_path(t), key, key, example_of(type),
                        toml_path(t));
        return 0;
    }
    if (n->type != type) {
        base_err_set(ERRC_INPUT, "%s: key '%s': expected %s, found %s; write %s = %s",
                    toml_where(n), toml_path(n), type_a(type), toml_kind(n), key,
                    example_of(type));
        return 0;
    }
    *out = n;
    return 1;
}

/* Typed getter for a string member (see template.h for the contract). */
int toml_get_str(const struct toml_node *t, const char *key, int required, const char **out)
{
    const struct toml_node *n;

    if (!get_typed(t, key, required, TOML_STRING, &n))
        return 0;
    if (n)
        *out = n->str;
    return 1;
}

/* Typed getter for an integer member. */
int toml_get_int(const struct toml_node *t, const char *key, int required, int64_t *out)
{
    const struct toml_node *n;

    if (!get_typed(t, key, required, TOML_INTEGER, &n))
        return 0;
    if (n)
        *out = n->num;
    return 1;
}

/* Typed getter for a boolean member. */
int toml_get_bool(const struct toml_node *t, const char *key, int required, int *out)
{
    const struct toml_node *n;

    if (!get_typed(t, key, required, TOML_BOOL, &n))
        return 0;
    if (n)
        *out = n->num != 0;
    return 1;
}

/* Array of strings; the caller frees *out (not the strings) with free(). */
int toml_get_str_array(const struct toml_node *t, const char *key, int required,
                       const char ***out, size_t *n)
{
    const struct toml_node *a;
    const char **v;
    size_t i;

    if (!get_typed(t, key, required, TOML_ARRAY, &a))
        return 0;
    if (!a)
        return 1;
    for (i = 0; i < a->n; i++) {
        mark(a->kid[i]);
        if (a->kid[i]->type != TOML_STRING) {
            base_err_set(ERRC_INPUT, "%s: key '%s': expected a string, found %s; every element "
                        "of %s must be a \"string\"", toml_where(a->kid[i]),
                        toml_path(a->kid[i]), toml_kind(a->kid[i]), key);
            return 0;
        }
    }
    if (!(v = calloc(a->n + 1, sizeof(*v))))
        return toml_oom();
    for (i = 0; i < a->n; i++)
        v[i] = a->kid[i]->str;
    *out = v;
    *n = a->n;
    return 1;
}

static const struct toml_node *first_unused(const struct toml_node *n)
{
    const struct toml_node *r;
    size_t i;

    for (i = 0; i < n->n; i++) {
        if (n->type == TOML_TABLE && !(n->kid[i]->flags & F_USED))
            return n->kid[i];
        if (n->kid[i]->type == TOML_TABLE || n->kid[i]->type == TOML_ARRAY)
            if ((r = first_unused(n->kid[i])) != NULL)
                return r;
    }
    return NULL;
}

/* 1 when every key under root was read; else 0 naming the first unread one (class 3). */
int toml_check_unused(const struct toml_node *root, const char *doc_hint)
{
    const struct toml_node *n = root ? first_unused(root) : NULL;

    if (!n)
        return 1;
    base_err_set(ERRC_INPUT, "%s: key '%s': unknown key; check the spelling against %s",
                toml_where(n), toml_path(n), doc_hint ? doc_hint : "the documentation");
    return 0;
}

/* "30d" -> 2592000: one whole number and one unit (s, m, h, d, w), nothing else. */
int toml_parse_duration(const char *text, int64_t *seconds)
{
    static const char units[] = "smhdw";
    static const int64_t mult[] = { 1, 60, 3600, 86400, 604800 };
    const char *u;
    int64_t v = 0;
    size_t i;

    for (i = 0; text && text[i] >= '0' && text[i] <= '9'; i++) {
        if (v > (INT64_MAX - (text[i] - '0')) / 10)
            goto overflow;
        v = v * 10 + (text[i] - '0');
    }
    if (!text || i == 0 || text[i] == '\0' || text[i + 1] != '\0' ||
        !(u = strchr(units, text[i]))) {
        base_err_set(ERRC_INPUT, "duration '%.40s': not a whole number followed by one unit; "
                    "write e.g. \"7d\" (units s, m, h, d, w; no sign, no spaces)",
                    text ? text : "");
        return 0;
    }
    if (v > INT64_MAX / mult[u - units])
        goto overflow;
    *seconds = v * mult[u - units];
    return 1;
overflow:
    base_err_set(ERRC_INPUT, "duration '%.40s': too large; use a smaller value", text);
    return 0;
}
