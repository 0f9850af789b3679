/*
 * hsm_err.c — the thread's last hsm/ error message and its exit class.
 */
#include "hsm/hsm.h"
#include "hsm/hsm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#define MAX_ERR 2048

static _Thread_local char err_msg[MAX_ERR];
static _Thread_local int err_code;

const char *hsm_error(void) { return err_msg; }
int hsm_error_code(void) { return err_code; }

void hsm_err_clear(void)
{
    err_msg[0] = '\0';
    err_code = 0;
}

void hsm_seterr(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = code;
}

void hsm_seterr_ossl(int code, const char *fmt, ...)
{
    va_list ap;
    unsigned long e;
    size_t used;
    int first = 1;

    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = code;
    /* OpenSSL's queue never travels past hsm/: turn it into text here, oldest first. */
    while ((e = ERR_get_error()) != 0) {
        char buf[256];

        ERR_error_string_n(e, buf, sizeof(buf));
        used = strlen(err_msg);
        snprintf(err_msg + used, sizeof(err_msg) - used, "%s%s", first ? " (openssl: " : "; ", buf);
        first = 0;
    }
    if (!first) {
        used = strlen(err_msg);
        snprintf(err_msg + used, sizeof(err_msg) - used, ")");
    }
}

void hsm_err_prefix(const char *fmt, ...)
{
    char prefix[512], old[MAX_ERR];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof(old));
    snprintf(err_msg, sizeof(err_msg), "%s: %s", prefix, old);
}
