/*
 * toml.h — the TOML reader for ca.toml and the templates.
 *
 * A strict reader for the TOML offca needs: tables, arrays of tables, dotted keys, basic and
 * literal strings with escapes (multi-line strings too), integers, booleans, arrays, inline tables,
 * comments. Floats and dates are refused with a clear message. Duplicate keys, redefined tables,
 * invalid UTF-8, control characters are errors naming file:line:column.
 * Consumers read what they know with the getters (each marks the node used) and then call
 * toml_check_unused(), which reports the first key nobody read: an unknown key is an error.
 * Errors go to the one error slot (base/err.h). base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_TOML_H
#define OFFCA_BASE_TOML_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define MAX_TOML_BYTES (1024 * 1024)

enum toml_type { TOML_STRING = 1, TOML_INTEGER, TOML_BOOL, TOML_ARRAY, TOML_TABLE };
struct toml_node;                               /* opaque; owned by the document root */

/* Parse text (len bytes, need not be NUL-terminated). filename is used in messages. */
struct toml_node *toml_parse(const char *text, size_t len, const char *filename);
/* Read a file through the bounded loader (refuses > MAX_TOML_BYTES before parsing), then parse.
 * trust (may be NULL) judges the open file before it is read: it returns 0 with the error slot
 * set to refuse it (offca passes its rule for files that decide what it does). */
struct toml_node *toml_load(const char *path, int (*trust)(const char *path, const struct stat *st));
void toml_free(struct toml_node *root);

enum toml_type toml_type(const struct toml_node *n);
const char *toml_type_name(enum toml_type t);
const char *toml_key(const struct toml_node *n);    /* own key ("" for array elements/root) */
const char *toml_path(const struct toml_node *n);   /* full dotted path, e.g. "ca.issuing1.crl_period" */
/* "file:line:column" of where the node was defined. */
const char *toml_where(const struct toml_node *n);

/* Table member by key (marks it used) or NULL when absent. */
const struct toml_node *toml_get(const struct toml_node *table, const char *key);
/* Number of members (table) or elements (array); entry i, in document order (marks it used). */
size_t toml_count(const struct toml_node *n);
const struct toml_node *toml_at(const struct toml_node *n, size_t i);

/* Value accessors; call only on a node of that type. */
const char *toml_str(const struct toml_node *n);
int64_t toml_int(const struct toml_node *n);
int toml_bool(const struct toml_node *n);

/* Typed getters with messages: return 1 when the key is present with the right type (setting
 * *out) or absent and not required (leaving *out alone); 0 with the error slot set (base/err.h, class 3) when
 * the type is wrong or a required key is missing: "ca.toml:12:1: key 'hsm.module': ...". */
int toml_get_str(const struct toml_node *t, const char *key, int required, const char **out);
int toml_get_int(const struct toml_node *t, const char *key, int required, int64_t *out);
int toml_get_bool(const struct toml_node *t, const char *key, int required, int *out);
/* Array of strings: *out points into the document (valid until toml_free); *n its length. The
 * caller frees only the array itself with free(). */
int toml_get_str_array(const struct toml_node *t, const char *key, int required,
                       const char ***out, size_t *n);

/* First member anywhere under root that no getter read: 0 with the error slot =
 * "FILE:L:C: key 'x.y': unknown key; check the spelling against <doc>" (class 3); 1 when none. */
int toml_check_unused(const struct toml_node *root, const char *doc_hint)
    __attribute__((warn_unused_result));

/* Parse a duration "30d", "12h", "90m", "45s", "2w" (one unit) into seconds; 1 ok / 0 error. */
int toml_parse_duration(const char *text, int64_t *seconds) __attribute__((warn_unused_result));

#endif
