/*
 * tmpl_int.h — private to templates/: the loaded template (struct tmpl), the policy evaluation
 * context shared by tmpl_policy.c and the extension-handler table in ext.c.
 */
#ifndef OFFCA_TMPL_INT_H
#define OFFCA_TMPL_INT_H

#include "templates/template.h"

#include <dirent.h>
#include <regex.h>

#define MAX_TMPL_EKUS       16      /* required + optional EKUs of one template */
#define MAX_TMPL_ATTRS      16      /* subject attribute types named in one template */
#define MAX_TMPL_CURVES     4
#define MAX_TMPL_SUFFIXES   32
#define MAX_TMPL_DAYS       3650
#define MAX_SAN_COUNT       100     /* hard ceiling for san.max_count */
#define MAX_SAN_CHARS       1024    /* one SAN value */
#define MAX_ATTR_CHARS      1024    /* one subject attribute value, in bytes of UTF-8 */
#define MAX_RSA_BITS        16384
#define MIN_RSA_BITS        1024    /* the lowest rsa_min_bits a template may declare */

/* keyUsage bits as in RFC 5280 4.2.1.3 (bit numbers). */
enum { TKU_DIGITAL_SIGNATURE = 0, TKU_NON_REPUDIATION, TKU_KEY_ENCIPHERMENT, TKU_DATA_ENCIPHERMENT,
       TKU_KEY_AGREEMENT, TKU_BIT_COUNT };

/* A subject attribute rule: type, optional max length (0 = none) and optional pattern. */
struct tmpl_attr {
    int nid;
    const char *name;               /* the template's spelling ("CN"), static */
    int required;
    long max_length;                /* in UTF-8 characters; 0 = no limit */
    int repeatable;                 /* may appear more than once (subject.repeatable; DC always) */
    char *pattern;                  /* source text, or NULL */
    regex_t re;                     /* compiled when pattern != NULL */
};

struct tmpl {
    char *path, *name, *description;
    /* [key] */
    int allow_rsa, allow_ec;
    long rsa_min_bits, rsa_max_bits;
    int curves[MAX_TMPL_CURVES];    /* NIDs */
    size_t n_curves;
    int allow_sha1_requests;        /* key.allow_sha1_requests: CSRs signed with SHA-1 */
    int allow_key_reuse;            /* key.allow_reuse: a key certified to another subject */
    /* [validity] */
    long days_default, days_min, days_max;
    /* [eku]: dotted OIDs */
    char eku_req[MAX_TMPL_EKUS][MAX_OID_CHARS];
    size_t n_eku_req;
    char eku_opt[MAX_TMPL_EKUS][MAX_OID_CHARS];
    size_t n_eku_opt;
    unsigned ku;                    /* bit i = keyUsage bit i */
    /* [subject] */
    struct tmpl_attr attrs[MAX_TMPL_ATTRS];
    size_t n_attrs;
    int allow_override, allow_empty;
    /* [san] */
    unsigned san_allowed, san_required;  /* bit i = enum san_type i */
    long san_max_count;
    int allow_wildcard, san_from_request;
    char *suffixes[MAX_TMPL_SUFFIXES];
    size_t n_suffixes;
    /* SID */
    enum sid_policy sid;
    enum sid_form sid_form;
    enum sid_source sid_source;
    int sid_domain_only;
    /* [ms] */
    char *ms_template_name;
    char *ms_template_oid;
    long ms_major, ms_minor;
    int ms_app_policies;
    /* honour_extensions: bit i = ext_handlers[i] */
    unsigned honour;
};

/* One evaluation of tmpl_check: inputs, what the CSR asked for, and what was decided. */
struct plan_ctx {
    const struct tmpl *t;
    const struct tmpl_request *req;
    const char *src;                /* req->source or "request" */
    int key_is_rsa;
    /* read from the CSR by the handlers */
    struct san csr_sans[MAX_SAN_COUNT];
    size_t n_csr_sans;
    char csr_sid_ext[MAX_SID_CHARS + 1];    /* "" when absent */
    char csr_sid_url[MAX_SID_CHARS + 1];    /* "" when absent */
    int csr_eku_opt[MAX_TMPL_EKUS];         /* optional EKU i was requested */
    /* decisions */
    X509_NAME *subject;             /* borrowed from the plan */
    const struct san *sans;         /* final list (without the SID URL) */
    size_t n_sans;
    const char *sid;                /* NULL when none; points to sid_buf */
    char sid_buf[MAX_SID_CHARS + 1];
    const char *ekus[MAX_TMPL_EKUS * 2];
    size_t n_ekus;
};

/* The extension handler table (ext.c), in plan order. read: the CSR asked for this extension
 * (NULL: known but never taken from a request); build: *out the extension or NULL to omit it. */
struct ext_handler {
    const char *name;               /* for messages, e.g. "subjectAltName" */
    const char *honour;             /* name in honour_extensions ("san"), or NULL */
    const char *oid;                /* dotted OID */
    int (*read)(struct plan_ctx *c, const X509_EXTENSION *ext);
    int (*build)(struct plan_ctx *c, X509_EXTENSION **out);
};

/* Bit index of the handler honoured as name ("san", "eku", "sid"), or -1. */
int ext_honour_index(const char *name);
const char *ext_honour_names(void);             /* "san, eku, sid" for messages */
int ext_honoured(const struct tmpl *t, const char *honour);
/* Read every extension the CSR requests through the table: refuses duplicates, unknown critical
 * extensions and EKUs outside the template; fills the csr_* fields of c. */
int ext_read_request(struct plan_ctx *c) __attribute__((warn_unused_result));
/* Build the plan's extensions through the table, in order; NULL with the error set. */
STACK_OF(X509_EXTENSION) *ext_build_all(struct plan_ctx *c);

/* keyUsage / EKU name tables (ext.c), used by the loader and describe. */
int tmpl_ku_bit(const char *name);
const char *tmpl_ku_name(int bit);
/* Dotted OID for an EKU name or dotted text into out; 0 when unknown. */
int tmpl_eku_oid(const char *name, char *out, size_t outlen);
const char *tmpl_eku_name(const char *oid);

/* SAN value syntax (tmpl_policy.c), also used for op_sans; 1 ok / 0 with error (class 1). */
int tmpl_san_value_check(const struct plan_ctx *c, enum san_type type, const char *value)
    __attribute__((warn_unused_result));

/* Error helper (tmpl_policy.c): "<src>: template <name>: <rule>: <problem>; <fix>". */
void plan_seterr(const struct plan_ctx *c, int code, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* opendir(dir) for the template set, with dir's owner and mode checked on the descriptor
 * (tmpl_trust_config). NULL with tmpl_error() set. */
DIR *tmpl_trust_opendir(const char *dir);

/* One TLV read by der_tlv_read (der.c): tag octet, header length, content. */
struct der_tlv {
    unsigned tag;                   /* the first identifier octet */
    size_t hdr;                     /* identifier + length octets */
    const unsigned char *v;         /* content, inside the input */
    size_t len;
};
/* Read one strict-DER TLV header at p[0..n); 1 ok / 0 with *why a static problem text. */
int der_tlv_read(const unsigned char *p, size_t n, struct der_tlv *t, const char **why);
/* Write a DER TLV header (tag, shortest length) into out (>= 6 octets); returns its length. */
size_t der_hdr_put(unsigned char *out, unsigned tag, size_t len);
/* The RSA half of the key gate (keygate_rsa.c): pub is the subjectPublicKey content (an
 * RSAPublicKey); on success out->pub (re-encoded) and out->bits are set. keygate_check codes. */
int keygate_rsa(const unsigned char *pub, size_t len, const struct keygate_policy *p,
                struct keygate_key *out, char *why, size_t whylen);

#endif
