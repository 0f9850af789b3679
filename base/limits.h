/*
 * limits.h — the size limits that more than one folder must agree on, each with its source.
 * A limit that only one file uses stays next to its use. base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_LIMITS_H
#define OFFCA_BASE_LIMITS_H

#define MAX_CA_NAME      64    /* a CA's name in ca.toml, the store and file names */
#define MAX_OID_CHARS    128   /* dotted OID text, terminator included (AD template OIDs reach ~90) */
#define MAX_SID_CHARS    183   /* S-1-<48-bit authority>-<15 sub-authorities> (MS-DTYP 2.4.2) */
#define MAX_DNS_CHARS    253   /* a dNSName, no trailing dot (RFC 1034 3.1) */
#define MAX_DNS_LABEL    63    /* one label of it (RFC 1034 3.1) */
#define MAX_SERIAL_BYTES 20    /* a certificate serial offca issues or lists (RFC 5280 4.1.2.2) */
#define MAX_URL_LEN      2048  /* a CDP / AIA / IDP URL */
#define MAX_PATH_BYTES   4096  /* a file path offca opens or writes (Linux PATH_MAX) */

#endif
