/*
 * adopt_certutil.c — what AD CS's `certutil -view csv` writes (default English output): a header
 * row of quoted column display names, then one quoted, comma-separated row per request (RFC 4180
 * quoting, CRLF), an empty value written as EMPTY.
 *
 * Columns used (by display name, any order; others ignored):
 *   Serial Number                 hex digits (spaces allowed)                        required
 *   Request Disposition           "20 -- Issued", "21 -- Revoked" (others: skipped)  required
 *   Certificate Effective Date    notBefore                                          required
 *   Certificate Expiration Date   notAfter                                           required
 *   Effective Revocation Date     revocationDate (what AD CS puts on its CRL; also read as
 *                                 "Revocation Effective Date"); else
 *   Revocation Date               revocationDate                          one needed for rows 21
 *   Revocation Reason             "0x1 -- Key Compromise", "1 -- Key Compromise", "1" or the
 *                                 English name; EMPTY = none
 *   Issued Distinguished Name     subject as printed; else "CN=" + Issued Common Name
 *   Binary Certificate            the certificate (PEM), when the export asked for it
 * Dates are certutil's en-US local time "M/D/YYYY h:mm[:ss] AM|PM", converted with the CA
 * machine's UTC offset (--utc-offset, default +00:00). A closing "CertUtil: ..." line is ignored.
 * Rows with other dispositions (pending, denied, failed, foreign, the CA's own certificates) hold
 * nothing issued by this CA to adopt and are skipped.
 */
#include "ca/authority/authority.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/common/common.h"

#define MAX_VIEW_FIELDS 64

enum vcol { V_SERIAL, V_DISP, V_FROM, V_TO, V_REVEFF, V_REVDATE, V_REASON, V_DN, V_CN, V_BIN,
            V_COUNT };
static const char *const vcol_name[V_COUNT] = {
    "Serial Number", "Request Disposition", "Certificate Effective Date",
    "Certificate Expiration Date", "Revocation Effective Date", "Revocation Date",
    "Revocation Reason", "Issued Distinguished Name", "Issued Common Name", "Binary Certificate"
};

/* One RFC 4180 record from *p: fields unescaped in place (the buffer is ours), NUL-terminated.
 * Returns the field count, 0 at the end, -1 malformed (why set). *line advances. */
static int view_record(char **p, char *end, size_t *line, char *f[MAX_VIEW_FIELDS],
                       const char **why)
{
    char *r = *p, *w;
    int n = 0;

    if (r >= end)
        return 0;
    for (;;) {
        if (n == MAX_VIEW_FIELDS)
            return *why = "more than 64 columns", -1;
        f[n++] = w = r;
        if (r < end && *r == '"') {
            for (r++;; r++) {
                if (r >= end)
                    return *why = "a quoted value is not closed", -1;
                if (*r == '"' && r + 1 < end && r[1] == '"')
                    *w++ = '"', r++;
                else if (*r == '"')
                    break;
                else {
                    *line += *r == '\n';
                    *w++ = *r;
                }
            }
            r++;
        } else {
            while (r < end && *r != ',' && *r != '\r' && *r != '\n')
                *w++ = *r++;
        }
        if (r < end && *r == ',') {
            *w = '\0';
            r++;
            continue;
        }
        if (r < end && *r == '\r')
            r++;
        if (r < end && *r != '\n')
            return *why = "text after a closing quote", -1;
        *w = '\0';
        if (r < end)
            (*line)++, r++;
        *p = r;
        return n;
    }
}

/* certutil's en-US local time -> UTC. 1 ok / 0. */
static int view_time(const char *s, long offset, time_t *out)
{
    int mo, d, y, h, mi, sec = 0, used = 0;
    char ampm[3] = "";
    struct tm tm;

    if (sscanf(s, "%d/%d/%d %d:%d:%d %2s%n", &mo, &d, &y, &h, &mi, &sec, ampm, &used) != 7) {
        sec = 0;
        if (sscanf(s, "%d/%d/%d %d:%d %2s%n", &mo, &d, &y, &h, &mi, ampm, &used) != 6)
            return 0;
    }
    if (s[used] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1950 || y > 9999 ||
        h < 1 || h > 12 || mi > 59 || mi < 0 || sec < 0 || sec > 59)
        return 0;
    if (strcasecmp(ampm, "AM") == 0)
        h = h == 12 ? 0 : h;
    else if (strcasecmp(ampm, "PM") == 0)
        h = h == 12 ? 12 : h + 12;
    else
        return 0;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = timegm(&tm);
    if (tm.tm_mday != d)                 /* 2/31 normalised into March */
        return 0;
    *out -= offset;
    return 1;
}

static const char *const reason_names[] = {
    "Unspecified", "Key Compromise", "CA Compromise", "Affiliation Changed", "Superseded",
    "Cessation of Operation", "Certificate Hold", NULL, NULL, "Privilege Withdrawn",
    "AA Compromise"
};

/* "0x1 -- Key Compromise" / "1 -- ..." / "1" / "Key Compromise" -> 0..10 (not 7, 8); -1 bad. */
static int view_reason(const char *s)
{
    char *end;
    long v;

    if (isdigit((unsigned char)s[0])) {
        v = strtol(s, &end, 0);
        if (end == s || (*end != '\0' && strncmp(end, " -- ", 4) != 0) || v < 0 || v > 10 ||
            v == 7 || v == 8)
            return -1;
        return (int)v;
    }
    for (int i = 0; i <= 10; i++)
        if (reason_names[i] && strcasecmp(s, reason_names[i]) == 0)
            return i;
    return -1;
}

static const char *col(char *f[], const int idx[V_COUNT], int n, enum vcol c)
{
    const char *v = idx[c] >= 0 && idx[c] < n ? f[idx[c]] : "";

    return strcmp(v, "EMPTY") == 0 ? "" : v;
}

/* The serial without spaces into c. 1 ok / 0 (reported). */
static int view_serial(struct adopt_cert *c, const char *text)
{
    char hex[2 * MAX_STORE_SERIAL + 64];
    size_t n = 0;

    for (const char *p = text; *p && n + 1 < sizeof(hex); p++)
        if (*p != ' ')
            hex[n++] = *p;
    hex[n] = '\0';
    return adopt_serial(c, hex);
}

/* The Binary Certificate value (PEM) into c, checked against the CA. 0 or EXIT_INPUT. */
static int view_binary(struct adopt_cert *c, const char *pem, X509 *ca)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int rc;

    BIO_free(b);
    ERR_clear_error();
    if (x == NULL) {
        report("%s: Binary Certificate is not a PEM certificate; export again with certutil "
               "-view csv (the column as certutil writes it) or leave the column out", c->where);
        return EXIT_INPUT;
    }
    rc = adopt_take_cert(c, x, ca);
    X509_free(x);
    return rc;
}

/* The dates and the revocation of a row. 0 or EXIT_INPUT (reported). */
static int view_dates(struct adopt_cert *c, char *f[], const int idx[], int n, long off, int disp)
{
    const char *rd = col(f, idx, n, V_REVEFF), *rr = col(f, idx, n, V_REASON);
    time_t nb, na;

    if (!*rd)
        rd = col(f, idx, n, V_REVDATE);
    if (!view_time(col(f, idx, n, V_FROM), off, &nb) ||
        !view_time(col(f, idx, n, V_TO), off, &na)) {
        report("%s: Certificate Effective/Expiration Date '%s' / '%s' is not certutil's "
               "M/D/YYYY h:mm AM|PM; run certutil on an English (en-US) system", c->where,
               col(f, idx, n, V_FROM), col(f, idx, n, V_TO));
        return EXIT_INPUT;
    }
    if (c->der != NULL && (nb != c->not_before || na != c->not_after) &&
        (labs((long)(nb - c->not_before)) >= 60 || labs((long)(na - c->not_after)) >= 60)) {
        report("%s: the dates differ from the Binary Certificate's by a minute or more; give "
               "--utc-offset as the CA machine's offset from UTC", c->where);
        return EXIT_INPUT;
    }
    if (c->der == NULL)
        c->not_before = nb, c->not_after = na;
    if (disp == 20) {
        if (*rd) {
            report("%s: an issued (20) row with a revocation date; fix the row", c->where);
            return EXIT_INPUT;
        }
        return 0;
    }
    if (!view_time(rd, off, &c->revoked_at)) {
        report("%s: a revoked (21) row: Revocation Date '%s' is not certutil's M/D/YYYY h:mm "
               "AM|PM; export it with the Revocation Date column", c->where, rd);
        return EXIT_INPUT;
    }
    c->revoked = 1;
    if (*rr && (c->reason = view_reason(rr)) < 0) {
        report("%s: Revocation Reason '%s' is not an RFC 5280 5.3.1 reason (0-6, 9, 10); fix "
               "the row", c->where, rr);
        return EXIT_INPUT;
    }
    return 0;
}

/* One data row. 0 or EXIT_INPUT/EXIT_SYSTEM (reported). */
static int view_row(char *f[], int n, const int idx[], const char *file, size_t line, long off,
                    X509 *ca, struct adopt_set *s)
{
    const char *disp = col(f, idx, n, V_DISP), *dn = col(f, idx, n, V_DN);
    struct adopt_cert *c;
    char *end;
    long d = strtol(disp, &end, 10);
    int rc;

    if (end == disp || (*end && strncmp(end, " -- ", 4) != 0)) {
        report("%s:%zu: Request Disposition '%s' is not certutil's 'NN -- Text'; fix the row",
               file, line, disp);
        return EXIT_INPUT;
    }
    if (d != 20 && d != 21)
        return 0;
    if ((c = adopt_push(s, file, line)) == NULL)
        return EXIT_SYSTEM;
    if (!view_serial(c, col(f, idx, n, V_SERIAL)))
        return EXIT_INPUT;
    if (*col(f, idx, n, V_BIN) && (rc = view_binary(c, col(f, idx, n, V_BIN), ca)) != 0)
        return rc;
    if ((rc = view_dates(c, f, idx, n, off, (int)d)) != 0)
        return rc;
    if (c->subject == NULL) {
        const char *cn = col(f, idx, n, V_CN);
        size_t len = strlen(dn) + strlen(cn) + 4;
        if ((c->subject = OPENSSL_malloc(len)) == NULL)
            return EXIT_SYSTEM;
        snprintf(c->subject, len, "%s%s", *dn ? dn : *cn ? "CN=" : "", *dn ? "" : cn);
    }
    return 0;
}

/* Map the header's names to columns. 0 or EXIT_INPUT (reported). */
static int view_header(char *f[], int n, int idx[V_COUNT], const char *file)
{
    for (int c = 0; c < V_COUNT; c++) {
        idx[c] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(f[i], vcol_name[c]) == 0 ||
                (c == V_REVEFF && strcmp(f[i], "Effective Revocation Date") == 0))
                idx[c] = i;
    }
    for (int c = V_SERIAL; c <= V_TO; c++)
        if (idx[c] < 0) {
            report("%s:1: no '%s' column; export with certutil -view -out \"SerialNumber,"
                   "Disposition,NotBefore,NotAfter,RevokedEffectiveWhen,RevokedReason,"
                   "CommonName\" csv on an English system", file, vcol_name[c]);
            return EXIT_INPUT;
        }
    return 0;
}

/*
 * Read a `certutil -view csv` export at path; its local times are at utc_offset seconds east of
 * UTC; a Binary Certificate must be signed by ca's key. 0 or the exit class (reported, naming FILE:LINE).
 */
int adopt_read_certutil(const char *path, long utc_offset, X509 *ca, struct adopt_set *s)
{
    unsigned char *data = NULL;
    size_t len = 0, line = 1, at;
    char *p, *end, *f[MAX_VIEW_FIELDS], dg[65];
    const char *why = NULL;
    int idx[V_COUNT], n, rc = 0, first = 1;

    if (file_load(path, MAX_CSV_BYTES, &data, &len) != 0)
        return EXIT_INPUT;
    adopt_sha256_hex(data, len, dg);
    s->source = "certutil";
    p = (char *)data;
    end = p + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (rc == 0 && (at = line, n = view_record(&p, end, &line, f, &why)) != 0) {
        if (n < 0) {
            report("%s:%zu: %s; export again with certutil -view csv", path, at, why);
            rc = EXIT_INPUT;
        } else if (n == 1 && (f[0][0] == '\0' || strncmp(f[0], "CertUtil:", 9) == 0)) {
            continue;                    /* an empty line, certutil's closing line */
        } else if (first) {
            rc = view_header(f, n, idx, path);
            first = 0;
        } else {
            rc = view_row(f, n, idx, path, at, utc_offset, ca, s);
        }
    }
    free(data);
    if (rc == 0 && first) {
        report("%s: empty: not a certutil -view csv export", path);
        rc = EXIT_INPUT;
    }
    if (rc == 0)
        adopt_digest_add(s, "certutil-view", dg);
    return rc;
}
