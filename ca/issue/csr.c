/*
 * csr.c — the one parser of certificate requests (RFC 2986 PKCS#10), PEM or DER, from untrusted
 * files. Parse once into struct csr; nothing downstream touches the raw bytes again.
 * Every refusal is malformed or untrustworthy input: EXIT_INPUT.
 */
#include "ca/common/common.h"
#include "ca/issue/issue.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MAX_CSR_EXTENSIONS 64
#define MAX_ERRTEXT        512

static const char FIX_REGEN[] = "regenerate the request";

/* Drain the OpenSSL error queue into buf ("" when empty): its codes never leave this file. */
static const char *ossl_errtext(char *buf, size_t len)
{
    base_ossl_drain(buf, len);
    return buf[0] != '\0' ? buf : "no detail from OpenSSL";
}

/* "subjectAltName (2.5.29.17)", or the dotted OID alone when OpenSSL has no name for it. */
static const char *oid_text(const ASN1_OBJECT *o, char *buf, size_t len)
{
    char num[80];
    int nid = OBJ_obj2nid(o);

    OBJ_obj2txt(num, sizeof(num), o, 1);
    if (nid != NID_undef)
        snprintf(buf, len, "%s (%s)", OBJ_nid2sn(nid), num);
    else
        snprintf(buf, len, "%s", num);
    return buf;
}

static size_t skip_space(const unsigned char *d, size_t len, size_t i)
{
    while (i < len && isspace(d[i]))
        i++;
    return i;
}

/* "-----BEGIN X-----" inside [d, d+len) from i onwards? */
static int find_begin(const unsigned char *d, size_t len, size_t i)
{
    static const char tag[] = "-----BEGIN ";
    size_t n = sizeof(tag) - 1;

    for (; i + n <= len; i++)
        if (memcmp(d + i, tag, n) == 0)
            return 1;
    return 0;
}

/* Decode exactly one PEM request block starting at d[start]. On success *der (OPENSSL_free) and
 * *derlen; 0 or EXIT_INPUT, reported. */
static int pem_decode(const unsigned char *d, size_t len, size_t start, const char *src,
                      unsigned char **der, long *derlen)
{
    char err[MAX_ERRTEXT], *name = NULL, *header = NULL;
    unsigned char *body = NULL;
    const unsigned char *tail;
    BIO *bio = NULL;
    int rc = EXIT_INPUT;
    size_t taillen, eol = start;

    /* the first line must be a whole BEGIN line: PEM_read_bio would skip a damaged one and
     * take a later block */
    while (eol < len && d[eol] != '\n')
        eol++;
    if (eol > start && d[eol - 1] == '\r')
        eol--;
    if (eol - start < 16 || memcmp(d + eol - 5, "-----", 5) != 0) {
        report("%s: PEM (RFC 7468): the BEGIN line is damaged; %s", src, FIX_REGEN);
        goto out;
    }
    bio = BIO_new_mem_buf(d + start, (int)(len - start));
    if (bio == NULL) {
        report("%s: PEM: out of memory; free memory and retry", src);
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (!PEM_read_bio_ex(bio, &name, &header, &body, derlen, PEM_FLAG_ONLY_B64)) {
        report("%s: PEM (RFC 7468): the block does not decode (%s); check the file is a whole, "
               "unedited PEM request", src, ossl_errtext(err, sizeof(err)));
        goto out;
    }
    if (strcmp(name, "CERTIFICATE REQUEST") != 0 && strcmp(name, "NEW CERTIFICATE REQUEST") != 0) {
        report("%s: PEM (RFC 7468): the block is a '%.64s', not a CERTIFICATE REQUEST; pass the "
               "request file", src, name);
        goto out;
    }
    if (header[0] != '\0') {
        report("%s: PEM (RFC 7468): the request carries PEM headers (encrypted PEM?); %s", src,
               FIX_REGEN);
        goto out;
    }
    /* anything after the END line must be whitespace: no second request, no appended text */
    tail = d + len - BIO_pending(bio);
    taillen = (size_t)BIO_pending(bio);
    if (skip_space(tail, taillen, 0) != taillen) {
        if (find_begin(tail, taillen, 0))
            report("%s: one request per file: a PEM file holding two CSRs; split it into one "
                   "file per request", src);
        else
            report("%s: PEM (RFC 7468): text after the END line; remove it or %s", src,
                   FIX_REGEN);
        goto out;
    }
    *der = body;
    body = NULL;
    rc = 0;
out:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(body);
    BIO_free(bio);
    return rc;
}

/* d2i the whole DER; refuses trailing bytes. *req on success. */
static int der_decode(const unsigned char *der, long len, const char *src, X509_REQ **req)
{
    char err[MAX_ERRTEXT];
    const unsigned char *p = der;
    X509_REQ *r;
    int rc;

    if ((r = d2i_X509_REQ(NULL, &p, len)) == NULL) {
        report("%s: PKCS#10 (RFC 2986): not a certificate request, or a damaged one (%s); check "
               "the file, or %s", src, ossl_errtext(err, sizeof(err)), FIX_REGEN);
        return EXIT_INPUT;
    }
    if (p != der + len) {
        report("%s: DER: %ld trailing bytes after the request; pass a file holding the request "
               "alone, or %s", src, (long)(der + len - p), FIX_REGEN);
        X509_REQ_free(r);
        return EXIT_INPUT;
    }
    if ((rc = csr_gate_der(der, (size_t)len, src)) != 0) {
        X509_REQ_free(r);
        return rc;
    }
    *req = r;
    return 0;
}

/* Subject attribute values with an embedded NUL ("admin\0.evil.com") are refused: C string
 * handling downstream would see a different name than the one that gets signed. */
static int subject_check(const X509_REQ *req, const char *src)
{
    const X509_NAME *name = X509_REQ_get_subject_name(req);
    int i, n = X509_NAME_entry_count(name), ulen;
    unsigned char *utf8;
    char oid[128];

    for (i = 0; i < n; i++) {
        const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
        oid_text(X509_NAME_ENTRY_get_object(ne), oid, sizeof(oid));
        utf8 = NULL;
        ulen = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ne));
        if (ulen < 0) {
            ERR_clear_error();
            report("%s: subject: attribute %s is not a valid string of its type; %s", src, oid,
                   FIX_REGEN);
            return EXIT_INPUT;
        }
        if (strlen((char *)utf8) != (size_t)ulen) {
            OPENSSL_free(utf8);
            report("%s: subject: attribute %s has an embedded NUL character; %s with a clean "
                   "name", src, oid, FIX_REGEN);
            return EXIT_INPUT;
        }
        OPENSSL_free(utf8);
    }
    return 0;
}

/* At most one extensionRequest attribute (PKCS#9 or the Microsoft OID) with exactly one value:
 * X509_REQ_get_extensions() silently reads only the first, so a second one would be ignored. */
static int ext_attr_check(const X509_REQ *req, const char *src)
{
    static const int nids[] = { NID_ext_req, NID_ms_ext_req };
    int found = 0, idx;
    size_t i;

    for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
        idx = -1;
        while ((idx = X509_REQ_get_attr_by_NID(req, nids[i], idx)) >= 0) {
            X509_ATTRIBUTE *a = X509_REQ_get_attr(req, idx);
            if (++found > 1 || X509_ATTRIBUTE_count(a) != 1) {
                report("%s: PKCS#9 extensionRequest: more than one list of requested "
                       "extensions; %s with a single extension list", src, FIX_REGEN);
                return EXIT_INPUT;
            }
        }
    }
    return 0;
}

/* Requested extensions: each OID at most once (RFC 5280 4.2), at most MAX_CSR_EXTENSIONS. */
static int exts_get(X509_REQ *req, const char *src, STACK_OF(X509_EXTENSION) **out)
{
    char err[MAX_ERRTEXT], oid[128];
    STACK_OF(X509_EXTENSION) *exts;
    int i, j, n;

    if (ext_attr_check(req, src) != 0)
        return EXIT_INPUT;
    if ((exts = X509_REQ_get_extensions(req)) == NULL) {
        report("%s: PKCS#9 extensionRequest: the requested extensions do not decode (%s); %s",
               src, ossl_errtext(err, sizeof(err)), FIX_REGEN);
        return EXIT_INPUT;
    }
    n = sk_X509_EXTENSION_num(exts);
    if (n > MAX_CSR_EXTENSIONS) {
        report("%s: requested extensions: %d is over the limit of %d; %s", src, n,
               MAX_CSR_EXTENSIONS, FIX_REGEN);
        goto bad;
    }
    for (i = 0; i < n; i++) {
        const ASN1_OBJECT *a = X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i));
        for (j = i + 1; j < n; j++) {
            if (OBJ_cmp(a, X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j))) == 0) {
                oid_text(a, oid, sizeof(oid));
                report("%s: RFC 5280 4.2: extension %s is requested twice; %s with each "
                       "extension once", src, oid, FIX_REGEN);
                goto bad;
            }
        }
    }
    *out = exts;
    return 0;
bad:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return EXIT_INPUT;
}

/* The key gate on the request's SubjectPublicKeyInfo, before anything uses the key: structure
 * and quality only (any size a template may allow, P-256/P-384/P-521); the template's sizes and
 * curves, the blocklist and key reuse are checked at issuance. */
static int key_check(X509_REQ *req, const char *src, struct keygate_key *key)
{
    struct keygate_policy pol = { .allow_rsa = 1, .allow_ec = 1, .rsa_min_bits = 1024,
                                  .rsa_max_bits = MAX_KEYGATE_RSA_BITS };
    unsigned char *der = NULL;
    char why[512];
    int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &der), rc;

    if (n <= 0) {
        ERR_clear_error();
        report("%s: public key: cannot be encoded; %s", src, FIX_REGEN);
        return EXIT_INPUT;
    }
    rc = keygate_check(der, (size_t)n, &pol, key, why, sizeof(why));
    OPENSSL_free(der);
    if (rc != 0)
        report("%s: %s", src, why);
    return rc;
}

/* Version, signature algorithm, key gate, key, proof of possession. *pkey (owned) on success. */
static int req_check(struct csr *c, const char *src, EVP_PKEY **pkey)
{
    char err[MAX_ERRTEXT];
    X509_REQ *req = c->req;
    long version = X509_REQ_get_version(req);
    EVP_PKEY *k;
    int rc;

    if (version != 0) {
        report("%s: RFC 2986: version %ld, only version 1 (0) is defined; %s", src, version + 1,
               FIX_REGEN);
        return EXIT_INPUT;
    }
    if ((rc = csr_gate_sigalg(req, src, &c->sig_sha1)) != 0 ||
        (rc = key_check(req, src, &c->key)) != 0)
        return rc;
    if ((k = X509_REQ_get_pubkey(req)) == NULL) {
        report("%s: public key: cannot be decoded, or an unsupported algorithm (%s); %s with an "
               "RSA or EC key", src, ossl_errtext(err, sizeof(err)), FIX_REGEN);
        return EXIT_INPUT;
    }
    if (X509_REQ_verify(req, k) != 1) {
        /* the queue only says "padding check failed" and the like: not for the operator */
        ERR_clear_error();
        report("%s: signature does not verify (proof of possession failed); %s", src, FIX_REGEN);
        EVP_PKEY_free(k);
        return EXIT_INPUT;
    }
    *pkey = k;
    return 0;
}

/*
 * Parse one certificate request from memory (PEM or DER, see issue.h for what is refused).
 * source names the request in messages. On success *out is owned by the caller (csr_free).
 * Returns 0 or an exit class, reported once.
 */
int csr_parse(const unsigned char *data, size_t len, const char *source, struct csr **out)
{
    unsigned char *pemder = NULL;
    const unsigned char *der = data;
    long derlen = (long)len;
    struct csr *c = NULL;
    size_t start = skip_space(data, len, 0);
    int rc = EXIT_INPUT;

    ERR_clear_error();
    if (start == len) {
        report("%s: request: the file is empty; pass the CSR file", source);
        goto out;
    }
    if (len > MAX_INPUT_BYTES) {
        report("%s: size limit: %zu bytes is over the %d-byte limit for a certificate request; "
               "check you passed the right file", source, len, MAX_INPUT_BYTES);
        goto out;
    }
    if (len - start >= 11 && memcmp(data + start, "-----BEGIN ", 11) == 0) {
        if ((rc = pem_decode(data, len, start, source, &pemder, &derlen)) != 0)
            goto out;
        der = pemder;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        report("%s: request: out of memory; free memory and retry", source);
        rc = EXIT_SYSTEM;
        goto out;
    }
    snprintf(c->source, sizeof(c->source), "%s", source);
    if ((rc = der_decode(der, derlen, source, &c->req)) != 0 ||
        (rc = req_check(c, source, &c->pubkey)) != 0 ||
        (rc = subject_check(c->req, source)) != 0 ||
        (rc = csr_gate_strings(X509_REQ_get_subject_name(c->req), source)) != 0 ||
        (rc = exts_get(c->req, source, &c->exts)) != 0 ||
        (rc = csr_gate_reencode(c->req, der, (size_t)derlen, c->exts, source)) != 0)
        goto out;
    *out = c;
    c = NULL;
out:
    csr_free(c);
    OPENSSL_free(pemder);
    ERR_clear_error();
    return rc;
}

/*
 * Load one request from path ("-" = stdin) through the bounded loader (MAX_INPUT_BYTES, refused
 * before reading), then csr_parse. *out owned by the caller (csr_free). 0 or an exit class.
 */
int csr_load(const char *path, struct csr **out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc;

    if ((rc = file_load(path, MAX_INPUT_BYTES, &data, &len)) != 0)
        return rc;
    rc = csr_parse(data, len, strcmp(path, "-") == 0 ? "stdin" : path, out);
    free(data);
    return rc;
}

/* Free a request and everything it owns; NULL is a no-op. */
void csr_free(struct csr *c)
{
    if (c == NULL)
        return;
    X509_REQ_free(c->req);
    EVP_PKEY_free(c->pubkey);
    keygate_key_clear(&c->key);
    sk_X509_EXTENSION_pop_free(c->exts, X509_EXTENSION_free);
    free(c);
}
