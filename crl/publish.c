/*
 * publish.c — write a CRL (or CA certificate) into the publish directory atomically.
 *
 * A web server serves the directory while we write: a reader must see the old file or the new
 * one, never half of one. So: temp file in the SAME directory (rename is atomic only within one
 * file system), O_CREAT|O_EXCL, write all, fsync, rename over the target, fsync the directory
 * (so the rename itself survives a crash). Any failure before the rename unlinks the temp file
 * and leaves the old file as it was. The read-back check of a published CRL is crl/verify.c.
 */
#include "base/faultpoint.h"
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#define MAX_TEMP_TRIES 16

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

/* Create dir/.name.XXXXXXXX exclusively with exactly mode (umask does not apply). */
static int temp_open(const char *dir, const char *name, int mode, char *tmp, size_t tmplen)
{
    int i, fd = -1;

    for (i = 0; i < MAX_TEMP_TRIES && fd < 0; i++) {
        unsigned char rnd[6];

        if (RAND_bytes(rnd, sizeof(rnd)) <= 0)
            memset(rnd, i, sizeof(rnd));
        snprintf(tmp, tmplen, "%s/.%s.%02x%02x%02x%02x%02x%02x.tmp", dir, name, rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5]);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        crl_seterr(CE_SYSTEM, "publish: %s: cannot create a temporary file: %s; check that the "
                   "publish directory exists and is writable by this user", dir, strerror(errno));
        return -1;
    }
    if (fchmod(fd, (mode_t)(mode & 07777)) != 0) {
        crl_seterr(CE_SYSTEM, "publish: %s: chmod %o: %s; check the file system", tmp,
                   (unsigned)mode, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    return fd;
}

/* ".NAME.<12 hex>.tmp": the names temp_open makes. */
static int is_temp_name(const char *n)
{
    size_t len = strlen(n), i;

    if (n[0] != '.' || len < 1 + 1 + 1 + 12 + 4 || strcmp(n + len - 4, ".tmp") != 0 ||
        n[len - 4 - 12 - 1] != '.')
        return 0;
    for (i = len - 4 - 12; i < len - 4; i++)
        if (!isxdigit((unsigned char)n[i]) || isupper((unsigned char)n[i]))
            return 0;
    return 1;
}

/* Remove the temp files a killed publisher left in dir: see crl.h. */
int crl_publish_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        crl_seterr(CE_SYSTEM, "publish: %s: cannot list: %s; check the publish directory", dir,
                   strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL)
        if (is_temp_name(e->d_name) && unlinkat(dirfd(d), e->d_name, 0) == 0)
            n++;
    closedir(d);
    return n;
}

static int write_all(int fd, const unsigned char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        data += n;
        len -= (size_t)n;
    }
    return 1;
}

static int dir_sync(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ok;

    if (fd < 0)
        return 0;
    ok = fsync(fd) == 0 || errno == EINVAL;   /* some file systems cannot sync a directory */
    close(fd);
    return ok;
}

/* Atomically replace dir/name with data (see crl.h and the comment above). 1 ok / 0 (class 4);
 * on failure before the rename the old file is untouched and no temp file is left. */
int crl_publish_file(const char *dir, const char *name, const unsigned char *data, size_t len,
                     int mode)
{
    char tmp[MAX_PATH_BYTES], dst[MAX_PATH_BYTES];
    int fd = -1, ok = 0;

    crl_err_clear();
    if (!name_check(dir, name))
        return 0;
    if (data == NULL && len > 0) {
        crl_seterr(CE_USAGE, "publish: %s: no data; fix the caller", name);
        return 0;
    }
    snprintf(dst, sizeof(dst), "%s/%s", dir, name);
    if ((fd = temp_open(dir, name, mode, tmp, sizeof(tmp))) < 0)
        return 0;
    if (!write_all(fd, data, len) || fsync(fd) != 0) {
        crl_seterr(CE_SYSTEM, "publish: %s: write/fsync failed: %s; check free space on the "
                   "publish file system", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        crl_seterr(CE_SYSTEM, "publish: %s: close failed: %s; check the publish file system",
                   tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    FAULTPOINT("crl.temp-written", name);
    if (rename(tmp, dst) != 0) {
        crl_seterr(CE_SYSTEM, "publish: %s: rename failed: %s; check that it is not a "
                   "directory and that the publish directory is writable", dst, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';                             /* renamed: nothing to clean up */
    FAULTPOINT("crl.renamed", name);
    if (!dir_sync(dir)) {
        crl_seterr(CE_SYSTEM, "publish: %s: fsync of the directory failed: %s; the new file "
                   "is in place but may not survive a crash; check the file system", dir,
                   strerror(errno));
        goto out;
    }
    ok = 1;
out:
    if (fd >= 0)
        close(fd);
    if (!ok && tmp[0] != '\0')
        unlink(tmp);
    return ok;
}
