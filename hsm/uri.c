/*
 * uri.c — the RFC 7512 PKCS#11 URI subset offca uses: path attributes token, serial, object, id
 * and type, percent-decoded. A PIN never goes in a URI (pin-value/pin-source refused); unknown
 * attributes, duplicates and bad %XX are refused too. The scheme is case-insensitive (RFC 3986 3.1).
 *
 * Not p11-kit's p11_kit_uri_parse (0.24): it keeps the last of two object= or type= attributes,
 * accepts %00 inside a label, drops spaces inside a value (object=a b finds "ab"), accepts and
 * returns pin-value, and takes the library-, slot- and token-attributes (model=, slot-id=, ...)
 * offca does not use; a URI could then name a different key than the operator wrote, and its
 * errors do not say which attribute is wrong. Each of these is a case in tests/unit/hsm/test_uri.c.
 */
#include "base/hex.h"
#include "hsm/hsm.h"
#include "hsm/hsm_err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define URI_SCHEME "pkcs11:"

/* Decode v[0..n) into out (at most max bytes); text values refuse %00. */
static int pct_decode(const char *name, const char *v, size_t n, unsigned char *out, size_t max,
                      size_t *outlen, int text)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int c = (unsigned char)v[i];

        if (c == '%') {
            int hi = i + 1 < n ? hex_digit(v[i + 1]) : -1;
            int lo = i + 2 < n ? hex_digit(v[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                hsm_seterr(HE_INPUT, "pkcs11 URI: RFC 7512 2.3: attribute '%s' has a bad "
                           "percent-encoding; write %%XX with two hex digits", name);
                return 0;
            }
            c = hi * 16 + lo;
            i += 2;
            if (c == 0 && text) {
                hsm_seterr(HE_INPUT, "pkcs11 URI: attribute '%s': contains %%00; remove it", name);
                return 0;
            }
        }
        if (o >= max) {
            hsm_seterr(HE_INPUT, "pkcs11 URI: attribute '%s': longer than %zu bytes; shorten it",
                       name, max);
            return 0;
        }
        out[o++] = (unsigned char)c;
    }
    *outlen = o;
    return 1;
}

static int text_attr(const char *name, const char *v, size_t n, char *out, size_t size, int *has)
{
    size_t len;

    if (n == 0) {
        hsm_seterr(HE_INPUT, "pkcs11 URI: offca: attribute '%s' is empty; give it a value or "
                   "leave it out", name);
        return 0;
    }
    if (!pct_decode(name, v, n, (unsigned char *)out, size - 1, &len, 1))
        return 0;
    out[len] = '\0';
    *has = 1;
    return 1;
}

/* Apply one "name=value" path attribute. */
static int uri_attr(struct hsm_uri *u, const char *a, size_t n)
{
    const char *eq = memchr(a, '=', n);
    char name[32];
    size_t nl, vl;
    const char *v;
    int dummy = 0;

    if (eq == NULL || eq == a || (size_t)(eq - a) >= sizeof(name)) {
        hsm_seterr(HE_INPUT, "pkcs11 URI: RFC 7512 2.3: '%.*s' is not name=value; write "
                   "e.g. object=ca-key", (int)(n < 64 ? n : 64), a);
        return 0;
    }
    nl = (size_t)(eq - a);
    memcpy(name, a, nl);
    name[nl] = '\0';
    v = eq + 1;
    vl = n - nl - 1;
    if (strcmp(name, "pin-value") == 0 || strcmp(name, "pin-source") == 0) {
        hsm_seterr(HE_INPUT, "pkcs11 URI: offca: '%s' is refused, a PIN never goes in a URI; "
                   "use pin_file in ca.toml or OFFCA_PIN", name);
        return 0;
    }
#define DUP(flag) do { if (flag) { hsm_seterr(HE_INPUT, "pkcs11 URI: RFC 7512 2.3: attribute " \
        "'%s' appears twice; keep one", name); return 0; } } while (0)
    if (strcmp(name, "token") == 0) {
        DUP(u->has_token);
        return text_attr(name, v, vl, u->token, sizeof(u->token), &u->has_token);
    }
    if (strcmp(name, "serial") == 0) {
        DUP(u->has_serial);
        return text_attr(name, v, vl, u->serial, sizeof(u->serial), &u->has_serial);
    }
    if (strcmp(name, "object") == 0) {
        DUP(u->has_object);
        return text_attr(name, v, vl, u->object, sizeof(u->object), &u->has_object);
    }
    if (strcmp(name, "id") == 0) {
        DUP(u->has_id);
        u->has_id = 1;
        return pct_decode(name, v, vl, u->id, sizeof(u->id), &u->id_len, 0);
    }
    if (strcmp(name, "type") == 0) {
        DUP(u->type[0] != '\0');
        if (!text_attr(name, v, vl, u->type, sizeof(u->type), &dummy))
            return 0;
        if (strcmp(u->type, "private") && strcmp(u->type, "public") && strcmp(u->type, "cert")) {
            hsm_seterr(HE_INPUT, "pkcs11 URI: RFC 7512 2.3: type '%s' is not supported; use "
                       "type=private, public or cert", u->type);
            return 0;
        }
        return 1;
    }
#undef DUP
    hsm_seterr(HE_INPUT, "pkcs11 URI: offca: unknown attribute '%s'; use token, serial, object, "
               "id or type", name);
    return 0;
}

/* Parse "pkcs11:attr=v;attr=v" into out (RFC 7512 section 2.3, path attributes only). */
int hsm_uri_parse(const char *text, struct hsm_uri *out)
{
    struct hsm_uri u;
    const char *p, *end;

    memset(&u, 0, sizeof(u));
    if (text == NULL || strncasecmp(text, URI_SCHEME, strlen(URI_SCHEME)) != 0) {
        hsm_seterr(HE_INPUT, "pkcs11 URI: RFC 7512 2.3: does not start with 'pkcs11:'; write "
                   "pkcs11:token=...;object=...");
        return 0;
    }
    if (strlen(text) >= HSM_MAX_URI) {
        hsm_seterr(HE_INPUT, "pkcs11 URI: offca: longer than %d bytes; shorten it",
                   HSM_MAX_URI - 1);
        return 0;
    }
    p = text + strlen(URI_SCHEME);
    if (strchr(p, '?') != NULL) {
        hsm_seterr(HE_INPUT, "pkcs11 URI: offca: query attributes (after '?') are refused, a PIN "
                   "or module never goes in a URI; set them in ca.toml");
        return 0;
    }
    while (*p != '\0') {
        end = strchr(p, ';');
        if (end == NULL)
            end = p + strlen(p);
        if (!uri_attr(&u, p, (size_t)(end - p)))
            return 0;
        p = *end == ';' ? end + 1 : end;
    }
    *out = u;
    return 1;
}

static int put(char *buf, size_t buflen, size_t *o, const char *s)
{
    size_t n = strlen(s);

    if (*o + n >= buflen) {
        hsm_seterr(HE_SYSTEM, "pkcs11 URI: offca: does not fit in %zu bytes; report this bug",
                   buflen);
        return 0;
    }
    memcpy(buf + *o, s, n + 1);
    *o += n;
    return 1;
}

/* Append "name=value" with everything but RFC 3986 unreserved characters percent-encoded. */
static int put_attr(char *buf, size_t buflen, size_t *o, const char *name,
                    const unsigned char *v, size_t n)
{
    char enc[4];
    size_t i;

    if (!put(buf, buflen, o, buf[*o - 1] == ':' ? "" : ";") || !put(buf, buflen, o, name) ||
        !put(buf, buflen, o, "="))
        return 0;
    for (i = 0; i < n; i++) {
        int c = v[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            snprintf(enc, sizeof(enc), "%c", c);
        else
            snprintf(enc, sizeof(enc), "%%%02X", (unsigned)c);
        if (!put(buf, buflen, o, enc))
            return 0;
    }
    return 1;
}

/* Format pkcs11:token=..;object=..;id=..;type=.. (NULL / empty parts are left out). */
int hsm_uri_format(const char *token, const char *object, const unsigned char *id, size_t id_len,
                   const char *type, char *buf, size_t buflen)
{
    size_t o = 0;

    if (buflen == 0 || !put(buf, buflen, &o, URI_SCHEME))
        return 0;
    if (token != NULL && *token != '\0' &&
        !put_attr(buf, buflen, &o, "token", (const unsigned char *)token, strlen(token)))
        return 0;
    if (object != NULL && *object != '\0' &&
        !put_attr(buf, buflen, &o, "object", (const unsigned char *)object, strlen(object)))
        return 0;
    if (id != NULL && id_len > 0) {
        size_t i;
        char enc[4];

        if (!put(buf, buflen, &o, buf[o - 1] == ':' ? "id=" : ";id="))
            return 0;
        for (i = 0; i < id_len; i++) {
            snprintf(enc, sizeof(enc), "%%%02x", id[i]);
            if (!put(buf, buflen, &o, enc))
                return 0;
        }
    }
    if (type != NULL && *type != '\0' &&
        !put_attr(buf, buflen, &o, "type", (const unsigned char *)type, strlen(type)))
        return 0;
    return 1;
}
