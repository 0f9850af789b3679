/*
 * cmd_lint.c — `offca lint FILE...`: the lint table of templates/ (the same one every TBS offca
 * builds goes through before the token signs) on any certificate or CRL, PEM or DER, ours or
 * another CA's; and `offca lint --store`: every valid certificate in the store against today's
 * rules, with the revoke command for each one that no longer passes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/cli/cli.h"
#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "ca/health/health.h"

#define MAX_LINT_FILE_BYTES (1024L * 1024 * 1024)   /* a CRL of a few million entries */

const char HELP_LINT[] =
    "usage: offca [--json] lint [--issuer FILE] [--allow-wildcard] [--allow-any-eku]\n"
    "                   [--full | --delta] [--prev-number N] FILE...\n"
    "       offca [--json] lint --store [--ca NAME]\n"
    "       offca lint --rules\n\n"
    "Check certificates and CRLs against offca's lint table: RFC 5280, CA/Browser Forum Baseline\n"
    "Requirements and Microsoft (MS-WCCE, KB5014754) rules on serials, validity, names,\n"
    "subjectAltName syntax, extensions, the SID extension, and CRL structure. offca runs the\n"
    "same table on every certificate and CRL before the token signs it; this command runs it on\n"
    "files (PEM or DER, also another CA's, e.g. a Cloud PKI issuing CA) or on the store.\n\n"
    "A PEM file is judged by its first CERTIFICATE or X509 CRL block.\n"
    "Each finding is one line on stdout:\n"
    "  <file>: <lint id>: <error|warning|notice>: <problem>; <what to do>\n\n"
    "Options:\n"
    "  --issuer FILE     the issuing CA certificate (PEM or DER): enables the lints that compare\n"
    "                    with it (AKID = issuer SKID, validity inside the issuer's, issuer name).\n"
    "                    Without it those are skipped and a note on stderr says how many\n"
    "                    (a self-signed certificate is its own issuer).\n"
    "  --allow-wildcard  a \"*.\" dNSName is allowed (as with a template's san.allow_wildcard)\n"
    "  --allow-any-eku   anyExtendedKeyUsage is allowed on an end-entity certificate\n"
    "  --full, --delta   the CRL must be a full (base) CRL / a delta CRL\n"
    "  --prev-number N   the previous CRL number: the CRL's number must be above it\n"
    "  --store           lint every valid (not revoked, not expired) certificate in the store,\n"
    "                    each with its CA's certificate as issuer and its template's wildcard\n"
    "                    setting, and the root CA certificates; each key also goes through\n"
    "                    today's key gate (its template's key policy, the blocklist: keys\n"
    "                    revoked for keyCompromise and blocked_keys_file), a refusal being a\n"
    "                    key.gate error; print after each certificate with an error the\n"
    "                    command that revokes it\n"
    "  --ca NAME         with --store: only certificates issued by CA NAME\n"
    "  --rules           list the lint table (id, severity, citation)\n"
    "  --json            one JSON array: per file (or stored certificate) its findings\n\n"
    "Exit codes: 0 no error-severity finding (warnings and notices may be printed); 1 at least\n"
    "one error; 2 usage; 3 an input that cannot be read or is neither a certificate nor a CRL\n"
    "(the other files are still checked); 4 store failure (--store).\n\n"
    "Examples:\n"
    "  offca lint --issuer issuing1.crt pc42.pem issuing1.crl\n"
    "  offca lint --store --ca issuing1\n";

struct lint_cli {
    struct app *a;
    struct lint_opts o;
    X509 *issuer;
    int store, rules;
    const char *ca;
    size_t n_out;                  /* JSON objects written */
    int worst;                     /* 0, EXIT_POLICY, EXIT_INPUT */
};

/* One finding as a text line, or as a JSON object (first: no leading comma). */
static void finding_print(struct lint_cli *c, const char *obj, const struct lint_finding *f,
                          int first)
{
    if (c->a->json) {
        fputs(first ? "{" : ",{", stdout);
        json_kv(stdout, 1, "id", f->rule->id);
        json_kv(stdout, 0, "citation", f->rule->cite);
        json_kv(stdout, 0, "severity", lint_sev_name(f->rule->sev));
        json_kv(stdout, 0, "problem", f->problem);
        json_kv(stdout, 0, "fix", f->fix);
        fputc('}', stdout);
    } else {
        printf("%s: %s: %s: %s (%s); %s\n", obj, f->rule->id, lint_sev_name(f->rule->sev),
               f->problem, f->rule->cite, f->fix);
    }
}

/* Print the report of one object (JSON: one object of the array; revoke may be NULL). */
static void report_print(struct lint_cli *c, const char *obj, const char *kind,
                         const struct lint_report *r, const char *revoke)
{
    if (c->a->json) {
        fputs(c->n_out++ ? ",{" : "{", stdout);
        json_kv(stdout, 1, "object", obj);
        json_kv(stdout, 0, "kind", kind);
        json_kv_int(stdout, 0, "errors", (long long)r->n_sev[LINT_ERROR]);
        json_kv_int(stdout, 0, "warnings", (long long)r->n_sev[LINT_WARNING]);
        json_kv_int(stdout, 0, "skipped", (long long)r->skipped);
        if (revoke)
            json_kv(stdout, 0, "revoke", revoke);
        fputs(",\"findings\":[", stdout);
    }
    for (size_t i = 0; i < r->n; i++)
        finding_print(c, obj, &r->f[i], i == 0);
    if (c->a->json)
        fputs("]}", stdout);
    else if (r->dropped)
        printf("%s: lint: notice: %zu more findings not shown; fix the ones above first\n", obj,
               r->dropped);
    if (!c->a->json && revoke)
        printf("  %s\n", revoke);
    if (r->n_sev[LINT_ERROR] && c->worst == 0)
        c->worst = EXIT_POLICY;
}

/* PEM (text before and between blocks allowed, as openssl pkcs12 writes it): the first
 * CERTIFICATE or X509 CRL block (name and DER); otherwise the bytes themselves as DER. */
static int pem_or_der(const unsigned char *d, size_t n, unsigned char **der, long *len,
                      char **name)
{
    BIO *b;
    char *hdr = NULL;

    *name = NULL;
    if (memmem(d, n, "-----BEGIN ", 11) == NULL) {
        *der = OPENSSL_memdup(d, n);
        *len = (long)n;
        return *der != NULL;
    }
    if ((b = BIO_new_mem_buf(d, (int)n)) == NULL)
        return 0;
    while (PEM_read_bio(b, name, &hdr, der, len) == 1) {
        OPENSSL_free(hdr);
        hdr = NULL;
        if (strcmp(*name, "CERTIFICATE") == 0 || strcmp(*name, "X509 CRL") == 0)
            break;
        OPENSSL_free(*name);
        OPENSSL_free(*der);
        *name = NULL;
        *der = NULL;
    }
    BIO_free(b);
    ERR_clear_error();              /* the end of the PEM data is an "error" */
    return *name != NULL;
}

/* The TBSCertList inside a CertificateList DER: SEQUENCE { TBS, AlgorithmIdentifier, BIT
 * STRING }. Framing only; the lint judges what is inside. */
static int crl_tbs_find(const unsigned char *der, long len, const unsigned char **tbs,
                        size_t *tlen)
{
    const unsigned char *p = der, *t;
    long l, tl;
    int tag, cls;

    if ((ASN1_get_object(&p, &l, &tag, &cls, len) & 0xa0) != 0x20 || tag != V_ASN1_SEQUENCE ||
        p + l != der + len)
        return 0;
    t = p;
    if ((ASN1_get_object(&p, &tl, &tag, &cls, l) & 0xa0) != 0x20 || tag != V_ASN1_SEQUENCE)
        return 0;
    *tbs = t;
    *tlen = (size_t)(p + tl - t);
    return 1;
}

/* Decode one file into a certificate (*x) or a CRL TBS (*der + *tbs). EXIT_INPUT reported. */
static int lint_input(const char *path, X509 **x, unsigned char **der, const unsigned char **tbs,
                      size_t *tlen)
{
    unsigned char *data = NULL;
    const unsigned char *p;
    char *name = NULL;
    size_t n = 0;
    long len = 0;
    int rc;

    *x = NULL;
    *der = NULL;
    if ((rc = file_load(path, (size_t)MAX_LINT_FILE_BYTES, &data, &n)) != 0)
        return EXIT_INPUT;
    if (!pem_or_der(data, n, der, &len, &name)) {
        free(data);
        report("%s: PEM: no CERTIFICATE or X509 CRL block that decodes; give a PEM or DER "
               "certificate or CRL", path);
        return EXIT_INPUT;
    }
    free(data);
    p = *der;
    if (name == NULL || strcmp(name, "CERTIFICATE") == 0)
        *x = d2i_X509(NULL, &p, len);
    if (*x != NULL && p != *der + len) {
        X509_free(*x);
        *x = NULL;
    }
    rc = *x != NULL || ((name == NULL || strcmp(name, "X509 CRL") == 0) &&
                        crl_tbs_find(*der, len, tbs, tlen));
    OPENSSL_free(name);
    if (!rc) {
        report("%s: not a certificate or CRL (PEM CERTIFICATE / X509 CRL, or one DER "
               "Certificate / CertificateList with nothing after it); check the file", path);
        OPENSSL_free(*der);
        *der = NULL;
        return EXIT_INPUT;
    }
    return 0;
}

static void skipped_note(const char *path, const struct lint_report *r)
{
    if (r->skipped)
        fprintf(stderr, "offca: note: %s: %zu lints skipped (they compare with the issuer); give "
                "the issuing CA certificate with --issuer FILE to run them\n", path, r->skipped);
}

static int lint_file(struct lint_cli *c, const char *path)
{
    struct lint_report r;
    const unsigned char *tbs = NULL;
    unsigned char *der = NULL;
    size_t tlen = 0;
    X509 *x = NULL;
    int ok;

    if (lint_input(path, &x, &der, &tbs, &tlen) != 0) {
        c->worst = EXIT_INPUT;
        return 0;
    }
    ok = x ? lint_cert(x, &c->o, &r) : lint_crl_tbs(tbs, tlen, &c->o, &r);
    if (!ok) {
        report("%s: %s", path, tmpl_error());
        c->worst = EXIT_INPUT;
    } else {
        report_print(c, path, x ? "certificate" : "crl", &r, NULL);
        skipped_note(path, &r);
    }
    X509_free(x);
    OPENSSL_free(der);
    return ok;
}

/* --issuer FILE: a certificate (PEM or DER). */
static int issuer_load(struct lint_cli *c, const char *path)
{
    const unsigned char *tbs;
    unsigned char *der = NULL;
    size_t tlen;
    int rc = lint_input(path, &c->issuer, &der, &tbs, &tlen);

    OPENSSL_free(der);
    if (rc == 0 && c->issuer == NULL) {
        report("--issuer %s: a CRL, not a certificate; give the issuing CA's certificate", path);
        rc = EXIT_USAGE;
    }
    c->o.issuer = c->issuer;
    return rc;
}

static void rules_print(void)
{
    for (size_t i = 0; i < lint_rule_count(); i++) {
        const struct lint_rule *r = lint_rule_at(i);

        printf("%-26s %-8s %-5s %s%s\n", r->id, lint_sev_name(r->sev),
               r->kind == LINT_CERT ? "cert" : "crl", r->cite,
               r->needs_issuer ? "  (needs --issuer)" : r->needs_prev ? "  (needs --prev-number)"
                                                       : "");
    }
}

/* ---- --store ------------------------------------------------------------------------------ */

static void store_hit(void *arg, const char *obj, const struct lint_report *r, const char *revoke)
{
    report_print(arg, obj, "certificate", r, revoke);
}

static int lint_store(struct lint_cli *c)
{
    struct lint_scan sc;
    struct keycheck_ctx kc;
    struct keygate_policy kp;
    int rc;

    if ((rc = app_store(c->a, 0)) != 0 || (rc = app_templates(c->a)) != 0 ||
        (rc = keycheck_policy(c->a->store, c->a->cfg, &kc, &kp)) != 0)
        return rc;
    memset(&sc, 0, sizeof(sc));
    sc.blocked = kp.blocked;
    sc.blocked_arg = kp.blocked_arg;
    sc.ca = c->ca;
    sc.now = ca_now();
    sc.base = c->o;
    sc.hit = store_hit;
    sc.arg = c;
    if ((rc = lint_store_scan(c->a->store, c->a->tmpls, &sc)) != 0)
        return rc;
    fprintf(stderr, "offca: lint --store: %llu valid certificates checked, %llu with errors\n",
            (unsigned long long)sc.checked, (unsigned long long)sc.hits);
    return 0;
}

/* ---- the command ------------------------------------------------------------------------- */

static int lint_opt(struct lint_cli *c, int ch)
{
    char *end;

    switch (ch) {
    case 'i': return issuer_load(c, optarg);
    case 'w': c->o.allow_wildcard = 1; return 0;
    case 'e': c->o.allow_any_eku = 1; return 0;
    case 'f': c->o.delta = 0; return 0;
    case 'd': c->o.delta = 1; return 0;
    case 's': c->store = 1; return 0;
    case 'c': c->ca = optarg; return 0;
    case 'r': c->rules = 1; return 0;
    case 'j': c->a->json = 1; return 0;
    case 'p':
        c->o.prev_number = strtoll(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || c->o.prev_number < 0) {
            report("lint --prev-number '%s': not a non-negative decimal number", optarg);
            return EXIT_USAGE;
        }
        return 0;
    default:
        return EXIT_USAGE;
    }
}

int cmd_lint(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {
        {"issuer", 1, 0, 'i'}, {"allow-wildcard", 0, 0, 'w'}, {"allow-any-eku", 0, 0, 'e'},
        {"full", 0, 0, 'f'}, {"delta", 0, 0, 'd'}, {"prev-number", 1, 0, 'p'},
        {"store", 0, 0, 's'}, {"ca", 1, 0, 'c'}, {"rules", 0, 0, 'r'}, {"json", 0, 0, 'j'},
        {0, 0, 0, 0}};
    struct lint_cli c;
    int ch, rc = 0;

    memset(&c, 0, sizeof(c));
    c.a = a;
    lint_opts_init(&c.o);
    while (rc == 0 && (ch = opt_next(argc, argv, "lint", ":", lo)) != -1)
        rc = lint_opt(&c, ch);
    if (rc == 0 && c.rules) {
        rules_print();
        goto out;
    }
    if (rc == 0 && (c.store ? optind != argc : optind >= argc)) {
        report("lint: %s; see 'offca lint --help'", c.store ? "--store takes no FILE" :
               "give at least one certificate or CRL file (or --store)");
        rc = EXIT_USAGE;
    }
    if (rc == 0 && c.ca && !c.store) {
        report("lint: --ca goes with --store; see 'offca lint --help'");
        rc = EXIT_USAGE;
    }
    if (rc != 0)
        goto out;
    if (a->json)
        fputc('[', stdout);
    if (c.store)
        rc = lint_store(&c);
    else
        for (int i = optind; i < argc; i++)
            lint_file(&c, argv[i]);
    if (a->json)
        fputs("]\n", stdout);
    if (rc == 0)
        rc = c.worst == EXIT_INPUT ? EXIT_INPUT : c.worst;
out:
    X509_free(c.issuer);
    return rc;
}
