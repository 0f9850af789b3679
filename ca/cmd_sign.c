/*
 * cmd_sign.c — `offca sign`: one CSR, a batch manifest, or a server-generated key (PKCS#12).
 * Options in; issue.c does policy, signing and recording; certificates are written only after
 * their transaction committed.
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>

#include "ca/app.h"
#include "ca/input.h"
#include "ca/issue.h"
#include "ca/pfx.h"
#include "ca/verb.h"

#define MAX_SANS 64
#define MAX_MANIFEST_BYTES (256L * 1024 * 1024)
#define BATCH_GROUP 64            /* certificates per write transaction in a batch */

const char HELP_SIGN[] =
    "usage: offca sign --ca NAME --template T --csr FILE [--sid SID] [--san TYPE:VALUE]...\n"
    "                  [--subject DN] [--days N] [-o FILE] [--der]\n"
    "       offca sign --ca NAME --template T --batch MANIFEST\n"
    "       offca sign --ca NAME --template T --generate-key rsa2048|p256 --subject DN\n"
    "                  [--san TYPE:VALUE]... [--sid SID] --pfx OUT.p12 [--pfx-pass-file FILE]\n\n"
    "Issue a certificate for a request (PEM or DER CSR; its signature is verified first) under\n"
    "a template, which decides key, EKU, KU, validity, subject, SAN and SID; the certificate\n"
    "gets a random serial, AKID/SKID, the CA's CDP and AIA, is recorded in the store with an\n"
    "audit record, and only then written (PEM to stdout without -o).\n"
    "  --sid SID        the principal's SID (templates with sid_source = \"operator\")\n"
    "  --san TYPE:VAL   dns:, upn:, email:, uri:, ip: (repeatable; the template decides)\n"
    "  --subject DN     replace the request's subject (RFC 4514; when the template allows)\n"
    "  --days N         validity (within the template's bounds; capped by the CA's)\n"
    "  -o FILE, --der   output file (mode 0644; an existing file is not replaced), DER format\n"
    "  --batch FILE     JSON lines {\"csr\":\"a.csr\",\"sid\":\"S-1-...\",\"san\":[\"dns:x\"],\n"
    "                   \"out\":\"a.pem\"}: one login, group commits, bad entries reported and\n"
    "                   skipped, entries whose out file exists skipped (re-runs resume);\n"
    "                   exit non-zero if any entry failed\n"
    "  --generate-key   the PKCS flow: make the subscriber key here (never stored), write\n"
    "                   PKCS#12 (AES-256-CBC, PBKDF2, SHA-256 MAC; mode 0600) with the\n"
    "                   password from --pfx-pass-file (0600), $OFFCA_PFX_PASS or a prompt\n\n"
    "Exit codes: 0 issued; 1 refused by policy; 2 usage; 3 bad input; 4 HSM or store failure.\n\n"
    "Examples:\n"
    "  offca sign --ca issuing1 --template intune-device --csr pc42.csr -o pc42.pem\n"
    "  offca sign --ca issuing1 --template intune-device-manual --csr pc42.csr \\\n"
    "      --sid S-1-5-21-1004336348-1177238915-682003330-1105 -o pc42.pem\n"
    "  offca sign --ca issuing1 --template intune-device --batch rollout.jsonl\n";

struct sign_opts {
    const char *ca, *tmpl, *csr, *sid, *subject, *out, *batch, *genkey, *pfx, *pfx_pass_file;
    int days, der;
    struct san sans[MAX_SANS];
    char *san_buf[MAX_SANS];
    size_t n_sans;
};

static int add_san(struct sign_opts *o, const char *text, const char *where)
{
    char value[1024];
    enum san_type type;

    if (o->n_sans >= MAX_SANS) {
        report("%s: more than %d SANs; split the request", where, MAX_SANS);
        return EXIT_USAGE;
    }
    if (!san_parse(text, &type, value, sizeof(value)))
        return fail_tmpl();
    o->san_buf[o->n_sans] = strdup(value);
    o->sans[o->n_sans].type = type;
    o->sans[o->n_sans].value = o->san_buf[o->n_sans];
    o->n_sans++;
    return 0;
}

static void clear_sans(struct sign_opts *o)
{
    for (size_t i = 0; i < o->n_sans; i++)
        free(o->san_buf[i]);
    o->n_sans = 0;
}

static int parse_opts(int argc, char **argv, struct sign_opts *o)
{
    static const struct option lo[] = {
        {"ca", 1, 0, 'C'}, {"template", 1, 0, 'T'}, {"csr", 1, 0, 'r'}, {"sid", 1, 0, 'S'},
        {"san", 1, 0, 'n'}, {"subject", 1, 0, 's'}, {"days", 1, 0, 'd'}, {"out", 1, 0, 'o'},
        {"der", 0, 0, 'D'}, {"batch", 1, 0, 'b'}, {"generate-key", 1, 0, 'g'},
        {"pfx", 1, 0, 'p'}, {"pfx-pass-file", 1, 0, 'P'}, {0, 0, 0, 0}};
    int c, rc;

    while ((c = opt_next(argc, argv, "sign", ":o:", lo)) != -1) {
        switch (c) {
        case 'C': o->ca = optarg; break;
        case 'T': o->tmpl = optarg; break;
        case 'r': o->csr = optarg; break;
        case 'S': o->sid = optarg; break;
        case 'n': if ((rc = add_san(o, optarg, "sign --san")) != 0) return rc; break;
        case 's': o->subject = optarg; break;
        case 'd': if ((rc = opt_days("sign", optarg, &o->days)) != 0) return rc; break;
        case 'o': o->out = optarg; break;
        case 'D': o->der = 1; break;
        case 'b': o->batch = optarg; break;
        case 'g': o->genkey = optarg; break;
        case 'p': o->pfx = optarg; break;
        case 'P': o->pfx_pass_file = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc || !o->ca || !o->tmpl ||
        (!!o->csr + !!o->batch + !!o->genkey) != 1) {
        report("sign: needs --ca, --template and exactly one of --csr, --batch, --generate-key; "
               "see 'offca sign --help'");
        return EXIT_USAGE;
    }
    if (o->batch && (o->sid || o->n_sans || o->subject || o->out || o->days || o->der)) {
        report("sign --batch: per-certificate options go into the manifest lines, not the "
               "command line; see 'offca sign --help'");
        return EXIT_USAGE;
    }
    if (o->genkey && (!o->pfx || !o->subject)) {
        report("sign --generate-key: needs --subject DN and --pfx OUT.p12");
        return EXIT_USAGE;
    }
    return 0;
}

/* PEM or DER of a certificate, into malloc'd memory. */
static unsigned char *cert_bytes(X509 *x, int der, size_t *len)
{
    BIO *b;
    char *p;
    unsigned char *copy = NULL;
    long n;

    if (der)
        return x509_to_der(x, len);
    if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x)) {
        BIO_free(b);
        return NULL;
    }
    n = BIO_get_mem_data(b, &p);
    if ((copy = malloc((size_t)n)) != NULL) {
        memcpy(copy, p, (size_t)n);
        *len = (size_t)n;
    }
    BIO_free(b);
    return copy;
}

/* Refuse an output path before anything is issued: an existing file is never replaced, and its
 * directory must be writable (a certificate that cannot be written after the commit is issued
 * all the same). 0 or EXIT_USAGE, reported. */
static int out_check(const char *out, const char *where)
{
    char dir[4096];

    if (out == NULL || strcmp(out, "-") == 0)
        return 0;
    if (access(out, F_OK) == 0) {
        report("%s: %s: exists; remove it or choose another output file (nothing was issued)",
               where, out);
        return EXIT_USAGE;
    }
    snprintf(dir, sizeof(dir), "%s", out);
    if (access(dirname(dir), W_OK | X_OK) != 0) {
        report("%s: %s: the directory is missing or not writable; create it or choose another "
               "output file (nothing was issued)", where, out);
        return EXIT_USAGE;
    }
    return 0;
}

/* Write an issued (committed) certificate; when that fails, say how to get it from the store. */
static int write_cert(X509 *x, const char *out, int der)
{
    size_t len = 0;
    unsigned char *data = cert_bytes(x, der, &len);
    char hex[2 * MAX_STORE_SERIAL + 1];
    int rc;

    if (data == NULL)
        return EXIT_SYSTEM;
    rc = file_write(out ? out : "-", data, len, 0644, 0);
    free(data);
    if (rc != 0) {
        const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
        serial_hex(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn), hex);
        report("certificate %s was issued and recorded, but not written; get it with 'offca "
               "export %s -o FILE' (do not sign the request again)", hex, hex);
    }
    return rc;
}

static int sign_one(struct app *a, struct ca_signer *s, const struct tmpl *t,
                    struct sign_opts *o)
{
    struct csr *csr = NULL;
    X509_NAME *subj = NULL;
    struct issue_input in;
    struct issued is;
    int rc;

    memset(&is, 0, sizeof(is));
    if ((rc = out_check(o->out, "sign -o")) != 0)
        return rc;
    if ((rc = csr_load(o->csr, &csr)) != 0)
        return rc;
    if (o->subject && (subj = dn_parse(o->subject)) == NULL) {
        rc = fail_tmpl();
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.source = o->csr;
    in.csr_subject = X509_REQ_get_subject_name(csr->req);
    in.pubkey = csr->pubkey;
    in.csr_exts = csr->exts;
    in.subject_override = subj;
    in.sans = o->sans;
    in.n_sans = o->n_sans;
    in.sid = o->sid;
    in.days = o->days;
    if ((rc = issue_prepare(a, s, t, &in, &is)) != 0 || (rc = issue_record(a, &is, 1)) != 0)
        goto out;
    rc = write_cert(is.cert, o->out, o->der);
out:
    issued_clear(&is);
    X509_NAME_free(subj);
    csr_free(csr);
    return rc;
}

/* ---- batch ---- */
struct batch {
    struct app *a;
    struct ca_signer *s;
    const struct tmpl *t;
    struct issued group[BATCH_GROUP];
    char *outs[BATCH_GROUP];
    size_t n, done, failed, skipped, total;
    int first_rc;
};

static void batch_fail(struct batch *b, int rc)
{
    b->failed++;
    if (!b->first_rc)
        b->first_rc = rc;
}

/* Commit the group, then (only then) write its certificates. */
static int batch_flush(struct batch *b)
{
    int rc = b->n ? issue_record(b->a, b->group, b->n) : 0;

    for (size_t i = 0; i < b->n; i++) {
        if (rc == 0 && write_cert(b->group[i].cert, b->outs[i], 0) == 0)
            b->done++;
        else
            batch_fail(b, rc ? rc : EXIT_SYSTEM);
        issued_clear(&b->group[i]);
        free(b->outs[i]);
    }
    b->n = 0;
    return rc;
}

static int batch_entry(struct batch *b, const struct manifest_line *m, const char *where)
{
    struct sign_opts o;
    struct csr *csr = NULL;
    X509_NAME *subj = NULL;
    struct issue_input in;
    int rc = 0;

    memset(&o, 0, sizeof(o));
    if (access(m->out, F_OK) == 0) {
        b->skipped++;          /* written by an earlier run: its certificate is in the store */
        return 0;
    }
    rc = out_check(m->out, where);
    for (size_t i = 0; i < m->n_san && rc == 0; i++)
        rc = add_san(&o, m->san[i], where);
    if (rc == 0 && m->subject && (subj = dn_parse(m->subject)) == NULL)
        rc = fail_tmpl();
    if (rc == 0)
        rc = csr_load(m->csr, &csr);
    if (rc == 0) {
        memset(&in, 0, sizeof(in));
        in.source = where;
        in.csr_subject = X509_REQ_get_subject_name(csr->req);
        in.pubkey = csr->pubkey;
        in.csr_exts = csr->exts;
        in.subject_override = subj;
        in.sans = o.sans;
        in.n_sans = o.n_sans;
        in.sid = m->sid;
        rc = issue_prepare(b->a, b->s, b->t, &in, &b->group[b->n]);
    }
    if (rc == 0) {
        b->outs[b->n++] = strdup(m->out);
        if (b->n == BATCH_GROUP)
            rc = batch_flush(b) ? EXIT_SYSTEM : 0;
    } else {
        batch_fail(b, rc);
        rc = rc == EXIT_SYSTEM ? rc : 0;   /* a bad entry is skipped; an HSM/store fault stops */
    }
    clear_sans(&o);
    X509_NAME_free(subj);
    csr_free(csr);
    return rc;
}

static int sign_batch(struct app *a, struct ca_signer *s, const struct tmpl *t, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0, lineno = 0;
    struct batch b;
    char where[600];
    int rc, tty = isatty(2);

    memset(&b, 0, sizeof(b));
    b.a = a, b.s = s, b.t = t;
    if ((rc = file_load(path, MAX_MANIFEST_BYTES, &data, &len)) != 0)
        return rc;
    for (char *p = (char *)data; *p; p++)
        b.total += *p == '\n';
    for (char *line = (char *)data, *nl; line && *line; line = nl) {
        struct manifest_line m;
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        lineno++;
        if (line[strspn(line, " \t\r")] == '\0' || line[0] == '#')
            continue;
        snprintf(where, sizeof(where), "%s:%zu", path, lineno);
        if ((rc = manifest_parse_line(line, strlen(line), path, lineno, &m)) != 0) {
            batch_fail(&b, rc);
            continue;
        }
        rc = batch_entry(&b, &m, where);
        manifest_line_clear(&m);
        if (tty)
            fprintf(stderr, "\r[%zu/%zu] issued %zu, failed %zu", lineno, b.total, b.done + b.n,
                    b.failed);
        if (rc)
            break;
    }
    if (rc == 0)
        rc = batch_flush(&b);
    else
        batch_flush(&b);
    free(data);
    if (tty)
        fputc('\n', stderr);
    printf("batch %s: %zu issued, %zu skipped (output exists), %zu failed\n", path, b.done,
           b.skipped, b.failed);
    return rc ? rc : b.first_rc;
}

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
    if ((rc = ca_signer_open(a, o.ca, &s)) != 0)
        goto out;
    if (o.batch)
        rc = sign_batch(a, &s, t, o.batch);
    else if (o.genkey) {
        struct pfx_req pr = {o.genkey, o.subject, o.sans, o.n_sans, o.sid, o.days, o.pfx,
                             o.pfx_pass_file};
        rc = pfx_issue(a, &s, t, &pr);
    }
    else
        rc = sign_one(a, &s, t, &o);
out:
    ca_signer_close(&s);
    clear_sans(&o);
    return rc;
}
