/*
 * adopt_crl.c — the old CA's last CRL (--last-crl): signed by the imported CA's key, a full CRL
 * (no delta indicator) with a CRL number (RFC 5280 5.2.3). Its number continues offca's
 * numbering; its entries are cross-checked against the adopted database and taken as they are
 * (see adopt.c).
 */
#include "ca/authority/authority.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"

#define MAX_LAST_CRL_BYTES (512L * 1024 * 1024)

static X509_CRL *crl_load(const char *path, char dg[65])
{
    unsigned char *data = NULL;
    size_t len = 0;
    X509_CRL *crl;

    if (file_load(path, MAX_LAST_CRL_BYTES, &data, &len) != 0)
        return NULL;
    adopt_sha256_hex(data, len, dg);
    crl = crl_parse(data, len, path);   /* DER or PEM, nothing after it */
    free(data);
    if (crl == NULL)
        report("%s: not a CRL (PEM or DER); give the old CA's last full CRL", path);
    return crl;
}

/* Signature, issuer, full CRL, number. 0 or EXIT_INPUT (reported). */
static int crl_check(const char *path, X509_CRL *crl, X509 *ca, struct adopt_set *s)
{
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    uint64_t n = 0;
    int ok = 1;

    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0 ||
        X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
        report("%s: RFC 5280 6.3.3 (f): the CRL is not signed by the imported CA's key; give the "
               "last CRL of this CA", path);
        ok = 0;
    } else if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        report("%s: a delta CRL; give the old CA's last full (base) CRL", path);
        ok = 0;
    } else if (num == NULL || !ASN1_INTEGER_get_uint64(&n, num) || n >= UINT64_MAX / 2) {
        report("%s: RFC 5280 5.2.3: no CRL number (or one offca cannot continue); give "
               "--crl-number N instead", path);
        ok = 0;
    }
    ERR_clear_error();
    ASN1_INTEGER_free(num);
    if (!ok)
        return EXIT_INPUT;
    s->crl_number = n;
    s->crl_this_update = asn1_time_to_time(X509_CRL_get0_lastUpdate(crl));
    if (X509_CRL_get0_nextUpdate(crl))
        s->crl_next_update = asn1_time_to_time(X509_CRL_get0_nextUpdate(crl));
    return 0;
}

static int entry_reason(X509_REVOKED *r, time_t *invalidity)
{
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
    ASN1_GENERALIZEDTIME *g = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, NULL, NULL);
    int reason = e ? (int)ASN1_ENUMERATED_get(e) : -1;

    *invalidity = g ? asn1_time_to_time(g) : 0;
    ASN1_ENUMERATED_free(e);
    ASN1_GENERALIZEDTIME_free(g);
    return reason;
}

/* One CRL entry against the database. 0 or EXIT_INPUT (reported). */
static int crl_entry(const char *path, X509_REVOKED *r, struct adopt_set *s, int loose)
{
    const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(r);
    struct adopt_cert key, *c = NULL;
    char hex[2 * MAX_STORE_SERIAL + 1] = "?", when[32], was[32];
    const char *why = NULL;
    time_t at = asn1_time_to_time(X509_REVOKED_get0_revocationDate(r)), inv;
    int reason = entry_reason(r, &inv), same;

    memset(&key, 0, sizeof(key));
    if (ASN1_STRING_type(sn) == V_ASN1_INTEGER && ASN1_STRING_length(sn) > 0 &&
        adopt_serial_canon(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn), &key,
                           &why)) {
        serial_hex(key.serial, key.serial_len, hex);
        c = adopt_find(s, key.serial, key.serial_len);
    }
    if (c == NULL || !c->revoked) {
        report("%s: serial %s is on the old CA's last CRL but %s; adopt the database this CRL "
               "came from (an adopted CA must keep listing what it revoked)", path, hex,
               c ? "valid in the database" : "not in the database");
        return EXIT_INPUT;
    }
    same = reason == c->reason || (loose && reason <= 0 && c->reason <= 0);
    if (!same || (loose ? labs((long)(at - c->revoked_at)) >= 60 : at != c->revoked_at) ||
        (!loose && inv != c->invalidity)) {
        time_iso(at, when);
        time_iso(c->revoked_at, was);
        report("%s: serial %s: the CRL says revoked %s reason %d, %s says %s reason %d; adopt the "
               "database this CRL came from%s", path, hex, when, reason, c->where, was, c->reason,
               loose ? " (or give --utc-offset as the CA machine's offset)" : "");
        return EXIT_INPUT;
    }
    c->revoked_at = at;
    c->reason = reason;
    c->invalidity = inv;
    c->on_crl = 1;
    s->n_on_crl++;
    return 0;
}

/* Revoked in the database before the CRL was made, not expired then, yet not on it. */
static int crl_missing(const char *path, const struct adopt_set *s)
{
    char when[32];

    for (size_t i = 0; i < s->n; i++) {
        const struct adopt_cert *c = &s->c[i];
        if (c->revoked && !c->on_crl && c->revoked_at < s->crl_this_update &&
            c->not_after >= s->crl_this_update) {
            time_iso(c->revoked_at, when);
            report("%s: revoked %s, before the CRL %s was made, but not on it; give the old CA's "
                   "last CRL (openssl ca -gencrl / certutil -CRL) with the current database",
                   c->where, when, path);
            return EXIT_INPUT;
        }
    }
    return 0;
}

/*
 * Read the old CA's last CRL at path and cross-check it against s (sorted by serial): sets the
 * CRL number and times in s, takes each listed entry's date, reason and invalidity date. 0 or
 * EXIT_INPUT (reported).
 */
int adopt_read_last_crl(const char *path, X509 *ca, struct adopt_set *s)
{
    char dg[65];
    X509_CRL *crl = crl_load(path, dg);
    STACK_OF(X509_REVOKED) *rev;
    int rc, loose = s->source && strcmp(s->source, "certutil") == 0;

    if (crl == NULL)
        return EXIT_INPUT;
    rc = crl_check(path, crl, ca, s);
    rev = X509_CRL_get_REVOKED(crl);
    for (int i = 0; rc == 0 && i < sk_X509_REVOKED_num(rev); i++)
        rc = crl_entry(path, sk_X509_REVOKED_value(rev, i), s, loose);
    if (rc == 0)
        rc = crl_missing(path, s);
    if (rc == 0)
        adopt_digest_add(s, "last-crl", dg);
    X509_CRL_free(crl);
    return rc;
}
