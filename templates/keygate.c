/*
 * keygate.c — the key gate's face (see template.h): parse the SubjectPublicKeyInfo strictly
 * (RFC 5280 4.1.2.7), the EC rules (RFC 5480: named curves only, point on the curve), the canonical
 * re-encoding and its SHA-256, the blocklist. The RSA rules are in keygate_rsa.c.
 */
#include "base/hex.h"
#include "templates/template.h"
#include "templates/tmpl_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

static const char FIX[] = "request a new key";
/* Content octets of the algorithm OIDs (RFC 3279, RFC 4055, RFC 5480). */
static const unsigned char OID_RSA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char OID_PSS[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a };
static const unsigned char OID_EC[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const int default_curves[] = { NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1 };

#define N_GROUPS 3
static EC_GROUP *groups[N_GROUPS];
static pthread_once_t groups_once = PTHREAD_ONCE_INIT;

static EVP_MD *sha256;                  /* fetched once: an implicit fetch per key costs more
                                         * than the hash of a 300-octet SPKI */

static void groups_init(void)
{
    for (int i = 0; i < N_GROUPS; i++)
        groups[i] = EC_GROUP_new_by_curve_name(default_curves[i]);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    ERR_clear_error();
}

static const EC_GROUP *group_of(int nid)
{
    pthread_once(&groups_once, groups_init);
    for (int i = 0; i < N_GROUPS; i++)
        if (default_curves[i] == nid)
            return groups[i];
    return NULL;
}

/* The SPKI's parts: algorithm OID, parameters (tag 0 when absent), key bits. */
struct spki_parts {
    struct der_tlv oid, params, bits;
};

static int spki_split(const unsigned char *p, size_t n, struct spki_parts *s, char *why,
                      size_t wl)
{
    struct der_tlv outer, alg;
    const char *w = NULL;
    size_t off;

    memset(s, 0, sizeof(*s));
    if (!der_tlv_read(p, n, &outer, &w) || outer.tag != 0x30 || outer.hdr + outer.len != n ||
        !der_tlv_read(outer.v, outer.len, &alg, &w) || alg.tag != 0x30 ||
        !der_tlv_read(alg.v, alg.len, &s->oid, &w) || s->oid.tag != 0x06)
        goto bad;
    off = s->oid.hdr + s->oid.len;
    if (off < alg.len && (!der_tlv_read(alg.v + off, alg.len - off, &s->params, &w) ||
                          off + s->params.hdr + s->params.len != alg.len))
        goto bad;
    off = alg.hdr + alg.len;
    if (!der_tlv_read(outer.v + off, outer.len - off, &s->bits, &w) || s->bits.tag != 0x03 ||
        off + s->bits.hdr + s->bits.len != outer.len || s->bits.len < 2)
        goto bad;
    if (s->bits.v[0] != 0) {
        snprintf(why, wl, "key: the subjectPublicKey BIT STRING has unused bits (RFC 5280 "
                 "4.1.2.7); %s", FIX);
        return 0;
    }
    return 1;
bad:
    snprintf(why, wl, "key: not a DER SubjectPublicKeyInfo (%s, RFC 5280 4.1.2.7); %s",
             w ? w : "wrong structure", FIX);
    return 0;
}

static int oid_is(const struct der_tlv *t, const unsigned char *oid, size_t n)
{
    return t->tag == 0x06 && t->len == n && memcmp(t->v, oid, n) == 0;
}

static int curve_allowed(const struct keygate_policy *p, int nid)
{
    const int *c = p->curves ? p->curves : default_curves;
    size_t n = p->curves ? p->n_curves : N_GROUPS;

    for (size_t i = 0; i < n; i++)
        if (c[i] == nid)
            return 1;
    return 0;
}

/* The named curve of the parameters, checked against the policy. NID or NID_undef (why set). */
static int ec_curve(const struct spki_parts *s, const struct keygate_policy *p, char *why,
                    size_t wl)
{
    const unsigned char *q;
    ASN1_OBJECT *o;
    int nid;

    if (s->params.tag == 0x30) {
        snprintf(why, wl, "key: EC key with explicit curve parameters; only named curves are "
                 "accepted (RFC 5480 2.1.1, CVE-2020-0601); %s on P-256 or P-384", FIX);
        return NID_undef;
    }
    if (s->params.tag != 0x06) {
        snprintf(why, wl, "key: EC key without a namedCurve OID (%s; RFC 5480 2.1.1); %s on a "
                 "named curve", s->params.tag == 0x05 ? "implicitCurve NULL" : "no parameters",
                 FIX);
        return NID_undef;
    }
    q = s->params.v - s->params.hdr;
    o = d2i_ASN1_OBJECT(NULL, &q, (long)(s->params.hdr + s->params.len));
    nid = o ? OBJ_obj2nid(o) : NID_undef;
    ASN1_OBJECT_free(o);
    ERR_clear_error();
    if (nid == NID_undef || group_of(nid) == NULL || !curve_allowed(p, nid)) {
        snprintf(why, wl, "key: EC curve %s is not allowed (template key curves, CA/B BR 6.1.5); "
                 "%s on an allowed curve", nid != NID_undef ? OBJ_nid2sn(nid) : "(unknown)", FIX);
        return NID_undef;
    }
    return nid;
}

/* Decode the point, check it, re-encode it in the same form. 0 / 1 / 4 as keygate_check. */
static int ec_point(const struct der_tlv *bits, int nid, struct keygate_key *out, char *why,
                    size_t wl)
{
    const EC_GROUP *g = group_of(nid);
    const unsigned char *pt = bits->v + 1;
    size_t n = bits->len - 1, flen = (size_t)(EC_GROUP_get_degree(g) + 7) / 8;
    point_conversion_form_t form = POINT_CONVERSION_UNCOMPRESSED;
    EC_POINT *P = EC_POINT_new(g);
    int rc = 1;

    if (P == NULL)
        goto oom;
    if (n == 1 && pt[0] == 0) {
        snprintf(why, wl, "key: the EC point is the point at infinity (RFC 5480 2.2); %s", FIX);
        goto out;
    }
    if ((pt[0] == 2 || pt[0] == 3) && n == 1 + flen)
        form = POINT_CONVERSION_COMPRESSED;
    else if (!(pt[0] == 4 && n == 1 + 2 * flen)) {
        snprintf(why, wl, "key: the EC point is neither compressed nor uncompressed for %s "
                 "(form 0x%02x, %zu octets; RFC 5480 2.2); %s", OBJ_nid2sn(nid), pt[0], n, FIX);
        goto out;
    }
    if (!EC_POINT_oct2point(g, P, pt, n, NULL) || EC_POINT_is_at_infinity(g, P) ||
        EC_POINT_is_on_curve(g, P, NULL) != 1) {
        snprintf(why, wl, "key: the EC point is not on curve %s (SEC 1 3.2.2.1); %s",
                 OBJ_nid2sn(nid), FIX);
        goto out;
    }
    if ((out->pub = OPENSSL_malloc(n)) == NULL)
        goto oom;
    if (EC_POINT_point2oct(g, P, form, out->pub, n, NULL) != n)
        goto oom;
    out->pub_len = n;
    out->bits = EC_GROUP_order_bits(g);
    out->curve_nid = nid;
    rc = 0;
    goto out;
oom:
    snprintf(why, wl, "key: out of memory; free memory and retry");
    rc = 4;
out:
    ERR_clear_error();
    EC_POINT_free(P);
    return rc;
}

/* SubjectPublicKeyInfo from the algorithm (OID content, optional parameter TLV) and out->pub. */
static int spki_encode(struct keygate_key *out, const unsigned char *oid, size_t oidlen,
                       const unsigned char *param, size_t plen)
{
    unsigned char ho[8], ha[8], hb[8], hs[8], *q;
    size_t lo = der_hdr_put(ho, 0x06, oidlen);
    size_t la = der_hdr_put(ha, 0x30, lo + oidlen + plen);
    size_t lb = der_hdr_put(hb, 0x03, out->pub_len + 1);
    size_t inner = la + lo + oidlen + plen + lb + 1 + out->pub_len;
    size_t ls = der_hdr_put(hs, 0x30, inner);

    if ((q = out->spki = OPENSSL_malloc(ls + inner)) == NULL)
        return 0;
    memcpy(q, hs, ls), q += ls;
    memcpy(q, ha, la), q += la;
    memcpy(q, ho, lo), q += lo;
    memcpy(q, oid, oidlen), q += oidlen;
    memcpy(q, param, plen), q += plen;
    memcpy(q, hb, lb), q += lb;
    *q++ = 0;
    memcpy(q, out->pub, out->pub_len);
    out->spki_len = ls + inner;
    pthread_once(&groups_once, groups_init);
    return sha256 != NULL &&
           EVP_Digest(out->spki, out->spki_len, out->hash, NULL, sha256, NULL) == 1;
}

static int encode_and_hash(struct keygate_key *out, char *why, size_t wl)
{
    static const unsigned char null_param[] = { 0x05, 0x00 };
    unsigned char curve[32], *q = curve;
    int ok, clen;

    if (out->type == EVP_PKEY_RSA) {
        ok = spki_encode(out, OID_RSA, sizeof(OID_RSA), null_param, sizeof(null_param));
    } else {
        clen = i2d_ASN1_OBJECT(OBJ_nid2obj(out->curve_nid), NULL);
        ok = clen > 0 && clen <= (int)sizeof(curve) &&
             i2d_ASN1_OBJECT(OBJ_nid2obj(out->curve_nid), &q) == clen &&
             spki_encode(out, OID_EC, sizeof(OID_EC), curve, (size_t)clen);
    }
    ERR_clear_error();
    if (!ok)
        snprintf(why, wl, "key: out of memory while re-encoding the key; free memory and retry");
    return ok;
}

static int blocked_check(const struct keygate_policy *p, const struct keygate_key *k, char *why,
                         size_t wl)
{
    char src[256] = "", hex[2 * KEYGATE_HASH_BYTES + 1];
    int r;

    if (p->blocked == NULL)
        return 0;
    r = p->blocked(p->blocked_arg, k->hash, src, sizeof(src));
    if (r < 0) {
        snprintf(why, wl, "%s", src);
        return 4;
    }
    if (r == 0)
        return 0;
    keygate_hash_hex(k->hash, hex);
    snprintf(why, wl, "key: blocked: SPKI SHA-256 %s is %s (CA/B BR 6.1.1.3); %s", hex,
             src[0] ? src : "on the blocklist", FIX);
    return 1;
}

static int algorithm_check(const struct spki_parts *s, const struct keygate_policy *p,
                           struct keygate_key *out, char *why, size_t wl)
{
    if (oid_is(&s->oid, OID_RSA, sizeof(OID_RSA))) {
        if (s->params.tag != 0x05) {
            snprintf(why, wl, "key: rsaEncryption parameters must be NULL (RFC 3279 2.3.1); %s",
                     FIX);
            return 1;
        }
        if (!p->allow_rsa) {
            snprintf(why, wl, "key: RSA keys are not allowed (template key types); %s", FIX);
            return 1;
        }
        out->type = EVP_PKEY_RSA;
        return keygate_rsa(s->bits.v + 1, s->bits.len - 1, p, out, why, wl);
    }
    if (oid_is(&s->oid, OID_EC, sizeof(OID_EC))) {
        int nid;
        if (!p->allow_ec) {
            snprintf(why, wl, "key: EC keys are not allowed (template key types); %s", FIX);
            return 1;
        }
        if ((nid = ec_curve(s, p, why, wl)) == NID_undef)
            return 1;
        out->type = EVP_PKEY_EC;
        return ec_point(&s->bits, nid, out, why, wl);
    }
    snprintf(why, wl, "key: the algorithm is %s; only rsaEncryption and id-ecPublicKey keys are "
             "accepted (RFC 3279, RFC 5480); %s", oid_is(&s->oid, OID_PSS, sizeof(OID_PSS)) ?
             "id-RSASSA-PSS (a PSS-restricted key)" : "not RSA or EC", FIX);
    return 1;
}

/*
 * The key gate (template.h): strict SPKI, the RSA or EC rules, canonical re-encoding, blocklist.
 * 0 accepted (*out owned: keygate_key_clear), 1 refused, 3 malformed, 4 failure; why set.
 */
int keygate_check(const unsigned char *spki, size_t len, const struct keygate_policy *policy,
                  struct keygate_key *out, char *why, size_t whylen)
{
    struct keygate_key k;
    struct spki_parts s;
    int rc;

    memset(&k, 0, sizeof(k));
    if (!spki_split(spki, len, &s, why, whylen))
        return 3;
    if ((rc = algorithm_check(&s, policy, &k, why, whylen)) != 0)
        goto out;
    if (!encode_and_hash(&k, why, whylen)) {
        rc = 4;
        goto out;
    }
    if ((rc = blocked_check(policy, &k, why, whylen)) != 0)
        goto out;
    *out = k;
    return 0;
out:
    keygate_key_clear(&k);
    return rc;
}

/* keygate_check on an EVP_PKEY's SubjectPublicKeyInfo (i2d_PUBKEY). */
int keygate_check_pkey(EVP_PKEY *pkey, const struct keygate_policy *policy,
                       struct keygate_key *out, char *why, size_t whylen)
{
    unsigned char *der = NULL;
    int n = pkey ? i2d_PUBKEY(pkey, &der) : -1, rc;

    if (n <= 0) {
        ERR_clear_error();
        snprintf(why, whylen, "key: the public key cannot be encoded (no key, or an unsupported "
                 "type); %s", FIX);
        return 3;
    }
    rc = keygate_check(der, (size_t)n, policy, out, why, whylen);
    OPENSSL_free(der);
    return rc;
}

/* Free what keygate_check put in k and zero it; safe on a zeroed k. */
void keygate_key_clear(struct keygate_key *k)
{
    OPENSSL_free(k->spki);
    OPENSSL_free(k->pub);
    memset(k, 0, sizeof(*k));
}

/* Lowercase hex of a key hash. */
void keygate_hash_hex(const unsigned char hash[KEYGATE_HASH_BYTES], char *out)
{
    hex_encode(hash, KEYGATE_HASH_BYTES, out);
}
