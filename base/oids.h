/*
 * oids.h — the Microsoft object identifiers offca writes or reads, in one place.
 * Specs: MS-WCCE 2.2.2.7 (certificate extensions), MS-CRTD (template extensions), KB5014754
 * (the SID security extension). base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_OIDS_H
#define OFFCA_BASE_OIDS_H

#define OID_NTDS_CA_SECURITY_EXT "1.3.6.1.4.1.311.25.2"   /* SID security extension */
#define OID_NTDS_OBJECTSID       "1.3.6.1.4.1.311.25.2.1" /* its otherName holding the SID */
#define OID_MS_UPN               "1.3.6.1.4.1.311.20.2.3" /* userPrincipalName otherName */
#define OID_MS_TEMPLATE_NAME     "1.3.6.1.4.1.311.20.2"   /* certificate template name (v1) */
#define OID_MS_TEMPLATE_INFO     "1.3.6.1.4.1.311.21.7"   /* certificate template information (v2) */
#define OID_MS_APP_POLICIES      "1.3.6.1.4.1.311.21.10"  /* application policies */
#define OID_MS_CA_VERSION        "1.3.6.1.4.1.311.21.1"   /* CA Version (key and cert index) */
#define OID_MS_PREV_CA_HASH      "1.3.6.1.4.1.311.21.2"   /* Previous CA Certificate Hash */
#define OID_MS_NEXT_CRL_PUBLISH  "1.3.6.1.4.1.311.21.4"   /* Next CRL Publish */
#define OID_MS_SMARTCARD_LOGON   "1.3.6.1.4.1.311.20.2.2" /* Smart Card Logon EKU */

#endif
