/*
 * crlimp_pub.c — publishing the CRLs of parents that live on another machine. The CRL to
 * publish is the one with the highest number whose thisUpdate has come (never a not-yet-valid
 * one, never a lower number than what is published: a pre-signed CRL whose successor is already
 * due is superseded unpublished). The store says which one is published; the files in the
 * publish directory follow it (temp, fsync, rename, read back), and the hourly `crl publish`
 * puts a missing or altered file back from the store.
 */
#include "ca/publish/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "base/faultpoint.h"
#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"

static int list_add(void *arg, const struct crlimp_rec *r)
{
    struct crlimp_list *l = arg;
    unsigned char *der;

    if (l->n == MAX_CRLIMP_RECS || (der = malloc(r->der_len)) == NULL)
        return 0;
    memcpy(der, r->der, r->der_len);
    l->r[l->n] = *r;
    l->r[l->n++].der = der;
    return 1;
}

/* See publish.h. */
int crlimp_list_load(struct store_txn *t, const unsigned char id[STORE_KEY_HASH],
                     struct crlimp_list *l)
{
    int ok;

    memset(l, 0, sizeof(*l));
    if ((l->r = calloc(MAX_CRLIMP_RECS, sizeof(*l->r))) == NULL) {
        report("imported CRLs: out of memory; free memory and retry");
        return EXIT_SYSTEM;
    }
    ok = store_crlimp_foreach(t, id, list_add, l);
    if (!ok && l->n == MAX_CRLIMP_RECS) {
        report("imported CRLs: more than %d CRLs of one parent in the store", MAX_CRLIMP_RECS);
        return EXIT_SYSTEM;
    }
    return ok ? 0 : fail_store();
}

/* See publish.h. */
void crlimp_list_free(struct crlimp_list *l)
{
    for (size_t i = 0; l && l->r && i < l->n; i++)
        free((void *)l->r[i].der);
    if (l) {
        free(l->r);
        memset(l, 0, sizeof(*l));
    }
}

/* See publish.h. */
int crlimp_settle(struct store_txn *t, struct crlimp_list *l, time_t now, long *pick,
                  int *changed)
{
    long due = -1, pub = -1;

    *changed = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct crlimp_rec *r = &l->r[i];
        if (r->state == CRLIMP_PUBLISHED)
            pub = (long)i;
        if (r->state != CRLIMP_SUPERSEDED && r->this_update <= now)
            due = (long)i;                       /* ascending number: the last one wins */
    }
    *pick = due >= 0 ? due : pub;
    if (due < 0 || due == pub)
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        struct crlimp_rec *r = &l->r[i];
        int want = (long)i == due ? CRLIMP_PUBLISHED :
                   (i < (size_t)due && r->state != CRLIMP_SUPERSEDED) ? CRLIMP_SUPERSEDED :
                   r->state;
        if (want == r->state)
            continue;
        r->state = want;
        if (!store_crlimp_put(t, r))
            return fail_store();
    }
    *changed = 1;
    return 0;
}

static int file_is(const char *path, const struct crlimp_rec *rec)
{
    unsigned char *cur = NULL, md[32];
    size_t len = 0;
    int same = publish_file_load(path, MAX_CRLIMP_INPUT, &cur, &len) &&
               EVP_Digest(cur, len, md, NULL, EVP_sha256(), NULL) &&
               memcmp(md, rec->sha256, 32) == 0;

    free(cur);
    return same;
}

/* See publish.h. */
int crlimp_files_put(const struct config *cfg, const struct crlimp_parent *p,
                     const struct crlimp_rec *rec, int only_bad, int *written)
{
    char path[MAX_PATH_BYTES];

    *written = 0;
    for (size_t i = 0; i < p->n_files; i++) {
        snprintf(path, sizeof(path), "%s/%s", cfg->publish_dir, p->files[i]);
        if (only_bad && file_is(path, rec))
            continue;
        if (!crl_publish_file(cfg->publish_dir, p->files[i], rec->der, rec->der_len,
                              CRL_FILE_MODE) ||
            !crl_verify_published(path, p->cert, rec->number, 0))
            return fail_crl();
        (*written)++;
    }
    return 0;
}

/* See publish.h. */
int crlimp_horizon_get(struct store_txn *t, const unsigned char id[STORE_KEY_HASH],
                       struct crlimp_horizon *h)
{
    struct crlimp_list l;
    int rc = crlimp_list_load(t, id, &l);

    memset(h, 0, sizeof(*h));
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const struct crlimp_rec *r = &l.r[i];
        if (r->state == CRLIMP_SUPERSEDED)
            continue;
        h->any = 1;
        if (r->state == CRLIMP_PUBLISHED) {
            h->pub_number = r->number;
            h->pub_this_update = r->this_update;
            h->pub_next_update = r->next_update;
        } else {
            h->waiting++;
        }
        h->last_number = r->number;
        h->last_this_update = r->this_update;
        h->last_next_update = r->next_update;
        h->ceremony_by = r->next_publish ? r->next_publish : r->next_update;
    }
    crlimp_list_free(&l);
    return rc == 0;
}

/* See publish.h. */
void crlimp_audit_files(struct store *st, const struct crlimp_parent *p, uint64_t number,
                        const char *what, int rc)
{
    struct store_txn *t = store_txn_begin(st, 1);
    char detail[160];
    int ok;

    snprintf(detail, sizeof(detail), "number=%llu file=%s%s", (unsigned long long)number,
             p->files[0], rc ? " not in place (see the run's stderr)" : "");
    ok = t != NULL && store_audit_append(t, what, p->label, rc ? "fail" : "ok", detail);
    if (t != NULL && !ok)
        store_txn_abort(t);
    if (!ok || !store_txn_commit(t))
        report("%s; the publication of %s's CRL is not in the audit log", store_error(),
               p->label);
}

/* One parent at cron time: settle in one write transaction, then the files. */
static int cron_one(struct store *st, const struct config *cfg, const struct crlimp_parent *p,
                    time_t now)
{
    struct store_txn *t = store_txn_begin(st, 1);
    struct crlimp_list l;
    long pick = -1;
    int changed = 0, written = 0, rc;
    char when[32];

    if (t == NULL)
        return fail_store();
    if ((rc = crlimp_list_load(t, p->id, &l)) == 0 &&
        (rc = crlimp_settle(t, &l, now, &pick, &changed)) == 0 && changed &&
        !store_audit_append(t, "crl.import-due", p->label, "ok", "pre-signed CRL due"))
        rc = fail_store();
    if (rc != 0 || !changed)
        store_txn_abort(t);
    else if ((rc = txn_finish(t, 1)) == 0)
        FAULTPOINT("crlimp.committed", p->label);
    if (rc == 0 && pick >= 0 && p->n_files > 0) {
        const struct crlimp_rec *r = &l.r[pick];
        rc = crlimp_files_put(cfg, p, r, !changed, &written);
        if (changed || written)
            crlimp_audit_files(st, p, r->number, changed ? "crl.import-publish" : "crl.republish", rc);
        time_iso(r->next_update, when);
        if (rc == 0 && changed)
            report_info("%s: published imported CRL %llu (nextUpdate %s)", p->files[0],
                (unsigned long long)r->number, when);
        else if (rc == 0 && written)
            report_info("%s: imported CRL %llu put back (the file was missing or altered)", p->files[0],
                (unsigned long long)r->number);
        else if (rc == 0)
            report_info("%s: imported CRL %llu is current (nextUpdate %s); nothing to do", p->files[0],
                (unsigned long long)r->number, when);
    }
    crlimp_list_free(&l);
    return rc;
}

/* See publish.h. */
int crlimp_publish_cron(struct store *st, const struct config *cfg)
{
    static struct crlimp_parents ps;
    struct store_txn *t = store_txn_begin(st, 0);
    int rc, worst = 0;

    if (t == NULL)
        return fail_store();
    rc = crlimp_parents_load(t, &ps);
    store_txn_abort(t);
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        int r = cron_one(st, cfg, &ps.p[i], ca_now());
        if (r != 0 && worst == 0)
            worst = r;
    }
    crlimp_parents_free(&ps);
    return rc ? rc : worst;
}
