/*
 * mkcsrs.c — bench-only: make N PKCS#10 requests in one process, the shape of an Intune/Autopilot
 * roll-out: subject CN=hostNNNNN.contoso.com, SAN dNSName the same, keys RSA-2048 (a few keys
 * reused round-robin: key generation is not what is measured; every CSR still has its own
 * signature, which offca verifies as proof of possession). Also writes the `offca sign --batch`
 * manifest and an AD computer CSV (DNSHostName, SamAccountName, SID) for `offca directory import`.
 *
 *   mkcsrs DIR N [KEYS]       -> DIR/req/NNNNN.csr, DIR/m.jsonl (out: DIR/out/NNNNN.pem), DIR/ad.csv
 *
 * Not part of offca: built by tools/bench-sign.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_KEYS 64
#define DOMAIN_SID "S-1-5-21-1004336348-1177238915-682003330"

static int csr_make(EVP_PKEY *k, const char *host, const char *path)
{
    X509_REQ *r = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *san = NULL;
    char sanv[300];
    FILE *f = NULL;
    int ok = 0;

    snprintf(sanv, sizeof(sanv), "DNS:%s", host);
    if (r == NULL || n == NULL || exts == NULL ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0) ||
        !X509_REQ_set_subject_name(r, n) || !X509_REQ_set_pubkey(r, k) ||
        (san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sanv)) == NULL ||
        !sk_X509_EXTENSION_push(exts, san) || !X509_REQ_add_extensions(r, exts) ||
        X509_REQ_sign(r, k, EVP_sha256()) <= 0 || (f = fopen(path, "w")) == NULL ||
        !PEM_write_X509_REQ(f, r))
        goto out;
    ok = 1;
out:
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(n);
    X509_REQ_free(r);
    return ok;
}

int main(int argc, char **argv)
{
    EVP_PKEY *keys[MAX_KEYS] = { 0 };
    char path[4096], host[64];
    FILE *m, *ad;
    long n, nk;

    if (argc < 3 || (n = atol(argv[2])) <= 0 || n > 999999) {
        fprintf(stderr, "usage: mkcsrs DIR N [KEYS]\n");
        return 2;
    }
    nk = argc > 3 ? atol(argv[3]) : 8;
    if (nk < 1 || nk > MAX_KEYS)
        nk = 8;
    mkdir(argv[1], 0755);
    snprintf(path, sizeof(path), "%s/req", argv[1]);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/out", argv[1]);
    mkdir(path, 0755);
    for (long i = 0; i < nk; i++)
        if ((keys[i] = EVP_RSA_gen(2048)) == NULL)
            return 4;
    snprintf(path, sizeof(path), "%s/m.jsonl", argv[1]);
    if ((m = fopen(path, "w")) == NULL)
        return 4;
    snprintf(path, sizeof(path), "%s/ad.csv", argv[1]);
    if ((ad = fopen(path, "w")) == NULL)
        return 4;
    fprintf(ad, "\"DNSHostName\",\"SamAccountName\",\"SID\"\n");
    for (long i = 1; i <= n; i++) {
        snprintf(host, sizeof(host), "host%05ld.contoso.com", i);
        snprintf(path, sizeof(path), "%s/req/%05ld.csr", argv[1], i);
        if (!csr_make(keys[i % nk], host, path)) {
            fprintf(stderr, "mkcsrs: %s: cannot make the request\n", path);
            return 4;
        }
        fprintf(m, "{\"csr\": \"%s\", \"out\": \"%s/out/%05ld.pem\"}\n", path, argv[1], i);
        fprintf(ad, "\"%s\",\"HOST%05ld$\",\"%s-%ld\"\n", host, i, DOMAIN_SID, 100000 + i);
    }
    for (long i = 0; i < nk; i++)
        EVP_PKEY_free(keys[i]);
    return fclose(m) == 0 && fclose(ad) == 0 ? 0 : 4;
}
