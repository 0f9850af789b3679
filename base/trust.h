/*
 * trust.h — the owner and mode rule for files that decide what offca does (ca.toml, templates,
 * the store, the publish directory, the PKCS#11 module, pin_file's directory): owned by root or
 * by the user offca runs as, and not writable by group or others. Callers judge the fstat of the
 * descriptor they then use, so the file judged is the file read. base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_TRUST_H
#define OFFCA_BASE_TRUST_H

#include <stddef.h>

struct stat;

/* 1 when st (of path) passes; else 0 with why[n] = "<path>: [<what>: ]<file|directory> owner:
 * ..." or "... mode: 0775 lets its group write it, and so <risk>; run chmod go-w <path>".
 * what (may be NULL or "") names the setting, risk what a writer could do ("change what offca
 * does"). */
int trust_owner_mode(const char *path, const char *what, const char *risk, const struct stat *st,
                     char *why, size_t n) __attribute__((warn_unused_result));

#endif
