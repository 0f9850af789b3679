/*
 * crl_int.h — private to crl/: the error-slot names, CRL loading for doctor, shared limits.
 * Codes are the exit classes of crl.h: 1 policy, 2 usage, 3 malformed input, 4 system/IO.
 */
#ifndef OFFCA_CRL_INT_H
#define OFFCA_CRL_INT_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "crl/crl.h"

enum { CE_POLICY = ERRC_POLICY, CE_USAGE = ERRC_USAGE, CE_INPUT = ERRC_INPUT, CE_SYSTEM = ERRC_SYSTEM };

#define MAX_CRL_BYTES (1024L * 1024 * 1024)  /* a built or re-read CRL; 1M entries ~ 40 MB */

/* crl/'s short names for the one error slot (base/err.h). */
#define crl_seterr base_err_set
#define crl_seterr_ossl base_err_set_ossl
#define crl_err_clear base_err_clear
#define crl_ossl_drain base_ossl_drain

/* Read a whole file of at most max bytes (malloc'd, caller free()s). NULL with the error. */
unsigned char *crl_file_read(const char *path, long max, size_t *len);


/* Get the CRL that url names: from src->crl_dir (file = last path segment of url) or, when
 * src->fetch, over HTTP (OSSL_HTTP_get, timeout, MAX_FETCH_BYTES). NULL with error. */
X509_CRL *crl_fetch(const char *url, const struct doctor_source *src);

/* doctor internals: the certificate's label (subject CN, else the one-line subject) and the
 * leaf-only checks (EKU for EAP-TLS, SID strong mapping for AD logon). */
void doctor_cert_label(X509 *x, char *buf, size_t len);
void doctor_leaf_check(struct doctor_report *r, X509 *leaf, const char *label);
/* MS-DTYP 2.4.2.1 SID string syntax: 1 well-formed / 0. */
int doctor_sid_check(const char *s, size_t len) __attribute__((warn_unused_result));

#endif
