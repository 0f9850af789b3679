/*
 * crl_build.c — build and sign a v2 CRL (RFC 5280 5.1) in one ordered pass.
 *
 * A million entries must not become a million X509_REVOKED objects: the TBSCertList is encoded
 * into ONE growing DER buffer. OpenSSL's i2d encodes every inner structure (serial INTEGER, Time,
 * Extension, Name, AlgorithmIdentifier, BIT STRING); only the SEQUENCE headers around them are
 * framed here with ASN1_put_object / ASN1_object_size, because their lengths are known only at
 * the end. The buffer keeps a gap at its front for those headers, so nothing is copied twice.
 */
#include "base/x509ext.h"
#include "base/oids.h"
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <string.h>
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#define MAX_HDR 6                 /* tag + 0x84 + 4 length bytes: enough below 4 GiB */
#define MAX_ENTRY_DER 256         /* one revoked entry: serial, Time, reason, invalidityDate */
#define MAX_ALGID 512
#define NREASONS 11               /* reason codes 0..10 (7 unused) */

struct dbuf {
    unsigned char *p;
    size_t len, cap;
};

/* Per-build encoder state for the revoked entries: reused objects and precomputed DER. */
struct ent_enc {
    ASN1_TIME *date;
    unsigned char reason_der[NREASONS][16];
    int reason_len[NREASONS];
    time_t last_date, last_inv;
    unsigned char date_der[24], inv_der[40];
    int date_len, inv_len;
    unsigned char prev[MAX_SERIAL_BYTES];
    size_t prev_len;
    uint64_t count;
};

static int dbuf_reserve(struct dbuf *b, size_t more)
{
    size_t cap;
    unsigned char *n;

    if (b->len + more <= b->cap)
        return 1;
    if (b->len + more > (size_t)MAX_CRL_BYTES) {
        crl_seterr(CE_INPUT, "crl: size limit: the CRL would exceed %ld bytes; split the CA or "
                   "remove expired certificates from the revoked list", MAX_CRL_BYTES);
        return 0;
    }
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    if ((n = OPENSSL_realloc(b->p, cap)) == NULL) {
        crl_seterr(CE_SYSTEM, "crl: memory: cannot grow the CRL buffer to %zu bytes; free memory",
                   cap);
        return 0;
    }
    b->p = n;
    b->cap = cap;
    return 1;
}

static int dbuf_add(struct dbuf *b, const unsigned char *d, size_t n)
{
    if (!dbuf_reserve(b, n))
        return 0;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 1;
}

/* Append the DER of an ASN1 item through its i2d (the only encoder of inner structures). */
static int dbuf_i2d(struct dbuf *b, const void *obj, const ASN1_ITEM *it, const char *what)
{
    unsigned char *der = NULL;
    int n = ASN1_item_i2d((const ASN1_VALUE *)obj, &der, it);
    int ok;

    if (n <= 0) {
        crl_seterr_ossl(CE_INPUT, "crl: DER: cannot encode the %s; check the CA certificate",
                        what);
        return 0;
    }
    ok = dbuf_add(b, der, (size_t)n);
    OPENSSL_free(der);
    return ok;
}

/* Append a header for content of length n: constructed unless tag is BIT STRING. */
static int dbuf_hdr(struct dbuf *b, size_t n, int tag, int xclass)
{
    unsigned char *p;

    if (!dbuf_reserve(b, MAX_HDR))
        return 0;
    p = b->p + b->len;
    ASN1_put_object(&p, tag == V_ASN1_BIT_STRING && xclass == 0 ? 0 : 1, (int)n, tag, xclass);
    b->len = (size_t)(p - b->p);
    return 1;
}

static size_t hdr_len(size_t n, int tag)
{
    return (size_t)ASN1_object_size(1, (int)n, tag) - n;
}

/* The signature AlgorithmIdentifier, as the signing provider (HSM or software) will sign. */
static int algid_get(EVP_MD_CTX *sign, unsigned char *aid, size_t *aid_len)
{
    EVP_PKEY_CTX *pctx = EVP_MD_CTX_get_pkey_ctx(sign);
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid,
                                                  MAX_ALGID);
    params[1] = OSSL_PARAM_construct_end();
    if (pctx == NULL || EVP_PKEY_CTX_get_params(pctx, params) <= 0
        || !OSSL_PARAM_modified(&params[0]) || params[0].return_size == 0) {
        crl_seterr_ossl(CE_SYSTEM, "crl: signature: the signing context cannot name its "
                        "AlgorithmIdentifier; initialise it with EVP_DigestSignInit for the CA key");
        return 0;
    }
    *aid_len = params[0].return_size;
    return 1;
}

/* RFC 5280 5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050 (ASN1_TIME_set does that). */
static int time_der(time_t t, unsigned char *out, size_t cap, int generalized)
{
    ASN1_TIME *tm = generalized ? ASN1_GENERALIZEDTIME_set(NULL, t) : ASN1_TIME_set(NULL, t);
    unsigned char *p = out;
    int n = -1;

    if (tm != NULL && i2d_ASN1_TIME(tm, NULL) <= (int)cap)
        n = i2d_ASN1_TIME(tm, &p);
    ASN1_STRING_free(tm);
    if (n <= 0)
        crl_seterr_ossl(CE_INPUT, "crl: time: %lld cannot be encoded as an X.509 Time; use a "
                        "date between 1950 and 9999", (long long)t);
    return n;
}

static int dbuf_time(struct dbuf *b, time_t t)
{
    unsigned char der[24];
    int n = time_der(t, der, sizeof(der), 0);

    return n > 0 && dbuf_add(b, der, (size_t)n);
}

/* version, signature, issuer, thisUpdate, nextUpdate: the part of the TBS before the list. */
static int tbs_head(const struct crl_params *p, const unsigned char *aid, size_t aid_len,
                    struct dbuf *b)
{
    static const unsigned char v2[] = { 0x02, 0x01, 0x01 };

    if (!dbuf_add(b, v2, sizeof(v2)) || !dbuf_add(b, aid, aid_len))
        return 0;
    if (!dbuf_i2d(b, X509_get_subject_name(p->issuer), ASN1_ITEM_rptr(X509_NAME),
                  "issuer name"))
        return 0;
    return dbuf_time(b, p->this_update) && dbuf_time(b, p->next_update);
}

static int ext_der(int nid, int crit, void *val, unsigned char *out, size_t cap)
{
    X509_EXTENSION *ext = X509V3_EXT_i2d(nid, crit, val);
    unsigned char *p = out;
    int n = -1;

    if (ext != NULL && i2d_X509_EXTENSION(ext, NULL) <= (int)cap)
        n = i2d_X509_EXTENSION(ext, &p);
    X509_EXTENSION_free(ext);
    if (n <= 0)
        crl_seterr_ossl(CE_SYSTEM, "crl: entry extension: cannot encode %s; report this bug",
                        OBJ_nid2sn(nid));
    return n;
}

static int ent_enc_init(struct ent_enc *x)
{
    ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
    int r, ok = 0;

    memset(x, 0, sizeof(*x));
    x->last_date = x->last_inv = -1;
    x->date = ASN1_TIME_new();
    if (e == NULL || x->date == NULL) {
        crl_seterr(CE_SYSTEM, "crl: memory: cannot allocate the entry encoder; free memory");
        goto out;
    }
    for (r = 0; r < NREASONS; r++) {
        if (r == 7)
            continue;
        if (!ASN1_ENUMERATED_set(e, r)
            || (x->reason_len[r] = ext_der(NID_crl_reason, 0, e, x->reason_der[r],
                                           sizeof(x->reason_der[r]))) <= 0)
            goto out;
    }
    ok = 1;
out:
    ASN1_ENUMERATED_free(e);
    return ok;
}

static void ent_enc_clear(struct ent_enc *x)
{
    ASN1_TIME_free(x->date);
}

/* Entries come in strictly ascending order of their serial bytes (memcmp, then length: the
 * order of the store's keys, equal to numeric order for equal-length serials). That order is
 * what proves there are no duplicates without remembering a million serials. */
static int ent_check(struct ent_enc *x, const struct crl_entry *e)
{
    int c;

    if (e->serial_len == 0 || e->serial_len > MAX_SERIAL_BYTES || e->serial[0] == 0) {
        crl_seterr(CE_INPUT, "crl: entry %llu: RFC 5280 4.1.2.2: serial of %zu bytes is not a "
                   "positive minimal big-endian number of 1..%d bytes; fix the revocation record",
                   (unsigned long long)x->count + 1, e->serial_len, MAX_SERIAL_BYTES);
        return 0;
    }
    if (e->reason < CRL_REASON_NONE || e->reason > CRL_REASON_AA_COMPROMISE || e->reason == 7) {
        crl_seterr(CE_INPUT, "crl: entry %llu: RFC 5280 5.3.1: reason code %d is not defined; "
                   "use one of the RFC 5280 reasons", (unsigned long long)x->count + 1, e->reason);
        return 0;
    }
    /* ascending as integers: serials are minimal positive magnitudes, so a shorter one is
     * smaller (byte order alone would put 0x1005 after 0x0b..., a longer but larger serial) */
    c = x->prev_len != e->serial_len ? (x->prev_len < e->serial_len ? -1 : 1)
                                     : memcmp(x->prev, e->serial, e->serial_len);
    if (x->count > 0 && c >= 0) {
        crl_seterr(CE_INPUT, "crl: entry %llu: revoked list order: serial is %s the previous "
                   "one (entries must be strictly ascending; a duplicate breaks CRL semantics); "
                   "fix the revoked index", (unsigned long long)x->count + 1,
                   c == 0 && x->prev_len == e->serial_len ? "a duplicate of" : "below");
        return 0;
    }
    memcpy(x->prev, e->serial, e->serial_len);
    x->prev_len = e->serial_len;
    return 1;
}

/* Cache the DER of the revocation date and invalidity extension: consecutive entries often
 * share them, and encoding a Time means a gmtime and a print. */
static int ent_dates(struct ent_enc *x, const struct crl_entry *e)
{
    if (e->revoked_at != x->last_date) {
        if ((x->date_len = time_der(e->revoked_at, x->date_der, sizeof(x->date_der), 0)) <= 0)
            return 0;
        x->last_date = e->revoked_at;
    }
    if (e->invalidity != 0 && e->invalidity != x->last_inv) {
        ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, e->invalidity);

        x->inv_len = g ? ext_der(NID_invalidity_date, 0, g, x->inv_der, sizeof(x->inv_der)) : -1;
        ASN1_GENERALIZEDTIME_free(g);
        if (x->inv_len <= 0)
            return 0;
        x->last_inv = e->invalidity;
    }
    return 1;
}

/* The serial as a DER INTEGER (X.690 8.3): tag, short-form length (at most 21 content bytes),
 * a 00 octet when the high bit is set (the serial is positive), then the minimal big-endian
 * bytes ent_check accepted. Framing only: no ASN1_INTEGER per entry. */
static size_t ent_serial_der(const struct crl_entry *e, unsigned char *out)
{
    size_t pad = (e->serial[0] & 0x80) ? 1 : 0;

    out[0] = V_ASN1_INTEGER;
    out[1] = (unsigned char)(e->serial_len + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, e->serial, e->serial_len);
    return 2 + pad + e->serial_len;
}

/* One revokedCertificates element: SEQUENCE { serial, revocationDate, [crlEntryExtensions] }. */
static int ent_encode(struct ent_enc *x, const struct crl_entry *e, struct dbuf *b)
{
    unsigned char ser[MAX_SERIAL_BYTES + 3];
    size_t sl, el, inner;
    int r = e->reason;

    if (!ent_check(x, e) || !ent_dates(x, e))
        return 0;
    sl = ent_serial_der(e, ser);
    el = (r >= 0 ? (size_t)x->reason_len[r] : 0) + (e->invalidity ? (size_t)x->inv_len : 0);
    inner = sl + (size_t)x->date_len + (el ? hdr_len(el, V_ASN1_SEQUENCE) + el : 0);
    if (!dbuf_reserve(b, MAX_ENTRY_DER) || !dbuf_hdr(b, inner, V_ASN1_SEQUENCE, 0))
        return 0;
    memcpy(b->p + b->len, ser, sl);
    b->len += sl;
    memcpy(b->p + b->len, x->date_der, (size_t)x->date_len);
    b->len += (size_t)x->date_len;
    if (el) {
        dbuf_hdr(b, el, V_ASN1_SEQUENCE, 0);   /* reserved above: cannot fail */
        if (r >= 0) {
            memcpy(b->p + b->len, x->reason_der[r], (size_t)x->reason_len[r]);
            b->len += (size_t)x->reason_len[r];
        }
        if (e->invalidity) {
            memcpy(b->p + b->len, x->inv_der, (size_t)x->inv_len);
            b->len += (size_t)x->inv_len;
        }
    }
    x->count++;
    return 1;
}

/* Pull every entry from the callback and append it; *n gets the count. */
static int entries_encode(crl_next_fn next, void *arg, struct dbuf *b, uint64_t *n)
{
    struct ent_enc x;
    struct crl_entry e;
    int rc, ok = 0;

    if (!ent_enc_init(&x))
        goto out;
    for (;;) {
        memset(&e, 0, sizeof(e));
        if ((rc = next(arg, &e)) == 0)
            break;
        if (rc < 0) {
            crl_seterr(CE_SYSTEM, "crl: revoked entries: the entry source failed after %llu "
                       "entries; see the message before this one",
                       (unsigned long long)x.count);
            goto out;
        }
        if (!ent_encode(&x, &e, b))
            goto out;
    }
    *n = x.count;
    ok = 1;
out:
    ent_enc_clear(&x);
    return ok;
}

/* Push ext (taken; NULL: it could not be built) with a message naming what. */
static int exts_push_ext(STACK_OF(X509_EXTENSION) *sk, X509_EXTENSION *ext, const char *what)
{
    if (ext == NULL || !sk_X509_EXTENSION_push(sk, ext)) {
        X509_EXTENSION_free(ext);
        crl_seterr_ossl(CE_SYSTEM, "crl: extension: cannot encode %s; report this bug", what);
        return 0;
    }
    return 1;
}

/* Push an extension made by OpenSSL's v3 method for nid (takes nothing from val). */
static int exts_push_nid(STACK_OF(X509_EXTENSION) *sk, int nid, int crit, void *val)
{
    X509_EXTENSION *ext = val ? X509V3_EXT_i2d(nid, crit, val) : NULL;

    if (ext == NULL || !sk_X509_EXTENSION_push(sk, ext)) {
        X509_EXTENSION_free(ext);
        crl_seterr_ossl(CE_SYSTEM, "crl: extension: cannot encode %s; report this bug",
                        OBJ_nid2sn(nid));
        return 0;
    }
    return 1;
}

/* Push a Microsoft extension whose value is the DER in der/n (OpenSSL has no method for it);
 * der is freed either way. */
static int exts_push_raw(STACK_OF(X509_EXTENSION) *sk, const char *oid, unsigned char *der, int n)
{
    X509_EXTENSION *ext = x509ext_raw(oid, der, n);

    OPENSSL_free(der);
    return exts_push_ext(sk, ext, oid);
}

static int exts_akid_number(const struct crl_params *p, STACK_OF(X509_EXTENSION) *sk)
{
    AUTHORITY_KEYID *akid = NULL;
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    int ok = 0;

    if (X509_get0_subject_key_id(p->issuer) == NULL) {
        crl_seterr(CE_INPUT, "crl: RFC 5280 4.2.1.2: the CA certificate has no subject key "
                   "identifier, so the CRL cannot carry a matching AKID; reissue the CA "
                   "certificate with subjectKeyIdentifier");
        goto out;
    }
    if ((akid = x509ext_akid_of(p->issuer)) == NULL || num == NULL
        || !ASN1_INTEGER_set_uint64(num, p->number)) {
        crl_seterr(CE_SYSTEM, "crl: memory: cannot build AKID/CRL number; free memory");
        goto out;
    }
    if (!exts_push_nid(sk, NID_authority_key_identifier, 0, akid)
        || !exts_push_nid(sk, NID_crl_number, 0, num))
        goto out;
    if (p->is_delta && (!ASN1_INTEGER_set_uint64(num, p->base_number)
                        || !exts_push_nid(sk, NID_delta_crl, 1, num)))
        goto out;
    ok = 1;
out:
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER_free(num);
    return ok;
}

static int exts_urls(const struct crl_params *p, STACK_OF(X509_EXTENSION) *sk)
{
    ISSUING_DIST_POINT *idp = NULL;
    CRL_DIST_POINTS *fresh = NULL;
    int ok = 0;

    if (p->idp_url != NULL) {
        if ((idp = ISSUING_DIST_POINT_new()) == NULL
            || (idp->distpoint = x509ext_dp_name(p->idp_url)) == NULL
            || !exts_push_nid(sk, NID_issuing_distribution_point, 1, idp))
            goto out;
    }
    if (p->freshest_url != NULL) {
        if ((fresh = x509ext_cdp(p->freshest_url)) == NULL
            || !exts_push_nid(sk, NID_freshest_crl, 0, fresh))
            goto out;
    }
    ok = 1;
out:
    if (!ok && crl_error_code() == 0)
        crl_seterr(CE_SYSTEM, "crl: memory: cannot build IDP/Freshest CRL; free memory");
    ISSUING_DIST_POINT_free(idp);
    sk_DIST_POINT_pop_free(fresh, DIST_POINT_free);
    return ok;
}

static int exts_microsoft(const struct crl_params *p, STACK_OF(X509_EXTENSION) *sk)
{
    unsigned char *der = NULL;
    int n;

    if (p->ca_version >= 0 &&
        !exts_push_ext(sk, x509ext_ca_version((unsigned long)p->ca_version), OID_MS_CA_VERSION))
        return 0;
    if (p->next_publish != 0) {
        ASN1_TIME *t = ASN1_TIME_set(NULL, p->next_publish);

        n = t ? i2d_ASN1_TIME(t, &der) : -1;
        ASN1_TIME_free(t);
        if (!exts_push_raw(sk, OID_MS_NEXT_CRL_PUBLISH, der, n))
            return 0;
    }
    return 1;
}

/* crlExtensions [0] EXPLICIT Extensions, in a fixed order: AKID, CRL number, Delta CRL
 * Indicator, IDP, Freshest CRL, Microsoft CA Version, Microsoft Next CRL Publish. */
static int exts_encode(const struct crl_params *p, struct dbuf *b)
{
    STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
    unsigned char *der = NULL;
    int n, ok = 0;

    crl_err_clear();
    if (sk == NULL || !exts_akid_number(p, sk) || !exts_urls(p, sk) || !exts_microsoft(p, sk))
        goto out;
    if ((n = i2d_X509_EXTENSIONS(sk, &der)) <= 0) {
        crl_seterr_ossl(CE_SYSTEM, "crl: extensions: cannot encode; report this bug");
        goto out;
    }
    ok = dbuf_hdr(b, (size_t)n, 0, V_ASN1_CONTEXT_SPECIFIC) && dbuf_add(b, der, (size_t)n);
out:
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
    return ok;
}

static int params_check(const struct crl_params *p, crl_next_fn next, EVP_MD_CTX *sign,
                        size_t *der_len)
{
    if (p == NULL || p->issuer == NULL || next == NULL || sign == NULL || der_len == NULL) {
        crl_seterr(CE_USAGE, "crl: arguments: issuer, entry source, signing context and "
                   "length are required; fix the caller");
        return 0;
    }
    if (p->next_update <= p->this_update) {
        crl_seterr(CE_USAGE, "crl: RFC 5280 5.1.2.5: nextUpdate is not after thisUpdate; "
                   "check crl_period");
        return 0;
    }
    if (p->is_delta && p->base_number >= p->number) {
        crl_seterr(CE_USAGE, "crl: RFC 5280 5.2.4: delta CRL number %llu is not above its base "
                   "%llu; publish a new base CRL first", (unsigned long long)p->number,
                   (unsigned long long)p->base_number);
        return 0;
    }
    if ((p->idp_url != NULL && !crl_url_check(p->idp_url, "issuing distribution point"))
        || (p->freshest_url != NULL && !crl_url_check(p->freshest_url, "freshest CRL")))
        return 0;
    return 1;
}

/* Write the TBS header, the head and the revokedCertificates header backwards into the gap in
 * front of the entries; return where the TBS starts. */
static size_t tbs_frame(struct dbuf *b, size_t gap, const struct dbuf *head, size_t ent_len)
{
    size_t rh = ent_len ? hdr_len(ent_len, V_ASN1_SEQUENCE) : 0;  /* RFC 5280: omit if empty */
    size_t content = head->len + rh + (b->len - gap);
    size_t th = hdr_len(content, V_ASN1_SEQUENCE);
    size_t start = gap - rh - head->len - th;
    unsigned char *q = b->p + start;

    ASN1_put_object(&q, 1, (int)content, V_ASN1_SEQUENCE, 0);
    memcpy(q, head->p, head->len);
    q += head->len;
    if (rh)
        ASN1_put_object(&q, 1, (int)ent_len, V_ASN1_SEQUENCE, 0);
    return start;
}

/* Sign [tbs, end) once and append AlgorithmIdentifier and BIT STRING signature. */
static int crl_sign_append(struct dbuf *b, size_t tbs_start, EVP_MD_CTX *sign,
                           const unsigned char *aid, size_t aid_len)
{
    unsigned char *sig = NULL;
    size_t siglen = 0, tbs_len = b->len - tbs_start;
    int ok = 0;

    if (EVP_DigestSign(sign, NULL, &siglen, b->p + tbs_start, tbs_len) <= 0
        || (sig = OPENSSL_malloc(siglen)) == NULL
        || EVP_DigestSign(sign, sig, &siglen, b->p + tbs_start, tbs_len) <= 0) {
        crl_seterr_ossl(CE_SYSTEM, "crl: signature: signing the CRL failed; check the CA key "
                        "and the token");
        goto out;
    }
    if (!dbuf_add(b, aid, aid_len) || !dbuf_hdr(b, siglen + 1, V_ASN1_BIT_STRING, 0)
        || !dbuf_add(b, (const unsigned char *)"", 1) || !dbuf_add(b, sig, siglen))
        goto out;
    ok = 1;
out:
    OPENSSL_free(sig);
    return ok;
}

/* The caller's lint on exactly the bytes about to be signed (the buffer is not touched between
 * this call and the signature). */
static int tbs_checked(const struct crl_params *p, const unsigned char *tbs, size_t len)
{
    char msg[512] = "";

    if (p->tbs_check == NULL || p->tbs_check(p->tbs_check_arg, tbs, len, msg, sizeof(msg)))
        return 1;
    crl_seterr(CE_POLICY, "%s", msg[0] ? msg : "crl: lint: refused by the caller's check");
    return 0;
}

/* Build and sign a v2 CRL (RFC 5280 5.1): see crl.h. The signing context is always freed. */
unsigned char *crl_build(const struct crl_params *p, crl_next_fn next, void *arg,
                         EVP_MD_CTX *sign, size_t *der_len)
{
    struct dbuf head = { 0 }, b = { 0 };
    unsigned char aid[MAX_ALGID], *ret = NULL;
    size_t aid_len = 0, gap, ent_len, tbs_start, content, oh;
    uint64_t n = 0;

    crl_err_clear();
    if (!params_check(p, next, sign, der_len) || !algid_get(sign, aid, &aid_len)
        || !tbs_head(p, aid, aid_len, &head))
        goto out;
    gap = 3 * MAX_HDR + head.len;
    if (!dbuf_reserve(&b, gap))
        goto out;
    b.len = gap;
    if (!entries_encode(next, arg, &b, &n))
        goto out;
    ent_len = b.len - gap;
    if (!exts_encode(p, &b))
        goto out;
    tbs_start = tbs_frame(&b, gap, &head, ent_len);
    if (!tbs_checked(p, b.p + tbs_start, b.len - tbs_start)
        || !crl_sign_append(&b, tbs_start, sign, aid, aid_len))
        goto out;
    content = b.len - tbs_start;
    oh = hdr_len(content, V_ASN1_SEQUENCE);
    {
        unsigned char *q = b.p + tbs_start - oh;

        ASN1_put_object(&q, 1, (int)content, V_ASN1_SEQUENCE, 0);
    }
    *der_len = content + oh;
    memmove(b.p, b.p + tbs_start - oh, *der_len);
    ret = b.p;
    b.p = NULL;
out:
    EVP_MD_CTX_free(sign);
    OPENSSL_free(head.p);
    OPENSSL_free(b.p);
    return ret;
}
