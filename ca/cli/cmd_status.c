/*
 * cmd_status.c — `offca status [--json] [--expiring-days N] [--prometheus FILE]`: one screen per
 * run for cron mail and monitoring (figures and rules: health.h), and the same figures in the
 * node exporter textfile format, written atomically (temp file in FILE's directory + rename).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/store/store.h"
#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "ca/health/health.h"

#define PROM_FILE_MODE 0644           /* node_exporter runs as another user */

const char HELP_STATUS[] =
    "usage: offca [--json] status [--expiring-days N] [--prometheus FILE]\n\n"
    "One screen for cron mail and monitoring, read in one store transaction. For each CA:\n"
    "state, certificate expiry, the last CRL (number, thisUpdate), its Next CRL Publish and\n"
    "nextUpdate, the imported root CRL horizon (for a CA whose root lives on another machine:\n"
    "the root CRL published here and its nextUpdate, the last one available - pre-signed ones\n"
    "waiting included - and the date the root ceremony is due by, its Next CRL Publish; 'none\n"
    "imported' until 'offca crl import'), and the counts of its issued certificates: valid,\n"
    "expiring (not revoked, expiring within N days), expired, revoked.\n"
    "With delta_period set, the delta CRL's dates too. Then one line per key generation that\n"
    "still publishes (key index k, its state, its newest certificate NAME(i).crt and expiry,\n"
    "its CRL NAME(k).crl: number, thisUpdate, Next CRL Publish, nextUpdate, and the delta's).\n"
    "Errors: a CA certificate expired; an active CA with no CRL published; a CRL (or delta\n"
    "CRL) past nextUpdate; a publish overdue (Next CRL Publish passed over 2 hours ago: the\n"
    "hourly cron job missed two runs); the imported root CRL past nextUpdate. Warnings: a CA\n"
    "certificate expiring within 90 days (as 'offca doctor'); a CRL publish due (Next CRL\n"
    "Publish passed, the next cron run makes it); the root ceremony due within\n"
    "[publish] ceremony_warn_days (default 30).\n"
    "Expiring leaf certificates are counted, never a warning. Retired and pending CAs are\n"
    "listed without CRL checks. Needs no token.\n\n"
    "Options:\n"
    "  --json             print the report as one JSON object (per CA a 'generations' array:\n"
    "                     one object per key generation that still publishes)\n"
    "  --expiring-days N  the window for 'expiring' (1 to 36500; default 30)\n"
    "  --prometheus FILE  also write the figures in the node exporter textfile format to FILE\n"
    "                     (mode 0644, atomically: a temp file in its directory, then rename):\n"
    "                     offca_ca_cert_expiry_seconds{ca}, offca_crl_number{ca},\n"
    "                     offca_crl_this_update_seconds{ca}, offca_crl_next_publish_seconds{ca},\n"
    "                     offca_crl_next_update_seconds{ca}, offca_certificates{ca,state},\n"
    "                     offca_delta_crl_next_update_seconds{ca} (CAs with delta CRLs),\n"
    "                     offca_ca_status{ca} (0 ok, 1 warning, 2 error), offca_status_time_seconds,\n"
    "                     offca_root_crl_horizon_seconds{ca},\n"
    "                     offca_root_crl_ceremony_due_seconds{ca} (CAs with an imported root CRL),\n"
    "                     offca_ca_key_index{ca} (the active key); the CRL gauges and\n"
    "                     offca_ca_cert_expiry_seconds also have one sample {ca,key_index} per\n"
    "                     older key generation that still publishes ({ca}: the active key)\n\n"
    "Exit codes: 0 ok; 1 warnings; 2 errors (also for a usage error); 3 unreadable config;\n"
    "4 store failure, more than 1024 CAs, or FILE not written.\n\n"
    "Examples:\n"
    "  offca status\n"
    "  offca status --prometheus /var/lib/prometheus/node-exporter/offca.prom >/dev/null\n"
    "  offca --json status --expiring-days 14\n";

static void print_time(FILE *f, const char *label, time_t t)
{
    char when[32];

    time_iso(t, when);
    fprintf(f, "%s %s", label, when);
}

/* "active" for the key that signs now, "superseded" for an older one, "retired" for either
 * of a retired CA (the words of `ca show`). */
static const char *gen_state_word(const struct status_ca *c, const struct status_gen *g)
{
    if (c->state == CA_RETIRED)
        return "retired";
    return g->key_index == c->key_index ? "active" : "superseded";
}

/* One line per key generation still publishing: its newest certificate and its CRL. */
static void text_gen(FILE *f, const struct status_ca *c, const struct status_gen *g)
{
    char label[32], crt[MAX_CA_NAME + 16], crl[MAX_CA_NAME + 16], when[32];

    snprintf(label, sizeof(label), "key index %u", g->key_index);
    gen_file(c->name, g->cert_index, "crt", 0, crt, sizeof(crt));
    gen_file(c->name, g->key_index, "crl", 0, crl, sizeof(crl));
    time_iso(g->cert_not_after, when);
    fprintf(f, "  %-13s %s; %s expires %s; ", label, gen_state_word(c, g), crt, when);
    if (g->crl_number == 0) {
        fprintf(f, "%s none published\n", crl);
        return;
    }
    fprintf(f, "%s #%llu, ", crl, (unsigned long long)g->crl_number);
    print_time(f, "thisUpdate", g->crl_this_update);
    print_time(f, ", next publish", g->crl_next_publish);
    print_time(f, ", nextUpdate", g->crl_next_update);
    if (g->delta_next_publish) {
        print_time(f, "; delta thisUpdate", g->delta_this_update);
        print_time(f, ", next publish", g->delta_next_publish);
        print_time(f, ", nextUpdate", g->delta_next_update);
    }
    fputc('\n', f);
}

static void text_ca(FILE *f, const struct status_ca *c, int days)
{
    char when[32];

    fprintf(f, "%s (%s%s): %s\n", c->name, status_ca_state_name(c->state),
            c->is_root ? ", root" : "", status_sev_name(c->sev));
    if (c->has_cert) {
        time_iso(c->cert_not_after, when);
        fprintf(f, "  certificate   expires %s\n", when);
    } else {
        fprintf(f, "  certificate   none yet (pending import)\n");
    }
    if (c->crl_number) {
        fprintf(f, "  CRL           #%llu, ", (unsigned long long)c->crl_number);
        print_time(f, "thisUpdate", c->crl_this_update);
        print_time(f, ", next publish", c->crl_next_publish);
        print_time(f, ", nextUpdate", c->crl_next_update);
        fputc('\n', f);
    } else {
        fprintf(f, "  CRL           none published\n");
    }
    if (c->delta && c->delta_next_publish) {
        print_time(f, "  delta CRL     thisUpdate", c->delta_this_update);
        print_time(f, ", next publish", c->delta_next_publish);
        print_time(f, ", nextUpdate", c->delta_next_update);
        fputc('\n', f);
    }
    for (size_t i = 0; i < c->n_gens; i++)
        text_gen(f, c, &c->gens[i]);
    if (c->root_crl_imported) {
        fprintf(f, "  root CRL      #%llu published", (unsigned long long)c->root_crl_number);
        print_time(f, ", nextUpdate", c->root_crl_next_update);
        fprintf(f, "; last available #%llu (%zu pre-signed waiting)",
                (unsigned long long)c->root_crl_last, c->root_crl_waiting);
        print_time(f, ", ceremony due by", c->root_crl_ceremony_by);
        fputc('\n', f);
    } else {
        fprintf(f, "  root CRL      none imported\n");
    }
    fprintf(f, "  certificates  %llu valid, %llu expiring within %d days, %llu expired, %llu "
            "revoked\n", (unsigned long long)c->n_valid, (unsigned long long)c->n_expiring, days,
            (unsigned long long)c->n_expired, (unsigned long long)c->n_revoked);
    for (size_t i = 0; i < c->n_findings; i++)
        fprintf(f, "  %-13s %s\n", i == 0 ? "findings" : "", c->findings[i]);
}

static void print_text(const struct status_report *r)
{
    char now[32];
    size_t warn = 0, err = 0;

    time_iso(r->now, now);
    printf("offca status at %s: %s\n", now, status_sev_name(r->worst));
    for (size_t i = 0; i < r->n; i++) {
        text_ca(stdout, &r->cas[i], r->expiring_days);
        warn += r->cas[i].sev == STATUS_WARN;
        err += r->cas[i].sev == STATUS_ERROR;
    }
    printf("%zu CA(s): %zu with errors, %zu with warnings\n", r->n, err, warn);
}

static void json_time(FILE *f, const char *key, int have, time_t t)
{
    char when[32];

    time_iso(t, when);
    json_kv(f, 0, key, have ? when : NULL);
}

/* ',"generations":[...]': one object per key generation still publishing. */
static void json_gens(FILE *f, const struct status_ca *c)
{
    char crt[MAX_CA_NAME + 16], crl[MAX_CA_NAME + 16];

    fputs(",\"generations\":[", f);
    for (size_t i = 0; i < c->n_gens; i++) {
        const struct status_gen *g = &c->gens[i];
        int d = g->delta_next_publish != 0, have = g->crl_number != 0;

        gen_file(c->name, g->cert_index, "crt", 0, crt, sizeof(crt));
        gen_file(c->name, g->key_index, "crl", 0, crl, sizeof(crl));
        fputs(i ? ",{" : "{", f);
        json_kv_int(f, 1, "key_index", g->key_index);
        json_kv(f, 0, "state", gen_state_word(c, g));
        json_kv_int(f, 0, "cert_index", g->cert_index);
        json_kv(f, 0, "cert_file", crt);
        json_time(f, "cert_not_after", 1, g->cert_not_after);
        json_kv(f, 0, "crl_file", crl);
        json_kv_int(f, 0, "crl_number", (long long)g->crl_number);
        json_time(f, "crl_this_update", have, g->crl_this_update);
        json_time(f, "crl_next_publish", have, g->crl_next_publish);
        json_time(f, "crl_next_update", have, g->crl_next_update);
        json_time(f, "delta_this_update", d, g->delta_this_update);
        json_time(f, "delta_next_publish", d, g->delta_next_publish);
        json_time(f, "delta_next_update", d, g->delta_next_update);
        fputc('}', f);
    }
    fputc(']', f);
}

static void json_ca(FILE *f, const struct status_ca *c)
{
    json_kv(f, 1, "name", c->name);
    json_kv(f, 0, "state", status_ca_state_name(c->state));
    json_kv_int(f, 0, "root", c->is_root);
    json_time(f, "cert_not_after", c->has_cert, c->cert_not_after);
    json_kv_int(f, 0, "crl_number", (long long)c->crl_number);
    json_time(f, "crl_this_update", c->crl_number != 0, c->crl_this_update);
    json_time(f, "crl_next_publish", c->crl_number != 0, c->crl_next_publish);
    json_time(f, "crl_next_update", c->crl_number != 0, c->crl_next_update);
    json_time(f, "delta_next_publish", c->delta && c->delta_next_publish, c->delta_next_publish);
    json_time(f, "delta_next_update", c->delta && c->delta_next_publish, c->delta_next_update);
    json_time(f, "root_crl_horizon", c->root_crl_imported, c->root_crl_horizon);
    json_kv_int(f, 0, "root_crl_number", (long long)c->root_crl_number);
    json_time(f, "root_crl_next_update", c->root_crl_number != 0, c->root_crl_next_update);
    json_kv_int(f, 0, "root_crl_last", (long long)c->root_crl_last);
    json_kv_int(f, 0, "root_crl_waiting", (long long)c->root_crl_waiting);
    json_time(f, "root_crl_ceremony_by", c->root_crl_imported, c->root_crl_ceremony_by);
    json_kv_int(f, 0, "key_index", c->key_index);
    json_gens(f, c);
    fputs(",\"certificates\":{", f);
    json_kv_int(f, 1, "valid", (long long)c->n_valid);
    json_kv_int(f, 0, "expiring", (long long)c->n_expiring);
    json_kv_int(f, 0, "expired", (long long)c->n_expired);
    json_kv_int(f, 0, "revoked", (long long)c->n_revoked);
    fputc('}', f);
    json_kv(f, 0, "status", status_sev_name(c->sev));
    fputs(",\"findings\":[", f);
    for (size_t i = 0; i < c->n_findings; i++) {
        if (i)
            fputc(',', f);
        json_str(f, c->findings[i]);
    }
    fputc(']', f);
}

static void print_json(const struct status_report *r)
{
    char now[32];

    time_iso(r->now, now);
    fputc('{', stdout);
    json_kv(stdout, 1, "time", now);
    json_kv_int(stdout, 0, "expiring_days", r->expiring_days);
    json_kv(stdout, 0, "status", status_sev_name(r->worst));
    fputs(",\"cas\":[", stdout);
    for (size_t i = 0; i < r->n; i++) {
        fputs(i ? ",{" : "{", stdout);
        json_ca(stdout, &r->cas[i]);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

struct metric {
    const char *name, *help;
};

static void prom_head(FILE *f, const struct metric *m)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", m->name, m->help, m->name);
}

/* The per-generation figure a gauge also has for the older key generations (GF_NONE: the
 * gauge is per CA only). */
enum gen_field { GF_NONE, GF_EXPIRY, GF_CRL_NO, GF_THIS, GF_PUB, GF_NEXT, GF_DNEXT };

/* Generation g's value of field; 0 when it has none (no CRL, no delta). */
static int gen_value(const struct status_gen *g, enum gen_field field, long long *v)
{
    switch (field) {
    case GF_EXPIRY: *v = (long long)g->cert_not_after; return 1;
    case GF_CRL_NO: *v = (long long)g->crl_number; break;
    case GF_THIS: *v = (long long)g->crl_this_update; break;
    case GF_PUB: *v = (long long)g->crl_next_publish; break;
    case GF_NEXT: *v = (long long)g->crl_next_update; break;
    case GF_DNEXT: *v = (long long)g->delta_next_update; return g->delta_next_publish != 0;
    default: return 0;
    }
    return g->crl_number != 0;
}

/* One gauge per CA (its active key's figure); want(c) says whether the CA has the figure, get(c)
 * gives it. Then, for field, one sample {ca,key_index} per older key generation still
 * publishing: the active key's series stays what it was before generations. */
static void prom_gauge(FILE *f, const struct status_report *r, const struct metric *m,
                       int (*want)(const struct status_ca *), long long (*get)(const struct status_ca *),
                       enum gen_field field)
{
    long long v;

    prom_head(f, m);
    for (size_t i = 0; i < r->n; i++)
        if (want(&r->cas[i]))
            fprintf(f, "%s{ca=\"%s\"} %lld\n", m->name, r->cas[i].name, get(&r->cas[i]));
    for (size_t i = 0; field != GF_NONE && i < r->n; i++) {
        const struct status_ca *c = &r->cas[i];
        for (size_t j = 0; j < c->n_gens; j++)
            if (c->gens[j].key_index != c->key_index && gen_value(&c->gens[j], field, &v))
                fprintf(f, "%s{ca=\"%s\",key_index=\"%u\"} %lld\n", m->name, c->name,
                        c->gens[j].key_index, v);
    }
}

static int has_cert(const struct status_ca *c) { return c->has_cert; }
static int has_crl(const struct status_ca *c) { return c->crl_number != 0; }
static int always(const struct status_ca *c) { return c != NULL; }
static int has_delta(const struct status_ca *c) { return c->delta && c->delta_next_publish; }
static int has_gen(const struct status_ca *c) { return c->n_gens != 0; }
static long long g_dnext(const struct status_ca *c) { return (long long)c->delta_next_update; }
static long long g_expiry(const struct status_ca *c) { return (long long)c->cert_not_after; }
static long long g_crl_no(const struct status_ca *c) { return (long long)c->crl_number; }
static long long g_this(const struct status_ca *c) { return (long long)c->crl_this_update; }
static long long g_pub(const struct status_ca *c) { return (long long)c->crl_next_publish; }
static long long g_next(const struct status_ca *c) { return (long long)c->crl_next_update; }
static long long g_sev(const struct status_ca *c) { return (long long)c->sev; }
static long long g_key(const struct status_ca *c) { return (long long)c->key_index; }
static int has_root(const struct status_ca *c) { return c->root_crl_imported; }
static long long g_rhorizon(const struct status_ca *c) { return (long long)c->root_crl_horizon; }
static long long g_rby(const struct status_ca *c) { return (long long)c->root_crl_ceremony_by; }

static void prom_certs(FILE *f, const struct status_report *r)
{
    static const struct metric m = {"offca_certificates",
        "Certificates issued by the CA, by state (valid, expiring, expired, revoked)."};

    prom_head(f, &m);
    for (size_t i = 0; i < r->n; i++) {
        const struct status_ca *c = &r->cas[i];
        const unsigned long long v[4] = {c->n_valid, c->n_expiring, c->n_expired, c->n_revoked};
        static const char *const st[4] = {"valid", "expiring", "expired", "revoked"};
        for (int k = 0; k < 4; k++)
            fprintf(f, "%s{ca=\"%s\",state=\"%s\"} %llu\n", m.name, c->name, st[k], v[k]);
    }
}

/* The whole textfile (CA names are [A-Za-z0-9_-]: nothing in a label needs escaping). The CRL
 * and certificate expiry gauges: {ca} is the active key's, {ca,key_index} an older key's. */
static void prom_text(FILE *f, const struct status_report *r)
{
    static const struct metric ms[] = {
        {"offca_ca_cert_expiry_seconds", "Unix time at which the CA certificate expires. With "
         "key_index: the newest certificate of that older key generation."},
        {"offca_crl_number", "CRL number of the last CRL the CA published (its active key's)."
         " With key_index: that older key generation's."},
        {"offca_crl_this_update_seconds", "thisUpdate of the CA's last published CRL (Unix time)."
         " With key_index: that older key generation's."},
        {"offca_crl_next_publish_seconds", "Next CRL Publish of the CA's last CRL (Unix time)."
         " With key_index: that older key generation's."},
        {"offca_crl_next_update_seconds", "nextUpdate of the CA's last published CRL (Unix time)."
         " With key_index: that older key generation's."},
        {"offca_ca_status", "offca status of the CA: 0 ok, 1 warning, 2 error."},
        {"offca_delta_crl_next_update_seconds",
         "nextUpdate of the CA's last delta CRL (Unix time), for CAs with delta_period."
         " With key_index: that older key generation's."},
        {"offca_status_time_seconds", "Unix time at which offca status ran."},
        {"offca_root_crl_horizon_seconds", "nextUpdate of the last root CRL available to the "
         "CA (imported from an offline parent, published or pre-signed waiting; Unix time)."},
        {"offca_root_crl_ceremony_due_seconds", "When the root ceremony is due: the last root "
         "CRL's Next CRL Publish (Unix time)."},
        {"offca_ca_key_index", "Key index of the CA's active key (its CRL is NAME(k).crl); the "
         "samples with a key_index label are the older key generations still publishing."},
    };

    prom_gauge(f, r, &ms[0], has_cert, g_expiry, GF_EXPIRY);
    prom_gauge(f, r, &ms[1], has_crl, g_crl_no, GF_CRL_NO);
    prom_gauge(f, r, &ms[2], has_crl, g_this, GF_THIS);
    prom_gauge(f, r, &ms[3], has_crl, g_pub, GF_PUB);
    prom_gauge(f, r, &ms[4], has_crl, g_next, GF_NEXT);
    prom_certs(f, r);
    prom_gauge(f, r, &ms[5], always, g_sev, GF_NONE);
    prom_gauge(f, r, &ms[6], has_delta, g_dnext, GF_DNEXT);
    prom_gauge(f, r, &ms[8], has_root, g_rhorizon, GF_NONE);
    prom_gauge(f, r, &ms[9], has_root, g_rby, GF_NONE);
    prom_gauge(f, r, &ms[10], has_gen, g_key, GF_NONE);
    prom_head(f, &ms[7]);
    fprintf(f, "%s %lld\n", ms[7].name, (long long)r->now);
}

static int prom_write(const char *path, const struct status_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc;

    if (f == NULL) {
        report("status: %s: out of memory; free memory and retry", path);
        return EXIT_SYSTEM;
    }
    prom_text(f, r);
    if (fclose(f) != 0) {
        free(buf);
        report("status: %s: out of memory; free memory and retry", path);
        return EXIT_SYSTEM;
    }
    rc = file_write(path, buf, len, PROM_FILE_MODE, 1);
    free(buf);
    return rc == 0 ? 0 : EXIT_SYSTEM;
}

static int parse_days(const char *text, int *days)
{
    char *end;
    long v = strtol(text, &end, 10);

    if (*text == '\0' || *end != '\0' || v < 1 || v > 36500) {
        report("status: --expiring-days '%s': not a whole number of days from 1 to 36500; give "
               "e.g. --expiring-days 30", text);
        return EXIT_USAGE;
    }
    *days = (int)v;
    return 0;
}

/* `offca status`: options, gather, print, exit with the worst finding (0/1/2). */
int cmd_status(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"json", 0, 0, 'j'}, {"prometheus", 1, 0, 'p'},
                                       {"expiring-days", 1, 0, 'e'}, {0, 0, 0, 0}};
    struct status_report r;
    const char *prom = NULL;
    int c, rc, days = STATUS_EXPIRING_DAYS, got;

    while ((c = opt_next(argc, argv, "status", ":", lo)) != -1) {
        switch (c) {
        case 'j': a->json = 1; break;
        case 'p': prom = optarg; break;
        case 'e': if (parse_days(optarg, &days) != 0) return EXIT_USAGE; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        report("status: unexpected argument '%s'; see 'offca status --help'", argv[optind]);
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0)
        return rc;
    if ((got = status_gather(a->store, a->cfg, ca_now(), days, &r)) != 1) {
        if (got < 0)
            report("status: more than %d CAs in the store; status reports at most that many",
                   MAX_STATUS_CAS);
        status_report_free(&r);
        return got < 0 ? EXIT_SYSTEM : fail_store();
    }
    if (prom && (rc = prom_write(prom, &r)) != 0) {
        status_report_free(&r);
        return rc;
    }
    if (a->json)
        print_json(&r);
    else
        print_text(&r);
    rc = (int)r.worst;
    status_report_free(&r);
    return rc;
}
