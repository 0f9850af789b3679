/*
 * crl_err.c — the thread's last crl/ error message and its exit class.
 */
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

#define MAX_ERR 2048

static _Thread_local char err_msg[MAX_ERR];
static _Thread_local int err_code;

/* The message of the last failure in this thread ("" if none); borrowed. */
const char *crl_error(void) { return err_msg; }
/* Its exit class: 1 policy, 2 usage, 3 input, 4 system/HSM/IO. */
int crl_error_code(void) { return err_code; }

void crl_err_clear(void)
{
    err_msg[0] = '\0';
    err_code = 0;
}

void crl_seterr(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = code;
}

void crl_ossl_drain(char *buf, size_t len)
{
    unsigned long e;
    size_t off = 0;

    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        char one[256];

        ERR_error_string_n(e, one, sizeof(one));
        if (off + 3 < len)
            off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "; " : "", one);
    }
}

void crl_seterr_ossl(int code, const char *fmt, ...)
{
    char queue[1024];
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = code;
    crl_ossl_drain(queue, sizeof(queue));
    n = strlen(err_msg);
    if (queue[0] != '\0' && n < sizeof(err_msg))
        snprintf(err_msg + n, sizeof(err_msg) - n, " (OpenSSL: %s)", queue);
}
