/*
 * issue_int.h — the single output of `offca sign` (-o FILE, --pfx FILE): staged before the
 * commit as ".<FILE>.offca-stage-<serial>", moved into place after it, recovered or swept by
 * the next run for the same FILE (see sign_out.c).
 */
#ifndef OFFCA_SIGN_OUT_H
#define OFFCA_SIGN_OUT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/store/store.h"

struct issued;
struct file_staged;

struct sign_out_req {
    const char *out;              /* the output file */
    int der;                      /* -o: DER instead of PEM */
    int pfx;                      /* 1: the staged file is the PKCS#12 itself (moved into place) */
    EVP_PKEY *key;                /* -o: the CSR's key (a staged certificate must carry it) */
    const X509_NAME *subject;     /* --pfx: the subject asked for */
};

/* Before issuing: handle staged files an interrupted run left for q->out. A recorded one for
 * this request is recovered (*recovered = 1: do not issue); one for another request is refused
 * with the way out (EXIT_USAGE); an unrecorded one is removed. 0 or the class, reported. */
int sign_out_recover(struct store *st, const struct sign_out_req *q, int *recovered);
/* Is the serial (hex) recorded? 1 and *r (cert_rec_clear it) / 0 not / -1 store error. */
int sign_out_recorded(struct store *st, const char *hex, struct cert_rec *r);
/* Write a recorded certificate (PEM, or DER) atomically to out ("-": stdout). 0 or the class. */
int sign_out_write(const struct cert_rec *r, const char *out, int der);
/* A recorded certificate whose output is not in place: say so, with its serial, how to get it
 * (kept: the staged file that holds it, or NULL: 'offca export') and how to revoke it. */
void sign_out_unwritten(const struct cert_rec *r, const char *out, const char *kept);

/* The certificate of is as PEM or DER bytes (malloc'd; caller frees), or NULL: no memory. */
unsigned char *sign_out_bytes(const struct issued *is, int der, size_t *len);
/* Refuse an output path before anything is issued: an existing file is never replaced, and its
 * directory must be writable. NULL or "-" (stdout) pass. 0 or EXIT_USAGE, reported. */
int sign_out_check(const char *out, const char *where);
/* Write an issued (committed) certificate to out ("-": stdout); when that fails, say how to get
 * it from the store. 0 or the class. */
int sign_out_issued(const struct issued *is, const char *out, int der);
/* Stage the certificate next to out, named after its serial, before it is recorded: a directory
 * that refuses the file refuses the request while nothing is issued. 0 or the class. */
int sign_out_stage(const struct issued *is, const char *out, int der, struct file_staged **st);
#endif
