/*
 * cmd_report.c — `offca report`: the full certificate inventory (every certificate of every CA,
 * or of --ca) as CSV or JSON for audits, with the SHA-256 of the export recorded in the audit
 * log; and `offca report --renewals`: the certificates of one template expiring within N days,
 * each with its principal and the exact command that re-issues it.
 *
 * The inventory is read in one write transaction (one consistent snapshot), staged next to -o
 * (flushed), then the audit record "report.export" (sha256=..., the same transaction) commits,
 * and only then is the file moved into place: a failed commit leaves no file, a file in place
 * always has its record.
 */
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hex.h"

#include "ca/cli/cli.h"
#include "ca/common/common.h"
#include "ca/revoke/revoke.h"
#include "ca/issue/issue.h"

const char HELP_REPORT[] =
    "usage: offca report [--format csv|json] [--ca NAME] -o FILE [--force]\n"
    "       offca report --renewals --template NAME --days N [--ca NAME]\n"
    "                    [--format text|csv|json] [-o FILE [--force]]\n\n"
    "The inventory: every certificate in the store (or of CA NAME) with CA, generation, serial,\n"
    "subject, SANs, SID, template, notBefore/notAfter, status and revocation date / reason /\n"
    "invalidity date, as CSV (default; a header row, the columns of 'offca list --csv') or JSON\n"
    "(an array of objects). FILE (mode 0600; '-' for stdout) is written atomically; an existing\n"
    "FILE is refused unless --force. The SHA-256 of the export is recorded in the audit log\n"
    "(report.export, in the same transaction as the read), so an auditor can check the file:\n"
    "sha256sum FILE against 'offca audit list'. Progress on a terminal.\n\n"
    "--renewals lists the valid certificates of template NAME that expire within N days,\n"
    "soonest first, each with its principal (the UPN, else the DNS name, else the subject) and\n"
    "the exact 'offca sign' command that re-issues it (from a new request PRINCIPAL.csr), as\n"
    "text (default), CSV or JSON, on stdout or to FILE. It records nothing.\n\n"
    "Exit codes: 0 written; 2 usage (bad option, missing -o, FILE exists without --force, CA or\n"
    "template unknown); 3 a template that does not load; 4 store or file failure (nothing\n"
    "recorded, no file).\n\n"
    "Example:\n  offca report --format json -o /srv/audit/inventory-2026-12.json\n"
    "  offca report --renewals --template intune-device --days 30\n";

struct rep_opts {
    const char *out, *ca, *tmpl, *format;
    int renewals, force, days, csv, json;
};

static int report_parse(struct rep_opts *o, int argc, char **argv)
{
    static const struct option lo[] = {{"format", 1, 0, 'f'}, {"out", 1, 0, 'o'},
                                       {"force", 0, 0, 'F'}, {"ca", 1, 0, 'c'},
                                       {"renewals", 0, 0, 'r'}, {"template", 1, 0, 't'},
                                       {"days", 1, 0, 'd'}, {0, 0, 0, 0}};
    int c, rc;

    while ((c = opt_next(argc, argv, "report", ":o:", lo)) != -1) {
        if (c == 'f') o->format = optarg;
        else if (c == 'o') o->out = optarg;
        else if (c == 'F') o->force = 1;
        else if (c == 'c') o->ca = optarg;
        else if (c == 'r') o->renewals = 1;
        else if (c == 't') o->tmpl = optarg;
        else if (c == 'd' && (rc = opt_days("report --days", optarg, &o->days)) != 0) return rc;
        else if (c != 'd') return EXIT_USAGE;
    }
    if (optind != argc) {
        report("report: unexpected argument '%s'; see 'offca report --help'", argv[optind]);
        return EXIT_USAGE;
    }
    if (o->format && strcmp(o->format, "csv") && strcmp(o->format, "json") &&
        (!o->renewals || strcmp(o->format, "text"))) {
        report("report --format '%s': one of csv, json%s", o->format,
               o->renewals ? ", text" : "");
        return EXIT_USAGE;
    }
    o->csv = o->format ? !strcmp(o->format, "csv") : !o->renewals;
    o->json = o->format && !strcmp(o->format, "json");
    if (o->renewals && (!o->tmpl || !o->days)) {
        report("report --renewals: needs --template NAME and --days N; see 'offca report --help'");
        return EXIT_USAGE;
    }
    if (!o->renewals && (o->tmpl || o->days)) {
        report("report: --template and --days belong to --renewals; see 'offca report --help'");
        return EXIT_USAGE;
    }
    if (!o->renewals && !o->out) {
        report("report: needs -o FILE (or -o - for stdout); see 'offca report --help'");
        return EXIT_USAGE;
    }
    return o->ca ? ca_name_check(o->ca) : 0;
}

/* An -o FILE that exists is refused before anything is read, unless --force. */
static int out_free(const struct rep_opts *o)
{
    struct stat st;

    if (!o->out || !strcmp(o->out, "-") || o->force || lstat(o->out, &st) != 0)
        return 0;
    report("%s: output: the file exists; remove it, choose another -o, or add --force to "
           "replace it", o->out);
    return EXIT_USAGE;
}

static int ca_known(struct store_txn *t, const char *ca)
{
    struct ca_rec r;
    int got;

    if (ca == NULL)
        return 0;
    if ((got = store_ca_get(t, ca, &r)) < 0)
        return fail_store();
    if (got == 0) {
        report("report --ca %s: CA '%s' is not in the store; see 'offca ca list'", ca, ca);
        return EXIT_USAGE;
    }
    ca_rec_clear(&r);
    return 0;
}

/* ---- the inventory ---- */

struct inv_ctx {
    FILE *f;
    const char *ca;
    int json;
    time_t now;
    size_t n, seen;
    struct progress pg;
};

static int inv_one(void *arg, const struct cert_rec *r)
{
    struct inv_ctx *c = arg;

    progress_step(&c->pg, ++c->seen, NULL);
    if (c->ca && strcmp(c->ca, r->ca))
        return 1;
    if (c->json) {
        fputs(c->n ? ",\n" : "\n", c->f);
        inv_json_row(c->f, r, c->now);
    } else {
        inv_csv_row(c->f, r, c->now);
    }
    c->n++;
    return 1;
}

/* The inventory of t into a new buffer (*buf, *len). 1 ok / 0 (store error or memory). */
static int inv_build(struct store_txn *t, const struct rep_opts *o, char **buf, size_t *len,
                     size_t *count)
{
    struct inv_ctx c = { NULL, o->ca, o->json, ca_now(), 0, 0 };
    int ok;

    if ((c.f = open_memstream(buf, len)) == NULL)
        return 0;
    if (c.json)
        fputc('[', c.f);
    else
        inv_csv_header(c.f);
    progress_begin(&c.pg, "report: certificates", (size_t)store_cert_count(t));
    ok = store_cert_foreach(t, o->ca, inv_one, &c);
    progress_end(&c.pg);
    if (c.json)
        fputs(c.n ? "\n]\n" : "]\n", c.f);
    *count = c.n;
    return (fclose(c.f) == 0) & ok;
}

static void sha256_hex(const char *p, size_t n, char out[65])
{
    unsigned char md[32];

    EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
    hex_encode(md, 32, out);
}

/* Stage (flushed), record, commit, place. t is ended here. */
static int inv_commit(struct store_txn *t, const struct rep_opts *o, const char *buf,
                      size_t len, size_t count)
{
    struct file_staged *st = NULL;
    char hash[65], detail[160];
    int rc, to_stdout = !strcmp(o->out, "-");

    sha256_hex(buf, len, hash);
    if (!to_stdout && (rc = file_stage_flushed(o->out, hash, buf, len, 0600, &st)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    snprintf(detail, sizeof(detail), "sha256=%s format=%s certificates=%zu%s%s", hash,
             o->json ? "json" : "csv", count, o->ca ? " ca=" : "", o->ca ? o->ca : "");
    if ((rc = txn_finish(t, store_audit_append(t, "report.export", o->out, "ok", detail))) != 0) {
        file_staged_free(st);
        return rc;
    }
    if (to_stdout)
        return file_write("-", buf, len, 0600, 0);
    rc = o->force ? file_staged_replace(st) : file_staged_place(st);
    if (rc != 0)
        report("%s: the export is recorded (sha256=%s) but not in place; its content is in %s: "
               "move it there, or run the report again", o->out, hash, file_staged_tmp(st));
    else
        printf("report %s: %zu certificates, %s, SHA-256 %s (recorded in the audit log)\n",
               o->out, count, o->json ? "JSON" : "CSV", hash);
    if (rc != 0)
        file_staged_keep(st);
    else
        file_staged_free(st);
    return rc;
}

static int report_inventory(struct app *a, const struct rep_opts *o)
{
    struct store_txn *t = store_txn_begin(a->store, 1);
    char *buf = NULL;
    size_t len = 0, count = 0;
    int rc;

    if (t == NULL)
        return fail_store();
    if ((rc = ca_known(t, o->ca)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    if (!inv_build(t, o, &buf, &len, &count)) {
        rc = store_error()[0] ? fail_store() : EXIT_SYSTEM;
        if (!store_error()[0])
            report("report: out of memory building the inventory; free memory and retry");
        store_txn_abort(t);
        free(buf);
        return rc;
    }
    rc = inv_commit(t, o, buf, len, count);
    free(buf);
    return rc;
}

int cmd_report(struct app *a, int argc, char **argv)
{
    struct rep_opts o;
    int rc;

    memset(&o, 0, sizeof(o));
    if ((rc = report_parse(&o, argc, argv)) != 0 || (rc = out_free(&o)) != 0 ||
        (rc = app_store(a, 0)) != 0)
        return rc;
    if (o.renewals) {
        if ((rc = app_templates(a)) != 0)
            return rc;
        return renewals_list(a->store, a->tmpls, o.ca, o.tmpl, o.days,
                             o.csv ? RENEW_CSV : o.json ? RENEW_JSON : RENEW_TEXT, o.out,
                             o.force);
    }
    return report_inventory(a, &o);
}
