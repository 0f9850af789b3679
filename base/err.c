/*
 * err.c — the thread's last error message and class (see err.h), and the OpenSSL queue drain.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#define MAX_ERR 2048

static _Thread_local char err_msg[MAX_ERR];
static _Thread_local int err_code;

const char *base_err_msg(void) { return err_msg; }
int base_err_code(void) { return err_code; }

void base_err_clear(void)
{
    err_msg[0] = '\0';
    err_code = 0;
}

static void set_va(int code, const char *fmt, va_list ap)
{
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    err_code = code;
}

void base_err_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_va(code, fmt, ap);
    va_end(ap);
}

void base_ossl_drain(char *buf, size_t len)
{
    unsigned long e;
    size_t off = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    /* oldest first; keep draining after the buffer is full so the queue ends empty */
    while ((e = ERR_get_error()) != 0) {
        char one[256];

        ERR_error_string_n(e, one, sizeof(one));
        if (off + 3 < len) {
            int n = snprintf(buf + off, len - off, "%s%s", off ? "; " : "", one);

            off = n < 0 ? off : (size_t)n + off >= len ? len - 1 : off + (size_t)n;
        }
    }
}

void base_err_set_ossl(int code, const char *fmt, ...)
{
    char queue[1024];
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    set_va(code, fmt, ap);
    va_end(ap);
    base_ossl_drain(queue, sizeof(queue));
    n = strlen(err_msg);
    if (queue[0] != '\0' && n < sizeof(err_msg))
        snprintf(err_msg + n, sizeof(err_msg) - n, " (OpenSSL: %s)", queue);
}

void base_err_prefix(const char *fmt, ...)
{
    char prefix[512], old[MAX_ERR];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof(old));
    snprintf(err_msg, sizeof(err_msg), "%s: %s", prefix, old);
}
