/*
 * store_trust.c — the store directory and its files (data.mdb, lock.mdb) decide what offca has
 * issued and revoked: each must be owned by root or the user offca runs as and not writable by
 * group or others (the rule of templates/trust.c), and none may be a symlink. Checked on
 * descriptors opened with O_NOFOLLOW; data.mdb again on LMDB's own descriptor after the open.
 */
#include "ca/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "templates/template.h"

/* 1 when st (of path) passes the rule and is of the kind wanted; else store error set, 0. */
static int trust_one(const char *path, const struct stat *st, int want_dir)
{
    char why[1024];

    if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
        st_seterr("store %s: not a %s; restore the store from a backup or set [store] path",
                  path, want_dir ? "directory" : "regular file");
        return 0;
    }
    if (!tmpl_trust_check(path, st, why, sizeof(why))) {
        st_seterr("store %s (refused: whoever can change the store can unrevoke or forge "
                  "records; if it belongs to the offca user, run offca as that user: runuser -u "
                  "USER -- offca ...)", why);
        return 0;
    }
    return 1;
}

/* data.mdb / lock.mdb in the directory fd: absent is fine (LMDB creates them 0600). */
static int trust_file(int dfd, const char *dir, const char *name)
{
    char path[1200];
    struct stat st;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        if (errno == ELOOP)
            st_seterr("store %s: is a symlink; LMDB would write through it: replace it by the "
                      "real file", path);
        else
            st_seterr("store %s: cannot open: %s; check the store directory", path,
                      strerror(errno));
        return 0;
    }
    ok = fstat(fd, &st) == 0 && trust_one(path, &st, 0);
    close(fd);
    return ok;
}

/* Check the store directory and its files before LMDB opens them (see store_int.h). */
int store_trust_check(const char *dir)
{
    struct stat st;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ok;

    if (dfd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            st_seterr("store %s: not a directory (or a symlink to one); set [store] path to the "
                      "real directory", dir);
        else
            st_seterr("store %s: cannot open: %s; check [store] path", dir, strerror(errno));
        return 0;
    }
    ok = fstat(dfd, &st) == 0 && trust_one(dir, &st, 1) && trust_file(dfd, dir, "data.mdb") &&
         trust_file(dfd, dir, "lock.mdb");
    close(dfd);
    return ok;
}

/* The data file LMDB actually opened (its descriptor), by the same rule. */
int store_trust_fd(const char *dir, int fd)
{
    char path[1200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (fstat(fd, &st) != 0) {
        st_seterr("store %s: fstat: %s; check the store directory", path, strerror(errno));
        return 0;
    }
    return trust_one(path, &st, 0);
}
