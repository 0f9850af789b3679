/*
 * ca_export.c — what `offca ca export` writes: a CA's certificate chain in PEM (every parent in
 * the store, an imported CA's outside chain, with --all every generation and a root's link
 * certificates), and the certutil steps that publish the hierarchy to Active Directory.
 */
#include "ca/authority/authority.h"

#include <stdio.h>
#include <openssl/pem.h>

#include "ca/common/common.h"
#include "ca/store/store.h"
#include "ca/issue/issue.h"

int ca_get(struct store *st, const char *name, struct ca_rec *r)
{
    struct store_txn *t;
    int found;

    if ((t = store_txn_begin(st, 0)) == NULL)
        return fail_store();
    found = store_ca_get(t, name, r);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("CA '%s': not in the store; see 'offca ca list'", name);
        return EXIT_USAGE;
    }
    return 0;
}

int ca_gens_read(struct store *st, const char *name, struct gen_list *l)
{
    struct store_txn *t = store_txn_begin(st, 0);
    int ok;

    if (t == NULL)
        return fail_store();
    ok = gen_list_load(t, name, l);
    store_txn_abort(t);
    return ok ? 0 : EXIT_SYSTEM;
}

/* Append the PEM of DER certificates to b. */
static int pem_append(BIO *b, const unsigned char *der, size_t len)
{
    const unsigned char *p = der, *end = der + len;

    while (p < end) {
        X509 *x = d2i_X509(NULL, &p, (long)(end - p));
        int ok = x && PEM_write_bio_X509(b, x);
        X509_free(x);
        if (!ok)
            return 0;
    }
    return 1;
}

/* PEM of every generation of CA name, newest first, a root rollover's link certificates BEFORE
 * the generation that made them: OpenSSL takes the first matching issuer from an untrusted list,
 * so a client trusting only the old root must meet OldWithNew before the new self-signed root.
 * 0 or the exit class. */
static int gens_pem(struct store *st, const char *name, BIO *b)
{
    static struct gen_list l;
    int rc;

    if ((rc = ca_gens_read(st, name, &l)) != 0)
        return rc;
    for (size_t i = l.n; rc == 0 && i-- > 0;) {
        const struct ca_gen *g = &l.g[i];
        if ((g->link_old_new && !pem_append(b, g->link_old_new, g->link_old_new_len)) ||
            (g->link_new_old && !pem_append(b, g->link_new_old, g->link_new_old_len)) ||
            !pem_append(b, g->cert_der, g->cert_len))
            rc = EXIT_SYSTEM;
    }
    gen_list_clear(&l);
    return rc;
}

/* One CA of a chain: every generation (all), or the generation that issued *child (the newest
 * one when none matches, e.g. for the first CA, child NULL). *child becomes what was written. */
static int one_pem(struct store *st, const struct ca_rec *r, int all, X509 **child, BIO *b)
{
    struct store_txn *t;
    X509 *x = NULL;

    if (all)
        return gens_pem(st, r->name, b);
    if (*child && (t = store_txn_begin(st, 0)) != NULL) {
        x = gen_issuer_of(t, r->name, *child);
        store_txn_abort(t);
    }
    if (x == NULL)
        x = der_to_x509(r->cert_der, r->cert_len);
    X509_free(*child);
    *child = x;
    return x && PEM_write_bio_X509(b, x) ? 0 : EXIT_SYSTEM;
}

/* PEM of the CA and, with chain, every parent in the store (and an imported CA's outside chain);
 * all: every generation of each, with the link certificates. */
int ca_chain_pem(struct store *st, const struct ca_rec *first, int chain, int all, BIO *b)
{
    static char next[MAX_CA_NAME + 1];
    struct ca_rec r;
    X509 *child = NULL;
    int depth = 0, ok, rc;

    if ((rc = one_pem(st, first, all, &child, b)) == 0 && chain && first->chain_der &&
        !pem_append(b, first->chain_der, first->chain_len))
        rc = EXIT_SYSTEM;
    for (const char *p = chain ? first->parent : NULL; rc == 0 && p && depth < 16; depth++) {
        if ((rc = ca_get(st, p, &r)) != 0)
            break;
        ok = one_pem(st, &r, all, &child, b) == 0 &&
             (!r.chain_der || pem_append(b, r.chain_der, r.chain_len));
        p = NULL;
        if (ok && r.parent) {
            snprintf(next, sizeof(next), "%s", r.parent);
            p = next;
        }
        ca_rec_clear(&r);
        rc = ok ? 0 : EXIT_SYSTEM;
    }
    X509_free(child);
    return rc;
}

/* The certutil steps that publish a hierarchy to AD: every root to RootCA, every CA below it to
 * SubCA, and the CA itself to NTAuthCA (certificate logon needs the issuing CA there). Walks the
 * parents in the store; an imported CA's outside root is named from its chain's last certificate. */
int ca_ntauth_print(struct store *st, const struct ca_rec *first)
{
    char names[16][MAX_CA_NAME + 1], parent[MAX_CA_NAME + 1] = "";
    int n = 0, top_is_root = first->is_root, rc;
    struct ca_rec r;

    snprintf(names[n++], sizeof(names[0]), "%s", first->name);
    if (first->parent)
        snprintf(parent, sizeof(parent), "%s", first->parent);
    while (parent[0] && n < 16) {
        if ((rc = ca_get(st, parent, &r)) != 0)
            return rc;
        snprintf(names[n++], sizeof(names[0]), "%s", r.name);
        top_is_root = r.is_root;
        snprintf(parent, sizeof(parent), "%s", r.parent ? r.parent : "");
        ca_rec_clear(&r);
    }
    printf("# Publish the hierarchy to Active Directory (as an Enterprise Admin, on a domain-joined\n"
           "# machine; copy the .cer files there first):\n");
    for (int i = n - 1; i >= 0; i--)
        printf("offca ca export %s --der -o %s.cer\n", names[i], names[i]);
    if (!top_is_root)
        printf("# %s's root is outside offca: publish that root as RootCA from its own CA\n",
               names[n - 1]);
    for (int i = n - 1; i >= 0; i--)
        printf("certutil -dspublish -f %s.cer %s\n", names[i],
               i == n - 1 && top_is_root ? "RootCA" : "SubCA");
    if (!first->is_root)
        printf("# certificate logon (smart card, Windows Hello, KDC) needs the issuing CA in "
               "NTAuth:\ncertutil -dspublish -f %s.cer NTAuthCA\n", first->name);
    printf("# then on a client: certutil -pulse (or gpupdate /force); check with\n"
           "# certutil -viewstore -enterprise NTAuth\n");
    return 0;
}
