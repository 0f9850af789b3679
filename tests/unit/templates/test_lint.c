/*
 * test_lint.c — the certificate lints, table-driven: a good CA and a good leaf (rich in the things
 * the rules look at: SANs of every type, the SID extension and URL, template extensions, CDP,
 * AIA) lint clean, so every rule has a passing case; then one case per rule builds the leaf (or
 * CA) with OpenSSL, breaks exactly one thing and expects that rule's id. A check at the end makes
 * sure every certificate rule of the table has a failing case here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "templates/template.h"

#define SID "S-1-5-21-1004336348-1177238915-682003330-1105"
#define SID2 "S-1-5-21-1004336348-1177238915-682003330-2201"
#define DAY 86400L

static EVP_PKEY *ca_key, *ec_key, *rsa_key;
static X509 *ca_cert;

static void ext_put(X509 *x, X509_EXTENSION *e)
{
    assert_non_null(e);
    assert_true(X509_add_ext(x, e, -1));
    X509_EXTENSION_free(e);
}

/* Remove every extension of nid (or of the dotted oid when nid is NID_undef). */
static void ext_del(X509 *x, int nid, const char *oid)
{
    ASN1_OBJECT *o = nid != NID_undef ? OBJ_nid2obj(nid) : OBJ_txt2obj(oid, 1);
    int i;

    while ((i = X509_get_ext_by_OBJ(x, o, -1)) >= 0)
        X509_EXTENSION_free(X509_delete_ext(x, i));
    if (nid == NID_undef)
        ASN1_OBJECT_free(o);
}

static void ext_conf(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext_put(x, X509V3_EXT_nconf_nid(NULL, &ctx, nid, value));
}

static GENERAL_NAME *gn_ia5(int type, const char *v, int len)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    assert_true(ASN1_STRING_set(s, v, len < 0 ? (int)strlen(v) : len));
    GENERAL_NAME_set0_value(g, type, s);
    return g;
}

static void san_put(X509 *x, GENERAL_NAMES *gens, int crit)
{
    ext_del(x, NID_subject_alt_name, NULL);
    assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, crit, X509V3_ADD_DEFAULT),
                     1);
    sk_GENERAL_NAME_pop_free(gens, GENERAL_NAME_free);
}

/* The leaf's SANs; extra (may be NULL) is appended. */
static GENERAL_NAMES *good_sans(GENERAL_NAME *extra)
{
    GENERAL_NAMES *g = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *ip = GENERAL_NAME_new();
    ASN1_OCTET_STRING *a = ASN1_OCTET_STRING_new();

    sk_GENERAL_NAME_push(g, gn_ia5(GEN_DNS, "pc42.contoso.com", -1));
    sk_GENERAL_NAME_push(g, gn_ia5(GEN_DNS, "xn--mnchen-3ya.example", -1));
    sk_GENERAL_NAME_push(g, gn_ia5(GEN_EMAIL, "pc42-owner@contoso.com", -1));
    sk_GENERAL_NAME_push(g, gn_ia5(GEN_URI, SID_URL_PREFIX SID, -1));
    sk_GENERAL_NAME_push(g, ms_upn_name_build("pc42$@contoso.com"));
    assert_true(ASN1_OCTET_STRING_set(a, (const unsigned char *)"\x0a\x00\x00\x01", 4));
    GENERAL_NAME_set0_value(ip, GEN_IPADD, a);
    sk_GENERAL_NAME_push(g, ip);
    if (extra)
        sk_GENERAL_NAME_push(g, extra);
    return g;
}

static void fields(X509 *x, X509 *issuer, EVP_PKEY *key, const char *cn, long nb, long na)
{
    X509_NAME *n = X509_NAME_new();
    ASN1_INTEGER *sn = ASN1_INTEGER_new();

    assert_true(X509_set_version(x, 2));
    assert_true(ASN1_INTEGER_set_uint64(sn, 0x1234567890abcdefULL));
    assert_true(X509_set_serialNumber(x, sn));
    ASN1_INTEGER_free(sn);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    assert_true(X509_set_subject_name(x, n));
    assert_true(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n));
    X509_NAME_free(n);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), 0, nb, NULL));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0, na, NULL));
    assert_true(X509_set_pubkey(x, key));
}

static X509 *make_ca(void)
{
    X509 *x = X509_new();

    fields(x, NULL, ca_key, "Lint Root CA", -10 * DAY, 3650 * DAY);
    ext_conf(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
    ext_conf(x, NULL, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
    ext_conf(x, NULL, NID_subject_key_identifier, "hash");
    return x;
}

static X509 *make_leaf(EVP_PKEY *key)
{
    X509 *x = X509_new();
    const char *apol[] = {"1.3.6.1.5.5.7.3.2"};

    fields(x, ca_cert, key, "pc42.contoso.com", 0, 365 * DAY);
    ext_conf(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE");
    ext_conf(x, ca_cert, NID_key_usage, EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
                                            ? "critical,digitalSignature,keyEncipherment"
                                            : "critical,digitalSignature");
    ext_conf(x, ca_cert, NID_ext_key_usage, "clientAuth");
    san_put(x, good_sans(NULL), 0);
    ext_put(x, sid_ext_build(SID));
    ext_put(x, ms_template_name_build("Machine"));
    ext_put(x, ms_template_info_build("1.3.6.1.4.1.311.21.8.1.2", 100, 3));
    ext_put(x, ms_app_policies_build(apol, 1));
    ext_conf(x, ca_cert, NID_subject_key_identifier, "hash");
    ext_conf(x, ca_cert, NID_authority_key_identifier, "keyid:always");
    ext_conf(x, ca_cert, NID_crl_distribution_points, "URI:http://pki.contoso.com/root.crl");
    ext_conf(x, ca_cert, NID_info_access, "caIssuers;URI:http://pki.contoso.com/root.crt");
    return x;
}

/* Lint x as offca would with ca_cert as issuer; 1 when a finding of rule id is there. */
static int has(X509 *x, const struct lint_opts *opt, const char *id, struct lint_report *r)
{
    struct lint_opts o;

    if (opt)
        o = *opt;
    else {
        lint_opts_init(&o);
        o.issuer = ca_cert;
    }
    assert_true(lint_cert(x, &o, r));
    for (size_t i = 0; i < r->n; i++)
        if (id && strcmp(r->f[i].rule->id, id) == 0)
            return 1;
    return 0;
}

static void print_findings(const struct lint_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        print_message("  %s: %s; %s\n", r->f[i].rule->id, r->f[i].problem, r->f[i].fix);
}

static int setup(void **state)
{
    (void)state;
    ca_key = EVP_EC_gen("P-256");
    ec_key = EVP_EC_gen("P-256");
    rsa_key = EVP_RSA_gen(2048);
    assert_non_null(ca_key);
    assert_non_null(rsa_key);
    ca_cert = make_ca();
    assert_true(X509_sign(ca_cert, ca_key, EVP_sha256()) > 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(ca_cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(rsa_key);
    return 0;
}

/* ---- passing cases: every rule runs on these and finds nothing -------------------------- */

static void test_good_clean(void **state)
{
    struct lint_report r;
    struct lint_opts o;
    X509 *leaf = make_leaf(ec_key), *rleaf = make_leaf(rsa_key);

    (void)state;
    has(ca_cert, NULL, NULL, &r);
    print_findings(&r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.skipped, 0);
    has(leaf, NULL, NULL, &r);
    print_findings(&r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.skipped, 0);
    has(rleaf, NULL, NULL, &r);
    print_findings(&r);
    assert_int_equal(r.n, 0);
    /* signed or not, the same verdict; and without an issuer the issuer rules say so */
    assert_true(X509_sign(leaf, ca_key, EVP_sha256()) > 0);
    has(leaf, NULL, NULL, &r);
    assert_int_equal(r.n, 0);
    lint_opts_init(&o);
    has(leaf, &o, NULL, &r);
    assert_int_equal(r.n, 0);
    assert_true(r.skipped >= 4);
    X509_free(leaf);
    X509_free(rleaf);
}

/* Allowed by the options: a wildcard and anyExtendedKeyUsage pass when the template allows. */
static void test_allowed(void **state)
{
    struct lint_report r;
    struct lint_opts o;
    X509 *x = make_leaf(ec_key);

    (void)state;
    san_put(x, good_sans(gn_ia5(GEN_DNS, "*.contoso.com", -1)), 0);
    ext_del(x, NID_ext_key_usage, NULL);
    ext_conf(x, ca_cert, NID_ext_key_usage, "clientAuth,anyExtendedKeyUsage");
    lint_opts_init(&o);
    o.issuer = ca_cert;
    o.allow_wildcard = o.allow_any_eku = 1;
    has(x, &o, NULL, &r);
    print_findings(&r);
    assert_int_equal(r.n, 0);
    assert_true(has(x, NULL, "san.dns_wildcard", &r));
    assert_true(has(x, NULL, "eku.any", &r));
    X509_free(x);
}

/* ---- failing cases: one mutation per rule ------------------------------------------------ */

static void set_serial_bytes(X509 *x, const unsigned char *b, int n, int neg)
{
    ASN1_INTEGER *sn = ASN1_INTEGER_new();

    assert_true(ASN1_STRING_set(sn, b, n));
    if (neg)
        sn->type = V_ASN1_NEG_INTEGER;
    assert_true(X509_set_serialNumber(x, sn));
    ASN1_INTEGER_free(sn);
}

static void m_serial_neg(X509 *x) { set_serial_bytes(x, (const unsigned char *)"\x05", 1, 1); }
static void m_serial_zero(X509 *x) { set_serial_bytes(x, (const unsigned char *)"\x00", 1, 0); }
static void m_serial_long(X509 *x)
{
    set_serial_bytes(x, (const unsigned char *)"\x7f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                     "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14", 21, 0);
}
static void m_version(X509 *x) { assert_true(X509_set_version(x, 0)); }
static void m_time_gen(X509 *x)
{
    ASN1_TIME *t = ASN1_GENERALIZEDTIME_set(NULL, time(NULL) + 30 * DAY);

    assert_true(X509_set1_notAfter(x, t));
    ASN1_TIME_free(t);
}
static void m_time_order(X509 *x)
{
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), 400, 0, NULL));
}
static void m_time_end(X509 *x)
{
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 4000, 0, NULL));
}
static void m_time_start(X509 *x)
{
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), -20, 0, NULL));
}
static void m_issuer_empty(X509 *x)
{
    X509_NAME *n = X509_NAME_new();

    assert_true(X509_set_issuer_name(x, n));
    X509_NAME_free(n);
}
static void m_issuer_other(X509 *x)
{
    X509_NAME *n = X509_NAME_new();

    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"Other", -1, -1, 0);
    assert_true(X509_set_issuer_name(x, n));
    X509_NAME_free(n);
}
static void m_subject_empty(X509 *x)
{
    X509_NAME *n = X509_NAME_new();

    assert_true(X509_set_subject_name(x, n));
    X509_NAME_free(n);
}
static void m_san_empty(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_DNS, "", 0)), 0); }
static void m_san_dup(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_DNS, "pc42.contoso.com", -1)), 0); }
static void m_dns_syntax(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_DNS, "pc_42.contoso.com", -1)), 0); }
static void m_dns_dot(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_DNS, "pc43.contoso.com.", -1)), 0); }
static void m_dns_wild(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_DNS, "*.contoso.com", -1)), 0); }
static void m_dns_ulabel(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_DNS, "m\xc3\xbcnchen.example", -1)), 0); }
static void m_dns_rlabel(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_DNS, "ab--cd.example", -1)), 0); }
static void m_email(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_EMAIL, "owner.contoso.com", -1)), 0); }
static void m_upn(X509 *x)
{
    GENERAL_NAME *g = ms_upn_name_build("pc42$@contoso.com");
    ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();

    assert_true(ASN1_STRING_set(s, "pc42 at contoso", -1));
    ASN1_TYPE_set(g->d.otherName->value, V_ASN1_UTF8STRING, s);
    san_put(x, good_sans(g), 0);
}
static void m_uri(X509 *x) { san_put(x, good_sans(gn_ia5(GEN_URI, "/relative/path", -1)), 0); }
static void m_ip(X509 *x)
{
    GENERAL_NAME *ip = GENERAL_NAME_new();
    ASN1_OCTET_STRING *a = ASN1_OCTET_STRING_new();

    assert_true(ASN1_OCTET_STRING_set(a, (const unsigned char *)"\x0a\x00\x00\x01\x02", 5));
    GENERAL_NAME_set0_value(ip, GEN_IPADD, a);
    san_put(x, good_sans(ip), 0);
}
static void m_ext_dup(X509 *x) { ext_conf(x, ca_cert, NID_ext_key_usage, "serverAuth"); }
static void m_ext_der(X509 *x)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

    assert_true(ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x04\x05\x01", 3));
    ext_del(x, NID_key_usage, NULL);
    ext_put(x, X509_EXTENSION_create_by_NID(NULL, NID_key_usage, 1, os));
    ASN1_OCTET_STRING_free(os);
}
static void m_ext_unknown(X509 *x)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);

    assert_true(ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2));
    ext_put(x, X509_EXTENSION_create_by_OBJ(NULL, o, 1, os));
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
}
static void m_bc_noncrit(X509 *x)
{
    ext_del(x, NID_basic_constraints, NULL);
    ext_conf(x, NULL, NID_basic_constraints, "CA:TRUE");
}
static void m_bc_leaf_pathlen(X509 *x)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

    bc->ca = 0;
    bc->pathlen = ASN1_INTEGER_new();
    ASN1_INTEGER_set(bc->pathlen, 0);
    ext_del(x, NID_basic_constraints, NULL);
    assert_int_equal(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0), 1);
    BASIC_CONSTRAINTS_free(bc);
}
static void m_ku_absent(X509 *x) { ext_del(x, NID_key_usage, NULL); }
static void m_ku_noncrit(X509 *x)
{
    ext_del(x, NID_key_usage, NULL);
    ext_conf(x, ca_cert, NID_key_usage, "digitalSignature");
}
static void m_ku_certsign(X509 *x)
{
    ext_del(x, NID_key_usage, NULL);
    ext_conf(x, ca_cert, NID_key_usage, "critical,digitalSignature,cRLSign");
}
static void m_ku_ec_encipher(X509 *x)
{
    ext_del(x, NID_key_usage, NULL);
    ext_conf(x, ca_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
}
static void m_eku_empty(X509 *x)
{
    EXTENDED_KEY_USAGE *e = sk_ASN1_OBJECT_new_null();

    ext_del(x, NID_ext_key_usage, NULL);
    assert_int_equal(X509_add1_ext_i2d(x, NID_ext_key_usage, e, 0, 0), 1);
    sk_ASN1_OBJECT_free(e);
}
static void m_eku_any(X509 *x)
{
    ext_del(x, NID_ext_key_usage, NULL);
    ext_conf(x, ca_cert, NID_ext_key_usage, "clientAuth,anyExtendedKeyUsage");
}
static void m_akid_absent(X509 *x) { ext_del(x, NID_authority_key_identifier, NULL); }
static void m_akid_wrong(X509 *x)
{
    AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();

    ak->keyid = ASN1_OCTET_STRING_new();
    assert_true(ASN1_OCTET_STRING_set(ak->keyid, (const unsigned char *)"12345678901234567890", 20));
    ext_del(x, NID_authority_key_identifier, NULL);
    assert_int_equal(X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0, 0), 1);
    AUTHORITY_KEYID_free(ak);
}
static void m_skid_absent(X509 *x) { ext_del(x, NID_subject_key_identifier, NULL); }
static void m_cdp_ldap(X509 *x)
{
    ext_del(x, NID_crl_distribution_points, NULL);
    ext_conf(x, ca_cert, NID_crl_distribution_points, "URI:ldap:///CN=root?certificateRevocationList");
}
static void m_aia_ftp(X509 *x)
{
    ext_del(x, NID_info_access, NULL);
    ext_conf(x, ca_cert, NID_info_access, "caIssuers;URI:ftp://pki.contoso.com/root.crt");
}
static void m_sid_crit(X509 *x)
{
    X509_EXTENSION *e = sid_ext_build(SID);

    X509_EXTENSION_set_critical(e, 1);
    ext_del(x, NID_undef, OID_NTDS_CA_SECURITY_EXT);
    ext_put(x, e);
}
static void m_sid_bad(X509 *x)
{
    /* the extension built by hand around the string "S-1-5-021-1" (leading zero) */
    static const unsigned char v[] = {
        0x30, 0x1d, 0xa0, 0x1b, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x19, 0x02,
        0x01, 0xa0, 0x0d, 0x04, 0x0b, 'S', '-', '1', '-', '5', '-', '0', '2', '1', '-', '1'};
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *o = OBJ_txt2obj(OID_NTDS_CA_SECURITY_EXT, 1);

    assert_true(ASN1_OCTET_STRING_set(os, v, sizeof(v)));
    ext_del(x, NID_undef, OID_NTDS_CA_SECURITY_EXT);
    ext_put(x, X509_EXTENSION_create_by_OBJ(NULL, o, 0, os));
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
}
static void m_sid_other(X509 *x)
{
    ext_del(x, NID_undef, OID_NTDS_CA_SECURITY_EXT);
    ext_put(x, sid_ext_build(SID2));
}
/* A SAN URL of 195 characters (a SID of 15 sub-authorities) naming another SID than the
 * extension: long URLs are read too. */
static void m_sid_long_url(X509 *x)
{
    char url[256] = SID_URL_PREFIX "S-1-5-21";

    for (int i = 0; i < 14; i++)
        strcat(url, "-4294967295");
    san_put(x, good_sans(gn_ia5(GEN_URI, url, -1)), 0);
}
static void m_upn_ia5(X509 *x)
{
    GENERAL_NAME *g = ms_upn_name_build("pc42$@contoso.com");
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    assert_true(ASN1_STRING_set(s, "u@contoso.com", -1));
    ASN1_TYPE_set(g->d.otherName->value, V_ASN1_IA5STRING, s);
    san_put(x, good_sans(g), 0);
}
static void m_tname_int(X509 *x)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *o = OBJ_txt2obj(OID_MS_TEMPLATE_NAME, 1);

    assert_true(ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x02\x01\x05", 3));
    ext_del(x, NID_undef, OID_MS_TEMPLATE_NAME);
    ext_put(x, X509_EXTENSION_create_by_OBJ(NULL, o, 0, os));
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
}

struct fcase {
    const char *id;
    int on;                          /* 0 EC leaf, 1 RSA leaf, 2 the CA (re-made) */
    void (*mut)(X509 *x);
};

static const struct fcase FAIL[] = {
    {"serial.positive", 0, m_serial_neg},
    {"serial.zero", 0, m_serial_zero},
    {"serial.length", 0, m_serial_long},
    {"cert.version", 0, m_version},
    {"validity.encoding", 0, m_time_gen},
    {"validity.order", 0, m_time_order},
    {"validity.issuer_end", 0, m_time_end},
    {"validity.issuer_start", 0, m_time_start},
    {"name.issuer_empty", 0, m_issuer_empty},
    {"name.issuer_match", 0, m_issuer_other},
    {"name.subject_empty", 0, m_subject_empty},
    {"san.empty", 0, m_san_empty},
    {"san.duplicate", 0, m_san_dup},
    {"san.dns_syntax", 0, m_dns_syntax},
    {"san.dns_trailing_dot", 0, m_dns_dot},
    {"san.dns_wildcard", 0, m_dns_wild},
    {"san.dns_alabel", 0, m_dns_ulabel},
    {"san.dns_alabel", 0, m_dns_rlabel},
    {"san.email_syntax", 0, m_email},
    {"san.upn_syntax", 0, m_upn},
    {"san.uri_absolute", 0, m_uri},
    {"san.ip_length", 0, m_ip},
    {"ext.duplicate", 0, m_ext_dup},
    {"ext.der", 0, m_ext_der},
    {"ext.unknown_critical", 0, m_ext_unknown},
    {"bc.ca_critical", 2, m_bc_noncrit},
    {"bc.leaf", 0, m_bc_leaf_pathlen},
    {"ku.present", 0, m_ku_absent},
    {"ku.critical", 0, m_ku_noncrit},
    {"ku.ca", 0, m_ku_certsign},
    {"ku.key_type", 0, m_ku_ec_encipher},
    {"eku.empty", 0, m_eku_empty},
    {"eku.any", 0, m_eku_any},
    {"akid.present", 0, m_akid_absent},
    {"akid.match", 0, m_akid_wrong},
    {"skid.ca", 2, m_skid_absent},
    {"cdp.http", 0, m_cdp_ldap},
    {"aia.http", 0, m_aia_ftp},
    {"ms.sid_critical", 0, m_sid_crit},
    {"ms.sid_format", 0, m_sid_bad},
    {"ms.sid_match", 0, m_sid_other},
    {"ms.sid_match", 0, m_sid_long_url},
    {"ms.upn_utf8", 0, m_upn_ia5},
    {"ms.template", 0, m_tname_int},
};
#define N_FAIL (sizeof(FAIL) / sizeof(FAIL[0]))

static void test_each_rule_fails(void **state)
{
    struct lint_report r;

    (void)state;
    for (size_t i = 0; i < N_FAIL; i++) {
        X509 *x = FAIL[i].on == 2 ? make_ca() : make_leaf(FAIL[i].on ? rsa_key : ec_key);
        struct lint_opts o;

        FAIL[i].mut(x);
        lint_opts_init(&o);
        o.issuer = FAIL[i].on == 2 ? NULL : ca_cert;
        if (!has(x, &o, FAIL[i].id, &r)) {
            print_findings(&r);
            fail_msg("case %zu: expected %s", i, FAIL[i].id);
        }
        /* the finding carries the rule's citation and severity and a problem text */
        for (size_t j = 0; j < r.n; j++)
            assert_true(r.f[j].problem[0] != '\0' && r.f[j].fix[0] != '\0');
        X509_free(x);
    }
}

/* The RSA leaf gets keyAgreement wrong the other way round. */
static void test_rsa_key_agreement(void **state)
{
    struct lint_report r;
    X509 *x = make_leaf(rsa_key);

    (void)state;
    ext_del(x, NID_key_usage, NULL);
    ext_conf(x, ca_cert, NID_key_usage, "critical,digitalSignature,keyAgreement");
    assert_true(has(x, NULL, "ku.key_type", &r));
    assert_int_equal(r.n, 1);
    assert_non_null(lint_first_error(&r));
    assert_string_equal(lint_first_error(&r)->rule->cite, "RFC 3279 2.3.1");
    X509_free(x);
}

/* Every certificate rule of the table has a failing case above. */
static void test_table_covered(void **state)
{
    (void)state;
    for (size_t i = 0; i < lint_rule_count(); i++) {
        const struct lint_rule *rule = lint_rule_at(i);
        size_t j;

        assert_non_null(rule->cite);
        assert_non_null(lint_rule_find(rule->id));
        if (rule->kind != LINT_CERT)
            continue;
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
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_each_rule_fails),
        cmocka_unit_test(test_rsa_key_agreement),
        cmocka_unit_test(test_table_covered),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
