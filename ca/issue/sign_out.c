/*
 * sign_out.c — one output of `offca sign` (-o FILE or --pfx FILE) that outlives a kill.
 *
 * The output is staged before the certificate is recorded, as ".<FILE>.offca-stage-<serial>"
 * next to FILE (a PKCS#12 is also flushed then: it holds the only copy of its key), and moved to
 * FILE only after the commit. A run killed in between leaves the staged file; the next run for
 * the same FILE finds it: when its serial is recorded the output is recovered (the certificate
 * from the store; the PKCS#12 moved into place) and nothing is issued again; when it is not
 * recorded (killed before the commit) it is removed and the request is issued normally.
 */
#include "ca/issue/issue_int.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"

/* Is the serial (hex) recorded? 1 and *r / 0 not / -1 store error (one read transaction). */
int sign_out_recorded(struct store *st, const char *hex, struct cert_rec *r)
{
    unsigned char serial[MAX_STORE_SERIAL];
    struct store_txn *t;
    size_t n = 0;
    int found;

    if (!serial_parse(hex, serial, sizeof(serial), &n))
        return 0;
    if ((t = store_txn_begin(st, 0)) == NULL)
        return -1;
    found = store_cert_find(t, serial, n, r);
    store_txn_abort(t);
    return found;
}

/* Is the recorded certificate the one this request asks for? Same public key (-o: the CSR's)
 * or same subject (--pfx: the key is new, the subject is what the operator gave). */
static int same_request(const struct cert_rec *r, EVP_PKEY *key, const X509_NAME *subject)
{
    X509 *x = der_to_x509(r->der, r->der_len);
    int same = 0;

    if (x != NULL && key != NULL)
        same = EVP_PKEY_eq(X509_get0_pubkey(x), key) == 1;
    else if (x != NULL && subject != NULL)
        same = X509_NAME_cmp(X509_get_subject_name(x), subject) == 0;
    ERR_clear_error();
    X509_free(x);
    return same;
}

static int remove_staged(const char *out, const char *tmp)
{
    if (unlink(tmp) == 0 || errno == ENOENT)
        return 0;
    report("%s: remove %s: %s; check the directory's permissions", out, tmp, strerror(errno));
    return EXIT_SYSTEM;
}

/* Recover one staged file whose serial is recorded: the certificate written from the store
 * (place == NULL) or the staged file itself moved into place (PKCS#12). */
static int recover_one(const struct sign_out_req *q, const struct cert_rec *r, const char *tag,
                       const char *tmp)
{
    int rc;

    if (!same_request(r, q->key, q->subject)) {
        report("%s: a run killed after recording certificate %s left %s, for another request "
               "than this one; get that certificate with 'offca export %s -o FILE' (or revoke "
               "it), remove %s, then run this command again (nothing was issued)", q->out, tag,
               tmp, tag, tmp);
        return EXIT_USAGE;
    }
    if (q->pfx)
        rc = file_place_staged(tmp, q->out);
    else if ((rc = sign_out_write(r, q->out, q->der)) == 0)
        rc = remove_staged(q->out, tmp);
    if (rc == 0)
        fprintf(stderr, "offca: %s: recovered certificate %s (issued and recorded by an "
                "interrupted run); nothing new was issued\n", q->out, tag);
    return rc;
}

/* Before issuing: recover, refuse or sweep what an interrupted run left for q->out. */
int sign_out_recover(struct store *st, const struct sign_out_req *q, int *recovered)
{
    char tag[2 * MAX_STORE_SERIAL + 1], tmp[4096];
    struct cert_rec r;
    int found, rc = 0;

    *recovered = 0;
    while (rc == 0 && !*recovered &&
           (found = file_stage_find(q->out, tag, sizeof(tag), tmp, sizeof(tmp))) != 0) {
        if (found < 0)
            return EXIT_SYSTEM;
        memset(&r, 0, sizeof(r));
        if ((found = sign_out_recorded(st, tag, &r)) < 0) {
            report("%s: store: cannot look up serial %s; check the store", q->out, tag);
            return EXIT_SYSTEM;
        }
        if (found) {
            if ((rc = recover_one(q, &r, tag, tmp)) == 0)
                *recovered = 1;
        } else {
            rc = remove_staged(q->out, tmp);    /* killed before the commit: nothing issued */
        }
        cert_rec_clear(&r);
    }
    return rc;
}

/* PEM or DER of a recorded certificate, written atomically to out ("-" stdout). */
int sign_out_write(const struct cert_rec *r, const char *out, int der)
{
    BIO *b = NULL;
    char *p = NULL;
    long n;
    int rc;

    if (der)
        return file_write(out, r->der, r->der_len, 0644, 0);
    if ((b = BIO_new(BIO_s_mem())) == NULL ||
        !PEM_write_bio(b, PEM_STRING_X509, "", r->der, (long)r->der_len) ||
        (n = BIO_get_mem_data(b, &p)) <= 0) {
        BIO_free(b);
        report("%s: output: out of memory while encoding; free memory and retry", out);
        return EXIT_SYSTEM;
    }
    rc = file_write(out, p, (size_t)n, 0644, 0);
    BIO_free(b);
    return rc;
}

/* A recorded certificate whose output is not in place: serial, where it is, how to revoke. */
void sign_out_unwritten(const struct cert_rec *r, const char *out, const char *kept)
{
    char hex[2 * MAX_STORE_SERIAL + 1];

    serial_hex(r->serial, r->serial_len, hex);
    if (kept != NULL && kept[0] != '\0')
        report("certificate %s was issued and recorded, but %s could not be put in place; the "
               "complete file is %s: move it there yourself, or run the same command again "
               "(it recovers it, nothing new is issued); if it is lost, revoke the certificate: "
               "offca revoke --ca %s --serial %s", hex, out ? out : "the output", kept, r->ca,
               hex);
    else
        report("certificate %s was issued and recorded, but not written; get it with 'offca "
               "export %s -o FILE' (do not sign the request again), or revoke it: offca revoke "
               "--ca %s --serial %s", hex, hex, r->ca, hex);
}

/* The certificate of is as PEM or DER bytes (malloc'd; caller frees), or NULL: no memory. */
unsigned char *sign_out_bytes(const struct issued *is, int der, size_t *len)
{
    BIO *b;
    char *p;
    unsigned char *copy = NULL;
    long n;

    if (der) {
        if ((copy = malloc(is->rec.der_len)) != NULL) {
            memcpy(copy, is->rec.der, is->rec.der_len);
            *len = is->rec.der_len;
        }
        return copy;
    }
    if ((b = BIO_new(BIO_s_mem())) == NULL ||
        !PEM_write_bio(b, PEM_STRING_X509, "", is->rec.der, (long)is->rec.der_len)) {
        BIO_free(b);
        return NULL;
    }
    n = BIO_get_mem_data(b, &p);
    if ((copy = malloc((size_t)n)) != NULL) {
        memcpy(copy, p, (size_t)n);
        *len = (size_t)n;
    }
    BIO_free(b);
    return copy;
}

/* Refuse an output path before anything is issued: an existing file is never replaced, and its
 * directory must be writable (a certificate that cannot be written after the commit is issued
 * all the same). 0 or EXIT_USAGE, reported. */
int sign_out_check(const char *out, const char *where)
{
    char dir[4096];

    if (out == NULL || strcmp(out, "-") == 0)
        return 0;
    if (access(out, F_OK) == 0) {
        report("%s: %s: exists; remove it or choose another output file (nothing was issued)",
               where, out);
        return EXIT_USAGE;
    }
    snprintf(dir, sizeof(dir), "%s", out);
    if (access(dirname(dir), W_OK | X_OK) != 0) {
        report("%s: %s: the directory is missing or not writable; create it or choose another "
               "output file (nothing was issued)", where, out);
        return EXIT_USAGE;
    }
    return 0;
}

/* Write an issued (committed) certificate; when that fails, say how to get it from the store. */
int sign_out_issued(const struct issued *is, const char *out, int der)
{
    int rc = sign_out_write(&is->rec, out ? out : "-", der);

    if (rc != 0)
        sign_out_unwritten(&is->rec, out, NULL);
    return rc;
}

/* Stage the certificate next to out, named after its serial, before it is recorded: a directory
 * that refuses the file refuses the request while nothing is issued. 0 or the class. */
int sign_out_stage(const struct issued *is, const char *out, int der, struct file_staged **st)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    size_t len = 0;
    unsigned char *data = sign_out_bytes(is, der, &len);
    int rc;

    if (data == NULL) {
        report("%s: output: out of memory while encoding; free memory and retry", out);
        return EXIT_SYSTEM;
    }
    serial_hex(is->rec.serial, is->rec.serial_len, hex);
    if ((rc = file_stage_tagged(out, hex, data, len, 0644, st)) != 0)
        report("%s: the certificate could not be written next to it; nothing was issued; free "
               "space or fix the directory, then run the command again", out);
    free(data);
    return rc;
}
