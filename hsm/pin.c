/*
 * pin.c — the user PIN: from a pin_file (regular, not a symlink, owned by us, mode 0600 or
 * stricter, checked on the opened descriptor so there is no TOCTOU window), from $OFFCA_PIN, or
 * from a no-echo prompt on /dev/tty. Never from argv, never logged.
 */
#include "hsm/hsm.h"
#include "hsm/hsm_err.h"
#include "hsm/pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Open path and check the rules on the descriptor itself; return the fd or -1. */
static int pin_file_open(const char *path)
{
    struct stat st;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP)
            hsm_seterr(HE_POLICY, "%s: pin_file: is a symlink; point pin_file at the real file",
                       path);
        else
            hsm_seterr(HE_INPUT, "%s: pin_file: cannot open: %s; check the path in ca.toml",
                       path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        hsm_seterr(HE_POLICY, "%s: pin_file: not a regular file; point pin_file at a file", path);
        goto bad;
    }
    if (st.st_uid != geteuid()) {
        hsm_seterr(HE_POLICY, "%s: pin_file: owned by uid %ld, not by us (uid %ld); "
                   "chown it to the offca user", path, (long)st.st_uid, (long)geteuid());
        goto bad;
    }
    if ((st.st_mode & 077) != 0) {
        hsm_seterr(HE_POLICY, "%s: pin_file: mode %04o lets group/others read or write it; "
                   "run chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
        goto bad;
    }
    return fd;
bad:
    close(fd);
    return -1;
}

/* Check the PIN file rules (regular file, no symlink, ours, mode & 077 == 0). */
int hsm_pin_file_check(const char *path)
{
    int fd = pin_file_open(path);

    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Strip one trailing "\n" or "\r\n"; refuse empty and over-long PINs. */
static int pin_finish(const char *what, char *pin, size_t n, size_t *len)
{
    if (n > 0 && pin[n - 1] == '\n')
        n--;
    if (n > 0 && pin[n - 1] == '\r')
        n--;
    pin[n] = '\0';
    if (n == 0) {
        hsm_seterr(HE_INPUT, "%s: PIN: empty; put the user PIN in it", what);
        return 0;
    }
    if (n > MAX_PIN) {
        hsm_seterr(HE_INPUT, "%s: PIN: longer than %d bytes; check its contents", what, MAX_PIN);
        return 0;
    }
    *len = n;
    return 1;
}

static int pin_from_file(const char *path, char *pin, size_t *len)
{
    char buf[MAX_PIN + 3];
    size_t n = 0;
    ssize_t r;
    int fd, ok = 0;

    if ((fd = pin_file_open(path)) < 0)
        return 0;
    while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            hsm_seterr(HE_INPUT, "%s: pin_file: read: %s; check the file", path, strerror(errno));
            goto out;
        }
        n += (size_t)r;
    }
    if (n > MAX_PIN + 2) {
        hsm_seterr(HE_INPUT, "%s: PIN: longer than %d bytes; check its contents", path, MAX_PIN);
        goto out;
    }
    if (!pin_finish(path, buf, n, len))
        goto out;
    memcpy(pin, buf, *len + 1);
    ok = 1;
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return ok;
}

static int pin_from_tty(const char *token_label, char *pin, size_t *len)
{
    struct termios old, quiet;
    char buf[MAX_PIN + 3];
    size_t n = 0;
    int fd, ok = 0, restore = 0;
    char c;

    if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
        hsm_seterr(HE_USAGE, "token '%s': PIN: no terminal to prompt on; set pin_file in "
                   "ca.toml or OFFCA_PIN", token_label);
        return 0;
    }
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    dprintf(fd, "PIN for token '%s': ", token_label);
    while (n < sizeof(buf) - 1 && read(fd, &c, 1) == 1 && c != '\n')
        buf[n++] = c;
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    dprintf(fd, "\n");
    ok = pin_finish("terminal", buf, n, len);
    if (ok)
        memcpy(pin, buf, *len + 1);
    OPENSSL_cleanse(buf, sizeof(buf));
    c = 0;
    close(fd);
    return ok;
}

int pin_get(const struct hsm_config *cfg, const char *token_label, char *pin, size_t *len)
{
    const char *env = getenv("OFFCA_PIN");

    if (cfg->pin_file != NULL)
        return pin_from_file(cfg->pin_file, pin, len);
    if (env != NULL) {
        size_t n = strlen(env);

        if (n > MAX_PIN) {
            hsm_seterr(HE_INPUT, "OFFCA_PIN: PIN: longer than %d bytes; check its value", MAX_PIN);
            return 0;
        }
        memcpy(pin, env, n + 1);
        return pin_finish("OFFCA_PIN", pin, n, len);
    }
    if (cfg->allow_prompt)
        return pin_from_tty(token_label, pin, len);
    hsm_seterr(HE_USAGE, "token '%s': PIN: no PIN source; set pin_file in ca.toml (mode 0600), "
               "export OFFCA_PIN, or run on a terminal to be prompted", token_label);
    return 0;
}
