/*
 * backup_copy.c — the store's compacted copy into the backup, with a progress line on a terminal.
 *
 * LMDB writes the copy to a file descriptor in order. Off a terminal that descriptor is the
 * backup file itself, as always. On a terminal it is a pipe: a thread reads it, writes the bytes
 * to the backup file and counts them against the size the copy is expected to have, so the
 * operator sees how far a large store's copy is. The bytes written are the same either way.
 */
#include "ca/backup/backup.h"
#include "ca/common/common.h"
#include "ca/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define PUMP_CHUNK (256 * 1024)

struct pump {
    int in, out;                          /* the pipe's read end, the backup file */
    struct progress pg;
    uint64_t done;
    int err;                              /* errno of the first read or write that failed */
};

/* Pipe to file until the end of the copy. On a failure the read end is closed: LMDB's writer
 * then gets EPIPE (it blocks SIGPIPE in its thread) and the copy fails instead of waiting. */
static void *pump_run(void *arg)
{
    static unsigned char buf[PUMP_CHUNK];
    struct pump *p = arg;
    ssize_t got;

    while ((got = read(p->in, buf, sizeof(buf))) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || !file_write_all(p->out, buf, (size_t)got)) {
            p->err = errno ? errno : EIO;
            break;
        }
        p->done += (uint64_t)got;
        progress_step(&p->pg, (size_t)p->done, NULL);
    }
    if (got == 0 && p->pg.total != (size_t)p->done) {    /* the estimate was off: now known */
        p->pg.total = (size_t)p->done;
        progress_step(&p->pg, (size_t)p->done, NULL);
    }
    close(p->in);
    p->in = -1;
    return NULL;
}

/* The copy through the pump (see backup_store_copy). */
static int copy_counted(struct store *live, int fd, const char *path)
{
    struct pump p;
    pthread_t th;
    int pfd[2], ok, rc;

    memset(&p, 0, sizeof(p));
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        report("backup: %s: pipe: %s; free file descriptors and retry", path, strerror(errno));
        return EXIT_SYSTEM;
    }
    p.in = pfd[0];
    p.out = fd;
    progress_begin(&p.pg, "backup: store copy, bytes", (size_t)store_copy_size(live));
    if ((rc = pthread_create(&th, NULL, pump_run, &p)) != 0) {
        close(pfd[0]);
        close(pfd[1]);
        report("backup: %s: cannot start a thread: %s; retry", path, strerror(rc));
        return EXIT_SYSTEM;
    }
    ok = store_copy_compact(live, pfd[1]);
    close(pfd[1]);                        /* the end of the copy: the pump reads EOF */
    pthread_join(th, NULL);
    progress_end(&p.pg);
    if (p.err) {
        report("backup: %s: write: %s; free space on the filesystem and retry", path,
               strerror(p.err));
        return EXIT_SYSTEM;
    }
    if (!ok) {
        report("backup: %s; nothing was written to the backup directory", store_error());
        return EXIT_SYSTEM;
    }
    return 0;
}

/* Copy the live store into fd, the backup's store file at path (see backup.h). */
int backup_store_copy(struct store *live, int fd, const char *path)
{
    if (progress_shown())
        return copy_counted(live, fd, path);
    if (!store_copy_compact(live, fd)) {
        report("backup: %s; nothing was written to the backup directory", store_error());
        return EXIT_SYSTEM;
    }
    return 0;
}
