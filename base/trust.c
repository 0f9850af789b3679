/*
 * trust.c — the owner and mode rule (see trust.h).
 */
#include "base/trust.h"

#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int trust_owner_mode(const char *path, const char *what, const char *risk, const struct stat *st,
                     char *why, size_t n)
{
    const char *kind = S_ISDIR(st->st_mode) ? "directory" : "file";
    const char *sep = what != NULL && what[0] != '\0' ? ": " : "";
    uid_t me = geteuid();

    if (what == NULL)
        what = "";
    if (st->st_uid != 0 && st->st_uid != me) {
        const struct passwd *pw = getpwuid(st->st_uid);

        snprintf(why, n, "%s: %s%s%s owner: owned by uid %ld (%s), neither root nor the user "
                 "offca runs as (uid %ld), and that user could %s; run chown root %s (or chown it "
                 "to the offca user)", path, what, sep, kind, (long)st->st_uid,
                 pw ? pw->pw_name : "no such user", (long)me, risk, path);
        return 0;
    }
    if (st->st_mode & 022) {
        snprintf(why, n, "%s: %s%s%s mode: %04o lets %s write it, and so %s; run chmod go-w %s",
                 path, what, sep, kind, (unsigned)(st->st_mode & 07777),
                 (st->st_mode & 002) ? "anyone" : "its group", risk, path);
        return 0;
    }
    return 1;
}
