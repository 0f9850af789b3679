/*
 * sid.h — Windows security identifiers: the string syntax (MS-DTYP 2.4.2.1), the binary objectSid
 * of directory exports (MS-DTYP 2.4.2.2), the SID security extension 1.3.6.1.4.1.311.25.2
 * (MS-WCCE 2.2.2.7.7.4) and the SAN URL form (KB5014754). One parser for the templates, the
 * directory import and doctor. Errors go to the one error slot (base/err.h). base/ depends on
 * nothing of ours.
 */
#ifndef OFFCA_BASE_SID_H
#define OFFCA_BASE_SID_H

#include <stddef.h>
#include <openssl/x509v3.h>

#include "base/limits.h"
#include "base/oids.h"

#define SID_URL_PREFIX "tag:microsoft.com,2022-09-14:sid:"   /* the SAN URL form (KB5014754) */

/* Strict MS-DTYP 2.4.2.1 syntax check of a string SID (canonical form only). 1 ok / 0 with a
 * message saying which rule failed (class 1 — a SID is policy input). */
int sid_check(const char *sid) __attribute__((warn_unused_result));
/* Binary objectSid (revision, count, 6-byte BE authority, LE sub-authorities) -> string SID. */
int sid_from_binary(const unsigned char *bin, size_t len, char *out, size_t outlen)
    __attribute__((warn_unused_result));
/* The SID security extension 1.3.6.1.4.1.311.25.2, non-critical, DER byte-exact with Windows. */
X509_EXTENSION *sid_ext_build(const char *sid);
/* Read the SID from such an extension (checks its structure and the SID syntax). */
int sid_ext_parse(const X509_EXTENSION *ext, char *out, size_t outlen)
    __attribute__((warn_unused_result));
/* "tag:microsoft.com,2022-09-14:sid:<SID>" into buf; 1 ok / 0 when it does not fit. */
int sid_san_url(const char *sid, char *buf, size_t buflen);
/* If uri is a SID SAN URL, copy the SID into out and return 1; 0 when it is not one; -1 when it
 * has the prefix but a malformed SID (message set). */
int sid_from_san_url(const char *uri, char *out, size_t outlen);

#endif
