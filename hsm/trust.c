/*
 * trust.c — the owner and mode rule for the files hsm/ loads or relies on: the PKCS#11 module
 * (code offca runs with the token logged in) and the directory holding pin_file. Owned by root
 * or the user offca runs as; not writable by group or others. Judged on fstat of an open
 * descriptor by the callers, so the file judged is the file used.
 */
#include "hsm/hsm_err.h"
#include "hsm/trust.h"

#include <sys/stat.h>
#include <unistd.h>

int hsm_trust_check(const char *what, const char *path, const struct stat *st, int code)
{
    const char *kind = S_ISDIR(st->st_mode) ? "directory" : "file";
    uid_t me = geteuid();

    if (st->st_uid != 0 && st->st_uid != me) {
        hsm_seterr(code, "%s: %s: %s owned by uid %ld, neither root nor the user offca runs as "
                   "(uid %ld), who could change what offca does with the token; run chown root "
                   "%s (or chown it to the offca user)", path, what, kind, (long)st->st_uid,
                   (long)me, path);
        return 0;
    }
    if (st->st_mode & 022) {
        hsm_seterr(code, "%s: %s: %s mode %04o lets %s write it, and so act with the token "
                   "logged in; run chmod go-w %s", path, what, kind,
                   (unsigned)(st->st_mode & 07777), (st->st_mode & 002) ? "anyone" : "its group",
                   path);
        return 0;
    }
    return 1;
}
