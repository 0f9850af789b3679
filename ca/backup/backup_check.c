/*
 * backup_check.c — `offca backup verify DIR` and `offca restore DIR --store PATH`.
 *
 * The check reads the manifest (strict, self-checksummed), hashes every file it lists (the store
 * copy is hashed while it is copied into a stage directory, so the bytes opened are the bytes
 * checked), refuses a listed file that is missing and a file that is not listed, then opens the
 * staged copy and walks its audit chain, which must end at the manifest's head with its record
 * count. Restore runs the same check with the stage beside the store path and renames the stage
 * into place only when every check passed: a non-empty store path is never touched.
 */
#include "base/limits.h"
#include "ca/backup/backup.h"
#include "ca/common/common.h"
#include "ca/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static const char REFUSE[] = "the backup was altered, damaged or is incomplete: use another "
                             "backup";

static int load_manifest(const char *dir, struct backup_manifest *m)
{
    char path[MAX_PATH_BYTES];
    unsigned char *text = NULL;
    size_t len = 0;
    struct stat st;
    int rc, got;

    snprintf(path, sizeof(path), "%s/" BACKUP_MANIFEST, dir);
    if ((got = lstat(path, &st) == 0) == 0 || !S_ISREG(st.st_mode)) {
        report("backup %s: %s: %s; %s", dir, BACKUP_MANIFEST,
               got ? "not a regular file" : errno == ENOENT ?
               "missing (not a backup, or one that never completed)" : strerror(errno), REFUSE);
        return EXIT_INPUT;
    }
    if ((rc = file_load(path, MAX_MANIFEST_BYTES, &text, &len)) == 0)
        rc = backup_manifest_parse((const char *)text, len, path, m);
    free(text);
    return rc;
}

/* One listed file: hashed in place, or (the store) copied into stage while hashed. */
static int check_file(const char *dir, const char *stage, const struct backup_file *f)
{
    char path[MAX_PATH_BYTES], dst[MAX_PATH_BYTES];
    unsigned char sha[32];
    uint64_t size;
    int fd = -1, rc;

    snprintf(path, sizeof(path), "%s/%s", dir, f->path);
    if (strcmp(f->path, BACKUP_STORE_FILE) == 0) {
        snprintf(dst, sizeof(dst), "%s/data.mdb", stage);
        if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
            report("restore: %s: %s; check the directory", dst, strerror(errno));
            return EXIT_SYSTEM;
        }
    }
    rc = backup_file_hash(path, fd, fd >= 0 ? "backup check: " BACKUP_STORE_FILE ", bytes" : NULL,
                          sha, &size);
    if (fd >= 0 && rc == 0 && fsync(fd) != 0) {
        report("restore: %s: fsync: %s; free space and retry", dst, strerror(errno));
        rc = EXIT_SYSTEM;
    }
    if (fd >= 0)
        close(fd);
    if (rc == 0 && (size != f->size || memcmp(sha, f->sha256, 32) != 0)) {
        report("backup %s: %s: checksum mismatch: %llu bytes with another SHA-256 than the "
               "manifest's (%llu bytes); %s", dir, f->path, (unsigned long long)size,
               (unsigned long long)f->size, REFUSE);
        rc = EXIT_INPUT;
    }
    return rc;
}

static int listed(const struct backup_manifest *m, const char *rel)
{
    if (strcmp(rel, BACKUP_MANIFEST) == 0)
        return 1;
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->files[i].path, rel) == 0)
            return 1;
    return 0;
}

/* Every entry of dir/sub (sub "" for the top): a listed regular file, or at the top a directory
 * whose own entries are checked the same way. Symlinks, extras and deeper trees are refused. */
static int check_entries(const char *dir, const char *sub, const struct backup_manifest *m)
{
    char path[MAX_PATH_BYTES], rel[MAX_PATH_BYTES];
    struct dirent *e;
    struct stat st;
    DIR *d;
    int rc = 0;

    snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] ? "/" : "", sub);
    if ((d = opendir(path)) == NULL) {
        report("backup %s: %s: %s; check its mode", dir, path, strerror(errno));
        return EXIT_INPUT;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(rel, sizeof(rel), "%s%s%s", sub, sub[0] ? "/" : "", e->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        if (lstat(path, &st) != 0)
            st.st_mode = 0;
        if (S_ISDIR(st.st_mode) && sub[0] == '\0')
            rc = check_entries(dir, rel, m);
        else if (!S_ISREG(st.st_mode) || !listed(m, rel)) {
            report("backup %s: %s: not listed in the manifest (added after the backup, or not a "
                   "plain file); %s", dir, rel, REFUSE);
            rc = EXIT_INPUT;
        }
    }
    closedir(d);
    return rc;
}

static int compare_head(const char *dir, const struct backup_manifest *m,
                        const struct store_audit_head *h, uint64_t certs)
{
    if (h->records != m->audit_records || h->last_seq != m->audit_last_seq ||
        memcmp(h->sha256, m->audit_head, 32) != 0) {
        report("backup %s: " BACKUP_STORE_FILE ": audit head: the copy holds %llu records ending "
               "at record %llu, the manifest says %llu ending at %llu%s; %s", dir,
               (unsigned long long)h->records, (unsigned long long)h->last_seq,
               (unsigned long long)m->audit_records, (unsigned long long)m->audit_last_seq,
               memcmp(h->sha256, m->audit_head, 32) ? " with another head hash" : "", REFUSE);
        return EXIT_INPUT;
    }
    if (certs != m->certificates) {
        report("backup %s: " BACKUP_STORE_FILE ": holds %llu certificates, the manifest says "
               "%llu; %s", dir, (unsigned long long)certs, (unsigned long long)m->certificates,
               REFUSE);
        return EXIT_INPUT;
    }
    return 0;
}

/* Open the staged copy and verify its audit chain up to the manifest's head. */
static int check_store(const char *dir, const char *stage, const struct backup_manifest *m)
{
    struct store_audit_head h;
    struct store *s = store_open(stage, 0);
    struct store_txn *t = s ? store_txn_begin(s, 0) : NULL;
    char lock[MAX_PATH_BYTES];
    int rc = EXIT_INPUT;

    if (t == NULL)
        report("backup %s: " BACKUP_STORE_FILE ": does not open as an offca store: %s; %s", dir,
               store_error(), REFUSE);
    else if (!store_audit_verify(t))
        report("backup %s: " BACKUP_STORE_FILE ": audit chain: %s; %s", dir, store_error(),
               REFUSE);
    else if (!store_audit_head(t, &h))
        report("backup %s: %s", dir, store_error()), rc = EXIT_SYSTEM;
    else
        rc = compare_head(dir, m, &h, store_cert_count(t));
    store_txn_abort(t);
    store_close(s);
    snprintf(lock, sizeof(lock), "%s/lock.mdb", stage);
    (void)unlink(lock);
    return rc;
}

/* Check the backup in dir, staging its store in stage (an empty directory). 0 or exit class. */
int backup_check(const char *dir, const char *stage, struct backup_manifest *m)
{
    int rc, has_store = 0;

    if ((rc = load_manifest(dir, m)) != 0)
        return rc;
    for (size_t i = 0; i < m->n_files; i++)
        has_store |= strcmp(m->files[i].path, BACKUP_STORE_FILE) == 0;
    if (!has_store) {
        report("backup %s: %s: lists no " BACKUP_STORE_FILE "; %s", dir, BACKUP_MANIFEST, REFUSE);
        return EXIT_INPUT;
    }
    for (size_t i = 0; i < m->n_files; i++)
        if ((rc = check_file(dir, stage, &m->files[i])) != 0)
            return rc;
    if ((rc = check_entries(dir, "", m)) != 0)
        return rc;
    return check_store(dir, stage, m);
}

static void print_checked(const char *dir, const struct backup_manifest *m)
{
    printf("backup %s: intact: %zu files match the manifest of %s; the store copy opens, its "
           "audit chain verifies up to record %llu (%llu records), %llu certificates of %llu "
           "CAs\n", dir, m->n_files + 1, m->created, (unsigned long long)m->audit_last_seq,
           (unsigned long long)m->audit_records, (unsigned long long)m->certificates,
           (unsigned long long)m->cas);
}

/* `offca backup verify DIR`: the check, staged in $TMPDIR. 0 or exit class. */
int backup_verify(const char *dir)
{
    const char *tmpdir = getenv("TMPDIR");
    char stage[MAX_PATH_BYTES];
    struct backup_manifest *m = calloc(1, sizeof(*m));
    int rc;

    snprintf(stage, sizeof(stage), "%s/offca-verify-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (m == NULL || mkdtemp(stage) == NULL) {
        report("backup verify: %s: %s; set TMPDIR to a writable directory with room for one "
               "copy of the store", stage, m ? strerror(errno) : "out of memory");
        free(m);
        return EXIT_SYSTEM;
    }
    if ((rc = backup_check(dir, stage, m)) == 0)
        print_checked(dir, m);
    backup_tree_remove(stage);
    free(m);
    return rc;
}
