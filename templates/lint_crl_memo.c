/*
 * lint_crl_memo.c — what the CRL entry walk (lint_crl.c) keeps so that a million entries are
 * not each decoded by OpenSSL, with the same verdict as decoding them:
 *  - the verdicts of the last LINT_EXT_MEMO distinct crlEntryExtensions encodings: a CA's
 *    entries use a handful (one per reason code) in no particular order, and the same bytes
 *    always get the same verdict;
 *  - the revocationDate form offca writes, a UTCTime YYMMDDHHMMSSZ (RFC 5280 5.1.2.6, 4.1.2.5.1)
 *    naming a real calendar date and time, judged from its 15 bytes: d2i_ASN1_TIME decodes it
 *    and lint_time_problem finds nothing wrong with it. Everything else is left to those two.
 */
#include "templates/lint_int.h"

#include <string.h>

/* The verdict kept for crlEntryExtensions bytes x (n of them), or NULL. */
const struct lint_ext_verdict *lint_ext_memo_find(struct lint_ext_memo *m, const unsigned char *x,
                                                  size_t n)
{
    for (int i = 0; i < LINT_EXT_MEMO; i++) {
        struct lint_ext_slot *s = &m->slot[i];

        if (s->n == n && n > 0 && memcmp(s->b, x, n) == 0) {
            s->ref = 1;
            return &s->v;
        }
    }
    return NULL;
}

/* Keep verdict v for bytes x (n): a slot not used since the clock hand last passed it (the
 * "second chance" replacement: encodings that keep coming back stay, one-off ones go). Bytes
 * over LINT_EXT_MEMO_BYTES are not kept (they are judged each time). */
void lint_ext_memo_put(struct lint_ext_memo *m, const unsigned char *x, size_t n,
                       const struct lint_ext_verdict *v)
{
    struct lint_ext_slot *s;

    if (n == 0 || n > LINT_EXT_MEMO_BYTES)
        return;
    while (m->slot[m->hand].ref) {
        m->slot[m->hand].ref = 0;
        m->hand = (m->hand + 1) % LINT_EXT_MEMO;
    }
    s = &m->slot[m->hand];
    m->hand = (m->hand + 1) % LINT_EXT_MEMO;
    memcpy(s->b, x, n);
    s->n = n;
    s->v = *v;
    s->ref = 1;
}

static int two_digits(const unsigned char *p, int max, int *out)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return 0;
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return *out <= max;
}

/* 1 when the Time TLV t (n bytes) is UTCTime YYMMDDHHMMSSZ (short-form length 13) of a real
 * date (1950-2049; the month's days, 29 February in leap years) and time (00:00:00-23:59:59):
 * such a revocationDate is well formed. 0 says nothing: the caller decodes and judges it. */
int lint_utctime_plain(const unsigned char *t, size_t n)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int yy, mo, d, h, mi, s, year, leap;

    if (n != 15 || t[0] != V_ASN1_UTCTIME || t[1] != 13 || t[14] != 'Z')
        return 0;
    if (!two_digits(t + 2, 99, &yy) || !two_digits(t + 4, 12, &mo) || !two_digits(t + 6, 31, &d)
        || !two_digits(t + 8, 23, &h) || !two_digits(t + 10, 59, &mi)
        || !two_digits(t + 12, 59, &s) || mo < 1 || d < 1)
        return 0;
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return d <= mdays[mo - 1] + (mo == 2 && leap);
}
