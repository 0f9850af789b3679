/*
 * store_fail.c — the store's failure turned into one report and an exit class, and the end of a
 * write transaction (commit or abort), for every room that writes.
 */
#include "ca/store/store.h"

#include "ca/common/common.h"

int fail_store(void) { return fail_with(store_error(), EXIT_SYSTEM, EXIT_SYSTEM); }

int txn_finish(struct store_txn *t, int ok)
{
    if (!ok) {
        store_txn_abort(t);
        return fail_store();
    }
    return store_txn_commit(t) ? 0 : fail_store();
}
