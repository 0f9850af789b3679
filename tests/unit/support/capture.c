/*
 * capture.c — test support: capture an fd into a temp file (see capture.h).
 */
#include "tests/unit/support/capture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char cap_buf[MAX_CAPTURE_BYTES + 1];
static size_t cap_len;
static int cap_fd = -1;       /* the fd being captured */
static int cap_saved = -1;    /* dup of its original target */
static FILE *cap_file;        /* where it goes meanwhile */

static void flush_std(int fd)
{
    if (fd == STDOUT_FILENO)
        fflush(stdout);
    else if (fd == STDERR_FILENO)
        fflush(stderr);
}

/* Redirect fd into an anonymous temp file; 1 ok / 0. */
int capture_start(int fd)
{
    if (cap_fd != -1)
        return 0;
    cap_file = tmpfile();
    if (cap_file == NULL)
        return 0;
    flush_std(fd);
    cap_saved = dup(fd);
    if (cap_saved < 0 || dup2(fileno(cap_file), fd) < 0) {
        if (cap_saved >= 0)
            close(cap_saved);
        fclose(cap_file);
        cap_file = NULL;
        return 0;
    }
    cap_fd = fd;
    cap_len = 0;
    cap_buf[0] = '\0';
    return 1;
}

/* Restore the fd; return the captured text (static, NUL-terminated). */
const char *capture_stop(void)
{
    size_t got;

    if (cap_fd == -1)
        return "";
    flush_std(cap_fd);
    dup2(cap_saved, cap_fd);
    close(cap_saved);
    rewind(cap_file);
    got = fread(cap_buf, 1, MAX_CAPTURE_BYTES, cap_file);
    cap_buf[got] = '\0';
    cap_len = got;
    fclose(cap_file);
    cap_file = NULL;
    cap_saved = -1;
    cap_fd = -1;
    return cap_buf;
}

size_t capture_len(void)
{
    return cap_len;
}

/* mkdtemp under $TMPDIR or /tmp. */
int tmpdir_make(char *buf, size_t n)
{
    const char *base = getenv("TMPDIR");
    int w;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    w = snprintf(buf, n, "%s/offca-test-XXXXXX", base);
    if (w < 0 || (size_t)w >= n)
        return 0;
    return mkdtemp(buf) != NULL;
}

/* Recursive removal; test directories are small and ours. */
int tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];
    struct stat st;
    int ok = 1;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            ok &= tmpdir_remove(path);
        else if (unlink(path) != 0)
            ok = 0;
    }
    closedir(d);
    if (rmdir(dir) != 0)
        ok = 0;
    return ok;
}
