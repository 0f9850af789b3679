/*
 * fsio.c — the atomic writer's steps, offca's temp names, and the bounded loader (see fsio.h).
 *
 * Messages name the target (or the input) first; errno is kept as the failed call set it, so a
 * caller may word the failure itself (the publish directory's messages are crl/publish.c's).
 */
#include "base/fsio.h"
#include "base/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#define MAX_TEMP_TRIES 16
#define ANON_PREFIX    ".offca-tmp-"
#define ANON_RANDOM    6
#define PUBLISH_RANDOM 6           /* bytes: 12 hex digits */

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char lowhex[] = "0123456789abcdef";

/* base_err_set, keeping errno for the caller. */
static void __attribute__((format(printf, 2, 3))) fail(int code, const char *fmt, ...)
{
    char msg[2048];
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    base_err_set(code, "%s", msg);
    errno = saved;
}

/* close(2) without losing the errno of the failure being reported. */
static void close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
}

static void unlink_keep_errno(const char *path)
{
    int saved = errno;

    unlink(path);
    errno = saved;
}

/* path's directory and last component, as dirname(3) and basename(3) give them (either may be
 * NULL). 0 (errno set) when path is empty or too long. */
static int split(const char *path, char *dir, char *base)
{
    char copy[MAX_PATH_BYTES];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(copy)) {
        errno = n == 0 ? ENOENT : ENAMETOOLONG;
        return 0;
    }
    if (dir != NULL) {
        memcpy(copy, path, n + 1);
        snprintf(dir, MAX_PATH_BYTES, "%s", dirname(copy));
    }
    if (base != NULL) {
        memcpy(copy, path, n + 1);
        snprintf(base, MAX_PATH_BYTES, "%s", basename(copy));
    }
    return 1;
}

/* ---- temp names ---- */

/* The kind's name for try number i into t->path. 0 (errno) when it does not fit. */
static int temp_name(const char *dir, const char *base, struct fsio_temp *t, int i)
{
    unsigned char r[PUBLISH_RANDOM > ANON_RANDOM ? PUBLISH_RANDOM : ANON_RANDOM];
    int w = -1;

    if (t->kind != FSIO_TEMP_STAGE && RAND_bytes(r, sizeof(r)) <= 0)
        memset(r, i, sizeof(r));                /* no randomness: still distinct per try */
    if (t->kind == FSIO_TEMP_ANON)
        w = snprintf(t->path, sizeof(t->path), "%s/" ANON_PREFIX "%c%c%c%c%c%c", dir,
                     alnum[r[0] % 62], alnum[r[1] % 62], alnum[r[2] % 62], alnum[r[3] % 62],
                     alnum[r[4] % 62], alnum[r[5] % 62]);
    else if (t->kind == FSIO_TEMP_PUBLISH)
        w = snprintf(t->path, sizeof(t->path), "%s/.%s.%02x%02x%02x%02x%02x%02x.tmp", dir, base,
                     r[0], r[1], r[2], r[3], r[4], r[5]);
    else if (t->kind == FSIO_TEMP_STAGE && t->tag != NULL)
        w = snprintf(t->path, sizeof(t->path), "%s/.%s" FSIO_STAGE_MARK "%s", dir, base, t->tag);
    else
        errno = EINVAL;
    if (w >= 0 && (size_t)w >= sizeof(t->path))
        errno = ENAMETOOLONG;
    return w >= 0 && (size_t)w < sizeof(t->path);
}

/* Create t's temp file beside path, exclusively, never through a symlink. fd or -1 (reported). */
static int temp_open(const char *path, struct fsio_temp *t)
{
    char dir[MAX_PATH_BYTES], base[MAX_PATH_BYTES];
    int fd = -1;

    t->path[0] = '\0';
    if (!split(path, dir, base)) {
        snprintf(dir, sizeof(dir), "its directory");
    } else {
        for (int i = 0; i < MAX_TEMP_TRIES && fd < 0; i++) {
            if (!temp_name(dir, base, t, i))
                break;
            fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      (mode_t)(t->mode & 07777));
            /* a random name taken: try another; a stage name is the caller's to resolve */
            if (fd < 0 && (errno != EEXIST || t->kind == FSIO_TEMP_STAGE))
                break;
        }
    }
    if (fd < 0) {
        t->path[0] = '\0';
        t->step = FSIO_CREATE;
        fail(ERRC_SYSTEM, "%s: create temp file in %s: %s; check the directory exists and is "
             "writable", path, dir, strerror(errno));
    }
    return fd;
}

/* Write data into a new temp file beside path (see fsio.h). */
int fsio_temp_write(const char *path, struct fsio_temp *t, const void *data, size_t len)
{
    int fd = temp_open(path, t);

    if (fd < 0)
        return 0;
    /* the mode exactly, whatever the umask took off at creation */
    if (fchmod(fd, (mode_t)(t->mode & 07777)) != 0)
        t->step = FSIO_CHMOD;
    else if (!fsio_write_all(fd, data, len) || (t->sync && fsync(fd) != 0))
        t->step = FSIO_WRITE;
    else if (close(fd) != 0)
        t->step = FSIO_CLOSE;
    else
        return 1;
    if (t->step != FSIO_CLOSE)
        close_keep_errno(fd);
    fail(ERRC_SYSTEM, "%s: %s: %s; check the disk", path,
         t->step == FSIO_CLOSE ? "close" : "write", strerror(errno));
    unlink_keep_errno(t->path);
    return 0;
}

/* Put the temp file tmp at path (see fsio.h). */
int fsio_place(const char *tmp, const char *path, int replace)
{
    if (replace) {
        if (rename(tmp, path) == 0)
            return 1;
    } else {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
            return 1;
        /* file systems without RENAME_NOREPLACE: link(2) also refuses an existing target */
        if ((errno == EINVAL || errno == ENOSYS) && link(tmp, path) == 0) {
            unlink(tmp);
            return 1;
        }
        if (errno == EEXIST) {
            fail(ERRC_USAGE, "%s: the file exists and was left as it was; remove it or choose "
                 "another name", path);
            return 0;
        }
    }
    fail(ERRC_SYSTEM, "%s: rename: %s; check the directory and its permissions", path,
         strerror(errno));
    return 0;
}

/* fsync the directory holding path (see fsio.h). */
int fsio_dir_sync(const char *path)
{
    char dir[MAX_PATH_BYTES];
    int fd, ok;

    if (!split(path, dir, NULL)) {
        fail(ERRC_SYSTEM, "%s: open directory: %s; check the path", path, strerror(errno));
        return 0;
    }
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fail(ERRC_SYSTEM, "%s: open directory %s: %s; check its permissions", path, dir,
             strerror(errno));
        return 0;
    }
    ok = fsync(fd) == 0 || errno == EINVAL;   /* some file systems cannot fsync a directory */
    if (!ok)
        fail(ERRC_SYSTEM, "%s: fsync directory %s: %s; check the disk", path, dir,
             strerror(errno));
    close_keep_errno(fd);
    return ok;
}

/* fsync the file at file, not through a symlink (see fsio.h). */
int fsio_file_sync(const char *file, const char *path)
{
    int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd >= 0 && fsync(fd) == 0) {
        close(fd);
        return 1;
    }
    fail(ERRC_SYSTEM, "%s: fsync %s: %s; check the disk", path, file, strerror(errno));
    if (fd >= 0)
        close_keep_errno(fd);
    return 0;
}

/* write(2) until done (see fsio.h). */
int fsio_write_all(int fd, const void *data, size_t len)
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

/* ---- recognizing and sweeping temp names ---- */

/* 1 when s is n (n > 0) characters, all from set. */
static int all_of(const char *s, size_t n, const char *set)
{
    return n > 0 && strlen(s) == n && strspn(s, set) == n;
}

int fsio_temp_is(const char *name, int kind)
{
    size_t len = strlen(name);
    const char *mark;

    if (name[0] != '.')
        return 0;
    if (kind == FSIO_TEMP_ANON)
        return strncmp(name, ANON_PREFIX, strlen(ANON_PREFIX)) == 0 &&
               all_of(name + strlen(ANON_PREFIX), ANON_RANDOM, alnum);
    if (kind == FSIO_TEMP_PUBLISH) {
        /* ".<name>.<12 hex>.tmp", name not empty */
        if (len < 1 + 1 + 1 + 2 * PUBLISH_RANDOM + 4 || strcmp(name + len - 4, ".tmp") != 0 ||
            name[len - 4 - 2 * PUBLISH_RANDOM - 1] != '.')
            return 0;
        return strspn(name + len - 4 - 2 * PUBLISH_RANDOM, lowhex) == 2 * PUBLISH_RANDOM;
    }
    if (kind == FSIO_TEMP_STAGE) {
        /* ".<name>.offca-stage-<hex>": the tag has no '.', so the mark starts at the last one */
        mark = strrchr(name, '.');
        return mark > name + 1 && strncmp(mark, FSIO_STAGE_MARK, strlen(FSIO_STAGE_MARK)) == 0 &&
               all_of(mark + strlen(FSIO_STAGE_MARK), strlen(mark + strlen(FSIO_STAGE_MARK)),
                      lowhex);
    }
    return 0;
}

const char *fsio_stage_tag(const char *name, const char *base)
{
    size_t bl = strlen(base), ml = strlen(FSIO_STAGE_MARK);
    const char *t = name + 1 + bl + ml;

    if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 ||
        strncmp(name + 1 + bl, FSIO_STAGE_MARK, ml) != 0 || !all_of(t, strlen(t), lowhex))
        return NULL;
    return t;
}

int fsio_temp_sweep(const char *dir, int kind)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        fail(ERRC_SYSTEM, "%s: cannot list: %s; check the directory", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL)
        if (fsio_temp_is(e->d_name, kind) && unlinkat(dirfd(d), e->d_name, 0) == 0)
            n++;
    closedir(d);
    return n;
}

/* ---- the bounded loader ---- */

/* "1 MiB", "3.2 MiB", "512 KiB", "17 bytes": sizes the operator can read. */
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

/* size (exact, or "more than" size) is over max. */
static void too_big(const char *name, unsigned long long size, int exact, size_t max)
{
    char have[32], lim[32];

    size_text(size, have, sizeof(have));
    size_text(max, lim, sizeof(lim));
    fail(ERRC_INPUT, "%s: size limit: %s%s is over the %s limit for this input; check you passed "
         "the right file", name, exact ? "" : "more than ", have, lim);
}

/* Read until EOF or cap bytes (see fsio.h). */
int fsio_read_full(int fd, void *buf, size_t cap, size_t *got)
{
    unsigned char *p = buf;
    size_t n = 0;
    ssize_t r;

    while (n < cap) {
        r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *got = n;
            return 0;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return 1;
}

/* Read fd to EOF into a buffer of at most max bytes (+1 for the NUL); hint is the expected size
 * (0 when unknown). A full buffer is followed by a one-byte read: EOF there means done (no
 * second buffer for a file whose size was known), a byte means more, or more than max. */
static int read_all(int fd, const char *name, struct fsio_load *l, size_t hint,
                    unsigned char **data, size_t *len)
{
    unsigned char *buf, *nbuf, probe;
    size_t cap = hint + 1, used = 0, got;

    if (cap < 4096)
        cap = 4096;
    if (cap > l->max + 1)
        cap = l->max + 1;
    if ((buf = malloc(cap)) == NULL)
        goto nomem;
    for (;;) {
        if (!fsio_read_full(fd, buf + used, cap - 1 - used, &got))
            goto readerr;
        if ((used += got) < cap - 1)
            break;                                  /* EOF before the buffer was full */
        if (!fsio_read_full(fd, &probe, 1, &got))
            goto readerr;
        if (got == 0)
            break;                                  /* EOF right at its end */
        if (used == l->max) {                       /* exactly max is fine, max+1 is not */
            too_big(name, (unsigned long long)l->max + 1, 0, l->max);
            l->step = FSIO_SIZE;
            free(buf);
            return 0;
        }
        cap = (cap - 1) * 2 > l->max ? l->max + 1 : (cap - 1) * 2 + 1;
        if ((nbuf = realloc(buf, cap)) == NULL)
            goto nomem;
        buf = nbuf;
        buf[used++] = probe;
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return 1;
nomem:
    fail(ERRC_SYSTEM, "%s: read: out of memory; free memory and retry", name);
    l->step = FSIO_NOMEM;
    free(buf);
    return 0;
readerr:
    fail(ERRC_SYSTEM, "%s: read: %s; check the file and the disk", name, strerror(errno));
    l->step = FSIO_READ;
    free(buf);
    return 0;
}

int fsio_load_fd(int fd, const char *name, struct fsio_load *l, unsigned char **data,
                 size_t *len)
{
    return read_all(fd, name, l, 0, data, len);
}

int fsio_load(const char *path, struct fsio_load *l, unsigned char **data, size_t *len)
{
    /* O_NONBLOCK: opening a FIFO must not hang before fstat can refuse it (pipes: wait) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (l->pipes ? 0 : O_NONBLOCK) |
                  (l->nofollow ? O_NOFOLLOW : 0));
    int ok = 0, reg;

    if (fd < 0) {
        l->step = FSIO_OPEN;
        fail(ERRC_INPUT, "%s: open: %s; check the path and its permissions", path,
             strerror(errno));
        return 0;
    }
    if (fstat(fd, &l->st) != 0) {
        l->step = FSIO_STAT;
        fail(ERRC_SYSTEM, "%s: stat: %s; check the file", path, strerror(errno));
    } else if (!(reg = S_ISREG(l->st.st_mode)) && (!l->pipes || S_ISDIR(l->st.st_mode))) {
        l->step = FSIO_TYPE;
        fail(ERRC_INPUT, "%s: input: not a regular file (%s); pass a file", path,
             S_ISDIR(l->st.st_mode) ? "a directory" : "a device, FIFO or socket");
    } else if (l->check != NULL && !l->check(path, &l->st)) {
        l->step = FSIO_CHECK;
    } else if (reg && (unsigned long long)l->st.st_size > (unsigned long long)l->max) {
        l->step = FSIO_SIZE;
        too_big(path, (unsigned long long)l->st.st_size, 1, l->max);
    } else {
        ok = read_all(fd, path, l, reg ? (size_t)l->st.st_size : 0, data, len);
    }
    close_keep_errno(fd);
    return ok;
}
