/*
 * lint.c — the lint table (id, citation, severity, check) and the runner. The checks live in
 * lint_cert.c (certificate fields and extensions), lint_gn.c (subjectAltName entries),
 * lint_ms.c (Microsoft extensions) and lint_crl.c (TBSCertList).
 */
#include "templates/lint_int.h"
#include "templates/tmpl_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

#define E LINT_ERROR
#define W LINT_WARNING
#define N LINT_NOTICE
#define C LINT_CERT
#define R LINT_CRL

static const struct lint_rule RULES[] = {
    /* certificate: serial, version, validity, names */
    {"serial.positive", "RFC 5280 4.1.2.2", E, C, 0, 0, lc_serial_positive},
    {"serial.zero", "RFC 5280 4.1.2.2", E, C, 0, 0, lc_serial_zero},
    {"serial.length", "RFC 5280 4.1.2.2", E, C, 0, 0, lc_serial_length},
    {"cert.version", "RFC 5280 4.1.2.1", E, C, 0, 0, lc_version},
    {"validity.encoding", "RFC 5280 4.1.2.5", E, C, 0, 0, lc_time_encoding},
    {"validity.order", "RFC 5280 4.1.2.5", E, C, 0, 0, lc_time_order},
    {"validity.issuer_end", "RFC 5280 6.1.3", E, C, 1, 0, lc_time_issuer_end},
    {"validity.issuer_start", "RFC 5280 6.1.3", W, C, 1, 0, lc_time_issuer_start},
    {"name.issuer_empty", "RFC 5280 4.1.2.4", E, C, 0, 0, lc_issuer_empty},
    {"name.issuer_match", "RFC 5280 4.1.2.4", E, C, 1, 0, lc_issuer_match},
    {"name.subject_empty", "RFC 5280 4.1.2.6", E, C, 0, 0, lc_subject_empty},
    /* subjectAltName */
    {"san.empty", "RFC 5280 4.2.1.6", E, C, 0, 0, lc_san_empty},
    {"san.duplicate", "RFC 5280 4.2.1.6", E, C, 0, 0, lc_san_duplicate},
    {"san.dns_syntax", "RFC 5280 4.2.1.6", E, C, 0, 0, lc_san_dns_syntax},
    {"san.dns_trailing_dot", "CA/B BR 7.1.2.7.12", E, C, 0, 0, lc_san_dns_trailing_dot},
    {"san.dns_wildcard", "CA/B BR 7.1.2.7.12", E, C, 0, 0, lc_san_dns_wildcard},
    {"san.dns_alabel", "CA/B BR 7.1.2.7.12", E, C, 0, 0, lc_san_dns_alabel},
    {"san.email_syntax", "RFC 5280 4.2.1.6", E, C, 0, 0, lc_san_email},
    {"san.upn_syntax", "MS-WCCE", E, C, 0, 0, lc_san_upn},
    {"san.uri_absolute", "RFC 5280 4.2.1.6", E, C, 0, 0, lc_san_uri},
    {"san.ip_length", "RFC 5280 4.2.1.6", E, C, 0, 0, lc_san_ip},
    /* extensions */
    {"ext.duplicate", "RFC 5280 4.2", E, C, 0, 0, lc_ext_duplicate},
    {"ext.der", "RFC 5280 4.2", E, C, 0, 0, lc_ext_der},
    {"ext.unknown_critical", "RFC 5280 4.2", E, C, 0, 0, lc_ext_unknown_critical},
    {"bc.ca_critical", "RFC 5280 4.2.1.9", E, C, 0, 0, lc_bc_ca},
    {"bc.leaf", "RFC 5280 4.2.1.9", E, C, 0, 0, lc_bc_leaf},
    {"ku.present", "RFC 5280 4.2.1.3", E, C, 0, 0, lc_ku_present},
    {"ku.critical", "RFC 5280 4.2.1.3", E, C, 0, 0, lc_ku_critical},
    {"ku.ca", "RFC 5280 4.2.1.3", E, C, 0, 0, lc_ku_ca},
    {"ku.key_type", "RFC 3279 2.3.1", E, C, 0, 0, lc_ku_key_type},
    {"eku.empty", "RFC 5280 4.2.1.12", E, C, 0, 0, lc_eku_empty},
    {"eku.any", "CA/B BR 7.1.2.7.10", E, C, 0, 0, lc_eku_any},
    {"akid.present", "RFC 5280 4.2.1.1", E, C, 0, 0, lc_akid_present},
    {"akid.match", "RFC 5280 4.2.1.1", E, C, 1, 0, lc_akid_match},
    {"skid.ca", "RFC 5280 4.2.1.2", E, C, 0, 0, lc_skid_ca},
    {"cdp.http", "RFC 5280 4.2.1.13", E, C, 0, 0, lc_cdp_http},
    {"aia.http", "RFC 5280 4.2.2.1", E, C, 0, 0, lc_aia_http},
    /* Microsoft */
    {"ms.sid_critical", "MS-WCCE 2.2.2.7.7.4", E, C, 0, 0, lc_ms_sid_critical},
    {"ms.sid_format", "MS-WCCE 2.2.2.7.7.4", E, C, 0, 0, lc_ms_sid_format},
    {"ms.sid_match", "KB5014754", E, C, 0, 0, lc_ms_sid_match},
    {"ms.upn_utf8", "MS-WCCE", E, C, 0, 0, lc_ms_upn_utf8},
    {"ms.template", "MS-WCCE", E, C, 0, 0, lc_ms_template},
    /* CRL */
    {"crl.der", "RFC 5280 5.1", E, R, 0, 0, lr_der},
    {"crl.version", "RFC 5280 5.1.2.1", E, R, 0, 0, lr_version},
    {"crl.issuer_empty", "RFC 5280 5.1.2.3", E, R, 0, 0, lr_issuer_empty},
    {"crl.issuer_match", "RFC 5280 5.1.2.3", E, R, 1, 0, lr_issuer_match},
    {"crl.time_encoding", "RFC 5280 5.1.2.4", E, R, 0, 0, lr_time_encoding},
    {"crl.next_update", "RFC 5280 5.1.2.5", E, R, 0, 0, lr_next_update},
    {"crl.number", "RFC 5280 5.2.3", E, R, 0, 0, lr_number},
    {"crl.number_increasing", "RFC 5280 5.2.3", E, R, 0, 1, lr_number_increasing},
    {"crl.akid", "RFC 5280 5.2.1", E, R, 0, 0, lr_akid},
    {"crl.akid_match", "RFC 5280 5.2.1", E, R, 1, 0, lr_akid_match},
    {"crl.entries_unique", "RFC 5280 5.1.2.6", E, R, 0, 0, lr_entries_unique},
    {"crl.entries_sorted", "RFC 5280 5.1.2.6", N, R, 0, 0, lr_entries_sorted},
    {"crl.entry_serial", "RFC 5280 5.1.2.6", E, R, 0, 0, lr_entry_serial},
    {"crl.entry_time", "RFC 5280 5.1.2.6", E, R, 0, 0, lr_entry_time},
    {"crl.reason", "RFC 5280 5.3.1", E, R, 0, 0, lr_reason},
    {"crl.remove_from_crl", "RFC 5280 5.3.1", E, R, 0, 0, lr_remove_from_crl},
    {"crl.delta", "RFC 5280 5.2.4", E, R, 0, 0, lr_delta},
    {"crl.idp_critical", "RFC 5280 5.2.5", E, R, 0, 0, lr_idp_critical},
    {"crl.ext_duplicate", "RFC 5280 5.2", E, R, 0, 0, lr_ext_duplicate},
    {"crl.ext_unknown_critical", "RFC 5280 5.2", E, R, 0, 0, lr_ext_unknown_critical},
};
#define N_RULES (sizeof(RULES) / sizeof(RULES[0]))

size_t lint_rule_count(void)
{
    return N_RULES;
}

const struct lint_rule *lint_rule_at(size_t i)
{
    return i < N_RULES ? &RULES[i] : NULL;
}

const struct lint_rule *lint_rule_find(const char *id)
{
    for (size_t i = 0; i < N_RULES; i++)
        if (strcmp(RULES[i].id, id) == 0)
            return &RULES[i];
    return NULL;
}

const char *lint_sev_name(enum lint_sev s)
{
    return s == LINT_ERROR ? "error" : s == LINT_WARNING ? "warning" : "notice";
}

void lint_opts_init(struct lint_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->delta = -1;
    o->prev_number = -1;
}

void lint_emit(struct lint_base *b, const char *fix, const char *fmt, ...)
{
    struct lint_report *r = b->r;
    struct lint_finding *f;
    va_list ap;

    r->n_sev[b->cur->sev]++;
    if (r->n >= MAX_LINT_FINDINGS) {
        r->dropped++;
        return;
    }
    f = &r->f[r->n++];
    f->rule = b->cur;
    va_start(ap, fmt);
    vsnprintf(f->problem, sizeof(f->problem), fmt, ap);
    va_end(ap);
    snprintf(f->fix, sizeof(f->fix), "%s", fix);
}

/* Run every rule of kind k on the view (which starts with a struct lint_base). */
static void lint_run(struct lint_base *b, enum lint_kind k, int have_issuer)
{
    for (size_t i = 0; i < N_RULES; i++) {
        if (RULES[i].kind != k)
            continue;
        if (RULES[i].needs_issuer && !have_issuer) {
            b->r->skipped++;
            continue;
        }
        if (RULES[i].needs_prev && b->o->prev_number < 0)
            continue;               /* nothing to compare with: not a gap in the check */
        b->cur = &RULES[i];
        RULES[i].check(b);
    }
}

/* An empty report. Only the counters: the findings past r->n are never read, and zeroing all
 * MAX_LINT_FINDINGS of them (16 KiB) cost as much as a fifth of a certificate's lint. */
static void report_reset(struct lint_report *r)
{
    r->n = r->dropped = r->skipped = 0;
    memset(r->n_sev, 0, sizeof(r->n_sev));
}

/* Start a run: an empty report, the options (the defaults, in *none, when o is NULL), and the
 * view's base pointing at both. The view itself is zeroed by the caller. */
static void lint_begin(struct lint_base *b, struct lint_report *r, const struct lint_opts *o,
                       struct lint_opts *none)
{
    report_reset(r);
    if (o == NULL) {
        lint_opts_init(none);
        o = none;
    }
    b->r = r;
    b->o = o;
}

/* Build the certificate view (lint_cert.c), run, free. */
int lint_cert_view_build(struct lint_cert_view *v, X509 *x);
void lint_cert_view_clear(struct lint_cert_view *v);

int lint_cert(X509 *x, const struct lint_opts *o, struct lint_report *r)
{
    struct lint_cert_view v;
    struct lint_opts none;

    memset(&v, 0, sizeof(v));
    lint_begin(&v.b, r, o, &none);
    ERR_set_mark();                 /* decoding hostile values queues errors: not ours to keep */
    if (!lint_cert_view_build(&v, x)) {
        lint_cert_view_clear(&v);
        ERR_pop_to_mark();
        tmpl_seterr(TE_SYSTEM, "lint: memory: cannot decode the certificate's extensions; free "
                    "memory");
        return 0;
    }
    lint_run(&v.b, LINT_CERT, v.issuer != NULL);
    lint_cert_view_clear(&v);
    ERR_pop_to_mark();
    return 1;
}

int lint_crl_tbs(const unsigned char *tbs, size_t len, const struct lint_opts *o,
                 struct lint_report *r)
{
    struct lint_crl_view v;
    struct lint_opts none;

    memset(&v, 0, sizeof(v));
    lint_begin(&v.b, r, o, &none);
    ERR_set_mark();
    if (!lint_crl_view_build(&v, tbs, len)) {
        lint_crl_view_clear(&v);
        ERR_pop_to_mark();
        tmpl_seterr(TE_SYSTEM, "lint: memory: cannot decode the CRL; free memory");
        return 0;
    }
    if (!v.parsed) {
        v.b.cur = lint_rule_find("crl.der");
        lint_emit(&v.b, "rebuild the CRL with a conforming encoder", "TBSCertList: %s",
                  v.der_problem);
    } else {
        lint_run(&v.b, LINT_CRL, v.b.o->issuer != NULL);
    }
    lint_crl_view_clear(&v);
    ERR_pop_to_mark();
    return 1;
}

const struct lint_finding *lint_first_error(const struct lint_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].rule->sev == LINT_ERROR)
            return &r->f[i];
    return NULL;
}

/* ---- helpers shared by the checks ------------------------------------------------------- */

const char *lint_time_problem(const ASN1_TIME *t)
{
    struct tm tm;
    int year;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return "not a valid Time";
    year = tm.tm_year + 1900;
    if (t->type == V_ASN1_UTCTIME) {
        if (t->length != 13 || t->data[12] != 'Z')
            return "UTCTime not in the form YYMMDDHHMMSSZ";
        if (year >= 2050)
            return "UTCTime used for a date from 2050 on";
        return NULL;
    }
    if (t->type != V_ASN1_GENERALIZEDTIME)
        return "neither UTCTime nor GeneralizedTime";
    if (t->length != 15 || t->data[14] != 'Z')
        return "GeneralizedTime not in the form YYYYMMDDHHMMSSZ";
    if (year < 2050)
        return "GeneralizedTime used for a date before 2050 (UTCTime is required)";
    return NULL;
}

int lint_time_cmp(const ASN1_TIME *a, const ASN1_TIME *b)
{
    int day = 0, sec = 0;

    if (a == NULL || b == NULL || !ASN1_TIME_diff(&day, &sec, a, b))
        return -2;
    if (day == 0 && sec == 0)
        return 0;
    return (day > 0 || sec > 0) ? -1 : 1;    /* b later than a: a < b */
}

static int uri_scheme_len(const unsigned char *s, size_t n)
{
    size_t i;

    if (n == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
        return 0;
    for (i = 1; i < n && s[i] != ':'; i++)
        if (!(((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '+' || s[i] == '-' || s[i] == '.'))
            return 0;
    return i < n ? (int)i : 0;
}

const char *lint_uri_problem(const ASN1_IA5STRING *s, int http)
{
    const unsigned char *d = s ? s->data : NULL;
    size_t n = s ? (size_t)s->length : 0, i;
    int sl;

    if (n == 0)
        return "empty URI";
    for (i = 0; i < n; i++)
        if (d[i] <= 0x20 || d[i] >= 0x7f)
            return "whitespace, control or non-ASCII characters in the URI";
    if ((sl = uri_scheme_len(d, n)) == 0)
        return "not an absolute URI (RFC 3986 4.3: scheme \":\" ...)";
    if (!http)
        return NULL;
    if (sl != 4 || strncmp((const char *)d, "http", 4) != 0 || n < 8 ||
        memcmp(d + 4, "://", 3) != 0)
        return "not an http:// URL";
    if (n == 7 || d[7] == '/' || d[7] == ':' || d[7] == '?' || d[7] == '#')
        return "http URL without a host";
    if (memchr(d, '#', n) != NULL)
        return "http URL with a fragment";
    return NULL;
}
