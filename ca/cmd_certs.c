/*
 * cmd_certs.c — `offca list`, `offca show SERIAL`, `offca export SERIAL`: issued certificates.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>

#include "ca/app.h"
#include "ca/input.h"
#include "ca/issue.h"
#include "ca/json.h"
#include "ca/verb.h"
#include "crl/crl.h"

const char HELP_LIST[] =
    "usage: offca [--json] list [--ca NAME] [--status valid|revoked|expired] [--expiring DAYS]\n\n"
    "List issued certificates: serial, CA, status, expiry, template, subject.\n"
    "  --expiring DAYS   only valid certificates that expire within DAYS days (renewal lists)\n\n"
    "Example:\n  offca list --ca issuing1 --expiring 30\n";
const char HELP_SHOW[] =
    "usage: offca [--json] show SERIAL\n\n"
    "Show one certificate by serial (hex, as 'offca list' prints it; ':' and 0x allowed).\n\n"
    "Example:\n  offca show 4f1c...e2\n";
const char HELP_EXPORT[] =
    "usage: offca export SERIAL [--der] [-o FILE [--force]]\n\n"
    "Write one issued certificate, PEM (default) or DER, to FILE (0644) or stdout. An\n"
    "existing FILE is refused (exit 2) unless --force, which replaces it.\n\n"
    "Example:\n  offca export 4f1c...e2 -o pc42.pem\n";

enum { ST_ANY, ST_VALID, ST_REVOKED, ST_EXPIRED };

struct list_ctx {
    struct app *a;
    int status;
    time_t now, until;
    size_t n;
};

static const char *status_of(const struct cert_rec *r, time_t now)
{
    if (r->status == CERT_REVOKED)
        return "revoked";
    return r->not_after < now ? "expired" : "valid";
}

static int list_one(void *arg, const struct cert_rec *r)
{
    struct list_ctx *lc = arg;
    const char *st = status_of(r, lc->now);
    char hex[2 * MAX_STORE_SERIAL + 1], na[32];

    if ((lc->status == ST_VALID && strcmp(st, "valid")) ||
        (lc->status == ST_REVOKED && strcmp(st, "revoked")) ||
        (lc->status == ST_EXPIRED && strcmp(st, "expired")) ||
        (lc->until && (strcmp(st, "valid") || r->not_after > lc->until)))
        return 1;
    serial_hex(r->serial, r->serial_len, hex);
    time_iso(r->not_after, na);
    if (lc->a->json) {
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

int cmd_list(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"ca", 1, 0, 'c'}, {"status", 1, 0, 's'},
                                       {"expiring", 1, 0, 'e'}, {"json", 0, 0, 'j'},
                                       {0, 0, 0, 0}};
    struct list_ctx lc = {a, ST_ANY, app_now(), 0, 0};
    const char *ca = NULL;
    struct store_txn *t;
    int c, rc, days;

    while ((c = opt_next(argc, argv, "list", ":", lo)) != -1) {
        if (c == 'c') {
            ca = optarg;
        } else if (c == 's') {
            lc.status = !strcmp(optarg, "valid") ? ST_VALID : !strcmp(optarg, "revoked")
                        ? ST_REVOKED : !strcmp(optarg, "expired") ? ST_EXPIRED : -1;
            if (lc.status < 0) {
                report("list --status '%s': one of valid, revoked, expired", optarg);
                return EXIT_USAGE;
            }
        } else if (c == 'e') {
            if ((rc = opt_days("list --expiring", optarg, &days)) != 0)
                return rc;
            lc.until = lc.now + (time_t)days * 86400;
        } else if (c == 'j') {
            a->json = 1;
        } else {
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        report("list: unexpected argument '%s'; see 'offca list --help'", argv[optind]);
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0)
        return rc;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    if (a->json)
        fputc('[', stdout);
    rc = (lc.until ? store_cert_foreach_expiring(t, lc.until, list_one, &lc)
                   : store_cert_foreach(t, ca, list_one, &lc)) ? 0 : fail_store();
    store_txn_abort(t);
    if (a->json)
        fputs("]\n", stdout);
    return rc;
}

/* Find a certificate by serial text (any CA). 0 or exit class. */
int cert_lookup(struct app *a, const char *text, struct cert_rec *r)
{
    unsigned char serial[MAX_STORE_SERIAL];
    struct store_txn *t;
    size_t n;
    int found, rc;

    if (!serial_parse(text, serial, sizeof(serial), &n)) {
        report("serial '%s': not a hex serial number of at most 20 bytes; copy it from "
               "'offca list'", text);
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0)
        return rc;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    found = store_cert_find(t, serial, n, r);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("serial %s: no certificate with this serial in the store; see 'offca list'", text);
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_show(struct app *a, int argc, char **argv)
{
    struct cert_rec r;
    const char *serial;
    char hex[2 * MAX_STORE_SERIAL + 1], nb[32], na[32], ra[32] = "";
    int rc;

    if ((rc = args_json(a, argc, argv, "show", "SERIAL", &serial)) != 0 ||
        (rc = cert_lookup(a, serial, &r)) != 0)
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
        json_kv(stdout, 0, "status", status_of(&r, app_now()));
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
               status_of(&r, app_now()), ra[0] ? " since " : "", ra,
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
    if ((rc = cert_lookup(a, argv[optind], &r)) != 0)
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
