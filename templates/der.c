/*
 * der.c — the strict-DER check for untrusted bytes (X.690 section 10, the Distinguished Encoding
 * Rules) and the one bounded TLV reader the key gate uses.
 *
 * Why a walker and not OpenSSL's templates: OpenSSL decodes BER (indefinite lengths, long-form
 * lengths, constructed strings) and keeps the received bytes of a request's CertificationRequestInfo
 * and names, so "decode, re-encode, compare" cannot see that the bytes were not DER. This file
 * extracts nothing; it only says whether every TLV is in its one DER form:
 *   - definite lengths only (no 0x80), in the shortest form (X.690 10.1);
 *   - low-tag-number form for tags below 31;
 *   - BIT STRING, OCTET STRING and the character strings primitive (X.690 10.2);
 *   - BOOLEAN 0x00 or 0xFF (11.1); NULL empty; INTEGER and ENUMERATED in the fewest octets (8.3.2);
 *   - BIT STRING: unused-bits count below 8, zero when empty, and the unused bits zero (11.2.1).
 * Constructed values are checked recursively (bounded depth). SET OF ordering (11.6) is not
 * checked: requests from Windows clients do not always sort their attribute SET.
 */
#include "templates/template.h"
#include "templates/tmpl_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_DER_DEPTH 32

/* Read one TLV at p[0..n): strict DER header (single-octet tag unless the tag number is >= 31,
 * definite shortest length, content inside n). 1 ok (t filled) / 0 with *why set. */
int der_tlv_read(const unsigned char *p, size_t n, struct der_tlv *t, const char **why)
{
    size_t i = 1, len = 0, nl;

    if (n < 2) {
        *why = "truncated TLV";
        return 0;
    }
    t->tag = p[0];
    if ((p[0] & 0x1f) == 0x1f) {
        /* high-tag-number form: allowed only for numbers >= 31, no leading 0x80 octet */
        if (p[1] == 0x80 || (!(p[1] & 0x80) && p[1] < 31)) {
            *why = "a tag number below 31 in the high-tag-number form";
            return 0;
        }
        while (i < n && (p[i] & 0x80) && i < 5)
            i++;
        if (i >= n || i >= 5) {
            *why = "an over-long tag";
            return 0;
        }
        i++;
    }
    if (i >= n) {
        *why = "truncated TLV";
        return 0;
    }
    if (p[i] == 0x80) {
        *why = "an indefinite length (BER, X.690 10.1)";
        return 0;
    }
    if (p[i] & 0x80) {
        nl = p[i] & 0x7f;
        if (nl > 4 || i + 1 + nl > n) {
            *why = "a length field that does not fit";
            return 0;
        }
        if (p[i + 1] == 0) {
            *why = "a length with leading zero octets (X.690 10.1)";
            return 0;
        }
        for (size_t k = 0; k < nl; k++)
            len = (len << 8) | p[i + 1 + k];
        if (len < 0x80) {
            *why = "a long-form length for a value under 128 octets (X.690 10.1)";
            return 0;
        }
        i += 1 + nl;
    } else {
        len = p[i++];
    }
    if (len > n - i) {
        *why = "a length past the end of the data";
        return 0;
    }
    t->hdr = i;
    t->v = p + i;
    t->len = len;
    return 1;
}

/* Universal primitive-only types (X.690 10.2 for strings; the rest are always primitive). */
static int must_be_primitive(unsigned tag)
{
    switch (tag & 0x1f) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x0a:
    case 0x0c: case 0x12: case 0x13: case 0x14: case 0x16: case 0x17: case 0x18:
    case 0x1a: case 0x1c: case 0x1e:
        return 1;
    default:
        return 0;
    }
}

static const char *prim_problem(const struct der_tlv *t)
{
    switch (t->tag) {
    case 0x01:
        if (t->len != 1 || (t->v[0] != 0x00 && t->v[0] != 0xff))
            return "a BOOLEAN other than 0x00 or 0xFF (X.690 11.1)";
        return NULL;
    case 0x05:
        return t->len != 0 ? "a NULL with content" : NULL;
    case 0x02: case 0x0a:
        if (t->len == 0)
            return "an empty INTEGER";
        if (t->len > 1 && ((t->v[0] == 0x00 && !(t->v[1] & 0x80)) ||
                           (t->v[0] == 0xff && (t->v[1] & 0x80))))
            return "an INTEGER not in its fewest octets (X.690 8.3.2)";
        return NULL;
    case 0x03:
        if (t->len == 0 || t->v[0] > 7 || (t->len == 1 && t->v[0] != 0))
            return "a BIT STRING with a bad unused-bits count";
        if (t->v[0] && (t->v[t->len - 1] & ((1u << t->v[0]) - 1)))
            return "a BIT STRING whose unused bits are not zero (X.690 11.2.1)";
        return NULL;
    default:
        return NULL;
    }
}

static int walk(const unsigned char *p, size_t n, int depth, size_t base, char *why, size_t wl)
{
    struct der_tlv t;
    const char *w = NULL;
    size_t off = 0;

    if (depth > MAX_DER_DEPTH) {
        snprintf(why, wl, "nested deeper than %d levels", MAX_DER_DEPTH);
        return 0;
    }
    while (off < n) {
        if (!der_tlv_read(p + off, n - off, &t, &w)) {
            snprintf(why, wl, "%s at offset %zu", w, base + off);
            return 0;
        }
        if ((t.tag & 0xc0) == 0 && (t.tag & 0x20) && must_be_primitive(t.tag))
            w = "a constructed string (BER, X.690 10.2)";
        else if ((t.tag & 0x20) == 0)
            w = (t.tag & 0xc0) == 0 ? prim_problem(&t) : NULL;
        if (w != NULL) {
            snprintf(why, wl, "%s at offset %zu", w, base + off);
            return 0;
        }
        if ((t.tag & 0x20) && !walk(t.v, t.len, depth + 1, base + off + t.hdr, why, wl))
            return 0;
        off += t.hdr + t.len;
    }
    return 1;
}

/*
 * Whether p[0..n) is exactly one TLV in strict DER (see the top of this file), recursively.
 * 1 yes / 0 with why = "<problem> at offset N" (the caller adds "not DER").
 */
int der_strict_check(const unsigned char *p, size_t n, char *why, size_t whylen)
{
    struct der_tlv t;
    const char *w = NULL;

    if (!der_tlv_read(p, n, &t, &w)) {
        snprintf(why, whylen, "%s at offset 0", w);
        return 0;
    }
    if (t.hdr + t.len != n) {
        snprintf(why, whylen, "%zu bytes after the outer TLV", n - t.hdr - t.len);
        return 0;
    }
    return walk(p, n, 0, 0, why, whylen);
}

/* Write the DER header of a TLV (tag, shortest definite length) into out (at least 6 octets);
 * returns its length. */
size_t der_hdr_put(unsigned char *out, unsigned tag, size_t len)
{
    size_t n = 0, i = 0;

    out[i++] = (unsigned char)tag;
    if (len < 0x80) {
        out[i++] = (unsigned char)len;
        return i;
    }
    for (size_t l = len; l; l >>= 8)
        n++;
    out[i++] = (unsigned char)(0x80 | n);
    while (n--)
        out[i++] = (unsigned char)(len >> (8 * n));
    return i;
}

/*
 * Locate the SubjectPublicKeyInfo inside a DER X.509 certificate (RFC 5280 4.1: Certificate ->
 * tbsCertificate -> [0] version, serialNumber, signature, issuer, validity, subject, SPKI).
 * 1 found (*spki points into cert) / 0 when cert is not shaped like a certificate.
 */
int der_cert_spki(const unsigned char *cert, size_t len, const unsigned char **spki,
                  size_t *spki_len)
{
    struct der_tlv c, tbs, f;
    const char *w = NULL;
    size_t off = 0;
    int field = 0;

    if (!der_tlv_read(cert, len, &c, &w) || c.tag != 0x30 ||
        !der_tlv_read(c.v, c.len, &tbs, &w) || tbs.tag != 0x30)
        return 0;
    while (off < tbs.len) {
        if (!der_tlv_read(tbs.v + off, tbs.len - off, &f, &w))
            return 0;
        if (field == 0 && f.tag == 0xa0) {
            off += f.hdr + f.len;
            continue;
        }
        if (++field == 6) {
            if (f.tag != 0x30)
                return 0;
            *spki = tbs.v + off;
            *spki_len = f.hdr + f.len;
            return 1;
        }
        off += f.hdr + f.len;
    }
    return 0;
}
