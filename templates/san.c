/*
 * san.c — the "type:value" text form of a subjectAltName entry given on the command line
 * (--san dns:host.contoso.com). Syntax only; what a template allows is tmpl_policy.c's business.
 */
#include "base/utf8.h"
#include "templates/template.h"
#include "templates/tmpl_err.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>

#define SAN_TYPES "dns, upn, email, uri, ip"

static const char *const san_names[SAN_TYPE_COUNT] = {"dns", "upn", "email", "uri", "ip"};

/* "dns", "upn", "email", "uri", "ip"; "?" for a value outside the enum. */
const char *san_type_name(enum san_type t)
{
    return ((unsigned)t < SAN_TYPE_COUNT) ? san_names[t] : "?";
}

static int san_fail(const char *text, const char *rule, const char *problem, const char *fix)
{
    tmpl_seterr(TE_USAGE, "SAN '%.120s': %s: %s; %s", text, rule, problem, fix);
    return 0;
}

/* Valid UTF-8 without control characters; ascii: only U+0021..U+007E. */
static int san_text_ok(const unsigned char *s, size_t len, int ascii)
{
    unsigned long cp;
    size_t i;
    int n;

    for (i = 0; i < len; i += (size_t)n) {
        n = utf8_next(s + i, len - i, &cp);
        if (n <= 0 || cp < 0x20 || cp == 0x7f
            || (ascii && (cp > 0x7e || cp == ' ')))
            return 0;
    }
    return 1;
}

/* RFC 1034 3.5 preferred syntax (LDH labels of 1-63, 253 in all, no trailing dot); a first
 * label of "*" is let through for templates that allow wildcards. */
static int san_dns_ok(const char *v)
{
    size_t len = strlen(v), i, label = 0;

    if (len > MAX_DNS_CHARS)
        return 0;
    if (v[0] == '*' && v[1] == '.')
        v += 2;
    for (i = 0; v[i] != '\0'; i++) {
        if (v[i] == '.') {
            if (label == 0 || v[i - 1] == '-')
                return 0;
            label = 0;
        } else if ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z')
                   || (v[i] >= '0' && v[i] <= '9') || (v[i] == '-' && label > 0)) {
            if (++label > MAX_DNS_LABEL)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0 && v[i - 1] != '-';
}

/* local@domain with exactly one '@' and text on both sides. */
static int san_mailbox_ok(const char *v)
{
    const char *at = strchr(v, '@');

    return at != NULL && at != v && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':'. */
static int san_uri_ok(const char *v)
{
    size_t i;

    if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
        return 0;
    for (i = 1; v[i] != ':'; i++) {
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z')
              || (v[i] >= '0' && v[i] <= '9') || v[i] == '+' || v[i] == '-' || v[i] == '.'))
            return 0;
    }
    return v[i + 1] != '\0';
}

/* Check value for type t; 1 ok / 0 with the message set. */
static int san_value_ok(const char *text, enum san_type t, const char *v)
{
    unsigned char addr[16];
    size_t len = strlen(v);

    switch (t) {
    case SAN_DNS:
        if (san_dns_ok(v))
            return 1;
        return san_fail(text, "RFC 5280 4.2.1.6 dNSName", "not a DNS name (letters, digits, "
                        "'-' in labels of 1-63, at most 253 characters, no trailing dot)",
                        "write the host name, e.g. dns:pc1.contoso.com (IDNs in punycode)");
    case SAN_UPN:
        if (san_text_ok((const unsigned char *)v, len, 0) && strchr(v, ' ') == NULL
            && san_mailbox_ok(v))
            return 1;
        return san_fail(text, "userPrincipalName", "must be user@suffix in UTF-8 without "
                        "spaces", "use the account's UPN, e.g. upn:jdoe@contoso.com");
    case SAN_EMAIL:
        if (san_text_ok((const unsigned char *)v, len, 1) && san_mailbox_ok(v))
            return 1;
        return san_fail(text, "RFC 5280 4.2.1.6 rfc822Name", "must be local@domain in ASCII",
                        "write the address, e.g. email:jdoe@contoso.com");
    case SAN_URI:
        if (san_text_ok((const unsigned char *)v, len, 1) && san_uri_ok(v))
            return 1;
        return san_fail(text, "RFC 3986 URI", "needs a scheme and ASCII without spaces",
                        "write e.g. uri:" SID_URL_PREFIX "S-1-5-21-...");
    case SAN_IP:
        if (inet_pton(AF_INET, v, addr) == 1 || inet_pton(AF_INET6, v, addr) == 1)
            return 1;
        return san_fail(text, "RFC 5280 4.2.1.6 iPAddress", "not an IPv4 or IPv6 address",
                        "write e.g. ip:10.0.0.1 or ip:2001:db8::1");
    default:
        return 0;
    }
}

/* Parse "type:value" (type case-insensitive, one of dns upn email uri ip); value is copied as
 * given (IP addresses stay text). Refuses an unknown type (listing the known ones), an empty
 * value, control characters or invalid UTF-8 (a C string cannot carry NUL), a value that does
 * not fit valuelen, and a value that is not of its type's syntax. Class 2 (usage). */
int san_parse(const char *text, enum san_type *type, char *value, size_t valuelen)
{
    const char *colon, *v;
    size_t tlen;
    int t;

    if (text == NULL)
        return san_fail("", "--san", "missing", "give TYPE:VALUE with TYPE one of " SAN_TYPES);
    colon = strchr(text, ':');
    tlen = colon ? (size_t)(colon - text) : 0;
    for (t = 0; colon != NULL && t < SAN_TYPE_COUNT; t++)
        if (strlen(san_names[t]) == tlen && strncasecmp(text, san_names[t], tlen) == 0)
            break;
    if (colon == NULL || t == SAN_TYPE_COUNT)
        return san_fail(text, "--san", "unknown or missing type",
                        "write TYPE:VALUE with TYPE one of " SAN_TYPES);
    v = colon + 1;
    if (*v == '\0')
        return san_fail(text, "--san", "empty value", "give a value after the ':'");
    if (!san_text_ok((const unsigned char *)v, strlen(v), 0))
        return san_fail(text, "--san", "value has a control character or invalid UTF-8",
                        "remove it");
    if (strlen(v) + 1 > valuelen)
        return san_fail(text, "--san", "value too long", "shorten it");
    if (!san_value_ok(text, (enum san_type)t, v))
        return 0;
    memcpy(value, v, strlen(v) + 1);
    *type = (enum san_type)t;
    return 1;
}
