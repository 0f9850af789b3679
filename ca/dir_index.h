/*
 * dir_index.h — principals of AD exports and of the directory by key (ca/dir_index.c): the
 * duplicate check across exports and the lookup behind the import's change report.
 */
#ifndef OFFCA_DIR_INDEX_H
#define OFFCA_DIR_INDEX_H

#include <stddef.h>

struct dir_entry;                          /* store.h */

#define DIR_KEY_KINDS 4                    /* sam, upn, dns, sid */

struct dir_key {
    char *key;                             /* owned: "sam:pc42$" (ASCII-lowercased) */
    size_t entry;                          /* index into the entries the index was built on */
    int kind;                              /* 0 sam, 1 upn, 2 dns, 3 sid */
};
struct dir_index {
    struct dir_key *k;                     /* owned, sorted by key, then entry */
    size_t n;
};

/* Build the index of e[0..n) (e must outlive only the build). 1 ok / 0 out of memory
 * (reported). dir_index_free on a zeroed or freed index is a no-op. */
int dir_index_build(struct dir_index *ix, const struct dir_entry *e, size_t n);
void dir_index_free(struct dir_index *ix);
/* The entry holding name as kind (lowest index if several), or -1. */
long dir_index_get(const struct dir_index *ix, int kind, const char *name);
/* Refuse two entries of e (the entries ix was built on) sharing a name or a SID: the later one
 * in input order is reported as FILE:LINE naming the other's line (same file) or FILE:LINE.
 * 1 none / 0 reported. */
int dir_index_dup_check(const struct dir_index *ix, const struct dir_entry *e)
    __attribute__((warn_unused_result));

#endif
