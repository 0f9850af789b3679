/*
 * test_lint_store.c — `offca lint --store` (lint_store_scan) on a store planted with
 * certificates built here with OpenSSL: a clean root and leaf pass; a valid leaf that breaks a
 * rule is reported with the command that revokes it; a bad root is reported with what to do
 * instead; revoked and expired certificates are not looked at; --ca restricts the scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ca/issue/issue.h"
#include "ca/common/common.h"
#include "ca/health/health.h"
#include "ca/store/store.h"
#include "tests/unit/support/capture.h"

static char tmp[256], sdir[300];
static EVP_PKEY *key;
static X509 *root;

struct hits {
    char obj[8][96];
    char revoke[8][160];
    char first_id[8][40];
    size_t n;
};

static void on_hit(void *arg, const char *obj, const struct lint_report *r, const char *revoke)
{
    struct hits *h = arg;

    assert_true(h->n < 8);
    snprintf(h->obj[h->n], sizeof(h->obj[0]), "%s", obj);
    snprintf(h->revoke[h->n], sizeof(h->revoke[0]), "%s", revoke ? revoke : "");
    snprintf(h->first_id[h->n], sizeof(h->first_id[0]), "%s", r->n ? r->f[0].rule->id : "");
    h->n++;
}

static void ext(X509 *x, X509 *issuer, int nid, const char *v)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, v);
    assert_non_null(e);
    assert_true(X509_add_ext(x, e, -1));
    X509_EXTENSION_free(e);
}

/* A certificate: CA (self-signed root) or leaf under root; ku is the keyUsage config text. */
static X509 *make(const char *cn, int serial, int ca, const char *ku)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, ca ? n : X509_get_subject_name(root));
    X509_NAME_free(n);
    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, NULL);
    X509_time_adj_ex(X509_getm_notAfter(x), ca ? 3650 : 30, 0, NULL);
    X509_set_pubkey(x, key);
    ext(x, ca ? x : root, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    ext(x, ca ? x : root, NID_key_usage, ku);
    ext(x, ca ? x : root, NID_subject_key_identifier, "hash");
    if (!ca) {
        ext(x, root, NID_authority_key_identifier, "keyid:always");
        ext(x, root, NID_ext_key_usage, "clientAuth");
        ext(x, root, NID_subject_alt_name, "DNS:pc.contoso.com");
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static void ca_put(struct store_txn *t, const char *name, X509 *x)
{
    struct ca_rec r;
    size_t n = 0;

    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    r.key_uri = "pkcs11:token=t;object=root";
    r.cert_der = x509_to_der(x, &n);
    r.cert_len = n;
    r.is_root = 1;
    r.created = time(NULL);
    snprintf(r.sig, sizeof(r.sig), "ecdsa");
    snprintf(r.hash, sizeof(r.hash), "sha256");
    if (!store_ca_add(t, &r))
        fail_msg("ca add: %s", store_error());
    free(r.cert_der);
}

/* Record leaf x under CA ca; not_after_days < 0 makes the record expired. */
static void cert_put(struct store_txn *t, const char *ca, X509 *x, int serial, long days)
{
    struct cert_rec r;

    memset(&r, 0, sizeof(r));
    snprintf(r.ca, sizeof(r.ca), "%s", ca);
    r.serial[0] = (unsigned char)serial;
    r.serial_len = 1;
    r.der = x509_to_der(x, &r.der_len);
    r.template_name = "intune-device";
    r.subject = "CN=pc";
    r.sans = "dns:pc.contoso.com";
    r.not_before = time(NULL) - 86400;
    r.not_after = time(NULL) + days * 86400;
    r.issued_at = r.not_before;
    r.reason = -1;
    if (!store_cert_add(t, &r))
        fail_msg("cert add: %s", store_error());
    free(r.der);
}

static struct store *planted(void)
{
    struct store *s = store_open(sdir, 1);
    struct store_txn *t;
    X509 *good = make("good", 0x21, 0, "critical,digitalSignature");
    X509 *bad = make("bad", 0x22, 0, "digitalSignature");               /* not critical */
    X509 *badroot = make("Old Root", 0x31, 1, "keyCertSign,cRLSign");   /* not critical */

    assert_non_null(s);
    assert_non_null(t = store_txn_begin(s, 1));
    ca_put(t, "root", root);
    ca_put(t, "oldroot", badroot);
    cert_put(t, "root", good, 0x21, 30);
    cert_put(t, "root", bad, 0x22, 30);
    cert_put(t, "root", bad, 0x23, -1);                 /* expired: not looked at */
    cert_put(t, "root", bad, 0x24, 30);
    assert_true(store_revoke(t, "root", (const unsigned char *)"\x24", 1, 1, time(NULL), 0));
    assert_true(store_txn_commit(t));
    X509_free(good);
    X509_free(bad);
    X509_free(badroot);
    return s;
}

static int setup(void **state)
{
    (void)state;
    if (!tmpdir_make(tmp, sizeof(tmp)))
        return -1;
    snprintf(sdir, sizeof(sdir), "%s/store", tmp);
    key = EVP_EC_gen("P-256");
    root = make("Root", 0x11, 1, "critical,keyCertSign,cRLSign");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(root);
    EVP_PKEY_free(key);
    return tmpdir_remove(tmp) ? 0 : -1;
}

static void test_scan_finds_planted(void **state)
{
    struct store *s = planted();
    struct lint_scan sc;
    struct hits h;

    (void)state;
    memset(&sc, 0, sizeof(sc));
    memset(&h, 0, sizeof(h));
    lint_opts_init(&sc.base);
    sc.now = time(NULL);
    sc.hit = on_hit;
    sc.arg = &h;
    assert_int_equal(lint_store_scan(s, NULL, &sc), 0);
    assert_int_equal(sc.checked, 4);            /* two roots, the good and the bad valid leaf */
    assert_int_equal(sc.hits, 2);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.obj[0], "oldroot/31");
    assert_string_equal(h.first_id[0], "ku.critical");
    assert_non_null(strstr(h.revoke[0], "cannot be revoked"));
    assert_string_equal(h.obj[1], "root/22");
    assert_string_equal(h.first_id[1], "ku.critical");
    assert_string_equal(h.revoke[1], "offca revoke --ca root --serial 22 --reason superseded");

    /* --ca oldroot: only that CA (its root certificate; it issued nothing) */
    memset(&h, 0, sizeof(h));
    sc.checked = sc.hits = 0;
    sc.ca = "oldroot";
    assert_int_equal(lint_store_scan(s, NULL, &sc), 0);
    assert_int_equal(sc.checked, 1);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.obj[0], "oldroot/31");
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_finds_planted),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
