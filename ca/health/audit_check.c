/*
 * audit_check.c — the audit log held against the databases: every certificate, CA, revocation
 * and CRL number the records say exists must be in the store. A store that lost a database or
 * entries (a dump reloaded without one, a bad restore) keeps an intact hash chain; this is what
 * notices that the next CRL would silently drop a revocation.
 *
 *   cert.issue  ok  SERIAL            the certificate record exists
 *   ca.create / ca.import  ok  NAME   the CA record exists
 *   cert.revoke / cert.unrevoke ok    the last of them per serial decides: revoked -> the
 *                                     certificate is marked revoked and its revoked entry exists
 *   ca.renew  ok  NAME                the generation it made (cert_index=N) exists
 *   crl.sign (and crl.publish) ok     the CRL state of the CA's key generation (key_index=K,
 *                                     0 when absent) exists, its last number >= base/delta
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/health/health.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"

struct rev_event {
    char ca[MAX_CA_NAME + 1];
    unsigned char serial[MAX_STORE_SERIAL];
    size_t n;
    uint64_t seq;
    int revoked;
};
struct crl_expect {
    char ca[MAX_CA_NAME + 1];
    unsigned k;                        /* key generation: each has its own CRL numbers */
    uint64_t number, seq;
};
struct check {
    struct store_txn *t;
    size_t problems, checked;
    struct rev_event *rev;
    size_t n_rev, cap_rev;
    struct crl_expect *crl;
    size_t n_crl, cap_crl;
    int oom;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size, int *oom)
{
    void *q;

    if (n < *cap)
        return p;
    if ((q = realloc(p, (*cap ? *cap * 2 : 64) * size)) == NULL) {
        *oom = 1;
        return p;
    }
    *cap = *cap ? *cap * 2 : 64;
    return q;
}

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct check *c, const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report("store check: %s", msg);
    c->problems++;
}

static void check_issue(struct check *c, const struct audit_rec *r)
{
    unsigned char sn[MAX_STORE_SERIAL];
    struct cert_rec cr;
    size_t n = 0;
    int found;

    if (!serial_parse(r->object, sn, sizeof(sn), &n))
        return;
    memset(&cr, 0, sizeof(cr));
    if ((found = store_cert_find(c->t, sn, n, &cr)) == 1)
        cert_rec_clear(&cr);
    else if (found == 0)
        problem(c, "certificate %s (audit record %llu, cert.issue) is missing from the store",
                r->object, (unsigned long long)r->seq);
    c->checked++;
}

static void check_ca(struct check *c, const struct audit_rec *r)
{
    struct ca_rec cr;
    int found = store_ca_get(c->t, r->object, &cr);

    if (found == 1)
        ca_rec_clear(&cr);
    else if (found == 0)
        problem(c, "CA '%s' (audit record %llu, %s) is missing from the store", r->object,
                (unsigned long long)r->seq, r->action);
    c->checked++;
}

/* ca.renew: the generation the record names must be in the store. */
static void check_renew(struct check *c, const struct audit_rec *r)
{
    const char *ci = strstr(r->detail, "cert_index=");
    struct ca_gen g;
    int found;

    if (ci == NULL)
        return;
    if ((found = store_gen_get(c->t, r->object, (unsigned)strtoul(ci + 11, NULL, 10), &g)) == 1)
        ca_gen_clear(&g);
    else if (found == 0)
        problem(c, "generation %s of CA '%s' (audit record %llu, ca.renew) is missing from the "
                "store", ci, r->object, (unsigned long long)r->seq);
    c->checked++;
}

static void note_revoke(struct check *c, const struct audit_rec *r)
{
    const char *ca = strstr(r->detail, "ca=");
    struct rev_event *e;
    size_t len;

    if (ca == NULL)
        return;
    c->rev = grow(c->rev, &c->cap_rev, c->n_rev, sizeof(*c->rev), &c->oom);
    if (c->oom)
        return;
    e = &c->rev[c->n_rev];
    memset(e, 0, sizeof(*e));
    ca += 3;
    len = strcspn(ca, " ");
    snprintf(e->ca, sizeof(e->ca), "%.*s", (int)(len > MAX_CA_NAME ? MAX_CA_NAME : len), ca);
    if (!serial_parse(r->object, e->serial, sizeof(e->serial), &e->n))
        return;
    e->seq = r->seq;
    e->revoked = strcmp(r->action, "cert.revoke") == 0;
    c->n_rev++;
}

static void note_crl(struct check *c, const struct audit_rec *r)
{
    const char *b = strstr(r->detail, "base="), *d = strstr(r->detail, "delta=");
    const char *ki = strstr(r->detail, "key_index=");
    unsigned k = ki ? (unsigned)strtoul(ki + 10, NULL, 10) : 0;
    uint64_t num = 0, v;
    size_t i;

    if (b && (v = strtoull(b + 5, NULL, 10)) > num)
        num = v;
    if (d && (v = strtoull(d + 6, NULL, 10)) > num)
        num = v;
    for (i = 0; i < c->n_crl && (strcmp(c->crl[i].ca, r->object) != 0 || c->crl[i].k != k); i++)
        ;
    if (i == c->n_crl) {
        c->crl = grow(c->crl, &c->cap_crl, c->n_crl, sizeof(*c->crl), &c->oom);
        if (c->oom)
            return;
        memset(&c->crl[i], 0, sizeof(c->crl[i]));
        snprintf(c->crl[i].ca, sizeof(c->crl[i].ca), "%s", r->object);
        c->crl[i].k = k;
        c->n_crl++;
    }
    if (num >= c->crl[i].number) {
        c->crl[i].number = num;
        c->crl[i].seq = r->seq;
    }
}

static int on_record(void *arg, const struct audit_rec *r)
{
    struct check *c = arg;

    if (strcmp(r->result, "ok") != 0)
        return 1;
    if (strcmp(r->action, "cert.issue") == 0)
        check_issue(c, r);
    else if (strcmp(r->action, "ca.create") == 0 || strcmp(r->action, "ca.import") == 0)
        check_ca(c, r);
    else if (strcmp(r->action, "ca.renew") == 0)
        check_renew(c, r);
    else if (strcmp(r->action, "cert.revoke") == 0 || strcmp(r->action, "cert.unrevoke") == 0)
        note_revoke(c, r);
    else if (strcmp(r->action, "crl.sign") == 0 || strcmp(r->action, "crl.publish") == 0)
        note_crl(c, r);
    return !c->oom;
}

static int rev_cmp(const void *x, const void *y)
{
    const struct rev_event *a = x, *b = y;
    int d = strcmp(a->ca, b->ca);

    if (d == 0 && a->n != b->n)
        d = a->n < b->n ? -1 : 1;
    if (d == 0)
        d = memcmp(a->serial, b->serial, a->n);
    if (d == 0)
        d = a->seq < b->seq ? -1 : a->seq > b->seq;
    return d;
}

static int same_serial(const struct rev_event *a, const struct rev_event *b)
{
    return strcmp(a->ca, b->ca) == 0 && a->n == b->n && memcmp(a->serial, b->serial, a->n) == 0;
}

/* 1 when the CA's revoked database holds the serial (a walk of that CA's entries). */
static int rev_listed(struct check *c, const struct rev_event *e)
{
    struct store_rev_iter *it = store_rev_iter_new(c->t, e->ca);
    struct store_rev_entry re;
    int r, found = 0;

    if (it == NULL)
        return -1;
    while (!found && (r = store_rev_iter_next(it, &re)) == 1)
        found = re.serial_len == e->n && memcmp(re.serial, e->serial, e->n) == 0 &&
                re.reason != CRL_REASON_REMOVE_FROM_CRL;
    store_rev_iter_free(it);
    return found;
}

static void check_revocations(struct check *c)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    struct cert_rec cr;

    if (c->n_rev > 1)                  /* qsort must not be given a NULL array */
        qsort(c->rev, c->n_rev, sizeof(*c->rev), rev_cmp);
    for (size_t i = 0; i < c->n_rev; i++) {
        const struct rev_event *e = &c->rev[i];

        if (i + 1 < c->n_rev && same_serial(e, e + 1))
            continue;                  /* a later event for the same serial decides */
        if (!e->revoked)
            continue;
        serial_hex(e->serial, e->n, hex);
        memset(&cr, 0, sizeof(cr));
        if (store_cert_get(c->t, e->ca, e->serial, e->n, &cr) != 1 || cr.status != CERT_REVOKED)
            problem(c, "revocation of %s (CA '%s', audit record %llu) is lost: the certificate "
                    "is not marked revoked", hex, e->ca, (unsigned long long)e->seq);
        else if (rev_listed(c, e) == 0)
            problem(c, "revocation of %s (CA '%s', audit record %llu) is missing from the revoked "
                    "database: the next CRL would not list it", hex, e->ca,
                    (unsigned long long)e->seq);
        cert_rec_clear(&cr);
        c->checked++;
    }
}

static void check_crls(struct check *c)
{
    struct crl_state st;
    char key[32];

    for (size_t i = 0; i < c->n_crl; i++) {
        int found;

        key[0] = '\0';
        if (c->crl[i].k)
            snprintf(key, sizeof(key), " key index %u", c->crl[i].k);
        memset(&st, 0, sizeof(st));
        found = store_crl_state_get_k(c->t, c->crl[i].ca, c->crl[i].k, &st);
        if (found == 0 || (found == 1 && st.last_number < c->crl[i].number))
            problem(c, "CRL state of CA '%s'%s is %s (audit record %llu: CRL %llu; store: %llu): "
                    "the next CRL could reuse a number", c->crl[i].ca, key,
                    found ? "behind the audit log" : "missing", (unsigned long long)c->crl[i].seq,
                    (unsigned long long)c->crl[i].number, (unsigned long long)st.last_number);
        c->checked++;
    }
}

/* See health.h. */
int audit_check_store(struct store_txn *t, size_t *checked)
{
    struct check c;
    int ok;

    memset(&c, 0, sizeof(c));
    c.t = t;
    ok = store_audit_foreach(t, on_record, &c);
    if (c.oom) {
        report("store check: out of memory; free memory and retry");
        ok = 0;
    } else if (!ok) {
        report("%s", store_error());
    }
    if (ok) {
        check_revocations(&c);
        check_crls(&c);
    }
    free(c.rev);
    free(c.crl);
    *checked = c.checked;
    return ok ? (int)c.problems : -1;
}
