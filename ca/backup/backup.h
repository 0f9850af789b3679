/*
 * ca/backup/ — the room holding backups: written with a manifest of hashes (backup_write.c,
 * backup_copy.c, backup_manifest.c), checked (backup_check.c) and restored (backup_restore.c).
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store, ca/issue.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_BACKUP_H
#define OFFCA_CA_BACKUP_H

#include <stddef.h>
#include <stdint.h>


/* ---- `offca backup DIR`, `offca backup verify DIR`, `offca restore DIR --store PATH`.
 *
 * A backup is a directory (0700, files 0600) made in a temporary directory beside DIR and renamed
 * into place whole, so DIR either does not exist or holds a complete backup:
 *   MANIFEST          what the backup holds, every file with its SHA-256 and size (backup_manifest.c)
 *   store/data.mdb    LMDB's compacted copy of the store, one consistent snapshot
 *   config/ca.toml    the configuration as read (it names pin_file; the PIN itself is not copied)
 *   templates/NAME.toml  the certificate templates offca loads
 *   certs/NAME.pem    each CA's certificate (and an imported CA's outside chain), from the store;
 *   certs/NAME.gen-I.pem, certs/NAME.link-A-B.pem  a renewed CA's older generations, links
 * Never the token (the CA keys) and never the PIN or pin_file: README "Backup and recovery".
 * The manifest's audit head, audit record count and certificate count are read from the copy
 * itself once it is written, so they describe exactly the snapshot.
 */

#define BACKUP_FORMAT "offca-backup 1"
#define BACKUP_MANIFEST "MANIFEST"
#define BACKUP_STORE_FILE "store/data.mdb"
#define MAX_BACKUP_FILES 1024
#define MAX_BACKUP_RELPATH 128
#define MAX_BACKUP_TEXT 1024           /* created, source paths */
#define MAX_MANIFEST_BYTES (1024 * 1024)
#define MAX_BACKUP_PATH 3900               /* room for the temporary suffixes */

struct config;
struct store;

struct backup_file {
    char path[MAX_BACKUP_RELPATH];     /* relative to the backup directory */
    unsigned char sha256[32];
    uint64_t size;
};

struct backup_manifest {
    char created[32];                  /* "2026-12-03T13:00:00Z" */
    char source_store[MAX_BACKUP_TEXT];
    char source_config[MAX_BACKUP_TEXT];
    uint64_t audit_records, audit_last_seq, certificates, cas;
    unsigned char audit_head[32];
    struct backup_file files[MAX_BACKUP_FILES];
    size_t n_files;
};

/* ---- backup_manifest.c ---- */
/* Add a file (path relative to the backup) with its hash and size. 0 or exit class (reported). */
int backup_manifest_add(struct backup_manifest *m, const char *rel, const unsigned char sha[32],
                        uint64_t size);
/* The manifest as text, its last line the SHA-256 of the lines before it. malloc'd; NULL when
 * out of memory or a text field holds a newline (reported). */
char *backup_manifest_text(const struct backup_manifest *m, size_t *len);
/* Parse a manifest read from source (for messages): strict, every line known, the self-hash
 * right, each path a plain relative path. 0 or EXIT_INPUT (reported, naming the line). */
int backup_manifest_parse(const char *text, size_t len, const char *source,
                          struct backup_manifest *m);
/* 1 when rel is a path offca itself would write into a backup (letters, digits, ._+-, one
 * level of directory, no "..", no leading '/' or '.'), else 0. */
int backup_relpath_ok(const char *rel);
/* SHA-256 of a file, read through an fd opened without following a symlink; when copy_fd >= 0
 * the bytes read are also written there. shown (or NULL) names the work on a progress line of
 * the bytes read, drawn on a terminal only. 0 or exit class (reported, naming path). */
int backup_file_hash(const char *path, int copy_fd, const char *shown, unsigned char sha[32],
                     uint64_t *size);
/* Remove a directory tree made by backup or restore (never follows symlinks). */
void backup_tree_remove(const char *dir);
/* path without trailing slashes into out (n bytes). 0 or EXIT_USAGE (reported, naming what). */
int backup_path_trim(const char *what, const char *path, char *out, size_t n);
/* Warn about "<target><suffix>XXXXXX" leftovers of a killed run beside target (not removed). */
void backup_stale_warn(const char *target, const char *suffix);
#define BACKUP_TMP_SUFFIX ".offca-tmp-"
#define RESTORE_TMP_SUFFIX ".offca-restore-"
/* 0 when path does not exist or is an empty directory; EXIT_POLICY (reported as what) when it
 * holds anything or is not a directory; EXIT_SYSTEM when it cannot be read. */
int backup_target_check(const char *path, const char *what);

/* ---- backup_copy.c ---- */
/* The live store's compacted copy into fd, the backup's store file (path, for messages). On a
 * terminal the bytes pass through a pipe and are counted on a progress line; the file is the same
 * either way. The caller fsyncs fd. 0 or EXIT_SYSTEM (reported). */
int backup_store_copy(struct store *live, int fd, const char *path);

/* ---- backup_write.c ---- */
/* Write a backup of the store st (open), the config cfg (ca.toml as read) and the templates of
 * its [templates] dir into dir. 0 or exit class (reported). */
int backup_write(struct store *st, const struct config *cfg, const char *dir);

/* ---- backup_check.c ---- */
/* Check the backup in dir: manifest, every file's checksum, no file missing or added; copy its
 * store into stage (an empty directory), open the copy and verify its audit chain against the
 * manifest's head and counts. m is filled. 0 or exit class (reported, naming the file). */
int backup_check(const char *dir, const char *stage, struct backup_manifest *m);
/* `offca backup verify`: backup_check with a stage in $TMPDIR, removed afterwards. */
int backup_verify(const char *dir);
/* `offca restore`: refuse a non-empty store path; check the backup into a stage beside it; then
 * rename the stage to the store path; config_to (or NULL): also write ca.toml and templates
 * there. Prints what to do next. 0 or exit class. */
int backup_restore(const char *dir, const char *store_path, const char *config_to);

#endif
