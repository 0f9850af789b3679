/*
 * progress.c — one-line progress on a terminal (see common.h). The line is only drawn when
 * stderr is a TTY: an operator at a console sees how far a 200,000-row job is; cron, systemd and
 * a redirected 2> see nothing at all.
 */
#include "ca/common/common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROGRESS_REDRAW_NS 200000000L      /* at most five redraws a second */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* "1:05" / "2:03:07" */
static void duration_format(char *buf, size_t n, double s)
{
    unsigned long t = s < 0 ? 0 : s > 359999.0 ? 359999UL : (unsigned long)(s + 0.5);

    if (t >= 3600)
        snprintf(buf, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%lu:%02lu", t / 60, t % 60);
}

/* Format the progress line (see common.h). */
char *progress_format(char *buf, size_t n, const char *what, size_t done, size_t total,
                      double elapsed, const char *extra)
{
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    char left[32] = "", pct[24] = "", tot[32] = "";
    const char *sep = extra && extra[0] ? ", " : "";

    if (total > 0) {
        snprintf(tot, sizeof(tot), "/%zu", total);
        snprintf(pct, sizeof(pct), " (%.0f%%)", 100.0 * (double)(done > total ? total : done) /
                                                    (double)total);
        if (rate > 0 && done < total) {
            duration_format(left, sizeof(left) - 6, (double)(total - done) / rate);
            strcat(left, " left");
        } else if (done >= total) {
            snprintf(left, sizeof(left), "done");
        }
    }
    snprintf(buf, n, "%s: %zu%s%s, %.0f/s%s%s%s%s", what, done, tot, pct, rate,
             left[0] ? ", " : "", left, sep, extra ? extra : "");
    return buf;
}

/* Whether a progress line would be drawn (see common.h). */
int progress_shown(void)
{
    return isatty(STDERR_FILENO) == 1;
}

/* Begin a progress line (see common.h). */
void progress_begin(struct progress *p, const char *what, size_t total)
{
    memset(p, 0, sizeof(*p));
    p->on = progress_shown();
    p->what = what;
    p->total = total;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

/* Redraw the line for done steps (see common.h). */
void progress_step(struct progress *p, size_t done, const char *extra)
{
    char line[PROGRESS_LINE];
    struct timespec now;

    if (!p->on)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (p->drawn && done != p->total && seconds_between(&p->last, &now) * 1e9 <
                                            (double)PROGRESS_REDRAW_NS)
        return;
    p->last = now;
    progress_format(line, sizeof(line), p->what, done, p->total,
                    seconds_between(&p->start, &now), extra);
    /* \r back to column 0, the line, then erase what a longer previous line left (ECMA-48 EL) */
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->drawn = 1;
}

/* Finish the line (see common.h). */
void progress_end(struct progress *p)
{
    if (p->on && p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}
