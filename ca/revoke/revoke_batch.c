/*
 * revoke_batch.c — `offca revoke --batch FILE`: a list (revbatch_read.c) revoked in ONE write
 * transaction, one cert.revoke audit record per certificate and one revoke.batch record naming
 * the list and its SHA-256. First every entry is resolved against the store in that transaction
 * (serials looked up, subjects / SANs matched against the valid certificates in one pass);
 * any malformed, conflicting or (without --skip-unknown) unknown entry refuses the whole list
 * with every bad line named, and nothing changes. --dry-run runs the same transaction and aborts
 * it, so it prints exactly the lines the real run prints.
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/faultpoint.h"
#include "base/hex.h"
#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "ca/revoke/revoke.h"
#include "crl/crl.h"

#define MAX_BATCH_BYTES (64L * 1024 * 1024)

struct rbatch {
    struct rev_req *q;
    struct store_txn *t;
    const char *src;
    struct rb_entry *e;
    size_t n;
    time_t now;
    /* subject / SAN index: chains of entries by the hash of their lowercased key */
    char **key;
    size_t *head, *next, nbuckets;
    struct progress pg;
    size_t scanned;
};

/* Set e's state and message (the first one kept). */
static void mark(struct rb_entry *e, enum rb_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mark(struct rb_entry *e, enum rb_state st, const char *fmt, ...)
{
    va_list ap;

    if (e->state != RB_OK)
        return;
    e->state = st;
    free(e->why);
    va_start(ap, fmt);
    if (vasprintf(&e->why, fmt, ap) < 0)
        e->why = NULL;
    va_end(ap);
}

/* The CA an entry is restricted to: its own, else --ca, else NULL (any). */
static const char *eff_ca(const struct rbatch *b, const struct rb_entry *e)
{
    return e->ca[0] ? e->ca : b->q->ca;
}

static void target_set(struct rb_entry *e, const struct cert_rec *r)
{
    snprintf(e->tca, sizeof(e->tca), "%s", r->ca);
    memcpy(e->tserial, r->serial, r->serial_len);
    e->tn = r->serial_len;
}

/* The named CAs exist and agree with --ca. 1 ok / 0 store error. */
static int check_cas(struct rbatch *b)
{
    char last[MAX_CA_NAME + 1] = "";
    struct ca_rec cr;
    int got;

    for (size_t i = 0; i < b->n; i++) {
        struct rb_entry *e = &b->e[i];
        if (e->state != RB_OK || !e->ca[0] || strcmp(e->ca, last) == 0)
            continue;
        if (b->q->ca && strcmp(b->q->ca, e->ca) != 0) {
            mark(e, RB_CONFLICT, "ca '%s': the command says --ca %s; drop one of them", e->ca,
                 b->q->ca);
            continue;
        }
        if ((got = store_ca_get(b->t, e->ca, &cr)) < 0)
            return 0;
        if (got == 0) {
            mark(e, RB_CONFLICT, "ca '%s': not in the store; see 'offca ca list'", e->ca);
            continue;
        }
        ca_rec_clear(&cr);
        snprintf(last, sizeof(last), "%s", e->ca);
    }
    return 1;
}

/* The certificate of r may be revoked by e: not revoked, or on hold and e gives another reason. */
static int revocable(const struct rb_entry *e, const struct cert_rec *r)
{
    return r->status != CERT_REVOKED ||
           (r->reason == CRL_REASON_CERTIFICATE_HOLD && e->reason != CRL_REASON_CERTIFICATE_HOLD);
}

/* An entry naming a serial. 1 ok / 0 store error. */
static int resolve_serial(struct rbatch *b, struct rb_entry *e)
{
    char hex[2 * MAX_STORE_SERIAL + 1], when[32];
    const char *ca = eff_ca(b, e);
    struct cert_rec r;
    int got;

    serial_hex(e->serial, e->n, hex);
    got = ca ? store_cert_get(b->t, ca, e->serial, e->n, &r)
             : store_cert_find(b->t, e->serial, e->n, &r);
    if (got == 0 && ca && (got = store_cert_find(b->t, e->serial, e->n, &r)) > 0) {
        mark(e, RB_CONFLICT, "serial %s: issued by CA '%s', not '%s'; name the issuing CA", hex,
             r.ca, ca);
        cert_rec_clear(&r);
        return 1;
    }
    if (got < 0)
        return 0;
    if (got == 0) {
        mark(e, RB_UNKNOWN, "serial %s: no such certificate %s%s%s; check the serial ('offca "
             "list')", hex, ca ? "of CA '" : "in the store", ca ? ca : "", ca ? "'" : "");
        return 1;
    }
    if (revocable(e, &r)) {
        target_set(e, &r);
    } else {
        time_iso(r.revoked_at, when);
        mark(e, RB_UNKNOWN, "serial %s of CA '%s': already revoked (%s, %s); nothing to do",
             hex, r.ca, r.reason >= 0 ? crl_reason_name(r.reason) : "no reason code", when);
    }
    cert_rec_clear(&r);
    return 1;
}

/* ---- subjects and SANs: one pass over the certificates ---- */

static size_t key_hash(const char *s)
{
    size_t h = 14695981039346656037u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);

    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

/* Index the entries naming a subject / SAN by their key (the SAN if given, else the subject).
 * Returns the number indexed, or (size_t)-1 out of memory. */
static size_t index_build(struct rbatch *b)
{
    size_t n = 0;

    b->nbuckets = 1;
    while (b->nbuckets < 2 * b->n)
        b->nbuckets <<= 1;
    b->key = calloc(b->n, sizeof(*b->key));
    b->next = calloc(b->n, sizeof(*b->next));
    b->head = malloc(b->nbuckets * sizeof(*b->head));
    if (!b->key || !b->next || !b->head)
        return (size_t)-1;
    memset(b->head, 0xff, b->nbuckets * sizeof(*b->head));
    for (size_t i = 0; i < b->n; i++) {
        struct rb_entry *e = &b->e[i];
        size_t h;
        if (e->state != RB_OK || e->n > 0)
            continue;
        if ((b->key[i] = lower_dup(e->san ? e->san : e->subject)) == NULL)
            return (size_t)-1;
        h = key_hash(b->key[i]) & (b->nbuckets - 1);
        b->next[i] = b->head[h];
        b->head[h] = i;
        n++;
    }
    return n;
}

/* Certificate r matches the entries keyed by k (lowercased); by_san: k is one of its SANs. */
static void match_key(struct rbatch *b, const struct cert_rec *r, const char *k, int by_san)
{
    char hex[2 * MAX_STORE_SERIAL + 1];

    for (size_t i = b->head[key_hash(k) & (b->nbuckets - 1)]; i != (size_t)-1; i = b->next[i]) {
        struct rb_entry *e = &b->e[i];
        const char *ca = eff_ca(b, e);
        if (strcmp(b->key[i], k) != 0 || (e->san != NULL) != by_san ||
            (by_san && e->subject && strcasecmp(e->subject, r->subject) != 0) ||
            (ca && strcmp(ca, r->ca) != 0) || !revocable(e, r))
            continue;
        if (++e->matches == 1) {
            target_set(e, r);
        } else if (e->matches <= 3) {       /* keep the first serials for the message */
            char *w = NULL;
            serial_hex(r->serial, r->serial_len, hex);
            if (e->matches == 2) {
                char first[2 * MAX_STORE_SERIAL + 1];
                serial_hex(e->tserial, e->tn, first);
                if (asprintf(&w, "%s (CA '%s'), %s (CA '%s')", first, e->tca, hex, r->ca) < 0)
                    w = NULL;
            } else if (asprintf(&w, "%s, %s (CA '%s')", e->why ? e->why : "", hex, r->ca) < 0) {
                w = NULL;
            }
            free(e->why);
            e->why = w;
        }
    }
}

static int scan_one(void *arg, const struct cert_rec *r)
{
    struct rbatch *b = arg;
    char *k, *sans, *save = NULL;

    progress_step(&b->pg, ++b->scanned, NULL);
    if (r->status == CERT_REVOKED || r->not_after < b->now)
        return 1;                            /* only valid certificates are matched by name */
    if ((k = lower_dup(r->subject ? r->subject : "")) == NULL)
        return 0;
    match_key(b, r, k, 0);
    free(k);
    if ((sans = lower_dup(r->sans ? r->sans : "")) == NULL)
        return 0;
    for (char *s = strtok_r(sans, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
        match_key(b, r, s, 1);
    free(sans);
    return 1;
}

/* What the name entries found: one match is the target, none unknown, more a conflict. */
static void names_judge(struct rbatch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct rb_entry *e = &b->e[i];
        const char *ca = eff_ca(b, e);
        char *more = e->why;
        if (e->state != RB_OK || e->n > 0)
            continue;
        if (e->matches == 1)
            continue;
        e->why = NULL;
        if (e->matches == 0)
            mark(e, RB_UNKNOWN, "%s%s%s%s%s: no valid certificate%s%s%s matches; check 'offca "
                 "list --san VALUE' (revoked and expired certificates are not matched)",
                 e->subject ? "subject '" : "", e->subject ? e->subject : "",
                 e->subject ? "'" : "", e->san && e->subject ? " san " : e->san ? "san " : "",
                 e->san ? e->san : "", ca ? " of CA '" : "", ca ? ca : "", ca ? "'" : "");
        else
            mark(e, RB_CONFLICT, "%s%s: ambiguous: %zu valid certificates match (%s%s); give "
                 "the serial of the one to revoke (or one line per serial)",
                 e->san ? "san " : "subject ", e->san ? e->san : e->subject, e->matches,
                 more ? more : "", e->matches > 3 ? ", ..." : "");
        free(more);
    }
}

static int resolve_names(struct rbatch *b)
{
    size_t n = index_build(b);
    int ok;

    if (n == (size_t)-1) {
        report("revoke --batch %s: out of memory; split the list", b->src);
        return 0;
    }
    if (n == 0)
        return 1;
    progress_begin(&b->pg, "revoke --batch: certificates searched",
                   (size_t)store_cert_count(b->t));
    ok = store_cert_foreach(b->t, NULL, scan_one, b);
    progress_end(&b->pg);
    if (!ok)
        return 0;
    names_judge(b);
    return 1;
}

/* ---- duplicates: two entries for one certificate ---- */

static int cmp_target(const void *x, const void *y)
{
    const struct rb_entry *a = *(const struct rb_entry *const *)x;
    const struct rb_entry *c = *(const struct rb_entry *const *)y;
    int d = strcmp(a->tca, c->tca);

    if (d == 0)
        d = a->tn != c->tn ? (a->tn < c->tn ? -1 : 1) : memcmp(a->tserial, c->tserial, a->tn);
    if (d == 0)
        d = a->line < c->line ? -1 : a->line > c->line;
    return d;
}

static int find_duplicates(struct rbatch *b)
{
    struct rb_entry **v = calloc(b->n, sizeof(*v));
    char hex[2 * MAX_STORE_SERIAL + 1];
    size_t m = 0;

    if (v == NULL) {
        report("revoke --batch %s: out of memory; split the list", b->src);
        return 0;
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->e[i].state == RB_OK)
            v[m++] = &b->e[i];
    if (m > 1)
        qsort(v, m, sizeof(*v), cmp_target);
    for (size_t i = 1; i < m; i++) {
        if (strcmp(v[i]->tca, v[i - 1]->tca) != 0 || v[i]->tn != v[i - 1]->tn ||
            memcmp(v[i]->tserial, v[i - 1]->tserial, v[i]->tn) != 0)
            continue;
        serial_hex(v[i]->tserial, v[i]->tn, hex);
        mark(v[i], RB_MALFORMED, "the same certificate as line %zu (%s of CA '%s'); keep one "
             "entry for it", v[i - 1]->line, hex, v[i]->tca);
        v[i] = v[i - 1];                      /* a third copy names the first line too */
    }
    free(v);
    return 1;
}

/* ---- refusal ---- */

/* Report every bad entry not yet reported (the malformed ones were, while reading) and the
 * summary with their line numbers. Returns the exit code, or 0 when nothing refuses the list. */
static int refuse_bad(struct rbatch *b)
{
    size_t bad = 0, used = 0;
    int malformed = 0;
    char lines[2048] = "";

    for (size_t i = 0; i < b->n; i++) {
        struct rb_entry *e = &b->e[i];
        if (e->state == RB_OK || (e->state == RB_UNKNOWN && b->q->skip_unknown))
            continue;
        malformed |= e->state == RB_MALFORMED;
        if (e->state != RB_MALFORMED || e->why == NULL || strncmp(e->why, "the same", 8) == 0)
            report("%s:%zu: %s", b->src, e->line, e->why ? e->why : "out of memory");
        if (used < sizeof(lines) - 32)
            used += (size_t)snprintf(lines + used, sizeof(lines) - used, "%s%zu", bad ? ", " : "",
                                     e->line);
        else if (used < sizeof(lines) - 4)
            used += (size_t)snprintf(lines + used, sizeof(lines) - used, ", ...");
        bad++;
    }
    if (bad == 0)
        return 0;
    report("revoke --batch %s: %zu of %zu entries refused (line%s %s); nothing was revoked; fix "
           "or remove %s%s", b->src, bad, b->n, bad > 1 ? "s" : "", lines,
           bad > 1 ? "them" : "it", malformed || b->q->skip_unknown ? "" :
           " (or --skip-unknown to skip the unknown ones)");
    return malformed ? EXIT_INPUT : EXIT_POLICY;
}

/* ---- the revocations, in the resolving transaction ---- */

static const char *reason_text(int reason)
{
    return reason == CRL_REASON_NONE ? "none" : crl_reason_name(reason);
}

/* keyCompromise of e (revoked already in this txn): the key blocked, its other certificates;
 * the lines go to e->extra. 1 ok / 0 store error. */
static int entry_key(struct rbatch *b, struct rb_entry *e, struct rev_req *kq)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    size_t len = 0;
    FILE *f;

    serial_hex(e->tserial, e->tn, hex);
    memset(kq, 0, sizeof(*kq));
    kq->ca = e->tca;
    kq->sn = hex;
    memcpy(kq->serial, e->tserial, e->tn);
    kq->n = e->tn;
    kq->reason = e->reason;
    kq->inval = e->inval;
    kq->all_with_key = b->q->all_with_key;
    if (!revoke_key_compromise(b->t, kq))
        return 0;
    if ((f = open_memstream(&e->extra, &len)) == NULL)
        return 0;
    revoke_key_compromise_print(f, kq);
    return fclose(f) == 0;
}

static int apply_one(struct rbatch *b, struct rb_entry *e, const char *base)
{
    char hex[2 * MAX_STORE_SERIAL + 1], detail[256];

    serial_hex(e->tserial, e->tn, hex);
    snprintf(detail, sizeof(detail), "ca=%s reason=%s batch=%.100s:%zu", e->tca,
             reason_text(e->reason), base, e->line);
    return store_revoke(b->t, e->tca, e->tserial, e->tn, e->reason, b->now, e->inval) &&
           store_audit_append(b->t, "cert.revoke", hex, "ok", detail);
}

/* Revoke every good entry, then the keyCompromise consequences, then the batch record. */
static int apply_all(struct rbatch *b, const unsigned char sha[32], size_t *revoked)
{
    const char *base = strrchr(b->src, '/') ? strrchr(b->src, '/') + 1 : b->src;
    char line[32], hash[65], detail[256];
    struct rev_req *kq = NULL;
    size_t n_ok = 0, skipped = 0;

    for (size_t i = 0; i < b->n; i++)
        n_ok += b->e[i].state == RB_OK;
    progress_begin(&b->pg, "revoke --batch: revoked", n_ok);
    for (size_t i = 0; i < b->n; i++) {
        struct rb_entry *e = &b->e[i];
        skipped += e->state == RB_UNKNOWN;
        if (e->state != RB_OK)
            continue;
        if (!apply_one(b, e, base))
            goto fail;
        snprintf(line, sizeof(line), "line %zu", e->line);
        FAULTPOINT("revoke.batch-entry", line);
        progress_step(&b->pg, ++*revoked, NULL);
    }
    progress_end(&b->pg);
    for (size_t i = 0; i < b->n; i++) {
        struct rb_entry *e = &b->e[i];
        if (e->state != RB_OK || e->reason != CRL_REASON_KEY_COMPROMISE)
            continue;
        if ((kq == NULL && (kq = malloc(sizeof(*kq))) == NULL) || !entry_key(b, e, kq))
            goto fail;
    }
    free(kq);
    hex_encode(sha, 32, hash);
    snprintf(detail, sizeof(detail), "sha256=%s entries=%zu revoked=%zu skipped=%zu", hash, b->n,
             *revoked, skipped);
    return store_audit_append(b->t, "revoke.batch", b->src, "ok", detail);
fail:
    progress_end(&b->pg);
    free(kq);
    return 0;
}

/* ---- output: the same lines for the run and the dry run ---- */

static void print_results(const struct rbatch *b, size_t revoked)
{
    char hex[2 * MAX_STORE_SERIAL + 1], inv[32];
    size_t skipped = 0;

    for (size_t i = 0; i < b->n; i++) {
        const struct rb_entry *e = &b->e[i];
        if (e->state == RB_UNKNOWN) {
            printf("skipped: %s:%zu: %s\n", b->src, e->line, e->why ? e->why : "unknown");
            skipped++;
            continue;
        }
        serial_hex(e->tserial, e->tn, hex);
        if (e->inval)
            time_iso(e->inval, inv);
        printf("revoked: %s of CA '%s' (%s:%zu, reason %s%s%s)\n", hex, e->tca, b->src, e->line,
               reason_text(e->reason), e->inval ? ", invalidity date " : "", e->inval ? inv : "");
        if (e->extra)
            fputs(e->extra, stdout);
    }
    if (b->q->dry_run)
        printf("batch %s (dry run): %zu would be revoked, %zu skipped (unknown), of %zu entries; "
               "nothing was changed: run it again without --dry-run\n", b->src, revoked, skipped,
               b->n);
    else
        printf("batch %s: %zu revoked, %zu skipped (unknown), of %zu entries; publish with 'offca "
               "crl publish'\n", b->src, revoked, skipped, b->n);
}

/* Resolve, refuse or apply, in transaction b->t. Returns 0 or the exit code (reported). */
static int batch_txn(struct rbatch *b, const unsigned char sha[32], size_t *revoked)
{
    int rc;

    if (b->q->ca) {
        struct ca_rec cr;
        int got = store_ca_get(b->t, b->q->ca, &cr);
        if (got < 0)
            return fail_store();
        if (got == 0) {
            report("revoke --ca %s: CA '%s' is not in the store; see 'offca ca list' for the CAs "
                   "there", b->q->ca, b->q->ca);
            return EXIT_USAGE;
        }
        ca_rec_clear(&cr);
    }
    if (!check_cas(b))
        return fail_store();
    for (size_t i = 0; i < b->n; i++)
        if (b->e[i].state == RB_OK && b->e[i].n > 0 && !resolve_serial(b, &b->e[i]))
            return fail_store();
    if (!resolve_names(b))
        return store_error()[0] ? fail_store() : EXIT_SYSTEM;
    if (!find_duplicates(b))
        return EXIT_SYSTEM;
    if ((rc = refuse_bad(b)) != 0)
        return rc;
    if (!apply_all(b, sha, revoked)) {
        rc = store_error_code() == STORE_ERR_REFUSED ? EXIT_POLICY : EXIT_SYSTEM;
        report("revoke --batch %s: %s; nothing was revoked", b->src, store_error());
        return rc;
    }
    return 0;
}

/* `offca revoke --batch FILE` (see revoke.h). */
int revoke_batch(struct store *st, struct rev_req *q)
{
    struct rbatch b;
    unsigned char *data = NULL, sha[32];
    size_t len = 0, revoked = 0;
    int rc;

    memset(&b, 0, sizeof(b));
    b.q = q;
    b.src = q->batch;
    b.now = ca_now();
    if ((rc = file_load(q->batch, MAX_BATCH_BYTES, &data, &len)) != 0)
        return rc;
    if (!EVP_Digest(data, len, sha, NULL, EVP_sha256(), NULL)) {
        free(data);
        report("revoke --batch %s: SHA-256: %s", q->batch, ossl_errstr());
        return EXIT_SYSTEM;
    }
    rc = revbatch_read(q->batch, (const char *)data, len, q->reason, q->inval, &b.e, &b.n);
    free(data);
    if (rc != 0)
        return rc;
    if ((b.t = store_txn_begin(st, 1)) == NULL) {
        rc = fail_store();
    } else if ((rc = batch_txn(&b, sha, &revoked)) != 0 || q->dry_run) {
        store_txn_abort(b.t);
    } else {
        rc = txn_finish(b.t, 1);
    }
    if (rc == 0)
        print_results(&b, revoked);
    for (size_t i = 0; b.key && i < b.n; i++)
        free(b.key[i]);
    free(b.key);
    free(b.head);
    free(b.next);
    revbatch_free(b.e, b.n);
    return rc;
}
