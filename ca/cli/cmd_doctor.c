/*
 * cmd_doctor.c — `offca doctor`: offca's own CAs checked the way Windows NPS will judge them
 * (CDP/AIA present, the CRL behind each CDP published, verifying, fresh), plus key and expiry
 * checks; or `--chain FILE` for any chain, with CRLs from a directory or fetched over HTTP.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/oids.h"
#include "ca/cli/cli.h"
#include "ca/health/health.h"
#include "ca/store/store.h"
#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "ca/publish/publish.h"
#include "crl/crl.h"

#define MAX_CHAIN 16

const char HELP_DOCTOR[] =
    "usage: offca [--json] doctor [--ca NAME]\n"
    "       offca [--json] doctor --chain FILE [--crl-dir DIR | --fetch] [--timeout S]\n\n"
    "Without --chain: check offca's own CAs: every non-root CA certificate carries an HTTP CDP\n"
    "and AIA; the CRL behind each CDP is published in [publish] dir, verifies, and is not past\n"
    "Next CRL Publish or nextUpdate; each CA's own CRL files, for every key generation that\n"
    "still publishes (NAME.crl, NAME(k).crl, retired CAs too), exist, are signed by that key,\n"
    "and have no thisUpdate in the future (a fast clock: relying parties refuse them); every\n"
    "such key is reachable; the active CA certificate near expiry ([ca.NAME] renew_warning:\n"
    "default 90 days for an issuing CA, 2 years for a root), with the 'offca ca renew'\n"
    "command; new certificates the CA certificate's end would cut short; CA keys that became\n"
    "extractable; valid certificates whose SID is not the directory's SID for their UPN or DNS\n"
    "name any more (a re-created account: the fix gives the sign command that reissues and the\n"
    "revoke command). Fixes name CAs as --ca NAME.\n"
    "For a CA whose root lives on another machine ('crl import'): a warning [publish]\n"
    "ceremony_warn_days (default 30) before the last root CRL here (published or pre-signed\n"
    "and waiting) reaches its Next CRL Publish, naming the date by which the root ceremony\n"
    "must happen; an error once the published root CRL is past nextUpdate.\n"
    "With --chain FILE (PEM, leaf first, up to the root; any CA's, e.g. a Cloud PKI chain):\n"
    "check it as NPS does: each non-root certificate has an HTTP CDP and AIA, the CRL behind it\n"
    "is present (--crl-dir: file named as the URL's last segment; --fetch: downloaded with a\n"
    "timeout and a size cap), signed by the issuer, issuer has cRLSign, fresh, IDP matching\n"
    "the CDP, the leaf not revoked, EKU fit for client authentication, SID well-formed for AD\n"
    "logon certificates.\n"
    "Each finding: severity, certificate, rule, problem, what to do.\n"
    "A CA key that cannot be reached (module, token, PIN, key object) is an ERROR finding.\n"
    "Exit codes: 0 no errors; 1 errors found; 2 usage; 3 unreadable chain; 4 store/HSM (a CA\n"
    "key unreachable: the report is printed first).\n\n"
    "Examples:\n  offca doctor\n  offca doctor --chain client-chain.pem --fetch\n";

static const char *sev_name(enum doctor_sev s)
{
    static const char *n[] = {"ok", "info", "warning", "ERROR"};
    return n[s];
}

static void print_report(struct app *a, const struct doctor_report *r)
{
    if (a->json)
        fputc('[', stdout);
    for (size_t i = 0; i < r->n; i++) {
        const struct doctor_finding *f = &r->f[i];
        if (a->json) {
            fputs(i ? ",{" : "{", stdout);
            json_kv(stdout, 1, "severity", sev_name(f->sev));
            json_kv(stdout, 0, "certificate", f->cert);
            json_kv(stdout, 0, "rule", f->rule);
            json_kv(stdout, 0, "problem", f->problem);
            json_kv(stdout, 0, "fix", f->fix);
            fputc('}', stdout);
        } else {
            printf("%-7s %s: %s: %s%s%s\n", sev_name(f->sev), f->cert, f->rule, f->problem,
                   f->fix[0] ? "; " : "", f->fix);
        }
    }
    if (a->json)
        fputs("]\n", stdout);
    else
        printf("%zu error(s), %zu warning(s)\n", doctor_report_count(r, DOCTOR_ERROR),
               doctor_report_count(r, DOCTOR_WARN));
}

static int doctor_chain_file(struct app *a, const char *file, struct doctor_source *src,
                             struct doctor_report *rep)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    unsigned char *data = NULL;
    size_t len = 0;
    BIO *b = NULL;
    X509 *x;
    int rc;

    if ((rc = file_load(file, MAX_INPUT_BYTES, &data, &len)) != 0)
        goto out;
    if ((b = BIO_new_mem_buf(data, (int)len)) != NULL)
        while (sk_X509_num(chain) < MAX_CHAIN && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
            sk_X509_push(chain, x);
    if (sk_X509_num(chain) == 0) {
        report("%s: no PEM certificates found; give the chain as PEM, leaf first", file);
        rc = EXIT_INPUT;
        goto out;
    }
    rc = doctor_check_chain(chain, src, rep) ? 0 : fail_crl();
out:
    BIO_free(b);
    free(data);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

/* The chain of an offca CA from the store: the CA, its parents (each parent's generation that
 * issued the certificate below it), an imported CA's chain. */
static int ca_chain(struct app *a, const char *name, STACK_OF(X509) *chain)
{
    struct store_txn *t = store_txn_begin(a->store, 0);
    char cur[MAX_CA_NAME + 1];
    struct ca_rec r;
    int depth = 0, found = 1;

    if (t == NULL)
        return fail_store();
    snprintf(cur, sizeof(cur), "%s", name);
    while (depth++ < MAX_CHAIN && (found = store_ca_get(t, cur, &r)) == 1) {
        X509 *below = sk_X509_num(chain) ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
        X509 *x = below ? gen_issuer_of(t, cur, below) : NULL;

        if (x == NULL)
            x = der_to_x509(r.cert_der, r.cert_len);
        const unsigned char *p = r.chain_der, *end = p + r.chain_len;
        if (x)
            sk_X509_push(chain, x);
        while (p && p < end && (x = d2i_X509(NULL, &p, (long)(end - p))) != NULL)
            sk_X509_push(chain, x);
        found = r.parent != NULL;
        if (found)
            snprintf(cur, sizeof(cur), "%s", r.parent);
        ca_rec_clear(&r);
        if (!found)
            break;
    }
    store_txn_abort(t);
    return found < 0 ? fail_store() : 0;
}

struct own_ctx {
    struct app *a;
    const char *only;
    struct doctor_source *src;
    struct doctor_report *rep;
    int rc;
    struct store_txn *t;               /* the doctor's read transaction (for ca_name_of) */
    char name[MAX_CA_NAME + 1];        /* ca_name_of's answer */
    int key_unreachable;           /* a CA key could not be reached: exit 4 after the report */
};

struct name_find {
    X509 *want;
    char *name;
};

static int name_match(void *arg, const struct ca_rec *r)
{
    struct name_find *f = arg;
    X509 *x = der_to_x509(r->cert_der, r->cert_len);
    int same = x != NULL && X509_cmp(x, f->want) == 0;

    X509_free(x);
    if (same)
        snprintf(f->name, MAX_CA_NAME + 1, "%s", r->name);
    return !same;
}

/* doctor_source.ca_name: the store name of the CA whose certificate is ca, or NULL. */
static const char *ca_name_of(void *arg, X509 *ca)
{
    struct own_ctx *c = arg;
    struct name_find f = {ca, c->name};

    c->name[0] = '\0';
    if (c->t == NULL || !store_ca_foreach(c->t, name_match, &f))
        return NULL;
    return c->name[0] ? c->name : NULL;
}

/* The templates doctor_gen_capped compares with, loaded only for a CA certificate not yet
 * expired (the one case that check needs them); NULL, the load failure reported, skips it. */
static const struct tmpl_set *capped_templates(struct app *a, X509 *x, time_t now)
{
    if (asn1_time_to_time(X509_get0_notAfter(x)) <= now || app_templates(a) != 0)
        return NULL;
    return a->tmpls;
}

/* The CA key must be reachable (module, token, login, key object): a token gone or a wrong PIN
 * is an ERROR finding, in text and JSON, and makes doctor exit 4, even when every CRL is fresh. */
static void own_checks(struct own_ctx *c, const struct ca_rec *r, X509 *x)
{
    struct hsm_key_info info;
    EVP_PKEY *k;

    doctor_gen_expiry(c->a->cfg, r, x, c->src->now, c->rep);
    doctor_gen_capped(capped_templates(c->a, x, c->src->now), r, x, c->src->now, c->rep);
    if (app_hsm(c->a) != 0 ||
        (k = hsm_key_load(c->a->hsm, r->key_uri, 1, &info)) == NULL) {
        doctor_add(c->rep, DOCTOR_ERROR, r->name, "CA key", "restore the token (or its "
                   "backup) and check 'offca key list'; no CRL can be signed until then",
                   "%s is unreachable: %s", r->key_uri, hsm_error());
        c->key_unreachable = 1;
        return;
    }
    if (info.extractable || !info.sensitive)
        doctor_add(c->rep, DOCTOR_ERROR, r->name, "CA key protection",
                   "move the CA to a key generated with 'offca key generate'",
                   "key %s is %s", r->key_uri, info.extractable ? "EXTRACTABLE" : "not sensitive");
    EVP_PKEY_free(k);
}

static int own_one(void *arg, const struct ca_rec *r)
{
    struct own_ctx *c = arg;
    STACK_OF(X509) *chain;

    if ((c->only && strcmp(c->only, r->name)) || r->state != CA_ACTIVE)
        return 1;
    if ((chain = sk_X509_new_null()) == NULL)
        return 0;
    if ((c->rc = ca_chain(c->a, r->name, chain)) == 0 && sk_X509_num(chain) > 0) {
        own_checks(c, r, sk_X509_value(chain, 0));
        if (!doctor_check_chain(chain, c->src, c->rep))
            c->rc = fail_crl();
    }
    sk_X509_pop_free(chain, X509_free);
    return c->rc == 0;
}

/* Each CA's chain repeats its parents (the root is in every chain): keep each finding once, in
 * first-seen order. Quadratic, and fine: offca's own CAs give a few dozen findings. */
static void report_dedupe(struct doctor_report *r)
{
    size_t i, j, n = 0;

    for (i = 0; i < r->n; i++) {
        for (j = 0; j < n; j++)
            if (memcmp(&r->f[j], &r->f[i], sizeof(r->f[i])) == 0)
                break;
        if (j == n)
            r->f[n++] = r->f[i];
    }
    r->n = n;
}

#define RULE_258 "NPS revocation check (reason 258)"

/* Microsoft Next CRL Publish (1.3.6.1.4.1.311.21.4) of crl, or 0 when absent. */
static time_t crl_next_publish(X509_CRL *crl)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(OID_MS_NEXT_CRL_PUBLISH, 1);
    int i = oid ? X509_CRL_get_ext_by_OBJ(crl, oid, -1) : -1;
    ASN1_OCTET_STRING *v = i >= 0 ? X509_EXTENSION_get_data(X509_CRL_get_ext(crl, i)) : NULL;
    const unsigned char *p = v ? ASN1_STRING_get0_data(v) : NULL;
    ASN1_TIME *t = p ? d2i_ASN1_TIME(NULL, &p, ASN1_STRING_length(v)) : NULL;
    time_t when = t ? asn1_time_to_time(t) : 0;

    ASN1_TIME_free(t);
    ASN1_OBJECT_free(oid);
    return when;
}

/* One CRL a CA publishes (NAME.crl or NAME+.crl): present, signed by the CA, fresh. */
static void own_crl_file(struct own_ctx *c, const struct ca_rec *r, X509 *ca, const char *file)
{
    char path[4096];
    unsigned char *data = NULL;
    const unsigned char *p;
    size_t len = 0;
    X509_CRL *crl = NULL;
    time_t now = c->src->now, nu, np, tu;

    snprintf(path, sizeof(path), "%s/%s", c->a->cfg->publish_dir, file);
    if (!publish_file_load(path, 1024L * 1024 * 1024, &data, &len)) {
        doctor_add(c->rep, DOCTOR_ERROR, r->name, RULE_258,
                   "run 'offca crl publish' (and keep it in cron hourly)", "no CRL published at "
                   "%s (or not a regular file: a symlink, FIFO, unreadable): every certificate "
                   "this CA issued fails the NPS revocation check", path);
        goto out;
    }
    p = data;
    if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL || p != data + len ||
        X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
        ERR_clear_error();
        doctor_add(c->rep, DOCTOR_ERROR, r->name, RULE_258, "run 'offca crl publish': it "
                   "republishes a file that is not the one it recorded",
                   "%s is not a DER CRL signed by this CA: Windows treats it as no CRL", path);
        goto out;
    }
    nu = X509_CRL_get0_nextUpdate(crl) ? asn1_time_to_time(X509_CRL_get0_nextUpdate(crl)) : 0;
    np = crl_next_publish(crl);
    tu = asn1_time_to_time(X509_CRL_get0_lastUpdate(crl));
    if (tu > now) {
        char when[32], fix[160];

        time_iso(tu, when);
        snprintf(fix, sizeof(fix), "check the clock of the CA host, then run 'offca crl publish "
                 "--ca %s': it replaces a CRL whose thisUpdate is in the future", r->name);
        doctor_add(c->rep, DOCTOR_ERROR, r->name, "CRL thisUpdate (RFC 5280 5.1.2.4)", fix,
                   "%s has thisUpdate %s, in the future (made with a fast clock?): relying "
                   "parties refuse it as not valid yet", path, when);
    }
    if (nu && now >= nu)
        doctor_add(c->rep, DOCTOR_ERROR, r->name, RULE_258, "run 'offca crl publish' now and "
                   "check the cron job / offca-crl.timer", "%s expired (nextUpdate passed): NPS "
                   "refuses every logon with a certificate of this CA", path);
    else if (np && now >= np)
        doctor_add(c->rep, DOCTOR_WARN, r->name, "Microsoft Next CRL Publish",
                   "check that the hourly cron job / offca-crl.timer runs", "%s is past its Next "
                   "CRL Publish time: the publisher is late, clients are refetching", path);
out:
    X509_CRL_free(crl);
    free(data);
}

/* An older key generation (or a retired CA's) still signs its own CRLs: its key must be
 * reachable too (an active CA's newest key is own_checks'). */
static void own_old_key(struct own_ctx *c, const struct ca_rec *r, const struct ca_gen *g)
{
    struct hsm_key_info info;
    EVP_PKEY *k;

    if (r->state == CA_ACTIVE && r->key_uri && strcmp(r->key_uri, g->key_uri) == 0)
        return;
    if (app_hsm(c->a) != 0 || (k = hsm_key_load(c->a->hsm, g->key_uri, 1, &info)) == NULL) {
        doctor_add(c->rep, DOCTOR_ERROR, r->name, "CA key", "restore the token (or its "
                   "backup) and check 'offca key list'; no CRL of this key generation can be "
                   "signed until then", "%s (key index %u, still signing its CRL) is "
                   "unreachable: %s", g->key_uri, g->key_index, hsm_error());
        c->key_unreachable = 1;
        return;
    }
    EVP_PKEY_free(k);
}

/* The CRL (and delta) of one key generation, NAME.crl / NAME(k).crl: present, signed by that
 * key, fresh; its key reachable. */
static void own_key_crls(struct own_ctx *c, const struct ca_rec *r, const struct ca_gen *g)
{
    char file[MAX_CA_NAME + 16];
    X509 *ca = g ? der_to_x509(g->cert_der, g->cert_len) : NULL;

    if (ca == NULL)
        return;            /* own_one reports an unreadable CA certificate */
    gen_file(r->name, g->key_index, "crl", 0, file, sizeof(file));
    own_crl_file(c, r, ca, file);
    if (config_ca(c->a->cfg, r->name)->delta_period > 0) {
        gen_file(r->name, g->key_index, "crl", 1, file, sizeof(file));
        own_crl_file(c, r, ca, file);
    }
    own_old_key(c, r, g);
    X509_free(ca);
}

/* What a CA publishes for what it issued: the CRL (and delta) of every key generation still
 * publishing (not stopped by its final CRL; a retired CA's too) must exist, verify, be fresh. */
static int own_crls(void *arg, const struct ca_rec *r)
{
    static struct gen_list l;
    struct own_ctx *c = arg;
    unsigned keys[MAX_CA_GENS];
    size_t n;

    if ((c->only && strcmp(c->only, r->name)) || r->state == CA_PENDING)
        return 1;
    if (!doctor_gen_live_keys(c->t, r->name, &l, keys, &n)) {
        c->rc = EXIT_SYSTEM;
        gen_list_clear(&l);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        own_key_crls(c, r, gen_list_key(&l, keys[i]));
    gen_list_clear(&l);
    return 1;
}

int cmd_doctor(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"ca", 1, 0, 'c'}, {"chain", 1, 0, 'C'},
                                       {"crl-dir", 1, 0, 'd'}, {"fetch", 0, 0, 'f'},
                                       {"timeout", 1, 0, 't'}, {"json", 0, 0, 'j'},
                                       {0, 0, 0, 0}};
    struct doctor_source src = {NULL, 0, 10, ca_now(), NULL, NULL};
    struct doctor_report rep = {NULL, 0, 0};
    struct own_ctx oc = {a, NULL, &src, &rep, 0, NULL, "", 0};
    const char *chain = NULL;
    struct store_txn *t;
    int c, rc;

    while ((c = opt_next(argc, argv, "doctor", ":", lo)) != -1) {
        switch (c) {
        case 'c': oc.only = optarg; break;
        case 'C': chain = optarg; break;
        case 'd': src.crl_dir = optarg; break;
        case 'f': src.fetch = 1; break;
        case 't': src.timeout_s = atoi(optarg); break;
        case 'j': a->json = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc || (chain && oc.only) || (src.crl_dir && src.fetch) ||
        (!chain && (src.crl_dir || src.fetch))) {
        report("doctor: --chain FILE takes --crl-dir DIR or --fetch; --ca is for offca's own "
               "CAs; see 'offca doctor --help'");
        return EXIT_USAGE;
    }
    if (chain) {
        rc = doctor_chain_file(a, chain, &src, &rep);
    } else {
        if ((rc = app_store(a, 0)) != 0)
            return rc;
        src.crl_dir = a->cfg->publish_dir;
        if ((t = store_txn_begin(a->store, 0)) == NULL)
            return fail_store();
        oc.t = t;
        src.ca_name = ca_name_of;
        src.ca_name_arg = &oc;
        if (!store_ca_foreach(t, own_one, &oc) && oc.rc == 0)
            oc.rc = fail_store();
        store_ca_foreach(t, own_crls, &oc);
        if (!doctor_dir_sid_check(t, oc.only, src.now, &rep) && oc.rc == 0)
            oc.rc = fail_store();
        if (oc.rc == 0 && oc.only == NULL)       /* roots on other machines (crlimp_remind.c) */
            oc.rc = crlimp_doctor(t, a->cfg->ceremony_warn_days, src.now, &rep);
        store_txn_abort(t);
        report_dedupe(&rep);
        rc = oc.rc;
    }
    if (rc == 0) {
        print_report(a, &rep);
        rc = oc.key_unreachable ? EXIT_SYSTEM
             : doctor_report_count(&rep, DOCTOR_ERROR) ? EXIT_POLICY : EXIT_OK;
    }
    doctor_report_free(&rep);
    return rc;
}
