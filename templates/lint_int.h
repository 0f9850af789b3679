/*
 * lint_int.h — private to templates/lint*.c: what a rule sees. A certificate or a TBSCertList is
 * decoded ONCE into a view (each extension through OpenSSL's own d2i), then every rule of the
 * table reads the view and reports through lint_emit(). The runner sets view->cur to the rule
 * being run, so a check never names its own id.
 */
#ifndef OFFCA_LINT_INT_H
#define OFFCA_LINT_INT_H

#include "templates/template.h"

#include <openssl/x509v3.h>

#define MAX_LINT_EXTS 64            /* extensions looked at per object; more is a finding */

/* The part every view starts with: where findings go and which rule is running. */
struct lint_base {
    struct lint_report *r;
    const struct lint_opts *o;
    const struct lint_rule *cur;
};

/* One extension of the object, decoded once when OpenSSL knows it. */
struct lint_ext {
    X509_EXTENSION *ext;            /* borrowed from the certificate or the decoded list */
    int nid;                        /* NID_undef for the ones OpenSSL does not know */
    int critical;
    void *val;                      /* X509V3_EXT_d2i result (owned), or NULL */
    int bad;                        /* known, but the value does not decode */
};

struct lint_cert_view {
    struct lint_base b;
    X509 *x;
    X509 *issuer;                   /* o->issuer, or x when self-issued; NULL: unknown */
    int self_issued;                /* issuer name = subject name */
    int pk_nid;                     /* SubjectPublicKeyInfo algorithm */
    struct lint_ext ext[MAX_LINT_EXTS];
    int n_ext, n_ext_total;
    BASIC_CONSTRAINTS *bc;          /* borrowed from ext[] (or NULL when absent/bad) */
    ASN1_BIT_STRING *ku;
    EXTENDED_KEY_USAGE *eku;
    GENERAL_NAMES *san;
    AUTHORITY_KEYID *akid;
    ASN1_OCTET_STRING *skid;
    CRL_DIST_POINTS *cdp;
    AUTHORITY_INFO_ACCESS *aia;
    const struct lint_ext *e_bc, *e_ku, *e_san, *e_sid, *e_tname, *e_tinfo, *e_apol;
    int is_ca;                      /* basicConstraints cA TRUE */
    int sid_state;                  /* SID extension, decoded once: 0 not yet, 1 ok, 2 none, -1 bad */
    char sid[MAX_SID_CHARS + 1];
    char sid_problem[200];
};

/* What the walk over the revoked entries found (first offender of each kind, 1-based). */
struct lint_crl_entries {
    uint64_t count;
    uint64_t bad_frame, bad_serial, unsorted, dup, bad_time, bad_ext, bad_reason, remove_base;
    int reason_seen;                /* the bad reason code, for the message */
};

/* The CRL entry walk's memo (lint_crl_memo.c): verdicts of recent crlEntryExtensions encodings. */
#define LINT_EXT_MEMO 16
#define LINT_EXT_MEMO_BYTES 512
struct lint_ext_verdict {
    int bad, reason, remove;        /* malformed/repeated/critical; the reason code (-1 none);
                                     * removeFromCRL */
};
struct lint_ext_slot {
    unsigned char b[LINT_EXT_MEMO_BYTES];
    size_t n;                       /* 0: empty */
    int ref;                        /* used since the clock hand last passed */
    struct lint_ext_verdict v;
};
struct lint_ext_memo {
    struct lint_ext_slot slot[LINT_EXT_MEMO];
    int hand;
};
/* The verdict kept for crlEntryExtensions bytes x (n), or NULL. */
const struct lint_ext_verdict *lint_ext_memo_find(struct lint_ext_memo *m, const unsigned char *x,
                                                  size_t n);
/* Keep verdict v for bytes x (n), replacing an entry not used lately. */
void lint_ext_memo_put(struct lint_ext_memo *m, const unsigned char *x, size_t n,
                       const struct lint_ext_verdict *v);
/* 1 when Time TLV t (n bytes) is a UTCTime YYMMDDHHMMSSZ of a real date and time (well formed
 * without decoding); 0: decode and judge it. */
int lint_utctime_plain(const unsigned char *t, size_t n);

struct lint_crl_view {
    struct lint_base b;
    int parsed;                     /* 0: crl.der reported, nothing else runs */
    char der_problem[160];
    long version;                   /* -1 absent (v1) */
    X509_NAME *issuer_name;
    ASN1_TIME *this_update, *next_update;
    STACK_OF(X509_EXTENSION) *exts; /* owned */
    struct lint_ext ext[MAX_LINT_EXTS];
    int n_ext, n_ext_total;
    struct lint_crl_entries ent;
    ASN1_INTEGER *number;           /* borrowed from ext[] */
    ASN1_INTEGER *delta_base;
    AUTHORITY_KEYID *akid;
    const struct lint_ext *e_delta, *e_idp, *e_number;
};

/* Report a finding of the running rule: fix is the "what to do" text. */
void lint_emit(struct lint_base *b, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decode x's extensions into v->ext (lint_cert.c); free with lint_exts_clear. */
void lint_exts_clear(struct lint_ext *e, int n);
int lint_ext_decode(struct lint_ext *le, X509_EXTENSION *ext);
/* 1 when the OID of ext is the dotted oid. */
int lint_ext_is(const X509_EXTENSION *ext, const char *oid);
/* RFC 5280 4.1.2.5 / 5.1.2.4 Time encoding: UTCTime YYMMDDHHMMSSZ for 1950..2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ from 2050. NULL when right, else the problem. */
const char *lint_time_problem(const ASN1_TIME *t);
/* Compare two ASN1_TIMEs: -1, 0, 1; -2 when either does not parse. */
int lint_time_cmp(const ASN1_TIME *a, const ASN1_TIME *b);
/* Check a URL offca may point relying parties at: scheme "http" (when http is 1) or any absolute
 * URI (RFC 3986 scheme ":" ...), no whitespace or control characters, and for http a host.
 * NULL when fine, else the problem. */
const char *lint_uri_problem(const ASN1_IA5STRING *s, int http);

/* The rule checks, grouped by file (each takes the view as void *). */
void lc_serial_positive(void *v);
void lc_serial_zero(void *v);
void lc_serial_length(void *v);
void lc_version(void *v);
void lc_time_encoding(void *v);
void lc_time_order(void *v);
void lc_time_issuer_end(void *v);
void lc_time_issuer_start(void *v);
void lc_issuer_empty(void *v);
void lc_issuer_match(void *v);
void lc_subject_empty(void *v);
void lc_ext_duplicate(void *v);
void lc_ext_der(void *v);
void lc_ext_unknown_critical(void *v);
void lc_bc_ca(void *v);
void lc_bc_leaf(void *v);
void lc_ku_present(void *v);
void lc_ku_critical(void *v);
void lc_ku_ca(void *v);
void lc_ku_key_type(void *v);
void lc_eku_empty(void *v);
void lc_eku_any(void *v);
void lc_akid_present(void *v);
void lc_akid_match(void *v);
void lc_skid_ca(void *v);
void lc_cdp_http(void *v);
void lc_aia_http(void *v);
/* lint_gn.c: subjectAltName entries */
void lc_san_empty(void *v);
void lc_san_duplicate(void *v);
void lc_san_dns_syntax(void *v);
void lc_san_dns_trailing_dot(void *v);
void lc_san_dns_wildcard(void *v);
void lc_san_dns_alabel(void *v);
void lc_san_email(void *v);
void lc_san_upn(void *v);
void lc_san_uri(void *v);
void lc_san_ip(void *v);
/* lint_ms.c: Microsoft extensions */
void lc_ms_sid_critical(void *v);
void lc_ms_sid_format(void *v);
void lc_ms_sid_match(void *v);
void lc_ms_upn_utf8(void *v);
void lc_ms_template(void *v);
/* lint_crl.c */
void lr_der(void *v);
void lr_version(void *v);
void lr_issuer_empty(void *v);
void lr_issuer_match(void *v);
void lr_time_encoding(void *v);
void lr_next_update(void *v);
void lr_number(void *v);
void lr_number_increasing(void *v);
void lr_akid(void *v);
void lr_akid_match(void *v);
void lr_entries_unique(void *v);
void lr_entries_sorted(void *v);
void lr_entry_serial(void *v);
void lr_entry_time(void *v);
void lr_reason(void *v);
void lr_remove_from_crl(void *v);
void lr_delta(void *v);
void lr_idp_critical(void *v);
void lr_ext_duplicate(void *v);
void lr_ext_unknown_critical(void *v);

/* lint_crl.c: decode the TBSCertList into the view (findings for malformed DER). */
int lint_crl_view_build(struct lint_crl_view *v, const unsigned char *tbs, size_t len);
void lint_crl_view_clear(struct lint_crl_view *v);

#endif
