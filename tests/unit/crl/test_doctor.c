/*
 * test_doctor.c — doctor_check_chain on software chains root -> issuing -> leaf with CRLs built by
 * crl_build into a temp dir (and one case served over HTTP by python3 -m http.server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "crl/crl.h"
#include <openssl/pem.h>
#include "tests/unit/crl/crl_test_util.h"
#include "tests/unit/support/capture.h"

extern char **environ;

#define T0 1767225600
#define YEAR (365 * 86400)
#define GOOD_SID "S-1-5-21-1004336348-1177238915-682003330-1105"

enum { K_ROOT, K_ICA, K_LEAF, K_OTHER, NKEYS };
static EVP_PKEY *K[NKEYS];

enum ica_v { ICA_GOOD, ICA_NO_CDP, ICA_NO_CRLSIGN, ICA_HTTPS_CDP };
enum leaf_v { LEAF_GOOD, LEAF_NO_SID, LEAF_BAD_SID, LEAF_SERVER_EKU, LEAF_SID_URL, LEAF_EXPIRED };
enum crl_v { CRL_GOOD, CRL_MISSING, CRL_EXPIRED, CRL_WRONG_KEY, CRL_IDP_OTHER, CRL_IDP_SAME,
             CRL_REVOKED, CRL_PEM, CRL_LATE_PUBLISH };

struct dcase {
    const char *name;
    enum ica_v ica;
    enum leaf_v leaf;
    enum crl_v crl;
    size_t errors;               /* expected ERROR count */
    enum doctor_sev sev;         /* a finding with this severity ... */
    const char *want;            /* ... whose problem contains this */
};

static const struct dcase cases[] = {
    { "good chain", ICA_GOOD, LEAF_GOOD, CRL_GOOD, 0, DOCTOR_OK, "revocation can be checked" },
    { "good chain, PEM CRL", ICA_GOOD, LEAF_GOOD, CRL_PEM, 0, DOCTOR_INFO, "self-signed root" },
    { "good chain, SID as SAN URL", ICA_GOOD, LEAF_SID_URL, CRL_GOOD, 0, DOCTOR_OK, "via" },
    { "IDP equal to CDP", ICA_GOOD, LEAF_GOOD, CRL_IDP_SAME, 0, DOCTOR_OK, "Issuing.crl" },
    { "issuing CA without CDP", ICA_NO_CDP, LEAF_GOOD, CRL_GOOD, 1, DOCTOR_ERROR,
      "no HTTP CDP: NPS refuses the logon with client error 853 / reason 258" },
    { "issuing CA with https CDP", ICA_HTTPS_CDP, LEAF_GOOD, CRL_GOOD, 1, DOCTOR_ERROR,
      "no HTTP CDP (only https://" },
    { "missing CRL file", ICA_GOOD, LEAF_GOOD, CRL_MISSING, 1, DOCTOR_ERROR,
      "CRL not available" },
    { "expired CRL", ICA_GOOD, LEAF_GOOD, CRL_EXPIRED, 1, DOCTOR_ERROR, "expired" },
    { "CRL signed by the wrong key", ICA_GOOD, LEAF_GOOD, CRL_WRONG_KEY, 1, DOCTOR_ERROR,
      "is not signed by 'Test Issuing CA'" },
    { "issuer without cRLSign", ICA_NO_CRLSIGN, LEAF_GOOD, CRL_GOOD, 1, DOCTOR_ERROR,
      "lacks keyUsage cRLSign" },
    { "IDP differs from CDP", ICA_GOOD, LEAF_GOOD, CRL_IDP_OTHER, 1, DOCTOR_ERROR,
      "differs from the CDP http://pki.test/Issuing.crl" },
    { "revoked leaf", ICA_GOOD, LEAF_GOOD, CRL_REVOKED, 1, DOCTOR_ERROR,
      "(reason keyCompromise)" },
    { "Next CRL Publish passed", ICA_GOOD, LEAF_GOOD, CRL_LATE_PUBLISH, 0, DOCTOR_WARN,
      "publisher is late" },
    { "AD logon leaf without SID", ICA_GOOD, LEAF_NO_SID, CRL_GOOD, 1, DOCTOR_ERROR,
      "meant for AD logon (UPN in the SAN) but carries no SID" },
    { "malformed SID extension", ICA_GOOD, LEAF_BAD_SID, CRL_GOOD, 1, DOCTOR_ERROR,
      "'S-1-5-021-1105', which is not a SID string" },
    { "server-only EKU", ICA_GOOD, LEAF_SERVER_EKU, CRL_GOOD, 0, DOCTOR_WARN,
      "not usable for EAP-TLS client authentication" },
    { "expired leaf", ICA_GOOD, LEAF_EXPIRED, CRL_GOOD, 1, DOCTOR_ERROR, "expired" },
};

static int setup(void **state)
{
    int i;

    for (i = 0; i < NKEYS; i++)
        if ((K[i] = tkey_new(TK_EC)) == NULL)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    int i;

    for (i = 0; i < NKEYS; i++)
        EVP_PKEY_free(K[i]);
    return 0;
}

/* DER of a SID extension value: GeneralNames { otherName 1.3.6.1.4.1.311.25.2.1 [0] OCTET STRING }. */
static int sid_ext_der(const char *sid, unsigned char *out)
{
    GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_TYPE *val = ASN1_TYPE_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    unsigned char *p = out;
    int n;

    ASN1_OCTET_STRING_set(os, (const unsigned char *)sid, (int)strlen(sid));
    ASN1_TYPE_set(val, V_ASN1_OCTET_STRING, os);
    GENERAL_NAME_set0_othername(gn, OBJ_txt2obj("1.3.6.1.4.1.311.25.2.1", 1), val);
    sk_GENERAL_NAME_push(gns, gn);
    n = i2d_GENERAL_NAMES(gns, &p);
    GENERAL_NAMES_free(gns);
    return n;
}

/* DER of a SAN { otherName UPN alice@corp.test, URI tag:microsoft.com,2022-09-14:sid:GOOD_SID }. */
static int san_url_der(unsigned char *out)
{
    GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *upn = GENERAL_NAME_new(), *uri = GENERAL_NAME_new();
    ASN1_TYPE *val = ASN1_TYPE_new();
    ASN1_UTF8STRING *u8 = ASN1_UTF8STRING_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    unsigned char *p = out;
    int n;

    ASN1_STRING_set(u8, "alice@corp.test", -1);
    ASN1_TYPE_set(val, V_ASN1_UTF8STRING, u8);
    GENERAL_NAME_set0_othername(upn, OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1), val);
    ASN1_STRING_set(ia5, "tag:microsoft.com,2022-09-14:sid:" GOOD_SID, -1);
    GENERAL_NAME_set0_value(uri, GEN_URI, ia5);
    sk_GENERAL_NAME_push(gns, upn);
    sk_GENERAL_NAME_push(gns, uri);
    n = i2d_GENERAL_NAMES(gns, &p);
    GENERAL_NAMES_free(gns);
    return n;
}

struct chain {
    X509 *root, *ica, *leaf;
    STACK_OF(X509) *sk;
};

static char base_url[64] = "http://pki.test";

static void chain_build(struct chain *c, const struct dcase *d)
{
    char ica_cdp[128], leaf_cdp[128];
    static const char *const root_x[] = { "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign", "subjectKeyIdentifier=hash", NULL };
    const char *ica_x[] = { "basicConstraints=critical,CA:TRUE",
        d->ica == ICA_NO_CRLSIGN ? "keyUsage=critical,keyCertSign"
                                 : "keyUsage=critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid",
        "authorityInfoAccess=caIssuers;URI:http://pki.test/Root.crt",
        d->ica == ICA_HTTPS_CDP ? "crlDistributionPoints=URI:https://pki.test/Root.crl"
                                : ica_cdp, NULL };
    const char *leaf_x[] = { "basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
        d->leaf == LEAF_SERVER_EKU ? "extendedKeyUsage=serverAuth" : "extendedKeyUsage=clientAuth",
        d->leaf == LEAF_SID_URL ? "nsComment=SAN given as DER below"
            : "subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp.test",
        "authorityKeyIdentifier=keyid", "subjectKeyIdentifier=hash",
        "authorityInfoAccess=caIssuers;URI:http://pki.test/Issuing.crt",
        leaf_cdp, NULL };
    unsigned char sid[256];
    int sidlen = sid_ext_der(d->leaf == LEAF_BAD_SID ? "S-1-5-021-1105" : GOOD_SID, sid);
    int has_sid = d->leaf == LEAF_GOOD || d->leaf == LEAF_BAD_SID || d->leaf == LEAF_SERVER_EKU
                  || d->leaf == LEAF_EXPIRED;
    struct tcert r = { "Test Root CA", 1, T0 - YEAR, T0 + 10 * YEAR, root_x, NULL, NULL, 0 };
    struct tcert i = { "Test Issuing CA", 2, T0 - YEAR, T0 + 5 * YEAR, ica_x, NULL, NULL, 0 };
    struct tcert l = { "alice", 0x1234, T0 - YEAR, d->leaf == LEAF_EXPIRED ? T0 - 60 : T0 + YEAR,
                       leaf_x, has_sid ? "1.3.6.1.4.1.311.25.2" : NULL, sid, sidlen };

    if (d->leaf == LEAF_SID_URL) {           /* the comma in the tag URI defeats config syntax */
        l.raw_oid = "2.5.29.17";
        l.raw_len = san_url_der(sid);
    }

    snprintf(ica_cdp, sizeof(ica_cdp), "crlDistributionPoints=URI:%s/Root.crl", base_url);
    snprintf(leaf_cdp, sizeof(leaf_cdp), "crlDistributionPoints=URI:%s/Issuing.crl", base_url);
    if (d->ica == ICA_NO_CDP)
        ica_x[5] = NULL;
    assert_non_null(c->root = tcert_new(&r, K[K_ROOT], NULL, K[K_ROOT]));
    assert_non_null(c->ica = tcert_new(&i, K[K_ICA], c->root, K[K_ROOT]));
    assert_non_null(c->leaf = tcert_new(&l, K[K_LEAF], c->ica, K[K_ICA]));
    c->sk = sk_X509_new_null();
    sk_X509_push(c->sk, c->leaf);
    sk_X509_push(c->sk, c->ica);
    sk_X509_push(c->sk, c->root);
}

static void chain_free(struct chain *c)
{
    sk_X509_free(c->sk);
    X509_free(c->leaf);
    X509_free(c->ica);
    X509_free(c->root);
}

struct list {
    const struct crl_entry *e;
    size_t n, i;
};

static int list_next(void *arg, struct crl_entry *e)
{
    struct list *l = arg;

    if (l->i >= l->n)
        return 0;
    *e = l->e[l->i++];
    return 1;
}

static void crl_write(const char *dir, const char *name, X509 *issuer, EVP_PKEY *key,
                      const struct crl_params *tpl, const struct list *entries, int pem)
{
    struct crl_params p = *tpl;
    struct list l = *entries;
    size_t len = 0;
    unsigned char *der;

    p.issuer = issuer;
    der = crl_build(&p, list_next, &l, tsign_ctx(key, TK_EC), &len);
    if (der == NULL)
        fail_msg("crl_build: %s", crl_error());
    if (pem) {
        const unsigned char *q = der;
        X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)len);
        BIO *b = BIO_new(BIO_s_mem());
        char *data;
        long n;

        assert_true(PEM_write_bio_X509_CRL(b, crl));
        n = BIO_get_mem_data(b, &data);
        assert_true(crl_publish_file(dir, name, (unsigned char *)data, (size_t)n, 0644));
        BIO_free(b);
        X509_CRL_free(crl);
    } else {
        assert_true(crl_publish_file(dir, name, der, len, 0644));
    }
    OPENSSL_free(der);
}

static void crls_write(const char *dir, const struct chain *c, const struct dcase *d)
{
    static const struct crl_entry rev[] = {
        { { 0x12 }, 1, T0 - 86400, CRL_REASON_SUPERSEDED, 0 },
        { { 0x12, 0x34 }, 2, T0 - 3600, CRL_REASON_KEY_COMPROMISE, T0 - 7200 },
        { { 0x20, 0x00 }, 2, T0 - 60, CRL_REASON_NONE, 0 },
    };
    struct list none = { rev, 0, 0 }, some = { rev, 3, 0 };
    struct crl_params p = { NULL, 7, T0 - 600, T0 + 7 * 86400, T0 + 5 * 86400, 0, 0, 0, NULL, NULL };

    crl_write(dir, "Root.crl", c->root, K[K_ROOT], &p, &none, 0);
    if (d->crl == CRL_MISSING)
        return;
    if (d->crl == CRL_EXPIRED) {
        p.this_update = T0 - 9 * 86400;
        p.next_update = T0 - 2 * 86400;
        p.next_publish = 0;
    }
    if (d->crl == CRL_LATE_PUBLISH)
        p.next_publish = T0 - 60;
    if (d->crl == CRL_IDP_OTHER)
        p.idp_url = "http://pki.test/Other.crl";
    if (d->crl == CRL_IDP_SAME)
        p.idp_url = "http://pki.test/Issuing.crl";
    crl_write(dir, "Issuing.crl", c->ica, d->crl == CRL_WRONG_KEY ? K[K_OTHER] : K[K_ICA], &p,
              d->crl == CRL_REVOKED ? &some : &none, d->crl == CRL_PEM);
}

static const struct doctor_finding *find(const struct doctor_report *r, enum doctor_sev sev,
                                         const char *want)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->f[i].sev == sev && strstr(r->f[i].problem, want) != NULL)
            return &r->f[i];
    return NULL;
}

static void report_dump(const char *name, const struct doctor_report *r)
{
    size_t i;

    fprintf(stderr, "--- %s\n", name);
    for (i = 0; i < r->n; i++)
        fprintf(stderr, "  [%d] %s | %s | %s | fix: %s\n", r->f[i].sev, r->f[i].cert,
                r->f[i].rule, r->f[i].problem, r->f[i].fix);
}

static void test_cases(void **state)
{
    size_t k;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct dcase *d = &cases[k];
        struct chain c;
        struct doctor_report r = { 0 };
        char dir[256];
        struct doctor_source src = { dir, 0, 5, T0 };
        const struct doctor_finding *f;

        assert_true(tmpdir_make(dir, sizeof(dir)));
        chain_build(&c, d);
        crls_write(dir, &c, d);
        assert_true(doctor_check_chain(c.sk, &src, &r));
        f = find(&r, d->sev, d->want);
        if (f == NULL || doctor_report_count(&r, DOCTOR_ERROR) != d->errors) {
            report_dump(d->name, &r);
            fail_msg("%s: want %zu errors and a finding '%s'", d->name, d->errors, d->want);
        }
        if (d->sev >= DOCTOR_WARN)
            assert_true(f->fix[0] != '\0' && f->rule[0] != '\0' && f->cert[0] != '\0');
        doctor_report_free(&r);
        chain_free(&c);
        tmpdir_remove(dir);
    }
}

static void test_bad_args(void **state)
{
    struct doctor_report r = { 0 };
    struct doctor_source src = { "/nonexistent", 0, 5, T0 };
    STACK_OF(X509) *empty = sk_X509_new_null();

    assert_false(doctor_check_chain(empty, &src, &r));
    assert_non_null(strstr(crl_error(), "no certificates given"));
    assert_int_equal(crl_error_code(), 2);
    sk_X509_free(empty);
}

/* A free TCP port on 127.0.0.1 (bind to 0, read it back, close: a small race, fine for a test). */
static int free_port(void)
{
    struct sockaddr_in a = { 0 };
    socklen_t l = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0
        && getsockname(s, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static int port_ready(int port)
{
    struct sockaddr_in a = { 0 };
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

/* --fetch: the CRLs come over HTTP from python3 -m http.server (skipped without python3). */
static void test_fetch_http(void **state)
{
    static const struct dcase good = { "fetch", ICA_GOOD, LEAF_GOOD, CRL_REVOKED, 1, DOCTOR_ERROR,
                                       "(reason keyCompromise)" };
    char dir[256], portstr[16];
    char *argv[] = { "python3", "-m", "http.server", portstr, "--bind", "127.0.0.1",
                     "--directory", dir, NULL };
    struct doctor_source src = { NULL, 1, 5, T0 };
    struct doctor_report r = { 0 };
    struct chain c;
    pid_t pid;
    int port = free_port(), i, st;

    if (access("/usr/bin/python3", X_OK) != 0)
        skip();                                  /* reason: no python3 to serve the CRLs */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    assert_true(port > 0 && tmpdir_make(dir, sizeof(dir)));
    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
    chain_build(&c, &good);
    crls_write(dir, &c, &good);
    assert_int_equal(posix_spawn(&pid, "/usr/bin/python3", NULL, NULL, argv, environ), 0);
    for (i = 0; i < 100 && !port_ready(port); i++)
        usleep(50000);                           /* at most 5 s */
    assert_true(doctor_check_chain(c.sk, &src, &r));
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    if (find(&r, DOCTOR_ERROR, good.want) == NULL || doctor_report_count(&r, DOCTOR_ERROR) != 1) {
        report_dump("fetch", &r);
        fail_msg("fetch: the revoked leaf was not found over HTTP");
    }
    doctor_report_free(&r);
    /* nothing listens any more: the fetch fails and says so */
    assert_true(doctor_check_chain(c.sk, &src, &r));
    assert_non_null(find(&r, DOCTOR_ERROR, "HTTP GET failed"));
    doctor_report_free(&r);
    chain_free(&c);
    tmpdir_remove(dir);
    snprintf(base_url, sizeof(base_url), "http://pki.test");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_fetch_http),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
