/*
 * lintcost.c — what the lint before sign costs per certificate: lint_cert on an offca-issued
 * certificate with its issuer, ROUNDS times, the way cert_build runs it (same options), and the
 * TBS re-encoding cert_build adds around it. Prints "<lint us> <encode us>" per certificate.
 *   lintcost CERT.der ISSUER.pem ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
    FILE *f;
    X509 *x, *iss;
    struct lint_report r;
    struct lint_opts o;
    long rounds = argc == 4 ? atol(argv[3]) : 0;
    double t0, t1, t2;

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
