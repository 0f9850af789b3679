/*
 * ca_import.c — an issuing CA whose parent lives outside offca (an AD CS root, a Cloud PKI
 * root): `ca csr` makes a PKCS#10 request with the token key and records the CA as pending;
 * `ca import` takes the certificate the parent issued (and the chain up to its root), checks it
 * matches the token key and chains, warns loudly when it lacks CDP or AIA, and activates the CA.
 */
#include "ca/authority/authority.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/issue/issue.h"
#include "ca/store/store.h"
#include "hsm/hsm.h"
#include "templates/template.h"

static int save_pending(struct store *st, const char *name, const char *key_uri,
                        const char *hash, int is_rsa)
{
    struct store_txn *t = store_txn_begin(st, 1);
    struct ca_rec rec, old;
    int found, rc;

    if (t == NULL)
        return fail_store();
    if ((found = store_ca_get(t, name, &old)) != 0) {
        /* `ca csr` again for the same pending CA and key: write the request again (the first
         * output may have been lost); the record stays as it is. */
        if (found > 0 && old.state == CA_PENDING && strcmp(old.key_uri, key_uri) == 0) {
            ca_rec_clear(&old);
            return txn_finish(t, store_audit_append(t, "ca.csr", name, "ok", "again"));
        }
        if (found > 0) {
            ca_rec_clear(&old);
            report("CA '%s': already exists; choose another name (see 'offca ca list')", name);
            rc = EXIT_POLICY;
        } else {
            rc = fail_store();
        }
        store_txn_abort(t);
        return rc;
    }
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.name, sizeof(rec.name), "%s", name);
    rec.key_uri = (char *)key_uri;
    rec.state = CA_PENDING;
    rec.created = ca_now();
    snprintf(rec.sig, sizeof(rec.sig), "%s", is_rsa ? "rsa-pkcs1" : "ecdsa");
    snprintf(rec.hash, sizeof(rec.hash), "%s", hash);
    return txn_finish(t, store_ca_add(t, &rec) &&
                             store_audit_append(t, "ca.csr", name, "ok", key_uri));
}

static unsigned char *csr_der(struct hsm *h, EVP_PKEY *key, const X509_NAME *subj,
                              const char *hash, size_t *len)
{
    X509_REQ *req = X509_REQ_new_ex(hsm_get0_libctx(h), NULL);
    EVP_MD_CTX *md = hsm_sign_ctx_new(h, key, HSM_SIG_DEFAULT, hash);
    unsigned char *der = NULL;
    int n;

    if (req == NULL || md == NULL || !X509_REQ_set_version(req, 0) ||
        !X509_REQ_set_subject_name(req, subj) || !X509_REQ_set_pubkey(req, key) ||
        X509_REQ_sign_ctx(req, md) <= 0 || (n = i2d_X509_REQ(req, &der)) <= 0) {
        if (md == NULL)
            fail_hsm();
        else
            report("CA request: signing in the token failed: %s", ossl_errstr());
        der = NULL;
    } else {
        *len = (size_t)n;
    }
    EVP_MD_CTX_free(md);
    X509_REQ_free(req);
    return der;
}

int ca_make_csr(struct store *st, struct hsm *h, const struct config *cfg, const char *name,
                const char *key_uri, const char *subject, const char *hash, const char *out)
{
    struct hsm_key_info info;
    X509_NAME *subj = NULL;
    EVP_PKEY *key = NULL;
    unsigned char *der = NULL;
    char *pem = NULL;
    size_t len = 0;
    long plen;
    BIO *b = NULL;
    int rc;

    if ((rc = ca_name_check(name)) != 0)
        return rc;
    if ((subj = dn_parse(subject)) == NULL)
        return fail_tmpl();
    if ((key = hsm_key_load(h, key_uri, config_ca(cfg, name)->allow_extractable_key,
                            &info)) == NULL) {
        rc = fail_hsm();
        goto out;
    }
    if ((rc = keycheck_ca_key(st, cfg, key, name)) != 0)
        goto out;
    if (hash == NULL)
        hash = (!info.is_rsa && info.bits >= 384) ? "sha384" : "sha256";
    rc = EXIT_SYSTEM;
    if ((der = csr_der(h, key, subj, hash, &len)) == NULL || (b = BIO_new(BIO_s_mem())) == NULL)
        goto out;
    {
        const unsigned char *p = der;
        X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
        int okw = req && PEM_write_bio_X509_REQ(b, req);
        X509_REQ_free(req);
        if (!okw)
            goto out;
    }
    plen = BIO_get_mem_data(b, &pem);
    /* Record the pending CA first: a request that was written out but not remembered could
     * never be imported. */
    if ((rc = save_pending(st, name, key_uri, hash, info.is_rsa)) != 0)
        goto out;
    if ((rc = file_write(out, pem, (size_t)plen, 0644, 0)) != 0)
        goto out;
    if (strcmp(out, "-") != 0)
        printf("wrote %s: submit it to the parent CA, then run 'offca ca import %s --cert FILE "
               "--chain FILE'\n", out, name);
out:
    BIO_free(b);
    OPENSSL_free(der);
    EVP_PKEY_free(key);
    X509_NAME_free(subj);
    return rc;
}

/* Read every certificate (PEM or one DER) of a file. */
static STACK_OF(X509) *load_certs(const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    STACK_OF(X509) *sk = NULL;
    X509 *x;
    BIO *b;

    if (file_load(path, MAX_INPUT_BYTES, &data, &len) != 0)
        return NULL;
    sk = sk_X509_new_null();
    if ((b = BIO_new_mem_buf(data, (int)len)) != NULL && sk) {
        while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
            sk_X509_push(sk, x);
        ERR_clear_error();
    }
    BIO_free(b);
    if (sk && sk_X509_num(sk) == 0 && (x = der_to_x509(data, len)) != NULL)
        sk_X509_push(sk, x);
    free(data);
    if (sk == NULL || sk_X509_num(sk) == 0) {
        report("%s: not a certificate file (PEM or DER); export the certificate as Base-64 or "
               "DER", path);
        sk_X509_pop_free(sk, X509_free);
        return NULL;
    }
    return sk;
}

/* No --chain: only a self-signed certificate is its own chain. */
static STACK_OF(X509) *self_chain(X509 *cert, const char *name)
{
    STACK_OF(X509) *sk;

    if (X509_check_issued(cert, cert) != X509_V_OK) {
        report("CA '%s': the certificate is not self-signed; give its parents up to the root with "
               "--chain FILE", name);
        return NULL;
    }
    if ((sk = sk_X509_new_null()) == NULL || !X509_up_ref(cert) || !sk_X509_push(sk, cert)) {
        sk_X509_free(sk);
        return NULL;
    }
    return sk;
}

/* The certificate must chain to a self-signed root in the chain file. */
static int verify_chain(X509 *cert, STACK_OF(X509) *chain, const char *name)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int ok = 0, err;

    for (int i = 0; st && untrusted && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        if (X509_check_issued(c, c) == X509_V_OK)
            X509_STORE_add_cert(st, c);
        else
            sk_X509_push(untrusted, c);
    }
    if (ctx && X509_STORE_CTX_init(ctx, st, cert, untrusted) == 1)
        ok = X509_verify_cert(ctx) == 1;
    if (!ok) {
        err = ctx ? X509_STORE_CTX_get_error(ctx) : 0;
        report("CA '%s': the certificate does not chain to a root in the --chain file: %s; give "
               "the parent's certificate and its root", name, X509_verify_cert_error_string(err));
    }
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

static int check_ca_cert(X509 *cert, EVP_PKEY *key, const char *name)
{
    if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
        report("CA '%s': the certificate's public key is not the token key of this CA; import "
               "the certificate issued for the request 'offca ca csr' wrote", name);
        return EXIT_POLICY;
    }
    if (X509_check_ca(cert) == 0 || !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN)) {
        report("CA '%s': RFC 5280 4.2.1.9: the certificate is not a CA certificate "
               "(basicConstraints CA:TRUE and keyCertSign needed); ask the parent CA for a "
               "subordinate CA certificate", name);
        return EXIT_POLICY;
    }
    if (X509_check_issued(cert, cert) == X509_V_OK)
        return 0;                        /* a root: trusted, not checked (no CDP, no AIA) */
    if (X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) < 0)
        report_warn("CA '%s': THE CERTIFICATE HAS NO CDP. Windows NPS checks revocation of the "
                    "issuing CA and will refuse every VPN/Wi-Fi logon (client error 853, reason "
                    "258). Ask the parent CA to reissue it with an HTTP CDP", name);
    if (X509_get_ext_by_NID(cert, NID_info_access, -1) < 0)
        report_warn("CA '%s': the certificate has no AIA caIssuers URL; clients may fail to build "
                    "the chain. Ask the parent CA to include AIA", name);
    return 0;
}

static int save_imported(struct store *st, struct ca_rec *rec, X509 *cert, STACK_OF(X509) *chain,
                         int pending, const struct adopt_set *adopted)
{
    struct store_txn *t;
    int rc;
    unsigned char *buf = NULL, *p;
    size_t total = 0;

    if (X509_check_issued(cert, cert) == X509_V_OK)
        chain = NULL;                    /* a root is its own chain: nothing outside to keep */
    for (int i = 0; i < sk_X509_num(chain); i++)
        total += (size_t)i2d_X509(sk_X509_value(chain, i), NULL);
    if ((buf = malloc(total ? total : 1)) == NULL)
        return EXIT_SYSTEM;
    p = buf;
    for (int i = 0; i < sk_X509_num(chain); i++)
        i2d_X509(sk_X509_value(chain, i), &p);
    free(rec->cert_der);
    rec->cert_der = x509_to_der(cert, &rec->cert_len);
    rec->chain_der = buf;
    rec->chain_len = total;
    rec->state = CA_ACTIVE;
    rec->is_root = X509_check_issued(cert, cert) == X509_V_OK;
    if ((t = store_txn_begin(st, 1)) == NULL)
        return fail_store();
    if (!(pending ? store_ca_replace(t, rec) : store_ca_add(t, rec)) || !store_gen_first(t, rec) ||
        !store_audit_append(t, "ca.import", rec->name, "ok", ""))
        return txn_finish(t, 0);
    /* the certificates of a legacy CA, in the same transaction */
    if (adopted != NULL && (rc = adopt_apply(t, rec->name, adopted)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    return txn_finish(t, 1);
}

int ca_import(struct store *st, struct hsm *h, const struct config *cfg, const char *name,
              const char *cert_file, const char *chain_file, const char *key_uri,
              const struct adopt_opts *adopt)
{
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    struct hsm_key_info info;
    struct adopt_set set;
    struct store_txn *t;
    struct ca_rec rec;
    EVP_PKEY *key = NULL;
    int found, rc;

    memset(&rec, 0, sizeof(rec));
    memset(&set, 0, sizeof(set));
    if ((rc = ca_name_check(name)) != 0)
        return rc;
    if ((t = store_txn_begin(st, 0)) == NULL)
        return fail_store();
    found = store_ca_get(t, name, &rec);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found > 0 && rec.state != CA_PENDING) {
        report("CA '%s': already has a certificate; choose another name", name);
        rc = EXIT_POLICY;
        goto out;
    }
    if (found == 0 && key_uri == NULL) {
        report("CA '%s': no pending request; run 'offca ca csr %s --key URI ...' first, or give "
               "--key URI", name, name);
        rc = EXIT_USAGE;
        goto out;
    }
    if (key_uri) {
        free(rec.key_uri);
        rec.key_uri = strdup(key_uri);
        snprintf(rec.name, sizeof(rec.name), "%s", name);
    }
    rc = EXIT_INPUT;
    if ((certs = load_certs(cert_file)) == NULL ||
        (chain = chain_file ? load_certs(chain_file) : self_chain(sk_X509_value(certs, 0), name))
            == NULL)
        goto out;
    /* a deferred h opens the token (asks the PIN) here, once the files were read */
    if ((key = hsm_key_load(h, rec.key_uri, config_ca(cfg, name)->allow_extractable_key,
                            &info)) == NULL) {
        rc = fail_hsm();
        goto out;
    }
    if (rec.sig[0] == '\0') {            /* --key without 'ca csr': the defaults of the key type */
        snprintf(rec.sig, sizeof(rec.sig), "%s", info.is_rsa ? "rsa-pkcs1" : "ecdsa");
        snprintf(rec.hash, sizeof(rec.hash), "%s",
                 !info.is_rsa && info.bits >= 384 ? "sha384" : "sha256");
    }
    if ((rc = check_ca_cert(sk_X509_value(certs, 0), key, name)) != 0 ||
        (rc = keycheck_ca_key(st, cfg, key, name)) != 0)
        goto out;
    rc = EXIT_POLICY;
    if (!verify_chain(sk_X509_value(certs, 0), chain, name))
        goto out;
    if (adopt_wanted(adopt) && (rc = adopt_load(adopt, sk_X509_value(certs, 0), &set)) != 0)
        goto out;
    if ((rc = save_imported(st, &rec, sk_X509_value(certs, 0), chain, found > 0,
                            adopt_wanted(adopt) ? &set : NULL)) == 0)
        printf("imported CA '%s'\n", name);
    if (rc == 0 && adopt_wanted(adopt))
        printf("adopted %zu certificates (%zu revoked, %zu on the old CA's last CRL); the next "
               "'offca crl publish' signs CRL number %llu\n", set.n, set.n_revoked, set.n_on_crl,
               (unsigned long long)set.crl_number + 1);
out:
    adopt_set_free(&set);
    EVP_PKEY_free(key);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    ca_rec_clear(&rec);
    return rc;
}
