/*
 * url.c — the URL rules for what offca writes into certificates and CRLs (CDP, AIA, IDP,
 * Freshest CRL), and the RFC 5280 reason-code names.
 *
 * Only http:// is offered: Windows and NPS fetch CDPs over plain HTTP, and a CRL is signed, so
 * TLS adds nothing but a circular dependency (checking the web server's certificate needs
 * revocation data too, and a failure there makes NPS refuse the logon). LDAP is not offered:
 * offca has no directory to publish into and static HTTP scales through any web server or CDN.
 */
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Check host[:port] between "http://" and the first '/', '?' or end. */
static int url_authority_check(const char *url, const char *auth, size_t n, const char *what)
{
    const char *colon = memchr(auth, ':', n);
    size_t hostlen = colon ? (size_t)(colon - auth) : n;

    if (memchr(auth, '@', n) != NULL) {
        crl_seterr(CE_USAGE, "%s URL '%s': user information: credentials in a CDP/AIA URL are "
                   "published to everyone and Windows ignores them; remove the 'user@' part",
                   what, url);
        return 0;
    }
    if (hostlen == 0) {
        crl_seterr(CE_USAGE, "%s URL '%s': RFC 3986 3.2.2: no host; write http://HOST/PATH",
                   what, url);
        return 0;
    }
    if (colon != NULL) {
        size_t i, plen = n - hostlen - 1;
        long port = 0;

        for (i = 0; i < plen; i++) {
            char c = colon[1 + i];

            if (c < '0' || c > '9' || i >= 5)
                break;
            port = port * 10 + (c - '0');
        }
        if (plen == 0 || i != plen || port < 1 || port > 65535) {
            crl_seterr(CE_USAGE, "%s URL '%s': RFC 3986 3.2.3: port is not a number 1..65535; "
                       "fix or drop the ':port'", what, url);
            return 0;
        }
    }
    return 1;
}

/* A URL offca writes (CDP, AIA caIssuers, IDP, Freshest CRL): see crl.h. what names it in
 * messages (e.g. "cdp_url"). 1 ok / 0 (class 2). */
int crl_url_check(const char *url, const char *what)
{
    const char *auth;
    size_t i, len;

    crl_err_clear();
    if (what == NULL)
        what = "URL";
    if (url == NULL || (len = strlen(url)) == 0) {
        crl_seterr(CE_USAGE, "%s: URL rule: empty; write http://HOST/PATH", what);
        return 0;
    }
    if (len > MAX_URL_LEN) {
        crl_seterr(CE_USAGE, "%s URL: length: %zu characters exceed %d; use a shorter path",
                   what, len, MAX_URL_LEN);
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= 0x20 || c >= 0x7f || c == '#') {
            crl_seterr(CE_USAGE, "%s URL '%s': RFC 5280 4.2.1.13 (IA5String URI): %s at "
                       "position %zu; percent-encode it or remove it", what, url,
                       c == '#' ? "fragment '#'" : c == ' ' ? "space" :
                       c >= 0x7f ? "non-ASCII byte" : "control character", i + 1);
            return 0;
        }
    }
    if (strncmp(url, "http://", 7) != 0) {
        const char *why = strncasecmp(url, "https://", 8) == 0
            ? "https makes the revocation check depend on a TLS certificate that itself needs "
              "a revocation check (NPS then fails with reason 258)"
            : strncasecmp(url, "ldap", 4) == 0
            ? "LDAP is not offered: offca publishes static files for a web server"
            : strncasecmp(url, "http://", 7) == 0 ? "write the scheme in lower case"
            : "Windows and NPS fetch CDP and AIA URLs over plain HTTP";
        crl_seterr(CE_USAGE, "%s URL '%s': scheme: only http:// is allowed: %s; use "
                   "http://HOST/PATH", what, url, why);
        return 0;
    }
    auth = url + 7;
    return url_authority_check(url, auth, strcspn(auth, "/?"), what);
}

static const struct {
    crl_reason_t r;
    const char *name;
} reasons[] = {
    { CRL_REASON_UNSPECIFIED, "unspecified" },
    { CRL_REASON_KEY_COMPROMISE, "keyCompromise" },
    { CRL_REASON_CA_COMPROMISE, "cACompromise" },
    { CRL_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
    { CRL_REASON_SUPERSEDED, "superseded" },
    { CRL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
    { CRL_REASON_CERTIFICATE_HOLD, "certificateHold" },
    { CRL_REASON_REMOVE_FROM_CRL, "removeFromCRL" },
    { CRL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
    { CRL_REASON_AA_COMPROMISE, "aACompromise" },
};

/* RFC 5280 5.3.1 name -> code ("caCompromise" also accepted). 1 ok / 0 unknown (class 2). */
int crl_reason_parse(const char *name, crl_reason_t *out)
{
    size_t i;

    crl_err_clear();
    for (i = 0; name != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(name, reasons[i].name) == 0) {
            *out = reasons[i].r;
            return 1;
        }
    }
    if (name != NULL && strcmp(name, "caCompromise") == 0) {
        *out = CRL_REASON_CA_COMPROMISE;
        return 1;
    }
    crl_seterr(CE_USAGE, "reason '%s': RFC 5280 5.3.1: unknown reason; use unspecified, "
               "keyCompromise, cACompromise, affiliationChanged, superseded, "
               "cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn or "
               "aACompromise", name ? name : "(none)");
    return 0;
}

/* Code -> RFC 5280 name (static string); "none" for CRL_REASON_NONE, "unknown" otherwise. */
const char *crl_reason_name(crl_reason_t r)
{
    size_t i;

    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].r == r)
            return reasons[i].name;
    return r == CRL_REASON_NONE ? "none" : "unknown";
}
