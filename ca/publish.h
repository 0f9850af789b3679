/*
 * publish.h — `offca crl publish`: for each CA decide whether a CRL is due, build and sign it
 * inside ONE write transaction that reserves its number and records its state, then publish the
 * file atomically and read it back. A published file whose hash differs from the store (a crash
 * after the commit) is simply published again with the next number.
 */
#ifndef OFFCA_PUBLISH_H
#define OFFCA_PUBLISH_H

struct app;

#define CRL_FILE_MODE 0644
#define MAX_PUBLISH_PATH 4096

/* Publish for one CA (name) or all (NULL). force: publish even when nothing is due.
 * Returns 0 or the exit class; prints one line per CA. */
int publish_run(struct app *a, const char *name, int force);

#endif
