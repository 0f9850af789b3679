/*
 * issue.h — building and signing certificates (CA certificates and leaves alike), serials,
 * and the validity arithmetic. The TBS is built with OpenSSL; the signature is one C_Sign in the
 * token through hsm_sign_ctx_new().
 */
#ifndef OFFCA_ISSUE_H
#define OFFCA_ISSUE_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "ca/config.h"
#include "ca/store.h"
#include "hsm/hsm.h"
#include "templates/template.h"

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

#endif
