/*
 * fsio.h — offca's one atomic file writer and one bounded whole-file loader.
 *
 * Writing: a file appears under its name with its whole content or not at all. The content goes
 * into a temp file beside the target (the same directory, so the rename is atomic), created with
 * O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and then given exactly the mode asked (umask ignored); it
 * is fsync'd, put in place (rename(2), or a move that refuses an existing name), and the
 * directory is fsync'd so the new name survives a crash. fsio_temp_write leaves no temp file
 * behind when it fails; the target is untouched until fsio_place.
 *
 * Loading: at most max bytes of a regular file (no FIFO waited on, no device or directory read;
 * a pipe on request), a size over max refused before a byte is read, and a symlink at the path
 * refused on request.
 *
 * Errors: functions return 1 ok / 0 with one message and its exit class in the error slot
 * (base/err.h: 2 an existing target not replaced, 3 an unreadable input, 4 system), and errno
 * left as the failed call set it. A multi-step call also says which step failed (FSIO_*), so a
 * caller whose operators know other words can say it in those. fsio_write_all and fsio_read_full
 * are the bare loops: 1/0 and errno only. base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_FSIO_H
#define OFFCA_BASE_FSIO_H

#include <stddef.h>
#include <sys/stat.h>

#include "base/limits.h"

/* The step a multi-step call failed at. */
enum {
    FSIO_OPEN = 1, FSIO_STAT, FSIO_TYPE, FSIO_CHECK, FSIO_SIZE, FSIO_NOMEM, FSIO_READ, /* load */
    FSIO_CREATE, FSIO_CHMOD, FSIO_WRITE, FSIO_CLOSE                               /* temp write */
};

/* ---- the temp files offca leaves beside a target while it writes it ---- */
enum {
    FSIO_TEMP_ANON = 1,   /* "<dir>/.offca-tmp-XXXXXX" (6 random [A-Za-z0-9]): written and moved */
    FSIO_TEMP_PUBLISH,    /* "<dir>/.<name>.<12 lowercase hex>.tmp": the publish directory's */
    FSIO_TEMP_STAGE,      /* "<dir>/.<name>.offca-stage-<tag>": a later run can find it again */
};
#define FSIO_STAGE_MARK ".offca-stage-"

/* One temp file: how to name and write it (in), its path and a failure's step (out). */
struct fsio_temp {
    int kind;                     /* FSIO_TEMP_* */
    const char *tag;              /* FSIO_TEMP_STAGE: the tag (lowercase hex, e.g. a serial) */
    int mode;                     /* the file's exact mode (e.g. 0600, 0644) */
    int sync;                     /* 1: fsync the content before the file is closed */
    char path[MAX_PATH_BYTES];    /* out: the temp file's path */
    int step;                     /* out on failure: FSIO_CREATE, _CHMOD, _WRITE or _CLOSE */
};

/* Write data into a new temp file beside path (see struct fsio_temp), closed. 1 ok, t->path
 * names it; 0 (class 4, t->step) with no temp file left. A random name is tried 16 times. */
int fsio_temp_write(const char *path, struct fsio_temp *t, const void *data, size_t len);
/* Put the temp file tmp at path. replace 1: rename(2) over whatever is there (a reader sees the
 * old file or the new one, never a mix; a symlink at path is replaced, not followed). replace 0:
 * refused when path exists (class 2, errno EEXIST; link(2) where the file system has no
 * RENAME_NOREPLACE). On failure tmp stays where it is (class 4 but EEXIST). */
int fsio_place(const char *tmp, const char *path, int replace);
/* fsync the directory holding path, so a rename into it survives a crash (a file system that
 * cannot fsync a directory, EINVAL, counts as done). */
int fsio_dir_sync(const char *path);
/* fsync the file at file (opened without following a symlink); path names it in the message. */
int fsio_file_sync(const char *file, const char *path);
/* Write all len bytes to fd (EINTR and short writes retried). 1 ok / 0 with errno. */
int fsio_write_all(int fd, const void *data, size_t len);

/* 1 when name (a directory entry) is a temp file name of kind; FSIO_TEMP_STAGE: of any output
 * and any lowercase hex tag. */
int fsio_temp_is(const char *name, int kind);
/* The tag when name is the stage name of the output called base (".<base>.offca-stage-<hex>"),
 * else NULL. Borrowed from name. */
const char *fsio_stage_tag(const char *name, const char *base);
/* Remove the temp files of kind in dir (only while no writer of that kind can be running: its
 * temp file looks the same). How many were removed, or -1 (class 4) when dir cannot be listed. */
int fsio_temp_sweep(const char *dir, int kind);

/* ---- the bounded loader ---- */
struct fsio_load {
    size_t max;                   /* refuse more than max bytes */
    int nofollow;                 /* 1: refuse a symlink at the path (O_NOFOLLOW) */
    int pipes;                    /* 1: also read a FIFO, pipe or device to EOF, opened blocking
                                   * (ca.toml may be given as <(...)); a directory is refused */
    /* Optional: judge the opened file (regular, or a pipe) before its size and content; 0
     * refuses it (the callback sets the error slot). E.g. the owner and mode rule (trust.h). */
    int (*check)(const char *path, const struct stat *st);
    struct stat st;               /* out: fstat of the opened file (from FSIO_TYPE on) */
    int step;                     /* out on failure: FSIO_OPEN .. FSIO_READ */
};

/* Load the whole file at path under l's rules. 1 ok: *data (malloc'd, caller free()s) is
 * NUL-terminated and *len excludes the NUL (0 for an empty file); 0: class 3 (cannot open, not a
 * regular file, over max, refused by check) or 4 (stat, read, memory), out-params untouched. */
int fsio_load(const char *path, struct fsio_load *l, unsigned char **data, size_t *len);
/* The same from an open descriptor (a pipe, stdin) read to EOF; name is for messages. Only
 * l->max is used. */
int fsio_load_fd(int fd, const char *name, struct fsio_load *l, unsigned char **data,
                 size_t *len);
/* Read fd until EOF or cap bytes into buf (EINTR retried); *got how many. 1 ok / 0 with errno. */
int fsio_read_full(int fd, void *buf, size_t cap, size_t *got);

#endif
