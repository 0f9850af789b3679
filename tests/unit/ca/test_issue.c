/*
 * test_issue.c — the issuance core without the command line: issue_prepare (template policy,
 * key gate, serial, validity, extensions, one signature in the token), issue_record (one
 * write transaction) and the batch engine (batch_sign), called with the store, the HSM handle
 * and the config they take. A throwaway SoftHSM token, store and root CA are made in setup
 * (config_load, store_open, hsm_open, tmpl_set_load and ca_create, without struct app); the
 * functions under test are handed only what they use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ca/batch.h"
#include "ca/ca.h"
#include "ca/ca_create.h"
#include "ca/config.h"
#include "ca/issue.h"
#include "ca/store.h"
#include "hsm/hsm.h"
#include "templates/template.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

static char dir[64], conf[128];
static struct config *Cfg;
static struct store *St;
static struct hsm *H;
static struct tmpl_set *Ts;
static struct ca_signer S;
static const struct tmpl *T;

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        return 0;
    return chmod(path, mode) == 0;
}

static int setup(void **state)
{
    char path[256], text[2048], cmd[512], cwd[1024];
    struct ca_create_req r = { .name = "root", .subject = "CN=Unit Root", .path_len = -1 };
    struct hsm_config hc = { NULL, NULL, NULL, NULL, 0 };
    struct hsm_key_info ki;

    snprintf(dir, sizeof(dir), "/tmp/offca-ut.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/tokens", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
    snprintf(text, sizeof(text), "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
             "log.level = ERROR\n", dir);
    if (!write_file(path, text, 0600) || setenv("SOFTHSM2_CONF", path, 1) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label unit --so-pin 87654321 "
             "--pin 1234 >/dev/null");
    if (system(cmd) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/pin", dir);
    if (!write_file(path, "1234\n", 0600))
        return -1;
    snprintf(path, sizeof(path), "%s/pub", dir);
    mkdir(path, 0755);
    if (getcwd(cwd, sizeof(cwd)) == NULL)             /* make test runs from the repository */
        return -1;
    snprintf(conf, sizeof(conf), "%s/ca.toml", dir);
    snprintf(text, sizeof(text), "[store]\npath = \"%s/store\"\n[hsm]\nmodule = \"%s\"\n"
             "token = \"unit\"\npin_file = \"%s/pin\"\n[publish]\ndir = \"%s/pub\"\n"
             "base_url = \"http://pki.unit.test/pki\"\n[templates]\ndir = \"%s/templates/shipped\"\n",
             dir, SOFTHSM_MODULE, dir, dir, cwd);
    if (!write_file(conf, text, 0600))
        return -1;
    if ((Cfg = config_load(conf)) == NULL)
        return -1;
    store_audit_clock_set(ca_now);
    hc.module = Cfg->hsm_module;
    hc.token_label = Cfg->hsm_token;
    hc.token_serial = Cfg->hsm_token_serial;
    hc.pin_file = Cfg->hsm_pin_file;
    if ((St = store_open(Cfg->store_path, 1)) == NULL || (H = hsm_open(&hc)) == NULL ||
        (Ts = tmpl_set_load(Cfg->templates_dir)) == NULL || !hsm_keygen(H, "root", "p256", &ki))
        return -1;
    r.key_uri = ki.uri;
    if (ca_create(St, H, Cfg, &r) != 0 || ca_signer_open(St, H, Cfg, "root", &S) != 0 ||
        (T = tmpl_set_find(Ts, "vpn-server")) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    ca_signer_close(&S);
    tmpl_set_free(Ts);
    hsm_close(H);
    store_close(St);
    config_free(Cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A request as the command line would hand it over: CN, one dns SAN, the subscriber's key. */
static void request(struct tmpl_request *q, X509_NAME *subj, EVP_PKEY *key, struct san *san)
{
    memset(q, 0, sizeof(*q));
    q->source = "unit request";
    q->csr_subject = subj;
    q->pubkey = key;
    q->op_sans = san;
    q->n_op_sans = 1;
}

static int serial_recorded(const struct issued *is)
{
    struct store_txn *t = store_txn_begin(St, 0);
    struct cert_rec r;
    int found;

    assert_non_null(t);
    memset(&r, 0, sizeof(r));
    found = store_cert_find(t, is->rec.serial, is->rec.serial_len, &r);
    if (found == 1)
        cert_rec_clear(&r);
    store_txn_abort(t);
    return found;
}

/* issue_prepare signs a certificate the relying party can verify, with what the template and
 * the CA decide; nothing is in the store until issue_record commits it. */
static void test_prepare_then_record(void **state)
{
    X509_NAME *subj = X509_NAME_new();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    struct san san = { SAN_DNS, "vpn1.unit.test" };
    struct tmpl_request q;
    struct issued is;
    const ASN1_OCTET_STRING *akid_want = X509_get0_subject_key_id(S.cert);
    AUTHORITY_KEYID *akid;
    CRL_DIST_POINTS *cdp;
    unsigned char *der = NULL;
    int derlen;

    assert_non_null(key);
    assert_true(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)"vpn1", -1, -1, 0));
    request(&q, subj, key, &san);
    memset(&is, 0, sizeof(is));
    assert_int_equal(issue_prepare(St, H, Cfg, &S, T, &q, NULL, &is), 0);
    assert_non_null(is.cert);
    assert_int_equal(X509_verify(is.cert, X509_get0_pubkey(S.cert)), 1);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(is.cert), X509_get_subject_name(S.cert)),
                     0);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(is.cert), key), 1);
    assert_int_equal(is.rec.serial_len, 20);
    assert_true(is.rec.serial[0] < 0x80);          /* positive, fixed length */
    akid = X509_get_ext_d2i(is.cert, NID_authority_key_identifier, NULL, NULL);
    assert_non_null(akid);
    assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, akid_want), 0);
    AUTHORITY_KEYID_free(akid);
    cdp = X509_get_ext_d2i(is.cert, NID_crl_distribution_points, NULL, NULL);
    assert_non_null(cdp);
    assert_string_equal((const char *)ASN1_STRING_get0_data(
        sk_GENERAL_NAME_value(sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname, 0)
            ->d.uniformResourceIdentifier), "http://pki.unit.test/pki/root.crl");
    sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    derlen = i2d_X509(is.cert, &der);
    assert_int_equal((size_t)derlen, is.rec.der_len);  /* the record holds these very bytes */
    assert_memory_equal(der, is.rec.der, is.rec.der_len);
    OPENSSL_free(der);
    assert_int_equal(serial_recorded(&is), 0);
    assert_int_equal(issue_record(St, &is, 1), 0);
    assert_int_equal(serial_recorded(&is), 1);
    issued_clear(&is);
    X509_NAME_free(subj);
    EVP_PKEY_free(key);
}

/* Refusals: the template's SAN policy (an email SAN on a server template) and the key gate (a
 * 1024-bit RSA key): the policy class, no certificate, nothing recorded. */
static void test_refusals(void **state)
{
    X509_NAME *subj = X509_NAME_new();
    EVP_PKEY *ec = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(1024);
    struct san email = { SAN_EMAIL, "a@unit.test" }, dns = { SAN_DNS, "vpn2.unit.test" };
    struct tmpl_request q;
    struct issued is;

    assert_non_null(ec);
    assert_non_null(rsa);
    assert_true(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)"vpn2", -1, -1, 0));
    request(&q, subj, ec, &email);
    memset(&is, 0, sizeof(is));
    assert_int_equal(issue_prepare(St, H, Cfg, &S, T, &q, NULL, &is), EXIT_POLICY);
    assert_null(is.cert);
    request(&q, subj, rsa, &dns);
    memset(&is, 0, sizeof(is));
    assert_int_equal(issue_prepare(St, H, Cfg, &S, T, &q, NULL, &is), EXIT_POLICY);
    assert_null(is.cert);
    X509_NAME_free(subj);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

/* A CSR for CN=name, signed with a new P-256 key, written to dir/name.csr. */
static void write_csr(const char *name, char *path, size_t len)
{
    X509_REQ *req = X509_REQ_new();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509_NAME *n = X509_REQ_get_subject_name(req);
    FILE *f;

    assert_non_null(key);
    assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)name,
                                           -1, -1, 0));
    assert_true(X509_REQ_set_pubkey(req, key));
    assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
    snprintf(path, len, "%s/%s.csr", dir, name);
    assert_non_null(f = fopen(path, "w"));
    assert_true(PEM_write_X509_REQ(f, req));
    fclose(f);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
}

/* The batch engine on its own, two workers: every entry issued, each output a certificate the CA
 * signed for that entry's name, each recorded; the same manifest again issues nothing more. */
static void test_batch(void **state)
{
    char manifest[128], csr[128], out[128], line[512];
    FILE *f;
    uint64_t before, after;
    struct store_txn *t;

    snprintf(manifest, sizeof(manifest), "%s/batch.jsonl", dir);
    assert_non_null(f = fopen(manifest, "w"));
    for (int i = 0; i < 3; i++) {
        char name[16];

        snprintf(name, sizeof(name), "vpn-b%d", i);
        write_csr(name, csr, sizeof(csr));
        snprintf(line, sizeof(line), "{\"csr\":\"%s\",\"san\":[\"dns:%s.unit.test\"],"
                 "\"out\":\"%s/%s.pem\"}\n", csr, name, dir, name);
        fputs(line, f);
    }
    fclose(f);
    assert_non_null(t = store_txn_begin(St, 0));
    before = store_cert_count(t);
    store_txn_abort(t);
    assert_int_equal(batch_sign(St, H, Cfg, &S, T, manifest, 2), 0);
    for (int i = 0; i < 3; i++) {
        X509 *x;
        char cn[32], want[16];

        snprintf(out, sizeof(out), "%s/vpn-b%d.pem", dir, i);
        assert_non_null(f = fopen(out, "r"));
        assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
        fclose(f);
        assert_int_equal(X509_verify(x, X509_get0_pubkey(S.cert)), 1);
        assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                              sizeof(cn)) > 0);
        snprintf(want, sizeof(want), "vpn-b%d", i);
        assert_string_equal(cn, want);
        X509_free(x);
    }
    assert_non_null(t = store_txn_begin(St, 0));
    after = store_cert_count(t);
    store_txn_abort(t);
    assert_int_equal(after, before + 3);
    assert_int_equal(batch_sign(St, H, Cfg, &S, T, manifest, 1), 0);  /* all skipped */
    assert_non_null(t = store_txn_begin(St, 0));
    after = store_cert_count(t);
    store_txn_abort(t);
    assert_int_equal(after, before + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_then_record),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_batch),
    };

    if (access(SOFTHSM_MODULE, R_OK) != 0) {
        fprintf(stderr, "test_issue: %s missing (make deps installs softhsm2)\n", SOFTHSM_MODULE);
        return 1;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
