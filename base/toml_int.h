/*
 * toml_int.h — private to base/toml*.c: the node tree the reader builds (toml.c) and the
 * accessors read (toml_get.c).
 */
#ifndef OFFCA_TOML_INT_H
#define OFFCA_TOML_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/toml.h"

enum {
    F_IMPLICIT = 1,             /* parent created by a [a.b] header; may be defined once later */
    F_DEFINED = 2,              /* defined by a [header] (or the root) */
    F_DOTTED = 4,               /* created by a dotted key; only dotted keys may add to it */
    F_INLINE = 8,               /* inline table: immutable once closed */
    F_AOT = 16,                 /* array created by [[header]] */
    F_USED = 32,                /* read by a getter */
};

struct toml_node {
    enum toml_type type;        /* 0 while its value is being parsed */
    unsigned flags;
    int depth, line, col;
    size_t idx;                 /* position in the parent */
    struct toml_node *parent;
    char *key;
    char *str;                  /* string value; the file name on the root */
    int64_t num;                /* integer or boolean */
    struct toml_node **kid;
    size_t n, cap;
    char *path, *where;         /* built on first request */
};

struct parser {
    const char *s;
    size_t len, pos, start;
    size_t loc_off;             /* line/column cache: offsets are mostly asked in rising order */
    int loc_line, loc_col;
    struct toml_node *root, *cur;
    char *ctx;                  /* path of the key whose value is being parsed, for messages */
};

struct buf {
    char *b;
    size_t n, cap;
};

/* The reader's shared pieces (toml.c): a message at offset off ("FILE:L:C: ..."; returns 0), the
 * character ahead, a printable form of the current character, appending to a growing buffer. */
int toml_perr(struct parser *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int toml_peek(const struct parser *p, size_t ahead);
const char *toml_shown_char(const struct parser *p, char out[8]);
int toml_buf_put(struct buf *b, const char *src, size_t n);

/* String literals (toml_string.c): basic "...", literal '...', their multi-line forms, escapes. */
int toml_parse_basic(struct parser *p, struct buf *b);
int toml_parse_literal(struct parser *p, struct buf *b);
int toml_parse_string(struct parser *p, struct toml_node *n);

/* Direct member of table t named key, or NULL (no "used" marking). */
struct toml_node *toml_member(const struct toml_node *t, const char *key);

/* "base.key" (malloc'd; key quoted when not bare), "table", "array"... for messages, and the
 * out-of-memory report (returns 0). Shared by the reader and the accessors. */
char *toml_path_join(const char *base, const char *key);
const char *toml_kind(const struct toml_node *n);
int toml_oom(void);

#endif
