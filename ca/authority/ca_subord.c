/*
 * ca_subord.c — `offca ca sign-subordinate`: the root machine certifies an issuing CA whose key
 * lives on another machine (its request made there by `offca ca csr`, AD CS or any CA
 * software). The request passes the request gate and proof of possession (csr_load), its key
 * the CA key gate (keycheck_ca_key); the certificate is built exactly as for create-issuing
 * (ca_cert_issue: basicConstraints, keyUsage, AKID/SKID, the parent's CDP and AIA, validity
 * capped by the parent, lint before the token signs), recorded under the parent with its audit
 * record in one transaction, and only then written out. Extensions requested in the CSR are not
 * copied: the parent decides what a CA certificate says.
 */
#include "ca/authority/authority.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/pem.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "ca/store/store.h"

/* The output must not exist yet: refused before anything is signed (an existing file is never
 * replaced, and a refusal after the commit would leave a certificate nobody has). */
static int out_free(const char *out)
{
    struct stat st;

    if (strcmp(out, "-") == 0)
        return 0;
    if (lstat(out, &st) == 0) {
        report("%s: already exists; choose another -o FILE (nothing was signed)", out);
        return EXIT_USAGE;
    }
    if (errno != ENOENT) {
        report("%s: cannot check it: %s; fix the path (nothing was signed)", out, strerror(errno));
        return EXIT_SYSTEM;
    }
    return 0;
}

/* The request: gate, proof of possession, no SHA-1, a subject, the CA key gate. */
static int subord_csr(struct store *st, const struct config *cfg, const char *file,
                      struct csr **out)
{
    X509_NAME *subj;
    int rc;

    if ((rc = csr_load(file, out)) != 0)
        return rc;
    subj = X509_REQ_get_subject_name((*out)->req);
    if ((*out)->sig_sha1) {
        report("%s: request signature: SHA-1 is not accepted for a CA request (CA/B BR 7.1.3.2); "
               "make the request again with SHA-256 ('offca ca csr' does)", file);
        rc = EXIT_POLICY;
    } else if (subj == NULL || X509_NAME_entry_count(subj) == 0) {
        report("%s: subject: empty; a CA certificate needs a subject (RFC 5280 4.1.2.6); make the "
               "request again with --subject", file);
        rc = EXIT_POLICY;
    } else {
        rc = keycheck_ca_key(st, cfg, (*out)->pubkey, file);
    }
    if (rc != 0) {
        csr_free(*out);
        *out = NULL;
    }
    return rc;
}

/* One write transaction: the certificate under the parent, with the key generation that signed
 * it (its revocation goes on that key's CRL), and its audit record. */
static int subord_record(struct store *st, const struct ca_signer *parent, X509 *x,
                         const char *file)
{
    struct store_txn *t = store_txn_begin(st, 1);
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    char hex[2 * MAX_STORE_SERIAL + 1] = "", detail[512];
    char *subj = dn_format(X509_get_subject_name(x));
    int ok;

    if (t == NULL) {
        OPENSSL_free(subj);
        return fail_store();
    }
    if (sn->length <= MAX_STORE_SERIAL)
        serial_hex(sn->data, (size_t)sn->length, hex);
    snprintf(detail, sizeof(detail), "serial=%s subject=%s csr=%s key_index=%u", hex,
             subj ? subj : "?", file, parent->key_index);
    ok = subj != NULL &&
         ca_record_under_parent(t, parent->rec.name, parent->key_index, "(CA certificate)", x) &&
         store_audit_append(t, "ca.sign-subordinate", parent->rec.name, "ok", detail);
    OPENSSL_free(subj);
    return txn_finish(t, ok);
}

/* The PEM of x to out (0644), after the commit; a failure names the serial to export again. */
static int subord_write(X509 *x, const char *out, const char *parent)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    char hex[2 * MAX_STORE_SERIAL + 1] = "";
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long len;
    int rc = EXIT_SYSTEM;

    if (sn->length <= MAX_STORE_SERIAL)
        serial_hex(sn->data, (size_t)sn->length, hex);
    if (b != NULL && PEM_write_bio_X509(b, x) && (len = BIO_get_mem_data(b, &pem)) > 0)
        rc = file_write(out, pem, (size_t)len, 0644, 0);
    if (rc != 0)
        report("%s: the certificate %s is recorded under CA '%s' but was not written; write it "
               "with 'offca export %s -o FILE'", out, hex, parent, hex);
    BIO_free(b);
    return rc;
}

static void subord_summary(const char *parent, X509 *x, const struct ca_cert_req *q,
                           const char *out)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    char nb[32], na[32], hex[2 * MAX_STORE_SERIAL + 1] = "";
    char *subj = dn_format(X509_get_subject_name(x));

    if (sn->length <= MAX_STORE_SERIAL)
        serial_hex(sn->data, (size_t)sn->length, hex);
    time_iso(asn1_time_to_time(X509_get0_notBefore(x)), nb);
    time_iso(asn1_time_to_time(X509_get0_notAfter(x)), na);
    if (strcmp(out, "-") != 0)
        printf("signed subordinate CA certificate under '%s'\n  subject:  %s\n  serial:   %s\n"
               "  valid:    %s .. %s\n  CDP:      %s\n  AIA:      %s\n  wrote:    %s\n"
               "carry %s and the root's certificate ('offca crl publish --ca %s --out DIR' writes "
               "it with the CRL) to the issuing machine: offca ca import NAME --cert %s --chain "
               "%s.crt\n", parent, subj ? subj : "?", hex, nb, na, q->cdp ? q->cdp : "(none)",
               q->aia ? q->aia : "(none)", out, out, parent, out, parent);
    OPENSSL_free(subj);
}

int ca_subord_check(const struct ca_subord_req *r)
{
    int rc;

    if ((rc = ca_name_check(r->parent)) != 0)
        return rc;
    return out_free(r->out);
}

int ca_sign_subordinate(struct store *st, struct hsm *h, const struct config *cfg,
                        const struct ca_subord_req *r)
{
    struct ca_create_req cr;
    struct ca_signer parent;
    struct ca_cert_req q;
    struct csr *csr = NULL;
    X509 *x = NULL;
    int rc;

    memset(&parent, 0, sizeof(parent));
    memset(&q, 0, sizeof(q));
    memset(&cr, 0, sizeof(cr));
    cr.name = r->csr_file;
    cr.parent = r->parent;
    cr.days = r->days;
    cr.path_len = r->path_len;
    cr.no_cdp = r->no_cdp;
    if ((rc = ca_subord_check(r)) != 0 || (rc = subord_csr(st, cfg, r->csr_file, &csr)) != 0 ||
        (rc = ca_signer_open(st, h, cfg, r->parent, &parent)) != 0)
        goto out;
    q.r = &cr;
    q.parent = &parent;
    q.subject = X509_REQ_get_subject_name(csr->req);
    q.pubkey = csr->pubkey;
    q.key = &csr->key;
    q.skew = parent.cfg->clock_skew;
    if ((x = ca_cert_issue(h, &q, &rc)) == NULL ||
        (rc = subord_record(st, &parent, x, r->csr_file)) != 0)
        goto out;
    if ((rc = subord_write(x, r->out, r->parent)) == 0)
        subord_summary(r->parent, x, &q, r->out);
out:
    X509_free(x);
    csr_free(csr);
    ca_signer_close(&parent);
    return rc;
}
