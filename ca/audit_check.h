/*
 * audit_check.h — `offca audit verify`'s second half: the certificates, CAs, revocations and CRL
 * numbers the audit records say exist, checked against the databases (ca/audit_check.c).
 */
#ifndef OFFCA_AUDIT_CHECK_H
#define OFFCA_AUDIT_CHECK_H

#include <stddef.h>

#include "ca/store.h"

/* Walk the audit log in t and check what it records against the store; each thing missing is
 * reported ("store check: ...", with its serial or CA). Returns the number of problems (0: the
 * store holds everything the log says), or -1 on a store error (reported). *checked: how many
 * records were checked. */
int audit_check_store(struct store_txn *t, size_t *checked);

#endif
