/*
 * bulkload.c — bench-only: fill an offca store with issued-and-revoked certificate records for
 * one CA, the way issuance and `offca revoke` write them (store_cert_add + "cert.issue" audit
 * record, then store_revoke + "cert.revoke" audit record), in large transactions, and append the
 * same revocations to an OpenSSL `ca` index.txt so `openssl ca -gencrl` sees the SAME list.
 *
 *   bulkload STORE CA CERT.der SEED START COUNT INDEX.txt
 *   bulkload certs STORE CA CERT.der SEED START COUNT INDEX.txt
 *
 * The "certs" mode (tools/bench-sign.sh, issuance latency against store size) writes only what
 * issuance writes (store_cert_add + "cert.issue" audit record; valid, not revoked) and appends
 * the same certificates to index.txt as valid ("V") lines, so `openssl ca` has an index of the
 * same size.
 *
 * Records START .. START+COUNT-1 get deterministic 20-byte serials (offca's shape: positive,
 * top byte non-zero) from SEED, so a run can be extended later (1k, then +99k, then +900k).
 * Every record reuses the one real certificate DER in CERT.der: a CRL needs only serial, date,
 * reason and invalidity date. Reasons cycle through a fixed mix (see reason_of).
 * Not part of offca: built by tools/bench-crl.sh against build/lib*.a.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/store/store.h"

#define MAX_DER_BYTES (64 * 1024)
#define TXN_RECORDS 50000          /* records per commit: 1M in 20 commits */
#define DAY 86400

struct load {
    struct store *s;
    const char *ca;
    unsigned char der[MAX_DER_BYTES];
    size_t der_len;
    uint64_t seed;
    time_t base;                   /* revocation times spread over the 30 days before this */
    FILE *index;
    int certs_only;                /* "certs" mode: issue, do not revoke */
};

static uint64_t mix64(uint64_t x)  /* splitmix64 finaliser */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void serial_of(const struct load *l, uint64_t i, unsigned char sn[20])
{
    for (int w = 0; w < 3; w++) {
        uint64_t v = mix64(l->seed * 0x100000001b3ULL + i * 3 + (uint64_t)w);
        for (int b = 0; b < 8 && w * 8 + b < 20; b++)
            sn[w * 8 + b] = (unsigned char)(v >> (8 * b));
    }
    sn[0] &= 0x7f;
    if (sn[0] == 0)
        sn[0] = 0x40;
}

/* The reason mix: 1/4 none, 1/4 keyCompromise (half with an invalidity date), then superseded,
 * cessationOfOperation, affiliationChanged, superseded. -1 = no reasonCode. */
static int reason_of(uint64_t i, int *with_invalidity)
{
    static const int mix[8] = { -1, -1, 1, 1, 4, 5, 3, 4 };

    *with_invalidity = (i % 8) == 2;
    return mix[i % 8];
}

static const char *ossl_reason(int reason, int inval)
{
    switch (reason) {
    case 1: return inval ? "keyTime" : "keyCompromise";
    case 3: return "affiliationChanged";
    case 4: return "superseded";
    case 5: return "cessationOfOperation";
    default: return NULL;
    }
}

/* One OpenSSL index line: R, expiry, revocation[,reason[,comptime]], serial, file, subject. */
static int index_line(const struct load *l, uint64_t i, const unsigned char sn[20], time_t na,
                      time_t rev, int reason, time_t inval)
{
    char exp[16], rv[16], comp[20], hex[41];
    const char *rs = ossl_reason(reason, inval != 0);
    struct tm tm;

    strftime(exp, sizeof(exp), "%y%m%d%H%M%SZ", gmtime_r(&na, &tm));
    strftime(rv, sizeof(rv), "%y%m%d%H%M%SZ", gmtime_r(&rev, &tm));
    strftime(comp, sizeof(comp), "%Y%m%d%H%M%SZ", gmtime_r(&inval, &tm));
    for (int b = 0; b < 20; b++)
        snprintf(hex + 2 * b, 3, "%02X", sn[b]);
    return fprintf(l->index, "R\t%s\t%s%s%s%s%s\t%s\tunknown\t/CN=bench-%llu\n", exp, rv,
                   rs ? "," : "", rs ? rs : "", inval ? "," : "", inval ? comp : "", hex,
                   (unsigned long long)i) > 0;
}

/* A valid OpenSSL index line: V, expiry, (no revocation), serial, file, subject. */
static int index_line_valid(const struct load *l, uint64_t i, const unsigned char sn[20], time_t na)
{
    char exp[16], hex[41];
    struct tm tm;

    strftime(exp, sizeof(exp), "%y%m%d%H%M%SZ", gmtime_r(&na, &tm));
    for (int b = 0; b < 20; b++)
        snprintf(hex + 2 * b, 3, "%02X", sn[b]);
    return fprintf(l->index, "V\t%s\t\t%s\tunknown\t/CN=bench-%llu\n", exp, hex,
                   (unsigned long long)i) > 0;
}

/* Issue (record + audit) and revoke (record + audit) certificate i inside t. */
static int load_one(struct load *l, struct store_txn *t, uint64_t i, time_t now)
{
    char subject[64], sans[80], hex[41], detail[160];
    struct cert_rec r;
    int inval_on, reason = reason_of(i, &inval_on);
    time_t rev = l->base - (time_t)((i * 7919) % (30 * DAY)), inval = inval_on ? rev - DAY : 0;

    memset(&r, 0, sizeof(r));
    snprintf(r.ca, sizeof(r.ca), "%s", l->ca);
    serial_of(l, i, r.serial);
    r.serial_len = 20;
    r.der = l->der;
    r.der_len = l->der_len;
    snprintf(subject, sizeof(subject), "CN=bench-%llu", (unsigned long long)i);
    snprintf(sans, sizeof(sans), "dns:bench-%llu.example.test", (unsigned long long)i);
    r.template_name = (char *)"intune-device";
    r.subject = subject;
    r.sans = sans;
    r.not_before = now - 60 * DAY;
    r.not_after = now + 305 * DAY;
    r.issued_at = r.not_before;
    r.status = CERT_VALID;
    r.reason = -1;
    for (int b = 0; b < 20; b++)
        snprintf(hex + 2 * b, 3, "%02x", r.serial[b]);
    snprintf(detail, sizeof(detail), "template=intune-device subject=%s sid=-", subject);
    if (!store_cert_add(t, &r) || !store_audit_append(t, "cert.issue", hex, "ok", detail))
        return 0;
    if (l->certs_only)
        return index_line_valid(l, i, r.serial, r.not_after);
    if (!store_revoke(t, l->ca, r.serial, 20, reason, rev, inval))
        return 0;
    snprintf(detail, sizeof(detail), "ca=%s reason=%d", l->ca, reason);
    return store_audit_append(t, "cert.revoke", hex, "ok", detail) &&
           index_line(l, i, r.serial, r.not_after, rev, reason, inval);
}

/* Load [start, end) in transactions of TXN_RECORDS. 1 ok / 0 with a message on stderr. */
static int load_range(struct load *l, uint64_t start, uint64_t end)
{
    time_t now = time(NULL);

    for (uint64_t i = start; i < end;) {
        struct store_txn *t = store_txn_begin(l->s, 1);
        uint64_t stop = i + TXN_RECORDS < end ? i + TXN_RECORDS : end;

        if (t == NULL)
            goto fail;
        for (; i < stop; i++)
            if (!load_one(l, t, i, now)) {
                store_txn_abort(t);
                goto fail;
            }
        if (!store_txn_commit(t))
            goto fail;
    }
    return fflush(l->index) == 0;
fail:
    fprintf(stderr, "bulkload: %s\n", store_error());
    return 0;
}

static int der_read(struct load *l, const char *path)
{
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        fprintf(stderr, "bulkload: %s: cannot open; give a DER certificate\n", path);
        return 0;
    }
    l->der_len = fread(l->der, 1, sizeof(l->der), f);
    fclose(f);
    if (l->der_len == 0 || l->der_len == sizeof(l->der) || l->der[0] != 0x30) {
        fprintf(stderr, "bulkload: %s: not a DER certificate under %d bytes\n", path,
                MAX_DER_BYTES);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    static struct load l;
    uint64_t start, count;
    int ok = 0;

    if (argc == 9 && strcmp(argv[1], "certs") == 0) {
        l.certs_only = 1;
        argc--;
        argv++;
    }
    if (argc != 8) {
        fprintf(stderr, "usage: bulkload [certs] STORE CA CERT.der SEED START COUNT INDEX.txt\n");
        return 2;
    }
    l.ca = argv[2];
    l.seed = strtoull(argv[4], NULL, 10);
    start = strtoull(argv[5], NULL, 10);
    count = strtoull(argv[6], NULL, 10);
    l.base = time(NULL) - 3600;
    if (!der_read(&l, argv[3]))
        return 3;
    if ((l.index = fopen(argv[7], "a")) == NULL) {
        fprintf(stderr, "bulkload: %s: cannot append\n", argv[7]);
        return 4;
    }
    if ((l.s = store_open(argv[1], 0)) == NULL)
        fprintf(stderr, "bulkload: %s\n", store_error());
    else
        ok = load_range(&l, start, start + count);
    store_close(l.s);
    if (fclose(l.index) != 0)
        ok = 0;
    return ok ? 0 : 4;
}
