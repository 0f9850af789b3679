/*
 * dir_index.c — principals by key: "sam:", "upn:", "dns:" or "sid:" and the ASCII-lowercased
 * name (AD compares these case-insensitively; names outside ASCII compare byte for byte). One
 * sorted table serves the duplicate check across all the exports of one import and the lookup of
 * the directory's entries for the import's change report.
 */
#include "ca/directory/directory.h"

#include "ca/common/common.h"
#include "ca/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const key_prefix[DIR_KEY_KINDS] = { "sam:", "upn:", "dns:", "sid:" };
static const char *const csv_label[DIR_KEY_KINDS] = {
    "column SamAccountName", "column UserPrincipalName", "column DNSHostName", "column SID"
};
static const char *const ldif_label[DIR_KEY_KINDS] = {
    "attribute sAMAccountName", "attribute userPrincipalName", "attribute dNSHostName",
    "attribute objectSid"
};

/* The name of kind k of e, or NULL. */
static const char *name_of(const struct dir_entry *e, int k)
{
    const char *n = k == 0 ? e->sam : k == 1 ? e->upn : k == 2 ? e->dns : e->sid;

    return n && n[0] ? n : NULL;
}

static char *key_make(int kind, const char *name)
{
    size_t n = strlen(name), i;
    char *k = malloc(n + 5);

    if (k == NULL)
        return NULL;
    memcpy(k, key_prefix[kind], 4);
    for (i = 0; i <= n; i++)
        k[4 + i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
    return k;
}

static int key_cmp(const void *a, const void *b)
{
    const struct dir_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Build the sorted keys of e[0..n) into ix. 1 ok / 0 out of memory (reported). */
int dir_index_build(struct dir_index *ix, const struct dir_entry *e, size_t n)
{
    memset(ix, 0, sizeof(*ix));
    if (n > 0 && (ix->k = calloc(n, DIR_KEY_KINDS * sizeof(*ix->k))) == NULL) {
        report("directory: out of memory for %zu principals; free memory and retry", n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < DIR_KEY_KINDS; k++) {
            const char *name = name_of(&e[i], k);
            struct dir_key *dk = &ix->k[ix->n];

            if (name == NULL)
                continue;
            if ((dk->key = key_make(k, name)) == NULL) {
                report("directory: out of memory for %zu principals; free memory and retry", n);
                dir_index_free(ix);
                return 0;
            }
            dk->entry = i;
            dk->kind = k;
            ix->n++;
        }
    }
    if (ix->n > 0)
        qsort(ix->k, ix->n, sizeof(*ix->k), key_cmp);
    return 1;
}

/* Free the keys; a zeroed or freed index is a no-op. */
void dir_index_free(struct dir_index *ix)
{
    for (size_t i = 0; i < ix->n; i++)
        free(ix->k[i].key);
    free(ix->k);
    memset(ix, 0, sizeof(*ix));
}

/* The first entry holding name as kind (0 sam, 1 upn, 2 dns, 3 sid), or -1. */
long dir_index_get(const struct dir_index *ix, int kind, const char *name)
{
    struct dir_key want = { NULL, 0, kind };
    size_t lo = 0, hi = ix->n;
    long found = -1;

    if (name == NULL || name[0] == '\0' || (want.key = key_make(kind, name)) == NULL)
        return -1;
    while (lo < hi) {                     /* lower bound of the key */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->k[mid].key, want.key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ix->n && strcmp(ix->k[lo].key, want.key) == 0)
        found = (long)ix->k[lo].entry;
    free(want.key);
    return found;
}

static void where(char *buf, size_t n, const struct dir_entry *at, const struct dir_entry *other)
{
    if (at->src && other->src && strcmp(at->src, other->src) == 0)
        snprintf(buf, n, "line %zu", other->line);
    else
        snprintf(buf, n, "%s:%zu", other->src ? other->src : "?", other->line);
}

/* The later of two entries in input order: by position in e (the files in order, each in file
 * order). */
static void dup_report(const struct dir_entry *e, const struct dir_key *a, const struct dir_key *b)
{
    const struct dir_entry *at = &e[b->entry], *first = &e[a->entry];
    const char *label = (at->ldif ? ldif_label : csv_label)[b->kind];
    char other[1100];

    where(other, sizeof(other), at, first);
    if (b->kind == 3)
        report("%s:%zu: %s: %s is also the SID of %s: two principals share one SID, which is "
               "unique in a domain (MS-DTYP 2.4.2) — a broken or forged export; nothing was "
               "imported, export the directory again", at->src ? at->src : "?", at->line, label,
               at->sid, other);
    else
        report("%s:%zu: %s: '%s' is also on %s (names are case-insensitive); %s", at->src ?
               at->src : "?", at->line, label, name_of(at, b->kind), other,
               at->src && first->src && strcmp(at->src, first->src) == 0
                   ? "remove one of the rows"
                   : "one principal in two exports: import each principal from one file only");
}

/*
 * Two entries claiming one principal (same sam, upn or dns, case-insensitive) or one SID: report
 * the first such entry in input order, naming the other's file and line. ix is built over
 * e[0..n). 1 none / 0 reported.
 */
int dir_index_dup_check(const struct dir_index *ix, const struct dir_entry *e)
{
    size_t best = ix->n;

    for (size_t i = 1; i < ix->n; i++)
        if (strcmp(ix->k[i].key, ix->k[i - 1].key) == 0 &&
            (best == ix->n || ix->k[i].entry < ix->k[best].entry))
            best = i;
    if (best == ix->n)
        return 1;
    dup_report(e, &ix->k[best - 1], &ix->k[best]);
    return 0;
}
