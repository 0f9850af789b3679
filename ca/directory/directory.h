/*
 * ca/directory/ — the room holding the Active Directory principals and their SIDs: AD exports read
 * (dircsv.c: CSV and csvde, dir_ldif.c: ldifde), indexed (dir_index.c) and imported in one
 * transaction (dir_import.c).
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_DIRECTORY_H
#define OFFCA_CA_DIRECTORY_H

#include <stddef.h>


/* ---- principals of AD exports and of the directory by key (ca/directory/dir_index.c): the
 * duplicate check across exports and the lookup behind the import's change report.
 */

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

/* ---- dircsv.c, dir_ldif.c: AD exports ---- */
struct dir_entry;                         /* store.h */
/* Parse an AD export as CSV: header row with any of SamAccountName, UserPrincipalName,
 * DNSHostName, SID / objectSid (string SID, or binary objectSid as base64 or hex), any order and
 * case, quoted fields with "" escapes, UTF-8 with or without BOM, CRLF or LF, "#TYPE" first line
 * of Export-Csv skipped. A header whose first column is DN is csvde's: values written X'<hex>'
 * (binary objectSid; names outside ASCII as their UTF-8 bytes) are decoded. Refuses the whole
 * file on a bad SID, a row without SID or without any name, two rows claiming the same principal
 * (sam/upn/dns, case-insensitive) or two rows with the same SID (two principals sharing it),
 * naming both lines. Each entry carries source and its line. */
int dircsv_parse(const char *data, size_t len, const char *source, struct dir_entry **out,
                 size_t *n);
/* Parse ldifde output (RFC 2849 content records, or ldifde's "changetype: add" records): each
 * entry with a sAMAccountName, userPrincipalName or dNSHostName needs one objectSid (":: "
 * base64 of the binary SID, or a string S-1-...); entries without any of the names (OUs,
 * containers, the domain object) are skipped and counted in *skipped. Lines folded by a leading
 * space, # comments, base64 values (names as UTF-8). Same refusals as dircsv_parse; an entry's
 * line is its dn: line. */
int dirldif_parse(const char *data, size_t len, const char *source, struct dir_entry **out,
                  size_t *n, size_t *skipped);
/* 1 when data looks like LDIF (the first line that is neither blank nor a # comment starts
 * with "dn:" or "version:"), 0 for CSV. */
int dir_export_is_ldif(const char *data, size_t len);
void dircsv_free(struct dir_entry *e, size_t n);
/* Shared by both readers: the whole-file text check (UTF-16, NUL bytes, invalid UTF-8, RFC
 * 3629; 1 ok / 0 reported), and the problem with one principal name of n bytes (control
 * character, over 2048 bytes, not UTF-8) or NULL. */
int dir_text_check(const unsigned char *d, size_t len, const char *src);
const char *dir_name_problem(const unsigned char *v, size_t n);

/* ---- `directory import FILE...` without the CLI (ca/directory/dir_import.c): read several AD
 * exports (CSV, csvde, ldifde; each with its own header), refuse a principal or SID claimed twice
 * across them, compare with the directory, and build what the directory becomes: the exports'
 * principals merged into it (default) or exactly them (--replace).
 */

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
