/*
 * cmd_certs.c — `offca list`, `offca show SERIAL`, `offca export SERIAL`: issued certificates.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>

#include "ca/cli/cli.h"
#include "ca/common/common.h"
#include "ca/revoke/revoke.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"

const char HELP_LIST[] =
    "usage: offca [--json] list [--ca NAME] [--status valid|revoked|expired] [--expiring DAYS]\n"
    "                   [--template NAME] [--sid SID] [--san VALUE] [--sort ca|expiry] [--csv]\n\n"
    "List issued certificates: serial, CA, status, expiry, template, subject.\n"
    "  --ca NAME         only certificates issued by CA NAME\n"
    "  --status S        only valid, revoked or expired ones\n"
    "  --expiring DAYS   only valid certificates that expire within DAYS days (renewal lists;\n"
    "                    any CA, or the one of --ca)\n"
    "  --template NAME   only certificates issued under template NAME\n"
    "  --sid SID         only certificates carrying SID (S-1-5-21-...)\n"
    "  --san VALUE       only certificates with this SAN: \"dns:pc42.contoso.com\" (type and\n"
    "                    value) or \"pc42.contoso.com\" (the value, any type); case-insensitive\n"
    "  --sort ca|expiry  ca (the default): by CA name, then serial; expiry: by notAfter, soonest\n"
    "                    first. --expiring sorts by expiry unless --sort ca is given.\n"
    "  --csv             CSV with a header row, the columns of 'offca report' (ca, generation,\n"
    "                    serial, subject, sans, sid, template, not_before, not_after, status,\n"
    "                    revoked_at, reason, invalidity_date)\n\n"
    "Exit codes: 0 listed (also when nothing matches); 2 usage (bad option or value, CA NAME not\n"
    "in the store); 4 store failure.\n\n"
    "Example:\n  offca list --ca issuing1 --expiring 30\n"
    "  offca list --template intune-device --sort expiry --csv >devices.csv\n";
const char HELP_SHOW[] =
    "usage: offca [--json] show SERIAL\n\n"
    "Show one certificate by serial (hex, as 'offca list' prints it; ':' and 0x allowed).\n\n"
    "Example:\n  offca show 4f1c...e2\n";
const char HELP_EXPORT[] =
    "usage: offca export SERIAL [--der] [-o FILE [--force]]\n\n"
    "Write one issued certificate, PEM (default) or DER, to FILE (0644) or stdout. An\n"
    "existing FILE is refused (exit 2) unless --force, which replaces it.\n\n"
    "Example:\n  offca export 4f1c...e2 -o pc42.pem\n";

struct list_ctx {
    struct app *a;
    struct inv_filter f;
    int csv;
    size_t n;
};

static int list_one(void *arg, const struct cert_rec *r)
{
    struct list_ctx *lc = arg;
    const char *st = inv_status_name(r, lc->f.now);
    char hex[2 * MAX_STORE_SERIAL + 1], na[32];

    if (!inv_match(&lc->f, r))
        return 1;
    serial_hex(r->serial, r->serial_len, hex);
    time_iso(r->not_after, na);
    if (lc->csv) {
        inv_csv_row(stdout, r, lc->f.now);
    } else if (lc->a->json) {
        fputs(lc->n ? ",{" : "{", stdout);
        json_kv(stdout, 1, "serial", hex);
        json_kv(stdout, 0, "ca", r->ca);
        json_kv(stdout, 0, "status", st);
        json_kv(stdout, 0, "not_after", na);
        json_kv(stdout, 0, "template", r->template_name);
        json_kv(stdout, 0, "subject", r->subject);
        json_kv(stdout, 0, "sid", r->sid);
        fputc('}', stdout);
    } else {
        printf("%s  %-12s %-8s %s  %-22s %s\n", hex, r->ca, st, na, r->template_name, r->subject);
    }
    lc->n++;
    return 1;
}

/* --status, --sort, --sid, --template, --san values. 0 or EXIT_USAGE (reported). */
static int list_value(struct list_ctx *lc, int c, const char *v, int *sort)
{
    if (c == 's') {
        lc->f.status = !strcmp(v, "valid") ? INV_VALID : !strcmp(v, "revoked") ? INV_REVOKED
                     : !strcmp(v, "expired") ? INV_EXPIRED : INV_ANY;
        if (lc->f.status == INV_ANY) {
            report("list --status '%s': one of valid, revoked, expired", v);
            return EXIT_USAGE;
        }
    } else if (c == 'o') {
        if ((*sort = !strcmp(v, "ca") ? 1 : !strcmp(v, "expiry") ? 2 : 0) == 0) {
            report("list --sort '%s': one of ca (CA name, then serial) or expiry (soonest "
                   "first)", v);
            return EXIT_USAGE;
        }
    } else if (c == 'd' && !sid_check(v)) {
        report("list --sid '%s': %s", v, tmpl_error());
        return EXIT_USAGE;
    } else if (v[0] == '\0') {
        report("list --%s: empty; give a value", c == 't' ? "template" : "san");
        return EXIT_USAGE;
    }
    if (c == 'd')
        lc->f.sid = v;
    else if (c == 't')
        lc->f.template_name = v;
    else if (c == 'a')
        lc->f.san = v;
    return 0;
}

static int list_parse(struct app *a, struct list_ctx *lc, int argc, char **argv, int *sort)
{
    static const struct option lo[] = {{"ca", 1, 0, 'c'}, {"status", 1, 0, 's'},
                                       {"expiring", 1, 0, 'e'}, {"json", 0, 0, 'j'},
                                       {"template", 1, 0, 't'}, {"sid", 1, 0, 'd'},
                                       {"san", 1, 0, 'a'}, {"sort", 1, 0, 'o'},
                                       {"csv", 0, 0, 'v'}, {0, 0, 0, 0}};
    int c, rc, days;

    while ((c = opt_next(argc, argv, "list", ":", lo)) != -1) {
        if (c == 'c') {
            if ((rc = ca_name_check(optarg)) != 0)
                return rc;
            lc->f.ca = optarg;
        } else if (c == 'e') {
            if ((rc = opt_days("list --expiring", optarg, &days)) != 0)
                return rc;
            lc->f.until = lc->f.now + (time_t)days * 86400;
        } else if (c == 'j') {
            a->json = 1;
        } else if (c == 'v') {
            lc->csv = 1;
        } else if (c == '?' || (rc = list_value(lc, c, optarg, sort)) != 0) {
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        report("list: unexpected argument '%s'; see 'offca list --help'", argv[optind]);
        return EXIT_USAGE;
    }
    if (lc->csv && a->json) {
        report("list: --csv and --json: choose one output format");
        return EXIT_USAGE;
    }
    return 0;
}

/* --ca NAME must name a CA in the store (0, or the exit class reported). */
static int list_ca_known(struct store_txn *t, const char *ca)
{
    struct ca_rec r;
    int got = store_ca_get(t, ca, &r);

    if (got < 0)
        return fail_store();
    if (got == 0) {
        report("list --ca %s: CA '%s' is not in the store; see 'offca ca list'", ca, ca);
        return EXIT_USAGE;
    }
    ca_rec_clear(&r);
    return 0;
}

int cmd_list(struct app *a, int argc, char **argv)
{
    struct list_ctx lc;
    struct store_txn *t;
    int rc, sort = 0, by_expiry;

    memset(&lc, 0, sizeof(lc));
    lc.a = a;
    lc.f.now = ca_now();
    if ((rc = list_parse(a, &lc, argc, argv, &sort)) != 0 || (rc = app_store(a, 0)) != 0)
        return rc;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    if (lc.f.ca && (rc = list_ca_known(t, lc.f.ca)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    by_expiry = sort == 2 || (sort == 0 && lc.f.until);
    if (lc.csv)
        inv_csv_header(stdout);
    else if (a->json)
        fputc('[', stdout);
    rc = (by_expiry ? store_cert_foreach_expiring(t, lc.f.until ? lc.f.until : (time_t)INT64_MAX,
                                                  list_one, &lc)
                    : store_cert_foreach(t, lc.f.ca, list_one, &lc)) ? 0 : fail_store();
    store_txn_abort(t);
    if (a->json && !lc.csv)
        fputs("]\n", stdout);
    return rc;
}

int cmd_show(struct app *a, int argc, char **argv)
{
    struct cert_rec r;
    const char *serial;
    char hex[2 * MAX_STORE_SERIAL + 1], nb[32], na[32], ra[32] = "";
    int rc;

    if ((rc = args_json(a, argc, argv, "show", "SERIAL", &serial)) != 0 ||
        (rc = app_store(a, 0)) != 0 || (rc = cert_lookup(a->store, serial, &r)) != 0)
        return rc;
    serial_hex(r.serial, r.serial_len, hex);
    time_iso(r.not_before, nb);
    time_iso(r.not_after, na);
    if (r.status == CERT_REVOKED)
        time_iso(r.revoked_at, ra);
    if (a->json) {
        fputc('{', stdout);
        json_kv(stdout, 1, "serial", hex);
        json_kv(stdout, 0, "ca", r.ca);
        json_kv(stdout, 0, "status", inv_status_name(&r, ca_now()));
        json_kv(stdout, 0, "template", r.template_name);
        json_kv(stdout, 0, "subject", r.subject);
        json_kv(stdout, 0, "sans", r.sans);
        json_kv(stdout, 0, "sid", r.sid);
        json_kv(stdout, 0, "not_before", nb);
        json_kv(stdout, 0, "not_after", na);
        json_kv(stdout, 0, "revoked_at", r.status == CERT_REVOKED ? ra : NULL);
        json_kv(stdout, 0, "reason", r.status == CERT_REVOKED && r.reason >= 0
                                         ? crl_reason_name(r.reason) : NULL);
        fputs("}\n", stdout);
    } else {
        printf("serial:    %s\nCA:        %s\nstatus:    %s%s%s%s\ntemplate:  %s\n"
               "subject:   %s\nSAN:       %s\nSID:       %s\nvalid:     %s .. %s\n", hex, r.ca,
               inv_status_name(&r, ca_now()), ra[0] ? " since " : "", ra,
               r.status == CERT_REVOKED && r.reason >= 0 ? crl_reason_name(r.reason) : "",
               r.template_name, r.subject, r.sans, r.sid ? r.sid : "(none)", nb, na);
    }
    cert_rec_clear(&r);
    return EXIT_OK;
}

int cmd_export(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"der", 0, 0, 'd'}, {"out", 1, 0, 'o'},
                                       {"force", 0, 0, 'f'}, {0, 0, 0, 0}};
    const char *out = "-";
    struct cert_rec r;
    X509 *x = NULL;
    BIO *b = NULL;
    char *pem;
    long len;
    int c, der = 0, force = 0, rc;

    while ((c = opt_next(argc, argv, "export", ":o:", lo)) != -1) {
        if (c == 'd')
            der = 1;
        else if (c == 'f')
            force = 1;
        else if (c == 'o')
            out = optarg;
        else
            return EXIT_USAGE;
    }
    if (optind + 1 != argc) {
        report("export: needs SERIAL; see 'offca export --help'");
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0 || (rc = cert_lookup(a->store, argv[optind], &r)) != 0)
        return rc;
    if (r.der_len == 0) {
        report("serial %s: no certificate stored: it was adopted from a legacy CA's database "
               "that kept only its serial and dates; export it from the old CA", argv[optind]);
        cert_rec_clear(&r);
        return EXIT_POLICY;
    }
    if (der) {
        rc = file_write(out, r.der, r.der_len, 0644, force);
    } else if ((x = der_to_x509(r.der, r.der_len)) == NULL ||
               (b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x)) {
        report("serial %s: the stored certificate does not encode; run 'offca audit verify'",
               argv[optind]);
        rc = EXIT_SYSTEM;
    } else {
        len = BIO_get_mem_data(b, &pem);
        rc = file_write(out, pem, (size_t)len, 0644, force);
    }
    BIO_free(b);
    X509_free(x);
    cert_rec_clear(&r);
    return rc;
}
