/*
 * dir_ldif.c — the one reader of AD exports as LDIF (RFC 2849), as `ldifde -f FILE` writes them:
 * records separated by blank lines, each starting with "dn:", lines folded by a leading space,
 * "#" comments, base64 values after "::" (objectSid always: it is binary, MS-DTYP 2.4.2).
 *
 * All or nothing, like the CSV reader: the first bad line refuses the whole file
 * ("FILE:LINE: attribute X: problem; fix"), EXIT_INPUT. Entries without a principal name (OUs,
 * containers, the domain object, foreign security principals) are skipped, not refused: a
 * default ldifde export of a whole domain holds them.
 */
#include "ca/common/common.h"
#include "ca/directory/directory.h"
#include "ca/store/store.h"
#include "templates/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define MAX_DN_SHOWN 96                   /* bytes of a DN quoted in messages */

enum attr { AT_SAM, AT_UPN, AT_DNS, AT_SID, AT_DN, AT_CHANGETYPE, AT_OTHER };
static const char *const attr_name[AT_OTHER] = {
    "sAMAccountName", "userPrincipalName", "dNSHostName", "objectSid", "dn", "changetype"
};

/* Reader state: the current logical (unfolded) line in buf. */
struct ldif {
    const char *src;
    const char *p, *end;
    size_t line;                          /* physical line of p */
    size_t lline;                         /* line where the logical line started */
    char *buf;
    size_t used, cap;
};

/* One entry being read. */
struct rec {
    char dn[MAX_DN_SHOWN + 1];
    size_t line;                          /* of its dn: line; 0 = no record open */
    char *val[4];                         /* sam, upn, dns (owned), SID string (owned) */
};

static int put(struct ldif *l, char c)
{
    char *nb;

    if (l->used == l->cap) {
        if (l->cap > MAX_INPUT_BYTES) {
            report("%s:%zu: a line over the %d-byte limit; export again with ldifde", l->src,
                   l->lline, MAX_INPUT_BYTES);
            return 0;
        }
        if ((nb = realloc(l->buf, l->cap ? l->cap * 2 : 256)) == NULL) {
            report("%s: out of memory; free memory and retry", l->src);
            return 0;
        }
        l->buf = nb;
        l->cap = l->cap ? l->cap * 2 : 256;
    }
    l->buf[l->used++] = c;
    return 1;
}

/* The next logical line into l->buf (NUL-terminated; "" is a record separator): a physical line
 * (LF or CRLF) and every following line that starts with one space, that space removed (RFC
 * 2849 note 2). 1 line / 0 end of data / -1 error (reported). */
static int next_line(struct ldif *l)
{
    if (l->p == l->end)
        return 0;
    l->lline = l->line;
    l->used = 0;
    for (;;) {
        while (l->p < l->end && *l->p != '\n') {
            if (*l->p == '\r' && l->p + 1 < l->end && l->p[1] == '\n') {
                l->p++;
                continue;
            }
            if (!put(l, *l->p++))
                return -1;
        }
        if (l->p < l->end) {
            l->p++;
            l->line++;
        }
        if (l->used == 0 || l->p == l->end || *l->p != ' ')
            break;
        l->p++;                           /* a folded line: drop the newline and the space */
    }
    return put(l, '\0') ? 1 : -1;
}

static enum attr attr_of(const char *name, size_t n)
{
    const char *semi = memchr(name, ';', n);   /* attribute options (RFC 4512 2.5) */
    size_t base = semi ? (size_t)(semi - name) : n;

    for (int a = 0; a < AT_OTHER; a++)
        if (strlen(attr_name[a]) == base && strncasecmp(name, attr_name[a], base) == 0)
            return (enum attr)a;
    return AT_OTHER;
}

/* Strict base64 (RFC 4648 4) of v into a new buffer (NUL-terminated; *n bytes). NULL if bad. */
static unsigned char *b64_value(const char *v, size_t *n)
{
    size_t len = strlen(v), pad = 0;
    unsigned char *out;
    int got;

    if (len == 0 || len % 4 != 0 || len > (size_t)MAX_INPUT_BYTES)
        return NULL;
    pad = v[len - 1] == '=' ? (v[len - 2] == '=' ? 2 : 1) : 0;
    if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") !=
        len - pad)
        return NULL;
    if ((out = malloc(len / 4 * 3 + 1)) == NULL)
        return NULL;
    if ((got = EVP_DecodeBlock(out, (const unsigned char *)v, (int)len)) < (int)pad) {
        free(out);
        return NULL;
    }
    *n = (size_t)got - pad;
    out[*n] = '\0';
    return out;
}

/* The value of one of our attributes: plain (after ": ") or base64 (after "::"); a URL value
 * (":<") is refused. Returns the bytes (owned) and their count, NULL reported. */
static unsigned char *value_of(const struct ldif *l, const char *rest, enum attr a, size_t *n)
{
    int b64 = rest[0] == ':';
    unsigned char *v;

    if (rest[0] == '<') {
        report("%s:%zu: attribute %s: a URL value (:<) is not read; export the value itself "
               "with ldifde", l->src, l->lline, attr_name[a]);
        return NULL;
    }
    rest += b64;
    rest += strspn(rest, " ");
    if (b64) {
        if ((v = b64_value(rest, n)) == NULL)
            report("%s:%zu: attribute %s: the value after '::' is not base64 (RFC 4648); "
                   "export again with ldifde", l->src, l->lline, attr_name[a]);
        return v;
    }
    if ((v = (unsigned char *)strdup(rest)) == NULL)
        report("%s: out of memory; free memory and retry", l->src);
    *n = strlen(rest);
    return v;
}

/* objectSid bytes (binary, MS-DTYP 2.4.2; or a string S-1-... from other tools) into its
 * string form. 1 / 0 reported. */
static int sid_value(const struct ldif *l, unsigned char *v, size_t n, int b64, char **out)
{
    char sid[MAX_SID_CHARS + 1];

    if (b64 ? !sid_from_binary(v, n, sid, sizeof(sid))
            : (n >= sizeof(sid) || !sid_check((const char *)v))) {
        report("%s:%zu: attribute objectSid: %s; export the objectSid attribute unchanged",
               l->src, l->lline, tmpl_error());
        return 0;
    }
    if ((*out = strdup(b64 ? sid : (const char *)v)) == NULL)
        report("%s: out of memory; free memory and retry", l->src);
    return *out != NULL;
}

/* One "attr: value" line of the open record. 1 / 0 reported. */
static int attr_line(const struct ldif *l, struct rec *r)
{
    const char *colon = strchr(l->buf, ':');
    size_t alen = colon ? (size_t)(colon - l->buf) : 0, n = 0;
    enum attr a;
    unsigned char *v;
    const char *why;
    int ok;

    if (alen == 0 || strspn(l->buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-;.") != alen) {
        report("%s:%zu: RFC 2849: '%.40s' is not an 'attribute: value' line; export again with "
               "ldifde", l->src, l->lline, l->buf);
        return 0;
    }
    if ((a = attr_of(l->buf, alen)) == AT_OTHER)
        return 1;
    if (a == AT_DN) {
        report("%s:%zu: RFC 2849: a second dn: line in the entry of line %zu; separate the "
               "entries with a blank line", l->src, l->lline, r->line);
        return 0;
    }
    if ((v = value_of(l, colon + 1, a, &n)) == NULL)
        return 0;
    if (a == AT_CHANGETYPE) {
        ok = strcasecmp((char *)v, "add") == 0;
        if (!ok)
            report("%s:%zu: changetype: '%.20s' records are changes, not an export of entries; "
                   "export with ldifde -f FILE (without -i)", l->src, l->lline, (char *)v);
    } else if (r->val[a] != NULL) {
        report("%s:%zu: attribute %s: a second value in the entry of line %zu (AD holds one); "
               "export again with ldifde", l->src, l->lline, attr_name[a], r->line);
        ok = 0;
    } else if (a == AT_SID) {
        ok = sid_value(l, v, n, colon[1] == ':', &r->val[a]);
    } else if ((why = dir_name_problem(v, n)) != NULL || n == 0) {
        report("%s:%zu: attribute %s: %s; fix the value in the directory", l->src, l->lline,
               attr_name[a], why ? why : "an empty name");
        ok = 0;
    } else {
        r->val[a] = (char *)v;
        return 1;
    }
    free(v);
    return ok;
}

static void rec_clear(struct rec *r)
{
    for (int i = 0; i < 4; i++)
        free(r->val[i]);
    memset(r, 0, sizeof(*r));
}

/* Open a record at a dn: line. 1 / 0 reported. */
static int rec_open(const struct ldif *l, struct rec *r)
{
    const char *colon = strchr(l->buf, ':');
    unsigned char *v;
    size_t n = 0;

    if (colon == NULL || attr_of(l->buf, (size_t)(colon - l->buf)) != AT_DN) {
        report("%s:%zu: RFC 2849: an entry starts with a dn: line, not '%.40s'; export again "
               "with ldifde", l->src, l->lline, l->buf);
        return 0;
    }
    if ((v = value_of(l, colon + 1, AT_DN, &n)) == NULL)
        return 0;
    snprintf(r->dn, sizeof(r->dn), "%s", (char *)v);
    free(v);
    r->line = l->lline;
    return 1;
}

struct ents {
    struct dir_entry *e;
    size_t n, cap, skipped;
};

/* Close the open record: an entry when it names a principal, else skipped. 1 / 0 reported. */
static int rec_close(const struct ldif *l, struct rec *r, struct ents *es)
{
    struct dir_entry *d;

    if (r->val[AT_SAM] == NULL && r->val[AT_UPN] == NULL && r->val[AT_DNS] == NULL) {
        es->skipped++;
        rec_clear(r);
        return 1;
    }
    if (r->val[AT_SID] == NULL) {
        report("%s:%zu: attribute objectSid: the entry '%s' names a principal but has no "
               "objectSid; export with ldifde -l sAMAccountName,userPrincipalName,dNSHostName,"
               "objectSid", l->src, r->line, r->dn);
        return 0;
    }
    if (es->n == MAX_CSV_ROWS) {
        report("%s:%zu: more than %d entries; split the export", l->src, r->line, MAX_CSV_ROWS);
        return 0;
    }
    if (es->n == es->cap) {
        size_t cap = es->cap ? es->cap * 2 : 64;
        if ((d = realloc(es->e, cap * sizeof(*d))) == NULL) {
            report("%s: out of memory; free memory and retry", l->src);
            return 0;
        }
        es->e = d;
        es->cap = cap;
    }
    d = &es->e[es->n++];
    *d = (struct dir_entry){ r->val[AT_SAM], r->val[AT_UPN], r->val[AT_DNS], r->val[AT_SID],
                             l->src, r->line, 1 };
    memset(r, 0, sizeof(*r));
    return 1;
}

/* Every logical line into records. 1 / 0 reported. */
static int ldif_read(struct ldif *l, struct ents *es)
{
    struct rec r = { "", 0, { NULL } };
    int got = 0, first = 1, ok = 1;

    while (ok && (got = next_line(l)) == 1) {
        if (l->buf[0] == '#')
            continue;
        if (l->buf[0] == '\0') {
            ok = r.line == 0 || rec_close(l, &r, es);
            continue;
        }
        if (first && r.line == 0 && strncasecmp(l->buf, "version:", 8) == 0) {
            first = 0;
            continue;
        }
        first = 0;
        ok = r.line == 0 ? rec_open(l, &r) : attr_line(l, &r);
    }
    if (ok && got == 0 && r.line != 0)
        ok = rec_close(l, &r, es);
    rec_clear(&r);
    return ok && got == 0;
}

/* Parse ldifde output (see directory.h). 0 or EXIT_INPUT / EXIT_SYSTEM, reported. */
int dirldif_parse(const char *data, size_t len, const char *source, struct dir_entry **out,
                  size_t *n, size_t *skipped)
{
    struct ldif l = { source, data, data + len, 1, 1, NULL, 0, 0 };
    struct ents es = { NULL, 0, 0, 0 };
    struct dir_index ix = { NULL, 0 };
    int rc = EXIT_INPUT;

    if (len > (size_t)MAX_CSV_BYTES) {
        report("%s: size limit: %zu bytes is over the %ld-byte limit for an export; split it",
               source, len, MAX_CSV_BYTES);
        return EXIT_INPUT;
    }
    if (!dir_text_check((const unsigned char *)data, len, source))
        return EXIT_INPUT;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        l.p += 3;
    if (!ldif_read(&l, &es))
        goto out;
    if (es.n == 0) {
        report("%s: no entry with sAMAccountName, userPrincipalName or dNSHostName (%zu "
               "skipped); export the principals with ldifde -r \"(objectClass=computer)\" -l "
               "sAMAccountName,dNSHostName,objectSid", source, es.skipped);
        goto out;
    }
    if (!dir_index_build(&ix, es.e, es.n)) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (!dir_index_dup_check(&ix, es.e))
        goto out;
    *out = es.e;
    *n = es.n;
    *skipped = es.skipped;
    es.e = NULL;
    es.n = 0;
    rc = 0;
out:
    dir_index_free(&ix);
    free(l.buf);
    dircsv_free(es.e, es.n);
    return rc;
}

/* Decide the format by the first line that is neither blank nor a # comment (see directory.h). */
int dir_export_is_ldif(const char *data, size_t len)
{
    const char *p = data, *end = data + len, *nl;

    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    for (; p < end; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        if (*p == '#' || *p == '\n' || *p == '\r')
            continue;
        return (end - p >= 3 && strncasecmp(p, "dn:", 3) == 0) ||
               (end - p >= 8 && strncasecmp(p, "version:", 8) == 0);
    }
    return 0;
}
