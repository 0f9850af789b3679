/*
 * test_policy.c — tmpl_check, table-driven: software keys are generated once; each case builds an
 * X509_REQ in memory (subject, SAN with dns/upn/uri/SID URL, SID extension, EKU request, unknown
 * critical extension), fills struct tmpl_request and asserts either the plan (extension order,
 * criticality, KU bits, EKU set, SAN contents, SID extension DER equal to sid_ext_build) or the
 * refusal (exit class and message fragment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "templates/template.h"

#define SID_A   "S-1-5-21-1004336348-1177238915-682003330-1105"
#define SID_B   "S-1-5-21-1004336348-1177238915-682003330-2001"
#define URL_A   "uri:" SID_URL_PREFIX SID_A
#define URL_B   "uri:" SID_URL_PREFIX SID_B
#define CLIENT  "1.3.6.1.5.5.7.3.2"
#define SERVER  "1.3.6.1.5.5.7.3.1"
#define EMAILP  "1.3.6.1.5.5.7.3.4"
#define SCLOGON "1.3.6.1.4.1.311.20.2.2"
#define DS      0x1u                /* keyUsage bits as numbered in RFC 5280 */
#define KE      0x4u
#define KA      0x10u
#define LONG_CN "CN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */
#define E16     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" \
                "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" /* 16 x e-acute */
#define LABEL64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

enum key { RSA2048 = 0, RSA1024, RSA4096, P256, P384, P521, ED25519, N_KEYS };
static EVP_PKEY *keys[N_KEYS];
static struct tmpl_set *shipped, *good;

struct pcase {
    const char *name;
    const char *tmpl;               /* shipped name, or "web" from tests/data/good/templates */
    enum key key;
    const char *subject;            /* "CN=x,O=y" (test syntax: no commas in values) */
    const char *csr_san;            /* "dns:a|upn:b|uri:c|ip:d|email:e|dirname" */
    const char *csr_sid_ext;        /* SID for a requested SID extension */
    const char *csr_eku;            /* "oid,oid" */
    int unknown_ext;                /* 1: non-critical 1.2.3.4 requested; 2: critical */
    const char *override;           /* --subject */
    const char *op_sans;            /* --san values, "dns:a|ip:b" */
    const char *op_sid;             /* --sid */
    int days;
    int dir;                        /* fake directory: matches (0, 1 -> SID_A, 2); -1 no lookup;
                                     * 3: pc1 -> SID_A, other names -> SID_B; 4: only pc1 -> SID_A */
    /* expectations: code 0 = accepted */
    int code;
    const char *frag;
    const char *want_eku;           /* exact, in order; "" = no EKU extension */
    const char *want_san;           /* exact, in order; "" = no SAN extension */
    const char *want_sid;           /* SID extension carrying it, NULL = none */
    unsigned want_ku;
    int want_days;
    int want_san_critical;
    const char *want_looked_up;     /* "upn:alice@contoso.com" the directory was asked for */
};

#define DEV "intune-device"
#define MAN "intune-device-manual"
#define USR "intune-user"
#define AP  "autopilot-provisioning"
#define VPN "vpn-server"
#define WIFI "wifi-server"
#define SC  "smartcard-logon"
#define PC  "CN=pc1"
#define PCD "dns:pc1.contoso.com"
#define AL  "CN=alice"
#define ALU "upn:alice@contoso.com"

static const struct pcase cases[] = {
    /* intune-device: keys */
    { "device rsa2048", DEV, RSA2048, PC, PCD, .dir = 1, .want_eku = CLIENT, .want_san = PCD,
      .want_sid = SID_A, .want_ku = DS | KE, .want_days = 365, .want_looked_up = PCD },
    { "device p256 drops keyEncipherment", DEV, P256, PC, PCD, .dir = 1, .want_eku = CLIENT,
      .want_san = PCD, .want_sid = SID_A, .want_ku = DS, .want_days = 365 },
    { "device p384", DEV, P384, PC, PCD, .dir = 1, .want_eku = CLIENT, .want_san = PCD,
      .want_sid = SID_A, .want_ku = DS, .want_days = 365 },
    { "device rsa4096", DEV, RSA4096, PC, PCD, .dir = 1, .want_eku = CLIENT, .want_san = PCD,
      .want_sid = SID_A, .want_ku = DS | KE, .want_days = 365 },
    { "rsa1024 refused", DEV, RSA1024, PC, PCD, .dir = 1, .code = 1,
      .frag = "req.csr: template intune-device: key: RSA key of 1024 bits is below the minimum; "
              "request a new key (allowed: RSA 2048..4096 bits or EC P-256, P-384)" },
    { "p521 refused", DEV, P521, PC, PCD, .dir = 1, .code = 1,
      .frag = "key: EC key on curve secp521r1 is not allowed; request a new key" },
    { "ed25519 refused", DEV, ED25519, PC, PCD, .dir = 1, .code = 1,
      .frag = "key: ED25519 key is not allowed; request a new key" },
    { "rsa refused by ec-only template", "web", RSA2048, "CN=www.contoso.com", "dns:www.contoso.com",
      .code = 1, .frag = "RSA key of 2048 bits is not allowed" },
    /* validity */
    { "days at max", DEV, RSA2048, PC, PCD, .dir = 1, .days = 730, .want_eku = CLIENT,
      .want_san = PCD, .want_sid = SID_A, .want_ku = DS | KE, .want_days = 730 },
    { "days above max", DEV, RSA2048, PC, PCD, .dir = 1, .days = 731, .code = 1,
      .frag = "validity: 731 days is above the maximum 730; use --days between 5 and 730" },
    { "days below min", DEV, RSA2048, PC, PCD, .dir = 1, .days = 4, .code = 1,
      .frag = "4 days is below the minimum 5" },
    /* directory SID */
    { "directory no match", DEV, RSA2048, PC, PCD, .dir = 0, .code = 1,
      .frag = "sid: no directory entry for dns:pc1.contoso.com; run 'offca directory import "
              "FILE.csv'" },
    { "directory ambiguous", DEV, RSA2048, PC, PCD, .dir = 2, .code = 1,
      .frag = "2 directory entries match dns:pc1.contoso.com, the SID is ambiguous" },
    { "directory: SANs of two principals", DEV, RSA2048, PC, PCD "|dns:pc2.contoso.com", .dir = 3,
      .code = 1, .frag = "sid: dns:pc1.contoso.com and dns:pc2.contoso.com name different "
      "directory entries (" SID_A ", " SID_B "), the SID is ambiguous" },
    { "directory: second principal first", DEV, RSA2048, PC, "dns:pc2.contoso.com|" PCD, .dir = 3,
      .code = 1, .frag = "dns:pc2.contoso.com and dns:pc1.contoso.com name different" },
    { "directory: alias not in the directory", DEV, RSA2048, PC, "dns:www.contoso.com|" PCD,
      .dir = 4, .want_eku = CLIENT, .want_san = "dns:www.contoso.com|" PCD, .want_sid = SID_A,
      .want_ku = DS | KE, .want_days = 365 },
    { "--sid with directory template", DEV, RSA2048, PC, PCD, .op_sid = SID_A, .dir = 1, .code = 2,
      .frag = "--sid is not accepted: this template takes the SID from the directory" },
    { "csr SID ext agrees with directory", DEV, RSA2048, PC, PCD, SID_A, .dir = 1,
      .want_eku = CLIENT, .want_san = PCD, .want_sid = SID_A, .want_ku = DS | KE,
      .want_days = 365 },
    { "csr SID ext disagrees with directory", DEV, RSA2048, PC, PCD, SID_B, .dir = 1, .code = 1,
      .frag = "the request carries SID " SID_B " but the directory" },
    /* SAN rules */
    { "dns SAN missing", DEV, RSA2048, PC, NULL, .dir = 1, .code = 1,
      .frag = "san: a dns name is required and none was given" },
    { "upn not allowed on device", DEV, RSA2048, PC, PCD "|" ALU, .dir = 1, .code = 1,
      .frag = "san: upn:alice@contoso.com: upn names are not allowed by this template" },
    { "op and csr SAN deduplicated", DEV, RSA2048, PC, PCD, .op_sans = PCD "|dns:pc1",
      .dir = 1, .want_eku = CLIENT, .want_san = PCD "|dns:pc1", .want_sid = SID_A,
      .want_ku = DS | KE, .want_days = 365 },
    { "DNS SAN differing only in case deduplicated", DEV, RSA2048, PC, PCD,
      .op_sans = "dns:PC1.Contoso.COM", .dir = 1, .want_eku = CLIENT,
      .want_san = "dns:PC1.Contoso.COM", .want_sid = SID_A, .want_ku = DS | KE, .want_days = 365 },
    { "UPN SAN differing only in case deduplicated", USR, RSA2048, AL, ALU,
      .op_sans = "upn:Alice@Contoso.com", .dir = 1, .want_eku = CLIENT,
      .want_san = "upn:Alice@Contoso.com|uri:tag:microsoft.com,2022-09-14:sid:" SID_A,
      .want_sid = SID_A, .want_ku = DS | KE, .want_days = 365 },
    { "too many SANs", DEV, RSA2048, PC, "dns:a.contoso.com|dns:b.contoso.com|dns:c.contoso.com|"
      "dns:d.contoso.com|dns:e.contoso.com", .dir = 1, .code = 1,
      .frag = "san: more than 4 names; request at most 4" },
    { "bad dns character", DEV, RSA2048, PC, "dns:bad_name.contoso.com", .dir = 1, .code = 1,
      .frag = "has a character outside letters, digits" },
    { "dns label over 63", DEV, RSA2048, PC, "dns:" LABEL64 ".contoso.com", .dir = 1, .code = 1,
      .frag = "label longer than 63" },
    { "wildcard not allowed", DEV, RSA2048, PC, "dns:*.contoso.com", .dir = 1, .code = 1,
      .frag = "is a wildcard, which this template does not allow" },
    { "unknown GeneralName type refused", DEV, RSA2048, PC, PCD "|dirname", .dir = 1, .code = 1,
      .frag = "GeneralName tag 4" },
    /* subject rules */
    { "CN required", DEV, RSA2048, "O=Contoso", PCD, .dir = 1, .code = 1,
      .frag = "subject: required attribute CN is missing" },
    { "attribute not allowed", DEV, RSA2048, "CN=pc1,L=Paris", PCD, .dir = 1, .code = 1,
      .frag = "subject: attribute L is not allowed (allowed: CN, O, OU, C, DC)" },
    { "CN too long", DEV, RSA2048, LONG_CN, PCD, .dir = 1, .code = 1,
      .frag = "CN has 65 characters, more than the maximum 64" },
    { "CN pattern", DEV, RSA2048, "CN=pc 1", PCD, .dir = 1, .code = 1,
      .frag = "CN 'pc 1' does not match the pattern ^[A-Za-z0-9.-]+$" },
    { "control character", VPN, RSA2048, "CN=vpn\x01", "dns:vpn.contoso.com", .code = 1,
      .frag = "CN contains a control character or NUL (byte 0x01)" },
    { "length counts UTF-8 characters", VPN, RSA2048, "CN=" E16 E16 E16 E16, "dns:vpn.contoso.com",
      .dir = -1, .want_eku = SERVER, .want_san = "dns:vpn.contoso.com", .want_ku = DS | KE,
      .want_days = 365 },
    { "65 UTF-8 characters refused", VPN, RSA2048, "CN=" E16 E16 E16 E16 "x",
      "dns:vpn.contoso.com", .dir = -1, .code = 1, .frag = "CN has 65 characters" },
    { "override refused", DEV, RSA2048, PC, PCD, .override = "CN=other", .dir = 1, .code = 1,
      .frag = "--subject may not replace the request's subject" },
    { "empty subject refused", DEV, RSA2048, NULL, PCD, .dir = 1, .code = 1,
      .frag = "required attribute CN is missing" },
    /* requested extensions */
    { "unknown critical extension", DEV, RSA2048, PC, PCD, .unknown_ext = 2, .dir = 1, .code = 1,
      .frag = "extensions: the request marks extension 1.2.3.4 critical" },
    { "unknown non-critical extension ignored", DEV, RSA2048, PC, PCD, .unknown_ext = 1,
      .dir = 1, .want_eku = CLIENT, .want_san = PCD, .want_sid = SID_A, .want_ku = DS | KE,
      .want_days = 365 },
    { "EKU outside template", DEV, RSA2048, PC, PCD, .csr_eku = SERVER, .dir = 1, .code = 1,
      .frag = "eku: the request asks for EKU 1.3.6.1.5.5.7.3.1, which the template does not" },
    { "EKU inside template", DEV, RSA2048, PC, PCD, .csr_eku = CLIENT, .dir = 1,
      .want_eku = CLIENT, .want_san = PCD, .want_sid = SID_A, .want_ku = DS | KE,
      .want_days = 365 },
    /* operator SID */
    { "operator SID", MAN, RSA2048, PC, PCD, .op_sid = SID_B, .dir = -1, .want_eku = CLIENT,
      .want_san = PCD, .want_sid = SID_B, .want_ku = DS | KE, .want_days = 365 },
    { "operator SID missing", MAN, RSA2048, PC, PCD, .dir = -1, .code = 1,
      .frag = "a SID is required and none came from the operator (--sid); add --sid" },
    { "well-known SID refused", MAN, RSA2048, PC, PCD, .op_sid = "S-1-5-18", .dir = -1,
      .code = 1, .frag = "S-1-5-18 is not a domain account SID" },
    { "malformed SID", MAN, RSA2048, PC, PCD, .op_sid = "S-1-5-21-1-", .dir = -1, .code = 1,
      .frag = "req.csr: template intune-device-manual: sid: " },
    /* intune-user: UPN lookup, sid_form both, optional EKU */
    { "user", USR, RSA2048, AL, ALU, .dir = 1, .want_eku = CLIENT, .want_san = ALU "|" URL_A,
      .want_sid = SID_A, .want_ku = DS | KE, .want_days = 365, .want_looked_up = ALU },
    { "user optional EKU requested", USR, RSA2048, AL, ALU, .csr_eku = EMAILP "," CLIENT,
      .dir = 1, .want_eku = CLIENT "," EMAILP, .want_san = ALU "|" URL_A, .want_sid = SID_A,
      .want_ku = DS | KE, .want_days = 365 },
    { "user SID URL in CSR re-emitted once", USR, RSA2048, AL, ALU "|" URL_A, .dir = 1,
      .want_eku = CLIENT, .want_san = ALU "|" URL_A, .want_sid = SID_A, .want_ku = DS | KE,
      .want_days = 365 },
    { "user SID ext and URL disagree", USR, RSA2048, AL, ALU "|" URL_B, SID_A, .dir = 1,
      .code = 1, .frag = "the request's SID extension says " SID_A " but its SAN URL says " SID_B },
    { "upn without @", USR, RSA2048, AL, ALU, .op_sans = "upn:alice", .dir = 1, .code = 1,
      .frag = "upn:alice must be local@domain" },
    { "user without upn", USR, RSA2048, AL, "email:alice@contoso.com", .dir = 1, .code = 1,
      .frag = "a upn name is required" },
    /* autopilot: SID forbidden */
    { "autopilot", AP, RSA2048, PC, PCD, .dir = -1, .want_eku = CLIENT, .want_san = PCD,
      .want_ku = DS | KE, .want_days = 5 },
    { "autopilot days above 5", AP, RSA2048, PC, PCD, .days = 6, .dir = -1, .code = 1,
      .frag = "above the maximum 5" },
    { "forbidden SID ext in CSR", AP, RSA2048, PC, PCD, SID_A, .dir = -1, .code = 1,
      .frag = "the request carries SID " SID_A " but this template forbids a SID" },
    { "forbidden SID URL in CSR", AP, RSA2048, PC, PCD "|" URL_A, .dir = -1, .code = 1,
      .frag = "this template forbids a SID" },
    { "forbidden --sid", AP, RSA2048, PC, PCD, .op_sid = SID_A, .dir = -1, .code = 1,
      .frag = "--sid is not accepted: this template forbids a SID" },
    /* servers */
    { "vpn override and ip", VPN, RSA2048, "CN=ignored", NULL, .override = "CN=vpn.contoso.com",
      .op_sans = "dns:vpn.contoso.com|ip:192.0.2.1|ip:2001:db8::1", .dir = -1,
      .want_eku = SERVER, .want_san = "dns:vpn.contoso.com|ip:192.0.2.1|ip:2001:db8::1",
      .want_ku = DS | KE, .want_days = 365 },
    { "vpn bad ip", VPN, RSA2048, "CN=vpn", "dns:vpn.contoso.com|ip:10.0.0.1", .dir = -1,
      .op_sans = "ip:10.0.0.256", .code = 1, .frag = "ip:10.0.0.256 is not an IPv4 or IPv6" },
    { "wifi refuses ip", WIFI, RSA2048, "CN=nps", "dns:nps.contoso.com|ip:10.0.0.1", .dir = -1,
      .code = 1, .frag = "ip names are not allowed by this template" },
    /* smartcard: two EKUs, application policies, template name */
    { "smartcard", SC, RSA2048, AL, ALU, .dir = 1, .want_eku = CLIENT "," SCLOGON,
      .want_san = ALU, .want_sid = SID_A, .want_ku = DS | KE, .want_days = 365 },
    /* web (tests/data/good/templates): empty subject, wildcards, suffixes, request SID */
    { "empty subject makes SAN critical", "web", P256, NULL, "dns:www.contoso.com",
      .want_eku = SERVER ",1.3.6.1.4.1.99999.1", .want_san = "dns:www.contoso.com",
      .want_ku = DS | KA, .want_days = 90, .want_san_critical = 1 },
    { "empty subject and no SAN", "web", P256, NULL, NULL, .code = 1,
      .frag = "the subject is empty and there is no SAN" },
    { "wildcard allowed", "web", P256, "CN=www", "dns:*.contoso.com", .want_eku = SERVER
      ",1.3.6.1.4.1.99999.1", .want_san = "dns:*.contoso.com", .want_ku = DS | KA,
      .want_days = 90 },
    { "wildcard over TLD", "web", P256, "CN=www", "dns:*.com", .code = 1,
      .frag = "is a wildcard over a top-level domain" },
    { "wildcard not leftmost", "web", P256, "CN=www", "dns:a.*.contoso.com", .code = 1,
      .frag = "has '*' outside a whole leftmost label" },
    { "suffix refused", "web", P256, "CN=www", "dns:www.notcontoso.com", .code = 1,
      .frag = "dns:www.notcontoso.com is outside the template's dns_suffixes" },
    { "suffix refused after wildcard", "web", P256, "CN=www", "dns:*.contoso.com.evil.net",
      .code = 1, .frag = "outside the template's dns_suffixes" },
    { "uri without scheme", "web", P256, "CN=www", "dns:www.contoso.net|uri:www.contoso.net",
      .code = 1, .frag = "uri:www.contoso.net has no scheme" },
    { "email with space", "web", P256, "CN=www", "dns:www.contoso.net|email:a b@contoso.net",
      .code = 1, .frag = "contains spaces, control or non-ASCII characters" },
    { "op SID URL refused", "web", P256, "CN=www", "dns:www.contoso.net", .op_sans = URL_A,
      .code = 1, .frag = "is a SID URL, which offca emits itself from the SID; give the SID "
      "with --sid instead" },
    { "request SID as SAN URL only", "web", P256, "CN=www", "dns:www.contoso.net|uri:https://"
      "www.contoso.net/|email:web@contoso.net|" URL_A, .want_eku = SERVER ",1.3.6.1.4.1.99999.1",
      .want_san = "dns:www.contoso.net|uri:https://www.contoso.net/|email:web@contoso.net|" URL_A,
      .want_ku = DS | KA, .want_days = 90 },
    { "request SID optional and absent", "web", P256, "CN=www", "dns:www.contoso.net",
      .want_eku = SERVER ",1.3.6.1.4.1.99999.1", .want_san = "dns:www.contoso.net",
      .want_ku = DS | KA, .want_days = 90 },
    { "--sid with request template", "web", P256, "CN=www", "dns:www.contoso.net",
      .op_sid = SID_A, .code = 2, .frag = "this template takes the SID from the request" },
    { "request SID must be a domain SID", "web", P256, "CN=www", "dns:www.contoso.net|"
      "uri:" SID_URL_PREFIX "S-1-5-32-544", .code = 1, .frag = "S-1-5-32-544 is not a domain" },
};

/* ---- building requests ---------------------------------------------------------------------- */

static X509_NAME *name_from(const char *spec)
{
    X509_NAME *n = X509_NAME_new();
    char buf[256], *save = NULL, *tok;

    assert_non_null(n);
    if (spec == NULL)
        return n;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');

        assert_non_null(eq);
        *eq = '\0';
        /* a plain UTF8String: MBSTRING_* would apply OpenSSL's ub-* limits before policy does */
        assert_true(X509_NAME_add_entry_by_txt(n, tok, V_ASN1_UTF8STRING,
                                               (unsigned char *)eq + 1, -1, -1, 0));
    }
    return n;
}

static enum san_type type_of(const char *s, const char **value)
{
    static const char *const pfx[] = { "dns:", "upn:", "email:", "uri:", "ip:" };

    for (int i = 0; i < SAN_TYPE_COUNT; i++)
        if (strncmp(s, pfx[i], strlen(pfx[i])) == 0) {
            *value = s + strlen(pfx[i]);
            return (enum san_type)i;
        }
    fail_msg("bad SAN spec %s", s);
    return SAN_DNS;
}

static GENERAL_NAME *gn_from(const char *spec)
{
    static const int gen[] = { GEN_DNS, 0, GEN_EMAIL, GEN_URI, GEN_IPADD };
    GENERAL_NAME *gn;
    const char *v;
    enum san_type t;

    if (strcmp(spec, "dirname") == 0) {
        gn = GENERAL_NAME_new();
        assert_non_null(gn);
        GENERAL_NAME_set0_value(gn, GEN_DIRNAME, name_from("CN=x"));
        return gn;
    }
    t = type_of(spec, &v);
    gn = t == SAN_UPN ? ms_upn_name_build(v) : a2i_GENERAL_NAME(NULL, NULL, NULL, gen[t], v, 0);
    assert_non_null(gn);
    return gn;
}

static void add_ext(STACK_OF(X509_EXTENSION) *sk, X509_EXTENSION *e)
{
    assert_non_null(e);
    assert_true(sk_X509_EXTENSION_push(sk, e) > 0);
}

static STACK_OF(X509_EXTENSION) *csr_exts_of(const struct pcase *c)
{
    STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
    char buf[1024], *save = NULL, *tok;

    assert_non_null(sk);
    if (c->csr_san != NULL) {
        GENERAL_NAMES *g = sk_GENERAL_NAME_new_null();

        snprintf(buf, sizeof(buf), "%s", c->csr_san);
        for (tok = strtok_r(buf, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save))
            assert_true(sk_GENERAL_NAME_push(g, gn_from(tok)) > 0);
        add_ext(sk, X509V3_EXT_i2d(NID_subject_alt_name, 0, g));
        GENERAL_NAMES_free(g);
    }
    if (c->csr_sid_ext != NULL)
        add_ext(sk, sid_ext_build(c->csr_sid_ext));
    if (c->csr_eku != NULL) {
        EXTENDED_KEY_USAGE *e = sk_ASN1_OBJECT_new_null();

        snprintf(buf, sizeof(buf), "%s", c->csr_eku);
        for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
            assert_true(sk_ASN1_OBJECT_push(e, OBJ_txt2obj(tok, 1)) > 0);
        add_ext(sk, X509V3_EXT_i2d(NID_ext_key_usage, 0, e));
        sk_ASN1_OBJECT_pop_free(e, ASN1_OBJECT_free);
    }
    if (c->unknown_ext) {
        ASN1_OBJECT *o = OBJ_txt2obj("1.2.3.4", 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();

        assert_true(ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2));
        add_ext(sk, X509_EXTENSION_create_by_OBJ(NULL, o, c->unknown_ext == 2, v));
        ASN1_OBJECT_free(o);
        ASN1_OCTET_STRING_free(v);
    }
    return sk;
}

/* The X509_REQ a requester would send, then read back as ca/issue/csr.c would. */
static X509_REQ *req_of(const struct pcase *c)
{
    X509_REQ *r = X509_REQ_new();
    X509_NAME *n = name_from(c->subject);
    STACK_OF(X509_EXTENSION) *sk = csr_exts_of(c);

    assert_non_null(r);
    assert_true(X509_REQ_set_subject_name(r, n));
    assert_true(X509_REQ_set_pubkey(r, keys[c->key]));
    if (sk_X509_EXTENSION_num(sk) > 0)
        assert_true(X509_REQ_add_extensions(r, sk));
    X509_NAME_free(n);
    sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
    return r;
}

struct fake_dir {
    int matches;
    char asked[300];
};

static int fake_lookup(void *arg, enum san_type type, const char *name, char *sid, size_t sidlen)
{
    struct fake_dir *d = arg;

    snprintf(d->asked, sizeof(d->asked), "%s:%s", san_type_name(type), name);
    if (d->matches >= 3) {
        int pc1 = strcmp(name, "pc1.contoso.com") == 0;
        snprintf(sid, sidlen, "%s", pc1 ? SID_A : SID_B);
        return pc1 || d->matches == 3;
    }
    if (d->matches == 1)
        snprintf(sid, sidlen, "%s", SID_A);
    return d->matches;
}

/* ---- checking plans ------------------------------------------------------------------------- */

static X509_EXTENSION *ext_by_oid(const struct tmpl_plan *p, const char *oid, int *idx)
{
    char buf[80];

    for (int i = 0; i < sk_X509_EXTENSION_num(p->exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(p->exts, i);

        OBJ_obj2txt(buf, sizeof(buf), X509_EXTENSION_get_object(e), 1);
        if (strcmp(buf, oid) == 0) {
            *idx = i;
            return e;
        }
    }
    *idx = -1;
    return NULL;
}

static void san_text(X509_EXTENSION *e, char *out, size_t outlen)
{
    GENERAL_NAMES *g = X509V3_EXT_d2i(e);
    size_t off = 0;

    assert_non_null(g);
    out[0] = '\0';
    for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
        char v[300];
        const char *t = "?";

        if (gn->type == GEN_DNS || gn->type == GEN_EMAIL || gn->type == GEN_URI) {
            ASN1_IA5STRING *s = gn->d.ia5;

            snprintf(v, sizeof(v), "%.*s", ASN1_STRING_length(s),
                     (const char *)ASN1_STRING_get0_data(s));
            t = gn->type == GEN_DNS ? "dns" : gn->type == GEN_EMAIL ? "email" : "uri";
        } else if (gn->type == GEN_IPADD) {
            int n = ASN1_STRING_length(gn->d.iPAddress);

            assert_non_null(inet_ntop(n == 4 ? AF_INET : AF_INET6,
                                      ASN1_STRING_get0_data(gn->d.iPAddress), v, sizeof(v)));
            t = "ip";
        } else {
            assert_int_equal(ms_upn_name_parse(gn, v, sizeof(v)), 1);
            t = "upn";
        }
        off += (size_t)snprintf(out + off, outlen - off, "%s%s:%s", i ? "|" : "", t, v);
    }
    GENERAL_NAMES_free(g);
}

static void eku_text(X509_EXTENSION *e, char *out, size_t outlen)
{
    EXTENDED_KEY_USAGE *k = X509V3_EXT_d2i(e);
    size_t off = 0;
    char v[80];

    assert_non_null(k);
    out[0] = '\0';
    for (int i = 0; i < sk_ASN1_OBJECT_num(k); i++) {
        OBJ_obj2txt(v, sizeof(v), sk_ASN1_OBJECT_value(k, i), 1);
        off += (size_t)snprintf(out + off, outlen - off, "%s%s", i ? "," : "", v);
    }
    EXTENDED_KEY_USAGE_free(k);
}

static int der_equal(X509_EXTENSION *a, X509_EXTENSION *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = i2d_X509_EXTENSION(a, &da), lb = i2d_X509_EXTENSION(b, &db);
    int eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

    OPENSSL_free(da);
    OPENSSL_free(db);
    return eq;
}

static void check_plan(const struct pcase *c, const struct tmpl_plan *p)
{
    X509_EXTENSION *e, *want;
    ASN1_BIT_STRING *ku;
    char buf[1024];
    int idx, last = -1;
    unsigned bits = 0;

    assert_int_equal(p->days, c->want_days);
    assert_string_equal(p->template_name, c->tmpl);
    /* basicConstraints first, critical, CA:FALSE */
    e = ext_by_oid(p, "2.5.29.19", &idx);
    assert_int_equal(idx, 0);
    assert_true(X509_EXTENSION_get_critical(e));
    /* keyUsage: critical, exact bits */
    e = ext_by_oid(p, "2.5.29.15", &idx);
    assert_int_equal(idx, 1);
    assert_true(X509_EXTENSION_get_critical(e));
    ku = X509V3_EXT_d2i(e);
    for (int i = 0; i < 9; i++)
        bits |= (unsigned)ASN1_BIT_STRING_get_bit(ku, i) << i;
    ASN1_BIT_STRING_free(ku);
    assert_int_equal(bits, c->want_ku);
    /* EKU, non-critical, exact list */
    e = ext_by_oid(p, "2.5.29.37", &idx);
    if (c->want_eku[0] == '\0') {
        assert_null(e);
    } else {
        assert_non_null(e);
        assert_false(X509_EXTENSION_get_critical(e));
        eku_text(e, buf, sizeof(buf));
        assert_string_equal(buf, c->want_eku);
        last = idx;
    }
    /* SAN contents and criticality */
    e = ext_by_oid(p, "2.5.29.17", &idx);
    assert_non_null(e);
    assert_true(idx > last);
    last = idx;
    assert_int_equal(X509_EXTENSION_get_critical(e), c->want_san_critical);
    san_text(e, buf, sizeof(buf));
    assert_string_equal(buf, c->want_san);
    assert_true(p->n_sans >= 1);
    /* SID extension: DER equal to sid_ext_build */
    e = ext_by_oid(p, OID_NTDS_CA_SECURITY_EXT, &idx);
    if (c->want_sid == NULL) {
        assert_null(e);
    } else {
        assert_non_null(e);
        assert_true(idx > last);
        want = sid_ext_build(c->want_sid);
        assert_true(der_equal(e, want));
        X509_EXTENSION_free(want);
        assert_non_null(p->sid);
        assert_string_equal(p->sid, c->want_sid);
    }
}

static void run_case(const struct pcase *c)
{
    const struct tmpl *t = tmpl_set_find(strcmp(c->tmpl, "web") == 0 ? good : shipped, c->tmpl);
    X509_REQ *r = req_of(c);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(r);
    X509_NAME *ovr = c->override != NULL ? name_from(c->override) : NULL;
    struct san ops[8];
    size_t n_ops = 0;
    char buf[512], *save = NULL, *tok;
    struct fake_dir dir = { c->dir, "" };
    struct tmpl_request req = { "req.csr", X509_REQ_get_subject_name(r), keys[c->key], exts, ovr,
                                ops, 0, c->op_sid, c->days, c->dir >= 0 ? fake_lookup : NULL,
                                &dir };
    struct tmpl_plan *p;

    assert_non_null(t);
    if (c->op_sans != NULL) {
        snprintf(buf, sizeof(buf), "%s", c->op_sans);
        for (tok = strtok_r(buf, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save)) {
            const char *v;

            ops[n_ops].type = type_of(tok, &v);
            ops[n_ops++].value = (char *)v;
        }
    }
    req.n_op_sans = n_ops;
    p = tmpl_check(t, &req);
    if (c->code == 0 && p == NULL)
        fail_msg("%s: refused: %s", c->name, tmpl_error());
    if (c->code != 0) {
        if (p != NULL)
            fail_msg("%s: accepted, wanted a refusal with '%s'", c->name, c->frag);
        if (tmpl_error_code() != c->code || strstr(tmpl_error(), c->frag) == NULL)
            fail_msg("%s: want class %d '%s', got class %d '%s'", c->name, c->code, c->frag,
                     tmpl_error_code(), tmpl_error());
    } else {
        check_plan(c, p);
        if (c->want_looked_up != NULL)
            assert_string_equal(dir.asked, c->want_looked_up);
        if (c->override != NULL)
            assert_int_equal(X509_NAME_cmp(p->subject, ovr), 0);
        else
            assert_int_equal(X509_NAME_cmp(p->subject, X509_REQ_get_subject_name(r)), 0);
    }
    tmpl_plan_free(p);
    X509_NAME_free(ovr);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(r);
}

static void test_case(void **state)
{
    run_case(*state);
    tmpl_plan_free(NULL);
}

/* The Microsoft extensions of the "web" template and smartcard-logon, in table order and DER-equal
 * to the encoders' output. */
static void test_ms_extensions(void **state)
{
    const struct pcase *c = NULL;
    static const char *const order[] = { "2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17",
                                         OID_MS_TEMPLATE_NAME, OID_MS_TEMPLATE_INFO,
                                         OID_MS_APP_POLICIES };
    const char *oids[] = { SERVER, "1.3.6.1.4.1.99999.1" };
    X509_REQ *r;
    STACK_OF(X509_EXTENSION) *exts;
    struct tmpl_plan *p;
    X509_EXTENSION *want;
    char buf[80];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, "request SID optional and absent") == 0)
            c = &cases[i];
    assert_non_null(c);
    r = req_of(c);
    exts = X509_REQ_get_extensions(r);
    {
        struct tmpl_request req = { .source = "req.csr", .pubkey = keys[P256],
                                    .csr_subject = X509_REQ_get_subject_name(r),
                                    .csr_exts = exts };

        p = tmpl_check(tmpl_set_find(good, "web"), &req);
    }
    if (p == NULL)
        fail_msg("%s", tmpl_error());
    assert_int_equal(sk_X509_EXTENSION_num(p->exts), 7);
    for (int i = 0; i < 7; i++) {
        OBJ_obj2txt(buf, sizeof(buf), X509_EXTENSION_get_object(sk_X509_EXTENSION_value(p->exts,
                                                                                           i)), 1);
        assert_string_equal(buf, order[i]);
    }
    want = ms_template_name_build("WebServer");
    assert_true(der_equal(sk_X509_EXTENSION_value(p->exts, 4), want));
    X509_EXTENSION_free(want);
    want = ms_template_info_build("1.3.6.1.4.1.311.21.8.1.2", 100, 3);
    assert_true(der_equal(sk_X509_EXTENSION_value(p->exts, 5), want));
    X509_EXTENSION_free(want);
    want = ms_app_policies_build(oids, 2);
    assert_true(der_equal(sk_X509_EXTENSION_value(p->exts, 6), want));
    X509_EXTENSION_free(want);
    assert_null(p->sid);
    tmpl_plan_free(p);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(r);
}

static int setup(void **state)
{
    (void)state;
    keys[RSA2048] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    keys[RSA1024] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    keys[RSA4096] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    keys[P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    keys[P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    keys[P521] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    keys[ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    for (int i = 0; i < N_KEYS; i++)
        if (keys[i] == NULL)
            return -1;
    shipped = tmpl_set_load("templates/shipped");
    good = tmpl_set_load("tests/data/good/templates");
    if (shipped == NULL || good == NULL) {
        fprintf(stderr, "setup: %s\n", tmpl_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_KEYS; i++)
        EVP_PKEY_free(keys[i]);
    tmpl_set_free(shipped);
    tmpl_set_free(good);
    return 0;
}

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* One cmocka test per table row, so each case is reported (and fails) on its own. */
int main(void)
{
    struct CMUnitTest tests[N_CASES + 1];

    for (size_t i = 0; i < N_CASES; i++) {
        struct CMUnitTest u = { cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };

        tests[i] = u;
    }
    {
        struct CMUnitTest u = { "ms extensions", test_ms_extensions, NULL, NULL, NULL };

        tests[N_CASES] = u;
    }
    return _cmocka_run_group_tests("policy", tests, N_CASES + 1, setup, teardown);
}
