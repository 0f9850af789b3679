/*
 * crlimp.c — `offca crl import FILE...` on the issuing machine: CRLs of a parent that lives on
 * another machine (the offline root), carried over by hand. Each CRL must be the parent's
 * (crl/import.c: issuer, AKID, signature), lint clean, numbered above every CRL of that parent
 * already imported (RFC 5280 5.2.3; the same number with other bytes is refused, the same bytes
 * again are a no-op), not expired, and not yet valid only when it continues the CRL before it
 * without a gap (a pre-signed set: each one's thisUpdate within the previous one's validity).
 * A CRL voids the pre-signed CRLs still waiting that it overtakes (lower number, thisUpdate not
 * before its own). All of it is one write transaction with an audit record per CRL; a refusal
 * of any file changes nothing. After the commit the CRL now due is published under the name
 * the imported CA's CDP points at and read back (crlimp_pub.c).
 */
#include "ca/publish/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>

#include "base/faultpoint.h"
#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"
#include "templates/template.h"

#define MAX_IMPORT_FILES 256

struct imp_item {
    const char *file;
    X509_CRL *crl;
    struct crl_import_info info;
    size_t parent;                     /* index into the parents */
};

/* The lint of the CRL's TBSCertList, with the parent as issuer. 0 / EXIT_POLICY. */
static int item_lint(struct imp_item *it, X509 *parent)
{
    const struct lint_finding *f;
    struct lint_report r;
    struct lint_opts o;

    lint_opts_init(&o);
    o.issuer = parent;
    o.delta = 0;
    if (!lint_crl_tbs(it->info.der + it->info.tbs_off, it->info.tbs_len, &o, &r))
        return fail_tmpl();
    for (size_t i = 0; i < r.n; i++)
        if (r.f[i].rule->sev == LINT_WARNING)
            report_warn("%s: lint %s (%s): %s; %s", it->file, r.f[i].rule->id,
                        r.f[i].rule->cite, r.f[i].problem, r.f[i].fix);
    if ((f = lint_first_error(&r)) == NULL)
        return 0;
    report("%s: lint %s (%s): %s; %s; nothing was imported", it->file, f->rule->id,
           f->rule->cite, f->problem, f->fix);
    return EXIT_POLICY;
}

/* The parent a CRL claims: its issuer name is the parent's subject, and among parents of one
 * name (a root's key generations after a rollover, each the parent of a CA here) the one whose
 * subject key identifier is the CRL's authority key identifier. ps->n: none of that name. */
static size_t item_parent(const struct crlimp_parents *ps, X509_CRL *crl)
{
    AUTHORITY_KEYID *ak = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    size_t first = ps->n, found = ps->n;

    for (size_t i = 0; found == ps->n && i < ps->n; i++) {
        const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ps->p[i].cert);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ps->p[i].cert)) != 0)
            continue;
        if (first == ps->n)
            first = i;
        if (ak && ak->keyid && skid && ASN1_OCTET_STRING_cmp(ak->keyid, skid) == 0)
            found = i;
    }
    AUTHORITY_KEYID_free(ak);
    return found != ps->n ? found : first;
}

/* Read, parse and verify one file against the parent whose subject is its issuer. */
static int item_load(struct crlimp_parents *ps, const char *file, struct imp_item *it)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc;

    memset(it, 0, sizeof(*it));
    it->file = file;
    if ((rc = file_load(file, MAX_CRLIMP_INPUT, &data, &len)) != 0)
        return rc;
    it->crl = crl_import_parse(data, len, file, &it->info);
    free(data);
    if (it->crl == NULL)
        return fail_crl();
    if ((it->parent = item_parent(ps, it->crl)) == ps->n) {
        char *dn = dn_format(X509_CRL_get_issuer(it->crl));
        report("%s: RFC 5280 6.3.3 (b): wrong issuer: '%s' is not the parent of any CA imported "
               "here (the parent%s here: '%s'%s); import the CRL of the root that signed the "
               "issuing CA (nothing was imported)", file, dn ? dn : "?", ps->n > 1 ? "s" : "",
               ps->p[0].label, ps->n > 1 ? ", ..." : "");
        OPENSSL_free(dn);
        return EXIT_POLICY;
    }
    if (!crl_import_check(it->crl, ps->p[it->parent].cert, file))
        return fail_crl();
    if (ps->p[it->parent].n_files == 0) {
        report("%s: CA '%s' has no HTTP CDP: nothing points at its parent's CRL, so there is no "
               "name to publish it under; have the parent reissue it with a CDP", file,
               ps->p[it->parent].nocdp);
        return EXIT_POLICY;
    }
    return item_lint(it, ps->p[it->parent].cert);
}

static int item_cmp(const void *x, const void *y)
{
    const struct imp_item *a = x, *b = y;

    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return a->info.number < b->info.number ? -1 : a->info.number > b->info.number;
}

static void items_free(struct imp_item *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        X509_CRL_free(v[i].crl);
        crl_import_info_clear(&v[i].info);
    }
    free(v);
}

/* Same number already held: identical bytes are a no-op (1), other bytes refused. */
static int item_known(const struct crlimp_list *l, const struct imp_item *it, int *rc)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->r[i].number != it->info.number)
            continue;
        if (memcmp(l->r[i].sha256, it->info.sha256, 32) == 0) {
            printf("%s: CRL %llu is already imported (identical); nothing to do\n", it->file,
                   (unsigned long long)it->info.number);
            *rc = 0;
        } else {
            report("%s: RFC 5280 5.2.3: CRL number %llu is already imported with other content; "
                   "two CRLs with one number cannot both be the parent's: check the root "
                   "machine's store (nothing was imported)", it->file,
                   (unsigned long long)it->info.number);
            *rc = EXIT_POLICY;
        }
        return 1;
    }
    return 0;
}

/* The time and order rules against what is held (l, ascending by number). 0 / EXIT_POLICY. */
static int item_rules(const struct crlimp_list *l, const struct imp_item *it, time_t now)
{
    const struct crlimp_rec *last = l->n ? &l->r[l->n - 1] : NULL;
    char tu[32], nu[32], clock[32];

    time_iso(it->info.this_update, tu);
    time_iso(it->info.next_update, nu);
    time_iso(now, clock);
    if (last && it->info.number < last->number) {
        report("%s: RFC 5280 5.2.3: older: CRL %llu is below CRL %llu, already imported; import "
               "the newest CRL from the root machine (nothing was imported)", it->file,
               (unsigned long long)it->info.number, (unsigned long long)last->number);
        return EXIT_POLICY;
    }
    if (it->info.next_update <= now) {
        report("%s: RFC 5280 5.1.2.5: expired: CRL %llu's nextUpdate %s has passed (clock %s); "
               "hold a root ceremony for a new CRL (nothing was imported)", it->file,
               (unsigned long long)it->info.number, nu, clock);
        return EXIT_POLICY;
    }
    if (it->info.this_update > now &&
        !(last && last->number + 1 == it->info.number && last->this_update <= it->info.this_update &&
          last->next_update >= it->info.this_update)) {
        report("%s: RFC 5280 5.1.2.4: not yet valid: CRL %llu's thisUpdate %s is after the clock "
               "(%s) and it does not continue CRL %llu without a gap; import the set with the "
               "CRL before it, or check the clocks of both machines (nothing was imported)",
               it->file, (unsigned long long)it->info.number, tu, clock,
               (unsigned long long)(it->info.number - 1));
        return EXIT_POLICY;
    }
    return 0;
}

/* Waiting pre-signed CRLs that it overtakes are void: removed, audited. */
static int item_voids(struct store_txn *t, struct crlimp_list *l, const struct imp_item *it,
                      const struct crlimp_parent *p)
{
    char detail[128];
    size_t o = 0;

    for (size_t i = 0; i < l->n; i++) {
        struct crlimp_rec *r = &l->r[i];
        if (r->state == CRLIMP_WAITING && r->number < it->info.number &&
            r->this_update >= it->info.this_update) {
            snprintf(detail, sizeof(detail), "number=%llu voided by CRL %llu",
                     (unsigned long long)r->number, (unsigned long long)it->info.number);
            if (!store_crlimp_del(t, p->id, r->number) ||
                !store_audit_append(t, "crl.import-void", p->label, "ok", detail))
                return fail_store();
            printf("pre-signed CRL %llu (waiting) is void: CRL %llu replaces it\n",
                   (unsigned long long)r->number, (unsigned long long)it->info.number);
            free((void *)r->der);
            continue;
        }
        l->r[o++] = *r;
    }
    l->n = o;
    return 0;
}

/* Record the item (waiting until settled) in t and in l. */
static int item_add(struct store_txn *t, struct crlimp_list *l, const struct imp_item *it,
                    const struct crlimp_parent *p, time_t now)
{
    struct crlimp_rec r;
    char detail[400], tu[32], nu[32], hex[65];
    unsigned char *der;

    if (l->n == MAX_CRLIMP_RECS || (der = malloc(it->info.der_len)) == NULL) {
        report("%s: too many CRLs of one parent, or out of memory", it->file);
        return EXIT_SYSTEM;
    }
    memcpy(der, it->info.der, it->info.der_len);
    memset(&r, 0, sizeof(r));
    memcpy(r.parent, p->id, STORE_KEY_HASH);
    r.number = it->info.number;
    r.this_update = it->info.this_update;
    r.next_update = it->info.next_update;
    r.next_publish = it->info.next_publish;
    r.imported_at = now;
    r.state = CRLIMP_WAITING;
    memcpy(r.sha256, it->info.sha256, 32);
    r.der = der;
    r.der_len = it->info.der_len;
    l->r[l->n++] = r;
    time_iso(r.this_update, tu);
    time_iso(r.next_update, nu);
    serial_hex(r.sha256, 32, hex);
    snprintf(detail, sizeof(detail), "number=%llu thisUpdate=%s nextUpdate=%s sha256=%s file=%s",
             (unsigned long long)r.number, tu, nu, hex, it->file);
    if (!store_crlimp_put(t, &r) || !store_audit_append(t, "crl.import", p->label, "ok", detail))
        return fail_store();
    printf("%s: imported CRL %llu of %s (thisUpdate %s, nextUpdate %s)%s\n", it->file,
           (unsigned long long)r.number, p->label, tu, nu,
           r.this_update > now ? "; pre-signed: published when its thisUpdate comes" : "");
    return 0;
}

/* After the commit: what to put in place for one parent. */
struct imp_out {
    size_t parent;
    int changed;
    struct crlimp_rec rec;             /* der owned */
};

/* Every item of one parent (items[from..to)), then what is due. */
static int parent_apply(struct store_txn *t, struct imp_item *items, size_t from, size_t to,
                        const struct crlimp_parent *p, struct imp_out *out)
{
    struct crlimp_list l;
    time_t now = ca_now();
    long pick = -1;
    int rc;

    if ((rc = crlimp_list_load(t, p->id, &l)) != 0)
        return rc;
    for (size_t i = from; rc == 0 && i < to; i++) {
        int known = item_known(&l, &items[i], &rc);
        if (!known && (rc = item_rules(&l, &items[i], now)) == 0 &&
            (rc = item_voids(t, &l, &items[i], p)) == 0)
            rc = item_add(t, &l, &items[i], p, now);
    }
    if (rc == 0 && (rc = crlimp_settle(t, &l, now, &pick, &out->changed)) == 0 && pick >= 0) {
        out->rec = l.r[pick];
        l.r[pick].der = NULL;          /* moved */
    }
    crlimp_list_free(&l);
    return rc;
}

/* The write transaction over all items (sorted), then the files. */
static int import_apply(struct store *st, const struct config *cfg, struct crlimp_parents *ps,
                        struct imp_item *items, size_t n)
{
    struct imp_out out[MAX_CRLIMP_PARENTS];
    struct store_txn *t = store_txn_begin(st, 1);
    size_t no = 0, from = 0;
    int rc = 0, written;

    memset(out, 0, sizeof(out));
    if (t == NULL)
        return fail_store();
    while (rc == 0 && from < n) {
        size_t to = from;
        while (to < n && items[to].parent == items[from].parent)
            to++;
        out[no].parent = items[from].parent;
        rc = parent_apply(t, items, from, to, &ps->p[items[from].parent], &out[no++]);
        from = to;
    }
    if (rc != 0) {
        store_txn_abort(t);
    } else if ((rc = txn_finish(t, 1)) == 0) {
        FAULTPOINT("crlimp.committed", ps->p[out[0].parent].label);
        for (size_t i = 0; i < no && rc == 0; i++) {
            const struct crlimp_parent *p = &ps->p[out[i].parent];
            if (out[i].rec.der == NULL)
                continue;
            rc = crlimp_files_put(cfg, p, &out[i].rec, !out[i].changed, &written);
            if (out[i].changed || written)
                crlimp_audit_files(st, p, out[i].rec.number, "crl.import-publish", rc);
            if (rc == 0 && (out[i].changed || written))
                printf("published CRL %llu of %s as %s/%s\n",
                       (unsigned long long)out[i].rec.number, p->label, cfg->publish_dir,
                       p->files[0]);
        }
    }
    for (size_t i = 0; i < no; i++)
        free((void *)out[i].rec.der);
    return rc;
}

/* See publish.h. */
int crlimp_import_count(int n)
{
    if (n < 1 || n > MAX_IMPORT_FILES) {
        report("crl import: give 1 to %d CRL files; see 'offca crl import --help'",
               MAX_IMPORT_FILES);
        return EXIT_USAGE;
    }
    return 0;
}

/* See publish.h. */
int crlimp_import(struct store *st, const struct config *cfg, char **files, int n)
{
    static struct crlimp_parents ps;
    struct imp_item *items = NULL;
    struct store_txn *t;
    size_t got = 0;
    int rc;

    if ((rc = crlimp_import_count(n)) != 0 || (rc = publish_begin(cfg)) != 0)
        return rc;
    if ((t = store_txn_begin(st, 0)) == NULL)
        return fail_store();
    rc = crlimp_parents_load(t, &ps);
    store_txn_abort(t);
    if (rc == 0 && ps.n == 0) {
        report("crl import: no CA here has its parent on another machine (a CA made by 'offca "
               "ca csr' + 'offca ca import'); CAs whose parent is in this store publish with "
               "'offca crl publish'");
        rc = EXIT_USAGE;
    }
    if (rc == 0 && (items = calloc((size_t)n, sizeof(*items))) == NULL)
        rc = EXIT_SYSTEM;
    for (; rc == 0 && got < (size_t)n; got++)
        rc = item_load(&ps, files[got], &items[got]);
    if (rc == 0) {
        qsort(items, got, sizeof(*items), item_cmp);
        rc = import_apply(st, cfg, &ps, items, got);
    }
    items_free(items, items ? (size_t)n : 0);
    crlimp_parents_free(&ps);
    return rc;
}
