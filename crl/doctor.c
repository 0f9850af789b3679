/*
 * doctor.c — check a certificate chain the way Windows NPS checks it for EAP-TLS (README,
 * doctor; RFC 5280 6.3): every certificate but the root needs an HTTP CDP whose CRL is
 * reachable, signed by the issuer (which has cRLSign), current, scoped to that CDP, and does not
 * list it. Anything that makes the check impossible is an ERROR, because NPS then refuses the
 * logon (reason 258).
 */
#include "base/oids.h"
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define MAX_LABEL 256
#define RULE_NPS "NPS revocation check (reason 258)"
#define LAST_RESORT " (last resort only: the NPS registry values IgnoreNoRevocationCheck / " \
    "IgnoreRevocationOffline under HKLM\\SYSTEM\\CurrentControlSet\\Services\\RasMan\\PPP\\EAP\\13 " \
    "hide this, and they also disable the security revocation gives you)"

/* Subject CN, else the one-line subject. */
void doctor_cert_label(X509 *x, char *buf, size_t len)
{
    X509_NAME *n = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    unsigned char *utf8 = NULL;

    if (i >= 0 && ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
                                          X509_NAME_get_entry(n, i))) >= 0) {
        snprintf(buf, len, "%s", (char *)utf8);
        OPENSSL_free(utf8);
        return;
    }
    X509_NAME_oneline(n, buf, (int)len);
}

static void check_validity(struct doctor_report *r, X509 *x, const char *label, time_t now)
{
    time_t t = now;

    if (X509_cmp_time(X509_get0_notBefore(x), &t) > 0)
        doctor_add(r, DOCTOR_ERROR, label, "certificate validity (RFC 5280 4.1.2.5)",
                   "check the clocks of the CA host and the NPS server, or reissue",
                   "not valid yet: notBefore is in the future");
    if (X509_cmp_time(X509_get0_notAfter(x), &t) < 0)
        doctor_add(r, DOCTOR_ERROR, label, "certificate validity (RFC 5280 4.1.2.5)",
                   "renew the certificate (offca sign with a new request)", "expired");
}

/* First http:// fullName URI of the CDP; others gets the non-HTTP URIs seen. */
static int cdp_http_url(X509 *x, char *url, size_t len, char *others, size_t olen)
{
    STACK_OF(DIST_POINT) *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    int i, j, found = 0;

    others[0] = '\0';
    for (i = 0; i < sk_DIST_POINT_num(cdp) && !found; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) && !found; j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
            const char *u;

            if (gn->type != GEN_URI)
                continue;
            u = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
            if (strncmp(u, "http://", 7) == 0) {
                snprintf(url, len, "%.*s", ASN1_STRING_length(gn->d.uniformResourceIdentifier), u);
                found = 1;
            } else {
                size_t o = strlen(others);

                snprintf(others + o, olen - o, "%s%s", o ? ", " : "", u);
            }
        }
    }
    sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    return found;
}

static void check_aia(struct doctor_report *r, X509 *x, const char *label)
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
    int i, found = 0;

    for (i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++)
        found |= OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, i)->method) == NID_ad_ca_issuers;
    AUTHORITY_INFO_ACCESS_free(aia);
    if (!found)
        doctor_add(r, DOCTOR_WARN, label, "AIA caIssuers (chain building)",
                   "reissue from a CA that writes AIA caIssuers (offca does: <base_url>/NAME.crt), "
                   "or install the issuing CA certificate on the NPS server: "
                   "certutil -addstore CA issuing.cer",
                   "no AIA caIssuers URL: Windows can build the chain only if the issuer "
                   "certificate is already in a local store");
}

/* 1 when the IDP (if any) names exactly url; 0 otherwise (what it names goes to got). */
static int idp_matches(X509_CRL *crl, const char *url, char *got, size_t len)
{
    ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL,
                                                   NULL);
    int i, ok = 0;

    snprintf(got, len, "(no URI)");
    if (idp == NULL)
        return 1;
    for (i = 0; idp->distpoint && idp->distpoint->type == 0
                && i < sk_GENERAL_NAME_num(idp->distpoint->name.fullname); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, i);

        if (gn->type != GEN_URI)
            continue;
        snprintf(got, len, "%.*s", ASN1_STRING_length(gn->d.uniformResourceIdentifier),
                 (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier));
        if (strcmp(got, url) == 0)
            ok = 1;
    }
    ISSUING_DIST_POINT_free(idp);
    return ok;
}

/* thisUpdate <= now < nextUpdate; Microsoft Next CRL Publish not passed (clients refetch). */
static void check_crl_times(struct doctor_report *r, X509_CRL *crl, const char *label,
                            const char *ca, const struct doctor_source *src, X509 *issuer)
{
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
    ASN1_OBJECT *o = OBJ_txt2obj(OID_MS_NEXT_CRL_PUBLISH, 1);
    int loc = o ? X509_CRL_get_ext_by_OBJ(crl, o, -1) : -1;
    time_t t = src->now;
    const char *name = issuer && src->ca_name ? src->ca_name(src->ca_name_arg, issuer) : NULL;
    char fix[512];

    ASN1_OBJECT_free(o);
    if (name != NULL)
        snprintf(fix, sizeof(fix), "publish a fresh CRL: offca crl publish --ca %s (and run it "
                 "from cron well before nextUpdate)", name);
    else
        snprintf(fix, sizeof(fix), "publish a fresh CRL of '%s' (for an offca CA: offca crl "
                 "publish --ca NAME, NAME as 'offca ca list' shows it) well before nextUpdate",
                 ca);
    if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t) > 0)
        doctor_add(r, DOCTOR_ERROR, label, "CRL thisUpdate (RFC 5280 5.1.2.4)",
                   "check the clock of the CA host and of the NPS server",
                   "the CRL of '%s' is not valid yet (thisUpdate in the future)", ca);
    if (nu == NULL)
        doctor_add(r, DOCTOR_ERROR, label, RULE_NPS, fix,
                   "the CRL of '%s' has no nextUpdate: Windows cannot tell whether it is current",
                   ca);
    else if (X509_cmp_time(nu, &t) <= 0)
        doctor_add(r, DOCTOR_ERROR, label, RULE_NPS, fix,
                   "the CRL of '%s' expired (now is past nextUpdate): NPS refuses the logon with "
                   "reason 258 'unable to check revocation'", ca);
    if (loc >= 0) {
        ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, loc));
        const unsigned char *p = ASN1_STRING_get0_data(v);
        ASN1_TIME *np = d2i_ASN1_TIME(NULL, &p, ASN1_STRING_length(v));

        if (np == NULL)
            doctor_add(r, DOCTOR_WARN, label, "Microsoft Next CRL Publish", fix,
                       "the CRL of '%s' carries a malformed Next CRL Publish", ca);
        else if (X509_cmp_time(np, &t) <= 0)
            doctor_add(r, DOCTOR_WARN, label, "Microsoft Next CRL Publish", fix,
                       "the CRL of '%s' announced its next publication for a time that has "
                       "passed: the publisher is late, Windows clients are refetching", ca);
        ASN1_TIME_free(np);
    }
}

static void check_revoked(struct doctor_report *r, X509_CRL *crl, X509 *x, const char *label)
{
    X509_REVOKED *rev = NULL;
    ASN1_ENUMERATED *why;
    long reason = CRL_REASON_NONE;
    char when[64] = "?";
    BIO *b;

    if (X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(x)) != 1 || rev == NULL)
        return;
    if ((why = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL)) != NULL)
        reason = ASN1_ENUMERATED_get(why);
    ASN1_ENUMERATED_free(why);
    if ((b = BIO_new(BIO_s_mem())) != NULL
        && ASN1_TIME_print(b, X509_REVOKED_get0_revocationDate(rev)) > 0) {
        int n = BIO_read(b, when, sizeof(when) - 1);

        when[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    doctor_add(r, DOCTOR_ERROR, label, "revocation status (RFC 5280 5.3)",
               reason == CRL_REASON_CERTIFICATE_HOLD
               ? "if the hold is over: offca unrevoke, then offca crl publish"
               : "issue a new certificate from a new key (offca sign) and deploy it",
               "revoked on %s (reason %s)", when, crl_reason_name((crl_reason_t)reason));
}

/* The fix for a CRL that is missing or wrong: with the offca name of its CA when the caller
 * knows it (--ca NAME takes a name, not a subject CN). */
static void crl_fix_text(const struct doctor_source *src, X509 *issuer, const char *ca,
                         const char *url, char *fix, size_t n)
{
    const char *name = issuer && src->ca_name ? src->ca_name(src->ca_name_arg, issuer) : NULL;

    if (name != NULL)
        snprintf(fix, n, "publish the CRL of '%s' (offca crl publish --ca %s) and serve it at %s"
                 LAST_RESORT, ca, name, url);
    else
        snprintf(fix, n, "publish the CRL of '%s' (for an offca CA: offca crl publish --ca NAME, "
                 "NAME as 'offca ca list' shows it) and serve it at %s" LAST_RESORT, ca, url);
}

/* The CRL behind url: issuer, signature, cRLSign, times, scope, this certificate's status. */
static void check_crl(struct doctor_report *r, X509 *x, X509 *issuer, const char *label,
                      const char *url, const struct doctor_source *src)
{
    char ca[MAX_LABEL], fix[512], got[MAX_URL_LEN + 1];
    X509_CRL *crl = crl_fetch(url, src);
    EVP_PKEY *ikey = issuer ? X509_get0_pubkey(issuer) : NULL;

    doctor_cert_label(issuer ? issuer : x, ca, sizeof(ca));
    crl_fix_text(src, issuer, ca, url, fix, sizeof(fix));
    if (crl == NULL) {
        doctor_add(r, DOCTOR_ERROR, label, RULE_NPS, fix, "CRL not available: %s", crl_error());
        return;
    }
    if (issuer == NULL) {
        doctor_add(r, DOCTOR_WARN, label, "CRL signature", "give the whole chain up to the root",
                   "the issuer certificate is not in the chain: the CRL signature was not checked");
    } else if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0
               || ikey == NULL || X509_CRL_verify(crl, ikey) != 1) {
        ERR_clear_error();
        doctor_add(r, DOCTOR_ERROR, label, RULE_NPS, fix,
                   "the CRL at %s is not signed by '%s' (other issuer name or other key): "
                   "Windows treats it as no CRL", url, ca);
    }
    if (issuer != NULL && !(X509_get_key_usage(issuer) & KU_CRL_SIGN))
        doctor_add(r, DOCTOR_ERROR, ca, "keyUsage cRLSign (RFC 5280 4.2.1.3)",
                   "reissue the CA certificate with keyUsage keyCertSign, cRLSign",
                   "the CA that signs the CRL lacks keyUsage cRLSign: its CRLs are invalid");
    check_crl_times(r, crl, label, ca, src, issuer);
    if (!idp_matches(crl, url, got, sizeof(got)))
        doctor_add(r, DOCTOR_ERROR, label, "CRL scope: IDP must equal the CDP (RFC 5280 5.2.5)",
                   "publish the CRL without an IDP (offca's default, crl_idp = false) or with the "
                   "IDP exactly equal to the CDP URL",
                   "the CRL's Issuing Distribution Point %s differs from the CDP %s: Windows "
                   "reports 'unable to check revocation'", got, url);
    check_revoked(r, crl, x, label);
    X509_CRL_free(crl);
}

/* One non-root certificate: validity, issuer signature, CDP + CRL, AIA. */
static void check_one(struct doctor_report *r, X509 *x, X509 *issuer,
                      const struct doctor_source *src)
{
    char label[MAX_LABEL], url[MAX_URL_LEN + 1] = "", others[512];
    size_t before = doctor_report_count(r, DOCTOR_ERROR);

    doctor_cert_label(x, label, sizeof(label));
    check_validity(r, x, label, src->now);
    if (issuer != NULL && X509_verify(x, X509_get0_pubkey(issuer)) != 1) {
        ERR_clear_error();
        doctor_add(r, DOCTOR_ERROR, label, "chain order",
                   "give the chain leaf first, each certificate followed by its issuer",
                   "not signed by the next certificate in the chain");
    }
    if (!cdp_http_url(x, url, sizeof(url), others, sizeof(others)))
        doctor_add(r, DOCTOR_ERROR, label, "NPS revocation check",
                   "reissue the certificate from a CA that writes a CDP (offca does by default), "
                   "or publish a CRL and set the CDP",
                   "no HTTP CDP%s%s%s: NPS refuses the logon with client error 853 / reason 258 "
                   "'the revocation function was unable to check revocation'",
                   others[0] ? " (only " : "", others, others[0] ? ")" : "");
    else
        check_crl(r, x, issuer, label, url, src);
    check_aia(r, x, label);
    if (doctor_report_count(r, DOCTOR_ERROR) == before)
        doctor_add(r, DOCTOR_OK, label, RULE_NPS, "", "revocation can be checked%s%s",
                   url[0] ? " via " : "", url[0] ? url : "");
}

/* Check chain[0] (leaf) .. chain[n-1] (root or top intermediate) as NPS does: see crl.h. */
int doctor_check_chain(STACK_OF(X509) *chain, const struct doctor_source *src,
                       struct doctor_report *r)
{
    int i, n = sk_X509_num(chain);
    char label[MAX_LABEL];

    crl_err_clear();
    if (chain == NULL || n <= 0 || src == NULL || r == NULL) {
        crl_seterr(CE_USAGE, "doctor: chain: no certificates given; pass the leaf and its CA "
                   "certificates");
        return 0;
    }
    for (i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        X509 *issuer = i + 1 < n ? sk_X509_value(chain, i + 1) : NULL;

        if (X509_self_signed(x, 1) == 1) {
            doctor_cert_label(x, label, sizeof(label));
            check_validity(r, x, label, src->now);
            doctor_add(r, DOCTOR_INFO, label, "root CA",
                       "keep it in the NPS server's Trusted Root store (certutil -addstore Root "
                       "root.cer) and in AD (certutil -dspublish -f root.cer RootCA)",
                       "self-signed root: NPS does not check its revocation, it needs no CRL "
                       "of its own");
            continue;
        }
        check_one(r, x, issuer, src);
        if (i == 0 && !(X509_get_extension_flags(x) & EXFLAG_CA)) {
            doctor_cert_label(x, label, sizeof(label));
            doctor_leaf_check(r, x, label);
        }
    }
    return 1;
}
