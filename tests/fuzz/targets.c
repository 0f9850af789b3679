/*
 * targets.c — offca's fuzz targets (see targets.h). Built by tools/fuzz.sh with clang and
 * libFuzzer, and #included as one translation unit by tests/unit/ca/test_fuzz_replay.c.
 */
#include "tests/fuzz/targets.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ca/config/config.h"
#include "ca/common/common.h"
#include "ca/directory/directory.h"
#include "ca/issue/issue.h"
#include "ca/store/store.h"
#include "templates/template.h"

#define MAX_FUZZ_WALK_DEPTH 64          /* our own TOML walk; the parser's depth is its business */
#define MAX_FUZZ_STR        4096        /* string targets: longer inputs are cut here */
#define FUZZ_SID "S-1-5-21-1004336348-1177238915-682003330-1105"
#define FUZZ_SHIPPED "templates/shipped"
#define FUZZ_LINT_ISSUER "tests/fuzz/fixtures/lint-issuer.der"

static const char *const fixed_csrs[] = {
    "tests/fuzz/fixtures/device-p256.der", "tests/fuzz/fixtures/user-rsa2048.der",
    "tests/data/good/csr/p384.der", "tests/data/good/csr/san-sid.der",
};
#define N_FIXED_CSRS (sizeof(fixed_csrs) / sizeof(fixed_csrs[0]))

static struct {
    int ready;
    int msg_fd;                         /* where findings are written (the real stderr) */
    struct tmpl_set *shipped;
    EVP_PKEY *resign_key;
    struct csr *csrs[N_FIXED_CSRS];
    char tmpdir[64];
    char tmpl_path[96];
    int memfd;
    char memfd_path[64];
    size_t accepted;                    /* inputs the target's parser accepted (replay checks) */
    size_t planned;                     /* tmpl_check plans made (policy was reached) */
    X509 *lint_issuer;                  /* an offca issuing CA certificate (lint target) */
} fz = { .msg_fd = 2, .memfd = -1 };

/* A broken promise: say what and die (libFuzzer saves the input, the replay test fails). Also on
 * stdout: under libFuzzer's -close_fd_mask=2 the target's stderr is closed. */
static void fuzz_fail(const char *what, const char *detail)
{
    dprintf(fz.msg_fd, "fuzz finding: %s: %.300s\n", what, detail != NULL ? detail : "");
    if (fz.msg_fd != 1)
        dprintf(1, "fuzz finding: %s: %.300s\n", what, detail != NULL ? detail : "");
    abort();
}

static void fuzz_setup_fail(const char *what)
{
    dprintf(fz.msg_fd, "fuzz setup: %s: %s; run from the repository root\n", what, tmpl_error());
    exit(2);
}

/* A DER certificate fixture, or NULL. */
static X509 *fuzz_der_cert(const char *path)
{
    FILE *f = fopen(path, "rb");
    X509 *x = f ? d2i_X509_fp(f, NULL) : NULL;

    if (f)
        fclose(f);
    return x;
}

/* Fixtures, once: shipped templates, fixed CSRs, a re-signing key, a temp dir and a memfd. */
static void fuzz_init(void)
{
    if (fz.ready)
        return;
    if ((fz.shipped = tmpl_set_load(FUZZ_SHIPPED)) == NULL)
        fuzz_setup_fail(FUZZ_SHIPPED);
    for (size_t i = 0; i < N_FIXED_CSRS; i++)
        if (csr_load(fixed_csrs[i], &fz.csrs[i]) != 0)
            fuzz_setup_fail(fixed_csrs[i]);
    if ((fz.resign_key = EVP_EC_gen("P-256")) == NULL)
        fuzz_setup_fail("EVP_EC_gen");
    if ((fz.lint_issuer = fuzz_der_cert(FUZZ_LINT_ISSUER)) == NULL)
        fuzz_setup_fail(FUZZ_LINT_ISSUER);
    snprintf(fz.tmpdir, sizeof(fz.tmpdir), "/tmp/offca-fuzz-XXXXXX");
    if (mkdtemp(fz.tmpdir) == NULL)
        fuzz_setup_fail("mkdtemp");
    snprintf(fz.tmpl_path, sizeof(fz.tmpl_path), "%s/fuzz.toml", fz.tmpdir);
    /* A memfd is born 0777: config_load refuses a world-writable ca.toml (as root). */
    if ((fz.memfd = memfd_create("offca-fuzz-config", MFD_CLOEXEC)) < 0 ||
        fchmod(fz.memfd, 0600) != 0)
        fuzz_setup_fail("memfd_create");
    snprintf(fz.memfd_path, sizeof(fz.memfd_path), "/proc/self/fd/%d", fz.memfd);
    fz.ready = 1;
    atexit(fuzz_cleanup);
}

/* Remove the template temp file and directory, free the fixtures. */
void fuzz_cleanup(void)
{
    if (!fz.ready)
        return;
    unlink(fz.tmpl_path);
    rmdir(fz.tmpdir);
    close(fz.memfd);
    for (size_t i = 0; i < N_FIXED_CSRS; i++)
        csr_free(fz.csrs[i]);
    EVP_PKEY_free(fz.resign_key);
    X509_free(fz.lint_issuer);
    tmpl_set_free(fz.shipped);
    memset(&fz, 0, sizeof(fz));
    fz.msg_fd = 2;
    fz.memfd = -1;
}

/* Bytes as a C string (cut at MAX_FUZZ_STR); caller frees. */
static char *fuzz_str(const uint8_t *d, size_t n)
{
    char *s;

    if (n > MAX_FUZZ_STR)
        n = MAX_FUZZ_STR;
    if ((s = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

/* ---- CSR + policy ------------------------------------------------------------------------- */

/* A directory of one principal, except names starting "none" (0 matches) or "many" (2). */
static int fuzz_lookup(void *arg, enum san_type type, const char *name, char *sid, size_t sidlen)
{
    (void)arg;
    (void)type;
    if (strncmp(name, "none", 4) == 0)
        return 0;
    if (strncmp(name, "many", 4) == 0)
        return 2;
    snprintf(sid, sidlen, "%s", FUZZ_SID);
    return 1;
}

static void fuzz_policy(const struct tmpl *t, const struct csr *c)
{
    struct tmpl_request req;
    struct tmpl_plan *plan;

    memset(&req, 0, sizeof(req));
    req.source = "fuzz.csr";
    req.csr_subject = X509_REQ_get_subject_name(c->req);
    req.pubkey = c->pubkey;
    req.csr_exts = c->exts;
    if (tmpl_sid_policy(t) != SID_FORBIDDEN && tmpl_sid_source(t) == SID_SRC_OPERATOR)
        req.op_sid = FUZZ_SID;
    req.lookup = fuzz_lookup;
    plan = tmpl_check(t, &req);
    fz.planned += plan != NULL;
    tmpl_plan_free(plan);
    ERR_clear_error();
}

static void fuzz_csr_policy(const unsigned char *d, size_t n)
{
    struct csr *c = NULL;

    if (csr_parse(d, n, "fuzz.csr", &c) == 0 && ++fz.accepted)
        for (size_t i = 0; i < tmpl_set_count(fz.shipped); i++)
            fuzz_policy(tmpl_set_at(fz.shipped, i), c);
    csr_free(c);
    ERR_clear_error();
}

/* A DER request that decodes gets our key and signature, so policy sees its mutated content. */
static void fuzz_csr_resigned(const uint8_t *d, size_t n)
{
    const unsigned char *p = d;
    unsigned char *der = NULL;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)n);
    int len;

    if (r == NULL)
        goto out;
    if (!X509_REQ_set_pubkey(r, fz.resign_key) || X509_REQ_sign(r, fz.resign_key, EVP_sha256()) <= 0)
        goto out;
    if ((len = i2d_X509_REQ(r, &der)) > 0)
        fuzz_csr_policy(der, (size_t)len);
out:
    OPENSSL_free(der);
    X509_REQ_free(r);
    ERR_clear_error();
}

int fuzz_csr(const uint8_t *d, size_t n)
{
    unsigned char *copy;

    fuzz_init();
    /* csr_load hands csr_parse a NUL-terminated buffer; do the same (length excludes the NUL). */
    if ((copy = malloc(n + 1)) == NULL)
        return 0;
    memcpy(copy, d, n);
    copy[n] = '\0';
    fuzz_csr_policy(copy, n);
    free(copy);
    fuzz_csr_resigned(d, n);
    return 0;
}

/* ---- ca.toml --------------------------------------------------------------------------------- */

static void fuzz_toml_getters(const struct toml_node *table, const char *key)
{
    const char *s = NULL, **v = NULL;
    int64_t i = 0;
    int b = 0;
    size_t nv = 0;

    if (toml_get_str(table, key, 0, &s) && s != NULL && toml_parse_duration(s, &i)) {
    }
    if (toml_get_int(table, key, 0, &i) && toml_get_bool(table, key, 0, &b)) {
    }
    if (toml_get_str_array(table, key, 0, &v, &nv))
        free(v);
}

static void fuzz_toml_walk(const struct toml_node *node, int depth)
{
    enum toml_type t = toml_type(node);
    int64_t secs;

    if (depth > MAX_FUZZ_WALK_DEPTH)
        return;
    if (toml_key(node) == NULL || toml_path(node) == NULL || toml_where(node) == NULL ||
        toml_type_name(t) == NULL)
        fuzz_fail("toml", "a node without key, path, position or type name");
    if (t == TOML_STRING && toml_parse_duration(toml_str(node), &secs)) {
    }
    if (t == TOML_INTEGER)
        (void)toml_int(node);
    if (t == TOML_BOOL)
        (void)toml_bool(node);
    if (t != TOML_ARRAY && t != TOML_TABLE)
        return;
    for (size_t i = 0; i < toml_count(node); i++) {
        const struct toml_node *m = toml_at(node, i);

        if (m == NULL)
            fuzz_fail("toml", "toml_at returned NULL below toml_count");
        if (t == TOML_TABLE)
            fuzz_toml_getters(node, toml_key(m));
        fuzz_toml_walk(m, depth + 1);
    }
}

int fuzz_config(const uint8_t *d, size_t n)
{
    struct toml_node *doc;
    struct config *c;

    fuzz_init();
    if ((doc = toml_parse((const char *)d, n, "fuzz.toml")) != NULL) {
        if (!toml_check_unused(doc, "fuzz")) {
        }
        fuzz_toml_walk(doc, 0);
        toml_free(doc);
    }
    /* config_load takes a path: the same bytes through a memfd at /proc/self/fd/N. */
    if (ftruncate(fz.memfd, 0) != 0 || pwrite(fz.memfd, d, n, 0) != (ssize_t)n)
        return 0;
    if ((c = config_load(fz.memfd_path)) != NULL) {
        fz.accepted++;
        for (size_t i = 0; i < c->n_cas; i++)
            if (config_ca(c, c->cas[i].name) != &c->cas[i])
                fuzz_fail("config", "config_ca does not return a CA's own section");
        (void)config_ca(c, "fuzzca");
        config_free(c);
    }
    return 0;
}

/* ---- templates ------------------------------------------------------------------------------- */

int fuzz_template(const uint8_t *d, size_t n)
{
    struct tmpl *t;
    FILE *f;
    char *desc;

    fuzz_init();
    /* tmpl_load takes a path whose base name must equal name = "...": seeds say name = "fuzz". */
    if ((f = fopen(fz.tmpl_path, "wb")) == NULL)
        return 0;
    if (fwrite(d, 1, n, f) != n) {
        fclose(f);
        return 0;
    }
    if (fclose(f) != 0 || (t = tmpl_load(fz.tmpl_path)) == NULL)
        return 0;
    if ((desc = tmpl_describe(t)) == NULL)
        fuzz_fail("template", "tmpl_describe returned NULL for a loaded template");
    fz.accepted++;
    free(desc);
    if (tmpl_key_alg_allowed(t, "rsa2048") && tmpl_key_alg_allowed(t, "p256")) {
    }
    for (size_t i = 0; i < N_FIXED_CSRS; i++)
        fuzz_policy(t, fz.csrs[i]);
    tmpl_free(t);
    return 0;
}

/* ---- RFC 4514 names -------------------------------------------------------------------------- */

static void fuzz_dn_roundtrip(const X509_NAME *x, const char *input)
{
    unsigned char *der1 = NULL, *der2 = NULL;
    X509_NAME *y = NULL;
    char *f = dn_format(x), *ms = dn_format_ms(x);
    int l1, l2;

    if (f == NULL || ms == NULL)
        fuzz_fail("dn_format of a name dn_parse accepted failed", input);
    if ((y = dn_parse(f)) == NULL)
        fuzz_fail("dn_parse(dn_format(x)) refused", f);
    l1 = i2d_X509_NAME(x, &der1);
    l2 = i2d_X509_NAME(y, &der2);
    if (l1 <= 0 || l1 != l2 || memcmp(der1, der2, (size_t)l1) != 0)
        fuzz_fail("dn_parse(dn_format(x)) encodes differently", f);
    OPENSSL_free(der1);
    OPENSSL_free(der2);
    X509_NAME_free(y);
    OPENSSL_free(f);
    OPENSSL_free(ms);
}

int fuzz_dn(const uint8_t *d, size_t n)
{
    const unsigned char *p = d;
    X509_NAME *x;
    char *s = fuzz_str(d, n), *f;

    if (s != NULL && (x = dn_parse(s)) != NULL) {
        fz.accepted++;
        fuzz_dn_roundtrip(x, s);
        X509_NAME_free(x);
    }
    free(s);
    /* A DER name, as a hostile CSR subject would carry: format it both ways, no promise more. */
    if ((x = d2i_X509_NAME(NULL, &p, (long)n)) != NULL) {
        OPENSSL_free(dn_format_ms(x));
        if ((f = dn_format(x)) != NULL) {
            X509_NAME *y = dn_parse(f);

            if (y != NULL)
                fuzz_dn_roundtrip(y, f);
            X509_NAME_free(y);
        }
        OPENSSL_free(f);
        X509_NAME_free(x);
    }
    ERR_clear_error();
    return 0;
}

/* ---- SIDs ------------------------------------------------------------------------------------ */

/* s passed sid_check: extension and SAN URL must both give s back. */
static void fuzz_sid_roundtrip(const char *s)
{
    char out[MAX_SID_CHARS + 1], url[MAX_SID_CHARS + 64];
    X509_EXTENSION *ext = sid_ext_build(s);

    if (ext == NULL)
        fuzz_fail("sid_ext_build refused a SID sid_check accepted", s);
    if (!sid_ext_parse(ext, out, sizeof(out)) || strcmp(out, s) != 0)
        fuzz_fail("sid_ext_parse(sid_ext_build(s)) != s", s);
    X509_EXTENSION_free(ext);
    if (!sid_san_url(s, url, sizeof(url)))
        fuzz_fail("sid_san_url does not fit a valid SID", s);
    if (sid_from_san_url(url, out, sizeof(out)) != 1 || strcmp(out, s) != 0)
        fuzz_fail("sid_from_san_url(sid_san_url(s)) != s", s);
}

/* The bytes as the value of a SID extension, as a CSR could request it. */
static void fuzz_sid_ext(const uint8_t *d, size_t n)
{
    char out[MAX_SID_CHARS + 1];
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *obj = OBJ_txt2obj(OID_NTDS_CA_SECURITY_EXT, 1);
    X509_EXTENSION *ext = NULL;

    if (os == NULL || obj == NULL || !ASN1_OCTET_STRING_set(os, d, (int)n) ||
        (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL)
        goto out;
    if (sid_ext_parse(ext, out, sizeof(out))) {
        if (!sid_check(out))
            fuzz_fail("sid_ext_parse returned a SID sid_check refuses", out);
        fuzz_sid_roundtrip(out);
    }
out:
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(os);
    ERR_clear_error();
}

int fuzz_sid(const uint8_t *d, size_t n)
{
    char out[MAX_SID_CHARS + 1];
    char *s = fuzz_str(d, n);

    if (s == NULL)
        return 0;
    if (sid_check(s) && ++fz.accepted)
        fuzz_sid_roundtrip(s);
    if (sid_from_san_url(s, out, sizeof(out)) == 1 && !sid_check(out))
        fuzz_fail("sid_from_san_url returned a SID sid_check refuses", s);
    free(s);
    if (sid_from_binary(d, n, out, sizeof(out))) {
        if (!sid_check(out))
            fuzz_fail("sid_from_binary returned a SID sid_check refuses", out);
    }
    fuzz_sid_ext(d, n);
    return 0;
}

/* ---- manifest lines -------------------------------------------------------------------------- */

int fuzz_manifest(const uint8_t *d, size_t n)
{
    struct manifest_line m;
    enum san_type type;
    char value[1024];
    X509_NAME *x;

    memset(&m, 0, sizeof(m));
    if (manifest_parse_line((const char *)d, n, "fuzz.jsonl", 1, &m) != 0)
        return 0;
    if (m.csr == NULL || m.out == NULL)
        fuzz_fail("manifest", "parsed a line without csr or out");
    fz.accepted++;
    /* What cmd_sign does next with the strings. */
    for (size_t i = 0; i < m.n_san; i++)
        if (san_parse(m.san[i], &type, value, sizeof(value))) {
        }
    if (m.sid != NULL && sid_check(m.sid)) {
    }
    if (m.subject != NULL && (x = dn_parse(m.subject)) != NULL)
        X509_NAME_free(x);
    manifest_line_clear(&m);
    ERR_clear_error();
    return 0;
}

/* ---- AD CSV exports -------------------------------------------------------------------------- */

int fuzz_csv(const uint8_t *d, size_t n)
{
    struct dir_entry *e = NULL;
    size_t ne = 0;
    char *copy;

    /* file_load hands dircsv_parse a NUL-terminated buffer; do the same. */
    if ((copy = malloc(n + 1)) == NULL)
        return 0;
    memcpy(copy, d, n);
    copy[n] = '\0';
    if (dircsv_parse(copy, n, "fuzz.csv", &e, &ne) == 0) {
        fz.accepted++;
        for (size_t i = 0; i < ne; i++)
            if (e[i].sid == NULL || !sid_check(e[i].sid))
                fuzz_fail("dircsv_parse accepted a row without a valid SID", e[i].sid);
        dircsv_free(e, ne);
    }
    free(copy);
    return 0;
}

/* ---- the table --------------------------------------------------------------------------------- */

/* ---- lint ------------------------------------------------------------------------------ */

/* The same input twice must give the same findings (the lint keeps no state). */
static void fuzz_lint_same(const struct lint_report *a, const struct lint_report *b)
{
    if (a->n != b->n || a->n_sev[LINT_ERROR] != b->n_sev[LINT_ERROR])
        fuzz_fail("lint", "two runs on the same input disagree");
    for (size_t i = 0; i < a->n; i++)
        if (a->f[i].rule != b->f[i].rule || strcmp(a->f[i].problem, b->f[i].problem) != 0)
            fuzz_fail("lint", a->f[i].problem);
}

static void fuzz_lint_cert(X509 *x)
{
    struct lint_report r1, r2;
    struct lint_opts o;

    lint_opts_init(&o);
    if (!lint_cert(x, &o, &r1))
        return;
    o.issuer = fz.lint_issuer;
    o.allow_wildcard = o.allow_any_eku = 1;
    if (!lint_cert(x, &o, &r1) || !lint_cert(x, &o, &r2))
        return;
    fuzz_lint_same(&r1, &r2);
}

/* The input as a TBSCertList, and as a CertificateList (its first element). */
static void fuzz_lint_crl(const uint8_t *d, size_t n)
{
    struct lint_report r1, r2;
    struct lint_opts o;
    const unsigned char *p = d;
    long len;
    int tag, cls;

    lint_opts_init(&o);
    o.issuer = fz.lint_issuer;
    o.prev_number = 1;
    if (lint_crl_tbs(d, n, &o, &r1) && lint_crl_tbs(d, n, &o, &r2)) {
        fuzz_lint_same(&r1, &r2);
        if (r1.n == 0 || r1.f[0].rule != lint_rule_find("crl.der"))
            fz.accepted++;
    }
    if (n > 8 && (ASN1_get_object(&p, &len, &tag, &cls, (long)n) & 0xa0) == 0x20 &&
        tag == V_ASN1_SEQUENCE) {
        const unsigned char *t = p;

        if ((ASN1_get_object(&p, &len, &tag, &cls, (long)(n - (size_t)(t - d))) & 0xa0) ==
            0x20 && p + len <= d + n && lint_crl_tbs(t, (size_t)(p + len - t), &o, &r1))
            (void)r1;
    }
    ERR_clear_error();
}

int fuzz_lint(const uint8_t *d, size_t n)
{
    const unsigned char *p = d;
    X509 *x;

    fuzz_init();
    if ((x = d2i_X509(NULL, &p, (long)n)) != NULL) {
        fz.accepted++;
        fuzz_lint_cert(x);
        X509_free(x);
    }
    fuzz_lint_crl(d, n);
    ERR_clear_error();
    return 0;
}

const struct fuzz_target fuzz_targets[] = {
    { "csr", fuzz_csr, 8192 },
    { "config", fuzz_config, 4096 },
    { "template", fuzz_template, 4096 },
    { "dn", fuzz_dn, 2048 },
    { "sid", fuzz_sid, 512 },
    { "manifest", fuzz_manifest, 2048 },
    { "csv", fuzz_csv, 8192 },
    { "lint", fuzz_lint, 16384 },
};
const size_t fuzz_n_targets = sizeof(fuzz_targets) / sizeof(fuzz_targets[0]);

const struct fuzz_target *fuzz_target_find(const char *name)
{
    for (size_t i = 0; i < fuzz_n_targets; i++)
        if (strcmp(fuzz_targets[i].name, name) == 0)
            return &fuzz_targets[i];
    return NULL;
}
