/*
 * cmd_init.c — `offca init`: create the store, check the token and the PIN, print a summary.
 * Idempotent: on an existing store it only checks and prints.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ca/cli/cli.h"

const char HELP_INIT[] =
    "usage: offca init\n\n"
    "Create the LMDB store at [store] path (directory 0700, files 0600) if it does not exist,\n"
    "log in to the token named in [hsm] to check the module, the token and the PIN, and print a\n"
    "summary. Safe to run again: an existing store is only checked. init never repairs a\n"
    "store: one missing a database (what it held would be lost), a truncated or damaged\n"
    "data.mdb, or an LMDB environment that is not an offca store is refused (exit 4) with\n"
    "the advice to restore it from a backup; nothing is created or changed there.\n\n"
    "Example:\n  offca -c /etc/offca/ca.toml init\n";

static int count_ca(void *arg, const struct ca_rec *r)
{
    (*(int *)arg)++;
    return 1;
}

int cmd_init(struct app *a, int argc, char **argv)
{
    struct hsm_key_info *keys = NULL;
    struct store_txn *t;
    struct stat st;
    char marker[4096];
    size_t nkeys = 0;
    int rc, existed, ncas = 0;

    if (argc > 1) {
        report("init: takes no arguments; see 'offca init --help'");
        return EXIT_USAGE;
    }
    if ((rc = app_config(a)) != 0)
        return rc;
    snprintf(marker, sizeof(marker), "%s/data.mdb", a->cfg->store_path);
    existed = stat(marker, &st) == 0;
    if ((rc = app_hsm(a)) != 0)        /* check the token before creating anything */
        return rc;
    if ((rc = app_store(a, 1)) != 0)
        return rc;
    if (!existed) {
        if ((t = store_txn_begin(a->store, 1)) == NULL)
            return fail_store();
        if ((rc = txn_finish(t, store_audit_append(t, "store.init", a->cfg->store_path, "ok",
                                                   ""))) != 0)
            return rc;
    }
    if (!hsm_key_list(a->hsm, &keys, &nkeys))
        return fail_hsm();
    free(keys);
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    store_ca_foreach(t, count_ca, &ncas);
    store_txn_abort(t);
    printf("store:   %s (%s)\n", a->cfg->store_path, existed ? "existing, checked" : "created");
    printf("token:   '%s' via %s: logged in\n", hsm_get0_token_label(a->hsm), a->cfg->hsm_module);
    printf("keys:    %zu key pair(s) in the token\n", nkeys);
    printf("CAs:     %d\n", ncas);
    if (ncas == 0)
        printf("next:    offca key generate --label root-2026 --alg rsa3072\n");
    return EXIT_OK;
}
