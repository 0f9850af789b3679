/*
 * cmd_sign.c — `offca sign`: one CSR, a batch manifest, or a server-generated key (PKCS#12).
 * Options in; issue.c does policy, signing and recording (batch.c for --batch, pfx.c for
 * --generate-key); certificates are written only after their transaction committed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/issue/issue.h"


const char HELP_SIGN[] =
    "usage: offca sign --ca NAME --template T --csr FILE [--sid SID] [--san TYPE:VALUE]...\n"
    "                  [--subject DN] [--days N] [-o FILE] [--der]\n"
    "       offca sign --ca NAME --template T --batch MANIFEST [--workers N]\n"
    "       offca sign --ca NAME --template T --generate-key rsa2048|p256 --subject DN\n"
    "                  [--san TYPE:VALUE]... [--sid SID] --pfx OUT.p12 [--pfx-pass-file FILE]\n\n"
    "Issue a certificate for a request (PEM or DER CSR; its signature is verified first) under\n"
    "a template, which decides key, EKU, KU, validity, subject, SAN and SID; the certificate\n"
    "gets a random serial, AKID/SKID, the CA's CDP and AIA, is recorded in the store with an\n"
    "audit record, and only then written (PEM to stdout without -o).\n"
    "Every key passes the key gate (RSA exponent, size, small factors, Fermat, ROCA; EC named\n"
    "curve and point; the blocklist; a key already certified to another subject) and every\n"
    "request the request gate (strict DER, signature algorithm, subject string types, each\n"
    "attribute once): README \"Key gate and request gate\".\n"
    "  --sid SID        the principal's SID (templates with sid_source = \"operator\")\n"
    "  --san TYPE:VAL   dns:, upn:, email:, uri:, ip: (repeatable; the template decides)\n"
    "  --subject DN     replace the request's subject (RFC 4514; when the template allows)\n"
    "  --days N         validity (within the template's bounds; capped by the CA's; a clock\n"
    "                   outside the CA's validity, or a cap below the template's min_days,\n"
    "                   is refused)\n"
    "  -o FILE, --der   output file (mode 0644; an existing file is not replaced), DER format;\n"
    "                   staged next to FILE as .FILE.offca-stage-SERIAL before the certificate\n"
    "                   is recorded and moved into place after: a run killed in between is\n"
    "                   finished by the same command (the recorded certificate is written,\n"
    "                   nothing is issued twice)\n"
    "  --batch FILE     JSON lines {\"csr\":\"a.csr\",\"sid\":\"S-1-...\",\"san\":[\"dns:x\"],\n"
    "                   \"out\":\"a.pem\"}: one login, group commits, bad entries reported and\n"
    "                   skipped, entries whose out file exists skipped (re-runs resume;\n"
    "                   a certificate recorded by a killed run but not yet written is\n"
    "                   written from the store, not issued again);\n"
    "                   exit non-zero if any entry failed; each group of 64 is recorded\n"
    "                   in one transaction, then its files are written and flushed together\n"
    "  --workers N      --batch only: N threads (1-16, about one per core) check and sign\n"
    "                   entries at the same time, one token session each (default 1)\n"
    "  --generate-key   the PKCS flow: make the subscriber key here (never stored), write\n"
    "                   PKCS#12 (AES-256-CBC, PBKDF2, SHA-256 MAC; mode 0600) with the\n"
    "                   password from --pfx-pass-file (0600), $OFFCA_PFX_PASS or a prompt;\n"
    "                   the file is written and flushed before the certificate is recorded (a\n"
    "                   full or read-only directory refuses the request, nothing issued)\n\n"
    "Exit codes: 0 issued; 1 refused by policy (template, key gate, signature algorithm);\n"
    "2 usage; 3 bad input (also a request not in DER); 4 HSM or store failure.\n\n"
    "Examples:\n"
    "  offca sign --ca issuing1 --template intune-device --csr pc42.csr -o pc42.pem\n"
    "  offca sign --ca issuing1 --template intune-device-manual --csr pc42.csr \\\n"
    "      --sid S-1-5-21-1004336348-1177238915-682003330-1105 -o pc42.pem\n"
    "  offca sign --ca issuing1 --template intune-device --batch rollout.jsonl\n";

struct sign_opts {
    const char *ca, *tmpl, *csr, *sid, *subject, *out, *batch, *genkey, *pfx, *pfx_pass_file;
    int days, der, workers;
    struct san_list sans;
};

/* --workers N: 1..MAX_WORKERS. 0 or EXIT_USAGE (reported). */
static int workers_parse(const char *text, int *out)
{
    char *end = NULL;
    long n = strtol(text, &end, 10);

    if (end == text || *end != '\0' || n < 1 || n > MAX_WORKERS) {
        report("sign --workers: '%s' is not a number from 1 to %d; give about one per core",
               text, MAX_WORKERS);
        return EXIT_USAGE;
    }
    *out = (int)n;
    return 0;
}

static int parse_opts(int argc, char **argv, struct sign_opts *o)
{
    static const struct option lo[] = {
        {"ca", 1, 0, 'C'}, {"template", 1, 0, 'T'}, {"csr", 1, 0, 'r'}, {"sid", 1, 0, 'S'},
        {"san", 1, 0, 'n'}, {"subject", 1, 0, 's'}, {"days", 1, 0, 'd'}, {"out", 1, 0, 'o'},
        {"der", 0, 0, 'D'}, {"batch", 1, 0, 'b'}, {"generate-key", 1, 0, 'g'},
        {"pfx", 1, 0, 'p'}, {"pfx-pass-file", 1, 0, 'P'}, {"workers", 1, 0, 'W'},
        {0, 0, 0, 0}};
    int c, rc;

    while ((c = opt_next(argc, argv, "sign", ":o:", lo)) != -1) {
        switch (c) {
        case 'C': o->ca = optarg; break;
        case 'T': o->tmpl = optarg; break;
        case 'r': o->csr = optarg; break;
        case 'S': o->sid = optarg; break;
        case 'n': if ((rc = san_list_add(&o->sans, optarg, "sign --san")) != 0) return rc; break;
        case 's': o->subject = optarg; break;
        case 'd': if ((rc = opt_days("sign", optarg, &o->days)) != 0) return rc; break;
        case 'o': o->out = optarg; break;
        case 'D': o->der = 1; break;
        case 'b': o->batch = optarg; break;
        case 'g': o->genkey = optarg; break;
        case 'p': o->pfx = optarg; break;
        case 'P': o->pfx_pass_file = optarg; break;
        case 'W': if ((rc = workers_parse(optarg, &o->workers)) != 0) return rc; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc || !o->ca || !o->tmpl ||
        (!!o->csr + !!o->batch + !!o->genkey) != 1) {
        report("sign: needs --ca, --template and exactly one of --csr, --batch, --generate-key; "
               "see 'offca sign --help'");
        return EXIT_USAGE;
    }
    if (o->batch && (o->sid || o->sans.n || o->subject || o->out || o->days || o->der)) {
        report("sign --batch: per-certificate options go into the manifest lines, not the "
               "command line; see 'offca sign --help'");
        return EXIT_USAGE;
    }
    if (o->workers && !o->batch) {
        report("sign --workers: only with --batch (one certificate is one signature)");
        return EXIT_USAGE;
    }
    if (o->genkey && (!o->pfx || !o->subject)) {
        report("sign --generate-key: needs --subject DN and --pfx OUT.p12");
        return EXIT_USAGE;
    }
    return 0;
}

/* PEM or DER of an issued certificate, from the DER the store recorded (no re-encoding),
 * into malloc'd memory. */
int cmd_sign(struct app *a, int argc, char **argv)
{
    struct sign_opts o;
    struct ca_signer s;
    const struct tmpl *t;
    int rc;

    memset(&o, 0, sizeof(o));
    memset(&s, 0, sizeof(s));
    if ((rc = parse_opts(argc, argv, &o)) != 0)
        goto out;
    if ((rc = app_templates(a)) != 0)
        goto out;
    if ((t = tmpl_set_find(a->tmpls, o.tmpl)) == NULL) {
        rc = fail_tmpl();
        goto out;
    }
    if ((rc = app_store(a, 0)) != 0 || (rc = app_hsm_deferred(a)) != 0 ||
        (rc = ca_signer_open(a->store, a->hsm, a->cfg, o.ca, &s)) != 0)
        goto out;
    if (o.batch)
        rc = batch_sign(a->store, a->hsm, a->cfg, &s, t, o.batch, o.workers ? o.workers : 1);
    else if (o.genkey) {
        struct pfx_req pr = {o.genkey, o.subject, o.sans.v, o.sans.n, o.sid, o.days, o.pfx,
                             o.pfx_pass_file};
        rc = pfx_issue(a->store, a->hsm, a->cfg, &s, t, &pr);
    }
    else {
        struct sign_csr_req r = {o.csr, o.subject, o.sid, o.out, &o.sans, o.days, o.der};
        rc = sign_csr(a->store, a->hsm, a->cfg, &s, t, &r);
    }
out:
    ca_signer_close(&s);
    san_list_clear(&o.sans);
    return rc;
}
