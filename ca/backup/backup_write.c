/*
 * backup_write.c — `offca backup DIR`: a consistent snapshot of the store (LMDB's compacted copy,
 * taken in its own read transaction while other offca processes may write), the config, the
 * templates and the CA certificates, with a manifest of SHA-256 checksums (layout: backup.h).
 *
 * Everything is written into "<DIR>.offca-tmp-XXXXXX" beside DIR (0700, files 0600, each fsynced)
 * and renamed to DIR at the end, so DIR never holds half a backup. The manifest's audit head and
 * counts are read from the copy after it is written: they describe exactly what it holds.
 */
#include "base/limits.h"
#include "base/hex.h"
#include "ca/backup/backup.h"
#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "ca/issue/issue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define MAX_TEMPLATE_BYTES (1024 * 1024)

struct bk {
    char tmp[MAX_PATH_BYTES];             /* the temporary backup directory */
    struct backup_manifest *m;
    int rc;
    struct store_txn *t;               /* the copy's read txn (bk_from_copy) */
};

static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ok;

    if (fd < 0)
        return 0;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* Write rel (0600, new file, fsynced) into the backup. */
static int bk_write(struct bk *b, const char *rel, const void *data, size_t len)
{
    char path[MAX_PATH_BYTES];
    const unsigned char *p = data;
    size_t done = 0;
    int fd, ok;

    snprintf(path, sizeof(path), "%s/%s", b->tmp, rel);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
        report("backup: %s: %s; check the directory and retry", path, strerror(errno));
        return EXIT_SYSTEM;
    }
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    ok = done == len && fsync(fd) == 0;
    if (close(fd) != 0 || !ok) {
        report("backup: %s: write: %s; free space on the filesystem and retry", path,
               strerror(errno));
        return EXIT_SYSTEM;
    }
    return 0;
}

/* Write rel into the backup and list it in the manifest with its SHA-256. */
static int bk_put(struct bk *b, const char *rel, const void *data, size_t len)
{
    unsigned char sha[32];
    int rc;

    if (EVP_Digest(data, len, sha, NULL, EVP_sha256(), NULL) != 1) {
        report("backup: %s: SHA-256 failed; retry", rel);
        return EXIT_SYSTEM;
    }
    if ((rc = bk_write(b, rel, data, len)) != 0)
        return rc;
    return backup_manifest_add(b->m, rel, sha, len);
}

/* The store: LMDB's compacted copy into store/data.mdb. */
static int bk_store_copy(struct bk *b, struct store *live)
{
    char path[MAX_PATH_BYTES];
    int fd, ok;

    snprintf(path, sizeof(path), "%s/" BACKUP_STORE_FILE, b->tmp);
    if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
        report("backup: %s: %s; check the directory and retry", path, strerror(errno));
        return EXIT_SYSTEM;
    }
    ok = backup_store_copy(live, fd, path) == 0;
    if (ok && fsync(fd) != 0)
        report("backup: %s: fsync: %s; free space and retry", path, strerror(errno)), ok = 0;
    close(fd);
    return ok ? 0 : EXIT_SYSTEM;
}

/* The copy's checksum, taken after it was opened and read, so it covers the bytes as kept. */
static int bk_store_list(struct bk *b)
{
    char path[MAX_PATH_BYTES];
    unsigned char sha[32];
    uint64_t size;
    int rc;

    snprintf(path, sizeof(path), "%s/" BACKUP_STORE_FILE, b->tmp);
    rc = backup_file_hash(path, -1, "backup: " BACKUP_STORE_FILE " checksum, bytes", sha, &size);
    if (rc != 0)
        return rc;
    return backup_manifest_add(b->m, BACKUP_STORE_FILE, sha, size);
}

/* One DER certificate as PEM into the backup at rel. */
static int bk_put_der(struct bk *b, const char *rel, const unsigned char *der, size_t n)
{
    X509 *x = der_to_x509(der, n);
    BIO *mem = BIO_new(BIO_s_mem());
    char *data;
    long len;
    int rc = EXIT_SYSTEM;

    if (x && mem && PEM_write_bio_X509(mem, x) && (len = BIO_get_mem_data(mem, &data)) > 0)
        rc = bk_put(b, rel, data, (size_t)len);
    else
        report("backup: %s: cannot encode the certificate: %s", rel, ossl_errstr());
    X509_free(x);
    BIO_free(mem);
    return rc;
}

/* certs/NAME.gen-I.pem for each older generation I of a renewed CA, certs/NAME.link-A-B.pem for
 * a root rollover's link certificates (key A certifying key B): the store holds them all, these
 * are the copies an operator reads without offca. */
static int bk_ca_gens(struct bk *b, const struct ca_rec *r)
{
    static struct gen_list l;
    char rel[MAX_BACKUP_RELPATH];
    int rc = 0;

    if (!gen_list_load(b->t, r->name, &l))
        return EXIT_SYSTEM;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const struct ca_gen *g = &l.g[i];

        if (i + 1 < l.n) {
            snprintf(rel, sizeof(rel), "certs/%s.gen-%u.pem", r->name, g->cert_index);
            rc = bk_put_der(b, rel, g->cert_der, g->cert_len);
        }
        if (rc == 0 && i > 0 && g->link_old_new) {
            snprintf(rel, sizeof(rel), "certs/%s.link-%u-%u.pem", r->name, l.g[i - 1].key_index,
                     g->key_index);
            rc = bk_put_der(b, rel, g->link_old_new, g->link_old_new_len);
            snprintf(rel, sizeof(rel), "certs/%s.link-%u-%u.pem", r->name, g->key_index,
                     l.g[i - 1].key_index);
            if (rc == 0)
                rc = bk_put_der(b, rel, g->link_new_old, g->link_new_old_len);
        }
    }
    gen_list_clear(&l);
    return rc;
}

/* certs/NAME.pem: the CA certificate (its newest generation), then an imported CA's outside
 * chain; the older generations beside it (bk_ca_gens). */
static int bk_ca_one(void *arg, const struct ca_rec *r)
{
    struct bk *b = arg;
    BIO *mem = BIO_new(BIO_s_mem());
    const unsigned char *p = r->chain_der, *end = p + r->chain_len;
    X509 *x = der_to_x509(r->cert_der, r->cert_len);
    char rel[MAX_BACKUP_RELPATH], *data;
    long len;

    b->m->cas++;
    if (r->cert_len == 0 || x == NULL) {          /* pending: no certificate yet */
        X509_free(x);
        BIO_free(mem);
        return 1;
    }
    int ok = mem && PEM_write_bio_X509(mem, x);
    X509_free(x);
    while (ok && p && p < end && (x = d2i_X509(NULL, &p, (long)(end - p))) != NULL) {
        ok = PEM_write_bio_X509(mem, x);
        X509_free(x);
    }
    snprintf(rel, sizeof(rel), "certs/%s.pem", r->name);
    if (!ok || (len = BIO_get_mem_data(mem, &data)) <= 0) {
        report("backup: %s: cannot encode the CA certificate: %s; check 'offca ca show %s'",
               rel, ossl_errstr(), r->name);
        b->rc = EXIT_SYSTEM;
    } else if ((b->rc = bk_put(b, rel, data, (size_t)len)) == 0) {
        b->rc = bk_ca_gens(b, r);
    }
    BIO_free(mem);
    return b->rc == 0;
}

/* Open the copy, check its chain, read its audit head, counts and CA certificates. */
static int bk_from_copy(struct bk *b)
{
    char dir[MAX_PATH_BYTES], lock[MAX_PATH_BYTES];
    struct store_audit_head h;
    struct store *s;
    struct store_txn *t = NULL;
    int rc = EXIT_SYSTEM;

    snprintf(dir, sizeof(dir), "%s/store", b->tmp);
    if ((s = store_open(dir, 0)) == NULL || (t = store_txn_begin(s, 0)) == NULL) {
        report("backup: the copy of the store does not open: %s", store_error());
        goto out;
    }
    if (!store_audit_verify(t)) {
        report("backup: store snapshot: audit chain: %s; no backup was written", store_error());
        goto out;
    }
    if (!store_audit_head(t, &h)) {
        report("backup: %s", store_error());
        goto out;
    }
    b->m->audit_records = h.records;
    b->m->audit_last_seq = h.last_seq;
    memcpy(b->m->audit_head, h.sha256, 32);
    b->m->certificates = store_cert_count(t);
    b->rc = 0;
    b->t = t;
    if (!store_ca_foreach(t, bk_ca_one, b) && b->rc == 0)
        report("backup: %s", store_error());
    else
        rc = b->rc;
out:
    store_txn_abort(t);
    store_close(s);
    snprintf(lock, sizeof(lock), "%s/lock.mdb", dir);
    (void)unlink(lock);                   /* made by opening the copy; not part of a backup */
    return rc;
}

/* A file read through the bounded loader, written into the backup as rel. */
static int bk_copy_file(struct bk *b, const char *src, const char *rel)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = file_load(src, MAX_TEMPLATE_BYTES, &data, &len);

    if (rc == 0)
        rc = bk_put(b, rel, data, len);
    free(data);
    return rc;
}

/* templates/NAME.toml for every *.toml that offca loads from the templates directory. */
static int bk_templates(struct bk *b, const char *tdir)
{
    char src[MAX_PATH_BYTES], rel[MAX_BACKUP_RELPATH];
    struct dirent *e;
    DIR *d = opendir(tdir);
    int rc = 0;

    if (d == NULL) {
        report("backup: templates %s: %s; check [templates] dir", tdir, strerror(errno));
        return EXIT_INPUT;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".toml") != 0)
            continue;
        snprintf(src, sizeof(src), "%s/%s", tdir, e->d_name);
        if (snprintf(rel, sizeof(rel), "templates/%s", e->d_name) >= (int)sizeof(rel)) {
            report("backup: %s: file name too long; shorten it", src);
            rc = EXIT_INPUT;
        } else {
            rc = bk_copy_file(b, src, rel);
        }
    }
    closedir(d);
    return rc;
}

static int bk_layout(struct bk *b, const char *target)
{
    static const char *const sub[] = {"store", "config", "templates", "certs"};
    char tmpl[MAX_PATH_BYTES], p[MAX_PATH_BYTES];

    backup_stale_warn(target, BACKUP_TMP_SUFFIX);
    if (snprintf(tmpl, sizeof(tmpl), "%s" BACKUP_TMP_SUFFIX "XXXXXX", target) >= (int)sizeof(tmpl) - 64 ||
        mkdtemp(tmpl) == NULL) {
        report("backup %s: cannot make a temporary directory beside it: %s; check the parent "
               "directory exists and is writable", target, strerror(errno));
        return EXIT_SYSTEM;
    }
    snprintf(b->tmp, sizeof(b->tmp), "%s", tmpl);
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", b->tmp, sub[i]);
        if (mkdir(p, 0700) != 0) {
            report("backup: %s: %s; check the filesystem", p, strerror(errno));
            return EXIT_SYSTEM;
        }
    }
    return 0;
}

/* Manifest last, every directory synced, then the rename that makes the backup appear. */
static int bk_finish(struct bk *b, const char *target)
{
    static const char *const sub[] = {"store", "config", "templates", "certs", ""};
    char *text, p[MAX_PATH_BYTES], parent[MAX_PATH_BYTES];
    size_t len = 0;
    int rc;

    time_iso(time(NULL), b->m->created);
    if ((text = backup_manifest_text(b->m, &len)) == NULL)
        return EXIT_SYSTEM;
    rc = bk_write(b, BACKUP_MANIFEST, text, len);      /* it does not list itself */
    free(text);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", b->tmp, sub[i]);
        if (!sync_path(p)) {
            report("backup: %s: fsync: %s; retry", p, strerror(errno));
            return EXIT_SYSTEM;
        }
    }
    if (rename(b->tmp, target) != 0) {
        report("backup %s: rename from %s: %s; give a new or empty directory", target, b->tmp,
               strerror(errno));
        return errno == ENOTEMPTY || errno == EEXIST ? EXIT_POLICY : EXIT_SYSTEM;
    }
    snprintf(parent, sizeof(parent), "%s", target);
    (void)sync_path(dirname(parent));
    return 0;
}

static int bk_run(struct store *st, const struct config *cfg, struct bk *b, const char *dir)
{
    int rc;

    if ((rc = bk_layout(b, dir)) != 0 || (rc = bk_store_copy(b, st)) != 0 ||
        (rc = bk_from_copy(b)) != 0 || (rc = bk_store_list(b)) != 0 ||
        (rc = bk_copy_file(b, cfg->path, "config/ca.toml")) != 0 ||
        (rc = bk_templates(b, cfg->templates_dir)) != 0)
        return rc;
    return bk_finish(b, dir);
}

/* A backup inside the store directory would be lost with it, and would make the store look
 * non-empty to a restore: refuse DIR whose parent is the store directory. */
static int bk_not_in_store(const char *dir, const char *store_path)
{
    char parent[MAX_PATH_BYTES], rp[MAX_PATH_BYTES], rs[MAX_PATH_BYTES];

    snprintf(parent, sizeof(parent), "%s", dir);
    if (realpath(dirname(parent), rp) == NULL || realpath(store_path, rs) == NULL ||
        strcmp(rp, rs) != 0)
        return 0;
    report("backup %s: inside the store directory %s: it would be lost with the store; give a "
           "directory elsewhere, best on another disk", dir, store_path);
    return EXIT_POLICY;
}

/* Write a backup of the store st, the config cfg and its templates into dir (new or empty).
 * 0 or exit class. */
int backup_write(struct store *st, const struct config *cfg, const char *dir)
{
    struct bk b;
    char head[65];
    int rc;

    memset(&b, 0, sizeof(b));
    if ((rc = backup_target_check(dir, "backup")) != 0 ||
        (rc = bk_not_in_store(dir, cfg->store_path)) != 0)
        return rc;
    if ((b.m = calloc(1, sizeof(*b.m))) == NULL) {
        report("backup: out of memory; free memory and retry");
        return EXIT_SYSTEM;
    }
    snprintf(b.m->source_store, sizeof(b.m->source_store), "%s", cfg->store_path);
    snprintf(b.m->source_config, sizeof(b.m->source_config), "%s", cfg->path);
    if ((rc = bk_run(st, cfg, &b, dir)) != 0) {
        backup_tree_remove(b.tmp);
    } else {
        hex_encode(b.m->audit_head, 32, head);
        printf("backup %s: written: store snapshot with %llu certificates of %llu CAs, %llu "
               "audit records (head: record %llu, sha256 %s), ca.toml, %zu files in all\n"
               "not in it: the token with the CA keys, and the PIN: back them up as README "
               "'Backup and recovery' says; check with 'offca backup verify %s'\n", dir,
               (unsigned long long)b.m->certificates, (unsigned long long)b.m->cas,
               (unsigned long long)b.m->audit_records, (unsigned long long)b.m->audit_last_seq,
               head, b.m->n_files + 1, dir);
    }
    free(b.m);
    return rc;
}
