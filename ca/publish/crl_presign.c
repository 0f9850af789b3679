/*
 * crl_presign.c — `offca crl presign --ca ROOT --count N [--out DIR]` on the root machine: the
 * next N CRLs signed in one ceremony, so the token can stay in the safe for N CRL periods. They
 * are the CRLs of the CA's active key generation (NAME.crl, NAME(k).crl after a new-key
 * renewal), numbered on from that key's last CRL. CRL
 * k (numbers consecutive after the key's last) lists every revocation of a certificate that key
 * signed, recorded now; its
 * thisUpdate is CRL k-1's Next CRL Publish (the first one continues the CRL published last),
 * its Next CRL Publish thisUpdate + crl_period, its nextUpdate that + crl_overlap: each one is
 * valid for period + overlap and takes over inside its predecessor's validity. Every CRL is
 * linted before the token signs it; all N are recorded (crl_presigned) with the CA's new last
 * number and an audit record in ONE transaction, and written out only after the commit. A
 * revocation later makes the rest void: the next CRL gets a higher number, and `crl import` of
 * it discards the pre-signed ones still waiting on the issuing machine.
 */
#include "ca/publish/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "base/faultpoint.h"
#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"

struct presigned {
    unsigned char *der;                /* OPENSSL_malloc'd */
    size_t len;
    uint64_t number;
    time_t this_update, next_publish, next_update;
};

/* What a presign needs of the CA's state: a published CRL to continue, nothing unpublished,
 * no delta CRLs, its Next CRL Publish still ahead. 0 / EXIT_POLICY. */
static int presign_ready(struct ca_signer *s, const struct crl_state *st, time_t now)
{
    const char *n = s->rec.name;

    if (s->cfg->delta_period > 0) {
        report("CA '%s': crl presign: the CA publishes delta CRLs (delta_period), which cannot be "
               "signed ahead; pre-sign only for a CA without delta CRLs", n);
        return EXIT_POLICY;
    }
    if (st->last_number == 0 || st->dirty || st->next_publish <= now) {
        report("CA '%s': crl presign: %s; run 'offca crl publish --ca %s --force --out DIR' first "
               "in this ceremony, then pre-sign", n, st->last_number == 0 ? "no CRL published "
               "yet (the pre-signed CRLs continue the last one)" : st->dirty ? "revocations are "
               "not on a CRL yet" : "the last CRL's Next CRL Publish has passed", n);
        return EXIT_POLICY;
    }
    return 0;
}

/* A second presign continues the last pre-signed CRL when it is the CA's last CRL. */
struct last_pre {
    uint64_t number;
    time_t next_publish;
    int found;
};

static int last_pre_one(void *arg, const struct presign_rec *r)
{
    struct last_pre *l = arg;

    if (r->number == l->number) {
        l->next_publish = r->next_publish;
        l->found = 1;
    }
    return 1;
}

/* Build and sign CRL number p->number (dates set) inside t. 0 or the exit class. */
static int presign_one(struct hsm *h, struct ca_signer *s, struct store_txn *t,
                       struct crl_params *p, struct presigned *out)
{
    struct crl_lint_arg la = { s->cert, 0, (int64_t)p->number - 1, s->rec.name };
    struct crl_walk w = { .key_index = s->key_index };   /* its base CRL's entries */
    EVP_MD_CTX *md;

    p->tbs_check = crl_lint_cb;
    p->tbs_check_arg = &la;
    if ((md = hsm_sign_ctx_new(h, s->key, s->sig, s->hash)) == NULL)
        return fail_hsm();
    if ((w.it = store_rev_iter_new(t, s->rec.name)) == NULL) {
        EVP_MD_CTX_free(md);
        return fail_store();
    }
    out->der = crl_build(p, publish_next_entry, &w, md, &out->len);
    store_rev_iter_free(w.it);
    if (out->der == NULL)
        return fail_crl();
    out->number = p->number;
    out->this_update = p->this_update;
    out->next_publish = p->next_publish;
    out->next_update = p->next_update;
    return 0;
}

static int presign_record(struct store_txn *t, const struct ca_signer *s,
                          const struct presigned *v, time_t now)
{
    struct presign_rec r;

    memset(&r, 0, sizeof(r));
    snprintf(r.ca, sizeof(r.ca), "%s", s->rec.name);
    r.key_index = s->key_index;
    r.number = v->number;
    r.this_update = v->this_update;
    r.next_update = v->next_update;
    r.next_publish = v->next_publish;
    r.signed_at = now;
    r.der = v->der;
    r.der_len = v->len;
    return EVP_Digest(v->der, v->len, r.sha256, NULL, EVP_sha256(), NULL) &&
           store_presign_put(t, &r);
}

/* The N CRLs, their records, the CA's last number and the audit record: one transaction. */
static int presign_build(struct store *store, struct hsm *h, struct ca_signer *s, int count,
                         struct presigned *v)
{
    struct store_txn *t = store_txn_begin(store, 1);
    time_t now = ca_now(), ca_end = asn1_time_to_time(X509_get0_notAfter(s->cert));
    struct crl_params p;
    struct crl_state st;
    struct last_pre lp = { 0, 0, 0 };
    char detail[200], first[32], last[32], cdp[MAX_CONFIG_URL + 16];
    int rc = 0;

    if (t == NULL)
        return fail_store();
    if (store_crl_state_get_k(t, s->rec.name, s->key_index, &st) < 0) {
        store_txn_abort(t);
        return fail_store();
    }
    lp.number = st.last_number;
    if (!store_presign_foreach(t, s->rec.name, s->key_index, last_pre_one, &lp)) {
        store_txn_abort(t);
        return fail_store();
    }
    if ((rc = presign_ready(s, &st, now)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    memset(&p, 0, sizeof(p));
    p.issuer = s->cert;
    p.ca_version = (int64_t)gen_ca_version(s->key_index, s->cert_index);
    gen_url(s->cfg->cdp_url, s->key_index, cdp, sizeof(cdp));
    if (s->cfg->crl_idp && !s->rec.is_root)
        p.idp_url = cdp;                   /* as crl publish writes it (publish.c) */
    p.next_publish = lp.found ? lp.next_publish : st.next_publish;   /* continue the set */
    for (int k = 0; rc == 0 && k < count; k++) {
        p.number = st.last_number + 1 + (uint64_t)k;
        p.this_update = p.next_publish;
        p.next_publish = p.this_update + (time_t)s->cfg->crl_period;
        p.next_update = p.next_publish + (time_t)s->cfg->crl_overlap;
        if (p.this_update >= ca_end) {
            time_iso(ca_end, last);
            report("CA '%s': crl presign: CRL %llu would start after the CA certificate expires "
                   "(%s); pre-sign at most %d, or renew the CA first", s->rec.name,
                   (unsigned long long)p.number, last, k);
            rc = EXIT_POLICY;
        } else if ((rc = presign_one(h, s, t, &p, &v[k])) == 0 &&
                   !presign_record(t, s, &v[k], now)) {
            rc = fail_store();
        }
    }
    if (rc != 0) {
        store_txn_abort(t);
        return rc;
    }
    st.last_number = st.last_base_number = v[count - 1].number;
    time_iso(v[0].this_update, first);
    time_iso(v[count - 1].next_update, last);
    snprintf(detail, sizeof(detail), "key_index=%u numbers=%llu..%llu first_thisUpdate=%s "
             "last_nextUpdate=%s", s->key_index, (unsigned long long)v[0].number,
             (unsigned long long)v[count - 1].number, first, last);
    return txn_finish(t, store_crl_state_put_k(t, s->rec.name, s->key_index, &st) &&
                             store_audit_append(t, "crl.presign", s->rec.name, "ok", detail));
}

/* After the commit: DIR/NAME-crl-N.crl for each (NAME(k)-crl-N.crl for key generation k; 0644). */
static int presign_write(const char *ca, unsigned key_index, const char *dir,
                         const struct presigned *v, int count)
{
    char path[MAX_PATH_BYTES], tu[32] = "", nu[32] = "", base[MAX_CA_NAME + 16];
    char crl[MAX_CA_NAME + 16];
    int rc;

    if (key_index == 0)
        snprintf(base, sizeof(base), "%s", ca);
    else
        snprintf(base, sizeof(base), "%s(%u)", ca, key_index);
    gen_file(ca, key_index, "crl", 0, crl, sizeof(crl));
    for (int k = 0; k < count; k++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s-crl-%llu.crl", dir, base,
                             (unsigned long long)v[k].number) >= sizeof(path)) {
            report("--out %s: path too long; choose a shorter directory", dir);
            return EXIT_USAGE;
        }
        if ((rc = file_write(path, v[k].der, v[k].len, 0644, 1)) != 0) {
            report("CA '%s': pre-signed CRLs %llu.. are recorded but not all were written; run "
                   "'offca crl presign --ca %s' again for a new set (the numbers move on)", ca,
                   (unsigned long long)v[0].number, ca);
            return rc;
        }
        time_iso(v[k].this_update, tu);
        time_iso(v[k].next_update, nu);
        printf("%s: pre-signed CRL %llu, thisUpdate %s, nextUpdate %s\n", path,
               (unsigned long long)v[k].number, tu, nu);
    }
    printf("carry them with %s to the issuing machine: offca crl import %s/%s-crl-*.crl; "
           "the next ceremony is due before %s\n", crl, dir, base, nu);
    return 0;
}

/* See publish.h. */
int crl_presign(struct store *st, struct hsm *h, const struct config *cfg, const char *ca,
                int count, const char *out_dir)
{
    struct presigned *v = NULL;
    struct ca_signer s;
    int rc;

    memset(&s, 0, sizeof(s));
    if ((rc = ca_name_check(ca)) != 0)
        return rc;
    if (count < 1 || count > MAX_PRESIGN_COUNT) {
        report("crl presign: --count %d: give 1 to %d", count, MAX_PRESIGN_COUNT);
        return EXIT_USAGE;
    }
    if (lock_publish(cfg) < 0)
        return EXIT_SYSTEM;
    if ((rc = ca_signer_open(st, h, cfg, ca, &s)) != 0)
        return rc;
    if ((v = calloc((size_t)count, sizeof(*v))) == NULL)
        rc = EXIT_SYSTEM;
    if (rc == 0 && (rc = presign_build(st, h, &s, count, v)) == 0) {
        FAULTPOINT("presign.committed", ca);
        rc = presign_write(ca, s.key_index, out_dir ? out_dir : cfg->publish_dir, v, count);
    }
    for (int k = 0; v && k < count; k++)
        OPENSSL_free(v[k].der);
    free(v);
    ca_signer_close(&s);
    return rc;
}
