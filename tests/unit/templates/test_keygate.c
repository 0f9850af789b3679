/*
 * test_keygate.c — the key gate (templates/keygate.c, keygate_rsa.c) rule by rule, each with a
 * failing and a passing key, and the strict-DER check (templates/der.c). Failing keys come from
 * the committed corpus (tests/data/bad/csr/keygate, made by tests/data/make-keygate-corpus.py);
 * passing keys are fresh OpenSSL keys and the good corpus.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "templates/template.h"

#define BADK  "tests/data/bad/csr/keygate/"
#define GOODK "tests/data/good/csr/keygate/"

static const struct keygate_policy ANY = { .allow_rsa = 1, .allow_ec = 1, .rsa_min_bits = 1024 };

/* The SubjectPublicKeyInfo of a corpus request (OPENSSL_free). */
static unsigned char *req_spki(const char *path, size_t *len)
{
    unsigned char buf[65536], *der = NULL;
    const unsigned char *p = buf;
    FILE *f = fopen(path, "rb");
    X509_REQ *r;
    size_t n;
    int l;

    if (f == NULL)
        fail_msg("%s: missing (run tests/data/make-keygate-corpus.py)", path);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_non_null(r = d2i_X509_REQ(NULL, &p, (long)n));
    assert_true((l = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(r), &der)) > 0);
    X509_REQ_free(r);
    *len = (size_t)l;
    return der;
}

static int gate(const unsigned char *spki, size_t n, const struct keygate_policy *p, char *why)
{
    struct keygate_key k;
    int rc = keygate_check(spki, n, p, &k, why, 512);

    if (rc == 0) {
        /* accepted keys come back canonical: here the input was DER, so the same bytes */
        assert_int_equal(k.spki_len, n);
        assert_memory_equal(k.spki, spki, n);
        keygate_key_clear(&k);
    }
    return rc;
}

static const struct { const char *file, *frag; } bad_keys[] = {
    { "rsa-e3.der", "RSA public exponent 3 is below 65537 (CA/B BR 6.1.6)" },
    { "rsa-e1.der", "RSA public exponent 1 is below 65537" },
    { "rsa-e2-even.der", "RSA public exponent 2 is even" },
    { "rsa-e65536-even.der", "RSA public exponent 65536 is even" },
    { "rsa-e-2^256+1.der", "of 257 bits is not below 2^256" },
    { "rsa-modulus-negative.der", "the RSA modulus is a negative INTEGER" },
    { "rsa-modulus-zero-padded.der", "the RSA modulus is not minimally encoded" },
    { "rsa-exponent-zero-padded.der", "public exponent is not minimally encoded" },
    { "rsa-params-absent.der", "rsaEncryption parameters must be NULL" },
    { "rsa-modulus-even.der", "the RSA modulus is even" },
    { "rsa-factor-3.der", "small prime factor 3 " },
    { "rsa-factor-61.der", "small prime factor 61 " },
    { "rsa-factor-751.der", "small prime factor 751 " },
    { "rsa-fermat-adjacent.der", "Fermat's method in round 1" },
    { "rsa-fermat-square.der", "Fermat's method in round 1" },
    { "rsa-fermat-gap-12x2^512.der", "Fermat's method in round 22" },
    { "rsa-roca-1024.der", "ROCA fingerprint" },
    { "rsa-roca-2048.der", "ROCA fingerprint" },
    { "ec-explicit-p256.der", "explicit curve parameters" },
    { "ec-explicit-curveball.der", "CVE-2020-0601" },
    { "ec-implicit-ca.der", "implicitCurve NULL" },
    { "ec-secp256k1.der", "EC curve secp256k1 is not allowed" },
    { "ec-point-off-curve.der", "the EC point is not on curve prime256v1" },
    { "ec-point-infinity.der", "the point at infinity" },
    { "ec-point-hybrid.der", "form 0x07, 65 octets" },
    { "ec-point-truncated.der", "33 octets" },
};

static void test_bad_keys(void **state)
{
    char why[512], path[256];

    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        size_t n;
        unsigned char *spki;

        snprintf(path, sizeof(path), BADK "%s", bad_keys[i].file);
        spki = req_spki(path, &n);
        why[0] = '\0';
        if (gate(spki, n, &ANY, why) != 1 || strstr(why, bad_keys[i].frag) == NULL ||
            strncmp(why, "key: ", 5) != 0 || strstr(why, "request a new key") == NULL)
            fail_msg("%s: '%s' lacks '%s'", bad_keys[i].file, why, bad_keys[i].frag);
        OPENSSL_free(spki);
    }
}

static void test_good_corpus(void **state)
{
    static const char *const good[] = {
        "rsa2048-e65537.der", "rsa3072-e65537.der", "rsa4096-e65537.der",
        "rsa2048-primes-2^700-apart.der", "p256-uncompressed.der", "p256-compressed.der",
        "p384-uncompressed.der", "p384-compressed.der",
    };
    char why[512], path[256];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n;
        unsigned char *spki;

        snprintf(path, sizeof(path), GOODK "%s", good[i]);
        spki = req_spki(path, &n);
        if (gate(spki, n, &ANY, why) != 0)
            fail_msg("%s refused: %s", good[i], why);
        OPENSSL_free(spki);
    }
}

/* Fresh keys: accepted, hash = SHA-256 of the SPKI, EC point form kept. */
static void test_fresh_keys_and_hash(void **state)
{
    EVP_PKEY *keys[] = { EVP_RSA_gen(2048), EVP_EC_gen("P-256"), EVP_EC_gen("P-384"),
                         EVP_EC_gen("P-521") };
    char why[512];

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct keygate_key k;
        unsigned char *der = NULL, h[32];
        int n;

        assert_non_null(keys[i]);
        assert_true((n = i2d_PUBKEY(keys[i], &der)) > 0);
        assert_int_equal(keygate_check_pkey(keys[i], &ANY, &k, why, sizeof(why)), 0);
        assert_int_equal(k.spki_len, (size_t)n);
        assert_memory_equal(k.spki, der, (size_t)n);
        assert_int_equal(EVP_Digest(der, (size_t)n, h, NULL, EVP_sha256(), NULL), 1);
        assert_memory_equal(k.hash, h, 32);
        assert_int_equal(k.type, i == 0 ? EVP_PKEY_RSA : EVP_PKEY_EC);
        keygate_key_clear(&k);
        OPENSSL_free(der);
        EVP_PKEY_free(keys[i]);
    }
}

/* Policy rules: sizes, types, curves; each refused and accepted. */
static void test_policy_rules(void **state)
{
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *p384 = EVP_EC_gen("P-384");
    struct keygate_policy p = ANY;
    const int p256_only[] = { NID_X9_62_prime256v1 };
    struct keygate_key k;
    char why[512];

    p.rsa_min_bits = 3072;
    assert_int_equal(keygate_check_pkey(rsa, &p, &k, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "RSA key of 2048 bits is below the minimum 3072"));
    p.rsa_min_bits = 2048;
    p.rsa_max_bits = 2048;
    assert_int_equal(keygate_check_pkey(rsa, &p, &k, why, sizeof(why)), 0);
    keygate_key_clear(&k);
    p.allow_rsa = 0;
    assert_int_equal(keygate_check_pkey(rsa, &p, &k, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "RSA keys are not allowed"));
    p = ANY;
    p.curves = p256_only;
    p.n_curves = 1;
    assert_int_equal(keygate_check_pkey(p384, &p, &k, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "EC curve secp384r1 is not allowed"));
    p.allow_ec = 0;
    assert_int_equal(keygate_check_pkey(p384, &p, &k, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "EC keys are not allowed"));
    assert_int_equal(keygate_check_pkey(p384, &ANY, &k, why, sizeof(why)), 0);
    keygate_key_clear(&k);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
}

static int blocked_yes(void *arg, const unsigned char h[32], char *why, size_t n)
{
    const unsigned char *want = arg;

    if (memcmp(h, want, 32) != 0)
        return 0;
    snprintf(why, n, "on the test list");
    return 1;
}

static int blocked_fail(void *arg, const unsigned char h[32], char *why, size_t n)
{
    snprintf(why, n, "store /x: MDB_PANIC: test; retry");
    return -1;
}

static void test_blocklist(void **state)
{
    EVP_PKEY *a = EVP_EC_gen("P-256"), *b = EVP_EC_gen("P-256");
    struct keygate_policy p = ANY;
    struct keygate_key k;
    unsigned char ha[32];
    char why[512], hex[65];

    assert_int_equal(keygate_check_pkey(a, &ANY, &k, why, sizeof(why)), 0);
    memcpy(ha, k.hash, 32);
    keygate_hash_hex(k.hash, hex);
    keygate_key_clear(&k);
    p.blocked = blocked_yes;
    p.blocked_arg = ha;
    assert_int_equal(keygate_check_pkey(a, &p, &k, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "key: blocked: SPKI SHA-256 "));
    assert_non_null(strstr(why, hex));
    assert_non_null(strstr(why, "is on the test list"));
    assert_int_equal(keygate_check_pkey(b, &p, &k, why, sizeof(why)), 0);
    keygate_key_clear(&k);
    p.blocked = blocked_fail;
    assert_int_equal(keygate_check_pkey(b, &p, &k, why, sizeof(why)), 4);
    assert_non_null(strstr(why, "MDB_PANIC"));
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}

/* Not a SubjectPublicKeyInfo at all (class 3), and algorithms that are not RSA or EC. */
static void test_malformed_and_algorithms(void **state)
{
    static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
    static const unsigned char trailing[] = { 0x30, 0x00, 0x00 };
    /* id-RSASSA-PSS key, id-Ed25519 key (bits content irrelevant: refused on the OID) */
    static const unsigned char pss[] = { 0x30, 0x12, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                         0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x03, 0x03, 0x00,
                                         0x30, 0x00 };
    static const unsigned char ed[] = { 0x30, 0x0a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
                                        0x03, 0x01, 0x00 };
    char why[512];

    assert_int_equal(gate(junk, sizeof(junk), &ANY, why), 3);
    assert_non_null(strstr(why, "not a DER SubjectPublicKeyInfo"));
    assert_int_equal(gate(trailing, sizeof(trailing), &ANY, why), 3);
    assert_int_equal(gate(pss, sizeof(pss), &ANY, why), 1);
    assert_non_null(strstr(why, "id-RSASSA-PSS"));
    assert_int_equal(gate(ed, sizeof(ed), &ANY, why), 3);
}

/* ---- strict DER ---- */
static const struct {
    const char *name, *hex, *frag;            /* frag NULL: DER */
} der_cases[] = {
    { "sequence of integer", "3003020101", NULL },
    { "boolean true/false", "30060101ff010100", NULL },
    { "negative integer minimal", "0201ff", NULL },
    { "bit string with clean unused bits", "030201f0", NULL },
    { "indefinite length", "30800201010000", "an indefinite length" },
    { "long form under 128", "308103020101", "a long-form length for a value under 128" },
    { "length with a leading zero", "30820003020101", "leading zero octets" },
    { "constructed octet string", "2406040100040101", "a constructed string" },
    { "boolean 0x01", "3003010101", "a BOOLEAN other than 0x00 or 0xFF" },
    { "null with content", "050100", "a NULL with content" },
    { "integer zero-padded", "02020001", "not in its fewest octets" },
    { "integer ff-padded", "0202ff80", "not in its fewest octets" },
    { "empty integer", "0200", "an empty INTEGER" },
    { "bit string unused 8", "03020800", "bad unused-bits count" },
    { "empty bit string with unused bits", "030101", "bad unused-bits count" },
    { "unused bits not zero", "030201f1", "unused bits are not zero" },
    { "trailing bytes", "300000", "1 bytes after the outer TLV" },
    { "truncated", "3005020101", "a length past the end" },
    { "high tag form for a low number", "1f0500", "below 31 in the high-tag-number form" },
};

static size_t unhex(const char *h, unsigned char *out)
{
    size_t n = strlen(h) / 2;
    unsigned int b;

    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sscanf(h + 2 * i, "%2x", &b), 1);
        out[i] = (unsigned char)b;
    }
    return n;
}

static void test_der_strict(void **state)
{
    unsigned char buf[512];
    char why[256];

    for (size_t i = 0; i < sizeof(der_cases) / sizeof(der_cases[0]); i++) {
        size_t n = unhex(der_cases[i].hex, buf);
        int ok = der_strict_check(buf, n, why, sizeof(why));

        if (der_cases[i].frag == NULL && !ok)
            fail_msg("%s: refused: %s", der_cases[i].name, why);
        if (der_cases[i].frag != NULL && (ok || strstr(why, der_cases[i].frag) == NULL))
            fail_msg("%s: %s, wanted '%s'", der_cases[i].name, ok ? "accepted" : why,
                     der_cases[i].frag);
    }
}

static void test_der_depth_and_cert_spki(void **state)
{
    unsigned char deep[80];
    char why[256];
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    unsigned char *der = NULL, *spki = NULL;
    const unsigned char *found;
    size_t flen;
    int n, sn;

    unsigned char longlen[3 + 128] = { 0x04, 0x81, 0x80 };

    assert_true(der_strict_check(longlen, sizeof(longlen), why, sizeof(why)));
    longlen[1] = 0x82;                       /* 82 00 80 ...: leading zero */
    assert_false(der_strict_check(longlen, sizeof(longlen), why, sizeof(why)));
    for (int i = 0; i < 40; i++) {           /* 40 nested SEQUENCEs */
        deep[2 * i] = 0x30;
        deep[2 * i + 1] = (unsigned char)(2 * (39 - i));
    }
    assert_false(der_strict_check(deep, 80, why, sizeof(why)));
    assert_non_null(strstr(why, "nested deeper than"));
    assert_true(X509_set_version(x, 2) && X509_set_pubkey(x, k) &&
                ASN1_INTEGER_set(X509_get_serialNumber(x), 7) &&
                X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
                X509_gmtime_adj(X509_getm_notAfter(x), 60) && X509_sign(x, k, EVP_sha256()));
    assert_true((n = i2d_X509(x, &der)) > 0);
    assert_true((sn = i2d_PUBKEY(k, &spki)) > 0);
    assert_true(der_cert_spki(der, (size_t)n, &found, &flen));
    assert_int_equal(flen, (size_t)sn);
    assert_memory_equal(found, spki, flen);
    assert_false(der_cert_spki(spki, (size_t)sn, &found, &flen));
    OPENSSL_free(der);
    OPENSSL_free(spki);
    X509_free(x);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_good_corpus),
        cmocka_unit_test(test_fresh_keys_and_hash),
        cmocka_unit_test(test_policy_rules),
        cmocka_unit_test(test_blocklist),
        cmocka_unit_test(test_malformed_and_algorithms),
        cmocka_unit_test(test_der_strict),
        cmocka_unit_test(test_der_depth_and_cert_spki),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
