/*
 * cmd_directory.c — `offca directory import|list|show`: principal -> SID from AD exports, so that
 * templates with sid_source = "directory" find the SID by the certificate's UPN or DNS SAN.
 */
#include <stdio.h>
#include <string.h>

#include <getopt.h>

#include "ca/cli/cli.h"
#include "ca/directory/directory.h"
#include "ca/common/common.h"

static const char HELP_DIR_IMPORT[] =
    "usage: offca [--json] directory import [--replace] [--dry-run] FILE...\n\n"
    "Import AD exports into the directory, all files in one transaction. Each FILE has its own\n"
    "header and columns and is read by its content:\n"
    "  CSV     Export-Csv of Get-ADComputer / Get-ADUser: columns SamAccountName,\n"
    "          UserPrincipalName, DNSHostName, SID or objectSid (S-1-..., or binary as base64\n"
    "          or hex), any order and case; quoted fields; UTF-8 with or without BOM\n"
    "  csvde   csvde -f FILE output (header starting with DN; X'<hex>' values decoded)\n"
    "  LDIF    ldifde -f FILE output (objectSid:: base64, folded lines, # comments); entries\n"
    "          without sAMAccountName, userPrincipalName and dNSHostName are skipped\n"
    "A principal is matched by any of its names or its SID. By default the exports are merged:\n"
    "every principal they hold replaces the directory's entry for it, the others are kept.\n"
    "--replace: the directory becomes exactly these exports (principals in none are removed).\n"
    "--dry-run: print the same report, write nothing.\n"
    "The report counts added, changed, SID changed, unchanged, kept and removed principals and\n"
    "lists each principal whose SID changed (a re-created account: certificates issued before\n"
    "carry the old SID; 'offca doctor' lists them with the reissue commands).\n"
    "A bad SID, a row without SID or name, one principal or one SID on two rows (in one file\n"
    "or across files, both named as FILE:LINE) refuse the whole import: exit 3, the directory\n"
    "as it was. A progress line is shown on stderr when it is a terminal.\n\n"
    "Examples (PowerShell, then copy the files to the CA):\n"
    "  Get-ADComputer -Filter * -Properties DNSHostName,objectSid |\n"
    "      Select SamAccountName,DNSHostName,objectSid | Export-Csv computers.csv\n"
    "  Get-ADUser -Filter * -Properties UserPrincipalName,objectSid |\n"
    "      Select SamAccountName,UserPrincipalName,objectSid | Export-Csv users.csv\n"
    "  offca directory import --dry-run computers.csv users.csv\n"
    "  offca directory import computers.csv users.csv\n"
    "  ldifde -f computers.ldf -r \"(objectClass=computer)\" -l sAMAccountName,dNSHostName,objectSid\n"
    "  csvde -f users.csv -r \"(objectClass=user)\" -l sAMAccountName,userPrincipalName,objectSid\n"
    "  offca directory import --replace computers.ldf users.csv\n";
static const char HELP_DIR_SHOW[] =
    "usage: offca [--json] directory show NAME\n\n"
    "Look a principal up by sAMAccountName, UPN or DNS host name (case-insensitive).\n\n"
    "Example:\n  offca directory show pc42.contoso.com\n";
static const char HELP_DIR_LIST[] =
    "usage: offca [--json] directory list\n\n"
    "Every principal of the directory, in import order: sAMAccountName, UPN, DNS host name and\n"
    "SID, tab-separated ('-' for none); --json: an array of objects.\n\n"
    "Example:\n  offca directory list | grep -i pc42\n";

static const char *or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

static const char *principal_name(const struct dir_entry *e)
{
    return e->sam && e->sam[0] ? e->sam : e->upn && e->upn[0] ? e->upn : or_dash(e->dns);
}

static void entry_json(const struct dir_entry *e, int first)
{
    json_kv(stdout, first, "sam", e->sam);
    json_kv(stdout, 0, "upn", e->upn);
    json_kv(stdout, 0, "dns", e->dns);
    json_kv(stdout, 0, "sid", e->sid);
}

static void import_counts(char *buf, size_t n, const struct dir_import *im)
{
    snprintf(buf, n, "%zu added, %zu changed, %zu SID changed, %zu unchanged, %zu kept, "
             "%zu removed", im->added, im->changed, im->sid_changed, im->unchanged, im->kept,
             im->removed);
}

static void import_json(const struct dir_import *im, int dry_run)
{
    fputc('{', stdout);
    json_kv(stdout, 1, "mode", im->replace ? "replace" : "merge");
    fprintf(stdout, ",\"dry_run\":%s", dry_run ? "true" : "false");
    json_kv_int(stdout, 0, "files", (long long)im->n_files);
    json_kv_int(stdout, 0, "principals", (long long)im->n_in);
    json_kv_int(stdout, 0, "skipped", (long long)im->skipped);
    json_kv_int(stdout, 0, "added", (long long)im->added);
    json_kv_int(stdout, 0, "changed", (long long)im->changed);
    json_kv_int(stdout, 0, "sid_changed", (long long)im->sid_changed);
    json_kv_int(stdout, 0, "unchanged", (long long)im->unchanged);
    json_kv_int(stdout, 0, "kept", (long long)im->kept);
    json_kv_int(stdout, 0, "removed", (long long)im->removed);
    json_kv_int(stdout, 0, "total", (long long)im->n_final);
    fputs(",\"sid_changes\":[", stdout);
    for (size_t i = 0; i < im->sid_changed; i++) {
        const struct dir_entry *e = &im->in[im->sidch[i].in];
        fputs(i ? ",{" : "{", stdout);
        entry_json(e, 1);
        json_kv(stdout, 0, "old_sid", im->old[im->sidch[i].old].sid);
        json_kv(stdout, 0, "source", e->src);
        json_kv_int(stdout, 0, "line", (long long)e->line);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

static void import_print(const struct app *a, const struct dir_import *im, char **files,
                         int dry_run)
{
    char counts[256], from[64];

    if (a->json) {
        import_json(im, dry_run);
        return;
    }
    import_counts(counts, sizeof(counts), im);
    snprintf(from, sizeof(from), "%zu files", im->n_files);
    printf("%s %zu principals from %s (%s): %s; the directory %s %zu principals\n",
           dry_run ? "dry run, nothing written: would import" : "imported", im->n_in,
           im->n_files == 1 ? files[0] : from, im->replace ? "replace" : "merge", counts, dry_run ? "would hold" : "now holds",
           im->n_final);
    if (im->skipped)
        printf("%zu LDIF entries without a principal name skipped (OUs, containers)\n",
               im->skipped);
    for (size_t i = 0; i < im->sid_changed; i++) {
        const struct dir_entry *e = &im->in[im->sidch[i].in];
        printf("SID changed: %s: %s -> %s (%s:%zu)\n", principal_name(e),
               im->old[im->sidch[i].old].sid, e->sid, e->src, e->line);
    }
    if (im->sid_changed)
        printf("certificates issued before carry the old SID: 'offca doctor' lists them with the "
               "commands to reissue and revoke\n");
}

static void import_step(void *arg, size_t done)
{
    progress_step(arg, done, NULL);
}

/* The write transaction: plan against the directory as it is now, replace, audit, commit. */
static int import_commit(struct app *a, struct dir_import *im, char **files, size_t n_files)
{
    char detail[256], counts[200], object[512] = "";
    struct progress pg;
    struct store_txn *t;
    int rc;

    if ((t = store_txn_begin(a->store, 1)) == NULL)
        return fail_store();
    if ((rc = dir_import_plan(im, t)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    for (size_t i = 0; i < n_files; i++)
        snprintf(object + strlen(object), sizeof(object) - strlen(object), "%s%s", i ? " " : "",
                 files[i]);
    import_counts(counts, sizeof(counts), im);
    snprintf(detail, sizeof(detail), "%s, %zu principals: %s", im->replace ? "replace" : "merge",
             im->n_in, counts);
    progress_begin(&pg, "directory import", im->n_final);
    rc = txn_finish(t, store_dir_replace_step(t, im->final, im->n_final, import_step, &pg) &&
                           store_audit_append(t, "directory.import", object, "ok", detail));
    progress_end(&pg);
    return rc;
}

static int dir_import(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"replace", 0, 0, 'r'}, {"dry-run", 0, 0, 'n'},
                                       {"json", 0, 0, 'j'}, {0, 0, 0, 0}};
    struct dir_import im;
    struct store_txn *t;
    int c, dry_run = 0, rc;

    memset(&im, 0, sizeof(im));
    while ((c = opt_next(argc, argv, "directory import", ":", lo)) != -1) {
        switch (c) {
        case 'r': im.replace = 1; break;
        case 'n': dry_run = 1; break;
        case 'j': a->json = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        report("directory import: needs one or more FILEs (AD exports); see 'offca directory "
               "import --help'");
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0 ||
        (rc = dir_import_read(&im, argv + optind, (size_t)(argc - optind))) != 0)
        goto out;
    if (dry_run) {
        if ((t = store_txn_begin(a->store, 0)) == NULL) {
            rc = fail_store();
            goto out;
        }
        rc = dir_import_plan(&im, t);
        store_txn_abort(t);
    } else {
        rc = import_commit(a, &im, argv + optind, (size_t)(argc - optind));
    }
    if (rc == 0)
        import_print(a, &im, argv + optind, dry_run);
out:
    dir_import_free(&im);
    return rc;
}

static int dir_list(struct app *a, int argc, char **argv)
{
    struct dir_entry *e = NULL;
    struct store_txn *t;
    size_t n = 0;
    int rc;

    if ((rc = args_json(a, argc, argv, "directory list", NULL, NULL)) != 0 ||
        (rc = app_store(a, 0)) != 0)
        return rc;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    rc = store_dir_load(t, &e, &n) ? 0 : fail_store();
    store_txn_abort(t);
    if (rc != 0)
        return rc;
    if (a->json)
        fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        if (a->json) {
            fputs(i ? ",{" : "{", stdout);
            entry_json(&e[i], 1);
            fputc('}', stdout);
        } else {
            printf("%s\t%s\t%s\t%s\n", or_dash(e[i].sam), or_dash(e[i].upn), or_dash(e[i].dns),
                   e[i].sid);
        }
    }
    if (a->json)
        fputs("]\n", stdout);
    store_dir_entries_free(e, n);
    return EXIT_OK;
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
    {"import", dir_import, "merge (or --replace with) AD exports: CSV, csvde, ldifde",
     HELP_DIR_IMPORT},
    {"list", dir_list, "every principal and its SID", HELP_DIR_LIST},
    {"show", dir_show, "look a principal up", HELP_DIR_SHOW},
};

const char HELP_DIRECTORY[] =
    "usage: offca directory import [--replace] [--dry-run] FILE... | list | show NAME\n\n"
    "The directory maps AD principals (sAMAccountName, UPN, DNS host name) to SIDs, for\n"
    "templates with sid_source = \"directory\".\n\nExample:\n"
    "  offca directory import computers.csv users.csv && offca directory show PC42$\n";

int cmd_directory(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, DIR_VERBS, sizeof(DIR_VERBS) / sizeof(DIR_VERBS[0]), "directory",
                         argc - 1, argv + 1);
}
