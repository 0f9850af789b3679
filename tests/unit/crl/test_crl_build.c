/*
 * test_crl_build.c — crl_build against OpenSSL itself: the streamed DER must parse, verify, carry
 * every field, print with `openssl crl`, and be byte-identical to the same CRL built the slow way
 * with X509_CRL/X509_REVOKED objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <cmocka.h>

#include "crl/crl.h"
#include "tests/unit/crl/crl_test_util.h"
#include "tests/unit/support/capture.h"

#define T0 1767225600            /* 2026-01-01 00:00:00Z */
#define T2051 2556144000         /* 2051-01-01 */

struct gen {
    size_t n, i;
    int reason_cycle;            /* 1: reason = i % 11 (skip 7), 0: fixed */
    int reason;
    time_t invalidity;
    int bad;                     /* 1 duplicate, 2 leading zero, 3 reason 7, 4 source error, 5 descending */
};

static int gen_reason(const struct gen *g, size_t i)
{
    int r;

    if (!g->reason_cycle)
        return g->reason;
    r = (int)(i % 12) - 1;       /* -1 .. 10 */
    return r == 7 ? CRL_REASON_NONE : r;
}

static int gen_next(void *arg, struct crl_entry *e)
{
    struct gen *g = arg;
    size_t i = g->i, v;

    if (g->i >= g->n)
        return 0;
    if (g->bad == 4 && i == 1)
        return -1;
    v = (g->bad == 1 && i == 1) ? 0 : (g->bad == 5 ? g->n - i : i);
    e->serial_len = 10;
    e->serial[0] = 0x4f;
    memset(e->serial + 1, 0, 9);
    e->serial[6] = (unsigned char)(v >> 24);
    e->serial[7] = (unsigned char)(v >> 16);
    e->serial[8] = (unsigned char)(v >> 8);
    e->serial[9] = (unsigned char)v;
    if (g->bad == 0 && i >= g->n / 2)
        e->serial[0] = 0xcf;     /* high bit set: the DER INTEGER needs a 00 octet (positive) */
    if (g->bad == 2 && i == 0)
        e->serial[0] = 0;
    e->revoked_at = T0 - 86400 + (time_t)(i / 3);
    e->reason = g->bad == 3 ? 7 : gen_reason(g, i);
    e->invalidity = g->invalidity ? g->invalidity - (time_t)(i % 2) : 0;
    g->i++;
    return 1;
}

struct fix {
    EVP_PKEY *key[3];
    X509 *ca[3];
};
static struct fix F;

static int setup(void **state)
{
    static const char *const exts[] = { "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign", "subjectKeyIdentifier=hash", NULL };
    struct tcert c = { "Test CRL CA", 1, T0 - 86400 * 365, T0 + 86400 * 3650, exts, NULL, NULL, 0 };
    int t;

    for (t = TK_RSA; t <= TK_EC; t++) {
        F.key[t] = t == TK_PSS ? F.key[TK_RSA] : tkey_new(t);
        if (t == TK_PSS)
            EVP_PKEY_up_ref(F.key[t]);
        F.ca[t] = tcert_new(&c, F.key[t], NULL, F.key[t]);
        if (F.key[t] == NULL || F.ca[t] == NULL)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    int t;

    for (t = 0; t < 3; t++) {
        X509_free(F.ca[t]);
        EVP_PKEY_free(F.key[t]);
    }
    return 0;
}

/* ---- the slow way, through OpenSSL's objects --------------------------------------------- */
static void slow_ms_ext(X509_CRL *crl, const char *oid, unsigned char *der, int n)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e;

    assert_true(ASN1_OCTET_STRING_set(os, der, n));
    assert_non_null(e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os));
    assert_true(X509_CRL_add_ext(crl, e, -1));
    X509_EXTENSION_free(e);
    ASN1_OBJECT_free(o);
    ASN1_OCTET_STRING_free(os);
    OPENSSL_free(der);
}

static DIST_POINT_NAME *slow_dpn(const char *url)
{
    DIST_POINT_NAME *d = DIST_POINT_NAME_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    ASN1_STRING_set(s, url, -1);
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    d->type = 0;
    d->name.fullname = sk_GENERAL_NAME_new_null();
    sk_GENERAL_NAME_push(d->name.fullname, gn);
    return d;
}

static void slow_exts(X509_CRL *crl, const struct crl_params *p)
{
    AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
    ASN1_INTEGER *n = ASN1_INTEGER_new();
    unsigned char *der = NULL;

    ak->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(p->issuer));
    assert_true(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, ak, 0, 0));
    ASN1_INTEGER_set_uint64(n, p->number);
    assert_true(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0));
    if (p->is_delta) {
        ASN1_INTEGER_set_uint64(n, p->base_number);
        assert_true(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, n, 1, 0));
    }
    if (p->idp_url) {
        ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

        idp->distpoint = slow_dpn(p->idp_url);
        assert_true(X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0));
        ISSUING_DIST_POINT_free(idp);
    }
    if (p->freshest_url) {
        CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
        DIST_POINT *dp = DIST_POINT_new();

        dp->distpoint = slow_dpn(p->freshest_url);
        sk_DIST_POINT_push(dps, dp);
        assert_true(X509_CRL_add1_ext_i2d(crl, NID_freshest_crl, dps, 0, 0));
        sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    }
    if (p->ca_version >= 0) {
        ASN1_INTEGER_set_int64(n, p->ca_version);
        slow_ms_ext(crl, "1.3.6.1.4.1.311.21.1", der, i2d_ASN1_INTEGER(n, &der));
        der = NULL;
    }
    if (p->next_publish) {
        ASN1_TIME *t = ASN1_TIME_set(NULL, p->next_publish);

        slow_ms_ext(crl, "1.3.6.1.4.1.311.21.4", der, i2d_ASN1_TIME(t, &der));
        ASN1_TIME_free(t);
    }
    ASN1_INTEGER_free(n);
    AUTHORITY_KEYID_free(ak);
}

static unsigned char *slow_build(const struct crl_params *p, struct gen *g, EVP_MD_CTX *ctx,
                                 int *len)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    struct crl_entry e;
    unsigned char *der = NULL;

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->issuer));
    X509_CRL_set1_lastUpdate(crl, ASN1_TIME_set(t, p->this_update));
    X509_CRL_set1_nextUpdate(crl, ASN1_TIME_set(t, p->next_update));
    while (gen_next(g, &e) == 1) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();

        ASN1_STRING_set(s, e.serial, (int)e.serial_len);
        X509_REVOKED_set_serialNumber(r, s);
        X509_REVOKED_set_revocationDate(r, ASN1_TIME_set(t, e.revoked_at));
        if (e.reason != CRL_REASON_NONE) {
            ASN1_ENUMERATED *en = ASN1_ENUMERATED_new();

            ASN1_ENUMERATED_set(en, e.reason);
            X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, en, 0, 0);
            ASN1_ENUMERATED_free(en);
        }
        if (e.invalidity) {
            ASN1_GENERALIZEDTIME *gt = ASN1_GENERALIZEDTIME_set(NULL, e.invalidity);

            X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, gt, 0, 0);
            ASN1_GENERALIZEDTIME_free(gt);
        }
        X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(s);
    }
    slow_exts(crl, p);
    assert_true(X509_CRL_sign_ctx(crl, ctx) > 0);
    *len = i2d_X509_CRL(crl, &der);
    X509_CRL_free(crl);
    ASN1_TIME_free(t);
    EVP_MD_CTX_free(ctx);
    return der;
}

/* The TBSCertList bytes inside a CRL DER (test-side extent only). */
static const unsigned char *tbs_of(const unsigned char *der, long len, long *tlen)
{
    const unsigned char *p = der, *start;
    long l;
    int tag, cls;

    ASN1_get_object(&p, &l, &tag, &cls, len);
    start = p;
    ASN1_get_object(&p, &l, &tag, &cls, len);
    *tlen = (long)(p - start) + l;
    return start;
}

/* ---- good cases ------------------------------------------------------------------------------ */
struct good {
    const char *name;
    enum tkey key;
    size_t n;
    int reason_cycle, reason;
    time_t invalidity;
    int delta;
    const char *idp, *fresh;
    time_t this_update, next_publish;
    long ca_version;
    const char *want_text[4];    /* fragments `openssl crl -text` must show */
};

static const struct good goods[] = {
    { "rsa empty", TK_RSA, 0, 0, CRL_REASON_NONE, 0, 0, NULL, NULL, T0, 0, -1,
      { "No Revoked Certificates", "X509v3 CRL Number", NULL } },
    { "rsa one", TK_RSA, 1, 0, CRL_REASON_KEY_COMPROMISE, 0, 0, NULL, NULL, T0, T0 + 3600, 0,
      { "Key Compromise", "1.3.6.1.4.1.311.21.4", "1.3.6.1.4.1.311.21.1", NULL } },
    { "rsa every reason", TK_RSA, 24, 1, 0, T0 - 7 * 86400, 0, NULL, NULL, T0, 0, 0x10001,
      { "Invalidity Date", "Certificate Hold", "AA Compromise", "Cessation Of Operation" } },
    { "pss delta", TK_PSS, 5, 0, CRL_REASON_SUPERSEDED, 0, 1, NULL, NULL, T0, 0, -1,
      { "Delta CRL Indicator: critical", "Superseded", "rsassaPss", NULL } },
    { "ecdsa idp+freshest", TK_EC, 3, 0, CRL_REASON_NONE, 0, 0,
      "http://pki.example.com/Issuing.crl", "http://pki.example.com/Issuing+.crl", T0, 0, -1,
      { "Issuing Distribution Point: critical", "URI:http://pki.example.com/Issuing.crl",
        "Freshest CRL", "ecdsa-with-SHA256" } },
    { "times past 2050", TK_EC, 2, 0, CRL_REASON_UNSPECIFIED, T2051 + 5, 0, NULL, NULL, T2051,
      T2051 + 3600, -1, { "Jan  1 00:00:00 2051 GMT", "Unspecified", NULL } },
    { "rsa 3000 entries", TK_RSA, 3000, 1, 0, 0, 0, NULL, NULL, T0, T0 + 60, 7, { NULL } },
};

static void check_fields(X509_CRL *crl, const struct good *g, const struct crl_params *p)
{
    int crit;
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
    ASN1_INTEGER *base = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL);
    AUTHORITY_KEYID *ak = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    uint64_t v = 0;

    assert_int_equal(X509_CRL_get_version(crl), 1);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(p->issuer)), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl), p->this_update), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl), p->next_update), 0);
    assert_true(ASN1_INTEGER_get_uint64(&v, num) && v == p->number);
    assert_true(g->delta ? base != NULL : base == NULL);
    assert_non_null(ak);
    assert_int_equal(ASN1_OCTET_STRING_cmp(ak->keyid, X509_get0_subject_key_id(p->issuer)), 0);
    assert_int_equal(rev ? sk_X509_REVOKED_num(rev) : 0, (int)g->n);
    if (p->this_update >= T2051)
        assert_int_equal(ASN1_STRING_type(X509_CRL_get0_lastUpdate(crl)), V_ASN1_GENERALIZEDTIME);
    else
        assert_int_equal(ASN1_STRING_type(X509_CRL_get0_lastUpdate(crl)), V_ASN1_UTCTIME);
    ASN1_INTEGER_free(num);
    ASN1_INTEGER_free(base);
    AUTHORITY_KEYID_free(ak);
}

static void check_text(const unsigned char *der, size_t len, const struct good *g)
{
    char dir[256], path[300], cmd[400], text[65536];
    FILE *f;
    size_t n, i;

    assert_true(tmpdir_make(dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/t.crl", dir);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(der, 1, len, f), len);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -text -noout -in %s 2>&1", path);
    assert_non_null(f = popen(cmd, "r"));
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    assert_int_equal(pclose(f), 0);
    for (i = 0; i < 4 && g->want_text[i]; i++) {
        if (strstr(text, g->want_text[i]) == NULL)
            fail_msg("%s: openssl crl -text lacks '%s':\n%s", g->name, g->want_text[i], text);
    }
    tmpdir_remove(dir);
}

static void test_good(void **state)
{
    size_t k;

    for (k = 0; k < sizeof(goods) / sizeof(goods[0]); k++) {
        const struct good *g = &goods[k];
        struct crl_params p = { F.ca[g->key], 42, g->this_update, g->this_update + 7 * 86400,
                                g->next_publish, g->ca_version, g->delta, 40, g->idp, g->fresh };
        struct gen gen = { g->n, 0, g->reason_cycle, g->reason, g->invalidity, 0 };
        unsigned char *der, *slow;
        const unsigned char *q;
        size_t len = 0;
        long t1, t2;
        const unsigned char *b1, *b2;
        int slen;
        X509_CRL *crl;

        der = crl_build(&p, gen_next, &gen, tsign_ctx(F.key[g->key], g->key), &len);
        if (der == NULL)
            fail_msg("%s: %s", g->name, crl_error());
        q = der;
        assert_non_null(crl = d2i_X509_CRL(NULL, &q, (long)len));
        assert_ptr_equal(q, der + len);
        assert_int_equal(X509_CRL_verify(crl, F.key[g->key]), 1);
        check_fields(crl, g, &p);
        check_text(der, len, g);
        gen.i = 0;
        slow = slow_build(&p, &gen, tsign_ctx(F.key[g->key], g->key), &slen);
        b1 = tbs_of(der, (long)len, &t1);
        b2 = tbs_of(slow, slen, &t2);
        assert_int_equal(t1, t2);
        if (memcmp(b1, b2, (size_t)t1) != 0)
            fail_msg("%s: TBS differs from OpenSSL's own encoding", g->name);
        if (g->key == TK_RSA) {               /* deterministic signature: whole DER equal */
            assert_int_equal((int)len, slen);
            assert_memory_equal(der, slow, len);
        }
        X509_CRL_free(crl);
        OPENSSL_free(slow);
        OPENSSL_free(der);
    }
}

/* ---- bad cases: each fails with a message naming the rule ----------------------------------- */
struct bad {
    const char *name;
    int gen_bad;
    time_t next_delta;           /* next_update - this_update */
    int is_delta;
    uint64_t base;
    const char *idp;
    int no_skid, no_ctx;
    int code;
    const char *want;
};

static const struct bad bads[] = {
    { "duplicate serial", 1, 86400, 0, 0, NULL, 0, 0, 3, "a duplicate of the previous" },
    { "leading zero serial", 2, 86400, 0, 0, NULL, 0, 0, 3, "positive minimal" },
    { "reason 7", 3, 86400, 0, 0, NULL, 0, 0, 3, "reason code 7 is not defined" },
    { "source error", 4, 86400, 0, 0, NULL, 0, 0, 4, "entry source failed after 1" },
    { "descending", 5, 86400, 0, 0, NULL, 0, 0, 3, "below the previous" },
    { "next before this", 0, 0, 0, 0, NULL, 0, 0, 2, "nextUpdate is not after thisUpdate" },
    { "delta base too high", 0, 86400, 1, 42, NULL, 0, 0, 2, "is not above its base" },
    { "https idp", 0, 86400, 0, 0, "https://pki.example.com/a.crl", 0, 0, 2, "only http://" },
    { "issuer without SKID", 0, 86400, 0, 0, NULL, 1, 0, 3, "no subject key identifier" },
    { "no signing ctx", 0, 86400, 0, 0, NULL, 0, 1, 2, "signing context" },
};

/* Serials of different lengths (an adopted legacy CA's short ones beside offca's 20-byte ones)
 * are in ascending order as integers, which is not byte order: 0x05 < 0x1005 < 0x0b01...01
 * (20 bytes). Accepted, listed in that order; 0x1005 before 0x7f is refused. */
struct lens { const unsigned char *const *ser; const size_t *len; size_t n, i; };

static int lens_next(void *arg, struct crl_entry *e)
{
    struct lens *l = arg;

    if (l->i == l->n)
        return 0;
    memset(e, 0, sizeof(*e));
    memcpy(e->serial, l->ser[l->i], l->len[l->i]);
    e->serial_len = l->len[l->i++];
    e->revoked_at = T0 - 3600;
    e->reason = CRL_REASON_NONE;
    return 1;
}

static void test_mixed_lengths(void **state)
{
    static const unsigned char a[] = { 0x05 }, b[] = { 0x10, 0x05 }, c7f[] = { 0x7f },
        big[20] = { 0x0b, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    const unsigned char *const good[] = { a, b, big }, *const bad[] = { b, c7f };
    const size_t good_len[] = { 1, 2, 20 }, bad_len[] = { 2, 1 };
    struct crl_params p = { F.ca[TK_EC], 43, T0, T0 + 86400, 0, -1, 0, 0, NULL, NULL };
    struct lens lg = { good, good_len, 3, 0 }, lb = { bad, bad_len, 2, 0 };
    const unsigned char *q;
    size_t len = 0;
    unsigned char *der = crl_build(&p, lens_next, &lg, tsign_ctx(F.key[TK_EC], TK_EC), &len);
    X509_CRL *crl;
    STACK_OF(X509_REVOKED) *revs;

    if (der == NULL)
        fail_msg("ascending serials of 1, 2 and 20 bytes refused: %s", crl_error());
    q = der;
    assert_non_null(crl = d2i_X509_CRL(NULL, &q, (long)len));
    revs = X509_CRL_get_REVOKED(crl);
    assert_int_equal(sk_X509_REVOKED_num(revs), 3);
    assert_int_equal(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revs, 1))),
                     0x1005);
    X509_CRL_free(crl);
    OPENSSL_free(der);
    assert_null(crl_build(&p, lens_next, &lb, tsign_ctx(F.key[TK_EC], TK_EC), &len));
    assert_non_null(strstr(crl_error(), "below the previous"));
}

static void test_bad(void **state)
{
    static const char *const exts[] = { "basicConstraints=critical,CA:TRUE", NULL };
    struct tcert c = { "No SKID CA", 2, T0 - 86400, T0 + 86400 * 30, exts, NULL, NULL, 0 };
    X509 *noskid = tcert_new(&c, F.key[TK_EC], NULL, F.key[TK_EC]);
    size_t k;

    assert_non_null(noskid);
    for (k = 0; k < sizeof(bads) / sizeof(bads[0]); k++) {
        const struct bad *b = &bads[k];
        struct crl_params p = { b->no_skid ? noskid : F.ca[TK_EC], 42, T0, T0 + b->next_delta,
                                0, -1, b->is_delta, b->base, b->idp, NULL };
        struct gen gen = { 4, 0, 0, CRL_REASON_NONE, 0, b->gen_bad };
        size_t len = 0;
        unsigned char *der = crl_build(&p, gen_next, &gen,
                                       b->no_ctx ? NULL : tsign_ctx(F.key[TK_EC], TK_EC), &len);

        if (der != NULL)
            fail_msg("%s: built a CRL", b->name);
        if (strstr(crl_error(), b->want) == NULL)
            fail_msg("%s: message '%s' lacks '%s'", b->name, crl_error(), b->want);
        assert_int_equal(crl_error_code(), b->code);
    }
    X509_free(noskid);
}

/* OFFCA_CRL_BENCH=N: build N entries once, report time and peak RSS, and check the result. */
static void test_bench(void **state)
{
    const char *env = getenv("OFFCA_CRL_BENCH");
    struct crl_params p = { F.ca[TK_RSA], 9, T0, T0 + 86400, 0, -1, 0, 0, NULL, NULL };
    struct gen gen = { env ? strtoul(env, NULL, 10) : 20000, 0, 1, 0, T0 - 86400, 0 };
    struct timeval a, b;
    struct rusage ru;
    unsigned char *der;
    const unsigned char *q;
    size_t len = 0;
    X509_CRL *crl;

    gettimeofday(&a, NULL);
    der = crl_build(&p, gen_next, &gen, tsign_ctx(F.key[TK_RSA], TK_RSA), &len);
    gettimeofday(&b, NULL);
    assert_non_null(der);
    getrusage(RUSAGE_SELF, &ru);
    if (env)
        printf("crl_build: %zu entries, %zu bytes, %.3f s, peak RSS %ld KiB\n", gen.n, len,
               (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6, ru.ru_maxrss);
    q = der;
    assert_non_null(crl = d2i_X509_CRL(NULL, &q, (long)len));
    assert_int_equal(X509_CRL_verify(crl, F.key[TK_RSA]), 1);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), (int)gen.n);
    X509_CRL_free(crl);
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_mixed_lengths),
        cmocka_unit_test(test_bench),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
