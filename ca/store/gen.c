/*
 * gen.c — generation names (AD CS's NAME(i).crt / NAME(k).crl), the CA Version value, and the
 * loaded list of a CA's generations.
 */
#include "ca/store/store.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ca/common/common.h"

void gen_file(const char *name, unsigned index, const char *ext, int delta, char *buf, size_t n)
{
    if (index == 0)
        snprintf(buf, n, "%s%s.%s", name, delta ? "+" : "", ext);
    else
        snprintf(buf, n, "%s(%u)%s.%s", name, index, delta ? "+" : "", ext);
}

void gen_url(const char *url0, unsigned index, char *buf, size_t n)
{
    const char *slash = strrchr(url0, '/'), *dot = strrchr(url0, '.');

    if (index == 0 || url0[0] == '\0')
        snprintf(buf, n, "%s", url0);
    else if (dot && (!slash || dot > slash))
        snprintf(buf, n, "%.*s(%u)%s", (int)(dot - url0), url0, index, dot);
    else
        snprintf(buf, n, "%s(%u)", url0, index);
}

unsigned long gen_ca_version(unsigned key_index, unsigned cert_index)
{
    return ((unsigned long)key_index << 16) | cert_index;
}

void gen_newest_indexes(struct store_txn *t, const char *ca, unsigned *ci, unsigned *ki)
{
    struct ca_gen g;

    *ci = *ki = 0;
    if (store_gen_newest(t, ca, &g) == 1) {
        *ci = g.cert_index;
        *ki = g.key_index;
        ca_gen_clear(&g);
    }
}

/* The newest generation certificate of ca that issued child (name and key match, as
 * X509_check_issued judges), or NULL: after a parent's new-key renewal a child not yet
 * re-certified still chains to the parent's older generation. */
X509 *gen_issuer_of(struct store_txn *t, const char *ca, X509 *child)
{
    static struct gen_list l;
    X509 *found = NULL;

    if (!gen_list_load(t, ca, &l))
        return NULL;
    for (size_t i = l.n; found == NULL && i-- > 0;) {
        X509 *x = der_to_x509(l.g[i].cert_der, l.g[i].cert_len);
        if (x && X509_check_issued(x, child) == X509_V_OK)
            found = x;
        else
            X509_free(x);
    }
    gen_list_clear(&l);
    return found;
}

struct load_ctx {
    struct gen_list *l;
    int overflow;
};

static int load_one(void *arg, const struct ca_gen *g)
{
    struct load_ctx *c = arg;
    struct ca_gen *d;

    if (c->l->n == MAX_CA_GENS) {
        c->overflow = 1;
        return 0;
    }
    d = &c->l->g[c->l->n++];
    *d = *g;
    /* take copies: g is borrowed for the call */
    d->cert_der = OPENSSL_memdup(g->cert_der, g->cert_len);
    d->key_uri = OPENSSL_strdup(g->key_uri);
    d->link_old_new = g->link_old_new ? OPENSSL_memdup(g->link_old_new, g->link_old_new_len)
                                      : NULL;
    d->link_new_old = g->link_new_old ? OPENSSL_memdup(g->link_new_old, g->link_new_old_len)
                                      : NULL;
    if (!d->cert_der || !d->key_uri || (g->link_old_new && !d->link_old_new) ||
        (g->link_new_old && !d->link_new_old)) {
        c->overflow = -1;
        return 0;
    }
    return 1;
}

int gen_list_load(struct store_txn *t, const char *ca, struct gen_list *l)
{
    struct load_ctx c = {l, 0};

    memset(l, 0, sizeof(*l));
    if (!store_gen_foreach(t, ca, load_one, &c)) {
        report("%s", store_error());
        return 0;
    }
    if (c.overflow) {
        report("CA '%s': %s; restore the store from backup", ca, c.overflow < 0 ?
               "out of memory reading its generations" : "more generations than offca handles");
        gen_list_clear(l);
        return 0;
    }
    return 1;
}

void gen_list_clear(struct gen_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ca_gen_clear(&l->g[i]);
    l->n = 0;
}

const struct ca_gen *gen_list_key(const struct gen_list *l, unsigned k)
{
    const struct ca_gen *best = NULL;

    for (size_t i = 0; i < l->n; i++)
        if (l->g[i].key_index == k)
            best = &l->g[i];
    return best;
}

time_t gen_list_key_end(const struct gen_list *l, unsigned k)
{
    time_t end = 0;

    for (size_t i = 0; i < l->n; i++)
        if (l->g[i].key_index == k && l->g[i].not_after > end)
            end = l->g[i].not_after;
    return end;
}

static const char *gen_state_name(const struct ca_rec *r, const struct ca_gen *g)
{
    if (r->state == CA_RETIRED)
        return "retired";
    return g->state == GEN_ACTIVE ? "active" : "superseded";
}

/* The generations of CA r, one line each (text) or a JSON array member "generations". */
void gen_list_print(const struct ca_rec *r, const struct gen_list *l, int json, FILE *out)
{
    char nb[32], na[32], crl[MAX_CA_NAME + 16], crt[MAX_CA_NAME + 16];

    fputs(json ? ",\"generations\":[" : "generations:\n", out);
    for (size_t i = 0; i < l->n; i++) {
        const struct ca_gen *g = &l->g[i];

        time_iso(g->not_before, nb);
        time_iso(g->not_after, na);
        gen_file(r->name, g->key_index, "crl", 0, crl, sizeof(crl));
        gen_file(r->name, g->cert_index, "crt", 0, crt, sizeof(crt));
        if (json) {
            fprintf(out, "%s{\"cert_index\":%u,\"key_index\":%u", i ? "," : "", g->cert_index,
                    g->key_index);
            json_kv(out, 0, "not_before", nb);
            json_kv(out, 0, "not_after", na);
            json_kv(out, 0, "key", g->key_uri);
            json_kv(out, 0, "state", gen_state_name(r, g));
            json_kv(out, 0, "crl", crl);
            json_kv(out, 0, "crt", crt);
            fputc('}', out);
        } else {
            fprintf(out, "  generation %u: cert index %u, key index %u, %s .. %s, %s\n"
                    "               key %s\n               CRL %s, certificate %s\n",
                    g->cert_index, g->cert_index, g->key_index, nb, na, gen_state_name(r, g),
                    g->key_uri, crl, crt);
        }
    }
    if (json)
        fputc(']', out);
}
