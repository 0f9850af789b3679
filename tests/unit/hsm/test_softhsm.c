/*
 * test_softhsm.c — hsm/ against a real SoftHSM2 token created in a throwaway directory:
 * keygen, list, load by URI, X509/CRL signing through the provider for every scheme, bulk
 * software-verified signatures, strict export, wrong PIN, refusals, fork guard.
 * Skips (one line) when SoftHSM2 is not installed.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm/hsm.h"
#include "hsm/hsm_int.h"
#include "hsm/p11.h"

#include <pthread.h>

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN "t"
#define LOOP_SIGS 200

struct fixture {
    char dir[64];
    char pinfile[128];
    struct hsm *h;
    int skip;
};

static struct fixture fx;

static struct hsm_config cfg_with(const char *label, const char *pinfile)
{
    struct hsm_config c = { SOFTHSM_MODULE, label, NULL, pinfile, 0 };
    return c;
}

static int group_setup(void **state)
{
    char path[160], cmd[512];
    FILE *f;

    if (access(SOFTHSM_MODULE, R_OK) != 0 || system("command -v softhsm2-util >/dev/null") != 0) {
        fx.skip = 1;
        return 0;
    }
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/offca-hsm-XXXXXX");
    if (mkdtemp(fx.dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/tokens", fx.dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/softhsm2.conf", fx.dir);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
            fx.dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", path, 1);
    snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label " TOKEN
             " --so-pin 87654321 --pin 1234 >/dev/null");
    if (system(cmd) != 0)
        return -1;
    snprintf(fx.pinfile, sizeof(fx.pinfile), "%s/pin", fx.dir);
    if ((f = fopen(fx.pinfile, "w")) == NULL)
        return -1;
    fputs("1234\n", f);
    fclose(f);
    chmod(fx.pinfile, 0600);
    struct hsm_config c = cfg_with(TOKEN, fx.pinfile);
    fx.h = hsm_open(&c);
    if (fx.h == NULL)
        fprintf(stderr, "hsm_open: %s\n", hsm_error());
    return fx.h == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    char cmd[160];

    hsm_close(fx.h);
    if (fx.dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

#define NEED_SOFTHSM() do { if (fx.skip) { \
    print_message("skip: SoftHSM2 (" SOFTHSM_MODULE ", softhsm2-util) not installed\n"); \
    skip(); } } while (0)

static EVP_PKEY *load(const char *label)
{
    char uri[HSM_MAX_URI];
    EVP_PKEY *k;

    snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=%s;type=private", label);
    k = hsm_key_load(fx.h, uri, 0, NULL);
    if (k == NULL)
        fail_msg("load %s: %s", label, hsm_error());
    return k;
}

/* A software copy of the public key, as a relying party would have it (default libctx). */
static EVP_PKEY *soft_pub(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int n = i2d_PUBKEY(k, &der);
    EVP_PKEY *pub;

    assert_true(n > 0);
    p = der;
    pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    assert_non_null(pub);
    return pub;
}

struct keygen_case { const char *label, *alg; int bits, is_rsa; };

static const struct keygen_case keygen_cases[] = {
    { "rsa", "rsa2048", 2048, 1 },
    { "rsa3k", "rsa3072", 3072, 1 },
    { "ec256", "p256", 256, 0 },
    { "ec384", "p384", 384, 0 },
};

static void test_keygen(void **state)
{
    struct hsm_key_info info;
    size_t i;

    NEED_SOFTHSM();
    for (i = 0; i < sizeof(keygen_cases) / sizeof(keygen_cases[0]); i++) {
        const struct keygen_case *c = &keygen_cases[i];

        if (!hsm_keygen(fx.h, c->label, c->alg, &info))
            fail_msg("keygen %s: %s", c->alg, hsm_error());
        assert_string_equal(info.label, c->label);
        assert_string_equal(info.alg, c->alg);
        assert_int_equal(info.bits, c->bits);
        assert_int_equal(info.is_rsa, c->is_rsa);
        assert_int_equal(strlen(info.id_hex), 32);
        assert_non_null(strstr(info.uri, "pkcs11:token=t;object="));
        assert_true(info.sensitive && !info.extractable && info.never_extractable && info.local);
    }
}

struct bad_keygen { const char *label, *alg, *msg; int code; };

static const struct bad_keygen bad_keygens[] = {
    { "rsa", "rsa2048", "already exists in token 't'", 1 },
    { "ec256", "p384", "already exists", 1 },
    { "x", "rsa1024", "'rsa1024' is not supported", 2 },
    { "x", "ed25519", "use rsa2048", 2 },
    { "", "p256", "label: must be 1..", 2 },
};

static void test_keygen_refused(void **state)
{
    struct hsm_key_info info;
    size_t i;

    NEED_SOFTHSM();
    for (i = 0; i < sizeof(bad_keygens) / sizeof(bad_keygens[0]); i++) {
        assert_int_equal(hsm_keygen(fx.h, bad_keygens[i].label, bad_keygens[i].alg, &info), 0);
        assert_non_null(strstr(hsm_error(), bad_keygens[i].msg));
        assert_int_equal(hsm_error_code(), bad_keygens[i].code);
    }
}

static void test_key_list(void **state)
{
    struct hsm_key_info *list = NULL;
    size_t n = 0, i, j, found = 0;

    NEED_SOFTHSM();
    assert_true(hsm_key_list(fx.h, &list, &n));
    for (i = 0; i < sizeof(keygen_cases) / sizeof(keygen_cases[0]); i++) {
        for (j = 0; j < n; j++) {
            if (strcmp(list[j].label, keygen_cases[i].label) != 0)
                continue;
            found++;
            assert_string_equal(list[j].alg, keygen_cases[i].alg);
            assert_int_equal(list[j].sensitive, 1);
            assert_int_equal(list[j].extractable, 0);
            assert_int_equal(list[j].never_extractable, 1);
        }
    }
    assert_int_equal(found, 4);
    free(list);
}

struct sign_case { const char *label; enum hsm_sig sig; const char *hash; int signid; };

static const struct sign_case sign_cases[] = {
    { "rsa", HSM_SIG_RSA_PKCS1, "sha256", NID_sha256WithRSAEncryption },
    { "rsa", HSM_SIG_DEFAULT, "sha384", NID_sha384WithRSAEncryption },
    { "rsa", HSM_SIG_RSA_PKCS1, "sha512", NID_sha512WithRSAEncryption },
    { "rsa", HSM_SIG_RSA_PSS, "sha256", NID_rsassaPss },
    { "rsa3k", HSM_SIG_RSA_PSS, "sha384", NID_rsassaPss },
    { "rsa3k", HSM_SIG_RSA_PKCS1, "sha256", NID_sha256WithRSAEncryption },
    { "ec256", HSM_SIG_ECDSA, "sha256", NID_ecdsa_with_SHA256 },
    { "ec384", HSM_SIG_DEFAULT, "sha384", NID_ecdsa_with_SHA384 },
    { "ec256", HSM_SIG_ECDSA, "sha512", NID_ecdsa_with_SHA512 },
};

static X509 *self_signed(EVP_PKEY *key, EVP_MD_CTX *ctx)
{
    X509 *x = X509_new_ex(hsm_get0_libctx(fx.h), NULL);
    X509_NAME *name = X509_NAME_new();

    assert_non_null(x);
    assert_true(X509_set_version(x, X509_VERSION_3));
    assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 42));
    assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                           (const unsigned char *)"offca test", -1, -1, 0));
    assert_true(X509_set_subject_name(x, name) && X509_set_issuer_name(x, name));
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    assert_true(X509_set_pubkey(x, key));
    if (X509_sign_ctx(x, ctx) <= 0)
        fail_msg("X509_sign_ctx: %s", ERR_error_string(ERR_get_error(), NULL));
    X509_NAME_free(name);
    return x;
}

static void test_sign_x509(void **state)
{
    size_t i;

    NEED_SOFTHSM();
    for (i = 0; i < sizeof(sign_cases) / sizeof(sign_cases[0]); i++) {
        const struct sign_case *c = &sign_cases[i];
        EVP_PKEY *key = load(c->label), *pub = soft_pub(key);
        EVP_MD_CTX *ctx = hsm_sign_ctx_new(fx.h, key, c->sig, c->hash);
        unsigned char *der = NULL;
        const unsigned char *p;
        X509 *x, *y;
        int n;

        if (ctx == NULL)
            fail_msg("case %zu: %s", i, hsm_error());
        x = self_signed(key, ctx);
        n = i2d_X509(x, &der);
        assert_true(n > 0);
        p = der;
        y = d2i_X509(NULL, &p, n);   /* a relying party's view: plain default libctx */
        assert_non_null(y);
        assert_int_equal(X509_get_signature_nid(y), c->signid);
        if (X509_verify(y, pub) != 1)
            fail_msg("case %zu (%s %s): software verify failed", i, c->label, c->hash);
        /* The cached pubkey in x is the token key: verify is delegated to its software half. */
        assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
        assert_int_equal(X509_check_private_key(y, key), 1);
        assert_int_equal(EVP_PKEY_eq(key, pub), 1);
        OPENSSL_free(der);
        X509_free(x);
        X509_free(y);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pub);
        EVP_PKEY_free(key);
    }
}

/* An outside relying party: `openssl verify` accepts the self-signed certificates. */
static void test_openssl_verify(void **state)
{
    static const struct sign_case cli[] = {
        { "rsa", HSM_SIG_RSA_PSS, "sha256", NID_rsassaPss },
        { "ec384", HSM_SIG_ECDSA, "sha384", NID_ecdsa_with_SHA384 },
    };
    char path[160], cmd[512];
    size_t i;

    NEED_SOFTHSM();
    if (system("command -v openssl >/dev/null") != 0)
        skip();
    for (i = 0; i < sizeof(cli) / sizeof(cli[0]); i++) {
        EVP_PKEY *key = load(cli[i].label);
        EVP_MD_CTX *ctx = hsm_sign_ctx_new(fx.h, key, cli[i].sig, cli[i].hash);
        X509 *x = self_signed(key, ctx);
        FILE *f;

        snprintf(path, sizeof(path), "%s/cert%zu.pem", fx.dir, i);
        assert_non_null(f = fopen(path, "w"));
        assert_int_equal(PEM_write_X509(f, x), 1);
        fclose(f);
        snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s %s >/dev/null 2>&1", path, path);
        if (system(cmd) != 0)
            fail_msg("openssl verify refused %s", path);
        X509_free(x);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(key);
    }
}

/* Many signatures over random data, checked in software: catches DigestInfo and short r/s. */
static void sign_loop(const char *label, enum hsm_sig sig, const char *hash)
{
    EVP_PKEY *key = load(label), *pub = soft_pub(key);
    unsigned char msg[64], sigbuf[1024];
    size_t siglen;
    int i;

    for (i = 0; i < LOOP_SIGS; i++) {
        EVP_MD_CTX *s = hsm_sign_ctx_new(fx.h, key, sig, hash), *v = EVP_MD_CTX_new();
        EVP_PKEY_CTX *vp = NULL;

        assert_non_null(s);
        assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
        siglen = sizeof(sigbuf);
        if (i % 2 == 0) {
            assert_int_equal(EVP_DigestSign(s, sigbuf, &siglen, msg, sizeof(msg)), 1);
        } else {      /* streaming callers: update/final */
            assert_int_equal(EVP_DigestSignUpdate(s, msg, 10), 1);
            assert_int_equal(EVP_DigestSignUpdate(s, msg + 10, sizeof(msg) - 10), 1);
            assert_int_equal(EVP_DigestSignFinal(s, sigbuf, &siglen), 1);
        }
        assert_int_equal(EVP_DigestVerifyInit_ex(v, &vp, hash, NULL, NULL, pub, NULL), 1);
        if (sig == HSM_SIG_RSA_PSS) {
            assert_true(EVP_PKEY_CTX_set_rsa_padding(vp, RSA_PKCS1_PSS_PADDING) > 0);
            assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(vp, RSA_PSS_SALTLEN_DIGEST) > 0);
        }
        if (EVP_DigestVerify(v, sigbuf, siglen, msg, sizeof(msg)) != 1)
            fail_msg("%s signature %d does not verify", label, i);
        EVP_MD_CTX_free(v);
        EVP_MD_CTX_free(s);
    }
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
}

static void test_sign_loop_rsa(void **state) { NEED_SOFTHSM(); sign_loop("rsa", HSM_SIG_RSA_PKCS1, "sha256"); }
static void test_sign_loop_pss(void **state) { NEED_SOFTHSM(); sign_loop("rsa", HSM_SIG_RSA_PSS, "sha384"); }
static void test_sign_loop_ecdsa(void **state) { NEED_SOFTHSM(); sign_loop("ec256", HSM_SIG_ECDSA, "sha256"); }

/* Session pool (hsm/p11.c): POOL_THREADS threads share one token key and sign at the
 * same time; every signature verifies in software; the pool grows to at most one session per
 * concurrent signer (plus the login session), and signing on the first session still works
 * afterwards (helpers were never logged out). */
#define POOL_THREADS 4
#define POOL_SIGS 60
struct pool_arg { EVP_PKEY *key, *pub; const char *hash; enum hsm_sig sig; int bad; };

static void *pool_worker(void *v)
{
    struct pool_arg *a = v;
    unsigned char msg[48], sigbuf[1024];

    for (int i = 0; i < POOL_SIGS; i++) {
        EVP_MD_CTX *s = hsm_sign_ctx_new(fx.h, a->key, a->sig, a->hash), *vc = EVP_MD_CTX_new();
        size_t siglen = sizeof(sigbuf);

        if (s == NULL || vc == NULL || RAND_bytes(msg, sizeof(msg)) != 1 ||
            EVP_DigestSign(s, sigbuf, &siglen, msg, sizeof(msg)) != 1 ||
            EVP_DigestVerifyInit_ex(vc, NULL, a->hash, NULL, NULL, a->pub, NULL) != 1 ||
            EVP_DigestVerify(vc, sigbuf, siglen, msg, sizeof(msg)) != 1)
            a->bad++;
        EVP_MD_CTX_free(vc);
        EVP_MD_CTX_free(s);
    }
    return NULL;
}

static void pool_run(const char *label, enum hsm_sig sig)
{
    struct pool_arg args[POOL_THREADS];
    pthread_t th[POOL_THREADS];
    EVP_PKEY *key = load(label), *pub = soft_pub(key);
    size_t n;

    for (int i = 0; i < POOL_THREADS; i++) {
        args[i] = (struct pool_arg){ key, pub, "sha256", sig, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, pool_worker, &args[i]), 0);
    }
    for (int i = 0; i < POOL_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (args[i].bad)
            fail_msg("%s: thread %d: %d of %d signatures failed or did not verify", label, i,
                     args[i].bad, POOL_SIGS);
    }
    n = p11_session_count(fx.h->p11);
    if (n < 1 || n > 1 + POOL_THREADS)
        fail_msg("%s: pool has %zu sessions for %d signers", label, n, POOL_THREADS);
    args[0].bad = 0;
    pool_worker(&args[0]);          /* after the threads: still logged in, still signing */
    assert_int_equal(args[0].bad, 0);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
}

static void test_session_pool(void **state)
{
    size_t n;

    NEED_SOFTHSM();
    pool_run("rsa", HSM_SIG_RSA_PKCS1);
    pool_run("ec256", HSM_SIG_ECDSA);
    /* 2 x 4 threads x 60 signatures on 2+ cores: they overlapped, so helpers were opened */
    n = p11_session_count(fx.h->p11);
    if (n < 2)
        fail_msg("pool never grew past the login session (%zu); signers were serialised", n);
}

static void test_sign_crl(void **state)
{
    EVP_PKEY *key, *pub;
    EVP_MD_CTX *ctx;
    X509_CRL *crl;
    X509_NAME *name = X509_NAME_new();
    ASN1_TIME *t = ASN1_TIME_new();

    NEED_SOFTHSM();
    key = load("ec384");
    pub = soft_pub(key);
    crl = X509_CRL_new_ex(hsm_get0_libctx(fx.h), NULL);
    assert_non_null(crl);
    assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                           (const unsigned char *)"offca crl", -1, -1, 0));
    assert_true(X509_CRL_set_version(crl, 1) && X509_CRL_set_issuer_name(crl, name));
    assert_non_null(X509_gmtime_adj(t, 0));
    assert_true(X509_CRL_set1_lastUpdate(crl, t));
    ctx = hsm_sign_ctx_new(fx.h, key, HSM_SIG_DEFAULT, "sha384");
    assert_non_null(ctx);
    assert_true(X509_CRL_sign_ctx(crl, ctx) > 0);
    assert_int_equal(X509_CRL_verify(crl, pub), 1);
    EVP_MD_CTX_free(ctx);
    X509_CRL_free(crl);
    X509_NAME_free(name);
    ASN1_TIME_free(t);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
}

static void test_no_private_export(void **state)
{
    const char *labels[] = { "rsa", "ec256" };
    size_t i;

    NEED_SOFTHSM();
    for (i = 0; i < 2; i++) {
        EVP_PKEY *key = load(labels[i]);
        BIO *b = BIO_new(BIO_s_mem());

        assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), 0);
        assert_int_equal(BIO_pending(b), 0);
        assert_int_equal(PEM_write_bio_PUBKEY(b, key), 1);
        assert_true(BIO_pending(b) > 0);
        assert_true(EVP_PKEY_get_bits(key) >= 256);
        assert_true(EVP_PKEY_get_size(key) > 0);
        BIO_free(b);
        EVP_PKEY_free(key);
        ERR_clear_error();
    }
}

/* Software keygen in the private libctx still lands on "default" (pitfall 3). */
static void test_soft_keygen(void **state)
{
    EVP_PKEY *rsa, *ec;

    NEED_SOFTHSM();
    rsa = EVP_PKEY_Q_keygen(hsm_get0_libctx(fx.h), NULL, "RSA", (size_t)2048);
    ec = EVP_PKEY_Q_keygen(hsm_get0_libctx(fx.h), NULL, "EC", "P-256");
    assert_non_null(rsa);
    assert_non_null(ec);
    assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(rsa)), "default");
    assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(ec)), "default");
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

struct bad_load { const char *uri, *msg; int code; };

static const struct bad_load bad_loads[] = {
    { "pkcs11:token=t;object=nope", "no such private key in token 't'", 3 },
    { "pkcs11:token=other;object=rsa", "names token 'other' but the open token is 't'", 2 },
    { "pkcs11:token=t", "names no object or id", 2 },
    { "pkcs11:object=rsa;type=cert", "use type=private", 2 },
    { "pkcs11:object=rsa;pin-value=1234", "a PIN never goes in a URI", 3 },
    { "file:/etc/passwd", "does not start with 'pkcs11:'", 3 },
};

static void test_load_refused(void **state)
{
    size_t i;

    NEED_SOFTHSM();
    for (i = 0; i < sizeof(bad_loads) / sizeof(bad_loads[0]); i++) {
        assert_null(hsm_key_load(fx.h, bad_loads[i].uri, 0, NULL));
        if (strstr(hsm_error(), bad_loads[i].msg) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, hsm_error(), bad_loads[i].msg);
        assert_int_equal(hsm_error_code(), bad_loads[i].code);
    }
}

static void test_load_by_id(void **state)
{
    struct hsm_key_info info, again;
    EVP_PKEY *key;
    char uri[HSM_MAX_URI];

    NEED_SOFTHSM();
    key = hsm_key_load(fx.h, "pkcs11:object=ec256", 0, &info);
    assert_non_null(key);
    EVP_PKEY_free(key);
    /* The URI offca prints round-trips, and id= alone selects the same key. */
    key = hsm_key_load(fx.h, info.uri, 0, &again);
    assert_non_null(key);
    assert_string_equal(again.id_hex, info.id_hex);
    EVP_PKEY_free(key);
    snprintf(uri, sizeof(uri), "pkcs11:id=%s", strstr(info.uri, "id=") + 3);
    *strchr(uri, ';') = '\0';
    key = hsm_key_load(fx.h, uri, 0, &again);
    if (key == NULL)
        fail_msg("%s: %s", uri, hsm_error());
    assert_string_equal(again.label, "ec256");
    EVP_PKEY_free(key);
}

static void test_scheme_refused(void **state)
{
    EVP_PKEY *rsa, *ec;

    NEED_SOFTHSM();
    rsa = load("rsa");
    ec = load("ec256");
    assert_null(hsm_sign_ctx_new(fx.h, rsa, HSM_SIG_ECDSA, "sha256"));
    assert_non_null(strstr(hsm_error(), "key 'rsa': scheme ecdsa: an RSA key cannot sign ECDSA"));
    assert_int_equal(hsm_error_code(), 1);
    assert_null(hsm_sign_ctx_new(fx.h, ec, HSM_SIG_RSA_PSS, "sha256"));
    assert_non_null(strstr(hsm_error(), "key 'ec256': scheme rsa-pss"));
    assert_int_equal(hsm_error_code(), 1);
    assert_null(hsm_sign_ctx_new(fx.h, ec, HSM_SIG_ECDSA, "sha1"));
    assert_non_null(strstr(hsm_error(), "'sha1' is not allowed"));
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

static void test_extractable_refused(void **state)
{
    struct hsm_key_info info;
    EVP_PKEY *key;

    NEED_SOFTHSM();
    if (!keygen_with(fx.h, "leaky", "p256", 1, &info))
        fail_msg("keygen_with: %s", hsm_error());
    assert_int_equal(info.extractable, 1);
    assert_null(hsm_key_load(fx.h, info.uri, 0, NULL));
    assert_non_null(strstr(hsm_error(), "CKA_EXTRACTABLE is true"));
    assert_int_equal(hsm_error_code(), 1);
    key = hsm_key_load(fx.h, info.uri, 1, &info);
    assert_non_null(key);
    assert_int_equal(info.extractable, 1);
    EVP_PKEY_free(key);
}

/* Wrong PIN: one attempt, clear message; the right PIN still works afterwards. Login state is
 * per process and token, so the shared handle is closed first and reopened at the end. */
/* The wrong-PIN half runs in a child: after CKR_PIN_INCORRECT the process makes no C_Login
 * again (the latch in p11.c), so a right PIN in the same process is refused too. Exit codes of
 * the child say which step failed. */
static int wrong_pin_child(void)
{
    struct hsm_config c = cfg_with(TOKEN, NULL);

    unsetenv("OFFCA_PIN");
    if (hsm_open(&c) != NULL || strstr(hsm_error(), "no PIN source") == NULL)
        return 1;
    setenv("OFFCA_PIN", "9999", 1);
    if (hsm_open(&c) != NULL || hsm_error_code() != 4 ||
        strstr(hsm_error(), "token 't': CKR_PIN_INCORRECT: wrong PIN") == NULL ||
        strstr(hsm_error(), "1 attempt used in total") == NULL ||
        strstr(hsm_error(), "not retried") == NULL)
        return 2;
    unsetenv("OFFCA_PIN");
    c = cfg_with(TOKEN, fx.pinfile);
    if (hsm_open(&c) != NULL || hsm_error_code() != 4 ||
        strstr(hsm_error(), "token 't': login: not attempted: the token already refused") == NULL)
        return 3;
    return 0;
}

static void test_wrong_pin(void **state)
{
    struct hsm_config c = cfg_with(TOKEN, fx.pinfile);
    struct hsm *h;
    EVP_PKEY *key;
    pid_t pid;
    int st = 0;

    NEED_SOFTHSM();
    hsm_close(fx.h);           /* the module is finalized: the child initializes its own */
    fx.h = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(wrong_pin_child());
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    h = hsm_open(&c);          /* this process never sent a wrong PIN */
    assert_non_null(h);
    fx.h = h;
    key = load("rsa");
    EVP_PKEY_free(key);
}

/* hsm_open_deferred, in a child (login state is per process). Exit codes say which step failed:
 * a deferred handle touches nothing until first used; a wrong PIN then costs one attempt, and
 * later calls on the handle send no second C_Login ("login: not attempted"); a good deferred
 * handle opens on first use and signs. */
static int deferred_child(void)
{
    struct hsm_config c = cfg_with(TOKEN, NULL);
    struct hsm_config m = { "/nonexistent/module.so", TOKEN, NULL, NULL, 0 };
    char uri[HSM_MAX_URI];
    struct hsm_key_info *list = NULL;
    struct hsm *h;
    size_t n = 0;

    if ((h = hsm_open_deferred(&m)) == NULL || strcmp(hsm_get0_token_label(h), TOKEN) != 0)
        return 1;
    if (hsm_key_list(h, &list, &n) || strstr(hsm_error(), "module '/nonexistent/module.so'") == NULL)
        return 2;
    hsm_close(h);
    setenv("OFFCA_PIN", "9999", 1);
    if ((h = hsm_open_deferred(&c)) == NULL)
        return 3;
    if (hsm_key_list(h, &list, &n) || hsm_error_code() != 4 ||
        strstr(hsm_error(), "1 attempt used in total") == NULL)
        return 4;
    snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=rsa;type=private");
    if (hsm_key_load(h, uri, 0, NULL) != NULL ||
        strstr(hsm_error(), "login: not attempted: the token already refused") == NULL ||
        hsm_ready(h) || hsm_get0_libctx(h) != NULL || strcmp(hsm_get0_token_label(h), TOKEN) != 0)
        return 5;
    hsm_close(h);
    return 0;
}

static int deferred_good_child(void)
{
    struct hsm_config c = cfg_with(TOKEN, fx.pinfile);
    struct hsm *h;
    EVP_PKEY *k;

    unsetenv("OFFCA_PIN");
    if ((h = hsm_open_deferred(&c)) == NULL)
        return 1;
    fx.h = h;
    if ((k = hsm_key_load(h, "pkcs11:token=" TOKEN ";object=rsa;type=private", 0, NULL)) == NULL)
        return 2;
    EVP_PKEY_free(k);
    if (!hsm_ready(h) || hsm_get0_libctx(h) == NULL)
        return 3;
    hsm_close(h);
    return 0;
}

static void run_child(int (*fn)(void))
{
    pid_t pid = fork();
    int st = 0;

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_deferred(void **state)
{
    struct hsm_config c = cfg_with(TOKEN, fx.pinfile);
    EVP_PKEY *key;

    NEED_SOFTHSM();
    hsm_close(fx.h);
    fx.h = NULL;
    run_child(deferred_child);
    run_child(deferred_good_child);
    fx.h = hsm_open(&c);
    assert_non_null(fx.h);
    key = load("rsa");
    EVP_PKEY_free(key);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* A token not found is looked for again MAX_P11_START_RETRIES times (25 + 50 + 100 ms) before
 * the error; with another handle open on the module, without finalizing it (fx.h still signs). */
static void test_missing_token(void **state)
{
    struct hsm_config c = cfg_with("nope", fx.pinfile);
    struct hsm_config m = { "/nonexistent/module.so", TOKEN, NULL, NULL, 0 };
    struct timespec t0;
    EVP_PKEY *key;
    long ms;

    NEED_SOFTHSM();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_null(hsm_open(&c));
    ms = ms_since(&t0);
    assert_true(ms >= 175);
    assert_true(ms < 2000);
    assert_non_null(strstr(hsm_error(), "token 'nope': not found (tokens present: 't'"));
    assert_int_equal(hsm_error_code(), 4);
    key = load("rsa");
    EVP_PKEY_free(key);
    assert_null(hsm_open(&m));
    assert_non_null(strstr(hsm_error(), "module '/nonexistent/module.so': dlopen"));
    assert_non_null(hsm_get0_token_label(fx.h));
    assert_string_equal(hsm_get0_token_label(fx.h), TOKEN);
}

/* Only the start-up race is retried at login: never a PIN error (one wrong PIN = one try). */
static void test_login_retry_codes(void **state)
{
    static const struct { CK_RV rv; int retry; } t[] = {
        { CKR_GENERAL_ERROR, 1 },
        { CKR_PIN_INCORRECT, 0 }, { CKR_PIN_LOCKED, 0 }, { CKR_PIN_EXPIRED, 0 },
        { CKR_PIN_INVALID, 0 }, { CKR_PIN_LEN_RANGE, 0 }, { CKR_USER_PIN_NOT_INITIALIZED, 0 },
        { CKR_OK, 0 }, { CKR_USER_ALREADY_LOGGED_IN, 0 }, { CKR_DEVICE_ERROR, 0 },
        { CKR_TOKEN_NOT_PRESENT, 0 }, { CKR_FUNCTION_FAILED, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(p11_rv_start_race(t[i].rv), t[i].retry);
}

/* offca never forks after opening the HSM: a child using the handle is refused. */
static void test_fork_guard(void **state)
{
    pid_t pid;
    int st = 0;

    NEED_SOFTHSM();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        EVP_PKEY *k = hsm_key_load(fx.h, "pkcs11:object=rsa", 0, NULL);

        _exit(k == NULL && strstr(hsm_error(), "fork: handle opened by process") ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_keygen_refused),
        cmocka_unit_test(test_key_list),
        cmocka_unit_test(test_sign_x509),
        cmocka_unit_test(test_openssl_verify),
        cmocka_unit_test(test_sign_loop_rsa),
        cmocka_unit_test(test_sign_loop_pss),
        cmocka_unit_test(test_sign_loop_ecdsa),
        cmocka_unit_test(test_session_pool),
        cmocka_unit_test(test_sign_crl),
        cmocka_unit_test(test_no_private_export),
        cmocka_unit_test(test_soft_keygen),
        cmocka_unit_test(test_load_refused),
        cmocka_unit_test(test_load_by_id),
        cmocka_unit_test(test_scheme_refused),
        cmocka_unit_test(test_extractable_refused),
        cmocka_unit_test(test_wrong_pin),
        cmocka_unit_test(test_deferred),
        cmocka_unit_test(test_missing_token),
        cmocka_unit_test(test_login_retry_codes),
        cmocka_unit_test(test_fork_guard),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
