/*
 * dir_import.h — `directory import FILE...` without the CLI (ca/dir_import.c): read several AD
 * exports (CSV, csvde, ldifde; each with its own header), refuse a principal or SID claimed twice
 * across them, compare with the directory, and build what the directory becomes: the exports'
 * principals merged into it (default) or exactly them (--replace).
 */
#ifndef OFFCA_DIR_IMPORT_H
#define OFFCA_DIR_IMPORT_H

#include <stddef.h>

struct store_txn;
struct dir_entry;

/* An imported principal whose name (sam, upn or dns) had another SID in the directory: its
 * certificates carry the old SID (a re-created account). */
struct dir_sid_change {
    size_t in;                            /* index into dir_import.in */
    size_t old;                           /* index into dir_import.old */
};

struct dir_import {
    int replace;                          /* 1: the directory becomes exactly the exports */
    struct dir_entry *in;                 /* owned: every exported principal, files in order */
    size_t n_in, n_files, skipped;        /* skipped: LDIF entries without a principal name */
    struct dir_entry *old;                /* owned: the directory before */
    size_t n_old;
    struct dir_entry *final;              /* owned array, borrowed members: the directory after */
    size_t n_final;
    size_t added, changed, sid_changed, unchanged;  /* a partition of in */
    size_t kept, removed;                 /* old principals in no export: kept (merge) or not */
    struct dir_sid_change *sidch;         /* owned [sid_changed] */
};

/* Read the exports paths[0..n) into im->in (format by content: LDIF when it starts with dn: or
 * version:, else CSV / csvde). 0 or the exit class of the first problem (reported, file:line);
 * im is then to be freed. */
int dir_import_read(struct dir_import *im, char **paths, size_t n);
/* Compare with the directory in t and build im->final and the counts. 0 or EXIT_SYSTEM
 * (reported). */
int dir_import_plan(struct dir_import *im, struct store_txn *t);
/* Free everything; a zeroed struct is a no-op. */
void dir_import_free(struct dir_import *im);

#endif
