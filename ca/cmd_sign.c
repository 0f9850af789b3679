/*
 * cmd_sign.c — `offca sign`: one CSR, a batch manifest, or a server-generated key (PKCS#12).
 * Options in; issue.c does policy, signing and recording; certificates are written only after
 * their transaction committed.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>

#include "base/faultpoint.h"
#include "ca/app.h"
#include "ca/input.h"
#include "ca/issue.h"
#include "ca/pfx.h"
#include "ca/progress.h"
#include "ca/sign_out.h"
#include "ca/verb.h"

#define MAX_SANS 64
#define MAX_MANIFEST_BYTES (256L * 1024 * 1024)
#define BATCH_GROUP 64            /* certificates per write transaction in a batch */
#define MAX_WORKERS 16            /* --workers: threads preparing and signing (one session each) */
#define MAX_AHEAD   (4 * BATCH_GROUP) /* entries the workers may prepare ahead of the writer */
#define MAX_STAGE_DIRS 64         /* output directories whose "any staged file?" answer is kept */

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
        case 'n': if ((rc = add_san(o, optarg, "sign --san")) != 0) return rc; break;
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
    if (o->batch && (o->sid || o->n_sans || o->subject || o->out || o->days || o->der)) {
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
static unsigned char *cert_bytes(const struct issued *is, int der, size_t *len)
{
    BIO *b;
    char *p;
    unsigned char *copy = NULL;
    long n;

    if (der) {
        if ((copy = malloc(is->rec.der_len)) != NULL) {
            memcpy(copy, is->rec.der, is->rec.der_len);
            *len = is->rec.der_len;
        }
        return copy;
    }
    if ((b = BIO_new(BIO_s_mem())) == NULL ||
        !PEM_write_bio(b, PEM_STRING_X509, "", is->rec.der, (long)is->rec.der_len)) {
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
static int write_cert(const struct issued *is, const char *out, int der)
{
    int rc = sign_out_write(&is->rec, out ? out : "-", der);

    if (rc != 0)
        sign_out_unwritten(&is->rec, out, NULL);
    return rc;
}

/* Stage the certificate next to out, named after its serial, before it is recorded: a directory
 * that refuses the file refuses the request while nothing is issued. 0 or the class. */
static int stage_cert(const struct issued *is, const char *out, int der, struct file_staged **st)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    size_t len = 0;
    unsigned char *data = cert_bytes(is, der, &len);
    int rc;

    if (data == NULL) {
        report("%s: output: out of memory while encoding; free memory and retry", out);
        return EXIT_SYSTEM;
    }
    serial_hex(is->rec.serial, is->rec.serial_len, hex);
    if ((rc = file_stage_tagged(out, hex, data, len, 0644, st)) != 0)
        report("%s: the certificate could not be written next to it; nothing was issued; free "
               "space or fix the directory, then run the command again", out);
    free(data);
    return rc;
}

/* One CSR: recover what an interrupted run for the same -o FILE left (sign_out.c), check and
 * sign, stage the output, record, then move the output into place. */
static int sign_one(struct app *a, struct ca_signer *s, const struct tmpl *t,
                    struct sign_opts *o)
{
    struct csr *csr = NULL;
    X509_NAME *subj = NULL;
    struct tmpl_request in;
    struct issued is;
    struct file_staged *st = NULL;
    int rc, recovered = 0, to_file = o->out != NULL && strcmp(o->out, "-") != 0;

    memset(&is, 0, sizeof(is));
    if ((rc = out_check(o->out, "sign -o")) != 0)
        return rc;
    if ((rc = csr_load(o->csr, &csr)) != 0)
        return rc;
    if (to_file) {
        struct sign_out_req q = {o->out, o->der, 0, csr->pubkey, NULL};

        if ((rc = sign_out_recover(a, &q, &recovered)) != 0 || recovered)
            goto out;
    }
    if (o->subject && (subj = dn_parse(o->subject)) == NULL) {
        rc = fail_tmpl();
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.source = o->csr;
    in.csr_subject = X509_REQ_get_subject_name(csr->req);
    in.pubkey = csr->pubkey;
    in.csr_sig_sha1 = csr->sig_sha1;
    in.csr_exts = csr->exts;
    in.subject_override = subj;
    in.op_sans = o->sans;
    in.n_op_sans = o->n_sans;
    in.op_sid = o->sid;
    in.days = o->days;
    if ((rc = issue_prepare(a, s, t, &in, &csr->key, &is)) != 0 ||
        (to_file && (rc = stage_cert(&is, o->out, o->der, &st)) != 0))
        goto out;
    FAULTPOINT("sign.staged", o->out ? o->out : "-");
    if ((rc = issue_record(a, &is, 1)) != 0)
        goto out;
    FAULTPOINT("sign.committed", o->out ? o->out : "-");
    if (!to_file)
        rc = write_cert(&is, "-", o->der);
    else if ((rc = file_staged_place(st)) != 0)
        sign_out_unwritten(&is.rec, o->out, NULL);
out:
    file_staged_free(st);
    issued_clear(&is);
    X509_NAME_free(subj);
    csr_free(csr);
    return rc;
}

/* ---- batch ----
 * Entries are prepared (manifest line, CSR, policy, signature in the token) by --workers N
 * threads (default 1) sharing the token's session pool; the calling thread alone
 * takes the prepared entries in manifest order, records each group of BATCH_GROUP in ONE write
 * transaction, and only after the commit writes the group's files (file_group: one flush for
 * the group, each file under its name only once its content is on disk). */
enum job_state { JOB_PENDING, JOB_TAKEN, JOB_DONE };
struct job {
    char *line;                        /* into the manifest buffer */
    size_t lineno;
    enum job_state state;
    int rc;                            /* 0 prepared (or skipped), else the exit class */
    int skipped;                       /* output exists: an earlier run wrote it */
    int recovered;                     /* recorded by an earlier run, written now (job_recover) */
    struct issued is;
    struct file_staged *staged;        /* its PEM, in a temp file next to the output */
};
struct batch {
    struct app *a;
    struct ca_signer *s;
    const struct tmpl *t;
    const char *path;
    struct job *jobs;
    size_t n_jobs, next, consumed;     /* next: first job not taken; consumed: by the writer */
    int stop;                          /* an HSM/store fault: workers take nothing more */
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    struct issued *group[BATCH_GROUP];
    struct file_staged *staged[BATCH_GROUP];
    size_t n, issued, failed, skipped, recovered;
    size_t stop_line;                  /* manifest line where a fault stopped the batch, or 0 */
    char *stage_dir[MAX_STAGE_DIRS];   /* output directories scanned once for staged files ... */
    int stage_any[MAX_STAGE_DIRS];     /* ... and whether they held any (see dir_has_staged) */
    size_t n_stage_dirs;
    int first_rc;
};

static void batch_fail(struct batch *b, int rc)
{
    b->failed++;
    if (!b->first_rc)
        b->first_rc = rc;
}

/* Commit the group, then (only then) write its certificates with one flush. */
static int batch_flush(struct batch *b)
{
    struct issued v[BATCH_GROUP];      /* issue_record takes an array: shallow copies */
    struct file_group *g = NULL;
    int rc;

    if (b->n == 0)
        return 0;
    for (size_t i = 0; i < b->n; i++)
        v[i] = *b->group[i];
    if ((rc = issue_record(b->a, v, b->n)) == 0 && (g = file_group_new(b->n)) != NULL) {
        FAULTPOINT("batch.group-committed", b->path);
        for (size_t i = 0; i < b->n; i++) {
            if (file_group_adopt(g, b->staged[i]) != 0)
                break;                 /* cannot happen: the group holds b->n */
            b->staged[i] = NULL;
        }
        file_group_commit(g);
        FAULTPOINT("batch.group-written", b->path);
    }
    for (size_t i = 0; i < b->n; i++) {
        if (rc == 0 && g != NULL && file_group_rc(g, i) == 0) {
            b->issued++;
        } else {
            if (rc == 0)
                sign_out_unwritten(&b->group[i]->rec, NULL, NULL);
            batch_fail(b, rc ? rc : EXIT_SYSTEM);
        }
        issued_clear(b->group[i]);
        file_staged_free(b->staged[i]);  /* not adopted (commit failed): temp file removed */
        b->staged[i] = NULL;
    }
    file_group_free(g);
    b->n = 0;
    return rc;
}

/* Write the certificate's PEM to a temp file next to its output (not synced, not visible under
 * its name until the writer moves it there after the commit). Doing it here, in the worker,
 * keeps file creation off the writer; a directory that refuses the file now refuses the entry
 * before anything is recorded. 0 or the class, reported. */
static int job_stage(struct job *j, const char *out)
{
    size_t len = 0;
    unsigned char *data = cert_bytes(&j->is, 0, &len);
    int rc;

    char hex[2 * MAX_STORE_SERIAL + 1];

    if (data == NULL) {
        report("%s: output: out of memory while encoding; free memory and retry", out);
        return EXIT_SYSTEM;
    }
    serial_hex(j->is.rec.serial, j->is.rec.serial_len, hex);
    rc = file_stage_tagged(out, hex, data, len, 0644, &j->staged);
    free(data);
    return rc;
}

/* May out's directory hold a staged file of an earlier run? Each directory is scanned once
 * (file_stage_dir_any) the first time an entry writes into it, before that entry stages anything,
 * so a fresh batch does not scan a growing directory for every entry. 1 maybe, 0 no. */
static int dir_has_staged(struct batch *b, const char *out)
{
    char copy[4096], dir[4096];
    size_t i;
    int any;

    snprintf(copy, sizeof(copy), "%s", out);
    snprintf(dir, sizeof(dir), "%s", dirname(copy));
    pthread_mutex_lock(&b->lock);
    for (i = 0; i < b->n_stage_dirs && strcmp(b->stage_dir[i], dir) != 0; i++)
        ;
    any = i < b->n_stage_dirs ? b->stage_any[i] : -2;
    pthread_mutex_unlock(&b->lock);
    if (any != -2)
        return any;
    any = file_stage_dir_any(out) != 0;   /* an error: let file_stage_find report it */
    pthread_mutex_lock(&b->lock);
    if (b->n_stage_dirs < MAX_STAGE_DIRS && (b->stage_dir[b->n_stage_dirs] = strdup(dir)) != NULL)
        b->stage_any[b->n_stage_dirs++] = any;
    pthread_mutex_unlock(&b->lock);
    return any;
}

/* An earlier run killed between a group's commit and its renames left out's certificate staged
 * as ".<out>.offca-stage-<serial>": when that serial is recorded, write the recorded certificate
 * (the store's DER, not the unsynced temp bytes) to out and count it recovered; a staged file
 * whose serial is not recorded (killed before the commit) is removed and the entry is issued.
 * 0 (j->recovered tells which) or the class, reported. */
static int job_recover(struct batch *b, struct job *j, const char *out)
{
    char tag[2 * MAX_STORE_SERIAL + 1], tmp[4096];
    struct cert_rec r;
    int found, rc = 0;

    if (!dir_has_staged(b, out))
        return 0;
    while (rc == 0 && (found = file_stage_find(out, tag, sizeof(tag), tmp, sizeof(tmp))) != 0) {
        if (found < 0)
            return EXIT_SYSTEM;
        memset(&r, 0, sizeof(r));
        if ((found = sign_out_recorded(b->a, tag, &r)) < 0) {
            report("%s: store: cannot look up serial %s; check the store", out, tag);
            return EXIT_SYSTEM;
        }
        if (found && !j->recovered) {
            struct issued is;

            memset(&is, 0, sizeof(is));
            is.rec = r;                 /* write_cert reads only rec.der / serial */
            if ((rc = write_cert(&is, out, 0)) == 0)
                j->recovered = 1;
        }
        cert_rec_clear(&r);
        if (rc == 0 && unlink(tmp) != 0 && errno != ENOENT) {
            report("%s: remove %s: %s; check the directory's permissions", out, tmp,
                   strerror(errno));
            rc = EXIT_SYSTEM;
        }
    }
    return rc;
}

/* Prepare one manifest entry (any thread): parse the line, load the CSR, policy, sign. Sets
 * j->rc (0 prepared, or the class, reported) and j->skipped (output exists: an earlier run wrote
 * it, so its certificate is in the store). */
static void job_prepare(struct batch *b, struct job *j)
{
    struct manifest_line m;
    struct sign_opts o;
    struct csr *csr = NULL;
    X509_NAME *subj = NULL;
    struct tmpl_request in;
    char where[600];
    int rc;

    memset(&o, 0, sizeof(o));
    snprintf(where, sizeof(where), "%s:%zu", b->path, j->lineno);
    if ((rc = manifest_parse_line(j->line, strlen(j->line), b->path, j->lineno, &m)) != 0) {
        j->rc = rc;
        return;
    }
    if (access(m.out, F_OK) == 0) {
        j->skipped = 1;
        goto out;
    }
    if ((rc = job_recover(b, j, m.out)) != 0 || j->recovered) {
        j->rc = rc;
        goto out;
    }
    rc = out_check(m.out, where);
    for (size_t i = 0; i < m.n_san && rc == 0; i++)
        rc = add_san(&o, m.san[i], where);
    if (rc == 0 && m.subject && (subj = dn_parse(m.subject)) == NULL)
        rc = fail_tmpl();
    if (rc == 0)
        rc = csr_load(m.csr, &csr);
    if (rc == 0) {
        memset(&in, 0, sizeof(in));
        in.source = where;
        in.csr_subject = X509_REQ_get_subject_name(csr->req);
        in.pubkey = csr->pubkey;
        in.csr_sig_sha1 = csr->sig_sha1;
        in.csr_exts = csr->exts;
        in.subject_override = subj;
        in.op_sans = o.sans;
        in.n_op_sans = o.n_sans;
        in.op_sid = m.sid;
        rc = issue_prepare(b->a, b->s, b->t, &in, &csr->key, &j->is);
    }
    if (rc == 0 && (rc = job_stage(j, m.out)) != 0)
        issued_clear(&j->is);
    j->rc = rc;
out:
    clear_sans(&o);
    X509_NAME_free(subj);
    csr_free(csr);
    manifest_line_clear(&m);
}

/* Worker thread: take the next job (at most MAX_AHEAD past what the writer consumed, so memory
 * stays bounded), prepare it, hand it over. */
static void *batch_worker(void *arg)
{
    struct batch *b = arg;

    pthread_mutex_lock(&b->lock);
    for (;;) {
        struct job *j;

        while (!b->stop && b->next < b->n_jobs && b->next >= b->consumed + MAX_AHEAD)
            pthread_cond_wait(&b->work, &b->lock);
        if (b->stop || b->next >= b->n_jobs)
            break;
        j = &b->jobs[b->next++];
        j->state = JOB_TAKEN;
        pthread_mutex_unlock(&b->lock);
        job_prepare(b, j);
        FAULTPOINT("batch.entry-prepared", b->path);
        pthread_mutex_lock(&b->lock);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* The writer's side of job i: wait until a worker prepared it. */
static struct job *job_wait(struct batch *b, size_t i)
{
    struct job *j = &b->jobs[i];

    pthread_mutex_lock(&b->lock);
    while (j->state != JOB_DONE)
        pthread_cond_wait(&b->done, &b->lock);
    b->consumed = i + 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->lock);
    return j;
}

/* Take the jobs in manifest order: group, commit, write. Returns 0 or the fault that stopped. */
static int batch_consume(struct batch *b)
{
    struct progress pg;
    char extra[64];
    int rc = 0;

    progress_begin(&pg, "sign --batch", b->n_jobs);
    for (size_t i = 0; i < b->n_jobs && rc == 0; i++) {
        struct job *j = job_wait(b, i);

        if (j->skipped) {
            b->skipped++;
        } else if (j->recovered) {
            b->recovered++;
        } else if (j->rc != 0) {
            batch_fail(b, j->rc);
            if (j->rc == EXIT_SYSTEM)  /* a bad entry is skipped; an HSM/store fault stops */
                rc = EXIT_SYSTEM;
        } else {
            b->group[b->n] = &j->is;
            b->staged[b->n++] = j->staged;
            j->staged = NULL;
            if (b->n == BATCH_GROUP)
                rc = batch_flush(b) ? EXIT_SYSTEM : 0;
        }
        if (rc != 0)
            b->stop_line = j->lineno;
        if (pg.on) {
            snprintf(extra, sizeof(extra), "issued %zu, failed %zu", b->issued + b->n,
                     b->failed);
            progress_step(&pg, i + 1, extra);
        }
    }
    if (rc == 0 && (rc = batch_flush(b)) != 0 && b->n_jobs > 0)
        b->stop_line = b->jobs[b->n_jobs - 1].lineno;
    else if (rc != 0)
        batch_flush(b);
    progress_end(&pg);
    return rc;
}

/* Split the manifest into jobs: one per line that is neither blank nor a comment. */
static int batch_split(struct batch *b, char *data)
{
    size_t lineno = 0, cap = 1;

    for (char *p = data; *p; p++)
        cap += *p == '\n';
    if ((b->jobs = calloc(cap, sizeof(*b->jobs))) == NULL) {
        report("%s: out of memory for %zu entries", b->path, cap);
        return EXIT_SYSTEM;
    }
    for (char *line = data, *nl; line && *line; line = nl) {
        if ((nl = strchr(line, '\n')) != NULL)
            *nl++ = '\0';
        lineno++;
        if (line[strspn(line, " \t\r")] == '\0' || line[0] == '#')
            continue;
        b->jobs[b->n_jobs].line = line;
        b->jobs[b->n_jobs++].lineno = lineno;
    }
    return 0;
}

/* Start the workers (this thread is the writer, so even one worker overlaps signing with the
 * commit and the file flush), consume, then stop and join them; jobs prepared but not consumed (after a
 * fault) are dropped unrecorded. */
static int batch_run(struct batch *b, int workers)
{
    pthread_t th[MAX_WORKERS];
    int started = 0, rc;

    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, NULL);
    for (; started < workers; started++)
        if (pthread_create(&th[started], NULL, batch_worker, b) != 0)
            break;
    if (started == 0) {
        report("sign --batch: cannot start a worker thread: %s; check the process limits",
               strerror(errno));
        rc = EXIT_SYSTEM;
    } else {
        rc = batch_consume(b);
    }
    pthread_mutex_lock(&b->lock);
    b->stop = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->lock);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < b->n_jobs; i++) {
        issued_clear(&b->jobs[i].is);
        file_staged_free(b->jobs[i].staged);
    }
    for (size_t i = 0; i < b->n_stage_dirs; i++)
        free(b->stage_dir[i]);
    pthread_cond_destroy(&b->done);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->lock);
    return rc;
}

/* A fault stopped the batch: say where, what was done, what was not, and how to resume. */
static void batch_report_stop(const struct batch *b)
{
    size_t done = b->issued + b->skipped + b->failed + b->recovered;

    report("batch %s: stopped at manifest line %zu by the HSM/store fault above: %zu issued, "
           "%zu skipped (output exists), %zu failed, %zu recovered, %zu not attempted; fix the "
           "fault, then re-run the same command to resume (entries whose output exists are "
           "skipped)", b->path, b->stop_line, b->issued, b->skipped, b->failed, b->recovered,
           b->n_jobs > done ? b->n_jobs - done : 0);
}

static int sign_batch(struct app *a, struct ca_signer *s, const struct tmpl *t, const char *path,
                      int workers)
{
    unsigned char *data = NULL;
    size_t len = 0;
    struct batch b;
    int rc;

    memset(&b, 0, sizeof(b));
    b.a = a, b.s = s, b.t = t, b.path = path;
    if ((rc = file_load(path, MAX_MANIFEST_BYTES, &data, &len)) != 0)
        return rc;
    if ((rc = batch_split(&b, (char *)data)) == 0)
        rc = batch_run(&b, workers);
    free(b.jobs);
    free(data);
    if (b.stop_line > 0)
        batch_report_stop(&b);
    printf("batch %s: %zu issued, %zu skipped (output exists), %zu failed, %zu recovered "
           "(recorded by an interrupted run, written now)\n", path, b.issued, b.skipped, b.failed,
           b.recovered);
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
        rc = sign_batch(a, &s, t, o.batch, o.workers ? o.workers : 1);
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
