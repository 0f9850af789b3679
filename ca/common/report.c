/*
 * report.c — the one place offca writes operator messages: stderr, and syslog for cron jobs.
 */
#include "ca/common/common.h"

#include <stdio.h>
#include <syslog.h>

static int use_syslog;

void report_use_syslog(int on)
{
    if (on && !use_syslog)
        openlog("offca", LOG_PID, LOG_USER);
    use_syslog = on;
}

static void vreport(int prio, const char *prefix, const char *fmt, va_list ap)
{
    char msg[4096];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "offca: %s%s\n", prefix, msg);
    if (use_syslog)
        syslog(prio, "%s%s", prefix, msg);
}

void report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(LOG_ERR, "", fmt, ap);
    va_end(ap);
}

void report_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(LOG_WARNING, "warning: ", fmt, ap);
    va_end(ap);
}

void report_info(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("%s\n", msg);
    syslog(LOG_INFO, "%s", msg);
}
