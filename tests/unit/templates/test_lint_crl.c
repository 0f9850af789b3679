/*
 * test_lint_crl.c — the CRL lints, table-driven over the DER of a TBSCertList: a good full CRL
 * and a good delta CRL (built with OpenSSL's X509_CRL API) lint clean, so every CRL rule has a
 * passing case; then one case per rule breaks one thing and expects that rule's id. Malformed
 * DER (cut, trailing bytes, a broken entry) is a crl.der finding, never a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "templates/template.h"

#define DAY 86400L

static EVP_PKEY *ca_key;
static X509 *ca_cert;

static X509_REVOKED *entry(const unsigned char *sn, int n, int neg, int reason, ASN1_TIME *when)
{
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    ASN1_TIME *t = when ? ASN1_TIME_dup(when) : X509_time_adj_ex(NULL, -1, 0, NULL);

    assert_true(ASN1_STRING_set(s, sn, n));
    if (neg)
        s->type = V_ASN1_NEG_INTEGER;
    assert_true(X509_REVOKED_set_serialNumber(r, s));
    assert_true(X509_REVOKED_set_revocationDate(r, t));
    if (reason >= 0) {
        ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

        ASN1_ENUMERATED_set(e, reason);
        assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0), 1);
        ASN1_ENUMERATED_free(e);
    }
    ASN1_INTEGER_free(s);
    ASN1_TIME_free(t);
    return r;
}

static void number(X509_CRL *c, int nid, long v, int crit)
{
    ASN1_INTEGER *n = ASN1_INTEGER_new();

    ASN1_INTEGER_set(n, v);
    assert_int_equal(X509_CRL_add1_ext_i2d(c, nid, n, crit, X509V3_ADD_APPEND), 1);
    ASN1_INTEGER_free(n);
}

static void akid(X509_CRL *c, const ASN1_OCTET_STRING *id)
{
    AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();

    ak->keyid = ASN1_OCTET_STRING_dup(id);
    assert_int_equal(X509_CRL_add1_ext_i2d(c, NID_authority_key_identifier, ak, 0, 0), 1);
    AUTHORITY_KEYID_free(ak);
}

/* A good CRL: full (number 5) or delta (number 6 over base 4, with a removeFromCRL entry). */
static X509_CRL *make_crl(int delta)
{
    X509_CRL *c = X509_CRL_new();
    ASN1_TIME *t;

    assert_true(X509_CRL_set_version(c, 1));
    assert_true(X509_CRL_set_issuer_name(c, X509_get_subject_name(ca_cert)));
    t = X509_time_adj_ex(NULL, 0, -600, NULL);
    assert_true(X509_CRL_set1_lastUpdate(c, t));
    ASN1_TIME_free(t);
    t = X509_time_adj_ex(NULL, 7, 0, NULL);
    assert_true(X509_CRL_set1_nextUpdate(c, t));
    ASN1_TIME_free(t);
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x11", 1, 0, 1, NULL)));
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x22", 1, 0, -1, NULL)));
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x01\x00", 2, 0,
                                                delta ? 8 : 4, NULL)));
    akid(c, X509_get0_subject_key_id(ca_cert));
    number(c, NID_crl_number, delta ? 6 : 5, 0);
    if (delta)
        number(c, NID_delta_crl, 4, 1);
    return c;
}

static unsigned char *tbs_of(X509_CRL *c, int *len)
{
    unsigned char *der = NULL;

    assert_true(X509_CRL_sign(c, ca_key, EVP_sha256()) > 0);   /* fills the AlgorithmIdentifier */
    *len = i2d_re_X509_CRL_tbs(c, &der);
    assert_true(*len > 0);
    return der;
}

static int has_der(const unsigned char *d, size_t n, const struct lint_opts *o, const char *id,
                   struct lint_report *r)
{
    assert_true(lint_crl_tbs(d, n, o, r));
    for (size_t i = 0; i < r->n; i++)
        if (id && strcmp(r->f[i].rule->id, id) == 0)
            return 1;
    return 0;
}

static int has(X509_CRL *c, const struct lint_opts *o, const char *id, struct lint_report *r)
{
    int len, found;
    unsigned char *d = tbs_of(c, &len);

    found = has_der(d, (size_t)len, o, id, r);
    OPENSSL_free(d);
    return found;
}

static void print_findings(const struct lint_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        print_message("  %s: %s; %s\n", r->f[i].rule->id, r->f[i].problem, r->f[i].fix);
}

static void opts(struct lint_opts *o, int delta)
{
    lint_opts_init(o);
    o->issuer = ca_cert;
    o->delta = delta;
    o->prev_number = delta ? 5 : 4;
}

static int setup(void **state)
{
    X509V3_CTX ctx;
    X509_NAME *n = X509_NAME_new();

    (void)state;
    ca_key = EVP_EC_gen("P-256");
    ca_cert = X509_new();
    X509_set_version(ca_cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(ca_cert), 7);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"CRL CA", -1, -1, 0);
    X509_set_subject_name(ca_cert, n);
    X509_set_issuer_name(ca_cert, n);
    X509_NAME_free(n);
    X509_time_adj_ex(X509_getm_notBefore(ca_cert), -1, 0, NULL);
    X509_time_adj_ex(X509_getm_notAfter(ca_cert), 365, 0, NULL);
    X509_set_pubkey(ca_cert, ca_key);
    X509V3_set_ctx(&ctx, ca_cert, ca_cert, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(ca_cert, e, -1);
    X509_EXTENSION_free(e);
    assert_true(X509_sign(ca_cert, ca_key, EVP_sha256()) > 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(ca_cert);
    EVP_PKEY_free(ca_key);
    return 0;
}

static void test_good_clean(void **state)
{
    struct lint_report r;
    struct lint_opts o;
    X509_CRL *full = make_crl(0), *delta = make_crl(1);

    (void)state;
    opts(&o, 0);
    has(full, &o, NULL, &r);
    print_findings(&r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.skipped, 0);
    opts(&o, 1);
    has(delta, &o, NULL, &r);
    print_findings(&r);
    assert_int_equal(r.n, 0);
    /* without an issuer or a previous number: still clean, the issuer rules counted skipped */
    lint_opts_init(&o);
    has(full, &o, NULL, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.skipped, 2);
    has(delta, &o, NULL, &r);
    assert_int_equal(r.n, 0);
    X509_CRL_free(full);
    X509_CRL_free(delta);
}

/* ---- failing cases ----------------------------------------------------------------------- */

static void ext_drop(X509_CRL *c, int nid)
{
    int i;

    while ((i = X509_CRL_get_ext_by_NID(c, nid, -1)) >= 0)
        X509_EXTENSION_free(X509_CRL_delete_ext(c, i));
}

static void m_version(X509_CRL *c) { assert_true(X509_CRL_set_version(c, 0)); }
static void m_issuer_empty(X509_CRL *c)
{
    X509_NAME *n = X509_NAME_new();

    assert_true(X509_CRL_set_issuer_name(c, n));
    X509_NAME_free(n);
}
static void m_issuer_other(X509_CRL *c)
{
    X509_NAME *n = X509_NAME_new();

    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"Other", -1, -1, 0);
    assert_true(X509_CRL_set_issuer_name(c, n));
    X509_NAME_free(n);
}
static void m_time_gen(X509_CRL *c)
{
    ASN1_TIME *t = ASN1_GENERALIZEDTIME_set(NULL, time(NULL) - 600);

    assert_true(X509_CRL_set1_lastUpdate(c, t));
    ASN1_TIME_free(t);
}
static void m_next_before(X509_CRL *c)
{
    ASN1_TIME *t = X509_time_adj_ex(NULL, -1, 0, NULL);

    assert_true(X509_CRL_set1_nextUpdate(c, t));
    ASN1_TIME_free(t);
}
static void m_no_number(X509_CRL *c) { ext_drop(c, NID_crl_number); }
static void m_no_akid(X509_CRL *c) { ext_drop(c, NID_authority_key_identifier); }
static void m_akid_wrong(X509_CRL *c)
{
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();

    assert_true(ASN1_OCTET_STRING_set(id, (const unsigned char *)"0123456789abcdefghij", 20));
    ext_drop(c, NID_authority_key_identifier);
    akid(c, id);
    ASN1_OCTET_STRING_free(id);
}
static void m_dup(X509_CRL *c)
{
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x22", 1, 0, -1, NULL)));
}
static void m_unsorted(X509_CRL *c)
{
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x05", 1, 0, -1, NULL)));
}
static void m_entry_neg(X509_CRL *c)
{
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x7f\x01", 2, 1, -1, NULL)));
}
static void m_entry_time(X509_CRL *c)
{
    ASN1_TIME *t = ASN1_GENERALIZEDTIME_set(NULL, time(NULL) - DAY);

    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x02\x00", 2, 0, -1, t)));
    ASN1_TIME_free(t);
}
static void m_reason7(X509_CRL *c)
{
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x02\x00", 2, 0, 7, NULL)));
}
static void m_remove(X509_CRL *c)
{
    assert_true(X509_CRL_add0_revoked(c, entry((const unsigned char *)"\x02\x00", 2, 0, 8, NULL)));
}
static void m_delta_on_full(X509_CRL *c) { number(c, NID_delta_crl, 4, 1); }
static void m_idp_noncrit(X509_CRL *c)
{
    ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

    idp->onlyuser = 1;
    assert_int_equal(X509_CRL_add1_ext_i2d(c, NID_issuing_distribution_point, idp, 0, 0), 1);
    ISSUING_DIST_POINT_free(idp);
}
static void m_ext_dup(X509_CRL *c) { number(c, NID_crl_number, 7, 0); }
static void m_ext_unknown(X509_CRL *c)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.99999.2", 1);
    X509_EXTENSION *e;

    assert_true(ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2));
    e = X509_EXTENSION_create_by_OBJ(NULL, o, 1, os);
    assert_true(X509_CRL_add_ext(c, e, -1));
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
}

struct fcase {
    const char *id;
    void (*mut)(X509_CRL *c);
    int prev;                        /* prev_number for the check (-1 none) */
};

static const struct fcase FAIL[] = {
    {"crl.version", m_version, 4},
    {"crl.issuer_empty", m_issuer_empty, 4},
    {"crl.issuer_match", m_issuer_other, 4},
    {"crl.time_encoding", m_time_gen, 4},
    {"crl.next_update", m_next_before, 4},
    {"crl.number", m_no_number, 4},
    {"crl.number_increasing", NULL, 5},
    {"crl.akid", m_no_akid, 4},
    {"crl.akid_match", m_akid_wrong, 4},
    {"crl.entries_unique", m_dup, 4},
    {"crl.entries_sorted", m_unsorted, 4},
    {"crl.entry_serial", m_entry_neg, 4},
    {"crl.entry_time", m_entry_time, 4},
    {"crl.reason", m_reason7, 4},
    {"crl.remove_from_crl", m_remove, 4},
    {"crl.delta", m_delta_on_full, 4},
    {"crl.idp_critical", m_idp_noncrit, 4},
    {"crl.ext_duplicate", m_ext_dup, 4},
    {"crl.ext_unknown_critical", m_ext_unknown, 4},
};
#define N_FAIL (sizeof(FAIL) / sizeof(FAIL[0]))

static void test_each_rule_fails(void **state)
{
    struct lint_report r;
    struct lint_opts o;

    (void)state;
    for (size_t i = 0; i < N_FAIL; i++) {
        X509_CRL *c = make_crl(0);

        if (FAIL[i].mut)
            FAIL[i].mut(c);
        opts(&o, 0);
        o.prev_number = FAIL[i].prev;
        if (!has(c, &o, FAIL[i].id, &r)) {
            print_findings(&r);
            fail_msg("case %zu: expected %s", i, FAIL[i].id);
        }
        X509_CRL_free(c);
    }
}

/* A delta CRL judged as a delta must carry the indicator, and removeFromCRL is fine there. */
static void test_delta_rules(void **state)
{
    struct lint_report r;
    struct lint_opts o;
    X509_CRL *c = make_crl(0);

    (void)state;
    opts(&o, 1);
    assert_true(has(c, &o, "crl.delta", &r));
    X509_CRL_free(c);
    c = make_crl(1);
    ext_drop(c, NID_delta_crl);
    number(c, NID_delta_crl, 4, 0);
    assert_true(has(c, &o, "crl.delta", &r));   /* not critical */
    X509_CRL_free(c);
}

/* Malformed DER: a finding (crl.der), never a crash; the walk stops at the broken entry. */
static void test_malformed(void **state)
{
    struct lint_report r;
    X509_CRL *c = make_crl(0);
    int len;
    unsigned char *d = tbs_of(c, &len), *junk = OPENSSL_malloc((size_t)len + 1);

    (void)state;
    assert_true(has_der(d, 0, NULL, "crl.der", &r));
    assert_true(has_der(d, 1, NULL, "crl.der", &r));
    for (int cut = 2; cut < len; cut += 7)
        assert_true(lint_crl_tbs(d, (size_t)cut, NULL, &r));
    memcpy(junk, d, (size_t)len);
    junk[len] = 0;
    assert_true(has_der(junk, (size_t)len + 1, NULL, "crl.der", &r));
    for (int i = 2; i < len; i++) {                /* every single-byte flip: no crash */
        memcpy(junk, d, (size_t)len);
        junk[i] ^= 0x41;
        assert_true(lint_crl_tbs(junk, (size_t)len, NULL, &r));
    }
    assert_true(has_der((const unsigned char *)"\x30\x03\x02\x01\x01", 5, NULL, "crl.der", &r));
    OPENSSL_free(junk);
    OPENSSL_free(d);
    X509_CRL_free(c);
}

/* ---- the entry walk's shortcuts give the verdicts decoding gives ------------------------- */

/* The lint's verdict on revocationDate content c (13 bytes) patched into entry 1 of a good CRL,
 * against OpenSSL's: d2i_ASN1_TIME and ASN1_TIME_to_tm (for 13 bytes ending in Z, all that
 * lint_time_problem asks of a UTCTime). Returns 1 when the lint accepted it. */
static int time_verdict(unsigned char *d, int len, unsigned char *at, const char *c)
{
    unsigned char tlv[15] = {V_ASN1_UTCTIME, 13};
    const unsigned char *q = tlv;
    struct lint_report r;
    struct tm tm;
    ASN1_TIME *t;
    int ossl, lint;

    memcpy(tlv + 2, c, 13);
    t = d2i_ASN1_TIME(NULL, &q, sizeof(tlv));
    ossl = t != NULL && q == tlv + sizeof(tlv) && ASN1_TIME_to_tm(t, &tm);
    ASN1_TIME_free(t);
    memcpy(at, c, 13);
    lint = !has_der(d, (size_t)len, NULL, "crl.entry_time", &r);
    if (lint != ossl)
        fail_msg("revocationDate %.13s: lint says %s, OpenSSL %s", c, lint ? "good" : "bad",
                 ossl ? "good" : "bad");
    return lint;
}

/* A UTCTime of a real date and time is judged without decoding (lint_crl_memo.c): over years
 * with and without 29 February, every month and day 00-32 and times at and past their limits,
 * the lint agrees with OpenSSL's decoder on every one. */
static void test_entry_time_shortcut(void **state)
{
    static const char *years[] = {"00", "04", "21", "23", "24", "49", "50", "96", "99", "0a"};
    static const char *times[] = {"000000", "235959", "240000", "236000", "235960", "12 000"};
    X509_CRL *c = make_crl(0);
    int len, good = 0, bad = 0;
    unsigned char *d = tbs_of(c, &len), *at = NULL;
    char v[14];

    (void)state;
    for (int i = 0; i + 5 < len && at == NULL; i++)      /* entry 1: serial 0x11, its date */
        if (memcmp(d + i, "\x02\x01\x11\x17\x0d", 5) == 0)
            at = d + i + 5;
    assert_non_null(at);
    for (size_t y = 0; y < sizeof(years) / sizeof(years[0]); y++)
        for (int m = 0; m <= 13; m++)
            for (int day = 0; day <= 32; day++)
                for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
                    snprintf(v, sizeof(v), "%s%02d%02d%sZ", years[y], m, day, times[t]);
                    if (time_verdict(d, len, at, v))
                        good++;
                    else
                        bad++;
                }
    assert_int_equal(time_verdict(d, len, at, "240229120000Z"), 1);   /* leap year */
    assert_int_equal(time_verdict(d, len, at, "230229120000Z"), 0);
    assert_int_equal(time_verdict(d, len, at, "000229120000Z"), 1);   /* 2000 */
    assert_int_equal(time_verdict(d, len, at, "230431120000Z"), 0);
    assert_int_equal(time_verdict(d, len, at, "2304301200001"), 0);   /* no Z */
    assert_true(good > 1000 && bad > 1000);
    OPENSSL_free(d);
    X509_CRL_free(c);
}

/* Entry 2-byte serial 0x02 n, reason (-1 none), its criticality, an invalidity date (0 none). */
static X509_REVOKED *entry_ext(int n, int reason, int crit, time_t inval)
{
    unsigned char sn[2] = {0x02, (unsigned char)n};
    X509_REVOKED *r = entry(sn, 2, 0, -1, NULL);

    if (reason >= 0) {
        ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

        ASN1_ENUMERATED_set(e, reason);
        assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, crit, 0), 1);
        ASN1_ENUMERATED_free(e);
    }
    if (inval) {
        ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, inval);

        assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, g, 0, 0), 1);
        ASN1_GENERALIZEDTIME_free(g);
    }
    return r;
}

/* The finding of rule id names revoked entry n (entries 1-3 are make_crl's). */
static void finding_at(X509_CRL *c, const char *id, const char *what, int n)
{
    struct lint_report r;
    struct lint_opts o;
    char want[64];
    int hit = 0;

    opts(&o, 0);
    assert_true(has(c, &o, id, &r));
    snprintf(want, sizeof(want), "revoked entry %d: %s", n, what);
    for (size_t i = 0; i < r.n; i++)
        hit |= strcmp(r.f[i].rule->id, id) == 0 && strncmp(r.f[i].problem, want,
                                                            strlen(want)) == 0;
    if (!hit) {
        print_findings(&r);
        fail_msg("expected %s at '%s'", id, want);
    }
}

/* Entry extensions are judged once per distinct encoding among the last few (lint_crl_memo.c):
 * a bad encoding one byte away from remembered good ones, after the memo has been filled and
 * cycled by one-off encodings, is still found at its own entry, and good ones that come back
 * are still good. */
static void test_entry_ext_memo(void **state)
{
    time_t base = time(NULL) - 30 * DAY;
    X509_CRL *c = make_crl(0), *c2 = make_crl(0);
    struct lint_report r;
    struct lint_opts o;
    int k = 4;

    (void)state;
    for (int i = 0; i < 40; i++, k++)                  /* entries 4-43: 40 distinct encodings */
        assert_true(X509_CRL_add0_revoked(c, entry_ext(k, 1 + i % 6, 0, base + i * DAY)));
    for (int i = 0; i < 12; i++, k++)                  /* 44-55: reasons seen before */
        assert_true(X509_CRL_add0_revoked(c, entry_ext(k, 1 + i % 6, 0, 0)));
    opts(&o, 0);
    assert_false(has(c, &o, "crl.reason", &r));        /* all good so far: no finding */
    assert_int_equal(r.n, 0);
    assert_true(X509_CRL_add0_revoked(c, entry_ext(k++, 7, 0, base + 3 * DAY)));   /* 56 */
    finding_at(c, "crl.reason", "reason code 7", 56);
    X509_CRL_free(c);

    k = 4;
    assert_true(X509_CRL_add0_revoked(c2, entry_ext(k++, 1, 0, 0)));    /* 4: good, kept */
    for (int i = 0; i < 40; i++, k++)                  /* 5-44: one-off encodings */
        assert_true(X509_CRL_add0_revoked(c2, entry_ext(k, 1, 0, base + i * DAY)));
    assert_true(X509_CRL_add0_revoked(c2, entry_ext(k++, 1, 0, 0)));    /* 45: good again */
    opts(&o, 0);
    assert_false(has(c2, &o, "crl.reason", &r));
    assert_true(X509_CRL_add0_revoked(c2, entry_ext(k++, 1, 1, 0)));    /* 46: critical */
    finding_at(c2, "crl.reason", "entry extensions", 46);
    X509_CRL_free(c2);
}

static void test_table_covered(void **state)
{
    (void)state;
    for (size_t i = 0; i < lint_rule_count(); i++) {
        const struct lint_rule *rule = lint_rule_at(i);
        size_t j;

        if (rule->kind != LINT_CRL || strcmp(rule->id, "crl.der") == 0)
            continue;                               /* crl.der: test_malformed */
        for (j = 0; j < N_FAIL && strcmp(FAIL[j].id, rule->id) != 0; j++)
            ;
        if (j == N_FAIL)
            fail_msg("rule %s has no failing case", rule->id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_clean),
        cmocka_unit_test(test_each_rule_fails),
        cmocka_unit_test(test_delta_rules),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_entry_time_shortcut),
        cmocka_unit_test(test_entry_ext_memo),
        cmocka_unit_test(test_table_covered),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
