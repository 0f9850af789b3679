/*
 * tmpl_err.c — the thread's last templates/ error message and its exit class.
 */
#include "templates/template.h"
#include "templates/tmpl_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_ERR 2048

static _Thread_local char err_msg[MAX_ERR];
static _Thread_local int err_code;

const char *tmpl_error(void) { return err_msg; }
int tmpl_error_code(void) { return err_code; }

void tmpl_err_clear(void)
{
    err_msg[0] = '\0';
    err_code = 0;
}

void tmpl_seterr(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = code;
}

void tmpl_err_prefix(const char *fmt, ...)
{
    char prefix[512], old[MAX_ERR];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof(old));
    snprintf(err_msg, sizeof(err_msg), "%s: %s", prefix, old);
}
