/*
 * test_issue.c — the issuance core without the command line: cert_build (a spec to a linted,
 * signed, self-checked certificate), issue_prepare (template policy, key gate, serial,
 * validity, extensions, one signature in the token), issue_record (one write transaction) and
 * the batch engine (batch_sign), called with the store, the HSM handle and the config they
 * take. A throwaway SoftHSM token, store and root CA are made in setup (config_load,
 * store_open, hsm_open, tmpl_set_load and ca_create, without struct app); the functions under
 * test are handed only what they use.
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

#include "ca/issue/issue.h"
#include "ca/common/common.h"
#include "ca/authority/authority.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "hsm/hsm.h"
#include "templates/template.h"
#include "tests/unit/ca/ca_fixture.h"
#include "tests/unit/support/capture.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

static struct config *Cfg;
static struct store *St;
static struct hsm *H;
static struct tmpl_set *Ts;
static struct ca_signer S;
static const struct tmpl *T;

static struct ca_fixture F;

static int setup(void **state)
{
    if (ca_fixture_setup(&F, "CN=Unit Root") != 0)
        return -1;
    Cfg = F.cfg;
    St = F.st;
    H = F.h;
    if ((Ts = tmpl_set_load(Cfg->templates_dir)) == NULL ||
        ca_signer_open(St, H, Cfg, "root", &S) != 0 || (T = tmpl_set_find(Ts, "vpn-server")) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    ca_signer_close(&S);
    tmpl_set_free(Ts);
    return ca_fixture_teardown(&F);
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

/* An extension from its openssl.cnf-style value, appended to sk. */
static void ext_add(STACK_OF(X509_EXTENSION) *sk, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
    assert_non_null(e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value));
    assert_true(sk_X509_EXTENSION_push(sk, e) > 0);
}

/* A leaf spec filled by hand (no template): CN=build.unit.test, a P-256 key, issued by the unit
 * root, valid 30 days from a minute after the root's notBefore. */
static void build_spec(struct cert_spec *sp, X509_NAME *subj, EVP_PKEY *key,
                       STACK_OF(X509_EXTENSION) *exts, const unsigned char *serial, size_t n)
{
    assert_true(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)"build.unit.test", -1, -1, 0));
    ext_add(exts, NID_key_usage, "critical,digitalSignature");
    ext_add(exts, NID_ext_key_usage, "serverAuth");
    ext_add(exts, NID_subject_alt_name, "DNS:build.unit.test");
    memset(sp, 0, sizeof(*sp));
    sp->subject = subj;
    sp->pubkey = key;
    sp->issuer = S.cert;
    sp->serial = serial;
    sp->serial_len = n;
    sp->not_before = asn1_time_to_time(X509_get0_notBefore(S.cert)) + 60;
    sp->not_after = sp->not_before + 30 * 86400;
    sp->exts = exts;
    sp->akid = 1;
    sp->cdp_url = S.cdp;
    sp->aia_url = S.aia;
}

/* The first element (the tbsCertificate, header included) of the certificate SEQUENCE in der. */
static const unsigned char *der_tbs(const unsigned char *der, size_t len, size_t *tbs_len)
{
    const unsigned char *p = der, *tbs;
    long n;
    int tag, cls;

    assert_int_equal(ASN1_get_object(&p, &n, &tag, &cls, (long)len), V_ASN1_CONSTRUCTED);
    assert_int_equal(tag, V_ASN1_SEQUENCE);
    assert_true(p + n == der + len);                 /* the SEQUENCE is the whole DER */
    tbs = p;
    assert_int_equal(ASN1_get_object(&p, &n, &tag, &cls, (long)(der + len - p)),
                     V_ASN1_CONSTRUCTED);
    assert_int_equal(tag, V_ASN1_SEQUENCE);
    *tbs_len = (size_t)(p - tbs) + (size_t)n;
    return tbs;
}

/* cert_build on its own: the DER it returns parses and is the certificate's encoding; its TBS is
 * byte for byte the TBS built (and linted) from the spec; the signature over those bytes
 * verifies with the CA's public key; serial, names, validity and key are the spec's. */
static void test_cert_build(void **state)
{
    static const unsigned char serial[SERIAL_BYTES] = {
        0x3c, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
        0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13};
    X509_NAME *subj = X509_NAME_new();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    struct cert_spec sp;
    struct cert_built out;
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *alg;
    const ASN1_INTEGER *sn;
    const unsigned char *tbs;
    unsigned char *tbs_built = NULL, *der = NULL;
    size_t tbs_len;
    int n;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    X509 *x, *re;

    assert_non_null(key);
    assert_non_null(md);
    build_spec(&sp, subj, key, exts, serial, sizeof(serial));
    x = cert_build(&sp, H, S.key, S.sig, S.hash, &out);
    assert_non_null(x);
    assert_int_equal(out.rc, 0);
    assert_non_null(out.der);
    assert_non_null(re = der_to_x509(out.der, out.der_len));  /* parses, nothing left over */
    n = i2d_X509(x, &der);
    assert_int_equal((size_t)n, out.der_len);               /* OpenSSL's encoding is the DER */
    assert_memory_equal(der, out.der, out.der_len);
    tbs = der_tbs(out.der, out.der_len, &tbs_len);
    n = i2d_re_X509_tbs(x, &tbs_built);                     /* the TBS built from the spec */
    assert_int_equal((size_t)n, tbs_len);
    assert_memory_equal(tbs, tbs_built, tbs_len);
    X509_get0_signature(&sig, &alg, re);
    assert_int_equal(X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(re)), 0);
    assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, S.hash, NULL, NULL,
                                             X509_get0_pubkey(S.cert), NULL), 1);
    assert_int_equal(EVP_DigestVerify(md, ASN1_STRING_get0_data(sig),
                                      (size_t)ASN1_STRING_length(sig), tbs, tbs_len), 1);
    assert_int_equal(X509_verify(re, X509_get0_pubkey(S.cert)), 1);
    sn = X509_get0_serialNumber(re);
    assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);   /* positive */
    assert_int_equal(ASN1_STRING_length(sn), sizeof(serial));
    assert_memory_equal(ASN1_STRING_get0_data(sn), serial, sizeof(serial));
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(re), subj), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(re), X509_get_subject_name(S.cert)), 0);
    assert_true(asn1_time_to_time(X509_get0_notBefore(re)) == sp.not_before);
    assert_true(asn1_time_to_time(X509_get0_notAfter(re)) == sp.not_after);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(re), key), 1);
    OPENSSL_free(out.der);
    OPENSSL_free(der);
    OPENSSL_free(tbs_built);
    EVP_MD_CTX_free(md);
    X509_free(re);
    X509_free(x);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(subj);
    EVP_PKEY_free(key);
}

/* A spec the lint refuses (notAfter before notBefore, validity.order): NULL, the policy class,
 * no DER, and the lint's id and problem in the message. */
static void test_cert_build_refused(void **state)
{
    static const unsigned char serial[SERIAL_BYTES] = {0x3d, 0x01};
    X509_NAME *subj = X509_NAME_new();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    struct cert_spec sp;
    struct cert_built out;
    const char *msg;
    X509 *x;

    assert_non_null(key);
    build_spec(&sp, subj, key, exts, serial, sizeof(serial));
    sp.not_after = sp.not_before - 86400;
    assert_true(capture_start(STDERR_FILENO));
    x = cert_build(&sp, H, S.key, S.sig, S.hash, &out);
    msg = capture_stop();
    assert_null(x);
    assert_int_equal(out.rc, EXIT_POLICY);
    assert_null(out.der);
    if (strstr(msg, "certificate: lint validity.order (RFC 5280 4.1.2.5): notBefore is after "
                    "notAfter") == NULL)
        fail_msg("message \"%s\" does not name the validity.order lint", msg);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(subj);
    EVP_PKEY_free(key);
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
    snprintf(path, len, "%s/%s.csr", F.dir, name);
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

    snprintf(manifest, sizeof(manifest), "%s/batch.jsonl", F.dir);
    assert_non_null(f = fopen(manifest, "w"));
    for (int i = 0; i < 3; i++) {
        char name[16];

        snprintf(name, sizeof(name), "vpn-b%d", i);
        write_csr(name, csr, sizeof(csr));
        snprintf(line, sizeof(line), "{\"csr\":\"%s\",\"san\":[\"dns:%s.unit.test\"],"
                 "\"out\":\"%s/%s.pem\"}\n", csr, name, F.dir, name);
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

        snprintf(out, sizeof(out), "%s/vpn-b%d.pem", F.dir, i);
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
        cmocka_unit_test(test_cert_build),
        cmocka_unit_test(test_cert_build_refused),
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
