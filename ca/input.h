/*
 * input.h — the untrusted inputs ca/ reads, one parser each, one file each:
 *   fileio.c   the bounded file loader and the atomic writer (base/fsio.h) in ca/'s words
 *   csr.c      certificate requests (PEM or DER, exactly one, signature verified)
 *   dircsv.c   AD exports as CSV (Export-Csv of Get-ADComputer / Get-ADUser, csvde)
 *   dir_ldif.c AD exports as LDIF (ldifde)
 *   manifest.c batch manifests (JSON lines), and the JSON-lines object loader others share
 *   csv.c      RFC 4180 records for CSV inputs other than AD exports
 *   revbatch_read.c  bulk revocation lists (JSON lines or CSV)
 * Each function returns 0 on success or an exit class (EXIT_INPUT, EXIT_POLICY, EXIT_SYSTEM from
 * ca.h) with the message already reported once through report().
 */
#ifndef OFFCA_INPUT_H
#define OFFCA_INPUT_H

#include <stddef.h>
#include <openssl/x509.h>
#include "base/fsio.h"
#include "templates/template.h"

#define MAX_INPUT_BYTES (1024 * 1024)       /* CSR, CSV line budget, manifest line, PEM files */
#define MAX_CSV_BYTES   (64L * 1024 * 1024) /* a whole AD export */
#define MAX_CSV_ROWS    1000000

/* ---- fileio.c ---- */
/* Read at most max bytes of path ("-" = stdin); a larger file is refused before parsing. *data is
 * NUL-terminated (not counted in *len); caller frees with free(). */
int file_load(const char *path, size_t max, unsigned char **data, size_t *len);
/* Write atomically (temp in the same dir, fsync, rename, fsync dir) with mode (e.g. 0600, 0644);
 * path "-" writes to stdout. An existing file is replaced only when overwrite is 1. */
int file_write(const char *path, const void *data, size_t len, int mode, int overwrite);
/* Write all len bytes to fd (EINTR and short writes retried). 1 ok / 0 with errno set. */
static inline int file_write_all(int fd, const void *data, size_t len)
{
    return fsio_write_all(fd, data, len);
}
/* Many outputs, one flush (batches): file_group_add writes each into a temp file in its
 * directory (not yet synced, not yet visible under its name); file_group_commit makes all the
 * staged data durable at once (one syncfs per filesystem), moves each file into place without
 * replacing an existing one, then makes the names durable (one fsync per directory). A file
 * appears under its name only with its whole content on disk; same modes and exit classes as
 * file_write. file_group_rc(g, i) is entry i's result after the commit (0 or an exit class,
 * reported); file_group_free removes whatever was not moved into place. */
struct file_group;
struct file_group *file_group_new(size_t max);
int file_group_add(struct file_group *g, const char *path, const void *data, size_t len, int mode);
/* The same in two steps, so the writing can happen in another thread than the commit:
 * file_stage writes the temp file (any thread); file_group_adopt makes it the group's next entry
 * (consumes st). file_staged_free removes a staged file that was never adopted. */
struct file_staged;
int file_stage(const char *path, const void *data, size_t len, int mode, struct file_staged **out);
int file_group_adopt(struct file_group *g, struct file_staged *st);
/* Staging with a name a later run can find: "<dir>/.<base>" FILE_STAGE_MARK "<tag>" (tag: lowercase
 * hex, e.g. the certificate's serial). A run killed between recording and renaming leaves it;
 * file_stage_find returns one such file of path (1, tag and its path; 0 none; -1 error, reported)
 * so the re-run can resolve it (put in place when recorded, removed otherwise). */
#define FILE_STAGE_MARK FSIO_STAGE_MARK
int file_stage_tagged(const char *path, const char *tag, const void *data, size_t len, int mode,
                      struct file_staged **out);
int file_stage_find(const char *path, char *tag, size_t tagsize, char *tmp, size_t tmpsize);
/* Single outputs (sign -o, --pfx): file_stage_flushed is file_stage_tagged with the content
 * fsync'd before it returns; file_staged_place (or file_place_staged for a staged file found
 * again) fsyncs, moves it to its name (never replacing a file) and fsyncs the directory, leaving
 * the temp file where it is on failure; file_staged_keep forgets it without removing it. */
int file_stage_flushed(const char *path, const char *tag, const void *data, size_t len, int mode,
                       struct file_staged **out);
int file_staged_place(struct file_staged *st);
/* The same, replacing a file already at the name (for --force). */
int file_staged_replace(struct file_staged *st);
int file_place_staged(const char *tmp, const char *path);
const char *file_staged_tmp(const struct file_staged *st);
void file_staged_keep(struct file_staged *st);
/* 1 when path's directory holds any staged file at all, 0 none, -1 error (reported). */
int file_stage_dir_any(const char *path);
void file_staged_free(struct file_staged *st);
int file_group_commit(struct file_group *g);
int file_group_rc(const struct file_group *g, size_t i);
void file_group_free(struct file_group *g);

/* ---- csr.c ---- */
struct csr {
    X509_REQ *req;                        /* owned */
    EVP_PKEY *pubkey;                     /* owned reference */
    STACK_OF(X509_EXTENSION) *exts;       /* owned; requested extensions (may be empty) */
    struct keygate_key key;               /* owned: the key as the key gate re-encoded it */
    int sig_sha1;                         /* signed with SHA-1 (the template decides) */
    char source[256];                     /* file name, for messages */
};
/* Load one CSR (PEM "CERTIFICATE REQUEST"/"NEW CERTIFICATE REQUEST" or DER): refuses an empty
 * file, > MAX_INPUT_BYTES, trailing bytes after the DER, two PEM blocks, a bad signature
 * (proof of possession), duplicate requested extensions, a subject with an embedded NUL. */
int csr_load(const char *path, struct csr **out);
/* Same from memory (tests, fuzzing); source names it in messages. */
int csr_parse(const unsigned char *data, size_t len, const char *source, struct csr **out);
void csr_free(struct csr *c);
/* The request gate (csr_gate.c; README "Key gate and request gate"): strict DER of the raw bytes;
 * re-encoding and DER extension values after decoding; the signature algorithm allow-list
 * (*sha1 set for SHA-1); subject strings against their ASN.1 type. 0 or the exit class, reported. */
int csr_gate_der(const unsigned char *der, size_t len, const char *src);
int csr_gate_reencode(X509_REQ *req, const unsigned char *der, size_t len,
                      const STACK_OF(X509_EXTENSION) *exts, const char *src);
int csr_gate_sigalg(const X509_REQ *req, const char *src, int *sha1);
int csr_gate_strings(const X509_NAME *name, const char *src);

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

/* ---- manifest.c ---- */
struct manifest_line {
    char *csr;                            /* path, required */
    char *sid;                            /* or NULL */
    char **san;                           /* "dns:host..." strings */
    size_t n_san;
    char *out;                            /* output path, required */
    char *subject;                        /* optional RFC 4514 override */
};
/* Parse one JSON-lines entry {"csr": "...", "sid": "...", "san": [...], "out": "...",
 * "subject": "..."}: strict JSON (libjansson: RFC 8259, duplicate keys and \u0000 refused),
 * unknown keys refused. */
int manifest_parse_line(const char *line, size_t len, const char *source, size_t lineno,
                        struct manifest_line *out);
void manifest_line_clear(struct manifest_line *m);
/* Load one JSON-lines entry as a JSON object (libjansson, the same strictness and messages as
 * the manifest): *out is a new reference (json_decref). shape names what a line must be in the
 * message for a non-object, e.g. "{\"serial\": ...}". 0 or EXIT_INPUT, reported. */
struct json_t;
int jsonl_object_load(const char *line, size_t len, const char *source, size_t lineno,
                      const char *shape, struct json_t **out);

/* ---- csv.c ---- */
struct csv_reader;
/* Read RFC 4180 records from data (len bytes; BOM skipped; UTF-16 and NUL bytes refused).
 * csv_open: NULL when refused (reported). csv_read: 1 a record, 0 end, -1 error (reported). */
struct csv_reader *csv_open(const char *data, size_t len, const char *source);
int csv_read(struct csv_reader *r);
size_t csv_fields(const struct csv_reader *r);
const char *csv_field_at(const struct csv_reader *r, size_t i);
char *csv_field_edit(struct csv_reader *r, size_t i);   /* decode in place, never longer */
size_t csv_line(const struct csv_reader *r);     /* the line the current record starts on */
void csv_close(struct csv_reader *r);

#endif
