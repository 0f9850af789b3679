/*
 * dn.c — distinguished names: RFC 4514 strings to X509_NAME and back, and the Windows form used
 * in altSecurityIdentities (KB5014754 manual mappings).
 *
 * Accepted syntax (strict RFC 4514, one documented relaxation):
 *   - RDNs separated by ',' (never ';'), multi-valued RDNs by '+'. One or more spaces are accepted
 *     AFTER a ',' or '+' (the "CN=a, O=b" form many tools print) because there they can only
 *     precede an attribute type; spaces anywhere else around ',', '+' or '=' are refused rather
 *     than silently dropped: a leading or trailing space in a value must be written "\ ".
 *   - Escapes: \ followed by one of  space " # + , ; < = > \  or by two hex digits (a byte; the
 *     bytes of a value must form valid UTF-8). Unescaped " ; < > and a leading unescaped space
 *     are refused; '=' and a non-leading '#' need no escape.
 *   - A value starting with an unescaped '#' is an RFC 4514 hexstring (BER of the value); it is
 *     accepted only for dotted-OID types, whose encoding offca cannot otherwise know.
 *   - An empty string is the empty name (no RDNs); empty RDNs, empty values and a trailing ','
 *     or '+' are refused.
 */
#include "base/utf8.h"
#include "templates/template.h"
#include "templates/tmpl_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#define MAX_DN_AVAS 64
#define MAX_DN_TYPE_CHARS 64
#define UB_NONE MAX_DN_CHARS

enum dn_enc { DN_UTF8 = 0, DN_PRINTABLE, DN_IA5, DN_COUNTRY };

struct dn_attr {
    const char *name;   /* what dn_format prints (OpenSSL's short name, RFC 4514 when it has one) */
    const char *alias;  /* another accepted spelling, or NULL */
    const char *ms;     /* Windows key (MS-OSCO table / CertNameToStr), NULL: "OID.<dotted>" */
    int nid;
    enum dn_enc enc;
    size_t ub;          /* upper bound in characters (RFC 5280 appendix A ub-* values) */
};

static const struct dn_attr dn_attrs[] = {
    {"CN", "commonName", "CN", NID_commonName, DN_UTF8, 64},
    {"O", "organizationName", "O", NID_organizationName, DN_UTF8, 64},
    {"OU", "organizationalUnitName", "OU", NID_organizationalUnitName, DN_UTF8, 64},
    {"C", "countryName", "C", NID_countryName, DN_COUNTRY, 2},
    {"ST", "stateOrProvinceName", "S", NID_stateOrProvinceName, DN_UTF8, 128},
    {"L", "localityName", "L", NID_localityName, DN_UTF8, 128},
    {"DC", "domainComponent", "DC", NID_domainComponent, DN_IA5, 63}, /* one DNS label */
    {"emailAddress", "E", "E", NID_pkcs9_emailAddress, DN_IA5, 255},
    {"serialNumber", NULL, "SERIALNUMBER", NID_serialNumber, DN_PRINTABLE, 64},
    {"UID", "userId", NULL, NID_userId, DN_UTF8, UB_NONE},
    {"GN", "givenName", "G", NID_givenName, DN_UTF8, UB_NONE},
    {"SN", "surname", "SN", NID_surname, DN_UTF8, UB_NONE},
    {"title", NULL, "T", NID_title, DN_UTF8, 64},
    {"street", "streetAddress", "STREET", NID_streetAddress, DN_UTF8, 128},
    {"postalCode", NULL, "PostalCode", NID_postalCode, DN_UTF8, 40},
};
#define DN_NATTRS (sizeof(dn_attrs) / sizeof(dn_attrs[0]))

struct dn_ava {
    const struct dn_attr *attr;     /* NULL for a dotted OID not in the table */
    ASN1_OBJECT *oid;               /* owned */
    unsigned char *val;             /* points into the shared value buffer */
    size_t len;
    int type;                       /* V_ASN1_* string type to encode with */
    int new_rdn;                    /* first AVA of its RDN */
};

struct dn_parser {
    const char *s;
    size_t len, pos;
    unsigned char *buf;             /* unescaped values, back to back */
    size_t used;
    struct dn_ava ava[MAX_DN_AVAS];
    size_t n;
};

static const struct dn_attr *dn_attr_by_nid(int nid)
{
    size_t i;

    for (i = 0; i < DN_NATTRS; i++)
        if (dn_attrs[i].nid == nid)
            return &dn_attrs[i];
    return NULL;
}

/* Report "DN '<text>': RFC 4514: <problem> at character N; <fix>" (class 3). */
static int dn_fail(const struct dn_parser *p, const char *problem, const char *fix)
{
    char q[88];
    size_t i;

    for (i = 0; i < p->len && i < 80; i++)
        q[i] = (p->s[i] >= 0x20 && p->s[i] < 0x7f) || (p->s[i] & 0x80) ? p->s[i] : '?';
    q[i] = '\0';
    if (i < p->len)
        memcpy(q + (i > 77 ? 77 : i), "...", 4);
    tmpl_seterr(TE_INPUT, "DN '%s': RFC 4514: %s at character %zu; %s", q, problem, p->pos + 1,
                fix);
    return 0;
}

static int dn_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char dn_hex_byte(const char *h)
{
    char t[3] = {h[0], h[1], '\0'};

    return (unsigned char)strtoul(t, NULL, 16);
}

/* numericoid: number 1*("." number), number = "0" / non-zero digit followed by digits. */
static int dn_numericoid_ok(const char *t, size_t n)
{
    size_t i, run = 0, dots = 0;

    for (i = 0; i < n; i++) {
        if (t[i] == '.') {
            if (run == 0)
                return 0;
            run = 0;
            dots++;
        } else if (t[i] >= '0' && t[i] <= '9') {
            if (run == 1 && t[i - 1] == '0')
                return 0;
            run++;
        } else {
            return 0;
        }
    }
    return run > 0 && dots > 0;
}

/* attributeType at p->pos up to '=': a known descriptor (case-insensitive) or a dotted OID. */
static int dn_parse_type(struct dn_parser *p, struct dn_ava *a)
{
    const char *t = p->s + p->pos;
    char oid[MAX_DN_TYPE_CHARS + 1];
    size_t n = strcspn(t, "=,+ ");
    size_t i;

    if (n == 0 || t[n] != '=') {
        if (n == 0 && t[0] == ' ')
            return dn_fail(p, "space before an attribute type", "remove it");
        if (n == 0 && (t[0] == ',' || t[0] == '\0'))
            return dn_fail(p, t[0] ? "empty RDN" : "trailing separator",
                           "remove the extra ',' or '+'");
        p->pos += n;
        return dn_fail(p, t[n] == ' ' ? "space before '='" : "attribute type without '='",
                       "write TYPE=value with no spaces around '='");
    }
    for (i = 0; i < DN_NATTRS; i++) {
        if ((strlen(dn_attrs[i].name) == n && strncasecmp(t, dn_attrs[i].name, n) == 0)
            || (dn_attrs[i].alias && strlen(dn_attrs[i].alias) == n
                && strncasecmp(t, dn_attrs[i].alias, n) == 0))
            break;
    }
    if (i < DN_NATTRS) {
        a->attr = &dn_attrs[i];
        a->oid = OBJ_nid2obj(a->attr->nid);
    } else if (n <= MAX_DN_TYPE_CHARS && dn_numericoid_ok(t, n)) {
        memcpy(oid, t, n);
        oid[n] = '\0';
        if ((a->oid = OBJ_txt2obj(oid, 1)) == NULL) {
            ERR_clear_error();
            return dn_fail(p, "unusable dotted OID", "check the attribute type");
        }
        a->attr = dn_attr_by_nid(OBJ_obj2nid(a->oid));
    } else {
        return dn_fail(p, "unknown attribute type",
                       "use CN, O, OU, C, ST, L, DC, E, serialNumber, UID, GN, SN, title, "
                       "street, postalCode or a dotted OID");
    }
    p->pos += n + 1;
    return 1;
}

/* '#' hexstring: the BER of one string value; only for dotted-OID types. */
static int dn_parse_hexstring(struct dn_parser *p, struct dn_ava *a)
{
    size_t n = strcspn(p->s + p->pos + 1, ",+"), i;
    const unsigned char *d;
    unsigned char *out = p->buf + p->used;
    ASN1_TYPE *at;
    int ok = 0;

    if (a->attr != NULL)
        return dn_fail(p, "value starts with an unescaped '#'", "write '\\#' for a literal '#'");
    if (n == 0 || n % 2 != 0)
        return dn_fail(p, "hexstring needs an even, non-zero number of hex digits",
                       "write #<BER in hex>");
    for (i = 0; i < n; i += 2) {
        if (!dn_is_hex(p->s[p->pos + 1 + i]) || !dn_is_hex(p->s[p->pos + 2 + i]))
            return dn_fail(p, "hexstring has a non-hex character", "write #<BER in hex>");
        out[i / 2] = dn_hex_byte(p->s + p->pos + 1 + i);
    }
    d = out;
    at = d2i_ASN1_TYPE(NULL, &d, (long)(n / 2));
    ERR_clear_error();
    if (at != NULL && d == out + n / 2
        && (at->type == V_ASN1_UTF8STRING || at->type == V_ASN1_PRINTABLESTRING
            || at->type == V_ASN1_IA5STRING || at->type == V_ASN1_BMPSTRING)) {
        a->type = at->type;
        a->len = (size_t)ASN1_STRING_length(at->value.asn1_string);
        memmove(out, ASN1_STRING_get0_data(at->value.asn1_string), a->len);
        a->val = out;
        p->used += a->len;
        p->pos += n + 1;
        ok = 1;
    }
    ASN1_TYPE_free(at);
    if (!ok)
        return dn_fail(p, "hexstring is not one UTF8String, PrintableString, IA5String or "
                       "BMPString", "give the DER of a string value");
    return 1;
}

/* One escape at p->pos ('\\'): append its byte. */
static int dn_parse_escape(struct dn_parser *p, unsigned char *out)
{
    const char *e = p->s + p->pos + 1;

    if (*e != '\0' && strchr(" \"#+,;<=>\\", *e) != NULL) {
        *out = (unsigned char)*e;
        p->pos += 2;
        return 1;
    }
    if (dn_is_hex(e[0]) && dn_is_hex(e[1])) {
        *out = dn_hex_byte(e);
        p->pos += 3;
        return 1;
    }
    return dn_fail(p, "bad escape", "escape only  \" # + , ; < = > \\ and space, or write a "
                   "byte as two hex digits (\\C3\\A9)");
}

/* attributeValue at p->pos up to an unescaped ',' '+' or the end, unescaped into p->buf. */
static int dn_parse_value(struct dn_parser *p, struct dn_ava *a)
{
    unsigned char *out = p->buf + p->used;
    size_t n = 0;
    int bare_space = 0;
    char c;

    a->type = V_ASN1_UTF8STRING;
    if (p->s[p->pos] == '#')
        return dn_parse_hexstring(p, a);
    if (p->s[p->pos] == ' ')
        return dn_fail(p, "unescaped leading space in a value", "write '\\ ' or remove it");
    while ((c = p->s[p->pos]) != '\0' && c != ',' && c != '+') {
        if (c == '\\') {
            if (!dn_parse_escape(p, out + n++))
                return 0;
            bare_space = 0;
            continue;
        }
        if (c == '"' || c == ';' || c == '<' || c == '>')
            return dn_fail(p, c == ';' ? "unescaped ';' (RDNs are separated by ',')"
                           : "unescaped special character", "escape it with '\\'");
        bare_space = (c == ' ');
        out[n++] = (unsigned char)c;
        p->pos++;
    }
    if (bare_space) {
        p->pos--;                   /* point at the space itself */
        return dn_fail(p, "unescaped trailing space in a value", "write '\\ ' or remove it");
    }
    if (n == 0)
        return dn_fail(p, "empty attribute value", "give a value or leave the attribute out");
    a->val = out;
    a->len = n;
    p->used += n;
    return 1;
}

/* Check a value against its attribute's encoding and upper bound; choose the string type. */
static int dn_check_value(struct dn_parser *p, struct dn_ava *a)
{
    static const char printable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789 '()+,-./:=?";
    enum dn_enc enc = a->attr ? a->attr->enc : DN_UTF8;
    size_t i, chars = 0, ub = a->attr ? a->attr->ub : UB_NONE;
    unsigned long cp;
    int k;
    char msg[128];

    if (a->type == V_ASN1_BMPSTRING) {  /* only from a hexstring: UCS-2 big-endian */
        for (i = 0; i + 1 < a->len && (a->val[i] | a->val[i + 1]) != 0; i += 2)
            ;
        if (i != a->len)
            return dn_fail(p, "BMPString with an odd length or a NUL character", "fix the hex");
        return 1;
    }
    if (memchr(a->val, 0, a->len) != NULL)
        return dn_fail(p, "value contains a NUL byte", "remove the \\00");
    for (i = 0; i < a->len; i += (size_t)k, chars++) {
        k = utf8_next(a->val + i, a->len - i, &cp);
        if (k <= 0)
            return dn_fail(p, "value is not valid UTF-8", "write non-ASCII characters as "
                           "UTF-8 (hex pairs such as \\C3\\A9 must form UTF-8)");
        if (cp >= 0x80 && enc != DN_UTF8)
            return dn_fail(p, "non-ASCII character in an attribute encoded as ASCII",
                           "C, serialNumber, DC and E allow ASCII only");
        if (enc == DN_PRINTABLE && strchr(printable, (int)cp) == NULL)
            return dn_fail(p, "character not allowed in a PrintableString",
                           "use letters, digits, space and ' ( ) + , - . / : = ?");
    }
    if (enc == DN_COUNTRY && (a->len != 2 || a->val[0] < 'A' || a->val[0] > 'Z'
                              || a->val[1] < 'A' || a->val[1] > 'Z'))
        return dn_fail(p, "C must be two capital letters", "use the ISO 3166 code, e.g. C=US");
    if (chars > ub) {
        snprintf(msg, sizeof(msg), "value of %zu characters exceeds the upper bound of %zu",
                 chars, ub);
        return dn_fail(p, msg, "shorten it");
    }
    if (a->attr != NULL)
        a->type = enc == DN_UTF8 ? V_ASN1_UTF8STRING
                  : enc == DN_IA5 ? V_ASN1_IA5STRING : V_ASN1_PRINTABLESTRING;
    return 1;
}

/* Tokenise the whole string into p->ava (string order). */
static int dn_tokenise(struct dn_parser *p)
{
    int new_rdn = 1;

    for (;;) {
        struct dn_ava *a;

        if (p->n == MAX_DN_AVAS)
            return dn_fail(p, "more than 64 attributes", "shorten the name");
        a = &p->ava[p->n];
        a->new_rdn = new_rdn;
        if (!dn_parse_type(p, a))
            return 0;
        p->n++;
        if (!dn_parse_value(p, a))
            return 0;
        if (!dn_check_value(p, a))
            return 0;
        if (p->s[p->pos] == '\0')
            return 1;
        new_rdn = p->s[p->pos] == ',';
        p->pos++;
        while (p->s[p->pos] == ' ')
            p->pos++;
    }
}

/* Parse an RFC 4514 string into an X509_NAME in encoding order (the string's last RDN first):
 * see the syntax notes at the top of this file. Caller frees with X509_NAME_free. NULL with
 * tmpl_error() (class 3) naming the character and the rule. */
X509_NAME *dn_parse(const char *rfc4514)
{
    struct dn_parser *p = NULL;
    X509_NAME *name = NULL, *ret = NULL;
    size_t end, i, j;

    if (rfc4514 == NULL || strlen(rfc4514) > MAX_DN_CHARS) {
        tmpl_seterr(TE_INPUT, "DN: RFC 4514: %s; give a name of at most %d characters",
                    rfc4514 ? "too long" : "missing", MAX_DN_CHARS);
        return NULL;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL || (p->buf = malloc(strlen(rfc4514) + 1)) == NULL
        || (name = X509_NAME_new()) == NULL) {
        tmpl_seterr(TE_SYSTEM, "DN: out of memory; retry");
        goto out;
    }
    p->s = rfc4514;
    p->len = strlen(rfc4514);
    if (p->len > 0 && !dn_tokenise(p))
        goto out;
    /* RDNs from the last in the string to the first; AVAs of one RDN in string order. */
    for (end = p->n; end > 0; end = i) {
        for (i = end - 1; !p->ava[i].new_rdn; i--)
            ;
        for (j = i; j < end; j++) {
            if (!X509_NAME_add_entry_by_OBJ(name, p->ava[j].oid, p->ava[j].type, p->ava[j].val,
                                            (int)p->ava[j].len, -1, j == i ? 0 : -1)) {
                ERR_clear_error();
                tmpl_seterr(TE_INPUT, "DN: attribute %zu: OpenSSL refused the value; check "
                            "its encoding", j + 1);
                goto out;
            }
        }
    }
    ret = name;
    name = NULL;
out:
    if (p != NULL) {
        for (i = 0; i < p->n; i++)
            ASN1_OBJECT_free(p->ava[i].oid);
        free(p->buf);
        free(p);
    }
    X509_NAME_free(name);
    return ret;
}

/* The value as UTF-8 text when it is a character string without NUL (caller OPENSSL_free's),
 * else NULL (print it as #hex). */
static unsigned char *dn_value_text(const ASN1_STRING *v, int *len)
{
    unsigned char *u = NULL;
    int t = ASN1_STRING_type(v);

    if (t != V_ASN1_UTF8STRING && t != V_ASN1_PRINTABLESTRING && t != V_ASN1_IA5STRING
        && t != V_ASN1_T61STRING && t != V_ASN1_BMPSTRING && t != V_ASN1_UNIVERSALSTRING
        && t != V_ASN1_VISIBLESTRING && t != V_ASN1_NUMERICSTRING)
        return NULL;
    if ((*len = ASN1_STRING_to_UTF8(&u, v)) < 0 || memchr(u, 0, (size_t)*len) != NULL) {
        ERR_clear_error();
        OPENSSL_free(u);
        return NULL;
    }
    return u;
}

/* "#" + hex of the value's DER (RFC 4514 2.4 for values that are not printed as strings). */
static int dn_write_hex(BIO *b, const ASN1_STRING *v)
{
    unsigned char *der = NULL;
    int n = i2d_ASN1_PRINTABLE((ASN1_STRING *)v, &der), i, ok = n > 0 && BIO_write(b, "#", 1) == 1;

    for (i = 0; ok && i < n; i++)
        ok = BIO_printf(b, "%02x", der[i]) == 2;
    OPENSSL_free(der);
    return ok;
}

/* RFC 4514 2.4 escaping: " + , ; < > \ anywhere, '#' or space first, space last; control
 * characters as \XX so that what reaches a terminal is printable. */
static int dn_write_escaped(BIO *b, const unsigned char *u, int len)
{
    int i, ok = 1;

    for (i = 0; ok && i < len; i++) {
        unsigned char c = u[i];

        if (c < 0x20 || c == 0x7f)
            ok = BIO_printf(b, "\\%02X", c) == 3;
        else if (strchr("\"+,;<>\\", c) != NULL || (i == 0 && (c == '#' || c == ' '))
                 || (i == len - 1 && c == ' '))
            ok = BIO_printf(b, "\\%c", c) == 2;
        else
            ok = BIO_write(b, &c, 1) == 1;
    }
    return ok;
}

/* Windows (CertNameToStr) quoting: the value in double quotes, inner quotes doubled, when it is
 * empty, starts or ends with a space, or holds one of , + = " CR LF < > # ; */
static int dn_write_ms_value(BIO *b, const unsigned char *u, int len)
{
    int i, ok = 1, quote = len == 0 || u[0] == ' ' || u[len - 1] == ' ';

    for (i = 0; i < len && !quote; i++)
        quote = strchr(",+=\"\r\n<>#;", u[i]) != NULL && u[i] != '\0';
    if (!quote)
        return BIO_write(b, u, len) == len;
    ok = BIO_write(b, "\"", 1) == 1;
    for (i = 0; ok && i < len; i++)
        ok = BIO_write(b, u[i] == '"' ? "\"\"" : (const char *)u + i, u[i] == '"' ? 2 : 1) > 0;
    return ok && BIO_write(b, "\"", 1) == 1;
}

/* Write "TYPE=value" for one entry in RFC 4514 (ms == 0) or Windows (ms == 1) form. */
static int dn_write_entry(BIO *b, const X509_NAME_ENTRY *ne, int ms)
{
    const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(ne);
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(ne);
    const struct dn_attr *at = dn_attr_by_nid(OBJ_obj2nid(o));
    char oid[MAX_DN_TYPE_CHARS + 1];
    unsigned char *u = NULL;
    int len = 0, ok;

    if (at != NULL && (ms ? at->ms : at->name) != NULL) {
        ok = BIO_printf(b, "%s=", ms ? at->ms : at->name) > 0;
    } else {
        ok = OBJ_obj2txt(oid, sizeof(oid), o, 1) > 0
             && BIO_printf(b, "%s%s=", ms ? "OID." : "", oid) > 0;
    }
    /* unknown types print as text only when UTF8String, what dn_parse would encode again */
    if (ok && (at != NULL || ms || ASN1_STRING_type(v) == V_ASN1_UTF8STRING))
        u = dn_value_text(v, &len);
    if (ok && u != NULL)
        ok = ms ? dn_write_ms_value(b, u, len) : dn_write_escaped(b, u, len);
    else if (ok)
        ok = dn_write_hex(b, v);
    OPENSSL_free(u);
    return ok;
}

static int dn_set(const X509_NAME *name, int i)
{
    return X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i));
}

/* Format name RDN by RDN; rev: most specific (last encoded) first. Multi-valued RDNs keep their
 * AVAs in stored order, joined by '+'. */
static char *dn_format_any(const X509_NAME *name, int ms, int rev)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = name ? X509_NAME_entry_count(name) : 0, i, k, lo, hi, ok = b != NULL && name != NULL;
    char *data, *ret = NULL;
    long len;

    for (k = 0; ok && k < n; k += hi - lo + 1) {
        if (rev) {
            for (hi = lo = n - 1 - k; lo > 0 && dn_set(name, lo - 1) == dn_set(name, hi); lo--)
                ;
        } else {
            for (lo = hi = k; hi + 1 < n && dn_set(name, hi + 1) == dn_set(name, lo); hi++)
                ;
        }
        if (k > 0)
            ok = BIO_write(b, ",", 1) == 1;
        for (i = lo; ok && i <= hi; i++)
            ok = (i == lo || BIO_write(b, "+", 1) == 1)
                 && dn_write_entry(b, X509_NAME_get_entry(name, i), ms);
    }
    if (ok && (len = BIO_get_mem_data(b, &data)) >= 0
        && (ret = OPENSSL_malloc((size_t)len + 1)) != NULL) {
        if (len > 0)
            memcpy(ret, data, (size_t)len);
        ret[len] = '\0';
    } else {
        ERR_clear_error();
        tmpl_seterr(name ? TE_SYSTEM : TE_USAGE, "DN: %s; %s", name ? "formatting failed"
                    : "no name given", name ? "out of memory, retry" : "pass a name");
    }
    BIO_free(b);
    return ret;
}

/* RFC 4514 string, most specific RDN first. Values of the known attribute types print as text
 * whatever their string type; a dotted-OID attribute prints as text only when it is a
 * UTF8String, else as #<DER hex>. dn_parse(dn_format(x)) is DER-equal to x whenever x uses the
 * encodings dn_parse chooses (every name dn_parse builds). OPENSSL_free. */
char *dn_format(const X509_NAME *name)
{
    return dn_format_any(name, 0, 1);
}

/* The Windows form for altSecurityIdentities <I>/<S>: encoding order (DC=com,DC=contoso,CN=..),
 * ',' between RDNs and '+' inside one with no spaces, Windows keys (CN O OU C S L DC E STREET T G
 * SN SERIALNUMBER PostalCode, others OID.<dotted>; UID has no Windows key), values quoted as
 * CertNameToStr does. The quoting and the '+' join are Windows' CertNameToStr conventions; that
 * the KDC compares exactly this text is not confirmed. OPENSSL_free. */
char *dn_format_ms(const X509_NAME *name)
{
    return dn_format_any(name, 1, 0);
}
