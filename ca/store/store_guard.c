/*
 * store_guard.c — a damaged data.mdb becomes a message, never a SIGBUS.
 *
 * LMDB maps data.mdb and reads pages straight from the map: a file shorter than the pages its
 * meta page says exist (truncated by a full disk, a bad copy, a careless restore) faults on the
 * first read past its end, and the process dies of SIGBUS with no word. Two guards:
 *   st_file_check   before the environment is opened: the file is read (no map) and its size
 *                   compared with what its newest valid meta page records: (last page + 1) * page
 *                   size. Exact for truncation: every page LMDB may touch lies below that bound.
 *   st_fault_guard  after it is opened: a SIGBUS whose address lies in the store's map (the file
 *                   shrank while running, or an I/O error on a page) prints the same message and
 *                   exits 4; any other SIGBUS is left to the default action. The process cannot go
 *                   on after a fault in the map (the read it was doing has no answer); exiting is
 *                   what a kill would do, and LMDB is safe against that (a write transaction that
 *                   had not committed is simply not there).
 *
 * LMDB's file format (lmdb 0.9, the only one Debian 12 ships): pages 0 and 1 are meta pages; each
 * is a 16-byte page header, then MDB_meta: magic u32 0xBEEFC0DE, version u32 (1), address (8),
 * mapsize (8), two MDB_db of 48 bytes (the page size is the first one's md_pad, a u32), last
 * page number (8), transaction id (8). Host byte order: the file is only valid on this host.
 */
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LMDB_MAGIC     0xBEEFC0DEu
#define LMDB_VERSION   1u
#define META_OFF       16                  /* page header */
#define META_PSIZE     (META_OFF + 24)     /* mm_dbs[0].md_pad */
#define META_LAST_PG   (META_OFF + 120)
#define META_TXNID     (META_OFF + 128)
#define META_END       (META_OFF + 136)
#define MIN_PSIZE      512u
#define MAX_PSIZE      65536u

struct lmdb_meta {
    uint64_t last_pg, txnid;
    uint32_t psize;
};

/* Read one meta page at off; 1 valid, 0 not (short read, bad magic or version). */
static int meta_read(int fd, off_t off, struct lmdb_meta *m)
{
    unsigned char b[META_END];
    uint32_t magic, version;

    if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
        return 0;
    memcpy(&magic, b + META_OFF, 4);
    memcpy(&version, b + META_OFF + 4, 4);
    memcpy(&m->psize, b + META_PSIZE, 4);
    memcpy(&m->last_pg, b + META_LAST_PG, 8);
    memcpy(&m->txnid, b + META_TXNID, 8);
    return magic == LMDB_MAGIC && version == LMDB_VERSION;
}

static int damaged(const char *dir, const char *why)
{
    st_seterr("store %s: data.mdb is truncated or damaged (%s); restore it from a backup (do not "
              "run 'offca init': it does not repair a store)", dir, why);
    return 0;
}

int st_file_check(const char *dir)
{
    char path[1100], why[160];
    struct lmdb_meta m0, m1, *m;
    struct stat st;
    int fd, ok0, ok1;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return errno == ENOENT ? 1 : st_code_err(dir, "open data.mdb", errno);
    if (fstat(fd, &st) != 0) {
        close(fd);
        return st_code_err(dir, "stat data.mdb", errno);
    }
    ok0 = meta_read(fd, 0, &m0);
    ok1 = ok0 && m0.psize >= MIN_PSIZE && m0.psize <= MAX_PSIZE &&
          meta_read(fd, (off_t)m0.psize, &m1);
    close(fd);
    if (st.st_size == 0)
        return damaged(dir, "the file is empty");
    if (!ok0 || m0.psize < MIN_PSIZE || m0.psize > MAX_PSIZE)
        return damaged(dir, "no valid LMDB meta page at its start");
    if (!ok1)
        return damaged(dir, "the second meta page is missing or invalid");
    m = m1.txnid > m0.txnid ? &m1 : &m0;
    if ((uint64_t)st.st_size / m0.psize < m->last_pg + 1) {
        snprintf(why, sizeof(why), "%lld bytes, its header says %llu pages of %u bytes",
                 (long long)st.st_size, (unsigned long long)(m->last_pg + 1), m0.psize);
        return damaged(dir, why);
    }
    return 1;
}

/* ---- a fault in the map ---- */
static char fault_msg[1400];
static size_t fault_len;
static uintptr_t fault_lo, fault_hi;
static struct sigaction fault_prev;

static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
    uintptr_t a = (uintptr_t)si->si_addr;

    (void)ctx;
    if (a >= fault_lo && a < fault_hi) {
        ssize_t w = write(STDERR_FILENO, fault_msg, fault_len);

        (void)w;
        _exit(STORE_ERR_SYSTEM);
    }
    sigaction(sig, &fault_prev, NULL);    /* not ours: the default action (core, 135) */
    raise(sig);
}

void st_fault_guard(const char *dir, const void *map, size_t len)
{
    struct sigaction sa;

    fault_len = (size_t)snprintf(fault_msg, sizeof(fault_msg), "offca: store %s: data.mdb is "
                                 "truncated or damaged (a read of the file failed); restore it "
                                 "from a backup\n", dir);
    if (fault_len >= sizeof(fault_msg))
        fault_len = sizeof(fault_msg) - 1;
    fault_lo = (uintptr_t)map;
    fault_hi = fault_lo + len;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &fault_prev);
}
