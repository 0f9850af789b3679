/*
 * fetch.c — get a CRL's bytes (a bounded file read, or an HTTP GET through OpenSSL's own
 * OSSL_HTTP client: no hand-written HTTP) and parse them (DER or PEM, nothing trailing).
 */
#include "base/fsio.h"
#include "crl/crl.h"
#include "crl/crl_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/http.h>
#include <openssl/pem.h>


/* Bounded whole-file read (base/fsio.h: regular files only, size checked before reading), the
 * failure said in doctor's words. */
unsigned char *crl_file_read(const char *path, long max, size_t *len)
{
    struct fsio_load l = { .max = (size_t)max };
    unsigned char *buf = NULL;

    if (fsio_load(path, &l, &buf, len))
        return buf;
    if (l.step == FSIO_OPEN || l.step == FSIO_STAT || l.step == FSIO_TYPE)
        crl_seterr(CE_INPUT, "%s: cannot read: %s; check the path", path,
                   l.step == FSIO_OPEN ? strerror(errno) : "not a regular file");
    else if (l.step == FSIO_SIZE && l.st.st_size > max)
        crl_seterr(CE_INPUT, "%s: size limit: %lld bytes exceed %ld; this is not a CRL offca "
                   "reads", path, (long long)l.st.st_size, max);
    else if (l.step == FSIO_NOMEM)
        crl_seterr(CE_SYSTEM, "%s: memory: cannot hold %lld bytes; free memory", path,
                   (long long)l.st.st_size);
    else if (l.step == FSIO_READ)
        crl_seterr(CE_SYSTEM, "%s: read failed: %s; check the file", path, strerror(errno));
    /* a file that grew past max while read: the loader's words */
    return NULL;
}

/* DER, or PEM "X509 CRL"; the whole buffer must be the CRL (no trailing bytes). */
X509_CRL *crl_parse(const unsigned char *buf, size_t len, const char *what)
{
    X509_CRL *crl = NULL;

    if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
        BIO *bio = BIO_new_mem_buf(buf, (int)len);

        crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    } else {
        const unsigned char *p = buf;

        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl != NULL && p != buf + len) {
            X509_CRL_free(crl);
            crl_seterr(CE_INPUT, "%s: DER: %zu trailing bytes after the CRL; republish the "
                       "file", what, (size_t)(buf + len - p));
            return NULL;
        }
    }
    if (crl == NULL)
        crl_seterr_ossl(CE_INPUT, "%s: RFC 5280 5.1: not a CRL in DER or PEM; republish the "
                        "file", what);
    return crl;
}

static X509_CRL *fetch_http(const char *url, int timeout)
{
    /* expect_asn1 = 1: OpenSSL reads the whole DER body (RFC 5280 4.2.1.13: an HTTP CDP serves
     * DER) into a memory BIO. With 0 it hands back the non-blocking socket itself, and reading
     * that before the body arrives gives an empty CRL now and then. */
    BIO *mem = OSSL_HTTP_get(url, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 1,
                             (size_t)MAX_FETCH_BYTES, timeout > 0 ? timeout : 10);
    X509_CRL *crl = NULL;
    unsigned char *data = NULL, *grown;
    size_t n = 0, cap = 0;
    int got;

    if (mem == NULL) {
        crl_seterr_ossl(CE_SYSTEM, "%s: HTTP GET failed (timeout %ds, limit %ld bytes); check "
                        "the web server serving publish_dir and the URL", url,
                        timeout > 0 ? timeout : 10, MAX_FETCH_BYTES);
        return NULL;
    }
    /* a memory BIO holding the body: copy it out, bounded */
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (size_t)MAX_FETCH_BYTES + 1 || (grown = OPENSSL_realloc(data, cap)) == NULL)
                break;
            data = grown;
        }
        if ((got = BIO_read(mem, data + n, (int)(cap - n))) <= 0)
            break;
        n += (size_t)got;
    }
    if (n == 0 || n > (size_t)MAX_FETCH_BYTES)
        crl_seterr(CE_INPUT, "%s: HTTP: %s response; check the published file", url,
                   n == 0 ? "empty" : "oversized");
    else
        crl = crl_parse(data, n, url);
    OPENSSL_free(data);
    BIO_free_all(mem);
    return crl;
}

/* The CRL named by url, from src->crl_dir or over HTTP: see crl_int.h. */
X509_CRL *crl_fetch(const char *url, const struct doctor_source *src)
{
    char path[MAX_PATH_BYTES];
    const char *seg;
    size_t seglen;
    unsigned char *der;
    size_t len = 0;
    X509_CRL *crl;

    if (src->fetch)
        return fetch_http(url, src->timeout_s);
    if (src->crl_dir == NULL) {
        crl_seterr(CE_USAGE, "%s: no CRL source: give a CRL directory or allow fetching", url);
        return NULL;
    }
    seg = strrchr(url, '/');
    seg = seg ? seg + 1 : url;
    seglen = strcspn(seg, "?#");
    if (seglen == 0 || (seglen <= 2 && seg[0] == '.')) {
        crl_seterr(CE_INPUT, "%s: URL has no file name in its last path segment; point the "
                   "CDP at a file such as http://HOST/NAME.crl", url);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%.*s", src->crl_dir, (int)seglen, seg);
    if ((der = crl_file_read(path, MAX_FETCH_BYTES, &len)) == NULL)
        return NULL;
    crl = crl_parse(der, len, path);
    free(der);
    return crl;
}
