/*
 * trust.h — private to hsm/: files that decide what offca does (the PKCS#11 module, pin_file's
 * directory) must be owned by root or the running user and not writable by group or others.
 */
#ifndef OFFCA_HSM_TRUST_H
#define OFFCA_HSM_TRUST_H

struct stat;

/* 1 when st (of path, described as what: "hsm.module", "pin_file directory") passes the rule;
 * else 0 with hsm_error() = "<path>: <what>: <problem>; <chown/chmod fix>" and class code. */
int hsm_trust_check(const char *what, const char *path, const struct stat *st, int code)
    __attribute__((warn_unused_result));

/* The PKCS#11 module before dlopen: opened (symlinks followed), fstat'ed, judged by the rule;
 * *seen keeps its identity (st_ino 0 when it could not be opened or is not a file: dlopen then
 * reports). After dlopen, hsm_trust_same checks the path still names that file. 1 ok / 0
 * (class 4). */
int hsm_trust_module(const char *module, struct stat *seen) __attribute__((warn_unused_result));
int hsm_trust_same(const char *module, const struct stat *seen)
    __attribute__((warn_unused_result));

#endif
