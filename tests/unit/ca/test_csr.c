/*
 * test_csr.c — the certificate request parser (ca/issue/csr.c) over the committed corpus in
 * tests/data/{good,bad}/csr/ (regenerate with tests/data/make-csr-corpus.sh). Run from the repo root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "tests/unit/support/capture.h"

#define GOOD "tests/data/good/csr/"
#define BAD  "tests/data/bad/csr/"

struct good_case {
    const char *file;
    int key_type;               /* EVP_PKEY_RSA / EVP_PKEY_EC */
    int bits;
    int n_exts;
    const char *cn;
};

static const struct good_case good_cases[] = {
    { GOOD "rsa2048.pem", EVP_PKEY_RSA, 2048, 0, "rsa2048.contoso.com" },
    { GOOD "rsa2048.der", EVP_PKEY_RSA, 2048, 0, "rsa2048.contoso.com" },
    { GOOD "p256.pem", EVP_PKEY_EC, 256, 0, "p256.contoso.com" },
    { GOOD "p256.der", EVP_PKEY_EC, 256, 0, "p256.contoso.com" },
    { GOOD "p384.pem", EVP_PKEY_EC, 384, 0, "p384.contoso.com" },
    { GOOD "p384.der", EVP_PKEY_EC, 384, 0, "p384.contoso.com" },
    { GOOD "p384-crlf.pem", EVP_PKEY_EC, 384, 0, "p384.contoso.com" },
    { GOOD "p256-new-label.pem", EVP_PKEY_EC, 256, 0, "p256.contoso.com" },
    { GOOD "p256-whitespace.pem", EVP_PKEY_EC, 256, 0, "p256.contoso.com" },
    { GOOD "san-sid.pem", EVP_PKEY_EC, 256, 1, "user@contoso.com" },
    { GOOD "san-sid.der", EVP_PKEY_EC, 256, 1, "user@contoso.com" },
    { GOOD "crafted-ok.der", EVP_PKEY_EC, 256, 1, "crafted.contoso.com" },
};

static void test_good(void **state)
{
    struct csr *c;
    size_t i;
    char cn[128];
    const char *msg;
    int rc;

    for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const struct good_case *g = &good_cases[i];
        print_message("good: %s\n", g->file);
        c = NULL;
        assert_true(capture_start(2));
        rc = csr_load(g->file, &c);
        msg = capture_stop();
        assert_string_equal(msg, "");
        assert_int_equal(rc, 0);
        assert_non_null(c);
        assert_non_null(c->req);
        assert_int_equal(EVP_PKEY_get_base_id(c->pubkey), g->key_type);
        assert_int_equal(EVP_PKEY_get_bits(c->pubkey), g->bits);
        assert_non_null(c->exts);
        assert_int_equal(sk_X509_EXTENSION_num(c->exts), g->n_exts);
        assert_string_equal(c->source, g->file);
        assert_true(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(c->req), NID_commonName,
                                              cn, sizeof(cn)) > 0);
        assert_string_equal(cn, g->cn);
        csr_free(c);
    }
}

/* The SAN request carries exactly what the script put in: DNS, the SID URL, the UPN otherName. */
static void test_san_sid_content(void **state)
{
    struct csr *c = NULL;
    GENERAL_NAMES *gns;
    const GENERAL_NAME *gn;

    assert_int_equal(csr_load(GOOD "san-sid.der", &c), 0);
    gns = X509V3_get_d2i(c->exts, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gns);
    assert_int_equal(sk_GENERAL_NAME_num(gns), 3);
    gn = sk_GENERAL_NAME_value(gns, 0);
    assert_int_equal(gn->type, GEN_DNS);
    gn = sk_GENERAL_NAME_value(gns, 1);
    assert_int_equal(gn->type, GEN_URI);
    assert_string_equal(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                        "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1105");
    gn = sk_GENERAL_NAME_value(gns, 2);
    assert_int_equal(gn->type, GEN_OTHERNAME);
    GENERAL_NAMES_free(gns);
    csr_free(c);
}

struct bad_case {
    const char *file;
    const char *fragment;
};

static const struct bad_case bad_cases[] = {
    { BAD "bad-signature.der", "signature does not verify (proof of possession failed); regenerate the request" },
    { BAD "trailing-garbage.der", "8 trailing bytes after the request" },
    { BAD "trailing-zero.der", "1 trailing bytes after the request" },
    { BAD "der-in-pem-trailing.pem", "8 trailing bytes after the request" },
    { BAD "two-blocks.pem", "a PEM file holding two CSRs" },
    { BAD "text-after-end.pem", "text after the END line" },
    { BAD "empty.der", "the file is empty; pass the CSR file" },
    { BAD "whitespace-only.pem", "the file is empty" },
    { BAD "truncated.der", "not a certificate request, or a damaged one" },
    { BAD "random.bin", "not a certificate request, or a damaged one" },
    { BAD "bad-base64.pem", "the block does not decode" },
    { BAD "certificate.pem", "is a 'CERTIFICATE', not a CERTIFICATE REQUEST" },
    { BAD "duplicate-ext.der", "extension subjectAltName (2.5.29.17) is requested twice" },
    { BAD "two-ext-requests.der", "more than one list of requested extensions" },
    { BAD "subject-nul.der", "attribute CN (2.5.4.3) has an embedded NUL character" },
    { BAD "version-2.der", "version 2, only version 1 (0) is defined" },
};

static void test_bad(void **state)
{
    struct csr *c;
    size_t i;
    const char *msg;
    int rc;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        print_message("bad: %s\n", bad_cases[i].file);
        c = NULL;
        assert_true(capture_start(2));
        rc = csr_load(bad_cases[i].file, &c);
        msg = capture_stop();
        assert_int_equal(rc, EXIT_INPUT);
        assert_null(c);
        if (strstr(msg, bad_cases[i].fragment) == NULL)
            fail_msg("message '%s' lacks '%s'", msg, bad_cases[i].fragment);
        /* reported once (one line), naming the file, with a remedy */
        assert_non_null(strstr(msg, bad_cases[i].file));
        assert_non_null(strchr(msg, ';'));
        assert_int_equal(strchr(msg, '\n') - msg + 1, (long)strlen(msg));
    }
}

/* Hostile shapes built in memory: not worth a committed file each. */
struct mem_case {
    const char *name;
    const char *text;
    const char *fragment;
};

static const struct mem_case mem_cases[] = {
    { "damaged BEGIN line", "-----BEGIN CERTIFICATE REQUEST\nAAAA\n", "the BEGIN line is damaged" },
    { "BEGIN without END", "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n", "the block does not decode" },
    { "PEM headers", "-----BEGIN CERTIFICATE REQUEST-----\nProc-Type: 4,ENCRYPTED\n"
      "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n"
      "-----END CERTIFICATE REQUEST-----\n", "PEM headers" },
    { "empty PEM body", "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
      "the block does not decode" },
    { "text that is not a request", "hello world\n", "not a certificate request" },
    { "single NUL byte", "\0", "not a certificate request" },
};

static void test_bad_memory(void **state)
{
    struct csr *c;
    size_t i, len;
    const char *msg;
    int rc;

    for (i = 0; i < sizeof(mem_cases) / sizeof(mem_cases[0]); i++) {
        print_message("bad (memory): %s\n", mem_cases[i].name);
        len = strlen(mem_cases[i].text);
        if (len == 0)
            len = 1;                       /* the NUL byte case */
        c = NULL;
        assert_true(capture_start(2));
        rc = csr_parse((const unsigned char *)mem_cases[i].text, len, "mem.csr", &c);
        msg = capture_stop();
        assert_int_equal(rc, EXIT_INPUT);
        assert_null(c);
        assert_non_null(strstr(msg, "mem.csr: "));
        assert_non_null(strstr(msg, mem_cases[i].fragment));
    }
}

/* 1 MiB + 1: refused by size before parsing, both from a file and from memory. */
static void test_too_big(void **state)
{
    char dir[256], path[512];
    unsigned char *big;
    struct csr *c = NULL;
    const char *msg;
    FILE *f;
    int rc;

    big = malloc(MAX_INPUT_BYTES + 1);
    assert_non_null(big);
    memset(big, 'A', MAX_INPUT_BYTES + 1);
    memcpy(big, "-----BEGIN CERTIFICATE REQUEST-----\n", 36);

    assert_true(capture_start(2));
    rc = csr_parse(big, MAX_INPUT_BYTES + 1, "big.csr", &c);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_INPUT);
    assert_non_null(strstr(msg, "big.csr: size limit: 1048577 bytes is over the 1048576-byte limit"));

    assert_true(tmpdir_make(dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/big.csr", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(big, 1, MAX_INPUT_BYTES + 1, f), MAX_INPUT_BYTES + 1);
    assert_int_equal(fclose(f), 0);
    assert_true(capture_start(2));
    rc = csr_load(path, &c);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_INPUT);
    assert_null(c);
    assert_non_null(strstr(msg, "1.0 MiB is over the 1 MiB limit"));
    assert_true(tmpdir_remove(dir));
    free(big);
}

static void test_missing_file_and_free_null(void **state)
{
    struct csr *c = NULL;
    const char *msg;
    int rc;

    assert_true(capture_start(2));
    rc = csr_load(BAD "does-not-exist.csr", &c);
    msg = capture_stop();
    assert_int_equal(rc, EXIT_INPUT);
    assert_non_null(strstr(msg, "does-not-exist.csr: open: No such file"));
    csr_free(NULL);
}

/* The request gate and the key gate over the keygate corpus (tests/data/make-keygate-corpus.py):
 * every rule csr_parse owns refuses with its class and fragment; the rules a template decides
 * (SHA-1, an attribute twice) pass csr_parse with the facts recorded for the template. */
static void test_keygate_corpus(void **state)
{
    static const char *const template_rules[] = { "signed with SHA-1", "appears 2 times" };
    char line[512], path[512];
    FILE *m = fopen(BAD "keygate/MANIFEST", "r");
    int n = 0;

    assert_non_null(m);
    while (fgets(line, sizeof(line), m)) {
        char file[128], frag[384];
        int code, tmpl_rule = 0, rc;
        struct csr *c = NULL;
        const char *msg;

        if (line[0] == '#' || sscanf(line, "%127s %d %383[^\n]", file, &code, frag) != 3)
            continue;
        for (size_t i = 0; i < 2; i++)
            tmpl_rule |= strstr(frag, template_rules[i]) != NULL;
        snprintf(path, sizeof(path), BAD "keygate/%s", file);
        assert_true(capture_start(2));
        rc = csr_load(path, &c);
        msg = capture_stop();
        if (tmpl_rule) {
            if (rc != 0)
                fail_msg("%s: refused by csr_parse: %s", file, msg);
            assert_int_equal(c->sig_sha1, strstr(frag, "SHA-1") != NULL);
            assert_non_null(c->key.spki);
        } else if (rc != code || strstr(msg, frag) == NULL || strstr(msg, path) == NULL) {
            fail_msg("%s: rc %d (wanted %d), message '%s' lacks '%s'", file, rc, code, msg, frag);
        }
        csr_free(c);
        n++;
    }
    fclose(m);
    assert_true(n >= 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_san_sid_content),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_bad_memory),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_missing_file_and_free_null),
        cmocka_unit_test(test_keygate_corpus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
