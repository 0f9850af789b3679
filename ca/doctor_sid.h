/*
 * doctor_sid.h — doctor's check of issued certificates against the directory (ca/doctor_sid.c).
 */
#ifndef OFFCA_DOCTOR_SID_H
#define OFFCA_DOCTOR_SID_H

#include <time.h>

struct store_txn;
struct doctor_report;

/* One ERROR finding per valid (not revoked, not expired) certificate of CA only (or of every CA
 * when NULL) whose SID is not the directory's SID for its UPN or DNS SAN, with the sign command
 * that reissues it and the revoke command for it. 1 ok / 0 store error (store_error). */
int doctor_dir_sid_check(struct store_txn *t, const char *only, time_t now,
                     struct doctor_report *rep) __attribute__((warn_unused_result));

#endif
