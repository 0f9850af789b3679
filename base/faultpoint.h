/*
 * faultpoint.h — named steps where a test can stop or kill offca (crash-consistency tests).
 *
 * FAULTPOINT("batch.group-committed", detail) marks a step. In the production build
 * (build/offca) it compiles to nothing: no code, no string, no environment variable is read.
 * Only the test build (build/offca-test, compiled with -DOFFCA_TEST_BUILD) links
 * base/faultpoint.c, where $OFFCA_FAULT=<point>[:<n>][:kill|stop|exit] makes the process
 * SIGKILL itself (default), SIGSTOP itself, or _exit(FAULTPOINT_EXIT) the n-th time (default 1)
 * it reaches <point>. The list of points and what each means is the table in faultpoint.c
 * (README.md, "Development", has it too). base/ depends on nothing of ours: every folder may
 * use it.
 */
#ifndef OFFCA_FAULTPOINT_H
#define OFFCA_FAULTPOINT_H

#define FAULTPOINT_EXIT 86          /* the exit status of the "exit" action */

#ifdef OFFCA_TEST_BUILD
/* Check $OFFCA_FAULT once at start-up: an unknown point or a malformed spec is reported on
 * stderr and the process exits 2 (a typo must not turn a crash test into a plain run). */
void faultpoint_init(void);
/* Reached the step named point (one of the table's names); detail (may be NULL) names the
 * object, e.g. the file, and is printed with the one line written to stderr before acting. */
void faultpoint_reach(const char *point, const char *detail);
#define FAULTPOINT_INIT() faultpoint_init()
#define FAULTPOINT(point, detail) faultpoint_reach(point, detail)
#else
#define FAULTPOINT_INIT() ((void)0)
#define FAULTPOINT(point, detail) ((void)0)
#endif

#endif
