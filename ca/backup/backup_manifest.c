/*
 * backup_manifest.c — the one parser and writer of a backup's MANIFEST, and the file helpers a
 * backup and its check share (hashing without following symlinks, target checks, clean-up).
 *
 * MANIFEST is text, one "key value" per line, in this order:
 *   offca-backup 1
 *   created 2026-12-03T13:00:00Z
 *   source-store /var/lib/offca/store
 *   source-config /etc/offca/ca.toml
 *   audit-records 1234
 *   audit-last-seq 1234
 *   audit-head-sha256 <64 hex>
 *   certificates 1200
 *   cas 2
 *   file <64 hex> <size> <relative path>      (one per file, any number up to MAX_BACKUP_FILES)
 *   manifest-sha256 <64 hex>                  (SHA-256 of every byte before this line)
 */
#include "base/hex.h"
#include "ca/backup/backup.h"
#include "ca/common/common.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#define HASH_CHUNK (1024 * 1024)
#define SELF_KEY "manifest-sha256 "

static void hex32(const unsigned char h[32], char out[65]) { hex_encode(h, 32, out); }

static int unhex32(const char *s, unsigned char h[32]) { return hex_decode_lower(s, h, 32); }

/* 1 when rel is a path a backup holds: [A-Za-z0-9._+-] parts, at most one '/', no "." start. */
int backup_relpath_ok(const char *rel)
{
    size_t n = strlen(rel), slashes = 0;

    if (n == 0 || n >= MAX_BACKUP_RELPATH || rel[0] == '.' || rel[0] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = rel[i];
        if (c == '/') {
            if (++slashes > 1 || rel[i + 1] == '.' || rel[i + 1] == '\0')
                return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '+' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Add a file to the manifest. 0 or exit class (reported). */
int backup_manifest_add(struct backup_manifest *m, const char *rel, const unsigned char sha[32],
                        uint64_t size)
{
    struct backup_file *f;

    if (!backup_relpath_ok(rel)) {
        report("backup: %s: file name: not a plain name of letters, digits and ._+-; rename it",
               rel);
        return EXIT_INPUT;
    }
    if (m->n_files >= MAX_BACKUP_FILES) {
        report("backup: %s: more than %d files; keep fewer templates", rel, MAX_BACKUP_FILES);
        return EXIT_POLICY;
    }
    f = &m->files[m->n_files++];
    snprintf(f->path, sizeof(f->path), "%s", rel);
    memcpy(f->sha256, sha, 32);
    f->size = size;
    return 0;
}

static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *nb;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return 0;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return 1;
        }
        if ((nb = realloc(*buf, *cap + (size_t)n + 4096)) == NULL)
            return 0;
        *buf = nb;
        *cap += (size_t)n + 4096;
    }
}

static int text_field_ok(const char *what, const char *s)
{
    if (strchr(s, '\n') || strchr(s, '\r')) {
        report("backup: %s '%s': holds a line break; use a path without one", what, s);
        return 0;
    }
    return 1;
}

/* The manifest as text (malloc'd), its last line the SHA-256 of everything before it. */
char *backup_manifest_text(const struct backup_manifest *m, size_t *len)
{
    char *b = NULL, hex[65];
    size_t n = 0, cap = 0;
    unsigned char self[32];
    int ok;

    if (!text_field_ok("store path", m->source_store) ||
        !text_field_ok("config path", m->source_config))
        return NULL;
    hex32(m->audit_head, hex);
    ok = append(&b, &n, &cap, "%s\ncreated %s\nsource-store %s\nsource-config %s\n"
                "audit-records %" PRIu64 "\naudit-last-seq %" PRIu64 "\naudit-head-sha256 %s\n"
                "certificates %" PRIu64 "\ncas %" PRIu64 "\n", BACKUP_FORMAT, m->created,
                m->source_store, m->source_config, m->audit_records, m->audit_last_seq, hex,
                m->certificates, m->cas);
    for (size_t i = 0; ok && i < m->n_files; i++) {
        hex32(m->files[i].sha256, hex);
        ok = append(&b, &n, &cap, "file %s %" PRIu64 " %s\n", hex, m->files[i].size,
                    m->files[i].path);
    }
    if (ok && EVP_Digest(b, n, self, NULL, EVP_sha256(), NULL) == 1) {
        hex32(self, hex);
        ok = append(&b, &n, &cap, SELF_KEY "%s\n", hex);
    } else {
        ok = 0;
    }
    if (!ok) {
        report("backup: manifest: out of memory; free memory and retry");
        free(b);
        return NULL;
    }
    *len = n;
    return b;
}

static int bad_line(const char *source, size_t lineno, const char *problem)
{
    report("%s:%zu: backup manifest: %s; the backup was altered or is not an offca backup: use "
           "another backup", source, lineno, problem);
    return EXIT_INPUT;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;

    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

static int parse_file_line(struct backup_manifest *m, char *v)
{
    char *sp1 = strchr(v, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    struct backup_file *f;

    if (!sp2 || m->n_files >= MAX_BACKUP_FILES)
        return 0;
    *sp1 = *sp2 = '\0';
    f = &m->files[m->n_files];
    if (!unhex32(v, f->sha256) || !parse_u64(sp1 + 1, &f->size) || !backup_relpath_ok(sp2 + 1))
        return 0;
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->files[i].path, sp2 + 1) == 0)
            return 0;
    snprintf(f->path, sizeof(f->path), "%s", sp2 + 1);
    m->n_files++;
    return 1;
}

/* One "key value" line at its position (idx: 0 format, 1..8 the header, then file lines). */
static int parse_line(struct backup_manifest *m, size_t idx, char *line)
{
    static const char *const keys[] = {"created", "source-store", "source-config",
                                       "audit-records", "audit-last-seq", "audit-head-sha256",
                                       "certificates", "cas"};
    char *v = strchr(line, ' ');

    if (idx == 0)
        return strcmp(line, BACKUP_FORMAT) == 0;
    if (v == NULL)
        return 0;
    *v++ = '\0';
    if (idx > 8)
        return strcmp(line, "file") == 0 && parse_file_line(m, v);
    if (strcmp(line, keys[idx - 1]) != 0)
        return 0;
    switch (idx) {
    case 1: return snprintf(m->created, sizeof(m->created), "%s", v) < (int)sizeof(m->created);
    case 2: snprintf(m->source_store, sizeof(m->source_store), "%s", v); return 1;
    case 3: snprintf(m->source_config, sizeof(m->source_config), "%s", v); return 1;
    case 4: return parse_u64(v, &m->audit_records);
    case 5: return parse_u64(v, &m->audit_last_seq);
    case 6: return unhex32(v, m->audit_head);
    case 7: return parse_u64(v, &m->certificates);
    default: return parse_u64(v, &m->cas);
    }
}

/* The last line must be the SHA-256 of every byte before it. */
static int self_hash_check(const char *text, size_t len, const char *source, size_t *body)
{
    const char *last;
    unsigned char want[32], got[32];
    char hex[65];

    if (len < 2 || text[len - 1] != '\n' || memchr(text, '\0', len))
        return bad_line(source, 1, "not a text file ending in a line break");
    for (last = text + len - 2; last > text && last[-1] != '\n'; last--)
        ;
    if (strncmp(last, SELF_KEY, strlen(SELF_KEY)) != 0 ||
        (size_t)(text + len - 1 - last) != strlen(SELF_KEY) + 64)
        return bad_line(source, 1, "the last line is not 'manifest-sha256 HEX' (incomplete?)");
    memcpy(hex, last + strlen(SELF_KEY), 64);
    hex[64] = '\0';
    if (!unhex32(hex, want) ||
        EVP_Digest(text, (size_t)(last - text), got, NULL, EVP_sha256(), NULL) != 1 ||
        memcmp(want, got, 32) != 0)
        return bad_line(source, 1, "manifest-sha256: the manifest's own checksum does not match "
                        "its lines (it was edited)");
    *body = (size_t)(last - text);
    return 0;
}

/* Parse a manifest (strict: every line known, in order; self-hash right). 0 or EXIT_INPUT. */
int backup_manifest_parse(const char *text, size_t len, const char *source,
                          struct backup_manifest *m)
{
    size_t body, idx = 0, off = 0;
    char line[MAX_BACKUP_TEXT + 128];
    int rc;

    memset(m, 0, sizeof(*m));
    if ((rc = self_hash_check(text, len, source, &body)) != 0)
        return rc;
    while (off < body) {
        const char *nl = memchr(text + off, '\n', body - off);
        size_t n = (size_t)(nl - (text + off));

        if (n >= sizeof(line))
            return bad_line(source, idx + 1, "line too long");
        memcpy(line, text + off, n);
        line[n] = '\0';
        if (!parse_line(m, idx, line))
            return bad_line(source, idx + 1, idx == 0 ? "not an '" BACKUP_FORMAT "' manifest"
                            : "unexpected, malformed or repeated line");
        off += n + 1;
        idx++;
    }
    if (idx < 9)
        return bad_line(source, idx + 1, "the header ends early");
    return 0;
}

/* Hash (and copy) fd to its end. 1 ok / 0 (errno set, or 0 for a digest failure). */
static int hash_fd(int fd, int copy_fd, struct progress *pg, unsigned char sha[32],
                   uint64_t *size)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char *buf = malloc(HASH_CHUNK);
    ssize_t got;
    int ok = 0;

    errno = 0;
    if (!c || !buf || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
        goto out;
    while ((got = read(fd, buf, HASH_CHUNK)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || EVP_DigestUpdate(c, buf, (size_t)got) != 1 ||
            (copy_fd >= 0 && !file_write_all(copy_fd, buf, (size_t)got)))
            goto out;
        *size += (uint64_t)got;
        progress_step(pg, (size_t)*size, NULL);
    }
    ok = EVP_DigestFinal_ex(c, sha, NULL) == 1;
out:
    free(buf);
    EVP_MD_CTX_free(c);
    return ok;
}

/* SHA-256 of path (not followed when a symlink), copied to copy_fd when >= 0. */
int backup_file_hash(const char *path, int copy_fd, const char *shown, unsigned char sha[32],
                     uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0, ok = 0, err;
    struct progress pg;
    struct stat st;

    *size = 0;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        report("%s: %s; the backup is incomplete or altered: use another backup", path,
               fd < 0 ? strerror(errno) : "not a regular file");
        rc = EXIT_INPUT;
    } else {
        progress_begin(&pg, shown ? shown : "", (size_t)st.st_size);
        pg.on = pg.on && shown != NULL;
        ok = hash_fd(fd, copy_fd, &pg, sha, size);
        err = errno;
        progress_end(&pg);
        errno = err;
    }
    if (rc == 0 && !ok) {
        report("%s: read or copy: %s; check the disk and its free space, then retry", path,
               errno ? strerror(errno) : "SHA-256 failed");
        rc = EXIT_SYSTEM;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)f;
    (flag == FTW_DP ? rmdir : unlink)(p);
    return 0;
}

/* Remove a tree made by backup/restore; never follows symlinks. */
void backup_tree_remove(const char *dir)
{
    if (dir && dir[0])
        (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* 0 missing or empty directory; EXIT_POLICY otherwise; EXIT_SYSTEM unreadable. */
int backup_target_check(const char *path, const char *what)
{
    struct stat st;
    struct dirent *e;
    DIR *d;
    int n = 0;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        report("%s %s: %s; check the path", what, path, strerror(errno));
        return EXIT_SYSTEM;
    }
    if (!S_ISDIR(st.st_mode)) {
        report("%s %s: exists and is not a directory; give a new or empty directory", what, path);
        return EXIT_POLICY;
    }
    if ((d = opendir(path)) == NULL) {
        report("%s %s: %s; check its mode", what, path, strerror(errno));
        return EXIT_SYSTEM;
    }
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    if (n > 0) {
        report("%s %s: not empty (%d entries): never written over; give a new or empty "
               "directory", what, path, n);
        return EXIT_POLICY;
    }
    return 0;
}

/* Copy path without trailing slashes ("bk/" -> "bk"), so a temporary directory made beside it is
 * beside it, not inside. 0, or EXIT_USAGE (reported) for "", "/" or a path too long. */
int backup_path_trim(const char *what, const char *path, char *out, size_t n)
{
    size_t len = path ? strlen(path) : 0;

    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || (len == 1 && path[0] == '/') || len >= n) {
        report("%s '%s': not a usable directory path; give a new directory, e.g. "
               "/srv/backup/offca-20261203", what, path ? path : "");
        return EXIT_USAGE;
    }
    memcpy(out, path, len);
    out[len] = '\0';
    return 0;
}

/* Warn about "<target><suffix>XXXXXX" directories left beside target by a backup or restore that
 * was killed (never removed here: one may belong to a run still going). */
void backup_stale_warn(const char *target, const char *suffix)
{
    char pat[4200];
    glob_t g;

    if (snprintf(pat, sizeof(pat), "%s%s??????", target, suffix) >= (int)sizeof(pat) ||
        glob(pat, GLOB_NOSORT, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++)
        report_warn("%s: left by a run that was stopped before it finished (or one still "
                    "running); remove it once no offca backup or restore runs", g.gl_pathv[i]);
    globfree(&g);
}
