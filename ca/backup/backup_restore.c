/*
 * backup_restore.c — `offca restore DIR --store PATH [--config-to CDIR]`: into a missing or empty
 * store path only. The backup is checked in full (backup_check) into a stage directory beside
 * PATH, and the stage is renamed to PATH only when every check passed; a non-empty PATH is refused
 * before anything is read. With --config-to, ca.toml and the templates are staged the same way
 * (copied while hashed again, so what is written is what was checked) and renamed to CDIR.
 */
#include "base/limits.h"
#include "ca/backup/backup.h"
#include "ca/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static int stage_make(const char *target, char out[MAX_PATH_BYTES])
{
    backup_stale_warn(target, RESTORE_TMP_SUFFIX);
    if (snprintf(out, MAX_PATH_BYTES, "%s" RESTORE_TMP_SUFFIX "XXXXXX", target) >= MAX_PATH_BYTES - 64 ||
        mkdtemp(out) == NULL) {
        report("restore %s: cannot make a directory beside it: %s; create its parent directory "
               "(writable) first", target, strerror(errno));
        out[0] = '\0';
        return EXIT_SYSTEM;
    }
    return 0;
}

/* Copy one checked file of the backup to dst (new, 0600), hashing it again on the way. */
static int copy_checked(const char *dir, const struct backup_file *f, const char *dst)
{
    char src[MAX_PATH_BYTES];
    unsigned char sha[32];
    uint64_t size;
    int fd, rc;

    snprintf(src, sizeof(src), "%s/%s", dir, f->path);
    if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
        report("restore: %s: %s; check the directory", dst, strerror(errno));
        return EXIT_SYSTEM;
    }
    rc = backup_file_hash(src, fd, NULL, sha, &size);
    if (rc == 0 && fsync(fd) != 0) {
        report("restore: %s: fsync: %s; free space and retry", dst, strerror(errno));
        rc = EXIT_SYSTEM;
    }
    close(fd);
    if (rc == 0 && (size != f->size || memcmp(sha, f->sha256, 32) != 0)) {
        report("backup %s: %s: changed while it was restored; use another backup", dir, f->path);
        rc = EXIT_INPUT;
    }
    return rc;
}

/* ca.toml and templates/ into cstage. */
static int stage_config(const char *dir, const struct backup_manifest *m, const char *cstage)
{
    char dst[MAX_PATH_BYTES];
    int rc = 0;

    snprintf(dst, sizeof(dst), "%s/templates", cstage);
    if (mkdir(dst, 0700) != 0) {
        report("restore: %s: %s; check the directory", dst, strerror(errno));
        return EXIT_SYSTEM;
    }
    for (size_t i = 0; rc == 0 && i < m->n_files; i++) {
        const char *p = m->files[i].path;
        if (strcmp(p, "config/ca.toml") == 0)
            snprintf(dst, sizeof(dst), "%s/ca.toml", cstage);
        else if (strncmp(p, "templates/", 10) == 0)
            snprintf(dst, sizeof(dst), "%s/%s", cstage, p);
        else
            continue;
        rc = copy_checked(dir, &m->files[i], dst);
    }
    return rc;
}

static int put_in_place(const char *stage, const char *target)
{
    char parent[MAX_PATH_BYTES];
    int fd;

    if (rename(stage, target) != 0) {
        report("restore %s: rename from %s: %s; give a new or empty directory", target, stage,
               strerror(errno));
        return errno == ENOTEMPTY || errno == EEXIST ? EXIT_POLICY : EXIT_SYSTEM;
    }
    snprintf(parent, sizeof(parent), "%s", target);
    if ((fd = open(dirname(parent), O_RDONLY | O_CLOEXEC)) >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return 0;
}

static void print_next(const char *store_path, const char *config_to,
                       const struct backup_manifest *m)
{
    printf("restore: store restored into %s from the backup of %s: %llu certificates of %llu "
           "CAs, audit chain verified up to record %llu\n", store_path, m->created,
           (unsigned long long)m->certificates, (unsigned long long)m->cas,
           (unsigned long long)m->audit_last_seq);
    if (config_to)
        printf("restore: ca.toml and templates written to %s\n", config_to);
    printf("next:\n"
           "  1. point [store] path at %s (the backup was taken of %s)%s\n"
           "  2. make the CA keys reachable: restore the token from its own backup and check "
           "with 'offca key list'\n"
           "  3. run 'offca audit verify' and 'offca doctor'\n"
           "  4. certificates issued and CRLs published after %s are not in this store: see "
           "README 'Backup and recovery' before the next 'offca crl publish'\n",
           store_path, m->source_store,
           config_to ? "; edit the restored ca.toml ([store] path, [templates] dir, pin_file)"
                     : "", m->created);
}

static int restore_run(const char *dir, const char *store_path, const char *config_to,
                       struct backup_manifest *m, char st[2][MAX_PATH_BYTES])
{
    int rc;

    if ((rc = backup_target_check(store_path, "restore: store")) != 0 ||
        (config_to && (rc = backup_target_check(config_to, "restore: --config-to")) != 0) ||
        (rc = stage_make(store_path, st[0])) != 0 || (rc = backup_check(dir, st[0], m)) != 0)
        return rc;
    if (config_to && ((rc = stage_make(config_to, st[1])) != 0 ||
                      (rc = stage_config(dir, m, st[1])) != 0))
        return rc;
    if ((rc = put_in_place(st[0], store_path)) != 0)
        return rc;
    st[0][0] = '\0';
    if (config_to && (rc = put_in_place(st[1], config_to)) != 0) {
        report("restore: the store is restored in %s, the config is not; copy config/ and "
               "templates/ from %s by hand", store_path, dir);
        return rc;
    }
    st[1][0] = '\0';
    return 0;
}

/* `offca restore DIR --store PATH [--config-to CDIR]`. 0 or exit class (reported). */
int backup_restore(const char *dir, const char *store_path, const char *config_to)
{
    char stages[2][MAX_PATH_BYTES] = {"", ""};
    struct backup_manifest *m = calloc(1, sizeof(*m));
    int rc;

    if (m == NULL) {
        report("restore: out of memory; free memory and retry");
        return EXIT_SYSTEM;
    }
    if ((rc = restore_run(dir, store_path, config_to, m, stages)) == 0)
        print_next(store_path, config_to, m);
    backup_tree_remove(stages[0]);
    backup_tree_remove(stages[1]);
    free(m);
    return rc;
}
