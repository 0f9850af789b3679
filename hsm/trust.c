/*
 * trust.c — the owner and mode rule for the files hsm/ loads or relies on: the PKCS#11 module
 * (code offca runs with the token logged in) and the directory holding pin_file. Owned by root
 * or the user offca runs as; not writable by group or others. Judged on fstat of an open
 * descriptor by the callers, so the file judged is the file used.
 */
#include "base/trust.h"
#include "hsm/hsm_err.h"
#include "hsm/trust.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The owner/mode rule (see trust.h). */
int hsm_trust_check(const char *what, const char *path, const struct stat *st, int code)
{
    char why[1024];

    if (trust_owner_mode(path, what, "act with the token logged in", st, why, sizeof(why)))
        return 1;
    hsm_seterr(code, "%s", why);
    return 0;
}

/* The module file (symlinks followed: distributions ship lib.so -> lib.so.N) is judged on its
 * descriptor; after dlopen the path must still name that file, so a swap in between is caught.
 * A module that cannot be opened is left to dlopen, whose message names the problem. */
int hsm_trust_module(const char *module, struct stat *seen)
{
    int fd = open(module, O_RDONLY | O_CLOEXEC), ok;

    seen->st_ino = 0;
    if (fd < 0)
        return 1;
    if (fstat(fd, seen) != 0 || !S_ISREG(seen->st_mode)) {
        seen->st_ino = 0;          /* not a file: dlopen says what it is */
        close(fd);
        return 1;
    }
    ok = hsm_trust_check("hsm.module", module, seen, HE_SYSTEM);
    close(fd);
    return ok;
}

/* 1 when module still names the file hsm_trust_module judged (see trust.h). */
int hsm_trust_same(const char *module, const struct stat *seen)
{
    struct stat now;

    if (seen->st_ino == 0 || (stat(module, &now) == 0 && now.st_dev == seen->st_dev &&
                              now.st_ino == seen->st_ino))
        return 1;
    hsm_seterr(HE_SYSTEM, "module '%s': hsm.module: the file changed while it was loaded; "
               "check who writes it, then re-run", module);
    return 0;
}
