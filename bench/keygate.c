/*
 * keygate.c — bench-only: the key gate's cost per key (templates/keygate.c).
 *
 *   keygate [ITERATIONS]   for fresh RSA-2048, RSA-3072, RSA-4096, P-256 and P-384 keys, run
 *                          keygate_check on the key's SubjectPublicKeyInfo ITERATIONS times
 *                          (default 2000) and print "<key> <microseconds per check>" per line.
 * Every check must accept the key (exit 1 otherwise): a gate that refuses is not being measured.
 * CPU time (clock_gettime CLOCK_PROCESS_CPUTIME_ID), one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "templates/template.h"

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *name, EVP_PKEY *k, long iters)
{
    struct keygate_policy p = { .allow_rsa = 1, .allow_ec = 1, .rsa_min_bits = 2048,
                                .rsa_max_bits = 4096 };
    struct keygate_key out;
    unsigned char *der = NULL;
    char why[512];
    int n = k ? i2d_PUBKEY(k, &der) : -1;
    double t0;

    if (n <= 0) {
        fprintf(stderr, "keygate: %s: no key\n", name);
        return 1;
    }
    t0 = cpu_now();
    for (long i = 0; i < iters; i++) {
        if (keygate_check(der, (size_t)n, &p, &out, why, sizeof(why)) != 0) {
            fprintf(stderr, "keygate: %s: refused: %s\n", name, why);
            return 1;
        }
        keygate_key_clear(&out);
    }
    printf("%s %.2f\n", name, (cpu_now() - t0) * 1e6 / (double)iters);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    return 0;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 2000;
    int bad = 0;

    if (iters < 1)
        iters = 1;
    bad |= run("rsa2048", EVP_RSA_gen(2048), iters);
    bad |= run("rsa3072", EVP_RSA_gen(3072), iters);
    bad |= run("rsa4096", EVP_RSA_gen(4096), iters);
    bad |= run("p256", EVP_EC_gen("P-256"), iters);
    bad |= run("p384", EVP_EC_gen("P-384"), iters);
    return bad;
}
