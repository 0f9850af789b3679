/*
 * fileio.c — ca/'s face of base/fsio.h: the bounded loader for untrusted files (stdin too) and
 * the atomic writer for outputs, single or staged and grouped, in ca/'s report() words.
 *
 * Exit classes: a file that cannot be opened, is not a regular file, or is over the limit is
 * unreadable input (EXIT_INPUT); a read or write error, or no memory, is EXIT_SYSTEM; an existing
 * output file without overwrite is a usage error (EXIT_USAGE: choose another -o).
 */
#include "base/err.h"
#include "base/faultpoint.h"
#include "base/fsio.h"
#include "base/limits.h"
#include "ca/common/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Report the base error (base/fsio.h) the ca/ way: once, through report(); its class is the
 * exit code. The slot is emptied: the message has been said. */
static int fio_fail(void)
{
    int rc = base_err_code() != 0 ? base_err_code() : EXIT_SYSTEM;

    report("%s", base_err_msg());
    base_err_clear();
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
    struct fsio_load l = { .max = max };

    if (strcmp(path, "-") == 0 ? fsio_load_fd(STDIN_FILENO, "stdin", &l, data, len)
                               : fsio_load(path, &l, data, len))
        return 0;
    if (l.step == FSIO_TYPE)                     /* here "-" means stdin: say so */
        base_err_set(ERRC_INPUT, "%s: input: not a regular file (%s); pass a file, or '-' for "
                     "stdin", path, S_ISDIR(l.st.st_mode) ? "a directory"
                                                          : "a device, FIFO or socket");
    return fio_fail();
}

/* Put tmp in place at path: rename (overwrite) or a no-replace move. 0 or an exit class. */
static int put_in_place(const char *tmp, const char *path, int overwrite)
{
    if (fsio_place(tmp, path, overwrite))
        return 0;
    if (!overwrite && errno == EEXIST)           /* in the words of the option that chose it */
        base_err_set(ERRC_USAGE, "%s: output: the file exists and was left as it was; remove "
                     "it or choose another -o (export: --force replaces it)", path);
    return fio_fail();
}

/* Write data into a fresh temp file next to path (named after tag when not NULL, else random;
 * exactly mode), fsync'd when sync is 1; t receives the temp path. 0 or an exit class,
 * reported; on failure no temp file is left. */
static int temp_write(const char *path, const char *tag, const void *data, size_t len, int mode,
                      int sync, struct fsio_temp *t)
{
    if (path[0] == '\0' || strlen(path) >= MAX_PATH_BYTES) {
        report("%s: output: path is empty or too long; choose a shorter -o", path);
        return EXIT_USAGE;
    }
    t->kind = tag != NULL ? FSIO_TEMP_STAGE : FSIO_TEMP_ANON;
    t->tag = tag;
    t->mode = mode;
    t->sync = sync;
    return fsio_temp_write(path, t, data, len) ? 0 : fio_fail();
}

/*
 * Write data atomically to path with exactly mode (umask ignored): a temp file in the same
 * directory (O_CREAT|O_EXCL), write, fsync, move into place, fsync the directory. An existing
 * path is replaced only when overwrite is 1; otherwise it is left untouched and refused. On any
 * failure the temp file is removed. path "-" writes to stdout. Returns 0 or an exit class.
 */
int file_write(const char *path, const void *data, size_t len, int mode, int overwrite)
{
    struct fsio_temp t;
    int rc;

    if (strcmp(path, "-") == 0) {
        fflush(stdout);
        if (!fsio_write_all(STDOUT_FILENO, data, len)) {
            report("stdout: write: %s; check where the output goes", strerror(errno));
            return EXIT_SYSTEM;
        }
        return 0;
    }
    if ((rc = temp_write(path, NULL, data, len, mode, 1, &t)) != 0)
        return rc;
    FAULTPOINT("file.temp-written", path);
    if ((rc = put_in_place(t.path, path, overwrite)) != 0) {
        unlink(t.path);
        return rc;
    }
    return fsio_dir_sync(path) ? 0 : fio_fail();
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
    int rc;

    if (!fsio_file_sync(tmp, path))
        return fio_fail();
    if ((rc = put_in_place(tmp, path, overwrite)) != 0)
        return rc;
    return fsio_dir_sync(path) ? 0 : fio_fail();
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
    char dircopy[MAX_PATH_BYTES];
    struct file_staged *st = calloc(1, sizeof(*st));
    struct fsio_temp t;
    int rc;

    if (st == NULL || (st->path = strdup(path)) == NULL) {
        free(st);
        report("%s: output: out of memory; free memory and retry", path);
        return EXIT_SYSTEM;
    }
    if ((rc = temp_write(path, tag, data, len, mode, sync, &t)) != 0) {
        file_staged_free(st);
        return rc;
    }
    snprintf(dircopy, sizeof(dircopy), "%s", path);
    if ((st->tmp = strdup(t.path)) == NULL || (st->dir = strdup(dirname(dircopy))) == NULL) {
        unlink(t.path);
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
        if (seen || fsio_dir_sync(g->e[i].path))
            continue;
        fio_fail();
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
        any = fsio_temp_is(de->d_name, FSIO_TEMP_STAGE);
    closedir(d);
    return any;
}

/* A staged file of path left by an earlier run: its tag (hex digits only) into tag, its path into
 * tmp. 1 found, 0 none, -1 error (reported). Several may exist: remove the one returned (or put
 * it in place) before asking again. */
int file_stage_find(const char *path, char *tag, size_t tagsize, char *tmp, size_t tmpsize)
{
    char dircopy[MAX_PATH_BYTES], basecopy[MAX_PATH_BYTES];
    const char *dir, *base, *t;
    struct dirent *de;
    DIR *d;
    int found = 0;

    snprintf(dircopy, sizeof(dircopy), "%s", path);
    snprintf(basecopy, sizeof(basecopy), "%s", path);
    dir = dirname(dircopy);
    base = basename(basecopy);
    if ((d = opendir(dir)) == NULL) {
        if (errno == ENOENT)
            return 0;
        report("%s: open directory %s: %s; check its permissions", path, dir, strerror(errno));
        return -1;
    }
    while (!found && (de = readdir(d)) != NULL) {
        if ((t = fsio_stage_tag(de->d_name, base)) == NULL || strlen(t) >= tagsize)
            continue;
        snprintf(tag, tagsize, "%s", t);
        found = snprintf(tmp, tmpsize, "%s/%s", dir, de->d_name) < (int)tmpsize;
    }
    closedir(d);
    return found;
}
