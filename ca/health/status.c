/*
 * status.c — the figures behind `offca status`, read in ONE read transaction so the counts and
 * dates of all CAs are of the same moment, and judged by the rules in health.h.
 */
#include "ca/health/health.h"
#include "ca/common/common.h"
#include "ca/publish/publish.h"
#include "ca/store/store.h"
#include "ca/issue/issue.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gather {
    struct store_txn *t;
    struct config *cfg;
    struct status_report *r;
    struct status_ca *cur;
    int failed;
};

/* "ok", "warning", "error". */
const char *status_sev_name(enum status_sev s)
{
    return s == STATUS_ERROR ? "error" : s == STATUS_WARN ? "warning" : "ok";
}

/* "active", "pending", "retired". */
const char *status_ca_state_name(enum ca_state s)
{
    return s == CA_ACTIVE ? "active" : s == CA_PENDING ? "pending" : "retired";
}

static void finding(struct status_ca *c, enum status_sev sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finding(struct status_ca *c, enum status_sev sev, const char *fmt, ...)
{
    va_list ap;

    if (sev > c->sev)
        c->sev = sev;
    if (c->n_findings >= MAX_STATUS_FINDINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(c->findings[c->n_findings++], sizeof(c->findings[0]), fmt, ap);
    va_end(ap);
}

/* Leaf counts: revoked first (whatever its dates), then expired, expiring, valid. */
static int count_one(void *arg, const struct cert_rec *rec)
{
    struct gather *g = arg;
    struct status_ca *c = g->cur;
    time_t now = g->r->now, soon = now + (time_t)g->r->expiring_days * 86400;

    if (rec->status == CERT_REVOKED)
        c->n_revoked++;
    else if (rec->not_after <= now)
        c->n_expired++;
    else if (rec->not_after <= soon)
        c->n_expiring++;
    else
        c->n_valid++;
    return 1;
}

static void judge_cert(struct status_ca *c, time_t now)
{
    char when[32];
    long days = (long)((c->cert_not_after - now) / 86400);

    time_iso(c->cert_not_after, when);
    if (c->cert_not_after <= now)
        finding(c, STATUS_ERROR, "CA certificate expired on %s: renew the CA", when);
    else if (days < CA_EXPIRY_WARN_DAYS)
        finding(c, STATUS_WARN, "CA certificate expires on %s (in %ld days): renew the CA",
                when, days);
}

/* One CRL (what: "CRL #41" or "delta CRL"): past nextUpdate, overdue, or due. */
static void judge_one_crl(struct status_ca *c, time_t now, const char *what, time_t next_publish,
                          time_t next_update)
{
    char when[32];

    if (now >= next_update) {
        time_iso(next_update, when);
        finding(c, STATUS_ERROR, "%s past nextUpdate (%s): NPS refuses every logon; run "
                "'offca crl publish' now", what, when);
    } else if (now >= next_publish + STATUS_PUBLISH_GRACE) {
        time_iso(next_publish, when);
        finding(c, STATUS_ERROR, "%s publish overdue since %s: check the cron job / "
                "offca-crl.timer", what, when);
    } else if (now >= next_publish) {
        time_iso(next_publish, when);
        finding(c, STATUS_WARN, "%s publish due since %s: the next hourly 'offca crl publish' "
                "makes it", what, when);
    }
}

static void judge_crl(struct status_ca *c, time_t now)
{
    char what[40];

    if (c->crl_number == 0) {
        finding(c, STATUS_ERROR, "no CRL published: run 'offca crl publish' (hourly from cron)");
        return;
    }
    snprintf(what, sizeof(what), "CRL #%llu", (unsigned long long)c->crl_number);
    judge_one_crl(c, now, what, c->crl_next_publish, c->crl_next_update);
    if (c->delta && c->delta_next_publish)
        judge_one_crl(c, now, "delta CRL", c->delta_next_publish, c->delta_next_update);
}

/* The CRL state as recorded; a delta's nextUpdate is its Next CRL Publish + crl_overlap, as
 * `crl publish` builds it. */
static void crl_figures(struct gather *g, struct status_ca *c, const struct crl_state *st)
{
    const struct ca_cfg *cc = g->cfg ? config_ca(g->cfg, c->name) : NULL;

    c->crl_number = st->last_number;
    c->crl_this_update = st->this_update;
    c->crl_next_publish = st->next_publish;
    c->crl_next_update = st->next_update;
    c->delta = cc && cc->delta_period > 0;
    if (c->delta) {
        c->delta_this_update = st->delta_this_update;
        c->delta_next_publish = st->delta_next_publish;
        c->delta_next_update = st->delta_next_publish ? st->delta_next_publish +
                               (time_t)cc->crl_overlap : 0;
    }
}

/* An older key generation's CRL (NAME(k).crl, signed by key k for what it signed): judged like
 * the CA's own while it still publishes, i.e. until its final CRL. */
static void judge_old_key(struct status_ca *c, time_t now, unsigned k, const struct crl_state *st)
{
    char what[64];

    if (st->final)
        return;
    if (st->last_number == 0) {
        finding(c, STATUS_ERROR, "no CRL published for key index %u: run 'offca crl publish'", k);
        return;
    }
    snprintf(what, sizeof(what), "key index %u CRL #%llu", k, (unsigned long long)st->last_number);
    judge_one_crl(c, now, what, st->next_publish, st->next_update);
}

/* Key generation k's figures for the per-generation report: its newest certificate's expiry,
 * its CRL and (with delta_period) delta CRL dates. */
static void gen_figures(struct gather *g, struct status_ca *c, const struct gen_list *l,
                        unsigned k, const struct crl_state *st)
{
    const struct ca_cfg *cc = g->cfg ? config_ca(g->cfg, c->name) : NULL;
    const struct ca_gen *newest = gen_list_key(l, k);
    struct status_gen *sg = &c->gens[c->n_gens++];

    memset(sg, 0, sizeof(*sg));
    sg->key_index = k;
    sg->cert_index = newest ? newest->cert_index : k;
    sg->cert_not_after = gen_list_key_end(l, k);
    sg->crl_number = st->last_number;
    sg->crl_this_update = st->this_update;
    sg->crl_next_publish = st->next_publish;
    sg->crl_next_update = st->next_update;
    if (cc && cc->delta_period > 0 && st->delta_next_publish) {
        sg->delta_this_update = st->delta_this_update;
        sg->delta_next_publish = st->delta_next_publish;
        sg->delta_next_update = st->delta_next_publish + (time_t)cc->crl_overlap;
    }
}

/* Key generation k of rec: the newest key's CRL figures are the CA's (what it signs now names
 * that CRL), the older keys' are judged too; each one still publishing gets its figures. */
static void gather_key(struct gather *g, struct status_ca *c, const struct ca_rec *rec,
                       const struct gen_list *l, unsigned k, const struct crl_state *st)
{
    if (k == c->key_index) {
        crl_figures(g, c, st);
        c->crl_checked = rec->state == CA_ACTIVE || (rec->state == CA_RETIRED && !st->final);
        if (c->crl_checked)
            judge_crl(c, g->r->now);
    } else if (rec->state != CA_PENDING) {
        judge_old_key(c, g->r->now, k, st);
    }
    if (rec->state != CA_PENDING && !st->final)
        gen_figures(g, c, l, k, st);
}

/* The CRL state of every key generation of rec (oldest first). 1 ok / 0 store failure. */
static int gather_keys(struct gather *g, struct status_ca *c, const struct ca_rec *rec)
{
    static struct gen_list l;
    struct crl_state st;
    int ok = gen_list_load(g->t, rec->name, &l);

    c->key_index = ok && l.n ? l.g[l.n - 1].key_index : 0;
    if (ok && l.n && (c->gens = calloc(l.n, sizeof(*c->gens))) == NULL)
        ok = 0;
    if (ok && l.n == 0) {                  /* a pending CA: key 0's state, no generation */
        memset(&st, 0, sizeof(st));
        if ((ok = store_crl_state_get_k(g->t, rec->name, 0, &st) >= 0))
            gather_key(g, c, rec, &l, 0, &st);
    }
    for (size_t i = 0; ok && i < l.n; i++) {
        if (l.g[i].key_index != l.g[i].cert_index)
            continue;                      /* a same-key renewal: its key's generation is earlier */
        memset(&st, 0, sizeof(st));
        if ((ok = store_crl_state_get_k(g->t, rec->name, l.g[i].key_index, &st) >= 0))
            gather_key(g, c, rec, &l, l.g[i].key_index, &st);
    }
    gen_list_clear(&l);
    return ok;
}

/* The CRLs of the CA's parent on another machine, when it has one, and their judgement. */
static int root_crl(struct gather *g, struct status_ca *c, const struct ca_rec *rec)
{
    int warn_days = g->cfg ? g->cfg->ceremony_warn_days : CEREMONY_WARN_DAYS;
    unsigned char id[STORE_KEY_HASH];
    struct crlimp_horizon h;
    char when[32];

    if (crlimp_parent_of(rec, id) != 0)
        return 1;
    if (!crlimp_horizon_get(g->t, id, &h))
        return 0;
    if (!h.any)
        return 1;
    c->root_crl_imported = 1;
    c->root_crl_horizon = h.last_next_update;
    c->root_crl_number = h.pub_number;
    c->root_crl_next_update = h.pub_next_update;
    c->root_crl_last = h.last_number;
    c->root_crl_ceremony_by = h.ceremony_by;
    c->root_crl_waiting = h.waiting;
    if (h.pub_number && g->r->now >= h.pub_next_update) {
        time_iso(h.pub_next_update, when);
        finding(c, STATUS_ERROR, "root CRL #%llu past nextUpdate (%s): NPS refuses every logon; "
                "hold the root ceremony and 'offca crl import' its CRL", (unsigned long long)
                h.pub_number, when);
    } else if (g->r->now >= h.ceremony_by - (time_t)warn_days * 86400) {
        time_iso(h.ceremony_by, when);
        finding(c, STATUS_WARN, "root ceremony due by %s (the last root CRL here, #%llu, runs "
                "out then)", when, (unsigned long long)h.last_number);
    }
    return 1;
}

/* One CA: its certificate, CRL state of every key generation, leaf counts, findings. */
static int gather_one(void *arg, const struct ca_rec *rec)
{
    struct gather *g = arg;
    struct status_ca *c;
    X509 *x;

    if (g->r->n >= MAX_STATUS_CAS) {
        g->failed = 2;                     /* never a partial report: the caller refuses */
        return 0;
    }
    c = g->cur = &g->r->cas[g->r->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", rec->name);
    c->state = rec->state;
    c->is_root = rec->is_root;
    if (rec->cert_len && (x = der_to_x509(rec->cert_der, rec->cert_len)) != NULL) {
        c->has_cert = 1;
        c->cert_not_after = asn1_time_to_time(X509_get0_notAfter(x));
        X509_free(x);
        judge_cert(c, g->r->now);
    }
    if (!gather_keys(g, c, rec) || !store_cert_foreach(g->t, rec->name, count_one, g)) {
        g->failed = 1;
        return 0;
    }
    if (!root_crl(g, c, rec)) {             /* a parent on another machine: its CRLs here */
        g->failed = 1;
        return 0;
    }
    if (c->sev > g->r->worst)
        g->r->worst = c->sev;
    return 1;
}

/* Gather and judge every CA at now, in one read transaction. 1 ok, 0 store failure (store_error),
 * -1 more than MAX_STATUS_CAS CAs. */
int status_gather(struct store *s, struct config *cfg, time_t now, int expiring_days,
                  struct status_report *r)
{
    struct gather g = {NULL, cfg, r, NULL, 0};
    int ok;

    memset(r, 0, sizeof(*r));
    r->now = now;
    r->expiring_days = expiring_days;
    if ((r->cas = calloc(MAX_STATUS_CAS, sizeof(*r->cas))) == NULL)
        return 0;
    if ((g.t = store_txn_begin(s, 0)) == NULL)
        return 0;
    ok = store_ca_foreach(g.t, gather_one, &g);
    store_txn_abort(g.t);
    return g.failed == 2 ? -1 : ok && !g.failed;
}

/* Free what status_gather allocated; NULL is a no-op. */
void status_report_free(struct status_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; r->cas && i < r->n; i++)
        free(r->cas[i].gens);
    free(r->cas);
    memset(r, 0, sizeof(*r));
}
