/*
 * publish.c — CRL publication for cron: decide, build + sign + record (one write txn), publish
 * (temp, fsync, rename, fsync dir), verify the published file. An flock on the store directory
 * serialises overlapping runs (the second waits); the publish directory is checked (owner,
 * mode) and read only through O_NOFOLLOW.
 */
#include "ca/publish/publish.h"

#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "base/faultpoint.h"
#include "base/fsio.h"
#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"

enum { PUB_BASE = 1, PUB_DELTA = 2 };

/* The entries a CRL lists: a base CRL every revoked certificate but no removeFromCRL tombstone;
 * a delta CRL everything changed since its base, tombstones included (RFC 5280 5.2.4). */
static int listed(const struct crl_walk *w, const struct store_rev_entry *re)
{
    if (re->key_index != w->key_index)
        return 0;
    if (w->delta)
        return re->changed_in >= w->min_changed;
    return re->reason != CRL_REASON_REMOVE_FROM_CRL;
}

int publish_next_entry(void *arg, struct crl_entry *e)
{
    struct crl_walk *w = arg;
    struct store_rev_entry re;
    int r;

    while ((r = store_rev_iter_next(w->it, &re)) == 1 && !listed(w, &re))
        ;
    if (r != 1) {
        if (r < 0)
            report("%s", store_error());
        return r;
    }
    memcpy(e->serial, re.serial, re.serial_len);
    e->serial_len = re.serial_len;
    e->revoked_at = re.revoked_at;
    e->reason = re.reason;
    e->invalidity = re.invalidity;
    progress_step(&w->pg, ++w->done, NULL);
    return 1;
}

/* The entries CRL w will list, for the progress line (a walk of its own: only on a terminal). */
static size_t listed_total(struct store_txn *t, const char *ca, const struct crl_walk *w)
{
    struct store_rev_iter *it = store_rev_iter_new(t, ca);
    struct store_rev_entry re;
    size_t n = 0;

    while (it != NULL && store_rev_iter_next(it, &re) == 1)
        n += listed(w, &re) != 0;
    store_rev_iter_free(it);
    return n;
}

/* Start the progress line of CRL number n of w (nothing drawn off a terminal). */
static void walk_progress(struct crl_walk *w, struct store_txn *t, const char *ca, uint64_t n)
{
    if (w->key_index == 0)
        snprintf(w->what, sizeof(w->what), "%s: %sCRL %llu entries", ca, w->delta ? "delta " :
                 "", (unsigned long long)n);
    else
        snprintf(w->what, sizeof(w->what), "%s(%u): %sCRL %llu entries", ca, w->key_index,
                 w->delta ? "delta " : "", (unsigned long long)n);
    progress_begin(&w->pg, w->what, progress_shown() ? listed_total(t, ca, w) : 0);
}

/* The CRL of key generation k: NAME.crl / NAME(k).crl, the delta with "+" before ".crl". */
static void crl_path(const struct config *cfg, const char *name, unsigned k, int delta,
                     char *buf, size_t n)
{
    char file[MAX_CA_NAME + 16];

    gen_file(name, k, "crl", delta, file, sizeof(file));
    snprintf(buf, n, "%s/%s", cfg->publish_dir, file);
}

/* The publish directory is hostile ground (a web deploy tool, another admin write there): a
 * file is read only when it is a regular file reached without a symlink; anything else (a
 * link, a FIFO, a device) is "not what offca published" and gets replaced. -1 then, quietly. */
static int pub_open(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* The whole published file at path (see publish.h): the one loader, no symlink, regular files
 * only; its message is dropped, since for the publisher a file it cannot read is one to
 * replace. */
int publish_file_load(const char *path, size_t max, unsigned char **data, size_t *len)
{
    struct fsio_load l = { .max = max, .nofollow = 1 };

    if (fsio_load(path, &l, data, len))
        return 1;
    base_err_clear();
    return 0;
}

/* SHA-256 of the published file at path, read in chunks (a 1M-entry CRL is ~53 MB: never held
 * whole). 1 ok / 0 (missing, not ours (pub_open) or unreadable: the caller publishes again). */
static int file_sha256(const char *path, unsigned char md[32])
{
    unsigned char buf[64 * 1024];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    struct stat st;
    int fd = pub_open(path, &st);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    size_t n;
    int ok = ctx != NULL && f != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) > 0;

    if (f == NULL && fd >= 0)
        close(fd);
    while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n) > 0;
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, NULL) > 0;
    if (f != NULL)
        fclose(f);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* 1 when the published base CRL is the one the store recorded. */
static int file_matches(const struct config *cfg, const char *name, unsigned k,
                        const struct crl_state *st)
{
    unsigned char md[32];
    char path[MAX_PATH_BYTES];

    crl_path(cfg, name, k, 0, path, sizeof(path));
    return file_sha256(path, md) && memcmp(md, st->base_sha256, 32) == 0;
}

/* 1 when the published delta CRL carries the CA's last CRL number: with deltas on, every run
 * that publishes ends with a delta, so anything else is a run killed between the base and the
 * delta (a delta left pointing at an older base) or a file changed behind our back. */
static int delta_matches(const struct config *cfg, const char *name, unsigned k,
                         const struct crl_state *st)
{
    unsigned char *data = NULL;
    const unsigned char *p;
    size_t len = 0;
    char path[MAX_PATH_BYTES];
    X509_CRL *crl = NULL;
    ASN1_INTEGER *num = NULL;
    uint64_t n = 0;
    int same = 0;

    crl_path(cfg, name, k, 1, path, sizeof(path));
    if (!publish_file_load(path, 512L * 1024 * 1024, &data, &len))
        return 0;
    p = data;
    if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) != NULL &&
        (num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL)) != NULL)
        same = ASN1_INTEGER_get_uint64(&n, num) && n == st->last_number;
    ERR_clear_error();
    ASN1_INTEGER_free(num);
    X509_CRL_free(crl);
    free(data);
    return same;
}

/* What is due for key generation k of CA name (PUB_BASE | PUB_DELTA), and when the next
 * publication falls due. */
static int decide(const struct config *cfg, const char *name, unsigned k, const struct crl_state *st,
                  int force, time_t *due)
{
    const struct ca_cfg *cc = config_ca(cfg, name);
    time_t now = ca_now();
    int what = 0;

    *due = st->next_publish;
    if (force || st->last_number == 0 || now >= st->next_publish || !file_matches(cfg, name, k, st) ||
        st->this_update > now)
        what |= PUB_BASE;
    if (cc->delta_period > 0) {
        if (st->delta_next_publish < *due)
            *due = st->delta_next_publish;
        if (st->dirty || now >= st->delta_next_publish || (what & PUB_BASE) ||
            st->delta_this_update > now ||
            !delta_matches(cfg, name, k, st))
            what |= PUB_DELTA;
    } else if (st->dirty) {
        what |= PUB_BASE;
    }
    return what;
}

/* The Freshest CRL / delta location: the CDP with "+" before ".crl" (AD CS's convention).
 * 1, or 0 (reported) when it does not fit: a URL is refused, never cut. */
static int delta_url(const char *cdp, char *buf, size_t n)
{
    size_t len = strlen(cdp);
    int w;

    if (len > 4 && strcmp(cdp + len - 4, ".crl") == 0)
        w = snprintf(buf, n, "%.*s+.crl", (int)(len - 4), cdp);
    else
        w = snprintf(buf, n, "%s+", cdp);
    if (w < 0 || (size_t)w >= n) {
        report("CDP '%.80s...': the Freshest CRL URL made from it is over %zu bytes; set a "
               "shorter cdp_url", cdp, n - 1);
        return 0;
    }
    return 1;
}

/* The lint on the TBSCertList before the token signs it (crl_params.tbs_check; publish.h). */
int crl_lint_cb(void *arg, const unsigned char *tbs, size_t len, char *msg, size_t n)
{
    const struct crl_lint_arg *la = arg;
    const struct lint_finding *f;
    struct lint_report r;
    struct lint_opts o;

    lint_opts_init(&o);
    o.issuer = la->issuer;
    o.delta = la->delta;
    o.prev_number = la->prev;
    if (!lint_crl_tbs(tbs, len, &o, &r)) {
        snprintf(msg, n, "%s", tmpl_error());
        return 0;
    }
    for (size_t i = 0; i < r.n; i++)
        if (r.f[i].rule->sev == LINT_WARNING)
            report_warn("CA '%s': %s CRL: lint %s (%s): %s; %s", la->ca, la->delta ? "delta" :
                        "full", r.f[i].rule->id, r.f[i].rule->cite, r.f[i].problem, r.f[i].fix);
    if ((f = lint_first_error(&r)) == NULL)
        return 1;
    snprintf(msg, n, "CA '%s': %s CRL: lint %s (%s): %s; %s; nothing was published", la->ca,
             la->delta ? "delta" : "full", f->rule->id, f->rule->cite, f->problem, f->fix);
    return 0;
}

struct built {
    unsigned char *der;
    size_t len;
    uint64_t number;
};

/* What one CA's run knows beyond the CRL state: --force, whether the CA certificate has
 * expired (CRLs go on, said loudly), and whether the last CRL's thisUpdate lay in the future. */
struct pub_run {
    int force;
    int ca_expired;
    int repaired;                 /* set by this_update_pick: a future thisUpdate replaced */
    int backwards;                /* set by this_update_pick: --force made thisUpdate go back */
    int final;                    /* the key generation's last certificate has expired: this is
                                   * its last CRL (its CA certificate has expired too) */
};

/* thisUpdate of the next CRL: now - clock_skew, never before the CA's notBefore. A last CRL
 * (base or delta) whose thisUpdate is in the future was made with a fast clock and is refused
 * by relying parties (RFC 5280 6.3.3 (a)(2)): replaced, said on stderr. A thisUpdate before
 * the last one's otherwise means the clock went back: refused unless --force. 0 / EXIT_POLICY. */
static int this_update_pick(struct ca_signer *s, const struct crl_state *st,
                            struct pub_run *run, time_t *tu)
{
    time_t now = ca_now(), last = st->this_update > st->delta_this_update ?
                                   st->this_update : st->delta_this_update;
    time_t ca_start = asn1_time_to_time(X509_get0_notBefore(s->cert));
    char was[32], will[32];

    *tu = now - (time_t)s->cfg->clock_skew;
    if (*tu < ca_start)
        *tu = ca_start;
    if (st->last_number == 0 || *tu >= last)
        return 0;
    time_iso(last, was);
    time_iso(*tu, will);
    if (last > now) {
        if (!run->repaired)
            report_warn("CA '%s': CRL %llu has thisUpdate %s, in the future (made with a fast "
                        "clock; relying parties refuse it): replaced by CRL %llu with thisUpdate "
                        "%s", s->rec.name, (unsigned long long)st->last_number, was,
                        (unsigned long long)st->last_number + 1, will);
        run->repaired = 1;
        return 0;
    }
    if (!run->force) {
        report("CA '%s': CRL thisUpdate: the next CRL's thisUpdate %s would be before CRL %llu's "
               "(%s): the clock went back; fix the clock, or publish with --force to accept a "
               "thisUpdate that goes back", s->rec.name, will,
               (unsigned long long)st->last_number, was);
        return EXIT_POLICY;
    }
    report_warn("CA '%s': --force: CRL %llu's thisUpdate %s is before CRL %llu's (%s)",
                s->rec.name, (unsigned long long)st->last_number + 1, will,
                (unsigned long long)st->last_number, was);
    run->backwards = 1;
    return 0;
}

/* The CA's own validity decides whether it may sign a CRL now: before its notBefore never
 * (fix the clock); after its notAfter it still must publish CRLs for the certificates it
 * issued (RFC 5280 5.1.2.4 leaves that to policy; relying parties need them): allowed, with a
 * warning here and in the audit record. 0 / EXIT_POLICY. */
static int crl_validity_check(struct ca_signer *s, struct pub_run *run)
{
    struct ca_window w;
    time_t now, start, end;
    const char *from = w.from, *to = w.to, *clock = w.clock;

    ca_window_of(s, &w);
    now = w.now, start = w.start, end = w.end;
    if (now < start) {
        report("CA '%s': RFC 5280 validity: the clock (%s) is before the CA certificate's "
               "validity (%s to %s); no CRL was signed; fix the system clock", s->rec.name,
               clock, from, to);
        return EXIT_POLICY;
    }
    if (now >= end) {
        report_warn("CA '%s': THE CA CERTIFICATE EXPIRED at %s (clock %s): %s", s->rec.name, to,
                    clock, run->final ? "so has every certificate its key signed: signing that "
                    "key's final CRL, nothing more after it" : "signing a CRL for the "
                    "certificates it issued all the same; renew the CA and move issuance to the "
                    "new one");
        run->ca_expired = 1;
    }
    return 0;
}

/* Build + sign one CRL inside the write txn and record the new state there. */
static int build_one(struct hsm *h, struct ca_signer *s, struct store_txn *t,
                     struct crl_state *st, struct pub_run *run, int delta,
                     struct built *out)
{
    const struct ca_cfg *cc = s->cfg;
    int rc;
    struct crl_params p;
    struct crl_walk w = {NULL, delta, delta ? st->last_base_number : 0, s->key_index, {0}, 0, ""};
    char fresh[MAX_CONFIG_URL + 24], cdp[MAX_CONFIG_URL + 16];
    time_t now = ca_now();
    int64_t period = delta ? cc->delta_period : cc->crl_period;
    struct crl_lint_arg la;
    EVP_MD_CTX *md;

    memset(&p, 0, sizeof(p));
    p.issuer = s->cert;
    p.number = st->last_number + 1;
    if ((rc = this_update_pick(s, st, run, &p.this_update)) != 0)
        return rc;
    p.next_publish = now + (time_t)period;
    p.next_update = p.next_publish + (time_t)cc->crl_overlap;
    p.ca_version = (int64_t)gen_ca_version(s->key_index, s->cert_index);
    p.is_delta = delta;
    p.base_number = st->last_base_number;
    gen_url(cc->cdp_url, s->key_index, cdp, sizeof(cdp));
    if (cc->crl_idp && !s->rec.is_root)
        p.idp_url = cdp;
    if (!delta && cc->delta_period > 0) {
        if (!delta_url(cdp, fresh, sizeof(fresh)))
            return EXIT_USAGE;
        p.freshest_url = fresh;
    }
    la.issuer = s->cert;
    la.delta = delta;
    la.prev = (int64_t)st->last_number;
    la.ca = s->rec.name;
    p.tbs_check = crl_lint_cb;
    p.tbs_check_arg = &la;
    if ((md = hsm_sign_ctx_new(h, s->key, s->sig, s->hash)) == NULL)
        return fail_hsm();
    if ((w.it = store_rev_iter_new(t, s->rec.name)) == NULL) {
        EVP_MD_CTX_free(md);
        return fail_store();
    }
    walk_progress(&w, t, s->rec.name, p.number);
    out->der = crl_build(&p, publish_next_entry, &w, md, &out->len);
    progress_end(&w.pg);
    store_rev_iter_free(w.it);
    if (out->der == NULL)
        return fail_crl();
    out->number = p.number;
    st->last_number = p.number;
    if (delta) {
        st->delta_this_update = p.this_update;
        st->delta_next_publish = p.next_publish;
    } else {
        st->last_base_number = p.number;
        st->this_update = p.this_update;
        st->next_update = p.next_update;
        st->next_publish = p.next_publish;
        EVP_Digest(out->der, out->len, st->base_sha256, NULL, EVP_sha256(), NULL);
    }
    return 0;
}

/* Sign what is due for the key generation of s and record its CRL state (run->final: its last
 * CRL, nothing more after it) and the crl.sign audit record, in one write txn. */
static int build_due(struct store *store, struct hsm *h, struct ca_signer *s,
                     struct pub_run *run, int what, struct built b[2])
{
    struct store_txn *t = store_txn_begin(store, 1);
    struct crl_state st;
    char detail[160];
    int rc = 0, ok;

    if (t == NULL)
        return fail_store();
    memset(&st, 0, sizeof(st));
    if (store_crl_state_get_k(t, s->rec.name, s->key_index, &st) < 0) {
        store_txn_abort(t);
        return fail_store();
    }
    if ((what & PUB_BASE) && (rc = build_one(h, s, t, &st, run, 0, &b[0])) == 0)
        st.dirty = 0;
    if (rc == 0 && (what & PUB_DELTA) && (rc = build_one(h, s, t, &st, run, 1, &b[1])) == 0)
        st.dirty = 0;
    if (rc) {
        store_txn_abort(t);
        return rc;
    }
    snprintf(detail, sizeof(detail), "key_index=%u base=%llu delta=%llu%s%s%s%s", s->key_index,
             (unsigned long long)b[0].number, (unsigned long long)b[1].number,
             run->final ? " final" : "",
             run->ca_expired ? " warning=ca-certificate-expired" : "",
             run->repaired ? " warning=replaced-future-thisUpdate" : "",
             run->backwards ? " warning=forced-thisUpdate-backwards" : "");
    st.final = run->final;
    ok = store_crl_state_put_k(t, s->rec.name, s->key_index, &st) &&
         store_audit_append(t, "crl.sign", s->rec.name, "ok", detail);
    return txn_finish(t, ok);
}

static int publish_file(const struct config *cfg, struct ca_signer *s, const struct built *b, int delta)
{
    char name[MAX_CA_NAME + 16], path[MAX_PATH_BYTES];

    gen_file(s->rec.name, s->key_index, "crl", delta, name, sizeof(name));
    crl_path(cfg, s->rec.name, s->key_index, delta, path, sizeof(path));
    if (!crl_publish_file(cfg->publish_dir, name, b->der, b->len, CRL_FILE_MODE) ||
        !crl_verify_published(path, s->cert, b->number, delta))
        return fail_crl();
    return 0;
}

/* The CA must be in the store with a certificate before anything is decided for it; a retired
 * CA still publishes while its certificates live. */
static int ca_known(struct store_txn *t, const char *name)
{
    struct ca_rec r;
    int found = store_ca_get(t, name, &r), state = found == 1 ? (int)r.state : -1;

    if (found == 1)
        ca_rec_clear(&r);
    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("crl publish --ca %s: CA '%s' is not in the store; see 'offca ca list' for the "
               "CAs there", name, name);
        return EXIT_USAGE;
    }
    if (state == CA_PENDING) {
        report("crl publish --ca %s: CA '%s' is pending (no certificate yet); only CAs with a "
               "certificate publish CRLs", name, name);
        return EXIT_POLICY;
    }
    return 0;
}

/* One key generation of a CA: what its CRL needs. */
struct key_gen {
    unsigned k;
    time_t end;                   /* the last notAfter of its CA certificates: no certificate it
                                   * signed lives longer (validity is capped by the CA's) */
    struct crl_state st;
};
struct key_list {
    struct key_gen g[MAX_CA_GENS];
    size_t n;
};

static int keys_collect(struct store_txn *t, const char *name, struct key_list *kl)
{
    static struct gen_list l;
    int ok = gen_list_load(t, name, &l);

    for (size_t i = 0; ok && i < l.n; i++) {
        if (l.g[i].key_index != l.g[i].cert_index)
            continue;                       /* a same-key renewal: its key is listed already */
        struct key_gen *kg = &kl->g[kl->n++];
        kg->k = l.g[i].key_index;
        kg->end = gen_list_key_end(&l, kg->k);
        if (store_crl_state_get_k(t, name, kg->k, &kg->st) < 0) {
            report("%s", store_error());
            ok = 0;
        }
    }
    gen_list_clear(&l);
    return ok;
}

/* The CA's key generations and their CRL states (after checking the CA). 0 or the class. */
static int keys_read(struct store *store, const char *name, struct key_list *kl)
{
    struct store_txn *t = store_txn_begin(store, 0);
    int rc;

    if (t == NULL)
        return fail_store();
    memset(kl, 0, sizeof(*kl));
    if ((rc = ca_known(t, name)) == 0 && !keys_collect(t, name, kl))
        rc = EXIT_SYSTEM;
    store_txn_abort(t);
    return rc;
}

/* The outcome of putting the signed CRLs of one key generation in place, in the audit log after
 * the fact: "ok" only once every file is in place and read back, "fail" otherwise (the CRL
 * numbers were reserved by the crl.sign record; the next run publishes again). A store failure
 * here is reported; the exit code stays the publication's. */
static void publish_record(struct store *store, const char *name, unsigned k,
                           const struct built b[2], int rc)
{
    struct store_txn *t = store_txn_begin(store, 1);
    char detail[192];
    int ok;

    snprintf(detail, sizeof(detail), "key_index=%u base=%llu delta=%llu%s", k,
             (unsigned long long)b[0].number, (unsigned long long)b[1].number,
             rc ? " files not in place (see the run's stderr)" : "");
    ok = t != NULL && store_audit_append(t, "crl.publish", name, rc ? "fail" : "ok", detail);

    if (t != NULL && !ok)
        store_txn_abort(t);
    if (!ok || !store_txn_commit(t))
        report("%s; the publication result of CA '%s' is not in the audit log", store_error(),
               name);
}

/* The key of a generation that must still sign could not be opened: say what that means for
 * its CRL (current or due) and what to do. Returns the exit class. */
static int key_unreachable(const char *label, const struct crl_state *st, int what,
                           const char *when, int rc)
{
    if (what == 0)
        report("%s: CRL %llu is current (next publish due %s), but the CA key is unreachable "
               "(above): no CRL can be signed; restore the token or its backup (README, "
               "'Backing up the token') before then", label, (unsigned long long)st->last_number,
               when);
    else
        report("%s: a new CRL is due, but the CA key is unreachable (above); restore the token "
               "or its backup (README, 'Backing up the token') and re-run", label);
    return rc == EXIT_USAGE || rc == EXIT_POLICY ? rc : EXIT_SYSTEM;
}

/* Check, sign, record and put in place what is due for the key generation of s. */
static int publish_built(struct store *store, struct hsm *h, const struct config *cfg,
                         struct ca_signer *s, struct pub_run *run, int what, const char *label)
{
    struct built b[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
    const char *fin = run->final ? "final " : "";
    int rc;

    if ((rc = crl_validity_check(s, run)) == 0 &&
        (rc = build_due(store, h, s, run, what, b)) == 0) {
        FAULTPOINT("crl.committed", s->rec.name);
        if ((!b[0].der || (rc = publish_file(cfg, s, &b[0], 0)) == 0) &&
            (!b[1].der || (rc = publish_file(cfg, s, &b[1], 1)) == 0)) {
            if (b[0].der)
                report_info("%s: published %sCRL %llu", label, fin, (unsigned long long)b[0].number);
            if (b[1].der)
                report_info("%s: published %sdelta CRL %llu", label, fin,
                    (unsigned long long)b[1].number);
        }
        publish_record(store, s->rec.name, s->key_index, b, rc);
    }
    OPENSSL_free(b[0].der);
    OPENSSL_free(b[1].der);
    return rc;
}

/* Key generation kg of CA name: fresh while any certificate it signed lives; once the last one
 * has expired, one final CRL, then nothing more. The key is opened even when nothing is due: a
 * run that cannot sign must not look green while the CRL on the web server runs out (token file
 * destroyed, key deleted, wrong PIN). */
static int publish_key(struct store *store, struct hsm *h, const struct config *cfg,
                       const char *name, const struct key_gen *kg, int force)
{
    struct pub_run run = {force, 0, 0, 0, ca_now() >= kg->end};
    char label[MAX_CA_NAME + 16], when[32];
    struct ca_signer s;
    time_t due;
    int what, rc;

    if (kg->k == 0)
        snprintf(label, sizeof(label), "%s", name);
    else
        snprintf(label, sizeof(label), "%s(%u)", name, kg->k);
    if (kg->st.final) {
        report_info("%s: its certificates have expired and its final CRL %llu is published; nothing "
            "more to do", label, (unsigned long long)kg->st.last_number);
        return 0;
    }
    what = decide(cfg, name, kg->k, &kg->st, force || run.final, &due);
    if (run.final)
        what = PUB_BASE | (config_ca(cfg, name)->delta_period > 0 ? PUB_DELTA : 0);
    time_iso(due, when);
    if ((rc = ca_signer_open_key(store, h, cfg, name, (int)kg->k, &s)) != 0)
        return key_unreachable(label, &kg->st, what, when, rc);
    if (what == 0)
        report_info("%s: CRL %llu is current (next publish due %s); nothing to do", label,
            (unsigned long long)kg->st.last_number, when);
    else
        rc = publish_built(store, h, cfg, &s, &run, what, label);
    ca_signer_close(&s);
    return rc;
}

/* Every key generation of CA name, then its certificate files (NAME.crt for AIA and every
 * generation's, put back when missing or not the CA's). */
static int publish_ca(struct store *store, struct hsm *h, const struct config *cfg,
                      const char *name, int force)
{
    static struct key_list kl;
    int rc, worst = 0;

    if ((rc = keys_read(store, name, &kl)) != 0)
        return rc;
    for (size_t i = 0; i < kl.n; i++)
        if ((rc = publish_key(store, h, cfg, name, &kl.g[i], force)) != 0 && !worst)
            worst = rc;
    if ((rc = publish_ca_certs(store, cfg, name)) != 0 && !worst)
        worst = rc;
    return worst;
}

#define MAX_PUBLISH_CAS 256     /* CAs one run publishes for; more is refused, never skipped */

struct name_list {
    char names[MAX_PUBLISH_CAS][MAX_CA_NAME + 1];
    size_t n;
    int overflow;
};

static int collect(void *arg, const struct ca_rec *r)
{
    struct name_list *l = arg;

    if (r->state == CA_PENDING)
        return 1;
    if (l->n == MAX_PUBLISH_CAS) {
        l->overflow = 1;
        return 0;
    }
    snprintf(l->names[l->n++], MAX_CA_NAME + 1, "%s", r->name);
    return 1;
}

/* The publish directory: a directory (symlinks to it are fine: /srv/pki -> /var/www/pki),
 * owned by root or us and writable by nobody else, judged on its descriptor. */
int publish_dir_check(const struct config *cfg)
{
    const char *dir = cfg->publish_dir;
    char why[1024];
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ok;

    if (fd < 0) {
        report("publish dir %s: cannot open: %s; create it (owned by the offca user, mode "
               "0755) or fix [publish] dir", dir, strerror(errno));
        return 0;
    }
    ok = fstat(fd, &st) == 0 && tmpl_trust_check(dir, &st, why, sizeof(why));
    close(fd);
    if (!ok)
        report("publish dir %s (refused: whoever can write there can replace the CRLs relying "
               "parties fetch)", why);
    return ok;
}

/* Before anything is published (the caller has opened the store): the publish directory
 * checked, the publish lock held (for the rest of the process), and the temp files of an
 * interrupted run swept. 0 or the exit class (reported). */
int publish_begin(const struct config *cfg)
{
    int rc;

    if (!publish_dir_check(cfg) || lock_publish(cfg) < 0)
        return EXIT_SYSTEM;
    if ((rc = crl_publish_sweep(cfg->publish_dir)) > 0)
        report_warn("publish dir %s: removed %d temporary file(s) left by an interrupted run",
                    cfg->publish_dir, rc);
    else if (rc < 0)
        return fail_crl();
    return 0;
}

/* Overlapping runs wait for each other on an flock of the STORE directory, not on a file in
 * the publish directory: the store is offca's own ground (checked by store_trust.c), so there
 * is no file to be planted as a symlink, and nothing a run as another user (root's one-off run)
 * could leave behind to lock the offca user out. The CRL state the lock protects is there too. */
int lock_publish(const struct config *cfg)
{
    static int held = -1;            /* this process's lock, and the store it is on */
    static char held_dir[MAX_PATH_BYTES];
    const char *dir = cfg->store_path;
    int fd;

    /* a second publication in the same process (a library caller) already holds it: flock on a
     * new descriptor would wait for ourselves */
    if (held >= 0 && strcmp(held_dir, dir) == 0)
        return held;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        report("store %s: cannot lock it for publication: %s; check [store] path", dir,
               strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    held = fd;         /* closed at exit: the lock lasts for the run */
    snprintf(held_dir, sizeof(held_dir), "%s", dir);
    return fd;
}

int publish_run(struct store *store, struct hsm *h, const struct config *cfg, const char *name,
                int force)
{
    static struct name_list l;     /* 16 KiB: kept off the stack */
    struct store_txn *t;
    int rc, worst = 0;

    memset(&l, 0, sizeof(l));
    if (name && (rc = ca_name_check(name)) != 0)
        return rc;
    if ((rc = publish_begin(cfg)) != 0)
        return rc;
    if (name) {
        snprintf(l.names[0], sizeof(l.names[0]), "%s", name);
        l.n = 1;
    } else {
        if ((t = store_txn_begin(store, 0)) == NULL)
            return fail_store();
        rc = store_ca_foreach(t, collect, &l);
        store_txn_abort(t);
        if (!rc)
            return fail_store();
        if (l.overflow) {
            report("crl publish: more than %d active CAs; publish them in turns with --ca NAME "
                   "(one cron line per CA)", MAX_PUBLISH_CAS);
            return EXIT_USAGE;
        }
    }
    for (size_t i = 0; i < l.n; i++)
        if ((rc = publish_ca(store, h, cfg, l.names[i], force)) != 0 && !worst)
            worst = rc;
    /* CRLs of parents on another machine: pre-signed ones falling due, missing files (crlimp) */
    if (name == NULL && (rc = crlimp_publish_cron(store, cfg)) != 0 && !worst)
        worst = rc;
    return worst;
}
