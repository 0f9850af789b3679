/*
 * verify.c — read back a published CRL and prove it is the CRL we meant: issuer name, signature
 * with the CA key over the file's own TBSCertList bytes, CRL number, full or delta.
 *
 * A CRL of a million entries is ~53 MB; decoding it (d2i_X509_CRL) would make a million
 * X509_REVOKED objects (~450 MB, most of the publish time). Instead the file is read with
 * pread in three parts and never held whole:
 *   head  CertificateList and TBSCertList headers, version, signature AlgorithmIdentifier,
 *         issuer Name, thisUpdate, nextUpdate and the revokedCertificates header (decoded);
 *   list  the revoked entries, streamed through the signature check in chunks; each entry's
 *         frame is checked (SEQUENCE starting with an INTEGER, filling the list exactly);
 *   tail  crlExtensions, signatureAlgorithm, signatureValue (decoded).
 * The signature is verified over exactly the TBS bytes read from the file (EVP_DigestVerify,
 * streamed), the outer AlgorithmIdentifier must be byte-identical to the one inside the TBS
 * (RFC 5280 5.1.1.2), and nothing may follow the CertificateList. Memory: a few hundred KiB.
 */
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define MAX_VERIFY_HEAD (64 * 1024)   /* headers .. revokedCertificates header (issuer Name) */
#define MAX_VERIFY_TAIL (64 * 1024)   /* crlExtensions, signatureAlgorithm, signatureValue */
#define VERIFY_CHUNK (256 * 1024)     /* revoked entries per read */

/* What the head and tail parse found; offsets are into the file. */
struct shallow {
    int fd;
    off_t size;
    off_t tbs, tbs_end;           /* the TBSCertList TLV */
    off_t list, list_end;         /* the revoked entries (contents of their SEQUENCE) */
    unsigned char *head, *tail;   /* [0, head_len) and [list_end, size) */
    size_t head_len;
    size_t alg_in, alg_in_len;    /* TBS signature AlgorithmIdentifier (offset into head) */
    X509_NAME *issuer;
    STACK_OF(X509_EXTENSION) *exts;
    X509_ALGOR *alg;
    ASN1_BIT_STRING *sig;
    const unsigned char *alg_out; /* outer AlgorithmIdentifier bytes (in tail) */
    size_t alg_out_len;
};

/* One DER header at p (low tag numbers, definite length of up to 4 octets): its size, or 0
 * when malformed or not complete within avail. */
static size_t der_hdr(const unsigned char *p, size_t avail, unsigned *tag, size_t *len)
{
    size_t i, n;

    if (avail < 2 || (p[0] & 0x1f) == 0x1f)
        return 0;
    *tag = p[0];
    if (p[1] < 0x80) {
        *len = p[1];
        return 2;
    }
    n = p[1] & 0x7f;
    if (n == 0 || n > 4 || avail < 2 + n || p[2] == 0)
        return 0;                                 /* indefinite, too long, or not minimal */
    for (*len = 0, i = 0; i < n; i++)
        *len = (*len << 8) | p[2 + i];
    return *len < 0x80 ? 0 : 2 + n;
}

static int read_at(int fd, unsigned char *buf, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, buf, n, off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        buf += r;
        n -= (size_t)r;
        off += r;
    }
    return 1;
}

/* Skip one TLV of tag want at head offset *o (within the head buffer): 1 ok. */
static int head_skip(const struct shallow *c, size_t *o, unsigned want)
{
    unsigned tag;
    size_t len, h = der_hdr(c->head + *o, c->head_len - *o, &tag, &len);

    if (h == 0 || tag != want || len > c->head_len - *o - h)
        return 0;
    *o += h + len;
    return 1;
}

/* TBSCertList up to the revoked list: version v2, signature, issuer, thisUpdate, [nextUpdate],
 * [revokedCertificates header]. o: the offset of the first TBS field. */
static int head_parse(struct shallow *c, size_t o)
{
    static const unsigned char v2[] = { 0x02, 0x01, 0x01 };
    const unsigned char *p;
    unsigned tag;
    size_t len, h;

    if (c->head_len - o < sizeof(v2) || memcmp(c->head + o, v2, sizeof(v2)) != 0)
        return 0;
    o += sizeof(v2);
    c->alg_in = o;
    if (!head_skip(c, &o, 0x30))
        return 0;
    c->alg_in_len = o - c->alg_in;
    p = c->head + o;
    if ((c->issuer = d2i_X509_NAME(NULL, &p, (long)(c->head_len - o))) == NULL)
        return 0;
    o = (size_t)(p - c->head);
    if (!head_skip(c, &o, V_ASN1_UTCTIME) && !head_skip(c, &o, V_ASN1_GENERALIZEDTIME))
        return 0;
    (void)(head_skip(c, &o, V_ASN1_UTCTIME) || head_skip(c, &o, V_ASN1_GENERALIZEDTIME));
    c->list = c->list_end = (off_t)o;
    if ((off_t)o < c->tbs_end && (h = der_hdr(c->head + o, c->head_len - o, &tag, &len)) != 0 &&
        tag == 0x30) {
        c->list = (off_t)(o + h);
        c->list_end = c->list + (off_t)len;
    }
    return c->list_end <= c->tbs_end;
}

/* After the list: [0] crlExtensions (to the TBS end), signatureAlgorithm, signatureValue, EOF. */
static int tail_parse(struct shallow *c)
{
    size_t n = (size_t)(c->size - c->list_end), te = (size_t)(c->tbs_end - c->list_end), len, h;
    const unsigned char *p = c->tail, *e;
    unsigned tag;

    if (te > 0) {
        if ((h = der_hdr(p, te, &tag, &len)) == 0 || tag != 0xa0 || h + len != te)
            return 0;
        e = p + h;
        if ((c->exts = d2i_X509_EXTENSIONS(NULL, &e, (long)len)) == NULL || e != p + te)
            return 0;
    }
    p = c->alg_out = c->tail + te;
    if ((c->alg = d2i_X509_ALGOR(NULL, &p, (long)(n - te))) == NULL)
        return 0;
    c->alg_out_len = (size_t)(p - c->alg_out);
    if ((c->sig = d2i_ASN1_BIT_STRING(NULL, &p, (long)(c->tail + n - p))) == NULL)
        return 0;
    return p == c->tail + n;
}

/* Read and decode head and tail (the revoked list is left on disk). 1 ok / 0 malformed. */
static int shallow_load(struct shallow *c)
{
    unsigned tag;
    size_t len, h, h2;

    c->head_len = (size_t)(c->size < MAX_VERIFY_HEAD ? c->size : MAX_VERIFY_HEAD);
    if ((c->head = OPENSSL_malloc(c->head_len)) == NULL ||
        !read_at(c->fd, c->head, c->head_len, 0))
        return 0;
    if ((h = der_hdr(c->head, c->head_len, &tag, &len)) == 0 || tag != 0x30 ||
        (off_t)(h + len) != c->size)               /* truncated, or bytes after the CRL */
        return 0;
    if ((h2 = der_hdr(c->head + h, c->head_len - h, &tag, &len)) == 0 || tag != 0x30)
        return 0;
    c->tbs = (off_t)h;
    c->tbs_end = c->tbs + (off_t)(h2 + len);
    if (c->tbs_end >= c->size || !head_parse(c, h + h2))
        return 0;
    if (c->size - c->list_end > MAX_VERIFY_TAIL ||
        (c->tail = OPENSSL_malloc((size_t)(c->size - c->list_end))) == NULL ||
        !read_at(c->fd, c->tail, (size_t)(c->size - c->list_end), c->list_end))
        return 0;
    return tail_parse(c) && c->alg_in_len == c->alg_out_len &&
           memcmp(c->head + c->alg_in, c->alg_out, c->alg_out_len) == 0;
}

/* The digest name of an AlgorithmIdentifier inside PSS parameters (absent: SHA-1, RFC 4055). */
static const char *pss_md(const X509_ALGOR *a)
{
    return a == NULL ? "SHA1" : OBJ_nid2sn(OBJ_obj2nid(a->algorithm));
}

/* RSASSA-PSS (RFC 4055 3.1): hash, MGF1 hash and salt length from the parameters. */
static int pss_init(EVP_MD_CTX *ctx, const X509_ALGOR *alg, EVP_PKEY *key)
{
    const ASN1_STRING *s = alg->parameter && alg->parameter->type == V_ASN1_SEQUENCE
                               ? alg->parameter->value.sequence : NULL;
    const unsigned char *p = s ? s->data : NULL;
    RSA_PSS_PARAMS *pp = s ? d2i_RSA_PSS_PARAMS(NULL, &p, s->length) : NULL;
    X509_ALGOR *mgf_md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int ok = 0;

    if (pp == NULL || (pp->trailerField && ASN1_INTEGER_get(pp->trailerField) != 1))
        goto out;
    if (pp->maskGenAlgorithm != NULL) {
        const ASN1_TYPE *t = pp->maskGenAlgorithm->parameter;

        if (OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) != NID_mgf1 || t == NULL ||
            t->type != V_ASN1_SEQUENCE)
            goto out;
        p = t->value.sequence->data;
        if ((mgf_md = d2i_X509_ALGOR(NULL, &p, t->value.sequence->length)) == NULL)
            goto out;
    }
    ok = EVP_DigestVerifyInit_ex(ctx, &pctx, pss_md(pp->hashAlgorithm), NULL, NULL, key,
                                 NULL) > 0 &&
         EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pp->saltLength ?
                                          (int)ASN1_INTEGER_get(pp->saltLength) : 20) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, pss_md(mgf_md), NULL) > 0;
out:
    X509_ALGOR_free(mgf_md);
    RSA_PSS_PARAMS_free(pp);
    return ok;
}

/* A verify context for the signature algorithm, which must fit the key's type. */
static int sig_init(EVP_MD_CTX *ctx, const X509_ALGOR *alg, EVP_PKEY *key)
{
    int nid = OBJ_obj2nid(alg->algorithm), mdnid = NID_undef, pknid = NID_undef;

    if (key == NULL)
        return 0;
    if (nid == NID_rsassaPss)
        return (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) &&
               pss_init(ctx, alg, key);
    if (!OBJ_find_sigid_algs(nid, &mdnid, &pknid) || mdnid == NID_undef ||
        !EVP_PKEY_is_a(key, OBJ_nid2sn(pknid)))
        return 0;
    return EVP_DigestVerifyInit_ex(ctx, NULL, OBJ_nid2sn(mdnid), NULL, NULL, key, NULL) > 0;
}

/* Feed the revoked entries [list, list_end) to ctx chunk by chunk, checking each entry's frame:
 * SEQUENCE { INTEGER ... }, back to back, filling the list exactly. */
static int list_stream(const struct shallow *c, EVP_MD_CTX *ctx, unsigned char *buf)
{
    off_t pos = c->list;

    while (pos < c->list_end) {
        size_t n = (size_t)(c->list_end - pos < VERIFY_CHUNK ? c->list_end - pos : VERIFY_CHUNK);
        size_t o = 0, h, len;
        unsigned tag;

        if (!read_at(c->fd, buf, n, pos))
            return 0;
        while (o < n && (h = der_hdr(buf + o, n - o, &tag, &len)) != 0 && h + len <= n - o) {
            if (tag != 0x30 || len < 2 || buf[o + h] != V_ASN1_INTEGER)
                return 0;
            o += h + len;
        }
        if (o == 0 || EVP_DigestVerifyUpdate(ctx, buf, o) <= 0)
            return 0;                              /* an entry longer than a chunk, or damage */
        pos += (off_t)o;
    }
    return pos == c->list_end;
}

/* The signature over the file's TBS bytes: head part, streamed list, tail part. */
static int sig_check(const struct shallow *c, EVP_PKEY *key)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = OPENSSL_malloc(VERIFY_CHUNK);
    const unsigned char *sig = c->sig ? ASN1_STRING_get0_data(c->sig) : NULL;
    int ok = 0;

    if (ctx == NULL || buf == NULL || sig == NULL || (c->sig->flags & 0x07) != 0 ||
        !sig_init(ctx, c->alg, key))
        goto out;
    ok = EVP_DigestVerifyUpdate(ctx, c->head + c->tbs, (size_t)(c->list - c->tbs)) > 0 &&
         list_stream(c, ctx, buf) &&
         EVP_DigestVerifyUpdate(ctx, c->tail, (size_t)(c->tbs_end - c->list_end)) > 0 &&
         EVP_DigestVerifyFinal(ctx, sig, (size_t)ASN1_STRING_length(c->sig)) == 1;
out:
    OPENSSL_free(buf);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* CRL number / delta base as uint64 from the crlExtensions; 1 found, 0 absent, -1 malformed. */
static int ext_uint(const struct shallow *c, int nid, uint64_t *v)
{
    int crit = -1, rc;
    ASN1_INTEGER *n = c->exts ? X509V3_get_d2i(c->exts, nid, &crit, NULL) : NULL;

    if (n == NULL)
        return crit == -1 ? 0 : -1;
    rc = ASN1_INTEGER_get_uint64(v, n) ? 1 : -1;
    ASN1_INTEGER_free(n);
    return rc;
}

static int shallow_check(const struct shallow *c, const char *path, X509 *issuer,
                         uint64_t number, int is_delta)
{
    uint64_t got = 0, base = 0;
    int rc;

    if (X509_NAME_cmp(c->issuer, X509_get_subject_name(issuer)) != 0) {
        crl_seterr(CE_SYSTEM, "%s: RFC 5280 5.1.2.3: CRL issuer differs from the CA subject; "
                   "another CA's CRL is in this file: check publish_dir", path);
        return 0;
    }
    if (!sig_check(c, X509_get0_pubkey(issuer))) {
        crl_seterr_ossl(CE_SYSTEM, "%s: signature: the published CRL does not verify with the "
                        "CA key; check the token holds the key of this CA certificate", path);
        return 0;
    }
    if ((rc = ext_uint(c, NID_crl_number, &got)) != 1 || got != number) {
        crl_seterr(CE_SYSTEM, "%s: RFC 5280 5.2.3: CRL number is %s, expected %llu; another "
                   "process published in between: publish again", path,
                   rc == 1 ? "different" : "missing", (unsigned long long)number);
        return 0;
    }
    if ((rc = ext_uint(c, NID_delta_crl, &base)) < 0 || rc != (is_delta ? 1 : 0)) {
        crl_seterr(CE_SYSTEM, "%s: RFC 5280 5.2.4: the file is %s CRL, expected a %s CRL; "
                   "check the file names (NAME.crl full, NAME+.crl delta)", path,
                   rc == 1 ? "a delta" : rc == 0 ? "a full" : "a malformed",
                   is_delta ? "delta" : "full");
        return 0;
    }
    return 1;
}

static int shallow_open(struct shallow *c, const char *path)
{
    struct stat st;

    /* The publish directory is hostile ground: no symlink followed, no FIFO waited on. */
    if ((c->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 ||
        fstat(c->fd, &st) != 0 ||
        !S_ISREG(st.st_mode)) {
        crl_seterr(CE_SYSTEM, "%s: cannot read: %s; check the path", path,
                   c->fd < 0 ? strerror(errno) : "not a regular file");
        return 0;
    }
    if (st.st_size > MAX_CRL_BYTES) {
        crl_seterr(CE_SYSTEM, "%s: size limit: %lld bytes exceed %ld; this is not the CRL offca "
                   "wrote: publish again", path, (long long)st.st_size, MAX_CRL_BYTES);
        return 0;
    }
    c->size = st.st_size;
    if (!shallow_load(c)) {
        crl_seterr_ossl(CE_SYSTEM, "%s: RFC 5280 5.1: not a CRL in DER as offca writes it (the "
                        "file is damaged, truncated or has bytes after the CRL, or its outer "
                        "signature algorithm differs from the signed one); publish again", path);
        return 0;
    }
    return 1;
}

/* Read back path and check issuer name, signature with issuer's key over the file's own TBS
 * bytes, CRL number and delta-ness, without decoding the revoked list (see the file comment).
 * 1 ok / 0 with the reason (class 4: what we published is not what we meant). */
int crl_verify_published(const char *path, X509 *issuer, uint64_t number, int is_delta)
{
    struct shallow c;
    int ok = 0;

    crl_err_clear();
    memset(&c, 0, sizeof(c));
    c.fd = -1;
    if (path == NULL || issuer == NULL) {
        crl_seterr(CE_USAGE, "publish: verify: path and issuer are required; fix the caller");
        return 0;
    }
    if (shallow_open(&c, path))
        ok = shallow_check(&c, path, issuer, number, is_delta);
    if (c.fd >= 0)
        close(c.fd);
    OPENSSL_free(c.head);
    OPENSSL_free(c.tail);
    X509_NAME_free(c.issuer);
    sk_X509_EXTENSION_pop_free(c.exts, X509_EXTENSION_free);
    X509_ALGOR_free(c.alg);
    ASN1_BIT_STRING_free(c.sig);
    return ok;
}
