/*
 * keycheck.c — the parts of the key gate that need offca's state (README "Key gate and request
 * gate"): the blocklist (ca.toml [keys] blocked_keys_file, plus every key the store has seen
 * revoked for keyCompromise) and key reuse (a key already certified to another subject).
 *
 * blocked_keys_file: one SHA-256 of a SubjectPublicKeyInfo per line, 64 hex digits (either case,
 * ':' separators allowed); blank lines and lines starting with '#' are ignored; anything else
 * refuses the file, naming the line. The list is read once per run and searched by bisection.
 */
#include "ca/common/common.h"
#include "ca/issue/issue.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKLIST_BYTES (64 * 1024 * 1024)

struct keyblock {
    unsigned char (*h)[STORE_KEY_HASH];
    size_t n;
};

static int hash_cmp(const void *a, const void *b) { return memcmp(a, b, STORE_KEY_HASH); }

/* One line into out: 1 a hash, 0 blank or comment, -1 malformed. */
static int line_hash(const char *s, size_t n, unsigned char *out)
{
    size_t i = 0, got = 0;

    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i == n || s[i] == '#')
        return 0;
    for (; i < n && !isspace((unsigned char)s[i]); i++) {
        int hi, lo;
        if (s[i] == ':')
            continue;
        if (got == STORE_KEY_HASH || i + 1 >= n || !isxdigit((unsigned char)s[i]) ||
            !isxdigit((unsigned char)s[i + 1]))
            return -1;
        hi = isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10);
        lo = isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0'
                                               : (tolower((unsigned char)s[i + 1]) - 'a' + 10);
        out[got++] = (unsigned char)(hi << 4 | lo);
        i++;
    }
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    return got == STORE_KEY_HASH && i == n ? 1 : -1;
}

static int keyblock_parse(const char *path, const char *d, size_t len, struct keyblock *b)
{
    size_t cap = 0, line = 0;

    for (size_t off = 0; off < len; line++) {
        const char *nl = memchr(d + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (d + off)) : len - off;
        unsigned char h[STORE_KEY_HASH];
        int r = line_hash(d + off, n, h);

        off += n + 1;
        if (r < 0) {
            report("%s:%zu: blocked_keys_file: not a SHA-256 in hex (64 hex digits of the key's "
                   "SubjectPublicKeyInfo hash, or a '#' comment); fix the line", path, line + 1);
            return EXIT_INPUT;
        }
        if (r == 0)
            continue;
        if (b->n == cap) {
            void *p = realloc(b->h, (cap = cap ? 2 * cap : 64) * STORE_KEY_HASH);
            if (p == NULL) {
                report("%s: blocked_keys_file: out of memory; free memory and retry", path);
                return EXIT_SYSTEM;
            }
            b->h = p;
        }
        memcpy(b->h[b->n++], h, STORE_KEY_HASH);
    }
    if (b->n > 1)
        qsort(b->h, b->n, STORE_KEY_HASH, hash_cmp);
    return 0;
}

/* Load [keys] blocked_keys_file once per run (an absent key means an empty list). 0 / class. */
static int keyblock_get(const struct config *cfg, const struct keyblock **out)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static struct keyblock b;
    static int loaded;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = 0;

    pthread_mutex_lock(&mu);        /* batch workers come here at once */
    if (!loaded && cfg->blocked_keys_file != NULL &&
        (rc = file_load(cfg->blocked_keys_file, MAX_BLOCKLIST_BYTES, &data, &len)) == 0) {
        rc = keyblock_parse(cfg->blocked_keys_file, (const char *)data, len, &b);
        free(data);
        if (rc != 0) {
            free(b.h);
            memset(&b, 0, sizeof(b));
        }
    }
    if (rc == 0)
        loaded = 1;
    pthread_mutex_unlock(&mu);
    *out = &b;
    return rc;
}

/* The key gate's blocklist callback: the file first, then the store (a read txn). */
static int blocked_cb(void *arg, const unsigned char hash[KEYGATE_HASH_BYTES], char *why,
                      size_t whylen)
{
    struct store *st = arg;
    struct store_txn *t = store_txn_begin(st, 0);
    int r;

    if (t == NULL) {
        snprintf(why, whylen, "%s", store_error());
        return -1;
    }
    r = store_key_blocked(t, hash, why, whylen);
    if (r < 0)
        snprintf(why, whylen, "%s", store_error());
    store_txn_abort(t);
    return r;
}

static int file_blocked_cb(void *arg, const unsigned char hash[KEYGATE_HASH_BYTES], char *why,
                           size_t whylen)
{
    const struct keycheck_ctx *k = arg;

    if (k->list->n && bsearch(hash, k->list->h, k->list->n, STORE_KEY_HASH, hash_cmp)) {
        snprintf(why, whylen, "listed in blocked_keys_file %s", k->cfg->blocked_keys_file);
        return 1;
    }
    return k->st ? blocked_cb(k->st, hash, why, whylen) : 0;
}

/*
 * Fill pol's blocklist (file + store of a, whose store must be open) for a keygate_check. ctx
 * must live as long as pol is used. 0 or the exit class (the file is unreadable or malformed).
 */
int keycheck_policy(struct store *st, const struct config *cfg, struct keycheck_ctx *ctx,
                    struct keygate_policy *pol)
{
    int rc;

    ctx->st = st;
    ctx->cfg = cfg;
    if ((rc = keyblock_get(cfg, &ctx->list)) != 0)
        return rc;
    pol->blocked = file_blocked_cb;
    pol->blocked_arg = ctx;
    return 0;
}

/* The blocklist alone, for a key the gate already checked (a CSR's). 0, 1 (reported), 4. */
int keycheck_blocked(struct store *st, const struct config *cfg, const struct keygate_key *key,
                     const char *src)
{
    struct keygate_policy pol;
    struct keycheck_ctx ctx;
    char why[512] = "", hex[2 * KEYGATE_HASH_BYTES + 1];
    int rc, r;

    memset(&pol, 0, sizeof(pol));
    if ((rc = keycheck_policy(st, cfg, &ctx, &pol)) != 0)
        return rc;
    if ((r = pol.blocked(pol.blocked_arg, key->hash, why, sizeof(why))) == 0)
        return 0;
    if (r < 0) {
        report("%s", why);
        return EXIT_SYSTEM;
    }
    keygate_hash_hex(key->hash, hex);
    report("%s: key: blocked: SPKI SHA-256 %s is %s (CA/B BR 6.1.1.3); request a new key", src,
           hex, why);
    return EXIT_POLICY;
}

struct reuse_scan {
    struct store_txn *t;
    const char *subject;                 /* the new certificate's, RFC 4514 */
    struct cert_rec other;               /* the first certificate of the key to another subject */
    int found, failed;
};

static int reuse_one(void *arg, const char *ca, const unsigned char *serial, size_t n)
{
    struct reuse_scan *s = arg;
    struct cert_rec r;
    int got = store_cert_get(s->t, ca, serial, n, &r);

    if (got < 0) {
        s->failed = 1;
        return 0;
    }
    if (got == 0)
        return 1;
    if (r.subject != NULL && strcmp(r.subject, s->subject) != 0) {
        s->other = r;
        s->found = 1;
        return 0;
    }
    cert_rec_clear(&r);
    return 1;
}

/*
 * A key already certified to a different subject is refused unless the template allows reuse
 * (key.allow_reuse); the same subject (a renewal) may reuse its key. 0, EXIT_POLICY or
 * EXIT_SYSTEM, reported.
 */
int keycheck_reuse(struct store *st, const struct tmpl *t, const struct keygate_key *key,
                   const X509_NAME *subject, const char *src)
{
    struct reuse_scan s;
    char hex[2 * MAX_STORE_SERIAL + 1];
    int rc = 0;

    if (tmpl_allow_key_reuse(t))
        return 0;
    memset(&s, 0, sizeof(s));
    if ((s.subject = dn_format(subject)) == NULL) {
        report("%s: key: out of memory; free memory and retry", src);
        return EXIT_SYSTEM;
    }
    if ((s.t = store_txn_begin(st, 0)) == NULL ||
        !store_key_foreach(s.t, key->hash, reuse_one, &s) || s.failed) {
        report("%s", store_error());
        rc = EXIT_SYSTEM;
    } else if (s.found) {
        serial_hex(s.other.serial, s.other.serial_len, hex);
        report("%s: key: already certified to another subject (%s, CA %s serial %s); a key is "
               "certified to one subject unless the template sets key.allow_reuse; request a new "
               "key", src, s.other.subject, s.other.ca, hex);
        rc = EXIT_POLICY;
    }
    store_txn_abort(s.t);
    cert_rec_clear(&s.other);
    OPENSSL_free((char *)s.subject);
    return rc;
}

/*
 * The key gate for a CA key (create, CSR for an outside parent, import): RSA 2048..16384 bits or
 * EC P-256/P-384/P-521, every quality rule and the blocklist. 0, EXIT_POLICY (reported as
 * "CA 'NAME': key: ..."), or the failure class.
 */
int keycheck_ca_key(struct store *st, const struct config *cfg, EVP_PKEY *key, const char *name)
{
    struct keygate_policy pol = { .allow_rsa = 1, .allow_ec = 1, .rsa_min_bits = 2048,
                                  .rsa_max_bits = MAX_KEYGATE_RSA_BITS };
    struct keycheck_ctx ctx;
    struct keygate_key out;
    char why[512];
    int rc;

    if ((rc = keycheck_policy(st, cfg, &ctx, &pol)) != 0)
        return rc;
    if ((rc = keygate_check_pkey(key, &pol, &out, why, sizeof(why))) != 0) {
        report("CA '%s': %s", name, why);
        return rc;
    }
    keygate_key_clear(&out);
    return 0;
}
