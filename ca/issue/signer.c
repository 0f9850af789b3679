/*
 * signer.c — open a CA for signing: store record + certificate + token key + scheme.
 */
#include "ca/issue/issue.h"

#include <string.h>
#include <openssl/crypto.h>

#include "ca/common/common.h"
#include "ca/store/store.h"

int ca_name_check(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > MAX_CA_NAME || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                                                  "tuvwxyz0123456789_-") != n) {
        report("CA name '%s': names are 1 to %d characters of A-Z a-z 0-9 _ -; they become file "
               "names in the publish directory and URLs; choose another", name, MAX_CA_NAME);
        return EXIT_USAGE;
    }
    return 0;
}

struct key_pick {
    int key_index;                     /* -1: the newest generation */
    struct ca_gen g;                   /* the newest generation with that key (owned copy) */
};

static int pick_one(void *arg, const struct ca_gen *g)
{
    struct key_pick *kp = arg;
    unsigned char *der, *uri;

    if (kp->key_index >= 0 && g->key_index != (unsigned)kp->key_index)
        return 1;
    der = OPENSSL_memdup(g->cert_der, g->cert_len);
    uri = (unsigned char *)OPENSSL_strdup(g->key_uri);
    ca_gen_clear(&kp->g);
    kp->g = *g;
    kp->g.cert_der = der;
    kp->g.key_uri = (char *)uri;
    kp->g.link_old_new = kp->g.link_new_old = NULL;
    return der != NULL && uri != NULL;
}

/* The CA record with the certificate and key URI of the generation that signs: the newest
 * (key_index -1) or the newest one of key generation key_index (its CRLs). */
static int signer_pick(struct store_txn *t, const char *name, int key_index, struct ca_signer *s)
{
    struct key_pick kp;
    int ok;

    memset(&kp, 0, sizeof(kp));
    kp.key_index = key_index;
    if (!store_gen_foreach(t, name, pick_one, &kp))
        return -1;
    if ((ok = kp.g.cert_der != NULL && kp.g.key_uri != NULL)) {
        OPENSSL_free(s->rec.cert_der);
        OPENSSL_free(s->rec.key_uri);
        s->rec.cert_der = kp.g.cert_der;
        s->rec.cert_len = kp.g.cert_len;
        s->rec.key_uri = kp.g.key_uri;
        s->cert_index = kp.g.cert_index;
        s->key_index = kp.g.key_index;
        kp.g.cert_der = NULL;
        kp.g.key_uri = NULL;
    }
    ca_gen_clear(&kp.g);
    return ok || (key_index < 0 && s->rec.state == CA_PENDING) ? 1 : 0;
}

static int signer_lookup(struct store *st, const char *name, int key_index, int for_crl,
                         struct ca_signer *s)
{
    struct store_txn *t = store_txn_begin(st, 0);
    int found, picked = 1;

    if (t == NULL)
        return fail_store();
    if ((found = store_ca_get(t, name, &s->rec)) == 1)
        picked = signer_pick(t, name, key_index, s);
    store_txn_abort(t);
    if (found < 0 || picked < 0)
        return fail_store();
    if (found == 0 || picked == 0) {
        if (found == 0)
            report("CA '%s': not in the store; see 'offca ca list' for the CAs there", name);
        else
            report("CA '%s': no generation with key index %d; see 'offca ca show %s'", name,
                   key_index, name);
        return EXIT_USAGE;
    }
    if (s->rec.state == CA_PENDING) {
        report("CA '%s': waiting for its certificate ('offca ca csr' was run); import it with "
               "'offca ca import %s --cert FILE --chain FILE'", name, name);
        return EXIT_USAGE;
    }
    if (s->rec.state == CA_RETIRED && !for_crl) {
        report("CA '%s': retired; it no longer signs (it only publishes CRLs while its "
               "certificates live)", name);
        return EXIT_POLICY;
    }
    return 0;
}

int ca_signer_open(struct store *st, struct hsm *h, const struct config *cfg, const char *name,
                   struct ca_signer *s)
{
    return ca_signer_open_key(st, h, cfg, name, -1, s);
}

int ca_signer_open_key(struct store *st, struct hsm *h, const struct config *cfg,
                       const char *name, int key_index, struct ca_signer *s)
{
    struct hsm_key_info info;
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = signer_lookup(st, name, key_index, key_index >= 0, s)) != 0)
        goto fail;
    if ((s->cert = der_to_x509(s->rec.cert_der, s->rec.cert_len)) == NULL) {
        report("CA '%s': the stored certificate does not parse; the store may be damaged: run "
               "'offca audit verify'", name);
        rc = EXIT_SYSTEM;
        goto fail;
    }
    s->cfg = config_ca(cfg, name);
    gen_url(s->cfg->cdp_url, s->key_index, s->cdp, sizeof(s->cdp));
    gen_url(s->cfg->aia_url, s->cert_index, s->aia, sizeof(s->aia));
    if ((s->key = hsm_key_load(h, s->rec.key_uri, s->cfg->allow_extractable_key,
                               &info)) == NULL) {
        rc = fail_hsm();
        goto fail;
    }
    if (info.extractable || !info.sensitive)
        report_warn("CA '%s': key %s is extractable or not sensitive (allowed by "
                    "allow_extractable_key); move the CA to a non-extractable key", name,
                    s->rec.key_uri);
    if (!hsm_sig_parse(s->rec.sig, &s->sig)) {
        rc = fail_hsm();
        goto fail;
    }
    s->hash = s->rec.hash;
    return 0;
fail:
    ca_signer_close(s);
    return rc;
}

void ca_window_of(const struct ca_signer *s, struct ca_window *w)
{
    w->now = ca_now();
    w->start = asn1_time_to_time(X509_get0_notBefore(s->cert));
    w->end = asn1_time_to_time(X509_get0_notAfter(s->cert));
    time_iso(w->now, w->clock);
    time_iso(w->start, w->from);
    time_iso(w->end, w->to);
}

void ca_signer_close(struct ca_signer *s)
{
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    ca_rec_clear(&s->rec);
    memset(s, 0, sizeof(*s));
}
