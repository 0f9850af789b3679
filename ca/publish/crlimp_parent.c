/*
 * crlimp_parent.c — the parents that live on another machine: for each CA imported with
 * `ca import` (no parent in this store), the certificate in its chain that issued it. Its CRL
 * is published under the last path segment of the CDP URL in the imported CA's certificate
 * (percent-decoded): that is the name relying parties ask the web server for.
 */
#include "ca/publish/publish.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "templates/template.h"

/* The issuer of cert in the DER certificates of chain, or NULL. */
static X509 *chain_issuer(X509 *cert, const unsigned char *chain, size_t len)
{
    const unsigned char *p = chain, *end = chain + len;

    while (p < end) {
        X509 *c = d2i_X509(NULL, &p, (long)(end - p));

        if (c == NULL)
            return NULL;
        if (X509_check_issued(c, cert) == X509_V_OK)
            return c;
        X509_free(c);
    }
    return NULL;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* The file name the first HTTP URI of x's CDP ends in, percent-decoded: 1 ok; 0 no such URI
 * or a name that is not a plain file name. */
static int cdp_file(X509 *x, char *out, size_t n)
{
    CRL_DIST_POINTS *cdps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    const char *uri = NULL, *slash;
    size_t o = 0, len = 0;
    int ok = 0;

    for (int i = 0; cdps && !uri && i < sk_DIST_POINT_num(cdps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(cdps, i);
        for (int j = 0; dp->distpoint && dp->distpoint->type == 0 && !uri &&
                        j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
            if (gn->type == GEN_URI && gn->d.uniformResourceIdentifier->length > 7 &&
                strncasecmp((const char *)gn->d.uniformResourceIdentifier->data, "http://", 7) == 0) {
                uri = (const char *)gn->d.uniformResourceIdentifier->data;
                len = (size_t)gn->d.uniformResourceIdentifier->length;
            }
        }
    }
    if (uri && (slash = memrchr(uri, '/', len)) != NULL && slash > uri + 7) {
        ok = 1;
        for (const char *p = slash + 1; ok && p < uri + len; p++) {
            int c = (unsigned char)*p;
            if (c == '%' && p + 2 < uri + len && isxdigit((unsigned char)p[1]) &&
                isxdigit((unsigned char)p[2])) {
                c = hexval((unsigned char)p[1]) << 4 | hexval((unsigned char)p[2]);
                p += 2;
            }
            ok = o + 1 < n && (isalnum(c) || strchr(" ._()+-~", c)) && c != '\0';
            if (ok)
                out[o++] = (char)c;
        }
        ok = ok && o > 0 && out[0] != '.';
    }
    out[o] = '\0';
    CRL_DIST_POINTS_free(cdps);
    return ok;
}

/* The parent of r (an active or retired CA with a certificate and an outside chain). */
static X509 *parent_cert(const struct ca_rec *r, X509 **child)
{
    X509 *x, *p;

    *child = NULL;
    if (r->state == CA_PENDING || r->is_root || r->parent || !r->chain_der || !r->cert_der)
        return NULL;
    if ((x = der_to_x509(r->cert_der, r->cert_len)) == NULL)
        return NULL;
    if ((p = chain_issuer(x, r->chain_der, r->chain_len)) == NULL) {
        X509_free(x);
        return NULL;
    }
    *child = x;
    return p;
}

/* See publish.h. */
int crlimp_parent_of(const struct ca_rec *r, unsigned char id[STORE_KEY_HASH])
{
    X509 *child, *p = parent_cert(r, &child);
    unsigned char *der = NULL;
    int n = p ? i2d_X509(p, &der) : -1, rc = 1;

    if (n > 0 && store_cert_key_hash(der, (size_t)n, id))
        rc = 0;
    OPENSSL_free(der);
    X509_free(p);
    X509_free(child);
    return rc;
}

struct load_ctx {
    struct crlimp_parents *ps;
    int rc;
};

static struct crlimp_parent *parent_slot(struct load_ctx *c, X509 *p, const unsigned char *id)
{
    struct crlimp_parents *ps = c->ps;
    struct crlimp_parent *e;
    char *dn;

    for (size_t i = 0; i < ps->n; i++)
        if (memcmp(ps->p[i].id, id, STORE_KEY_HASH) == 0)
            return &ps->p[i];
    if (ps->n == MAX_CRLIMP_PARENTS) {
        report("store: more than %d parent CAs on other machines; retire the CAs no longer used",
               MAX_CRLIMP_PARENTS);
        c->rc = EXIT_POLICY;
        return NULL;
    }
    e = &ps->p[ps->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->id, id, STORE_KEY_HASH);
    e->cert = X509_dup(p);
    dn = dn_format(X509_get_subject_name(p));
    snprintf(e->label, sizeof(e->label), "%s", dn ? dn : "?");
    OPENSSL_free(dn);
    return e;
}

static int load_one(void *arg, const struct ca_rec *r)
{
    struct load_ctx *c = arg;
    X509 *child, *p = parent_cert(r, &child);
    unsigned char id[STORE_KEY_HASH], *der = NULL;
    struct crlimp_parent *e;
    char file[MAX_CRLIMP_NAME + 1];
    int n;

    if (p == NULL)
        return 1;
    n = i2d_X509(p, &der);
    if (n > 0 && store_cert_key_hash(der, (size_t)n, id) && (e = parent_slot(c, p, id)) != NULL) {
        if (!cdp_file(child, file, sizeof(file)))
            snprintf(e->nocdp, sizeof(e->nocdp), "%s", r->name);
        else if (e->n_files < MAX_CRLIMP_FILES) {
            int dup = 0;
            for (size_t i = 0; i < e->n_files; i++)
                dup |= strcmp(e->files[i], file) == 0;
            if (!dup) {
                snprintf(e->files[e->n_files], sizeof(e->files[0]), "%s", file);
                snprintf(e->child[e->n_files++], sizeof(e->child[0]), "%s", r->name);
            }
        }
    }
    OPENSSL_free(der);
    X509_free(p);
    X509_free(child);
    return c->rc == 0;
}

/* 1 when file is one of the names CA ca publishes itself, for any generation: NAME.crl,
 * NAME+.crl, NAME.crt, NAME(k).crl, NAME(k)+.crl, NAME(i).crt, NAME(a-b).crt (store.h). */
static int own_file(const char *ca, const char *file)
{
    size_t n = strlen(ca), len;
    const char *rest = file + n, *close;

    if (strncmp(file, ca, n) != 0)
        return 0;
    if (strcmp(rest, ".crl") == 0 || strcmp(rest, "+.crl") == 0 || strcmp(rest, ".crt") == 0)
        return 1;
    if (rest[0] != '(' || (close = strchr(rest, ')')) == NULL)
        return 0;
    len = strspn(rest + 1, "0123456789-");
    return rest + 1 + len == close && len > 0 &&
           (strcmp(close + 1, ".crl") == 0 || strcmp(close + 1, "+.crl") == 0 ||
            strcmp(close + 1, ".crt") == 0);
}

/* A published name must not be one of offca's own files for a CA of this store (its CRLs and
 * certificates of every generation). */
static int clash_one(void *arg, const struct ca_rec *r)
{
    struct load_ctx *c = arg;

    for (size_t i = 0; i < c->ps->n; i++)
        for (size_t j = 0; j < c->ps->p[i].n_files; j++)
            if (own_file(r->name, c->ps->p[i].files[j])) {
                report("CA '%s': its CDP names '%s', which is a file CA '%s' publishes itself; "
                       "the parent's CRL cannot be published there: have the parent reissue "
                       "'%s' with a CDP naming the parent's CRL", c->ps->p[i].child[j],
                       c->ps->p[i].files[j], r->name, c->ps->p[i].child[j]);
                c->rc = EXIT_POLICY;
                return 0;
            }
    return 1;
}

/* See publish.h. */
int crlimp_parents_load(struct store_txn *t, struct crlimp_parents *ps)
{
    struct load_ctx c = { ps, 0 };

    memset(ps, 0, sizeof(*ps));
    if ((!store_ca_foreach(t, load_one, &c) || !store_ca_foreach(t, clash_one, &c)) && c.rc == 0)
        c.rc = fail_store();
    return c.rc;
}

/* See publish.h. */
void crlimp_parents_free(struct crlimp_parents *ps)
{
    for (size_t i = 0; ps && i < ps->n; i++)
        X509_free(ps->p[i].cert);
    if (ps)
        ps->n = 0;
}
