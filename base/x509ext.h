/*
 * x509ext.h — the X.509 extension values offca writes into both certificates and CRLs, built in
 * one place: key identifiers (RFC 5280 4.2.1.1, 4.2.1.2), a CRL distribution point with one URI
 * (4.2.1.13; also the IDP's and Freshest CRL's name, 5.2.5, 5.2.6) and the caIssuers access
 * description (4.2.2.1), and the Microsoft CA Version (MS-WCCE 2.2.2.7.3). Each returns a new OpenSSL object (the caller frees it with the type's
 * _free) or NULL when OpenSSL could not allocate it (the queue holds why). base/ depends on
 * nothing of ours.
 */
#ifndef OFFCA_BASE_X509EXT_H
#define OFFCA_BASE_X509EXT_H

#include <openssl/x509v3.h>

/* A uniformResourceIdentifier GeneralName holding url (IA5String, as given). */
GENERAL_NAME *x509ext_uri(const char *url);
/* A DistributionPointName fullName of that one URI. */
DIST_POINT_NAME *x509ext_dp_name(const char *url);
/* CRLDistributionPoints (or FreshestCRL) with one distribution point: fullName = url. */
CRL_DIST_POINTS *x509ext_cdp(const char *url);
/* AuthorityInfoAccess with one caIssuers URI. */
AUTHORITY_INFO_ACCESS *x509ext_aia_ca_issuers(const char *url);
/* AuthorityKeyIdentifier with keyIdentifier = the issuer's subjectKeyIdentifier. NULL also when
 * the issuer has none (check X509_get0_subject_key_id first to say so). */
AUTHORITY_KEYID *x509ext_akid_of(X509 *issuer);
/* subjectKeyIdentifier of x: SHA-1 of its subjectPublicKey BIT STRING (RFC 5280 4.2.1.2 (1)). */
ASN1_OCTET_STRING *x509ext_skid_of(const X509 *x);

/* A non-critical extension oid (dotted text) whose extnValue holds der[0..len): for the
 * Microsoft extensions OpenSSL has no method for. NULL when OpenSSL could not build it. */
X509_EXTENSION *x509ext_raw(const char *oid, const unsigned char *der, int len);
/* The Microsoft CA Version extension (MS-WCCE 2.2.2.7.3), non-critical, INTEGER value
 * (key index << 16 | certificate index): in a CA certificate and in its CRLs. */
X509_EXTENSION *x509ext_ca_version(unsigned long value);

#endif
