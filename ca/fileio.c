/*
 * fileio.c — the one bounded loader for untrusted files, and the atomic writer for outputs.
 *
 * Exit classes: a file that cannot be opened, is not a regular file, or is over the limit is
 * unreadable input (EXIT_INPUT); a read or write error, or no memory, is EXIT_SYSTEM; an existing
 * output file without overwrite is a usage error (EXIT_USAGE: choose another -o).
 */
#include "base/limits.h"
#include "base/faultpoint.h"
#include "ca/ca.h"
#include "ca/input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK     (64 * 1024)

/* "1 MiB", "3.2 MiB", "512 KiB", "17 bytes" — sizes the operator can read. */
static void size_text(unsigned long long n, char *buf, size_t len)
{
    const unsigned long long kib = 1024, mib = 1024 * 1024;

    if (n >= mib && n % mib == 0)
        snprintf(buf, len, "%llu MiB", n / mib);
    else if (n >= mib)
        snprintf(buf, len, "%.1f MiB", (double)n / (double)mib);
    else if (n >= kib && n % kib == 0)
        snprintf(buf, len, "%llu KiB", n / kib);
    else if (n >= kib)
        snprintf(buf, len, "%.1f KiB", (double)n / (double)kib);
    else
        snprintf(buf, len, "%llu bytes", n);
}

static void report_too_big(const char *path, unsigned long long size, int exact, size_t max)
{
    char have[32], lim[32];

    size_text(size, have, sizeof(have));
    size_text(max, lim, sizeof(lim));
    report("%s: size limit: %s%s is over the %s limit for this input; check you passed the "
           "right file", path, exact ? "" : "more than ", have, lim);
}

/* Read fd to EOF into a buffer of at most max bytes (+1 for the NUL). Returns 0 or an exit class;
 * reports. hint is the expected size (0 when unknown, e.g. stdin). */
static int read_all(int fd, const char *path, size_t max, size_t hint, unsigned char **data,
                    size_t *len)
{
    unsigned char *buf = NULL, *nbuf;
    size_t cap = hint + 1, used = 0;
    ssize_t got;
    int rc = EXIT_SYSTEM;

    if (cap < 4096)
        cap = 4096;
    if (cap > max + 1)
        cap = max + 1;
    if ((buf = malloc(cap)) == NULL) {
        report("%s: read: out of memory; free memory and retry", path);
        goto out;
    }
    for (;;) {
        if (used == cap - 1) {
            if (used == max) {
                /* one more byte decides: exactly max is fine, max+1 is refused */
                unsigned char probe;
                do
                    got = read(fd, &probe, 1);
                while (got < 0 && errno == EINTR);
                if (got > 0) {
                    report_too_big(path, (unsigned long long)max + 1, 0, max);
                    rc = EXIT_INPUT;
                    goto out;
                }
                if (got < 0)
                    goto readerr;
                break;
            }
            cap = (cap - 1) * 2 + 1 > max + 1 ? max + 1 : (cap - 1) * 2 + 1;
            if ((nbuf = realloc(buf, cap)) == NULL) {
                report("%s: read: out of memory; free memory and retry", path);
                goto out;
            }
            buf = nbuf;
        }
        got = read(fd, buf + used, cap - 1 - used > READ_CHUNK ? READ_CHUNK : cap - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto readerr;
        if (got == 0)
            break;
        used += (size_t)got;
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    buf = NULL;
    rc = 0;
    goto out;
readerr:
    report("%s: read: %s; check the file and the disk", path, strerror(errno));
out:
    free(buf);
    return rc;
}

/*
 * Load a whole untrusted file (path "-" = stdin) of at most max bytes. Only regular files are
 * read (no FIFOs, devices or directories), and a file whose size is over max is refused before a
 * byte is read. On success *data (caller free()s) is NUL-terminated and *len excludes the NUL;
 * an empty file gives len 0. Returns 0 or an exit class, reported.
 */
int file_load(const char *path, size_t max, unsigned char **data, size_t *len)
{
    struct stat st;
    int fd = -1, rc = EXIT_INPUT;

    if (strcmp(path, "-") == 0)
        return read_all(STDIN_FILENO, "stdin", max, 0, data, len);
    /* O_NONBLOCK: opening a FIFO must not hang before fstat can refuse it */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        report("%s: open: %s; check the path and its permissions", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        report("%s: stat: %s; check the file", path, strerror(errno));
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        report("%s: input: not a regular file (%s); pass a file, or '-' for stdin", path,
               S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
        goto out;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max) {
        report_too_big(path, (unsigned long long)st.st_size, 1, max);
        goto out;
    }
    rc = read_all(fd, path, max, (size_t)st.st_size, data, len);
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* write(2) until done. 1 ok / 0 with errno set. */
int file_write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    ssize_t w;

    while (len > 0) {
        w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        len -= (size_t)w;
    }
    return 1;
}

/* fsync the directory holding a renamed file, so the new name survives a crash. */
static int dir_sync(const char *dir, const char *path)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ok;

    if (fd < 0) {
        report("%s: open directory %s: %s; check its permissions", path, dir, strerror(errno));
        return 0;
    }
    ok = fsync(fd) == 0 || errno == EINVAL;   /* some filesystems cannot fsync a directory */
    if (!ok)
        report("%s: fsync directory %s: %s; check the disk", path, dir, strerror(errno));
    close(fd);
    return ok;
}

/* Put tmp in place at path: rename (overwrite) or a no-replace move. 0 or an exit class. */
static int put_in_place(const char *tmp, const char *path, int overwrite)
{
    if (overwrite) {
        if (rename(tmp, path) == 0)
            return 0;
    } else {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
            return 0;
        /* filesystems without RENAME_NOREPLACE: link(2) also refuses an existing target */
        if ((errno == EINVAL || errno == ENOSYS) && link(tmp, path) == 0) {
            unlink(tmp);
            return 0;
        }
        if (errno == EEXIST) {
            report("%s: output: the file exists and was left as it was; remove it or choose "
                   "another -o (export: --force replaces it)", path);
            return EXIT_USAGE;
        }
    }
    report("%s: rename: %s; check the directory and its permissions", path, strerror(errno));
    return EXIT_SYSTEM;
}

/* Create the temp file next to path: "<dir>/.offca-tmp-XXXXXX", or with a tag
 * "<dir>/.<base>.offca-stage-<tag>" (a name a later run can find again). O_CREAT|O_EXCL, 0600. */
static int temp_open(const char *path, const char *tag, const char *dir, char tmp[MAX_PATH_BYTES])
{
    char basecopy[MAX_PATH_BYTES];
    int w;

    snprintf(basecopy, sizeof(basecopy), "%s", path);
    if (tag != NULL)
        w = snprintf(tmp, MAX_PATH_BYTES, "%s/.%s" FILE_STAGE_MARK "%s", dir, basename(basecopy),
                     tag);
    else
        w = snprintf(tmp, MAX_PATH_BYTES, "%s/.offca-tmp-XXXXXX", dir);
    if (w < 0 || (size_t)w >= MAX_PATH_BYTES) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (tag != NULL)
        return open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return mkostemp(tmp, O_CLOEXEC);
}

/* Write data into a fresh temp file next to path (O_CREAT|O_EXCL, exactly mode; named after tag
 * when not NULL), fsync'd when sync is 1. tmp/dir receive the temp path and the directory. 0 or
 * an exit class, reported; on failure no temp file is left. */
static int temp_write(const char *path, const char *tag, const void *data, size_t len, int mode,
                      int sync, char tmp[MAX_PATH_BYTES], char dir[MAX_PATH_BYTES])
{
    char dircopy[MAX_PATH_BYTES];
    int fd, w;

    w = snprintf(dircopy, sizeof(dircopy), "%s", path);
    if (w < 0 || (size_t)w >= sizeof(dircopy) || path[0] == '\0') {
        report("%s: output: path is empty or too long; choose a shorter -o", path);
        return EXIT_USAGE;
    }
    snprintf(dir, MAX_PATH_BYTES, "%s", dirname(dircopy));
    if ((fd = temp_open(path, tag, dir, tmp)) < 0) {
        report("%s: create temp file in %s: %s; check the directory exists and is writable",
               path, dir, strerror(errno));
        return EXIT_SYSTEM;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || !file_write_all(fd, data, len) || (sync && fsync(fd) != 0)) {
        report("%s: write: %s; check the disk", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return EXIT_SYSTEM;
    }
    if (close(fd) != 0) {
        report("%s: close: %s; check the disk", path, strerror(errno));
        unlink(tmp);
        return EXIT_SYSTEM;
    }
    return 0;
}

/*
 * Write data atomically to path with exactly mode (umask ignored): a temp file in the same
 * directory (O_CREAT|O_EXCL), write, fsync, move into place, fsync the directory. An existing
 * path is replaced only when overwrite is 1; otherwise it is left untouched and refused. On any
 * failure the temp file is removed. path "-" writes to stdout. Returns 0 or an exit class.
 */
int file_write(const char *path, const void *data, size_t len, int mode, int overwrite)
{
    char tmp[MAX_PATH_BYTES], dir[MAX_PATH_BYTES];
    int rc;

    if (strcmp(path, "-") == 0) {
        fflush(stdout);
        if (!file_write_all(STDOUT_FILENO, data, len)) {
            report("stdout: write: %s; check where the output goes", strerror(errno));
            return EXIT_SYSTEM;
        }
        return 0;
    }
    if ((rc = temp_write(path, NULL, data, len, mode, 1, tmp, dir)) != 0)
        return rc;
    FAULTPOINT("file.temp-written", path);
    if ((rc = put_in_place(tmp, path, overwrite)) != 0) {
        unlink(tmp);
        return rc;
    }
    return dir_sync(dir, path) ? 0 : EXIT_SYSTEM;
}

/* ---- groups: many outputs, one flush ---- */
struct group_entry {
    char *path, *tmp, *dir;
    int rc;                        /* 0 staged/placed, else the exit class (reported) */
    int placed;
};
struct file_group {
    struct group_entry *e;
    size_t n, max;
};

/* A group of at most max files. NULL when out of memory (reported). */
struct file_group *file_group_new(size_t max)
{
    struct file_group *g = calloc(1, sizeof(*g));

    if (g == NULL || (g->e = calloc(max ? max : 1, sizeof(*g->e))) == NULL) {
        free(g);
        report("output: out of memory; free memory and retry");
        return NULL;
    }
    g->max = max;
    return g;
}

/* A file written to a temp file next to its destination: not synced, not under its name. */
struct file_staged {
    char *path, *tmp, *dir;
};

static int stage_common(const char *path, const char *tag, const void *data, size_t len,
                        int mode, int sync, struct file_staged **out);

/* Stage one file (any thread): written to a temp file in its directory, not synced, not visible
 * under its name. 0 and *out (free with file_staged_free, or hand to file_group_adopt) or an
 * exit class, reported. */
int file_stage(const char *path, const void *data, size_t len, int mode, struct file_staged **out)
{
    return file_stage_tagged(path, NULL, data, len, mode, out);
}

/* file_stage with the temp file named "<dir>/.<base>.offca-stage-<tag>" (tag NULL: a random
 * ".offca-tmp-XXXXXX"), so that a run killed after recording the content can find it again. */
int file_stage_tagged(const char *path, const char *tag, const void *data, size_t len, int mode,
                      struct file_staged **out)
{
    return stage_common(path, tag, data, len, mode, 0, out);
}

/* file_stage_tagged, and the content fsync'd before it returns: a file that must not be lost
 * once the store records what it holds (a PKCS#12 carries the only copy of its key). */
int file_stage_flushed(const char *path, const char *tag, const void *data, size_t len, int mode,
                       struct file_staged **out)
{
    return stage_common(path, tag, data, len, mode, 1, out);
}

/* The staged file's temp path (for messages). */
const char *file_staged_tmp(const struct file_staged *st)
{
    return st != NULL && st->tmp != NULL ? st->tmp : "";
}

/* Forget a staged file without removing it (it is the only copy of something kept). */
void file_staged_keep(struct file_staged *st)
{
    if (st == NULL)
        return;
    free(st->tmp);
    st->tmp = NULL;
    file_staged_free(st);
}

/* Put a staged temp file at path (replacing a file there only when overwrite): fsync its
 * content, move it, fsync the directory. 0, or the class with the temp file left (reported). */
static int place_common(const char *tmp, const char *path, int overwrite)
{
    char dircopy[MAX_PATH_BYTES];
    int fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

    snprintf(dircopy, sizeof(dircopy), "%s", path);
    if (fd < 0 || fsync(fd) != 0) {
        report("%s: fsync %s: %s; check the disk", path, tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_SYSTEM;
    }
    close(fd);
    if ((rc = put_in_place(tmp, path, overwrite)) != 0)
        return rc;
    return dir_sync(dirname(dircopy), path) ? 0 : EXIT_SYSTEM;
}

/* Put a staged temp file at path (never replacing a file): fsync its content, move it, fsync
 * the directory. 0, or the class with the temp file left where it is (reported). */
int file_place_staged(const char *tmp, const char *path)
{
    return place_common(tmp, path, 0);
}

/* file_staged_place that replaces a file at the name (rename(2): readers see the old file or the
 * new one, never a mix); for outputs written again on purpose (--force). */
int file_staged_replace(struct file_staged *st)
{
    int rc = place_common(st->tmp, st->path, 1);

    if (rc == 0) {
        free(st->tmp);
        st->tmp = NULL;
    }
    return rc;
}

/* file_place_staged for a file staged by this run; on success st no longer owns a temp file. */
int file_staged_place(struct file_staged *st)
{
    int rc = file_place_staged(st->tmp, st->path);

    if (rc == 0) {
        free(st->tmp);
        st->tmp = NULL;
    }
    return rc;
}

static int stage_common(const char *path, const char *tag, const void *data, size_t len,
                        int mode, int sync, struct file_staged **out)
{
    char tmp[MAX_PATH_BYTES], dir[MAX_PATH_BYTES];
    struct file_staged *st = calloc(1, sizeof(*st));
    int rc;

    if (st == NULL || (st->path = strdup(path)) == NULL) {
        free(st);
        report("%s: output: out of memory; free memory and retry", path);
        return EXIT_SYSTEM;
    }
    if ((rc = temp_write(path, tag, data, len, mode, sync, tmp, dir)) != 0) {
        file_staged_free(st);
        return rc;
    }
    if ((st->tmp = strdup(tmp)) == NULL || (st->dir = strdup(dir)) == NULL) {
        unlink(tmp);
        file_staged_free(st);
        report("%s: output: out of memory; free memory and retry", path);
        return EXIT_SYSTEM;
    }
    *out = st;
    return 0;
}

/* Remove the temp file (if any) and free. NULL is a no-op. */
void file_staged_free(struct file_staged *st)
{
    if (st == NULL)
        return;
    if (st->tmp != NULL)
        unlink(st->tmp);
    free(st->path);
    free(st->tmp);
    free(st->dir);
    free(st);
}

/* Take over a staged file as the group's next entry (st is consumed, even on failure). */
int file_group_adopt(struct file_group *g, struct file_staged *st)
{
    struct group_entry *e;

    if (g->n == g->max) {
        report("%s: output: group full; report this as an offca bug", st->path);
        file_staged_free(st);
        return EXIT_SYSTEM;
    }
    e = &g->e[g->n++];
    e->path = st->path;
    e->tmp = st->tmp;
    e->dir = st->dir;
    free(st);
    return 0;
}

/* Stage one file into the group (file_stage + file_group_adopt). Entry index = order of the
 * calls (a failed add still takes its index, except when the group is full). */
int file_group_add(struct file_group *g, const char *path, const void *data, size_t len, int mode)
{
    struct file_staged *st = NULL;
    int rc;

    if (g->n == g->max) {
        report("%s: output: group full; report this as an offca bug", path);
        return EXIT_SYSTEM;
    }
    if ((rc = file_stage(path, data, len, mode, &st)) != 0) {
        g->e[g->n++].rc = rc;
        return rc;
    }
    return file_group_adopt(g, st);
}

/* syncfs once per filesystem holding a staged entry (dirs compared by st_dev). */
static int group_syncfs(struct file_group *g)
{
    dev_t done[8];
    size_t nd = 0;
    int ok = 1;

    for (size_t i = 0; i < g->n; i++) {
        struct stat st;
        size_t k = 0;
        int fd;

        if (g->e[i].rc != 0 || stat(g->e[i].dir, &st) != 0)
            continue;
        while (k < nd && done[k] != st.st_dev)
            k++;
        if (k < nd)
            continue;
        if ((fd = open(g->e[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || syncfs(fd) != 0) {
            report("%s: syncfs: %s; check the disk", g->e[i].dir, strerror(errno));
            ok = 0;
        }
        if (fd >= 0)
            close(fd);
        if (nd < sizeof(done) / sizeof(done[0]))
            done[nd++] = st.st_dev;
    }
    return ok;
}

/* fsync each distinct directory that received a file; a failure fails that directory's files. */
static void group_dirsync(struct file_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        int seen = 0;

        if (!g->e[i].placed)
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = g->e[j].placed && strcmp(g->e[j].dir, g->e[i].dir) == 0;
        if (seen || dir_sync(g->e[i].dir, g->e[i].path))
            continue;
        for (size_t j = i; j < g->n; j++)
            if (g->e[j].placed && strcmp(g->e[j].dir, g->e[i].dir) == 0)
                g->e[j].rc = EXIT_SYSTEM;
    }
}

/* Flush the staged data, move every staged file into place (never replacing a file), flush
 * the names. 0 when every entry succeeded, else the first failing entry's exit class. */
int file_group_commit(struct file_group *g)
{
    int rc = 0;

    if (!group_syncfs(g))
        for (size_t i = 0; i < g->n; i++)
            if (g->e[i].rc == 0)
                g->e[i].rc = EXIT_SYSTEM;
    for (size_t i = 0; i < g->n; i++) {
        struct group_entry *e = &g->e[i];

        if (e->rc == 0 && (e->rc = put_in_place(e->tmp, e->path, 0)) == 0) {
            e->placed = 1;
            FAULTPOINT("batch.file-renamed", e->path);
        }
    }
    group_dirsync(g);
    for (size_t i = 0; i < g->n && rc == 0; i++)
        rc = g->e[i].rc;
    return rc;
}

int file_group_rc(const struct file_group *g, size_t i)
{
    return i < g->n ? g->e[i].rc : EXIT_SYSTEM;
}

/* Free the group; staged temp files that were not moved into place are removed. */
void file_group_free(struct file_group *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n; i++) {
        if (g->e[i].tmp != NULL && !g->e[i].placed)
            unlink(g->e[i].tmp);
        free(g->e[i].path);
        free(g->e[i].tmp);
        free(g->e[i].dir);
    }
    free(g->e);
    free(g);
}

/* ---- staged files left by an interrupted run ---- */

/* 1 when path's directory holds any staged file (".<name>" FILE_STAGE_MARK "<tag>") at all,
 * 0 none (or no such directory), -1 error (reported): one scan that lets a batch skip
 * file_stage_find for every output of a directory without any. */
int file_stage_dir_any(const char *path)
{
    char dircopy[MAX_PATH_BYTES];
    const char *dir;
    struct dirent *de;
    DIR *d;
    int any = 0;

    snprintf(dircopy, sizeof(dircopy), "%s", path);
    dir = dirname(dircopy);
    if ((d = opendir(dir)) == NULL) {
        if (errno == ENOENT)
            return 0;
        report("%s: open directory %s: %s; check its permissions", path, dir, strerror(errno));
        return -1;
    }
    while (!any && (de = readdir(d)) != NULL)
        any = de->d_name[0] == '.' && strstr(de->d_name, FILE_STAGE_MARK) != NULL;
    closedir(d);
    return any;
}

/* A staged file of path left by an earlier run: its tag (hex digits only) into tag, its path into
 * tmp. 1 found, 0 none, -1 error (reported). Several may exist: remove the one returned (or put
 * it in place) before asking again. */
int file_stage_find(const char *path, char *tag, size_t tagsize, char *tmp, size_t tmpsize)
{
    char dircopy[MAX_PATH_BYTES], basecopy[MAX_PATH_BYTES], prefix[MAX_PATH_BYTES];
    const char *dir, *t;
    struct dirent *de;
    DIR *d;
    int found = 0;

    snprintf(dircopy, sizeof(dircopy), "%s", path);
    snprintf(basecopy, sizeof(basecopy), "%s", path);
    dir = dirname(dircopy);
    snprintf(prefix, sizeof(prefix), ".%s" FILE_STAGE_MARK, basename(basecopy));
    if ((d = opendir(dir)) == NULL) {
        if (errno == ENOENT)
            return 0;
        report("%s: open directory %s: %s; check its permissions", path, dir, strerror(errno));
        return -1;
    }
    while (!found && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        t = de->d_name + strlen(prefix);
        if (*t == '\0' || t[strspn(t, "0123456789abcdef")] != '\0' || strlen(t) >= tagsize)
            continue;
        snprintf(tag, tagsize, "%s", t);
        found = snprintf(tmp, tmpsize, "%s/%s", dir, de->d_name) < (int)tmpsize;
    }
    closedir(d);
    return found;
}
