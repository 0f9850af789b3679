/*
 * ca/issue/ — the room holding the way a request becomes a certificate: the CSR read and gated
 * (csr.c, csr_gate.c), batch manifests (manifest.c), the CA ready to sign (signer.c), serials
 * (serial.c), the stateful key checks (keycheck.c), the pipeline prepare -> record (issue.c), the
 * TBS built, linted and signed (certbuild.c), `sign --csr` (sign_csr.c), the threaded batch engine
 * (batch.c), PKCS#12 (pfx.c), output placed after the commit (sign_out.c, private: issue_int.h),
 * and issued certificates found by serial (cert_find.c).
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store, ca/directory.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_ISSUE_H
#define OFFCA_CA_ISSUE_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "ca/config/config.h"
#include "ca/store/store.h"
#include "hsm/hsm.h"
#include "templates/template.h"

/* ---- csr.c ---- */
struct csr {
    X509_REQ *req;                        /* owned */
    EVP_PKEY *pubkey;                     /* owned reference */
    STACK_OF(X509_EXTENSION) *exts;       /* owned; requested extensions (may be empty) */
    struct keygate_key key;               /* owned: the key as the key gate re-encoded it */
    int sig_sha1;                         /* signed with SHA-1 (the template decides) */
    char source[256];                     /* file name, for messages */
};
/* Load one CSR (PEM "CERTIFICATE REQUEST"/"NEW CERTIFICATE REQUEST" or DER): refuses an empty
 * file, > MAX_INPUT_BYTES, trailing bytes after the DER, two PEM blocks, a bad signature
 * (proof of possession), duplicate requested extensions, a subject with an embedded NUL. */
int csr_load(const char *path, struct csr **out);
/* Same from memory (tests, fuzzing); source names it in messages. */
int csr_parse(const unsigned char *data, size_t len, const char *source, struct csr **out);
void csr_free(struct csr *c);
/* The request gate (csr_gate.c; README "Key gate and request gate"): strict DER of the raw bytes;
 * re-encoding and DER extension values after decoding; the signature algorithm allow-list
 * (*sha1 set for SHA-1); subject strings against their ASN.1 type. 0 or the exit class, reported. */
int csr_gate_der(const unsigned char *der, size_t len, const char *src);
int csr_gate_reencode(X509_REQ *req, const unsigned char *der, size_t len,
                      const STACK_OF(X509_EXTENSION) *exts, const char *src);
int csr_gate_sigalg(const X509_REQ *req, const char *src, int *sha1);
int csr_gate_strings(const X509_NAME *name, const char *src);

/* ---- manifest.c ---- */
struct manifest_line {
    char *csr;                            /* path, required */
    char *sid;                            /* or NULL */
    char **san;                           /* "dns:host..." strings */
    size_t n_san;
    char *out;                            /* output path, required */
    char *subject;                        /* optional RFC 4514 override */
};
/* Parse one JSON-lines entry {"csr": "...", "sid": "...", "san": [...], "out": "...",
 * "subject": "..."}: strict JSON (libjansson: RFC 8259, duplicate keys and \u0000 refused),
 * unknown keys refused. */
int manifest_parse_line(const char *line, size_t len, const char *source, size_t lineno,
                        struct manifest_line *out);
void manifest_line_clear(struct manifest_line *m);
/* Load one JSON-lines entry as a JSON object (libjansson, the same strictness and messages as
 * the manifest): *out is a new reference (json_decref). shape names what a line must be in the
 * message for a non-object, e.g. "{\"serial\": ...}". 0 or EXIT_INPUT, reported. */
struct json_t;
int jsonl_object_load(const char *line, size_t len, const char *source, size_t lineno,
                      const char *shape, struct json_t **out);

/* ---- building and signing certificates (CA certificates and leaves alike), serials,
 * and the validity arithmetic. The TBS is built with OpenSSL; the signature is one C_Sign in the
 * token through hsm_sign_ctx_new().
 */

#define SERIAL_BYTES 20          /* 159 random bits, positive (RFC 5280 4.1.2.2: at most 20) */

/* A fresh random serial from the OS CSPRNG (getrandom): SERIAL_BYTES, top bit clear, first byte
 * non-zero (so the DER INTEGER is exactly SERIAL_BYTES long). 1 ok / 0. */
int serial_new(unsigned char out[SERIAL_BYTES]);
/* Hex (lowercase, no separators) <-> bytes. serial_parse accepts an optional "0x" and ':'s. */
void serial_hex(const unsigned char *s, size_t n, char *out /* 2n+1 */);
int serial_parse(const char *hex, unsigned char *out, size_t max, size_t *n)
    __attribute__((warn_unused_result));

struct cert_spec {
    const X509_NAME *subject;
    EVP_PKEY *pubkey;                     /* subject key (an HSM key for a self-signed root) */
    const struct keygate_key *key;        /* or NULL: when set, the SubjectPublicKeyInfo is the
                                           * key gate's re-encoding of the key (never the bytes
                                           * received); the certificate returned then has no
                                           * cached EVP_PKEY (X509_get0_pubkey() is NULL: use
                                           * spec->pubkey, or re-parse the DER) */
    X509 *issuer;                         /* NULL: self-signed */
    const unsigned char *serial;
    size_t serial_len;
    time_t not_before, not_after;
    const STACK_OF(X509_EXTENSION) *exts; /* added first, in order */
    int akid;                             /* add AKID (keyIdentifier from the issuer's SKID) */
    const char *cdp_url;                  /* CDP fullName URI, or NULL */
    const char *aia_url;                  /* AIA caIssuers URI, or NULL */
    int allow_wildcard;                   /* lint: the template allows "*." dNSNames */
};

/* Build the certificate (v3, SKID from the subject key, AKID, CDP, AIA after spec->exts), run
 * the lint table on the finished TBS (templates/ lint_cert; an error-severity finding refuses
 * with EXIT_POLICY and the lint's id and citation, before the token is asked), sign it with
 * signkey in the token, check that the signed TBS is byte-identical to the linted one, then
 * verify the signature over the TBS bytes with the issuer's software public key as a self-check
 * (self-signed: re-parse the DER and verify with the key in it). NULL with the reason reported
 * and its class in out->rc; on success out->der holds the certificate's DER (the encoding the
 * identity check made; the caller owns it: OPENSSL_free) and out->rc is 0. */
struct cert_built {
    int rc;
    unsigned char *der;
    size_t der_len;
};
X509 *cert_build(const struct cert_spec *spec, struct hsm *h, EVP_PKEY *signkey,
                 enum hsm_sig sig, const char *hash, struct cert_built *out);

/* A CA ready to sign: its record, certificate, token key and signature scheme. */
struct ca_cfg;
struct ca_signer {
    struct ca_rec rec;
    X509 *cert;
    EVP_PKEY *key;
    enum hsm_sig sig;
    const char *hash;
    const struct ca_cfg *cfg;
    unsigned cert_index, key_index;       /* the newest generation: the one that signs */
    char cdp[1024], aia[1024];            /* what it writes into what it issues: its key's CRL
                                           * (NAME(k).crl) and its certificate (NAME(i).crt) */
};
/* Look the CA up in the store (read txn of its own), parse its certificate, load its key from
 * the token h (which a deferred handle opens only now, after the CA was found), warning on every
 * use when cfg allows an extractable key. The CA signs with its newest generation only. 0 or
 * exit class. */
int ca_signer_open(struct store *st, struct hsm *h, const struct config *cfg, const char *name,
                   struct ca_signer *s);
/* The same for the CRLs of key generation key_index: its newest certificate and its key (a
 * superseded key still signs its own CRLs; a retired CA too). */
int ca_signer_open_key(struct store *st, struct hsm *h, const struct config *cfg,
                       const char *name, int key_index, struct ca_signer *s);
void ca_signer_close(struct ca_signer *s);
/* The CA certificate's validity against the clock now, and the three as ISO 8601 text for
 * messages (what issuing a leaf and signing a CRL both judge). */
struct ca_window {
    time_t now, start, end;
    char clock[32], from[32], to[32];
};
void ca_window_of(const struct ca_signer *s, struct ca_window *w);
/* CA names: [A-Za-z0-9_-]{1,64}. 0 or EXIT_USAGE (reported). */
int ca_name_check(const char *name);

/* ---- issuance of end-entity certificates (issue.c) ----
 * prepare (policy + build + sign in the token; nothing stored) -> record a group in ONE write
 * transaction (certificate records + audit) -> output only after the commit. */
struct tmpl;
struct tmpl_plan;
/* Operator-given SANs (--san TYPE:VALUE, a manifest's "san" list), parsed (san_list.c). */
#define MAX_SANS 64
struct san_list {
    struct san v[MAX_SANS];
    char *buf[MAX_SANS];               /* owned values */
    size_t n;
};
/* Parse "TYPE:VALUE" and append it; where names the source in messages. 0 or the exit class
 * (reported). */
int san_list_add(struct san_list *l, const char *text, const char *where);
void san_list_clear(struct san_list *l);

/* One CSR signed to one output (sign_csr.c) by CA s in the token h, recorded in store: csr the
 * request file, subject/sid/sans/days the operator's values (NULL/0: none), out the file (NULL
 * or "-": stdout), der its format. 0 or the exit class, reported; nothing is written before the
 * certificate is recorded. */
struct sign_csr_req {
    const char *csr, *subject, *sid, *out;
    const struct san_list *sans;
    int days, der;
};
struct ca_signer;
struct tmpl;
int sign_csr(struct store *store, struct hsm *h, const struct config *cfg, struct ca_signer *s,
             const struct tmpl *t, const struct sign_csr_req *r);

struct issued {
    X509 *cert;
    struct cert_rec rec;                  /* what the store records (owned members) */
};
/* Policy + certificate for one request (templates/template.h's struct tmpl_request, the one
 * request struct from the command line to the template; issue_prepare adds the directory
 * lookup). key is the key gate's result for a CSR's key, or NULL: issue_prepare then runs the
 * gate on req->pubkey (a generated key). 0, or the exit class with the message reported. */
int issue_prepare(struct store *st, struct hsm *h, const struct config *cfg,
                  struct ca_signer *s, const struct tmpl *t, const struct tmpl_request *req,
                  const struct keygate_key *key, struct issued *out);
/* Record n prepared certificates in one write transaction with their audit records. */
int issue_record(struct store *st, struct issued *v, size_t n);
void issued_clear(struct issued *i);

/* Find an issued certificate by the serial an operator typed (hex, ':' and 0x allowed), any CA
 * (cert_find.c). 0, or EXIT_USAGE for a bad or unknown serial, EXIT_SYSTEM (reported). */
int cert_lookup(struct store *st, const char *serial_text, struct cert_rec *r);

/* ---- the key gate's blocklist and key-reuse rules, which need the config and the store
 * (ca/issue/keycheck.c), given explicitly; the key rules themselves are templates/keygate.c
 * (template.h).
 */

struct keyblock;
struct keycheck_ctx {
    struct store *st;                  /* NULL: the store's blocklist is not consulted */
    const struct config *cfg;
    const struct keyblock *list;
};

/* Set pol->blocked to the blocklist (ca.toml [keys] blocked_keys_file, then the store's
 * blocked_keys); ctx must outlive the use of pol. 0 or the exit class (reported). */
int keycheck_policy(struct store *st, const struct config *cfg, struct keycheck_ctx *ctx,
                    struct keygate_policy *pol);
/* The blocklist alone for a key the gate already re-encoded. 0, EXIT_POLICY, or a failure class;
 * reported as "<src>: key: blocked: ...". */
int keycheck_blocked(struct store *st, const struct config *cfg, const struct keygate_key *key,
                     const char *src);
/* Refuse a key already certified to a different subject unless the template allows reuse.
 * 0, EXIT_POLICY or EXIT_SYSTEM, reported. */
int keycheck_reuse(struct store *st, const struct tmpl *t, const struct keygate_key *key,
                   const X509_NAME *subject, const char *src);
/* The key gate for a CA key (RSA >= 2048 bits or P-256/P-384/P-521, every rule, blocklist).
 * 0 or the exit class, reported as "CA 'NAME': key: ...". */
int keycheck_ca_key(struct store *st, const struct config *cfg, EVP_PKEY *key, const char *name);

/* ---- `offca sign --batch` (batch.c): the manifest's requests prepared and signed by
 * worker threads, recorded BATCH_GROUP at a time in one write transaction each, the files
 * written only after their group committed; a re-run resumes.
 */
struct ca_signer;
struct config;
struct hsm;
struct store;
struct tmpl;

#define MAX_WORKERS 16            /* --workers: threads preparing and signing (one session each) */

/* Sign every entry of the manifest at path with CA s under template t, workers threads, with the
 * store, the HSM handle and the config given (the command layer opened them). Prints
 * the summary line; 0 when every entry was issued, skipped or recovered, else the first
 * failure's exit class (the failures are reported). */
int batch_sign(struct store *st, struct hsm *h, const struct config *cfg, struct ca_signer *s,
               const struct tmpl *t, const char *path, int workers);

/* ---- the PKCS flow (Intune PKCS profiles): the subscriber key is made here, in software,
 * used once and never stored; the certificate and key leave as PKCS#12.
 */

struct ca_signer;
struct config;
struct hsm;
struct store;
struct tmpl;
struct san;

#define MAX_PFX_PASS 1024

struct pfx_req {
    const char *alg;              /* "rsa2048" | "rsa3072" | "rsa4096" | "p256" | "p384" */
    const char *subject;          /* RFC 4514 */
    const struct san *sans;
    size_t n_sans;
    const char *sid;
    int days;
    const char *out;              /* .p12 path, written 0600 */
    const char *pass_file;        /* or NULL: $OFFCA_PFX_PASS, else a prompt */
};

/* Generate, issue (same pipeline as a CSR) with CA s in the token h, record in store, then write
 * PKCS#12 protected with AES-256-CBC + PBKDF2 (HMAC-SHA256) and a SHA-256 MAC. 0 or the exit
 * class (reported). */
int pfx_issue(struct store *store, struct hsm *h, const struct config *cfg, struct ca_signer *s,
              const struct tmpl *t, const struct pfx_req *r);

#endif
