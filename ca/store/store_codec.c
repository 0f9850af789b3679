/*
 * store_codec.c — the store's record and key encoding (no LMDB): records are a kind byte, a format
 * version byte, then fields in a fixed order: integers big-endian (u8/u32/u64; times as int64),
 * byte strings and text as u32 length + bytes (0xffffffff = NULL). Decoding is bounds-checked and
 * refuses short or trailing data. Serials are kept as DER INTEGER content octets (see store.c).
 */
#include "base/hex.h"
#include "ca/store/store.h"
#include "ca/store/store_int.h"

#include <errno.h>
#include <pthread.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void st_hex_of(const unsigned char *p, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return;
    hex_encode(p, n < (cap - 1) / 2 ? n : (cap - 1) / 2, out);
}


/* ---- record encoding ------------------------------------------------------------------------- */

void st_enc_raw(struct enc *e, const void *v, size_t n)
{
    if (e->bad || n == 0)
        return;
    if (n > MAX_STORE_FIELD + 8 || e->len + n > ((size_t)1 << 31)) {
        e->bad = 1;
        return;
    }
    if (e->len + n > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        unsigned char *np;
        while (cap < e->len + n)
            cap *= 2;
        if ((np = OPENSSL_realloc(e->p, cap)) == NULL) {
            e->bad = 1;
            return;
        }
        e->p = np;
        e->cap = cap;
    }
    memcpy(e->p + e->len, v, n);
    e->len += n;
}

void st_put_be(unsigned char *b, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

uint64_t st_get_be(const unsigned char *b, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

void st_enc_int(struct enc *e, uint64_t v, int n)
{
    unsigned char b[8];

    st_put_be(b, v, n);
    st_enc_raw(e, b, (size_t)n);
}

void st_enc_u8(struct enc *e, unsigned v) { st_enc_int(e, v, 1); }
void st_enc_u32(struct enc *e, uint32_t v) { st_enc_int(e, v, 4); }
void st_enc_u64(struct enc *e, uint64_t v) { st_enc_int(e, v, 8); }
void st_enc_time(struct enc *e, time_t t) { st_enc_u64(e, (uint64_t)(int64_t)t); }

void st_enc_bytes(struct enc *e, const void *p, size_t n)
{
    if (n > MAX_STORE_FIELD || (n > 0 && p == NULL)) {
        e->bad = 1;
        return;
    }
    st_enc_u32(e, (uint32_t)n);
    st_enc_raw(e, p, n);
}

void st_enc_str(struct enc *e, const char *s)
{
    if (s == NULL)
        st_enc_u32(e, LEN_NULL);
    else
        st_enc_bytes(e, s, strlen(s));
}

void st_enc_head(struct enc *e, char kind)
{
    st_enc_u8(e, (unsigned char)kind);
    st_enc_u8(e, REC_VERSION);
}

const unsigned char *st_dec_raw(struct dec *d, size_t n)
{
    const unsigned char *r;

    if (d->err)
        return NULL;
    if (n > d->len - d->off) {
        d->err = "record is shorter than its fields say";
        return NULL;
    }
    r = d->p + d->off;
    d->off += n;
    return r;
}

uint64_t st_dec_int(struct dec *d, int n)
{
    const unsigned char *b = st_dec_raw(d, (size_t)n);

    return b ? st_get_be(b, n) : 0;
}

time_t st_dec_time(struct dec *d) { return (time_t)(int64_t)st_dec_int(d, 8); }

/* A u8 that must be <= max (enum and flag fields). */
int st_dec_small(struct dec *d, unsigned max)
{
    unsigned v = (unsigned)st_dec_int(d, 1);

    if (v > max && !d->err)
        d->err = "enumerated field out of range";
    return (int)v;
}

/* Returns the field bytes (borrowed) and sets *n; NULL with *n = LEN_NULL for a NULL field. */
const unsigned char *st_dec_field(struct dec *d, size_t *n)
{
    uint32_t len = (uint32_t)st_dec_int(d, 4);

    *n = 0;
    if (d->err)
        return NULL;
    if (len == LEN_NULL) {
        *n = LEN_NULL;
        return NULL;
    }
    *n = len;
    return st_dec_raw(d, len);
}

unsigned char *st_dec_bytes(struct dec *d, size_t *n)
{
    size_t len;
    const unsigned char *b = st_dec_field(d, &len);
    unsigned char *out;

    *n = 0;
    if (d->err || len == 0)
        return NULL;
    if (len == LEN_NULL) {
        d->err = "byte field marked NULL";
        return NULL;
    }
    if ((out = OPENSSL_memdup(b, len)) == NULL)
        d->err = "out of memory";
    else
        *n = len;
    return out;
}

char *st_dec_str(struct dec *d)
{
    size_t len;
    const unsigned char *b = st_dec_field(d, &len);
    char *out;

    if (d->err || len == LEN_NULL)
        return NULL;
    if (len > 0 && memchr(b, 0, len)) {
        d->err = "text field holds a NUL byte";
        return NULL;
    }
    if ((out = OPENSSL_malloc(len + 1)) == NULL) {
        d->err = "out of memory";
        return NULL;
    }
    if (len)
        memcpy(out, b, len);
    out[len] = '\0';
    return out;
}

void st_dec_strbuf(struct dec *d, char *buf, size_t cap)
{
    size_t len;
    const unsigned char *b = st_dec_field(d, &len);

    buf[0] = '\0';
    if (d->err)
        return;
    if (len == LEN_NULL || len >= cap || (len > 0 && memchr(b, 0, len))) {
        d->err = "text field is NULL, too long for its place, or holds a NUL byte";
        return;
    }
    if (len)
        memcpy(buf, b, len);
    buf[len] = '\0';
}

void st_dec_head(struct dec *d, const struct store_val *v, char kind)
{
    memset(d, 0, sizeof(*d));
    d->p = v->mv_data;
    d->len = v->mv_size;
    if (st_dec_int(d, 1) != (unsigned char)kind && !d->err)
        d->err = "record of the wrong kind";
    if (st_dec_int(d, 1) != REC_VERSION && !d->err)
        d->err = "unknown record format version (written by a newer offca?)";
}

/* The problem text, or NULL when the record was read exactly to its end. */
const char *st_dec_end(struct dec *d)
{
    if (!d->err && d->off != d->len)
        d->err = "trailing bytes after the last field";
    return d->err;
}

int st_corrupt(struct store_txn *t, const char *db, const char *what, const char *why)
{
    st_seterr("store %s: %s record %s: store corrupt: %s; restore the store from backup", st_txn_path(t),
           db, what, why);
    return 0;
}


/* ---- keys, names and serials ----------------------------------------------------------------- */

int st_ca_name_ok(const char *ca)
{
    if (ca == NULL || ca[0] == '\0' || strnlen(ca, MAX_CA_NAME + 1) > MAX_CA_NAME) {
        st_seterr("store: CA name '%.*s': must be 1 to %d characters; use a shorter name",
               MAX_CA_NAME, ca ? ca : "", MAX_CA_NAME);
        return 0;
    }
    return 1;
}

/* Canonical serial (DER INTEGER contents) from a big-endian unsigned byte string. */
int st_serial_canon(const unsigned char *in, size_t n, struct sn *out)
{
    char hex[2 * 32 + 1];
    size_t i = 0, len, pad;

    if (in == NULL || n == 0) {
        st_seterr("store: serial: empty; pass the certificate serial number");
        return 0;
    }
    while (i < n && in[i] == 0)
        i++;
    st_hex_of(in, n < 32 ? n : 32, hex, sizeof(hex));
    if (i == n) {
        st_seterr("store: serial %s: RFC 5280 4.1.2.2: zero is not a positive serial; use another "
               "serial", hex);
        return 0;
    }
    len = n - i;
    pad = (in[i] & 0x80) ? 1 : 0;
    if (len + pad > MAX_STORE_SERIAL) {
        st_seterr("store: serial %s: RFC 5280 4.1.2.2: longer than %d octets as DER; use a shorter "
               "serial", hex, MAX_STORE_SERIAL);
        return 0;
    }
    out->n = len + pad;
    out->b[0] = 0;
    memcpy(out->b + pad, in + i, len);
    return 1;
}

/* ca '\0' len serial */
size_t st_key_cs(unsigned char *k, const char *ca, const struct sn *sn)
{
    size_t n = strlen(ca);

    memcpy(k, ca, n);
    k[n++] = 0;
    k[n++] = (unsigned char)sn->n;
    memcpy(k + n, sn->b, sn->n);
    return n + sn->n;
}

/* Parse ca '\0' len serial starting at off; 1 ok / 0 malformed. */
int st_key_cs_parse(const struct store_val *k, size_t off, char *ca, struct sn *sn)
{
    const unsigned char *p = (const unsigned char *)k->mv_data + off;
    size_t n = k->mv_size - off;
    const unsigned char *z = n ? memchr(p, 0, n) : NULL;
    size_t cl;

    if (k->mv_size < off || z == NULL || (cl = (size_t)(z - p)) == 0 || cl > MAX_CA_NAME ||
        cl + 2 > n)
        return 0;
    sn->n = p[cl + 1];
    if (sn->n == 0 || sn->n > MAX_STORE_SERIAL || cl + 2 + sn->n != n)
        return 0;
    memcpy(ca, p, cl);
    ca[cl] = '\0';
    memcpy(sn->b, p + cl + 2, sn->n);
    return 1;
}

void st_ascii_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int st_sha256(const void *p, size_t n, unsigned char out[32])
{
    /* fetched once per process: EVP_Q_digest fetches it again on every call, which cost more
     * than hashing an audit record or a SubjectPublicKeyInfo */
    pthread_once(&sha256_once, sha256_fetch);
    if (sha256_md == NULL || !EVP_Digest(p, n, out, NULL, sha256_md, NULL)) {
        st_seterr("store: audit: SHA-256 is unavailable in OpenSSL's default library context; check "
               "the OpenSSL configuration (OPENSSL_CONF)");
        return 0;
    }
    return 1;
}
