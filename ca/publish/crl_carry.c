/*
 * crl_carry.c — `offca crl publish --ca ROOT --out DIR` on the root machine: after the usual
 * publication, the root's CRLs and certificates are also written into DIR (a USB stick, a
 * transfer share) for carrying to the issuing machine, where `offca crl import` and
 * `offca ca import --chain` take them. One CRL per key generation that still publishes
 * (ROOT.crl, ROOT(k).crl after a new-key renewal), each copied from the published file and only
 * when its SHA-256 is the one the store recorded for it; every generation's certificate
 * (ROOT.crt, ROOT(i).crt) and a rollover's link certificates, as the publish directory has them.
 */
#include "ca/publish/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"

/* What is carried of one CA, read in one transaction. */
struct carry {
    struct gen_list l;                     /* its generations */
    unsigned keys[MAX_CA_GENS];            /* key generations whose CRL is carried */
    struct crl_state st[MAX_CA_GENS];
    size_t n_keys;
};

/* The generations and the CRL state of every key generation not yet final. 0 or the class. */
static int carry_read(struct store *st, const char *ca, struct carry *c)
{
    struct store_txn *t = store_txn_begin(st, 0);
    int rc = 0;

    if (t == NULL)
        return fail_store();
    memset(c, 0, sizeof(*c));
    if (!gen_list_load(t, ca, &c->l))
        rc = EXIT_SYSTEM;
    for (size_t i = 0; rc == 0 && i < c->l.n; i++) {
        const struct ca_gen *g = &c->l.g[i];
        int found;
        if (g->key_index != g->cert_index)
            continue;                      /* a same-key renewal: that key is listed already */
        if ((found = store_crl_state_get_k(t, ca, g->key_index, &c->st[c->n_keys])) < 0)
            rc = fail_store();
        else if (found == 1 && !c->st[c->n_keys].final)
            c->keys[c->n_keys++] = g->key_index;
    }
    store_txn_abort(t);
    return rc;
}

static int carry_one(const char *dir, const char *name, const void *data, size_t len)
{
    char path[MAX_PATH_BYTES];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        report("--out %s: path too long; choose a shorter directory", dir);
        return EXIT_USAGE;
    }
    return file_write(path, data, len, 0644, 1);
}

/* The published CRL of key generation k, when it is what the store recorded: into dir. */
static int carry_crl(const struct config *cfg, const char *ca, unsigned k,
                     const struct crl_state *st, const char *dir, char *name, size_t n)
{
    char path[MAX_PATH_BYTES];
    unsigned char *crl = NULL, md[32];
    size_t len = 0;
    int rc;

    gen_file(ca, k, "crl", 0, name, n);
    snprintf(path, sizeof(path), "%s/%s", cfg->publish_dir, name);
    if (st->last_number == 0 || !publish_file_load(path, MAX_CRLIMP_INPUT, &crl, &len) ||
        !EVP_Digest(crl, len, md, NULL, EVP_sha256(), NULL) ||
        memcmp(md, st->base_sha256, 32) != 0) {
        report("%s: not the CRL the store recorded for CA '%s' (missing or altered); run "
               "'offca crl publish --ca %s --force --out %s'", path, ca, ca, dir);
        free(crl);
        return EXIT_SYSTEM;
    }
    rc = carry_one(dir, name, crl, len);
    free(crl);
    return rc;
}

/* Every generation's certificate file, and a rollover's link certificates. */
static int carry_certs(const char *ca, const struct gen_list *l, const char *dir)
{
    char name[MAX_CA_NAME + 32];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        const struct ca_gen *g = &l->g[i];
        gen_file(ca, g->cert_index, "crt", 0, name, sizeof(name));
        rc = carry_one(dir, name, g->cert_der, g->cert_len);
        if (rc != 0 || i == 0 || g->link_old_new == NULL)
            continue;
        snprintf(name, sizeof(name), "%s(%u-%u).crt", ca, l->g[i - 1].key_index, g->key_index);
        if ((rc = carry_one(dir, name, g->link_old_new, g->link_old_new_len)) != 0)
            break;
        snprintf(name, sizeof(name), "%s(%u-%u).crt", ca, g->key_index, l->g[i - 1].key_index);
        rc = carry_one(dir, name, g->link_new_old, g->link_new_old_len);
    }
    return rc;
}

/* See publish.h. */
int crl_carry_write(struct store *st, const struct config *cfg, const char *ca, const char *dir)
{
    static struct carry c;
    char name[MAX_CA_NAME + 16], crt[MAX_CA_NAME + 16];
    int rc;

    if ((rc = carry_read(st, ca, &c)) != 0)
        goto out;
    for (size_t i = 0; rc == 0 && i < c.n_keys; i++)
        if ((rc = carry_crl(cfg, ca, c.keys[i], &c.st[i], dir, name, sizeof(name))) == 0)
            printf("%s: wrote %s/%s (CRL %llu of key generation %u) for carrying; on the issuing "
                   "machine: offca crl import %s/%s\n", ca, dir, name,
                   (unsigned long long)c.st[i].last_number, c.keys[i], dir, name);
    if (rc == 0 && (rc = carry_certs(ca, &c.l, dir)) == 0 && c.l.n > 0) {
        gen_file(ca, c.l.g[c.l.n - 1].cert_index, "crt", 0, crt, sizeof(crt));
        printf("%s: wrote its certificate%s into %s (the newest: %s)\n", ca,
               c.l.n > 1 ? "s" : "", dir, crt);
    }
out:
    gen_list_clear(&c.l);
    return rc;
}
