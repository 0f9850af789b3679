/*
 * adopt_index.c — openssl ca's database: index.txt, one certificate a line, six tab-separated
 * fields (status V/R/E, expiry, revocation "TIME[,reason[,extra]]", serial in hex, file name
 * (usually "unknown"), subject as X509_NAME_oneline writes it), and the certificates openssl ca
 * wrote to its new_certs_dir as SERIAL.pem.
 *
 * Every line must have its certificate in the newcerts directory (openssl ca always writes one):
 * the certificate must be signed by the CA key, carry the line's serial, expiry and subject.
 * Revocation reasons are openssl ca's: unspecified, keyCompromise, CACompromise,
 * affiliationChanged, superseded, cessationOfOperation, certificateHold, removeFromCRL and the
 * pseudo reasons keyTime / CAkeyTime (keyCompromise / cACompromise with the compromise time,
 * which becomes the invalidity date) and holdInstruction (certificateHold; the instruction code
 * itself is not carried: RFC 5280 has no holdInstructionCode any more).
 */
#include "ca/authority/authority.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"

#define INDEX_FIELDS 6
#define MAX_INDEX_BYTES (256L * 1024 * 1024)

/* "YYMMDDHHMMSSZ" or "YYYYMMDDHHMMSSZ" (RFC 5280 4.1.2.5 forms) -> time_t. 1 ok / 0. */
static int index_time(const char *s, time_t *out)
{
    ASN1_TIME *t = ASN1_TIME_new();
    size_t n = strlen(s);
    int ok = t != NULL && (n == 13 || n == 15) && ASN1_TIME_set_string_X509(t, s) == 1;

    if (ok)
        *out = asn1_time_to_time(t);
    ASN1_TIME_free(t);
    ERR_clear_error();
    return ok;
}

static const struct { const char *name; int code, timed; } index_reasons[] = {
    {"unspecified", 0, 0}, {"keyCompromise", 1, 0}, {"CACompromise", 2, 0},
    {"affiliationChanged", 3, 0}, {"superseded", 4, 0}, {"cessationOfOperation", 5, 0},
    {"certificateHold", 6, 0}, {"removeFromCRL", 8, 0}, {"holdInstruction", 6, 0},
    {"keyTime", 1, 1}, {"CAkeyTime", 2, 1},
};

/* The revocation field of an R line: "TIME[,reason[,extra]]". 0 or EXIT_INPUT (reported). */
static int index_revocation(struct adopt_cert *c, char *f)
{
    char *reason = strchr(f, ','), *extra = NULL;
    size_t i;

    if (reason) {
        *reason++ = '\0';
        if ((extra = strchr(reason, ',')) != NULL)
            *extra++ = '\0';
    }
    if (!index_time(f, &c->revoked_at)) {
        report("%s: revocation date '%s' is not a UTCTime/GeneralizedTime (YYMMDDHHMMSSZ); fix "
               "the line or restore index.txt from the old CA", c->where, f);
        return EXIT_INPUT;
    }
    c->revoked = 1;
    if (reason == NULL)
        return 0;
    for (i = 0; i < sizeof(index_reasons) / sizeof(index_reasons[0]); i++)
        if (strcasecmp(reason, index_reasons[i].name) == 0)
            break;
    if (i == sizeof(index_reasons) / sizeof(index_reasons[0]) || index_reasons[i].code == 8) {
        report("%s: revocation reason '%s' is not one openssl ca writes (unspecified, "
               "keyCompromise, CACompromise, affiliationChanged, superseded, "
               "cessationOfOperation, certificateHold, keyTime, CAkeyTime, holdInstruction); fix "
               "the line", c->where, reason);
        return EXIT_INPUT;
    }
    c->reason = index_reasons[i].code;
    if (index_reasons[i].timed && (extra == NULL || !index_time(extra, &c->invalidity))) {
        report("%s: %s needs the compromise time after it (',YYYYMMDDHHMMSSZ'); fix the line",
               c->where, reason);
        return EXIT_INPUT;
    }
    return 0;
}

/* Split line into INDEX_FIELDS tab-separated fields. 1 ok / 0. */
static int index_split(char *line, char *f[INDEX_FIELDS])
{
    int n = 0;

    f[n++] = line;
    for (char *p = line; *p; p++)
        if (*p == '\t') {
            if (n == INDEX_FIELDS)
                return 0;
            *p = '\0';
            f[n++] = p + 1;
        }
    return n == INDEX_FIELDS;
}

/* The certificate of a line: DIR/SERIAL.pem (PEM, openssl ca's text dump before it allowed). */
static int index_cert(struct adopt_cert *c, const char *dir, const char *hex, const char *subject,
                      time_t expiry, X509 *ca)
{
    char path[4096], *one = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    X509 *x = NULL;
    BIO *b;
    int rc = EXIT_INPUT;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s.pem", dir, hex) >= sizeof(path) ||
        file_load(path, MAX_INPUT_BYTES, &data, &len) != 0) {
        report("%s: serial %s: its certificate %s cannot be read; give the old CA's new_certs_dir "
               "with --newcerts DIR", c->where, hex, path);
        return EXIT_INPUT;
    }
    if ((b = BIO_new_mem_buf(data, (int)len)) != NULL)
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    if (x == NULL)
        report("%s: serial %s: %s holds no PEM certificate; restore it from the old CA", c->where,
               hex, path);
    else if ((rc = adopt_take_cert(c, x, ca)) != 0)
        ;
    else if (c->not_after != expiry)
        report("%s: serial %s: the line's expiry is not the certificate's notAfter in %s; the "
               "index does not belong to these certificates", c->where, hex, path), rc = EXIT_INPUT;
    else if ((one = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0)) == NULL ||
             strcmp(one, subject) != 0)
        report("%s: serial %s: the line's subject '%.200s' is not the certificate's in %s; the "
               "index does not belong to these certificates", c->where, hex, subject, path),
            rc = EXIT_INPUT;
    if (rc == 0)
        adopt_sha256_hex(data, len, c->file_sha256);
    OPENSSL_free(one);
    X509_free(x);
    free(data);
    return rc;
}

/* One index line (NUL-terminated, no newline). 0 or EXIT_INPUT (reported). */
static int index_line(char *line, const char *file, size_t lineno, const char *dir, X509 *ca,
                      struct adopt_set *s)
{
    char *f[INDEX_FIELDS];
    struct adopt_cert *c = adopt_push(s, file, lineno);
    time_t expiry;

    if (c == NULL)
        return EXIT_SYSTEM;
    if (!index_split(line, f)) {
        report("%s: not an openssl ca index line (6 tab-separated fields: status, expiry, "
               "revocation, serial, file, subject); fix or remove the line", c->where);
        return EXIT_INPUT;
    }
    if (strcmp(f[0], "V") != 0 && strcmp(f[0], "R") != 0 && strcmp(f[0], "E") != 0) {
        report("%s: status '%s' is not V, R or E; fix the line", c->where, f[0]);
        return EXIT_INPUT;
    }
    if (!index_time(f[1], &expiry)) {
        report("%s: expiry '%s' is not a UTCTime/GeneralizedTime (YYMMDDHHMMSSZ); fix the line",
               c->where, f[1]);
        return EXIT_INPUT;
    }
    if ((f[0][0] == 'R') != (f[2][0] != '\0')) {
        report("%s: status %s with %s revocation field; an R line has one, V and E lines none",
               c->where, f[0], f[2][0] ? "a" : "no");
        return EXIT_INPUT;
    }
    if (f[0][0] == 'R' && index_revocation(c, f[2]) != 0)
        return EXIT_INPUT;
    if (!adopt_serial(c, f[3]))
        return EXIT_INPUT;
    return index_cert(c, dir, f[3], f[5], expiry, ca);
}

/* The directory next to the index, plus "/newcerts" (openssl.cnf's default layout). */
static void default_newcerts(const char *index, char *out, size_t n)
{
    const char *slash = strrchr(index, '/');

    if (slash == NULL)
        snprintf(out, n, "newcerts");
    else
        snprintf(out, n, "%.*s/newcerts", (int)(slash - index), index);
}

/*
 * Read openssl ca's index.txt at path with its certificates from newcerts (NULL: the newcerts
 * directory next to the index). 0 or the exit class (reported, naming FILE:LINE).
 */
int adopt_read_index(const char *path, const char *newcerts, X509 *ca, struct adopt_set *s)
{
    unsigned char *data = NULL;
    size_t len = 0, lineno = 0, first = s->n;
    char dir[4096], dg[65], *p, *nl;
    int rc = 0;

    if (file_load(path, MAX_INDEX_BYTES, &data, &len) != 0)
        return EXIT_INPUT;
    if (memchr(data, '\0', len) != NULL) {
        report("%s: a NUL byte: not openssl ca's index.txt; give the 'database' file of the old "
               "CA's openssl.cnf", path);
        free(data);
        return EXIT_INPUT;
    }
    if (newcerts == NULL)
        default_newcerts(path, dir, sizeof(dir));
    else
        snprintf(dir, sizeof(dir), "%s", newcerts);
    s->source = "openssl-ca";
    adopt_sha256_hex(data, len, dg);
    for (p = (char *)data; rc == 0 && p < (char *)data + len; p = nl + 1) {
        lineno++;
        if ((nl = strchr(p, '\n')) == NULL)
            nl = (char *)data + len;
        *nl = '\0';
        if (nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        if (*p != '\0')
            rc = index_line(p, path, lineno, dir, ca, s);
    }
    free(data);
    if (rc == 0 && s->n == first) {
        report("%s: no certificate in it; give the 'database' file of the old CA", path);
        rc = EXIT_INPUT;
    }
    if (rc == 0) {
        /* the newcerts files: one SHA-256 over their SHA-256s (hex) in index order */
        char all[65], *list = malloc(64 * (s->n - first) + 1);
        if (list == NULL)
            return EXIT_SYSTEM;
        list[0] = '\0';
        for (size_t i = first; i < s->n; i++)
            strcat(list, s->c[i].file_sha256);
        adopt_sha256_hex(list, strlen(list), all);
        free(list);
        adopt_digest_add(s, "index", dg);
        adopt_digest_add(s, "newcerts", all);
    }
    return rc;
}
