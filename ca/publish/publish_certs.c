/*
 * publish_certs.c — the CA certificate files the AIA URLs point at, one per generation:
 * NAME.crt (certificate index 0) and NAME(i).crt, plus a root rollover's link certificates
 * NAME(a-b).crt (key a certifying key b). Written when missing or different, so every
 * `crl publish` heals a renewal that crashed after its commit.
 */
#include "ca/publish/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "crl/crl.h"

/* Write data to publish_dir/name unless the file already holds exactly these bytes (read only
 * as a regular file reached without a symlink: publish_file_load). */
static int write_if_changed(const struct config *cfg, const char *name, const unsigned char *data,
                            size_t len)
{
    char path[MAX_PATH_BYTES];
    unsigned char *cur = NULL;
    size_t n = 0;
    int same;

    snprintf(path, sizeof(path), "%s/%s", cfg->publish_dir, name);
    same = publish_file_load(path, MAX_INPUT_BYTES, &cur, &n) && n == len &&
           memcmp(cur, data, len) == 0;
    free(cur);
    if (!same && !crl_publish_file(cfg->publish_dir, name, data, len, CRL_FILE_MODE))
        return fail_crl();
    return 0;
}

static int publish_gen(const struct config *cfg, const char *ca, const struct gen_list *l, size_t i)
{
    const struct ca_gen *g = &l->g[i];
    char name[MAX_CA_NAME + 32];
    int rc;

    gen_file(ca, g->cert_index, "crt", 0, name, sizeof(name));
    if ((rc = write_if_changed(cfg, name, g->cert_der, g->cert_len)) != 0 || i == 0 ||
        g->link_old_new == NULL)
        return rc;
    snprintf(name, sizeof(name), "%s(%u-%u).crt", ca, l->g[i - 1].key_index, g->key_index);
    if ((rc = write_if_changed(cfg, name, g->link_old_new, g->link_old_new_len)) != 0)
        return rc;
    snprintf(name, sizeof(name), "%s(%u-%u).crt", ca, g->key_index, l->g[i - 1].key_index);
    return write_if_changed(cfg, name, g->link_new_old, g->link_new_old_len);
}

/* Every generation's certificate file of CA name (and link certificates). 0 or the class. */
int publish_ca_certs(struct store *st, const struct config *cfg, const char *name)
{
    static struct gen_list l;
    struct store_txn *t = store_txn_begin(st, 0);
    int ok, rc = 0;

    if (t == NULL)
        return fail_store();
    ok = gen_list_load(t, name, &l);
    store_txn_abort(t);
    if (!ok)
        return EXIT_SYSTEM;
    for (size_t i = 0; i < l.n && rc == 0; i++)
        rc = publish_gen(cfg, name, &l, i);
    gen_list_clear(&l);
    return rc;
}
