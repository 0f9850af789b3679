/*
 * crlcheck.c — bench-only: prove a benchmark's outputs are real CRLs of the same list.
 *
 *   crlcheck CA.pem A.crl            parse (DER), verify the signature with the CA key, print
 *                                    "entries N" (this is what crl_verify_published costs)
 *   crlcheck CA.pem A.crl B.crl      both as above, then entry by entry: same serial,
 *                                    revocationDate, reasonCode and invalidityDate
 * Exit 0 when everything holds, 1 with the first difference on stderr.
 */
#include <stdio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static X509_CRL *crl_load(const char *path, EVP_PKEY *key)
{
    X509_CRL *crl = NULL;
    FILE *f = fopen(path, "rb");

    if (f == NULL || (crl = d2i_X509_CRL_fp(f, NULL)) == NULL)
        fprintf(stderr, "crlcheck: %s: not a DER CRL\n", path);
    else if (X509_CRL_verify(crl, key) <= 0) {
        fprintf(stderr, "crlcheck: %s: signature does not verify with the CA key\n", path);
        X509_CRL_free(crl);
        crl = NULL;
    }
    if (f)
        fclose(f);
    return crl;
}

static long reason_of(X509_REVOKED *r)
{
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
    long v = e ? ASN1_ENUMERATED_get(e) : -1;

    ASN1_ENUMERATED_free(e);
    return v;
}

/* 1 when both entries say the same thing. */
static int entry_same(X509_REVOKED *a, X509_REVOKED *b)
{
    ASN1_GENERALIZEDTIME *ia = X509_REVOKED_get_ext_d2i(a, NID_invalidity_date, NULL, NULL);
    ASN1_GENERALIZEDTIME *ib = X509_REVOKED_get_ext_d2i(b, NID_invalidity_date, NULL, NULL);
    int same = ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(a),
                                X509_REVOKED_get0_serialNumber(b)) == 0 &&
               ASN1_TIME_compare(X509_REVOKED_get0_revocationDate(a),
                                 X509_REVOKED_get0_revocationDate(b)) == 0 &&
               reason_of(a) == reason_of(b) && (ia == NULL) == (ib == NULL) &&
               (ia == NULL || ASN1_TIME_compare(ia, ib) == 0);

    ASN1_GENERALIZEDTIME_free(ia);
    ASN1_GENERALIZEDTIME_free(ib);
    return same;
}

static int lists_same(X509_CRL *a, X509_CRL *b)
{
    STACK_OF(X509_REVOKED) *ra = X509_CRL_get_REVOKED(a), *rb = X509_CRL_get_REVOKED(b);
    int n = sk_X509_REVOKED_num(ra);

    if (n != sk_X509_REVOKED_num(rb)) {
        fprintf(stderr, "crlcheck: entry counts differ: %d vs %d\n", n,
                sk_X509_REVOKED_num(rb));
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!entry_same(sk_X509_REVOKED_value(ra, i), sk_X509_REVOKED_value(rb, i))) {
            fprintf(stderr, "crlcheck: entry %d differs (serial, date, reason or "
                    "invalidity date)\n", i);
            return 0;
        }
    return 1;
}

int main(int argc, char **argv)
{
    X509 *ca = NULL;
    X509_CRL *a = NULL, *b = NULL;
    FILE *f;
    int ok = 0;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: crlcheck CA.pem A.crl [B.crl]\n");
        return 2;
    }
    if ((f = fopen(argv[1], "r")) != NULL) {
        ca = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (ca == NULL) {
        fprintf(stderr, "crlcheck: %s: not a PEM certificate\n", argv[1]);
        return 1;
    }
    if ((a = crl_load(argv[2], X509_get0_pubkey(ca))) == NULL ||
        (argc == 4 && (b = crl_load(argv[3], X509_get0_pubkey(ca))) == NULL))
        goto out;
    if (b != NULL && !lists_same(a, b))
        goto out;
    printf("entries %d\n", sk_X509_REVOKED_num(X509_CRL_get_REVOKED(a)));
    ok = 1;
out:
    X509_CRL_free(a);
    X509_CRL_free(b);
    X509_free(ca);
    return ok ? 0 : 1;
}
