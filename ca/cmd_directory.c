/*
 * cmd_directory.c — `offca directory import|show`: principal -> SID from AD exports, so that
 * templates with sid_source = "directory" find the SID by the certificate's UPN or DNS SAN.
 */
#include <stdio.h>
#include <string.h>

#include "ca/app.h"
#include "ca/input.h"
#include "ca/json.h"
#include "ca/verb.h"

static const char HELP_DIR_IMPORT[] =
    "usage: offca directory import FILE.csv\n\n"
    "Replace the directory with an AD export (Export-Csv output): columns SamAccountName,\n"
    "UserPrincipalName, DNSHostName, SID or objectSid, in any order; quoted fields; UTF-8 with\n"
    "or without BOM. A bad SID, a row without SID or name, or two rows for one principal\n"
    "refuse the whole file and leave the directory as it was.\n\n"
    "Examples (PowerShell, then copy the files to the CA):\n"
    "  Get-ADComputer -Filter * -Properties DNSHostName,objectSid |\n"
    "      Select SamAccountName,DNSHostName,objectSid | Export-Csv computers.csv\n"
    "  Get-ADUser -Filter * -Properties UserPrincipalName,objectSid |\n"
    "      Select SamAccountName,UserPrincipalName,objectSid | Export-Csv users.csv\n"
    "  offca directory import computers.csv\n"
    "(one import replaces the directory: concatenate or use one export with both kinds)\n";
static const char HELP_DIR_SHOW[] =
    "usage: offca [--json] directory show NAME\n\n"
    "Look a principal up by sAMAccountName, UPN or DNS host name (case-insensitive).\n\n"
    "Example:\n  offca directory show pc42.contoso.com\n";

static int dir_import(struct app *a, int argc, char **argv)
{
    struct dir_entry *e = NULL;
    unsigned char *data = NULL;
    struct store_txn *t;
    char detail[64];
    size_t len = 0, n = 0;
    int rc;

    if (argc != 2 || argv[1][0] == '-') {
        report("directory import: needs FILE.csv; see 'offca directory import --help'");
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0)
        return rc;
    if ((rc = file_load(argv[1], MAX_CSV_BYTES, &data, &len)) != 0)
        return rc;
    if ((rc = dircsv_parse((const char *)data, len, argv[1], &e, &n)) != 0)
        goto out;
    if ((t = store_txn_begin(a->store, 1)) == NULL) {
        rc = fail_store();
        goto out;
    }
    snprintf(detail, sizeof(detail), "%zu principals", n);
    if ((rc = txn_finish(t, store_dir_replace(t, e, n) &&
                                store_audit_append(t, "directory.import", argv[1], "ok",
                                                   detail))) == 0)
        printf("imported %zu principals from %s (the directory was replaced)\n", n, argv[1]);
out:
    dircsv_free(e, n);
    free(data);
    return rc;
}

static int dir_show(struct app *a, int argc, char **argv)
{
    const char *name = NULL;
    struct dir_entry e;
    struct store_txn *t;
    int found, rc;

    if ((rc = args_json(a, argc, argv, "directory show", "NAME", &name)) != 0 ||
        (rc = app_store(a, 0)) != 0)
        return rc;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    memset(&e, 0, sizeof(e));
    found = store_dir_find(t, name, &e);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("directory: no principal '%s'; import an AD export with 'offca directory import'",
               name);
        return EXIT_USAGE;
    }
    if (a->json) {
        fputc('{', stdout);
        json_kv(stdout, 1, "sam", e.sam);
        json_kv(stdout, 0, "upn", e.upn);
        json_kv(stdout, 0, "dns", e.dns);
        json_kv(stdout, 0, "sid", e.sid);
        fputs("}\n", stdout);
    } else {
        printf("sAMAccountName: %s\nUPN:            %s\nDNS host name:  %s\nSID:            %s\n",
               e.sam ? e.sam : "-", e.upn ? e.upn : "-", e.dns ? e.dns : "-", e.sid);
    }
    free(e.sam), free(e.upn), free(e.dns), free(e.sid);
    return EXIT_OK;
}

static const struct verb DIR_VERBS[] = {
    {"import", dir_import, "replace the directory with an AD export (CSV)", HELP_DIR_IMPORT},
    {"show", dir_show, "look a principal up", HELP_DIR_SHOW},
};

const char HELP_DIRECTORY[] =
    "usage: offca directory import FILE.csv | show NAME\n\n"
    "The directory maps AD principals (sAMAccountName, UPN, DNS host name) to SIDs, for\n"
    "templates with sid_source = \"directory\".\n\nExample:\n"
    "  offca directory import computers.csv && offca directory show PC42$\n";

int cmd_directory(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, DIR_VERBS, sizeof(DIR_VERBS) / sizeof(DIR_VERBS[0]), "directory",
                         argc - 1, argv + 1);
}
