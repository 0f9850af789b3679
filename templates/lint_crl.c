/*
 * lint_crl.c — the TBSCertList view and the CRL checks (RFC 5280 5.1-5.3).
 *
 * A CRL offca builds can hold a million entries, and it is linted before the token signs it, so
 * the view never makes an X509_REVOKED per entry: every field before and after the list goes
 * through OpenSSL's own d2i (AlgorithmIdentifier, Name, Time, Extensions); the list is walked
 * entry by entry with ASN1_get_object, the serial INTEGER judged from its content octets, and the
 * revocationDate decoded only when it is not a plain UTCTime of a real date (lint_crl_memo.c) and
 * differs from the previous entry's, the crlEntryExtensions only when their bytes are not among
 * the last few distinct encodings judged (the verdict of the same bytes is the same).
 * Uniqueness needs order: a sorted list is proven unique by comparing neighbours; an unsorted one
 * (another CA's) is copied, sorted and compared in a second pass.
 */
#include "templates/lint_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>

struct ser {
    unsigned char b[21];
    size_t n;
};

/* Per-walk cache of the last revocationDate bytes and of recent crlEntryExtensions verdicts. */
struct walk {
    struct lint_crl_entries *e;
    struct ser prev;
    unsigned char tbytes[24];
    size_t tlen;
    int tbad;
    struct lint_ext_memo xm;
};

static void first(uint64_t *slot, uint64_t i)
{
    if (*slot == 0)
        *slot = i;
}

/* Compare positive minimal magnitudes (leading 00 stripped). */
static int ser_cmp(const struct ser *a, const struct ser *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return memcmp(a->b, b->b, a->n);
}

/* Judge the serial INTEGER at p (content c, n octets); fill s with its magnitude. 1 good. */
static int serial_take(const unsigned char *c, long n, struct ser *s)
{
    if (n < 1 || n > 21 || (c[0] & 0x80) || (n > 1 && c[0] == 0 && !(c[1] & 0x80)))
        return 0;                               /* negative, empty, too long or not minimal */
    if (c[0] == 0 && n > 1) {
        c++;
        n--;
    } else if (n > 20) {
        return 0;
    }
    memcpy(s->b, c, (size_t)n);
    s->n = (size_t)n;
    return !(n == 1 && c[0] == 0);
}

static void entry_time(struct walk *w, const unsigned char *t, size_t n, uint64_t i)
{
    if (lint_utctime_plain(t, n))
        return;                                 /* well formed: nothing to note */
    if (n > sizeof(w->tbytes) || n != w->tlen || memcmp(t, w->tbytes, n) != 0) {
        const unsigned char *q = t;
        ASN1_TIME *tm = d2i_ASN1_TIME(NULL, &q, (long)n);

        w->tbad = tm == NULL || q != t + n || lint_time_problem(tm) != NULL;
        ASN1_TIME_free(tm);
        w->tlen = n <= sizeof(w->tbytes) ? n : 0;
        if (w->tlen)
            memcpy(w->tbytes, t, n);
    }
    if (w->tbad)
        first(&w->e->bad_time, i);
}

/* Decode crlEntryExtensions: duplicates or unknown critical ones are bad; note the reason. */
static void ext_judge(struct lint_ext_verdict *w, const unsigned char *x, size_t n)
{
    const unsigned char *q = x;
    STACK_OF(X509_EXTENSION) *sk = d2i_X509_EXTENSIONS(NULL, &q, (long)n);
    int seen_reason = 0;

    w->bad = sk == NULL || q != x + n || sk_X509_EXTENSION_num(sk) == 0;
    w->reason = -1;
    w->remove = 0;
    for (int i = 0; !w->bad && i < sk_X509_EXTENSION_num(sk); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(sk, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));

        for (int j = 0; j < i; j++)
            if (OBJ_cmp(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(sk, j)),
                        X509_EXTENSION_get_object(e)) == 0)
                w->bad = 1;
        if (nid == NID_crl_reason) {
            ASN1_ENUMERATED *r = X509V3_EXT_d2i(e);
            long v = r ? ASN1_ENUMERATED_get(r) : -1;

            ASN1_ENUMERATED_free(r);
            w->bad |= r == NULL || seen_reason++ || X509_EXTENSION_get_critical(e) > 0;
            w->reason = (int)v;
            w->remove = v == 8;
        } else {
            struct lint_ext le;

            lint_ext_decode(&le, e);
            w->bad |= le.bad || (le.critical && nid != NID_invalidity_date &&
                                  nid != NID_certificate_issuer);
            lint_exts_clear(&le, 1);
        }
    }
    sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
}

static void entry_ext(struct walk *w, const unsigned char *x, size_t n, uint64_t i)
{
    const struct lint_ext_verdict *v = lint_ext_memo_find(&w->xm, x, n);
    struct lint_ext_verdict fresh;

    if (v == NULL) {
        ext_judge(&fresh, x, n);
        lint_ext_memo_put(&w->xm, x, n, &fresh);
        v = &fresh;
    }
    if (v->bad)
        first(&w->e->bad_ext, i);
    if (v->reason >= 0 && (v->reason > 10 || v->reason == 7)) {
        if (w->e->bad_reason == 0)
            w->e->reason_seen = v->reason;
        first(&w->e->bad_reason, i);
    }
    if (v->remove)
        first(&w->e->remove_base, i);
}

/* One revokedCertificates element at *pp (within end). 1 framed right, 0 not. */
static int entry_walk(struct walk *w, const unsigned char **pp, const unsigned char *end,
                      uint64_t i)
{
    const unsigned char *p = *pp, *c, *eend, *t;
    long len;
    int tag, cls, r;
    struct ser s;

    r = ASN1_get_object(&p, &len, &tag, &cls, end - p);
    if ((r & 0x80) || r != 0x20 || tag != V_ASN1_SEQUENCE || cls != 0)
        return 0;
    eend = p + len;
    c = p;
    r = ASN1_get_object(&p, &len, &tag, &cls, eend - p);
    if ((r & 0x80) || r != 0 || tag != V_ASN1_INTEGER || cls != 0)
        return 0;
    if (!serial_take(p, len, &s)) {
        first(&w->e->bad_serial, i);
    } else if (w->e->count > 0) {
        int cmp = ser_cmp(&w->prev, &s);

        if (cmp == 0)
            first(&w->e->dup, i);
        else if (cmp > 0)
            first(&w->e->unsorted, i);
    }
    w->prev = s;
    p += len;
    t = p;
    r = ASN1_get_object(&p, &len, &tag, &cls, eend - p);
    if ((r & 0x80) || r != 0 || cls != 0 || (tag != V_ASN1_UTCTIME &&
                                             tag != V_ASN1_GENERALIZEDTIME))
        return 0;
    p += len;
    entry_time(w, t, (size_t)(p - t), i);
    if (p < eend) {
        const unsigned char *x = p;

        r = ASN1_get_object(&p, &len, &tag, &cls, eend - p);
        if ((r & 0x80) || r != 0x20 || tag != V_ASN1_SEQUENCE || p + len != eend)
            return 0;
        entry_ext(w, x, (size_t)(eend - x), i);
        p = eend;
    }
    (void)c;
    *pp = eend;
    return p == eend;
}

static int ser_qcmp(const void *a, const void *b)
{
    return ser_cmp(a, b);
}

/* Unsorted list: copy the serials, sort, compare neighbours. 1 ran / 0 memory. */
static int dup_pass(struct lint_crl_entries *e, const unsigned char *p, const unsigned char *end)
{
    struct ser *all = calloc((size_t)e->count ? (size_t)e->count : 1, sizeof(*all));
    size_t n = 0;
    long len;
    int tag, cls;

    if (all == NULL)
        return 0;
    while (p < end && n < e->count) {
        const unsigned char *q;

        ASN1_get_object(&p, &len, &tag, &cls, end - p);
        q = p;
        p += len;
        ASN1_get_object(&q, &len, &tag, &cls, p - q);
        if (serial_take(q, len, &all[n]))
            n++;
    }
    if (n > 1)
        qsort(all, n, sizeof(*all), ser_qcmp);
    for (size_t i = 1; i < n; i++)
        if (ser_cmp(&all[i - 1], &all[i]) == 0) {
            first(&e->dup, i + 1);
            break;
        }
    free(all);
    return 1;
}

static int list_walk(struct lint_crl_view *v, const unsigned char *p, const unsigned char *end)
{
    struct walk w;
    const unsigned char *start = p;

    memset(&w, 0, sizeof(w));
    w.e = &v->ent;
    while (p < end) {
        if (!entry_walk(&w, &p, end, v->ent.count + 1)) {
            first(&v->ent.bad_frame, v->ent.count + 1);
            return 1;
        }
        v->ent.count++;
    }
    if (v->ent.unsorted && v->ent.dup == 0)
        return dup_pass(&v->ent, start, end);
    return 1;
}

static void view_ext_index(struct lint_crl_view *v, const struct lint_ext *le)
{
    switch (le->nid) {
    case NID_crl_number:
        if (!v->e_number) { v->e_number = le; v->number = le->val; }
        break;
    case NID_delta_crl:
        if (!v->e_delta) { v->e_delta = le; v->delta_base = le->val; }
        break;
    case NID_authority_key_identifier:
        if (!v->akid) v->akid = le->val;
        break;
    case NID_issuing_distribution_point:
        if (!v->e_idp) v->e_idp = le;
        break;
    default:
        break;
    }
}

static int exts_take(struct lint_crl_view *v, const unsigned char *p, long len)
{
    const unsigned char *q = p;
    int n;

    if ((v->exts = d2i_X509_EXTENSIONS(NULL, &q, len)) == NULL || q != p + len)
        return 0;
    n = sk_X509_EXTENSION_num(v->exts);
    v->n_ext_total = n;
    for (int i = 0; i < n && i < MAX_LINT_EXTS; i++) {
        lint_ext_decode(&v->ext[i], sk_X509_EXTENSION_value(v->exts, i));
        v->n_ext = i + 1;
        view_ext_index(v, &v->ext[i]);
    }
    return 1;
}

#define BAD(msg) do { snprintf(v->der_problem, sizeof(v->der_problem), "%s", msg); return 1; } \
    while (0)

/* Decode the TBSCertList fields in order; malformed DER leaves v->parsed 0 with the problem. */
static int view_fields(struct lint_crl_view *v, const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q;
    X509_ALGOR *alg;
    long len;
    int tag, cls, r;

    if (p < end && *p == V_ASN1_INTEGER) {
        ASN1_INTEGER *ver = d2i_ASN1_INTEGER(NULL, &p, end - p);

        v->version = ver ? ASN1_INTEGER_get(ver) : -2;
        ASN1_INTEGER_free(ver);
        if (v->version == -2)
            BAD("version is not an INTEGER");
    }
    if ((alg = d2i_X509_ALGOR(NULL, &p, end - p)) == NULL)
        BAD("signature AlgorithmIdentifier does not decode");
    X509_ALGOR_free(alg);
    if ((v->issuer_name = d2i_X509_NAME(NULL, &p, end - p)) == NULL)
        BAD("issuer Name does not decode");
    if ((v->this_update = d2i_ASN1_TIME(NULL, &p, end - p)) == NULL)
        BAD("thisUpdate is not a Time");
    if (p < end && (*p == V_ASN1_UTCTIME || *p == V_ASN1_GENERALIZEDTIME) &&
        (v->next_update = d2i_ASN1_TIME(NULL, &p, end - p)) == NULL)
        BAD("nextUpdate is not a Time");
    if (p < end && *p == (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED)) {
        r = ASN1_get_object(&p, &len, &tag, &cls, end - p);
        if ((r & 0x80) || r != 0x20)
            BAD("revokedCertificates is not a definite-length SEQUENCE");
        if (!list_walk(v, p, p + len))
            return 0;
        if (v->ent.bad_frame)
            BAD("a revoked entry is not SEQUENCE { INTEGER, Time, Extensions OPTIONAL }");
        p += len;
    }
    if (p < end && *p == (V_ASN1_CONTEXT_SPECIFIC | V_ASN1_CONSTRUCTED | 0)) {
        r = ASN1_get_object(&p, &len, &tag, &cls, end - p);
        q = p;
        if ((r & 0x80) || r != 0x20 || !exts_take(v, q, len))
            BAD("crlExtensions [0] does not decode as Extensions");
        p += len;
    }
    if (p != end)
        BAD("unexpected fields or bytes after the last one");
    v->parsed = 1;
    return 1;
}

int lint_crl_view_build(struct lint_crl_view *v, const unsigned char *tbs, size_t len)
{
    const unsigned char *p = tbs;
    long l;
    int tag, cls, r;

    v->version = -1;
    if (tbs == NULL || len < 2 || len > (size_t)LONG_MAX)
        BAD("empty");
    r = ASN1_get_object(&p, &l, &tag, &cls, (long)len);
    if ((r & 0x80) || r != 0x20 || tag != V_ASN1_SEQUENCE || cls != 0 ||
        p + l != tbs + len)
        BAD("not one definite-length SEQUENCE filling the input");
    return view_fields(v, p, p + l);
}

void lint_crl_view_clear(struct lint_crl_view *v)
{
    lint_exts_clear(v->ext, v->n_ext);
    sk_X509_EXTENSION_pop_free(v->exts, X509_EXTENSION_free);
    X509_NAME_free(v->issuer_name);
    ASN1_TIME_free(v->this_update);
    ASN1_TIME_free(v->next_update);
}

/* ---- the checks -------------------------------------------------------------------------- */

void lr_der(void *p)
{
    (void)p;                        /* reported by the runner when the view did not build */
}

void lr_version(void *p)
{
    struct lint_crl_view *v = p;

    if (v->version != 1)
        lint_emit(&v->b, "issue v2 CRLs (version INTEGER 1)", "CRL version is %s",
                  v->version < 0 ? "absent (v1)" : "not v2");
}

void lr_issuer_empty(void *p)
{
    struct lint_crl_view *v = p;

    if (X509_NAME_entry_count(v->issuer_name) == 0)
        lint_emit(&v->b, "sign CRLs with a CA that has a subject name", "issuer name is empty");
}

void lr_issuer_match(void *p)
{
    struct lint_crl_view *v = p;

    if (X509_NAME_cmp(v->issuer_name, X509_get_subject_name(v->b.o->issuer)) != 0)
        lint_emit(&v->b, "check that --issuer is the CA that signed it",
                  "issuer name differs from the issuer certificate's subject");
}

void lr_time_encoding(void *p)
{
    struct lint_crl_view *v = p;
    const char *e;

    if ((e = lint_time_problem(v->this_update)) != NULL)
        lint_emit(&v->b, "encode dates through 2049 as UTCTime, later as GeneralizedTime",
                  "thisUpdate: %s", e);
    if (v->next_update && (e = lint_time_problem(v->next_update)) != NULL)
        lint_emit(&v->b, "encode dates through 2049 as UTCTime, later as GeneralizedTime",
                  "nextUpdate: %s", e);
}

void lr_next_update(void *p)
{
    struct lint_crl_view *v = p;

    if (v->next_update == NULL)
        lint_emit(&v->b, "give every CRL a nextUpdate", "no nextUpdate");
    else if (lint_time_cmp(v->this_update, v->next_update) >= 0)
        lint_emit(&v->b, "set nextUpdate after thisUpdate", "nextUpdate is not after thisUpdate");
}

static int int_octets(const ASN1_INTEGER *i)
{
    int n = ASN1_STRING_length(i);

    return n + (n > 0 && (ASN1_STRING_get0_data(i)[0] & 0x80) ? 1 : 0);
}

void lr_number(void *p)
{
    struct lint_crl_view *v = p;

    if (v->e_number == NULL)
        lint_emit(&v->b, "add a cRLNumber extension", "no CRL number");
    else if (v->number == NULL)
        ;                           /* does not decode: crl.der-like, reported below */
    else if (v->e_number->critical)
        lint_emit(&v->b, "mark cRLNumber non-critical", "cRLNumber is critical");
    else if (ASN1_STRING_type(v->number) == V_ASN1_NEG_INTEGER || int_octets(v->number) > 20)
        lint_emit(&v->b, "use a non-negative CRL number of at most 20 octets",
                  "CRL number is negative or longer than 20 octets");
    if (v->e_number != NULL && v->number == NULL)
        lint_emit(&v->b, "encode cRLNumber as an INTEGER", "cRLNumber does not decode");
}

void lr_number_increasing(void *p)
{
    struct lint_crl_view *v = p;
    uint64_t n;

    if (v->number == NULL || !ASN1_INTEGER_get_uint64(&n, v->number))
        return;
    if (n <= (uint64_t)v->b.o->prev_number)
        lint_emit(&v->b, "give each new CRL a number above the last one", "CRL number %llu is "
                  "not above the previous %lld", (unsigned long long)n,
                  (long long)v->b.o->prev_number);
}

void lr_akid(void *p)
{
    struct lint_crl_view *v = p;

    if (v->akid == NULL || v->akid->keyid == NULL)
        lint_emit(&v->b, "add authorityKeyIdentifier with the CA's key identifier",
                  "no authorityKeyIdentifier keyIdentifier");
}

void lr_akid_match(void *p)
{
    struct lint_crl_view *v = p;
    ASN1_OCTET_STRING *skid;

    if (v->akid == NULL || v->akid->keyid == NULL)
        return;
    skid = X509_get_ext_d2i(v->b.o->issuer, NID_subject_key_identifier, NULL, NULL);
    if (skid == NULL || ASN1_OCTET_STRING_cmp(skid, v->akid->keyid) != 0)
        lint_emit(&v->b, "copy the CA's subjectKeyIdentifier into the AKID (or check --issuer)",
                  "AKID keyIdentifier differs from the issuer's SKID");
    ASN1_OCTET_STRING_free(skid);
}

void lr_entries_unique(void *p)
{
    struct lint_crl_view *v = p;

    if (v->ent.dup)
        lint_emit(&v->b, "list each revoked serial once", "revoked entry %llu repeats a serial",
                  (unsigned long long)v->ent.dup);
}

void lr_entries_sorted(void *p)
{
    struct lint_crl_view *v = p;

    if (v->ent.unsorted)
        lint_emit(&v->b, "list revoked serials in ascending order (streaming readers rely on it)",
                  "revoked entry %llu is below the one before it",
                  (unsigned long long)v->ent.unsorted);
}

void lr_entry_serial(void *p)
{
    struct lint_crl_view *v = p;

    if (v->ent.bad_serial)
        lint_emit(&v->b, "list positive, minimal serials of 1..20 octets", "revoked entry %llu: "
                  "serial is zero, negative, not minimal or over 20 octets",
                  (unsigned long long)v->ent.bad_serial);
}

void lr_entry_time(void *p)
{
    struct lint_crl_view *v = p;

    if (v->ent.bad_time)
        lint_emit(&v->b, "encode dates through 2049 as UTCTime, later as GeneralizedTime",
                  "revoked entry %llu: revocationDate malformed",
                  (unsigned long long)v->ent.bad_time);
}

void lr_reason(void *p)
{
    struct lint_crl_view *v = p;

    if (v->ent.bad_reason)
        lint_emit(&v->b, "use an RFC 5280 reason code (0-6, 8-10)", "revoked entry %llu: reason "
                  "code %d is not defined", (unsigned long long)v->ent.bad_reason,
                  v->ent.reason_seen);
    if (v->ent.bad_ext)
        lint_emit(&v->b, "give entries one non-critical reasonCode and well-formed extensions",
                  "revoked entry %llu: entry extensions malformed, repeated or critical",
                  (unsigned long long)v->ent.bad_ext);
}

void lr_remove_from_crl(void *p)
{
    struct lint_crl_view *v = p;

    if (v->ent.remove_base && v->e_delta == NULL)
        lint_emit(&v->b, "drop released entries from full CRLs", "revoked entry %llu: "
                  "removeFromCRL on a CRL that is not a delta",
                  (unsigned long long)v->ent.remove_base);
}

void lr_delta(void *p)
{
    struct lint_crl_view *v = p;
    uint64_t base, n;

    for (int i = 0; i < v->n_ext; i++)
        if (v->ext[i].nid == NID_freshest_crl && v->e_delta != NULL)
            lint_emit(&v->b, "put Freshest CRL on full CRLs only", "delta CRL with Freshest CRL");
    if (v->e_delta == NULL) {
        if (v->b.o->delta == 1)
            lint_emit(&v->b, "mark delta CRLs with a critical deltaCRLIndicator",
                      "delta CRL without deltaCRLIndicator");
        return;
    }
    if (v->b.o->delta == 0)
        lint_emit(&v->b, "leave deltaCRLIndicator off full CRLs",
                  "deltaCRLIndicator on a full CRL");
    if (!v->e_delta->critical)
        lint_emit(&v->b, "mark deltaCRLIndicator critical", "deltaCRLIndicator is not critical");
    if (v->delta_base && v->number && ASN1_INTEGER_get_uint64(&base, v->delta_base) &&
        ASN1_INTEGER_get_uint64(&n, v->number) && base >= n)
        lint_emit(&v->b, "number the delta above its base CRL", "delta CRL number %llu is not "
                  "above its base %llu", (unsigned long long)n, (unsigned long long)base);
}

void lr_idp_critical(void *p)
{
    struct lint_crl_view *v = p;

    if (v->e_idp != NULL && !v->e_idp->critical)
        lint_emit(&v->b, "mark issuingDistributionPoint critical",
                  "issuingDistributionPoint is not critical");
}

void lr_ext_duplicate(void *p)
{
    struct lint_crl_view *v = p;

    for (int i = 0; i < v->n_ext; i++) {
        if (v->ext[i].bad)
            lint_emit(&v->b, "rebuild the extension with a conforming encoder",
                      "%s: the value does not decode", OBJ_nid2sn(v->ext[i].nid));
        for (int j = i + 1; j < v->n_ext; j++)
            if (OBJ_cmp(X509_EXTENSION_get_object(v->ext[i].ext),
                        X509_EXTENSION_get_object(v->ext[j].ext)) == 0)
                lint_emit(&v->b, "include each extension once", "CRL extension %s appears twice",
                          OBJ_nid2sn(v->ext[i].nid));
    }
}

void lr_ext_unknown_critical(void *p)
{
    struct lint_crl_view *v = p;
    char oid[80];

    for (int i = 0; i < v->n_ext; i++)
        if (v->ext[i].critical && v->ext[i].nid == NID_undef) {
            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(v->ext[i].ext), 1);
            lint_emit(&v->b, "do not mark private CRL extensions critical",
                      "unknown critical CRL extension %s", oid);
        }
}
