/*
 * batch.c — the engine behind `offca sign --batch`: a JSON-lines manifest of requests, signed by
 * worker threads and recorded in groups.
 *
 * Entries are prepared (manifest line, CSR, policy, signature in the token) by --workers N
 * threads (default 1) sharing the token's session pool; the calling thread alone
 * takes the prepared entries in manifest order, records each group of BATCH_GROUP in ONE write
 * transaction, and only after the commit writes the group's files (file_group: one flush for
 * the group, each file under its name only once its content is on disk). */
#include "ca/issue/issue.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/faultpoint.h"
#include "ca/common/common.h"
#include "ca/issue/issue_int.h"

#define MAX_MANIFEST_BYTES (256L * 1024 * 1024)
#define BATCH_GROUP 64            /* certificates per write transaction in a batch */
#define MAX_AHEAD   (4 * BATCH_GROUP) /* entries the workers may prepare ahead of the writer */
#define MAX_STAGE_DIRS 64         /* output directories whose "any staged file?" answer is kept */

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
    struct store *store;               /* what the core calls take */
    struct hsm *hsm;
    const struct config *cfg;
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
    if ((rc = issue_record(b->store, v, b->n)) == 0 && (g = file_group_new(b->n)) != NULL) {
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
    unsigned char *data = sign_out_bytes(&j->is, 0, &len);
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
        if ((found = sign_out_recorded(b->store, tag, &r)) < 0) {
            report("%s: store: cannot look up serial %s; check the store", out, tag);
            return EXIT_SYSTEM;
        }
        if (found && !j->recovered) {
            struct issued is;

            memset(&is, 0, sizeof(is));
            is.rec = r;                 /* write_cert reads only rec.der / serial */
            if ((rc = sign_out_issued(&is, out, 0)) == 0)
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
    struct san_list sans;
    struct csr *csr = NULL;
    X509_NAME *subj = NULL;
    struct tmpl_request in;
    char where[600];
    int rc;

    memset(&sans, 0, sizeof(sans));
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
    rc = sign_out_check(m.out, where);
    for (size_t i = 0; i < m.n_san && rc == 0; i++)
        rc = san_list_add(&sans, m.san[i], where);
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
        in.op_sans = sans.v;
        in.n_op_sans = sans.n;
        in.op_sid = m.sid;
        rc = issue_prepare(b->store, b->hsm, b->cfg, b->s, b->t, &in, &csr->key,
                           &j->is);
    }
    if (rc == 0 && (rc = job_stage(j, m.out)) != 0)
        issued_clear(&j->is);
    j->rc = rc;
out:
    san_list_clear(&sans);
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

int batch_sign(struct store *st, struct hsm *h, const struct config *cfg, struct ca_signer *s,
               const struct tmpl *t, const char *path, int workers)
{
    unsigned char *data = NULL;
    size_t len = 0;
    struct batch b;
    int rc;

    memset(&b, 0, sizeof(b));
    b.store = st, b.hsm = h, b.cfg = cfg, b.s = s, b.t = t, b.path = path;
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

