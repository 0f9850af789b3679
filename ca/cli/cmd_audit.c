/*
 * cmd_audit.c — `offca audit list|verify`: the hash-chained record of every state change.
 */
#include <stdio.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/health/health.h"
#include "ca/issue/issue.h"
#include "ca/common/common.h"

static const char HELP_AUDIT_LIST[] =
    "usage: offca [--json] audit list\n\n"
    "Print every audit record: sequence, time, user, action, object, result, detail. The\n"
    "sequence only grows; a record stamped earlier than one before it (the clock went back)\n"
    "is flagged \"[clock went back N s ...]\" (JSON: \"clock_back\": true).\n\n"
    "Example:\n  offca audit list --json\n";
static const char HELP_AUDIT_VERIFY[] =
    "usage: offca audit verify\n\n"
    "Walk the hash chain (each record carries the SHA-256 of the one before it) and name the\n"
    "first record that was altered, removed or reordered; then check the store holds what the\n"
    "records say exists: every issued certificate and CA, every revocation (marked on the\n"
    "certificate and in the revoked database the CRL is built from), each CA's CRL number.\n"
    "Each thing missing is named (serial or CA). Exit 0 intact, 4 broken or missing.\n\n"
    "Example:\n  offca audit verify\n";

struct audit_ctx {
    int json;
    size_t n;
    time_t prev;                       /* the time of the record before */
    uint64_t prev_seq;
};

static int print_rec(void *arg, const struct audit_rec *r)
{
    struct audit_ctx *c = arg;
    char when[32], back[96] = "";
    long long stepped = c->n > 0 && r->when < c->prev ? (long long)(c->prev - r->when) : 0;

    time_iso(r->when, when);
    if (stepped)
        snprintf(back, sizeof(back), "  [clock went back %lld s since record %llu]", stepped,
                 (unsigned long long)c->prev_seq);
    c->prev = r->when;
    c->prev_seq = r->seq;
    if (c->json) {
        fputs(c->n ? ",{" : "{", stdout);
        json_kv_int(stdout, 1, "seq", (long long)r->seq);
        json_kv(stdout, 0, "time", when);
        json_kv(stdout, 0, "user", r->user);
        json_kv(stdout, 0, "action", r->action);
        json_kv(stdout, 0, "object", r->object);
        json_kv(stdout, 0, "result", r->result);
        json_kv(stdout, 0, "detail", r->detail);
        if (stepped) {
            fputs(",\"clock_back\":true", stdout);
            json_kv_int(stdout, 0, "clock_back_seconds", stepped);
        }
        fputc('}', stdout);
    } else {
        printf("%6llu %s %-10s %-18s %s %s %s%s\n", (unsigned long long)r->seq, when, r->user,
               r->action, r->object, r->result, r->detail, back);
    }
    c->n++;
    return 1;
}

static int audit_list(struct app *a, int argc, char **argv)
{
    struct audit_ctx c = {a->json, 0, 0, 0};
    struct store_txn *t;
    int rc;

    if ((rc = args_json(a, argc, argv, "audit list", NULL, NULL)) != 0 ||
        (rc = app_store(a, 0)) != 0)
        return rc;
    c.json = a->json;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    if (c.json)
        fputc('[', stdout);
    rc = store_audit_foreach(t, print_rec, &c) ? 0 : fail_store();
    store_txn_abort(t);
    if (c.json)
        fputs("]\n", stdout);
    return rc;
}

static int audit_verify(struct app *a, int argc, char **argv)
{
    struct store_txn *t;
    size_t checked = 0;
    int rc, problems;

    if (argc != 1) {
        report("audit verify: takes no arguments");
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0)
        return rc;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    if (!store_audit_verify(t)) {
        rc = fail_store();
    } else {
        printf("audit chain intact\n");
        if ((problems = audit_check_store(t, &checked)) != 0) {
            if (problems > 0)
                report("store %s: %d thing(s) the audit log records are missing from the store: "
                       "it is damaged; restore it from a backup (and do not publish a CRL from "
                       "it)", store_get0_path(a->store), problems);
            rc = EXIT_SYSTEM;
        } else {
            printf("store holds everything the audit log records (%zu checked)\n", checked);
        }
    }
    store_txn_abort(t);
    return rc;
}

static const struct verb AUDIT_VERBS[] = {
    {"list", audit_list, "print the audit records", HELP_AUDIT_LIST},
    {"verify", audit_verify, "check the hash chain", HELP_AUDIT_VERIFY},
};

const char HELP_AUDIT[] =
    "usage: offca audit list [--json] | verify\n\n"
    "Every state change (key generated, CA created, certificate issued, directory imported,\n"
    "revocation, CRL published) appends a record carrying the SHA-256 of the one before.\n\n"
    "Example:\n  offca audit verify\n";

int cmd_audit(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, AUDIT_VERBS, sizeof(AUDIT_VERBS) / sizeof(AUDIT_VERBS[0]), "audit",
                         argc - 1, argv + 1);
}
