/*
 * adopt.c — the glue of adopting a legacy CA's certificates at `ca import` (see authority.h): the
 * options, the checks over the whole set (duplicate serials), the cross-check against the old
 * CA's last CRL, and the records written in the import's transaction.
 *
 * CRL numbering (RFC 5280 5.2.3: a CA's CRL numbers increase monotonically): --crl-number N and
 * --last-crl give the number of the old CA's last CRL; offca's next CRL is N + 1.
 * With --last-crl the CRL is authoritative for what it lists: each entry must be a revoked
 * certificate of the database with the same reason (and, for openssl ca, the same date; certutil
 * prints minutes only, so within a minute), and offca takes the CRL's exact date, reason and
 * invalidity date, so that its next CRL lists what the old CA's last one did plus what was
 * revoked since.
 */
#include "ca/authority/authority.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "templates/template.h"

/* Whether any adoption option was given. */
int adopt_wanted(const struct adopt_opts *o)
{
    return o && (o->index || o->certutil || o->newcerts || o->utc_offset || o->last_crl ||
                 o->crl_number >= 0);
}

/* A new zeroed record at the end of s. NULL: out of memory (reported). */
struct adopt_cert *adopt_push(struct adopt_set *s, const char *file, size_t line)
{
    struct adopt_cert *c;

    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct adopt_cert *nc = realloc(s->c, cap * sizeof(*nc));
        if (nc == NULL) {
            report("%s:%zu: out of memory; free memory and run the import again", file, line);
            return NULL;
        }
        s->c = nc;
        s->cap = cap;
    }
    c = &s->c[s->n++];
    memset(c, 0, sizeof(*c));
    c->reason = -1;
    snprintf(c->where, sizeof(c->where), "%s:%zu", file, line);
    return c;
}

/* Canonical serial (DER INTEGER contents) of big-endian magnitude bytes. 1 ok / 0 (why set). */
int adopt_serial_canon(const unsigned char *b, size_t n, struct adopt_cert *c, const char **why)
{
    size_t i = 0;

    while (i < n && b[i] == 0)
        i++;
    if (i == n)
        return *why = "zero is not a positive serial (RFC 5280 4.1.2.2)", 0;
    n -= i;
    c->serial_len = n + ((b[i] & 0x80) != 0);
    if (c->serial_len > MAX_STORE_SERIAL)
        return *why = "longer than 20 octets (RFC 5280 4.1.2.2)", 0;
    c->serial[0] = 0;
    memcpy(c->serial + (c->serial_len - n), b + i, n);
    return 1;
}

/* Hex serial text -> canonical serial of c. 1 ok / 0 (reported). */
int adopt_serial(struct adopt_cert *c, const char *hex)
{
    unsigned char b[MAX_STORE_SERIAL + 8];
    char even[2 * sizeof(b) + 2];
    size_t len = strlen(hex), n = 0;
    const char *why = len ? "not hexadecimal" : "empty";
    int ok = len > 0 && len <= 2 * sizeof(b);

    if (len > 2 * sizeof(b))
        why = "longer than 20 octets (RFC 5280 4.1.2.2)";
    if (ok)
        snprintf(even, sizeof(even), "%s%s", (len & 1) ? "0" : "", hex);
    for (size_t i = 0; ok && even[i]; i += 2) {
        int hi = OPENSSL_hexchar2int((unsigned char)even[i]);
        int lo = OPENSSL_hexchar2int((unsigned char)even[i + 1]);
        ok = hi >= 0 && lo >= 0;
        b[n++] = (unsigned char)((hi << 4) | (lo & 15));
    }
    if (ok && adopt_serial_canon(b, n, c, &why))
        return 1;
    report("%s: serial '%.80s': %s; the whole import is refused, fix the line", c->where, hex, why);
    return 0;
}

/* The certificate's fields into c, checked against the CA key and c's serial. 0 / EXIT_INPUT. */
int adopt_take_cert(struct adopt_cert *c, X509 *x, X509 *ca)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    struct adopt_cert tmp;
    const char *why = NULL;
    int n;

    memset(&tmp, 0, sizeof(tmp));
    if (ASN1_STRING_length(sn) <= 0 || ASN1_STRING_type(sn) != V_ASN1_INTEGER ||
        !adopt_serial_canon(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn), &tmp, &why) ||
        tmp.serial_len != c->serial_len || memcmp(tmp.serial, c->serial, c->serial_len) != 0) {
        report("%s: the certificate's serial is not the line's; the file belongs to another "
               "certificate", c->where);
        return EXIT_INPUT;
    }
    if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)) != 0 ||
        X509_verify(x, X509_get0_pubkey(ca)) != 1) {
        ERR_clear_error();
        report("%s: RFC 5280 6.1.3 (a)(1): the certificate is not signed by the imported CA's "
               "key; it was issued by another CA: remove it from what you adopt", c->where);
        return EXIT_INPUT;
    }
    if ((n = i2d_X509(x, NULL)) <= 0 || (c->der = malloc((size_t)n)) == NULL)
        return EXIT_SYSTEM;
    {
        unsigned char *p = c->der;
        c->der_len = (size_t)i2d_X509(x, &p);
    }
    OPENSSL_free(c->subject);
    if ((c->subject = dn_format(X509_get_subject_name(x))) == NULL)
        return EXIT_SYSTEM;
    c->not_before = asn1_time_to_time(X509_get0_notBefore(x));
    c->not_after = asn1_time_to_time(X509_get0_notAfter(x));
    return 0;
}

/* SHA-256 of data as lowercase hex. */
void adopt_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];

    out[0] = '\0';
    if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
        return;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Append " name=hex" to the audit digests. */
void adopt_digest_add(struct adopt_set *s, const char *name, const char *hex)
{
    size_t used = strlen(s->digests);

    snprintf(s->digests + used, sizeof(s->digests) - used, " %s=%s", name, hex);
}

void adopt_set_free(struct adopt_set *s)
{
    for (size_t i = 0; s && i < s->n; i++) {
        free(s->c[i].der);
        OPENSSL_free(s->c[i].subject);
    }
    if (s) {
        free(s->c);
        memset(s, 0, sizeof(*s));
    }
}

static int cmp_serial(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    return memcmp(a, b, an);
}

static int cmp_cert(const void *x, const void *y)
{
    const struct adopt_cert *a = x, *b = y;

    return cmp_serial(a->serial, a->serial_len, b->serial, b->serial_len);
}

/* The record with this canonical serial in s (sorted), or NULL. */
struct adopt_cert *adopt_find(const struct adopt_set *s, const unsigned char *serial, size_t n)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_serial(s->c[mid].serial, s->c[mid].serial_len, serial, n);
        if (c == 0)
            return &s->c[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Sort by serial; two records with one serial refuse the import. 0 or EXIT_INPUT. */
static int sort_unique(struct adopt_set *s)
{
    char hex[2 * MAX_STORE_SERIAL + 1];

    if (s->n > 1)
        qsort(s->c, s->n, sizeof(*s->c), cmp_cert);
    for (size_t i = 1; i < s->n; i++)
        if (cmp_cert(&s->c[i - 1], &s->c[i]) == 0) {
            serial_hex(s->c[i].serial, s->c[i].serial_len, hex);
            report("%s and %s: serial %s twice (RFC 5280 4.1.2.2: unique per CA); the database "
                   "is damaged: remove the wrong line", s->c[i - 1].where, s->c[i].where, hex);
            return EXIT_INPUT;
        }
    return 0;
}

/* "[+-]HH:MM" (or "Z") -> seconds east of UTC. 1 ok / 0. */
static int utc_offset_parse(const char *text, long *out)
{
    int h, m, used = 0;

    *out = 0;
    if (text == NULL || strcmp(text, "Z") == 0)
        return 1;
    if ((text[0] != '+' && text[0] != '-') ||
        sscanf(text + 1, "%2d:%2d%n", &h, &m, &used) != 2 || text[1 + used] != '\0' || used != 5 ||
        h > 14 || m > 59)
        return 0;
    *out = (text[0] == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
    return 1;
}

/* Which options go together. 0 or EXIT_USAGE (reported). */
static int opts_check(const struct adopt_opts *o, long *offset)
{
    const char *bad = NULL;

    if (!o->index == !o->certutil)
        bad = "give one of --index FILE or --certutil-view FILE";
    else if (o->newcerts && !o->index)
        bad = "--newcerts goes with --index";
    else if (o->utc_offset && !o->certutil)
        bad = "--utc-offset goes with --certutil-view";
    else if (!o->last_crl && o->crl_number < 0)
        bad = "RFC 5280 5.2.3: the CRL numbers must go on from the old CA's: give --last-crl FILE "
              "(its last CRL) or --crl-number N (0 if it never published one)";
    else if (!utc_offset_parse(o->utc_offset, offset))
        bad = "--utc-offset takes the CA machine's offset from UTC as +HH:MM or -HH:MM";
    if (bad == NULL)
        return 0;
    report("ca import: %s; see 'offca ca import --help'", bad);
    return EXIT_USAGE;
}

/* Read and check everything the options name (see authority.h). */
int adopt_load(const struct adopt_opts *o, X509 *ca, struct adopt_set *s)
{
    long offset = 0;
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = opts_check(o, &offset)) != 0)
        return rc;
    if (o->index)
        rc = adopt_read_index(o->index, o->newcerts, ca, s);
    else
        rc = adopt_read_certutil(o->certutil, offset, ca, s);
    if (rc == 0)
        rc = sort_unique(s);
    if (rc == 0 && o->last_crl)
        rc = adopt_read_last_crl(o->last_crl, ca, s);
    if (rc == 0 && o->last_crl && o->crl_number >= 0 && (uint64_t)o->crl_number != s->crl_number) {
        report("ca import: --crl-number %lld but %s is CRL number %llu; give one of them",
               (long long)o->crl_number, o->last_crl, (unsigned long long)s->crl_number);
        rc = EXIT_USAGE;
    }
    if (rc == 0 && !o->last_crl)
        s->crl_number = (uint64_t)o->crl_number;
    for (size_t i = 0; i < s->n; i++)
        s->n_revoked += s->c[i].revoked;
    return rc;
}

/* One certificate, its revocation and (keyCompromise) its blocked key. 0 or the exit class. */
static int apply_one(struct store_txn *t, const char *ca, const struct adopt_cert *c)
{
    unsigned char hash[STORE_KEY_HASH];
    char hex[2 * MAX_STORE_SERIAL + 1];
    struct cert_rec r;
    int taken = store_serial_taken(t, NULL, c->serial, c->serial_len);

    serial_hex(c->serial, c->serial_len, hex);
    if (taken != 0) {
        if (taken > 0)
            report("%s: serial %s is already in the store (see 'offca show %s'); the whole "
                   "import is refused: was this CA adopted already?", c->where, hex, hex);
        return taken > 0 ? EXIT_POLICY : fail_store();
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.ca, sizeof(r.ca), "%s", ca);
    memcpy(r.serial, c->serial, c->serial_len);
    r.serial_len = c->serial_len;
    r.der = c->der;
    r.der_len = c->der_len;
    r.template_name = ADOPT_TEMPLATE;
    r.subject = c->subject ? c->subject : "";
    r.sans = "";
    r.not_before = c->not_before;
    r.not_after = c->not_after;
    r.issued_at = c->not_before;
    r.status = CERT_VALID;
    r.reason = -1;
    if (!(c->der ? store_cert_add(t, &r) : store_cert_adopt(t, &r)) ||
        (c->revoked && !store_revoke(t, ca, c->serial, c->serial_len, c->reason, c->revoked_at,
                                     c->invalidity)))
        return fail_store();
    if (c->revoked && c->reason == 1 && c->der && store_cert_key_hash(c->der, c->der_len, hash) &&
        !store_key_block(t, hash, ca, c->serial, c->serial_len, c->revoked_at))
        return fail_store();
    return 0;
}

/* Record the set in t (see authority.h). */
int adopt_apply(struct store_txn *t, const char *ca, const struct adopt_set *s)
{
    struct crl_state st;
    char detail[512];
    int rc;

    if (store_crl_state_get(t, ca, &st) < 0)
        return fail_store();
    st.last_number = st.last_base_number = s->crl_number;
    st.this_update = s->crl_this_update;
    st.next_update = s->crl_next_update;
    st.next_publish = 0;                 /* the next `crl publish` signs offca's first CRL */
    st.dirty = 1;
    if (!store_crl_state_put(t, ca, &st))
        return fail_store();
    for (size_t i = 0; i < s->n; i++)
        if ((rc = apply_one(t, ca, &s->c[i])) != 0)
            return rc;
    snprintf(detail, sizeof(detail), "from=%s certificates=%zu revoked=%zu on_last_crl=%zu "
             "crl_number=%llu%s", s->source, s->n, s->n_revoked, s->n_on_crl,
             (unsigned long long)s->crl_number, s->digests);
    return store_audit_append(t, "ca.adopt", ca, "ok", detail) ? 0 : fail_store();
}
