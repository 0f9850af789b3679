/*
 * progress.h — the one-line progress of long work (batch sign, directory import, ...): count,
 * rate and time left, redrawn in place on stderr, and only when stderr is a terminal, so cron
 * mail and redirected logs never see it.
 */
#ifndef OFFCA_PROGRESS_H
#define OFFCA_PROGRESS_H

#include <stddef.h>
#include <time.h>

#define PROGRESS_LINE 160                  /* longest line drawn, bytes */

struct progress {
    int on;                                /* stderr is a TTY */
    const char *what;                      /* "sign --batch", borrowed */
    size_t total;                          /* 0: unknown (no percentage, no time left) */
    struct timespec start, last;           /* CLOCK_MONOTONIC */
    int drawn;                             /* a line is on the screen */
};

/* 1 when stderr is a terminal, so a progress line would be drawn: for a caller whose total costs
 * work to learn (a count pass over the store), done only when someone will see it. */
int progress_shown(void);
/* Start: p->on is set when stderr is a terminal; what (borrowed, must outlive p) names the work
 * and total is the number of steps (0 if unknown). Nothing is drawn yet. */
void progress_begin(struct progress *p, const char *what, size_t total);
/* done steps so far; extra (or NULL) is appended ("issued 5, failed 0"). Redraws at most five
 * times a second, and always for the last step; a no-op when p->on is 0. */
void progress_step(struct progress *p, size_t done, const char *extra);
/* End the line (a newline after the last drawn state); a no-op when nothing was drawn. */
void progress_end(struct progress *p);
/* The line itself, for tests: "what: done/total (pct%), rate/s, M:SS left[, extra]" into buf;
 * elapsed in seconds. Returns buf. */
char *progress_format(char *buf, size_t n, const char *what, size_t done, size_t total,
                      double elapsed, const char *extra);

#endif
