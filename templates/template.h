/*
 * template.h — the only header other folders include from templates/.
 *
 * templates/ owns everything about what goes INTO a certificate: the strict TOML reader (also used
 * by ca/config/config.c), RFC 4514 names, SIDs and the other Microsoft encodings, the template loader and
 * validator, and the policy evaluation (request + template -> issue plan, no I/O).
 *
 * Errors: functions return 1/0 or pointer/NULL; on failure tmpl_error() holds one operator-ready
 * message "<object>: <rule>: <problem>; <what to do>" and tmpl_error_code() its exit-code class
 * (1 refused by policy, 2 usage, 3 unreadable or malformed input, 4 system).
 */
#ifndef OFFCA_TEMPLATE_H
#define OFFCA_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "base/limits.h"
#include "base/oids.h"
#include "base/sid.h"
#include "base/toml.h"

/* Last error of the calling thread (never NULL; "" when none) and its exit-code class: offca's
 * one error slot (base/err.h), which every folder reports through. */
static inline const char *tmpl_error(void) { return base_err_msg(); }
static inline int tmpl_error_code(void) { return base_err_code(); }

/* Trust rule for files that decide what offca does (ca.toml, templates, the store): owned by
 * root or the running user, not group/world-writable. tmpl_trust_check: 1 trusted, else 0 with
 * "<path>: <kind> owner|mode: <problem>; <fix>" in why[n]. tmpl_trust_config applies it to
 * ca.toml and templates: 0 (class 3, tmpl_error()) as root, a warning (tmpl_warn_set's function,
 * else stderr) and 1 otherwise. */
struct stat;
int tmpl_trust_check(const char *path, const struct stat *st, char *why, size_t n)
    __attribute__((warn_unused_result));
int tmpl_trust_config(const char *path, const struct stat *st) __attribute__((warn_unused_result));
void tmpl_warn_set(void (*fn)(const char *msg));

/* ==== Names: RFC 4514 (dn.c) ===================================================================
 * dn_parse("CN=Issuing CA 1,O=Contoso\, Ltd.,DC=contoso,DC=com"): the string lists the most
 * specific RDN first (RFC 4514); the X509_NAME is in encoding order (DC=com first). Handles every
 * escape (\, \+ \; \= \" \\ \< \> \#, leading '#' and spaces, trailing spaces, hex pairs \C3\A9),
 * multi-valued RDNs with '+', attribute types by short name (CN, O, OU, C, ST, L, DC, E/emailAddress,
 * serialNumber, UID, GN, SN, title, street, postalCode) or dotted OID. Values UTF8String, except C
 * and serialNumber as PrintableString (and DC, E as IA5String). Refuses embedded NUL, invalid
 * UTF-8, empty values, unknown types, C not 2 letters, over-long values (ub-* limits). */
#define MAX_DN_CHARS 4096
X509_NAME *dn_parse(const char *rfc4514);
/* RFC 4514 string (most specific first), escaping exactly what RFC 4514 requires, so that
 * dn_parse(dn_format(x)) encodes to the same DER. Caller frees with OPENSSL_free. */
char *dn_format(const X509_NAME *name);
/* The form Windows prints for altSecurityIdentities <I>/<S>: most-significant RDN first (encoding
 * order), ", "-less comma join, Windows short names (S= for ST, E= for emailAddress). OPENSSL_free. */
char *dn_format_ms(const X509_NAME *name);

/* ==== Microsoft encodings (msfmt.c) ===================================================
 * Specs: MS-DTYP 2.4.2.1 (SID strings), MS-WCCE 2.2.2.7.7 (the extensions), KB5014754 (SID
 * extension, SAN URL and altSecurityIdentities strong mappings). */
/* SIDs: base/sid.h (doctor in crl/ reads them too). */

/* UPN otherName (1.3.6.1.4.1.311.20.2.3, [0] EXPLICIT UTF8String) as a GENERAL_NAME. */
GENERAL_NAME *ms_upn_name_build(const char *upn);
/* If gn is a UPN otherName copy the UTF-8 UPN into out (1), not one (0), malformed (-1). */
int ms_upn_name_parse(const GENERAL_NAME *gn, char *out, size_t outlen);
/* Template name v1 (bare BMPString) and template information v2 extensions, non-critical. */
X509_EXTENSION *ms_template_name_build(const char *name);
X509_EXTENSION *ms_template_info_build(const char *oid, long major, long minor);
/* Application policies 1.3.6.1.4.1.311.21.10 mirroring an EKU list (OIDs as dotted text). */
X509_EXTENSION *ms_app_policies_build(const char *const *oids, size_t n);
/* CA Version 1.3.6.1.4.1.311.21.1 = INTEGER key_index << 16 | cert_index (non-critical). */
X509_EXTENSION *ms_ca_version_build(unsigned cert_index, unsigned key_index);
/* Previous CA Certificate Hash 1.3.6.1.4.1.311.21.2 = OCTET STRING SHA-1(previous CA cert DER). */
X509_EXTENSION *ms_prev_ca_hash_build(const unsigned char *prev_der, size_t prev_len);

/* altSecurityIdentities strong mapping strings (KB5014754 manual mappings); OPENSSL_free.
 *   X509:<I>DC=com,DC=contoso,CN=Contoso Issuing CA<SR>3200000000007b09...  (serial bytes reversed)
 *   X509:<SKI>hex   X509:<SHA1-PUKEY>hex (SHA-1 over the SubjectPublicKeyInfo DER) */
char *ms_altsec_issuer_serial(const X509 *cert);
char *ms_altsec_ski(const X509 *cert);
char *ms_altsec_sha1_pukey(const X509 *cert);
/* Same <I>..<SR>.. string from parts (issuer in ms form, serial as big-endian bytes): for tests
 * and for records. */
char *ms_altsec_issuer_serial_from(const char *issuer_ms, const unsigned char *serial, size_t n);

/* ==== Templates and policy (tmpl_load.c, tmpl_policy.c, ext.c) ===============================
 * One TOML file per template (see templates/shipped/ and README). A template that does not
 * validate is rejected whole at load, with file:line:column. */
#define MAX_TEMPLATES 256

enum san_type { SAN_DNS = 0, SAN_UPN, SAN_EMAIL, SAN_URI, SAN_IP, SAN_TYPE_COUNT };
/* "dns", "upn", "email", "uri", "ip" */
const char *san_type_name(enum san_type t);
/* Parse "dns:host.contoso.com", "upn:user@contoso.com", "email:a@b", "uri:...", "ip:10.0.0.1". */
int san_parse(const char *text, enum san_type *type, char *value, size_t valuelen)
    __attribute__((warn_unused_result));

struct san {
    enum san_type type;
    char *value;                    /* UTF-8 text; IP addresses in their text form */
};

enum sid_policy { SID_FORBIDDEN = 0, SID_OPTIONAL, SID_REQUIRED };
enum sid_form { SID_FORM_EXTENSION = 0, SID_FORM_SAN_URL, SID_FORM_BOTH };
enum sid_source { SID_SRC_OPERATOR = 0, SID_SRC_REQUEST, SID_SRC_DIRECTORY };

struct tmpl;                        /* opaque, immutable once loaded */
struct tmpl_set;                    /* every template of a directory */

struct tmpl *tmpl_load(const char *path);
void tmpl_free(struct tmpl *t);
/* Load every *.toml in dir; refuses the whole set if any one is invalid or names clash. */
struct tmpl_set *tmpl_set_load(const char *dir);
void tmpl_set_free(struct tmpl_set *s);
size_t tmpl_set_count(const struct tmpl_set *s);
const struct tmpl *tmpl_set_at(const struct tmpl_set *s, size_t i);
/* NULL with a message listing the available names when absent (class 2). */
const struct tmpl *tmpl_set_find(const struct tmpl_set *s, const char *name);

const char *tmpl_get0_name(const struct tmpl *t);
const char *tmpl_get0_description(const struct tmpl *t);
const char *tmpl_get0_path(const struct tmpl *t);
enum sid_policy tmpl_sid_policy(const struct tmpl *t);
enum sid_source tmpl_sid_source(const struct tmpl *t);
/* 1 when the template lets "*." dNSNames through (san.allow_wildcard). */
int tmpl_allows_wildcard(const struct tmpl *t);
/* The validity a certificate gets when --days is not given. */
long tmpl_days_default(const struct tmpl *t);
/* Human-readable multi-line description of every setting (for `offca template show`). */
char *tmpl_describe(const struct tmpl *t);

/* Directory lookup handed in by ca/: find the SID of the principal named by a UPN or DNS SAN.
 * Return the number of matches (0, 1 or more; copy the SID only when exactly 1) or -1 on a store
 * failure (the callee reports it). */
typedef int (*tmpl_sid_lookup_fn)(void *arg, enum san_type type, const char *name,
                                  char *sid, size_t sidlen);

/* Everything policy needs, parsed once by ca/issue/csr.c and the command line. All borrowed. */
struct tmpl_request {
    const char *source;                     /* for messages: "req.csr" or "manifest line 12" */
    const X509_NAME *csr_subject;           /* subject in the CSR (may be empty) */
    EVP_PKEY *pubkey;                       /* the requester's public key (signature verified) */
    const STACK_OF(X509_EXTENSION) *csr_exts; /* extensions requested in the CSR, or NULL */
    const X509_NAME *subject_override;      /* --subject, or NULL */
    const struct san *op_sans;              /* --san values */
    size_t n_op_sans;
    const char *op_sid;                     /* --sid, or NULL */
    int days;                               /* --days, or 0 for the template default */
    tmpl_sid_lookup_fn lookup;              /* directory lookup, or NULL */
    void *lookup_arg;
    int csr_sig_sha1;                       /* the CSR is signed with SHA-1 */
};

/* The decision: what the certificate will carry. ca/issue/issue.c adds serial, validity dates, issuer,
 * AKID, SKID, CDP and AIA; everything else comes from exts, in order. */
struct tmpl_plan {
    X509_NAME *subject;                     /* owned */
    int days;
    int min_days;                           /* the template's min_days: a validity the issuer's
                                             * end cuts below this is refused */
    STACK_OF(X509_EXTENSION) *exts;         /* owned: basicConstraints, KU, EKU, SAN, SID, MS */
    char *sid;                              /* owned, or NULL */
    struct san *sans;                       /* owned: the final SAN list, for the store record */
    size_t n_sans;
    const char *template_name;              /* borrowed from the template */
};

/* Evaluate req against t: key type/size, subject policy, SAN policy, SID policy and form, EKU,
 * KU, validity. NULL with tmpl_error() naming source, template, rule and fix (class 1 for policy
 * refusals, 3 for malformed request content). No I/O besides req->lookup. */
struct tmpl_plan *tmpl_check(const struct tmpl *t, const struct tmpl_request *req);
void tmpl_plan_free(struct tmpl_plan *p);
/* The key a template wants for the server-side (PKCS#12) flow: "rsa2048"/"p256"... allowed? */
int tmpl_key_alg_allowed(const struct tmpl *t, const char *alg) __attribute__((warn_unused_result));

/* ==== Lint (lint.c, lint_cert.c, lint_gn.c, lint_ms.c, lint_crl.c) ============================
 * One table of rules (id, citation, severity, check) run on every TBSCertificate and TBSCertList
 * offca builds, before the token signs, and by `offca lint` on any certificate or CRL. A rule
 * that needs the issuer certificate (AKID = issuer SKID, validity inside the issuer's, issuer
 * name) is skipped when none is given, and counted in lint_report.skipped.
 * The checks read the already-built object (X509) or DER (TBSCertList) only; they never cache
 * anything in the X509, so a certificate can be linted before X509_sign_ctx. Thread-safe. */
enum lint_sev { LINT_NOTICE = 0, LINT_WARNING, LINT_ERROR };
enum lint_kind { LINT_CERT = 0, LINT_CRL };
#define MAX_LINT_FINDINGS 32
#define MAX_LINT_PROBLEM  320
#define MAX_LINT_FIX      200

struct lint_rule {
    const char *id;                 /* "serial.positive" */
    const char *cite;               /* "RFC 5280 4.1.2.2" */
    enum lint_sev sev;
    enum lint_kind kind;
    int needs_issuer;               /* 1: skipped without lint_opts.issuer */
    int needs_prev;                 /* 1: skipped without lint_opts.prev_number */
    void (*check)(void *view);      /* a struct lint_cert_view / lint_crl_view (lint_int.h) */
};
struct lint_finding {
    const struct lint_rule *rule;
    char problem[MAX_LINT_PROBLEM];
    char fix[MAX_LINT_FIX];
};
struct lint_report {
    struct lint_finding f[MAX_LINT_FINDINGS];
    size_t n;                       /* findings kept in f[0..n) (past n: not cleared) */
    size_t dropped;                 /* findings past MAX_LINT_FINDINGS (counted, not kept) */
    size_t n_sev[3];                /* findings per lint_sev, dropped ones included */
    size_t skipped;                 /* rules not run for want of an issuer certificate */
};
struct lint_opts {
    X509 *issuer;                   /* the issuing CA certificate, or NULL (self: the cert) */
    int allow_wildcard;             /* the template allows "*." dNSNames */
    int allow_any_eku;              /* anyExtendedKeyUsage allowed on a leaf */
    int delta;                      /* CRL: 1 delta, 0 full (base), -1 unknown */
    int64_t prev_number;            /* CRL: the previous CRL number of this CA, -1 unknown */
};
/* The rule table, for listings and tests. */
size_t lint_rule_count(void);
const struct lint_rule *lint_rule_at(size_t i);
const struct lint_rule *lint_rule_find(const char *id);
const char *lint_sev_name(enum lint_sev s);      /* "error", "warning", "notice" */
void lint_opts_init(struct lint_opts *o);        /* no issuer, nothing allowed, unknown CRL */

/* Run every certificate rule on x (signed or not yet signed). r is reset first. A self-signed
 * certificate (issuer name = subject name, and no issuer given) is its own issuer. 1 when the
 * rules ran, 0 on memory exhaustion (tmpl_error() set, class 4). */
int lint_cert(X509 *x, const struct lint_opts *o, struct lint_report *r)
    __attribute__((warn_unused_result));
/* Run every CRL rule on the DER of a TBSCertList (len bytes, nothing after it). Malformed DER is
 * a finding (crl.der), not a failure. Entries are walked one by one (no per-entry objects kept),
 * so a million-entry CRL costs about one pass over its bytes. 1 ran / 0 memory (class 4). */
int lint_crl_tbs(const unsigned char *tbs, size_t len, const struct lint_opts *o,
                 struct lint_report *r) __attribute__((warn_unused_result));
/* The first error-severity finding, or NULL. */
const struct lint_finding *lint_first_error(const struct lint_report *r);

/* ==== Strict DER (der.c) =======================================================================
 * Whether bytes from outside are exactly one TLV in DER (X.690 section 10): definite shortest
 * lengths, primitive strings, canonical BOOLEAN, minimal INTEGER, clean BIT STRING, recursively.
 * 1 yes / 0 with why = "<problem> at offset N"; the caller says "not DER". */
int der_strict_check(const unsigned char *p, size_t n, char *why, size_t whylen)
    __attribute__((warn_unused_result));
/* The SubjectPublicKeyInfo TLV inside a DER certificate (borrowed from cert). 1 / 0. */
int der_cert_spki(const unsigned char *cert, size_t len, const unsigned char **spki,
                  size_t *spki_len) __attribute__((warn_unused_result));

/* ==== Key gate (keygate.c, keygate_rsa.c) ======================================================
 * The quality check for every public key offca certifies (subscriber keys from a CSR or generated,
 * CA keys at create and import), after CA/B BR 6.1.1.3 and 6.1.6 and RFC 3279 / RFC 5480. Input is
 * the SubjectPublicKeyInfo DER exactly as received (also a stored certificate's, for re-scans).
 *   RSA (rsaEncryption, parameters NULL): modulus and exponent minimal, positive INTEGERs; size in
 *       [rsa_min_bits, rsa_max_bits]; e odd, 65537 <= e < 2^256; modulus odd with no factor among
 *       the primes up to 751; not factored by Fermat's method in KEYGATE_FERMAT_ROUNDS rounds;
 *       without the ROCA fingerprint (CVE-2017-15361, Microsoft ADV170012).
 *   EC (id-ecPublicKey): a named curve among the allowed ones (explicit parameters refused:
 *       CVE-2020-0601); the point uncompressed or compressed, decoded, on the curve, not infinity.
 *   Blocklist: policy->blocked (when set) is asked about the SHA-256 of the re-encoded SPKI.
 * On success *out holds the key RE-ENCODED from the parsed values (never the received bytes): what
 * a certificate must carry. Refusals: why = "key: <problem> (<rule>); request a new key". */
#define KEYGATE_FERMAT_ROUNDS 100
#define KEYGATE_HASH_BYTES 32
#define MAX_KEYGATE_RSA_BITS 16384

/* Is this key hash blocked? 1 yes (why names the source, e.g. "revoked for keyCompromise:
 * CA issuing1 serial 01ab"), 0 no, -1 failure (why says what failed). */
typedef int (*keygate_blocked_fn)(void *arg, const unsigned char hash[KEYGATE_HASH_BYTES],
                                  char *why, size_t whylen);

struct keygate_policy {
    int allow_rsa, allow_ec;
    long rsa_min_bits, rsa_max_bits;         /* inclusive; 0 = 2048 / MAX_KEYGATE_RSA_BITS */
    const int *curves;                       /* allowed curve NIDs; NULL: P-256, P-384, P-521 */
    size_t n_curves;
    keygate_blocked_fn blocked;              /* or NULL */
    void *blocked_arg;
};

struct keygate_key {
    int type;                                /* EVP_PKEY_RSA or EVP_PKEY_EC */
    int bits;                                /* modulus bits, or the curve's order bits */
    int curve_nid;                           /* EC only */
    unsigned char *spki;                     /* owned: canonical SubjectPublicKeyInfo DER */
    size_t spki_len;
    unsigned char *pub;                      /* owned: the subjectPublicKey BIT STRING content */
    size_t pub_len;
    unsigned char hash[KEYGATE_HASH_BYTES];  /* SHA-256 of spki */
};

/* Check one key. 0 accepted (*out filled; keygate_key_clear it), 1 refused by a rule (exit class
 * policy), 3 not a well-formed SubjectPublicKeyInfo, 4 out of memory / blocklist failure; why set
 * on every non-zero return. Thread-safe. */
int keygate_check(const unsigned char *spki, size_t len, const struct keygate_policy *policy,
                  struct keygate_key *out, char *why, size_t whylen)
    __attribute__((warn_unused_result));
void keygate_key_clear(struct keygate_key *k);
/* The same for an EVP_PKEY (a generated or token key): its SPKI through i2d_PUBKEY. */
int keygate_check_pkey(EVP_PKEY *pkey, const struct keygate_policy *policy,
                       struct keygate_key *out, char *why, size_t whylen)
    __attribute__((warn_unused_result));
/* Lowercase hex of a key hash into out (2 * KEYGATE_HASH_BYTES + 1). */
void keygate_hash_hex(const unsigned char hash[KEYGATE_HASH_BYTES], char *out);
/* The key policy of a template (sizes, curves); blocked left NULL for the caller. */
void tmpl_keygate_policy(const struct tmpl *t, struct keygate_policy *p);
/* Template switches for the request gate: may requests be signed with SHA-1, may a key already
 * certified to another subject be certified again (README "Key gate"). */
int tmpl_allow_sha1_requests(const struct tmpl *t);
int tmpl_allow_key_reuse(const struct tmpl *t);

#endif
