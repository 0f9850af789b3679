/*
 * pin.c — the user PIN: from a pin_file (regular, not a symlink, owned by us, mode 0600 or
 * stricter, checked on the opened descriptor so there is no TOCTOU window), from $OFFCA_PIN, or
 * from a no-echo prompt on /dev/tty. Never from argv, never logged.
 */
#include "base/fsio.h"
#include "hsm/hsm.h"
#include "hsm/hsm_err.h"
#include "hsm/pin.h"
#include "hsm/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* The directory holding pin_file: whoever can write it can swap the file for a PIN of their
 * choosing between runs. Owned by root or us, not group/world-writable (hsm/trust.c). */
static int pin_dir_check(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;
    int fd, ok;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    /* O_PATH: judging the directory needs search permission only (a 0711 parent is fine) */
    if ((fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        hsm_seterr(HE_INPUT, "%s: pin_file directory: cannot open: %s; check the path in "
                   "ca.toml", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    ok = hsm_trust_check("pin_file directory", dir, &st, HE_POLICY);
    close(fd);
    return ok;
}

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
    if (!pin_dir_check(path))
        goto bad;
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

/* Refuse what a token would take as part of the PIN although nobody meant it to be: a second
 * line, a CR (a file saved on Windows), tabs or other control bytes, spaces at either end.
 * Sending such a PIN would cost a try on the token's counter for a typing accident. */
static int pin_chars_check(const char *what, const char *pin, size_t n)
{
    const char *why = NULL;
    size_t i;

    for (i = 0; i < n && why == NULL; i++) {
        unsigned char c = (unsigned char)pin[i];

        if (c == '\n')
            why = "a second line";
        else if (c == '\r')
            why = "a carriage return (CR)";
        else if (c < 0x20 || c == 0x7f)
            why = "a tab or another control character";
    }
    if (why == NULL && (pin[0] == ' ' || pin[n - 1] == ' ')) {
        why = "a space at its start or end";
        i = pin[0] == ' ' ? 1 : n;
    }
    if (why == NULL)
        return 1;
    hsm_seterr(HE_INPUT, "%s: PIN: contains %s (byte %zu); not sent to the token: write the "
               "PIN alone, optionally followed by one newline (printf '%%s\\n' PIN >FILE)",
               what, why, i);
    return 0;
}

/* Strip one trailing "\n" when strip_nl (a file's last line); refuse empty, over-long and
 * whitespace-damaged PINs (pin_chars_check). */
static int pin_finish(const char *what, char *pin, size_t n, int strip_nl, size_t *len)
{
    if (strip_nl && n > 0 && pin[n - 1] == '\n')
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
    if (!pin_chars_check(what, pin, n))
        return 0;
    *len = n;
    return 1;
}

static int pin_from_file(const char *path, char *pin, size_t *len)
{
    char buf[MAX_PIN + 3];
    size_t n = 0;
    int fd, ok = 0;

    if ((fd = pin_file_open(path)) < 0)
        return 0;
    if (!fsio_read_full(fd, buf, sizeof(buf) - 1, &n)) {
        hsm_seterr(HE_INPUT, "%s: pin_file: read: %s; check the file", path, strerror(errno));
        goto out;
    }
    if (n > MAX_PIN + 2) {
        hsm_seterr(HE_INPUT, "%s: PIN: longer than %d bytes; check its contents", path, MAX_PIN);
        goto out;
    }
    if (!pin_finish(path, buf, n, 1, len))
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
    ok = pin_finish("terminal", buf, n, 0, len);
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
        return pin_finish("OFFCA_PIN", pin, n, 0, len);
    }
    if (cfg->allow_prompt)
        return pin_from_tty(token_label, pin, len);
    hsm_seterr(HE_USAGE, "token '%s': PIN: no PIN source; set pin_file in ca.toml (mode 0600), "
               "export OFFCA_PIN, or run on a terminal to be prompted", token_label);
    return 0;
}
