/*
 * publish.c — write a CRL (or CA certificate) into the publish directory atomically.
 *
 * A web server serves the directory while we write: a reader must see the old file or the new
 * one, never half of one. So: temp file in the SAME directory (rename is atomic only within one
 * file system), O_CREAT|O_EXCL, write all, fsync, rename over the target, fsync the directory
 * (so the rename itself survives a crash). Any failure before the rename unlinks the temp file
 * and leaves the old file as it was. The steps and the temp names are base/fsio.h's; this file
 * checks the name and says each failure in the publish directory's words. The read-back check
 * of a published CRL is crl/verify.c.
 */
#include "base/faultpoint.h"
#include "base/fsio.h"
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int name_check(const char *dir, const char *name)
{
    if (dir == NULL || name == NULL || name[0] == '\0' || strchr(name, '/') != NULL
        || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        crl_seterr(CE_USAGE, "publish: file name '%s': must be a plain file name inside the "
                   "publish directory; fix the CA name", name ? name : "(null)");
        return 0;
    }
    if (strlen(dir) + strlen(name) + 32 > MAX_PATH_BYTES) {
        crl_seterr(CE_USAGE, "publish: path: '%s/%s' is too long; use a shorter publish_dir",
                   dir, name);
        return 0;
    }
    return 1;
}

/* Say why the temp file of dir/name could not be written, in the publish directory's words
 * (the step and errno from base/fsio.h). */
static void temp_failed(const char *dir, const struct fsio_temp *t)
{
    if (t->step == FSIO_CREATE)
        crl_seterr(CE_SYSTEM, "publish: %s: cannot create a temporary file: %s; check that the "
                   "publish directory exists and is writable by this user", dir, strerror(errno));
    else if (t->step == FSIO_CHMOD)
        crl_seterr(CE_SYSTEM, "publish: %s: chmod %o: %s; check the file system", t->path,
                   (unsigned)t->mode, strerror(errno));
    else if (t->step == FSIO_CLOSE)
        crl_seterr(CE_SYSTEM, "publish: %s: close failed: %s; check the publish file system",
                   t->path, strerror(errno));
    else
        crl_seterr(CE_SYSTEM, "publish: %s: write/fsync failed: %s; check free space on the "
                   "publish file system", t->path, strerror(errno));
}

/* Remove the temp files a killed publisher left in dir (".NAME.<12 hex>.tmp"): see crl.h. */
int crl_publish_sweep(const char *dir)
{
    int n = fsio_temp_sweep(dir, FSIO_TEMP_PUBLISH);

    if (n < 0)
        crl_seterr(CE_SYSTEM, "publish: %s: cannot list: %s; check the publish directory", dir,
                   strerror(errno));
    return n;
}

/* Atomically replace dir/name with data (see crl.h and the comment above). 1 ok / 0 (class 4);
 * on failure before the rename the old file is untouched and no temp file is left. */
int crl_publish_file(const char *dir, const char *name, const unsigned char *data, size_t len,
                     int mode)
{
    struct fsio_temp t = { .kind = FSIO_TEMP_PUBLISH, .mode = mode & 07777, .sync = 1 };
    char dst[MAX_PATH_BYTES];

    crl_err_clear();
    if (!name_check(dir, name))
        return 0;
    if (data == NULL && len > 0) {
        crl_seterr(CE_USAGE, "publish: %s: no data; fix the caller", name);
        return 0;
    }
    snprintf(dst, sizeof(dst), "%s/%s", dir, name);
    if (!fsio_temp_write(dst, &t, data, len)) {
        temp_failed(dir, &t);
        return 0;
    }
    FAULTPOINT("crl.temp-written", name);
    if (!fsio_place(t.path, dst, 1)) {
        crl_seterr(CE_SYSTEM, "publish: %s: rename failed: %s; check that it is not a "
                   "directory and that the publish directory is writable", dst, strerror(errno));
        unlink(t.path);
        return 0;
    }
    FAULTPOINT("crl.renamed", name);             /* renamed: nothing to clean up */
    if (!fsio_dir_sync(dst)) {
        crl_seterr(CE_SYSTEM, "publish: %s: fsync of the directory failed: %s; the new file "
                   "is in place but may not survive a crash; check the file system", dir,
                   strerror(errno));
        return 0;
    }
    return 1;
}
