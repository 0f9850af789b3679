/*
 * dir_import.c — the directory import behind `offca directory import` (see directory.h).
 *
 * A principal is matched by any of its names (sam, upn, dns) or by its SID. An exported
 * principal is "SID changed" when one of its names had another SID (the account was deleted
 * and re-created: certificates issued before still carry the dead SID), else "changed" when it
 * matched but differs (renamed, new UPN), "unchanged" when it matched one entry exactly, else
 * "added". Merge: every directory entry an export matches is replaced, the others kept.
 */
#include "ca/directory/directory.h"

#include "ca/common/common.h"
#include "ca/store/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Read one export and append its entries to im->in. */
static int read_one(struct dir_import *im, const char *path)
{
    unsigned char *data = NULL;
    struct dir_entry *e = NULL, *grown;
    size_t len = 0, n = 0, skipped = 0;
    int rc;

    if ((rc = file_load(path, MAX_CSV_BYTES, &data, &len)) != 0)
        return rc;
    if (dir_export_is_ldif((const char *)data, len))
        rc = dirldif_parse((const char *)data, len, path, &e, &n, &skipped);
    else
        rc = dircsv_parse((const char *)data, len, path, &e, &n);
    free(data);
    if (rc != 0)
        return rc;
    if (im->n_in + n > MAX_CSV_ROWS ||
        (grown = realloc(im->in, (im->n_in + n) * sizeof(*grown))) == NULL) {
        report("%s: %s; import fewer or smaller exports at once", path,
               im->n_in + n > MAX_CSV_ROWS ? "over the principal limit of all exports together"
                                          : "out of memory");
        dircsv_free(e, n);
        return EXIT_INPUT;
    }
    im->in = grown;
    memcpy(im->in + im->n_in, e, n * sizeof(*e));   /* the strings move over */
    im->n_in += n;
    im->skipped += skipped;
    free(e);
    return 0;
}

/* Read the exports (see directory.h). */
int dir_import_read(struct dir_import *im, char **paths, size_t n)
{
    struct dir_index ix;
    int rc;

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(paths[i], paths[j]) == 0) {
                report("directory import: %s is given twice; name each export once", paths[i]);
                return EXIT_USAGE;
            }
        if ((rc = read_one(im, paths[i])) != 0)
            return rc;
        im->n_files++;
    }
    if (!dir_index_build(&ix, im->in, im->n_in))
        return EXIT_SYSTEM;
    rc = dir_index_dup_check(&ix, im->in) ? 0 : EXIT_INPUT;
    dir_index_free(&ix);
    return rc;
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL || a[0] == '\0') ? (b == NULL || b[0] == '\0') : b && strcmp(a, b) == 0;
}

/* Classify exported principal i against the directory's index (see the file comment). */
static void classify(struct dir_import *im, const struct dir_index *ox, unsigned char *matched,
                     size_t i)
{
    const struct dir_entry *e = &im->in[i];
    const char *name[DIR_KEY_KINDS] = { e->sam, e->upn, e->dns, e->sid };
    long o, hit[DIR_KEY_KINDS], sid_old = -1;
    int nh = 0, j;

    for (int k = 0; k < DIR_KEY_KINDS; k++) {
        if ((o = dir_index_get(ox, k, name[k])) < 0)
            continue;
        matched[o] = 1;
        for (j = 0; j < nh && hit[j] != o; j++)
            ;
        if (j == nh)
            hit[nh++] = o;
        if (k < 3 && sid_old < 0 && strcasecmp(im->old[o].sid, e->sid) != 0)
            sid_old = o;
    }
    if (sid_old >= 0) {
        im->sidch[im->sid_changed].in = i;
        im->sidch[im->sid_changed++].old = (size_t)sid_old;
    } else if (nh == 0) {
        im->added++;
    } else if (nh == 1 && same_str(e->sam, im->old[hit[0]].sam) &&
               same_str(e->upn, im->old[hit[0]].upn) && same_str(e->dns, im->old[hit[0]].dns) &&
               strcmp(e->sid, im->old[hit[0]].sid) == 0) {
        im->unchanged++;
    } else {
        im->changed++;
    }
}

/* Compare and build the directory after (see directory.h). */
int dir_import_plan(struct dir_import *im, struct store_txn *t)
{
    struct dir_index ox;
    unsigned char *matched = NULL;
    int rc = EXIT_SYSTEM;

    if (!store_dir_load(t, &im->old, &im->n_old)) {
        report("%s", store_error());
        return EXIT_SYSTEM;
    }
    if (!dir_index_build(&ox, im->old, im->n_old))
        return EXIT_SYSTEM;
    if ((matched = calloc(im->n_old + 1, 1)) == NULL ||
        (im->sidch = calloc(im->n_in + 1, sizeof(*im->sidch))) == NULL ||
        (im->final = calloc(im->n_old + im->n_in + 1, sizeof(*im->final))) == NULL) {
        report("directory import: out of memory for %zu principals; free memory and retry",
               im->n_old + im->n_in);
        goto out;
    }
    for (size_t i = 0; i < im->n_in; i++)
        classify(im, &ox, matched, i);
    for (size_t o = 0; o < im->n_old; o++) {
        if (matched[o])
            continue;
        if (im->replace) {
            im->removed++;
        } else {
            im->final[im->n_final++] = im->old[o];
            im->kept++;
        }
    }
    memcpy(im->final + im->n_final, im->in, im->n_in * sizeof(*im->in));
    im->n_final += im->n_in;
    rc = 0;
out:
    free(matched);
    dir_index_free(&ox);
    return rc;
}

/* Free (see directory.h). */
void dir_import_free(struct dir_import *im)
{
    dircsv_free(im->in, im->n_in);
    store_dir_entries_free(im->old, im->n_old);
    free(im->final);
    free(im->sidch);
    memset(im, 0, sizeof(*im));
}
