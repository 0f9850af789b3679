/*
 * lint_gn.c — subjectAltName entries: empty or duplicate entries, dNSName preferred name syntax
 * (RFC 1034 3.5 as RFC 5280 4.2.1.6 requires), no trailing dot, wildcards only as a whole
 * leftmost label and only when allowed, A-labels only (CA/B BR 7.1.2.7.12, RFC 5890 2.3.2.1);
 * rfc822Name mailboxes (RFC 5321 4.1.2), UPN user@suffix, absolute URIs, 4- or 16-octet IPs.
 * Each rule owns one concern, so a bad name is reported once per thing wrong with it.
 */
#include "templates/lint_int.h"

#include <string.h>

#define SHOW(s) ((s)->length > 100 ? 100 : (s)->length), (const char *)(s)->data

static int is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* Call fn on every entry of type t. */
static void each_san(struct lint_cert_view *v, int t,
                     void (*fn)(struct lint_cert_view *, const GENERAL_NAME *))
{
    for (int i = 0; v->san && i < sk_GENERAL_NAME_num(v->san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(v->san, i);

        if (g->type == t)
            fn(v, g);
    }
}

static int upn_value(const GENERAL_NAME *g, const ASN1_TYPE **val)
{
    if (g->type != GEN_OTHERNAME || OBJ_obj2nid(g->d.otherName->type_id) != NID_ms_upn)
        return 0;
    *val = g->d.otherName->value;
    return 1;
}

static int gn_empty(const GENERAL_NAME *g)
{
    const ASN1_TYPE *u;

    switch (g->type) {
    case GEN_DNS: case GEN_EMAIL: case GEN_URI: case GEN_IPADD:
        return ASN1_STRING_length(g->d.ia5) == 0;
    case GEN_DIRNAME:
        return X509_NAME_entry_count(g->d.dirn) == 0;
    case GEN_OTHERNAME:
        return upn_value(g, &u) && u != NULL && u->type == V_ASN1_UTF8STRING &&
               ASN1_STRING_length(u->value.utf8string) == 0;
    default:
        return 0;
    }
}

void lc_san_empty(void *p)
{
    struct lint_cert_view *v = p;

    if (v->e_san != NULL && v->san != NULL && sk_GENERAL_NAME_num(v->san) == 0) {
        lint_emit(&v->b, "drop the empty extension or add the names", "subjectAltName is empty");
        return;
    }
    for (int i = 0; v->san && i < sk_GENERAL_NAME_num(v->san); i++)
        if (gn_empty(sk_GENERAL_NAME_value(v->san, i)))
            lint_emit(&v->b, "remove the empty entry", "subjectAltName entry %d is empty", i + 1);
}

void lc_san_duplicate(void *p)
{
    struct lint_cert_view *v = p;
    int n = v->san ? sk_GENERAL_NAME_num(v->san) : 0;

    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(v->san, i),
                                 sk_GENERAL_NAME_value(v->san, j)) == 0) {
                lint_emit(&v->b, "list each name once", "subjectAltName entries %d and %d are "
                          "the same", i + 1, j + 1);
                return;
            }
}

/* LDH labels of 1..63, no leading/trailing hyphen, 253 in all. Bytes >= 0x80, a "*" and one
 * trailing dot are the other rules' business and are passed over here. */
static int dns_syntax_ok(const unsigned char *d, size_t n)
{
    size_t i, label = 0;

    if (n > 0 && d[n - 1] == '.')
        n--;
    if (n == 0 || n > MAX_DNS_CHARS)
        return 0;
    for (i = 0; i <= n; i++) {
        if (i == n || d[i] == '.') {
            if (label == 0 || label > MAX_DNS_LABEL || d[i - 1] == '-')
                return 0;
            label = 0;
        } else if (is_ldh(d[i]) || d[i] >= 0x80 || d[i] == '*') {
            if (label == 0 && d[i] == '-')
                return 0;
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

static void dns_syntax(struct lint_cert_view *v, const GENERAL_NAME *g)
{
    if (g->d.ia5->length > 0 && !dns_syntax_ok(g->d.ia5->data, (size_t)g->d.ia5->length))
        lint_emit(&v->b, "use a host name of letters, digits, hyphens and dots",
                  "dNSName '%.*s' is not a preferred name syntax host name", SHOW(g->d.ia5));
}

void lc_san_dns_syntax(void *p)
{
    each_san(p, GEN_DNS, dns_syntax);
}

static void dns_dot(struct lint_cert_view *v, const GENERAL_NAME *g)
{
    if (g->d.ia5->length > 0 && g->d.ia5->data[g->d.ia5->length - 1] == '.')
        lint_emit(&v->b, "drop the trailing dot", "dNSName '%.*s' ends with a dot",
                  SHOW(g->d.ia5));
}

void lc_san_dns_trailing_dot(void *p)
{
    each_san(p, GEN_DNS, dns_dot);
}

static void dns_wild(struct lint_cert_view *v, const GENERAL_NAME *g)
{
    const unsigned char *d = g->d.ia5->data, *star;
    size_t n = (size_t)g->d.ia5->length;

    if ((star = memchr(d, '*', n)) == NULL)
        return;
    if (star != d || n < 3 || d[1] != '.' || memchr(d + 1, '*', n - 1) != NULL)
        lint_emit(&v->b, "use a whole leftmost \"*\" label or no wildcard",
                  "dNSName '%.*s' has a partial or inner wildcard", SHOW(g->d.ia5));
    else if (!v->b.o->allow_wildcard)
        lint_emit(&v->b, "name the host, or use a template with allow_wildcard",
                  "dNSName '%.*s' is a wildcard", SHOW(g->d.ia5));
}

void lc_san_dns_wildcard(void *p)
{
    each_san(p, GEN_DNS, dns_wild);
}

static void dns_alabel(struct lint_cert_view *v, const GENERAL_NAME *g)
{
    const unsigned char *d = g->d.ia5->data, *l = d, *end = d + g->d.ia5->length;

    if (memchr(d, 0, (size_t)(end - d)) != NULL)
        lint_emit(&v->b, "remove the NUL", "dNSName contains a NUL byte");
    for (const unsigned char *q = d; q < end; q++)
        if (*q >= 0x80) {
            lint_emit(&v->b, "encode internationalised labels as A-labels (xn--...)",
                      "dNSName '%.*s' contains non-ASCII bytes (a U-label)", SHOW(g->d.ia5));
            return;
        }
    for (const unsigned char *q = d; q <= end; q++) {
        if (q != end && *q != '.')
            continue;
        if (q - l >= 4 && l[2] == '-' && l[3] == '-') {
            if ((l[0] | 0x20) != 'x' || (l[1] | 0x20) != 'n')
                lint_emit(&v->b, "use an A-label (xn--) or a name without '--' in positions 3-4",
                          "dNSName '%.*s' has a reserved label (hyphens in positions 3-4, not xn--)", SHOW(g->d.ia5));
            else if (q - l == 4)
                lint_emit(&v->b, "use a valid A-label", "dNSName '%.*s' has an empty xn-- label",
                          SHOW(g->d.ia5));
        }
        l = q + 1;
    }
}

void lc_san_dns_alabel(void *p)
{
    each_san(p, GEN_DNS, dns_alabel);
}

/* user@host: ASCII printable local part, LDH domain (one '@'). */
static int mailbox_ok(const unsigned char *d, size_t n, int utf8_local)
{
    const unsigned char *at = memchr(d, '@', n);
    size_t ln;

    if (at == NULL || at == d || memchr(at + 1, '@', n - (size_t)(at - d) - 1) != NULL)
        return 0;
    ln = (size_t)(at - d);
    for (size_t i = 0; i < ln; i++)
        if (d[i] <= 0x20 || d[i] == 0x7f || (d[i] >= 0x80 && !utf8_local) || d[i] == '"' ||
            d[i] == '(' || d[i] == ')' || d[i] == ',' || d[i] == ';' || d[i] == '<' ||
            d[i] == '>' || d[i] == '[' || d[i] == ']' || d[i] == '\\')
            return 0;
    for (size_t i = ln + 1; i < n; i++)
        if (!is_ldh(d[i]) && d[i] != '.')
            return 0;
    return n > ln + 1 && dns_syntax_ok(at + 1, n - ln - 1) && d[n - 1] != '.';
}

static void email(struct lint_cert_view *v, const GENERAL_NAME *g)
{
    if (g->d.ia5->length > 0 && !mailbox_ok(g->d.ia5->data, (size_t)g->d.ia5->length, 0))
        lint_emit(&v->b, "give a mailbox local@domain", "rfc822Name '%.*s' is not a mailbox",
                  SHOW(g->d.ia5));
}

void lc_san_email(void *p)
{
    each_san(p, GEN_EMAIL, email);
}

void lc_san_upn(void *p)
{
    struct lint_cert_view *v = p;
    const ASN1_TYPE *u;

    for (int i = 0; v->san && i < sk_GENERAL_NAME_num(v->san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(v->san, i);
        const ASN1_STRING *s;

        if (!upn_value(g, &u) || u == NULL || u->type != V_ASN1_UTF8STRING)
            continue;                    /* the type is ms.upn_utf8's business */
        s = u->value.utf8string;
        if (s->length > 0 && !mailbox_ok(s->data, (size_t)s->length, 1))
            lint_emit(&v->b, "give the UPN as user@dns-suffix", "UPN '%.*s' is not "
                      "user@suffix", SHOW(s));
    }
}

static void uri(struct lint_cert_view *v, const GENERAL_NAME *g)
{
    const char *e;

    if (g->d.ia5->length > 0 && (e = lint_uri_problem(g->d.ia5, 0)) != NULL)
        lint_emit(&v->b, "give an absolute URI", "URI '%.*s': %s", SHOW(g->d.ia5), e);
}

void lc_san_uri(void *p)
{
    each_san(p, GEN_URI, uri);
}

static void ip(struct lint_cert_view *v, const GENERAL_NAME *g)
{
    int n = ASN1_STRING_length(g->d.iPAddress);

    if (n != 0 && n != 4 && n != 16)
        lint_emit(&v->b, "give an IPv4 (4 octets) or IPv6 (16 octets) address",
                  "iPAddress of %d octets", n);
}

void lc_san_ip(void *p)
{
    each_san(p, GEN_IPADD, ip);
}
