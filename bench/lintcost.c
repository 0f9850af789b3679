/*
 * lintcost.c — what the lint before sign costs per certificate: lint_cert on an offca-issued
 * certificate with its issuer, ROUNDS times, the way cert_build runs it (same options), and the
 * TBS re-encoding cert_build adds around it. Prints "<lint us> <encode us>" per certificate.
 * With --crl: lint_crl_tbs on the TBSCertList of a DER CRL file, as publication runs it; prints
 * "<ms per CRL> <ns per entry>".
 *   lintcost CERT.der ISSUER.pem ROUNDS
 *   lintcost --crl CRL.der ROUNDS ENTRIES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "templates/template.h"

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The TBSCertList inside a DER CertificateList: its first element. */
static int crl_cost(const char *path, long rounds, long entries)
{
    FILE *f = fopen(path, "rb");
    static unsigned char *d;
    const unsigned char *p, *t;
    long n, len;
    int tag, cls;
    struct lint_report r;
    struct lint_opts o;
    double t0;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
        (d = malloc((size_t)n)) == NULL || fread(d, 1, (size_t)n, f) != (size_t)n)
        return 3;
    fclose(f);
    p = d;
    ASN1_get_object(&p, &len, &tag, &cls, n);
    t = p;
    ASN1_get_object(&p, &len, &tag, &cls, n - (t - d));
    lint_opts_init(&o);
    t0 = now_us();
    for (long i = 0; i < rounds; i++)
        if (!lint_crl_tbs(t, (size_t)(p + len - t), &o, &r) || lint_first_error(&r) != NULL) {
            fprintf(stderr, "lintcost: the CRL does not lint clean: %s\n",
                        r.n ? r.f[0].problem : "?");
            return 1;
        }
    t0 = (now_us() - t0) / (double)rounds;
    printf("%.1f %.1f\n", t0 / 1e3, entries > 0 ? t0 * 1e3 / (double)entries : 0.0);
    free(d);
    return 0;
}

int main(int argc, char **argv)
{
    FILE *f;
    X509 *x, *iss;
    struct lint_report r;
    struct lint_opts o;
    long rounds = argc == 4 ? atol(argv[3]) : 0;
    double t0, t1, t2;

    if (argc == 5 && strcmp(argv[1], "--crl") == 0)
        return crl_cost(argv[2], atol(argv[3]), atol(argv[4]));
    if (rounds <= 0) {
        fprintf(stderr, "usage: lintcost CERT.der ISSUER.pem ROUNDS\n");
        return 2;
    }
    if ((f = fopen(argv[1], "rb")) == NULL || (x = d2i_X509_fp(f, NULL)) == NULL)
        return 3;
    fclose(f);
    if ((f = fopen(argv[2], "r")) == NULL || (iss = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
        return 3;
    fclose(f);
    lint_opts_init(&o);
    o.issuer = iss;
    t0 = now_us();
    for (long i = 0; i < rounds; i++)
        if (!lint_cert(x, &o, &r) || r.n != 0) {
            fprintf(stderr, "lintcost: the certificate does not lint clean\n");
            return 1;
        }
    t1 = now_us();
    for (long i = 0; i < rounds; i++) {
        unsigned char *der = NULL;

        if (i2d_re_X509_tbs(x, &der) <= 0)
            return 1;
        OPENSSL_free(der);
    }
    t2 = now_us();
    printf("%.1f %.1f\n", (t1 - t0) / (double)rounds, (t2 - t1) / (double)rounds);
    X509_free(x);
    X509_free(iss);
    return 0;
}
