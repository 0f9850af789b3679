/*
 * config.c — the one parser of ca.toml (contract: ca/config/config.h; every key is documented in
 * ca.toml.example). Read with the strict TOML reader; unknown keys are errors.
 *
 * Relative paths (store.path, hsm.module, hsm.pin_file, publish.dir, templates.dir) are resolved
 * against the directory of the ca.toml file, so a config works whatever the current directory.
 * URLs must be plain http://: Windows fetches CDP and AIA over HTTP during revocation checks.
 * Every failure is reported once through report(); the caller exits with class 3.
 */
#include "ca/config/config.h"
#include "ca/common/common.h"
#include "templates/template.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TEMPLATES_DIR "/etc/offca/templates"
#define DEFAULT_CONFIG "./ca.toml"
#define DOC_HINT "ca.toml.example"

struct derived {                        /* a CA without a section, asked for by config_ca() */
    struct derived *next;
    struct ca_cfg cfg;
};

struct config_priv {
    struct config c;                    /* first: config_free() casts back */
    char *dir;                          /* directory of ca.toml, or NULL for "." */
    char **owned;                       /* strings built here (paths, URLs) */
    size_t n_owned, cap_owned;
    struct derived *derived;
};

/* Keep s (malloc'd) until config_free; NULL (reported) when out of memory. */
static const char *own(struct config_priv *cp, char *s)
{
    char **o;

    if (s && cp->n_owned == cp->cap_owned) {
        size_t cap = cp->cap_owned ? cp->cap_owned * 2 : 16;

        if (!(o = realloc(cp->owned, cap * sizeof(*o)))) {
            free(s);
            s = NULL;
        } else {
            cp->owned = o;
            cp->cap_owned = cap;
        }
    }
    if (!s) {
        report("%s: out of memory; free memory and retry", cp->c.path ? cp->c.path : "config");
        return NULL;
    }
    cp->owned[cp->n_owned++] = s;
    return s;
}

__attribute__((format(printf, 1, 2)))
static char *strf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0 || !(s = malloc((size_t)len + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

static int ca_name_ok(const char *name)
{
    size_t i, len = strlen(name);

    if (len == 0 || len > MAX_CA_NAME)
        return 0;
    for (i = 0; i < len; i++) {
        char ch = name[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* A string member that, when present, is not empty. */
static int get_text(const struct toml_node *t, const char *key, int required, const char **out)
{
    const char *v = NULL;

    if (!toml_get_str(t, key, required, &v)) {
        report("%s", tmpl_error());
        return 0;
    }
    if (v && v[0] == '\0') {
        report("%s: key '%s': is empty; give a value or remove the key", toml_where(toml_get(t, key)),
               toml_path(toml_get(t, key)));
        return 0;
    }
    if (v)
        *out = v;
    return 1;
}

/* A path member, resolved against the directory of ca.toml when relative. */
static int get_path(struct config_priv *cp, const struct toml_node *t, const char *key,
                    int required, const char **out)
{
    const char *v = NULL;

    if (!get_text(t, key, required, &v))
        return 0;
    if (!v)
        return 1;
    if (v[0] != '/' && cp->dir && !(v = own(cp, strf("%s/%s", cp->dir, v))))
        return 0;
    *out = v;
    return 1;
}

/* An http:// URL at node n (RFC 5280 4.2.1.13 CDP / 4.2.2.1 AIA as Windows fetches them). */
static int check_url(const struct toml_node *n, const char *v, size_t max)
{
    size_t i;

    if (strlen(v) > max) {
        report("%s: key '%s': the URL is %zu bytes, over the %zu-byte limit (a CDP or AIA URL "
               "is at most %d bytes, its Freshest CRL URL one more; base_url leaves room for "
               "'/NAME.crl'); use a shorter host or path", toml_where(n), toml_path(n),
               strlen(v), max, MAX_CONFIG_URL);
        return 0;
    }

    if (strncasecmp(v, "https://", 8) == 0) {
        report("%s: key '%s': https URLs are refused: Windows (NPS, CryptoAPI) fetches CDP and "
               "AIA URLs over plain HTTP and an https CDP makes revocation checks fail; use "
               "http:// (CRLs and CA certificates are signed, they need no TLS)",
               toml_where(n), toml_path(n));
        return 0;
    }
    if (strncasecmp(v, "http://", 7) != 0 || v[7] == '\0' || v[7] == '/') {
        report("%s: key '%s': '%.80s' is not an http:// URL with a host; write e.g. "
               "\"http://pki.contoso.com/pki\"", toml_where(n), toml_path(n), v);
        return 0;
    }
    for (i = 0; v[i]; i++) {
        if ((unsigned char)v[i] <= 0x20 || v[i] == '"' || v[i] == 0x7F) {
            report("%s: key '%s': URL contains a space, quote or control character; "
                   "percent-encode it (%%20)", toml_where(n), toml_path(n));
            return 0;
        }
    }
    return 1;
}

static int get_url(const struct toml_node *t, const char *key, const char **out)
{
    const char *v = NULL;

    if (!get_text(t, key, 0, &v))
        return 0;
    if (v && !check_url(toml_get(t, key), v, MAX_CONFIG_URL))
        return 0;
    if (v)
        *out = v;
    return 1;
}

/* A table member (a [section]); *out NULL when absent. */
static int get_table(const struct toml_node *t, const char *key, const struct toml_node **out)
{
    const struct toml_node *n = toml_get(t, key);

    if (n && toml_type(n) != TOML_TABLE) {
        report("%s: key '%s': expected a table, found %s; write it as a [%s] section",
               toml_where(n), toml_path(n), toml_type_name(toml_type(n)), toml_path(n));
        return 0;
    }
    *out = n;
    return 1;
}

static int missing(const struct config_priv *cp, const struct toml_node *t, const char *section,
                   const char *key, const char *example)
{
    if (t)
        report("%s: key '%s.%s': required key is missing; add %s = %s to [%s] (see %s)",
               toml_where(t), section, key, key, example, section, DOC_HINT);
    else
        report("%s: key '%s.%s': required key is missing; add a [%s] section with %s = %s "
               "(see %s)", cp->c.path, section, key, section, key, example, DOC_HINT);
    return 0;
}

/* [publish] ceremony_warn_days: 1..3650, default 30. */
static int get_warn_days(const struct toml_node *pub, int *out)
{
    int64_t v = 30;

    if (!toml_get_int(pub, "ceremony_warn_days", 0, &v)) {
        report("%s", tmpl_error());
        return 0;
    }
    if (v < 1 || v > 3650) {
        report("%s: key 'publish.ceremony_warn_days': %lld is not a number of days from 1 to "
               "3650; write e.g. ceremony_warn_days = 30", toml_where(toml_get(pub,
               "ceremony_warn_days")), (long long)v);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* [store], [hsm], [publish], [templates], [keys]. */
static int read_globals(struct config_priv *cp, const struct toml_node *root)
{
    struct config *c = &cp->c;
    const struct toml_node *store, *hsm, *pub, *tmpl, *keys;
    char *url;

    if (!get_table(root, "store", &store) || !get_table(root, "hsm", &hsm) ||
        !get_table(root, "publish", &pub) || !get_table(root, "templates", &tmpl) ||
        !get_table(root, "keys", &keys))
        return 0;
    if (!get_path(cp, keys, "blocked_keys_file", 0, &c->blocked_keys_file))
        return 0;
    if (!store)
        return missing(cp, store, "store", "path", "\"/var/lib/offca/store\"");
    if (!get_path(cp, store, "path", 1, &c->store_path))
        return 0;
    if (!hsm)
        return missing(cp, hsm, "hsm", "module", "\"/usr/lib/softhsm/libsofthsm2.so\"");
    if (!get_path(cp, hsm, "module", 1, &c->hsm_module) ||
        !get_text(hsm, "token", 0, &c->hsm_token) ||
        !get_text(hsm, "token_serial", 0, &c->hsm_token_serial) ||
        !get_path(cp, hsm, "pin_file", 0, &c->hsm_pin_file))
        return 0;
    if (!c->hsm_token && !c->hsm_token_serial)
        return missing(cp, hsm, "hsm", "token", "\"<token label>\" (or token_serial)");
    if (!pub)
        return missing(cp, pub, "publish", "dir", "\"/var/lib/offca/publish\"");
    if (!get_path(cp, pub, "dir", 1, &c->publish_dir) ||
        !get_text(pub, "base_url", 1, &c->base_url) ||
        !check_url(toml_get(pub, "base_url"), c->base_url,
                   MAX_CONFIG_URL - (MAX_CA_NAME + sizeof("/.crl"))))
        return 0;
    if (!get_warn_days(pub, &c->ceremony_warn_days))
        return 0;
    url = strdup(c->base_url);
    if (url && url[strlen(url) - 1] == '/')
        url[strlen(url) - 1] = '\0';            /* URLs are built as base_url + "/NAME.crl" */
    if (!(c->base_url = own(cp, url)))
        return 0;
    c->templates_dir = DEFAULT_TEMPLATES_DIR;
    return get_path(cp, tmpl, "dir", 0, &c->templates_dir);
}

static int get_duration(const struct toml_node *t, const char *key, int64_t *out)
{
    const struct toml_node *n = toml_get(t, key);

    if (!n)
        return 1;
    if (toml_type(n) != TOML_STRING) {
        report("%s: key '%s': expected a duration string, found %s; write %s = \"7d\" "
               "(units s, m, h, d, w)", toml_where(n), toml_path(n),
               toml_type_name(toml_type(n)), key);
        return 0;
    }
    if (!toml_parse_duration(toml_str(n), out)) {
        report("%s: key '%s': %s", toml_where(n), toml_path(n), tmpl_error());
        return 0;
    }
    return 1;
}

/* Rules between the durations; reported at the key (or at the table when it was inherited). */
static int check_periods(const struct toml_node *t, const struct ca_cfg *cfg)
{
    const struct toml_node *n;

    if (cfg->crl_period <= 0) {
        n = toml_get(t, "crl_period") ? toml_get(t, "crl_period") : t;
        report("%s: key '%s': crl_period must be longer than 0s; write e.g. crl_period = \"7d\"",
               toml_where(n), toml_path(n));
        return 0;
    }
    if (cfg->delta_period > 0 && cfg->delta_period >= cfg->crl_period) {
        n = toml_get(t, "delta_period") ? toml_get(t, "delta_period") : t;
        report("%s: key '%s': delta_period must be shorter than crl_period (%lld s); shorten "
               "it or remove delta CRLs", toml_where(n), toml_path(n),
               (long long)cfg->crl_period);
        return 0;
    }
    return 1;
}

/* The per-CA keys of [defaults] (is_ca 0) or [ca.NAME] (is_ca 1) over what cfg holds. */
static int read_ca_keys(const struct toml_node *t, struct ca_cfg *cfg, int is_ca)
{
    if (!is_ca && (toml_get(t, "cdp_url") || toml_get(t, "aia_url"))) {
        const struct toml_node *n = toml_get(t, "cdp_url") ? toml_get(t, "cdp_url") :
                                    toml_get(t, "aia_url");

        report("%s: key '%s': URLs are per CA; set it in [ca.NAME] or let it derive from "
               "publish.base_url", toml_where(n), toml_path(n));
        return 0;
    }
    if (is_ca && (!get_url(t, "cdp_url", &cfg->cdp_url) || !get_url(t, "aia_url", &cfg->aia_url)))
        return 0;
    if (!get_duration(t, "crl_period", &cfg->crl_period) ||
        !get_duration(t, "crl_overlap", &cfg->crl_overlap) ||
        !get_duration(t, "delta_period", &cfg->delta_period) ||
        !get_duration(t, "clock_skew", &cfg->clock_skew) ||
        !get_duration(t, "renew_warning", &cfg->renew_warning))
        return 0;
    if (!toml_get_bool(t, "crl_idp", 0, &cfg->crl_idp) ||
        !toml_get_bool(t, "allow_extractable_key", 0, &cfg->allow_extractable_key)) {
        report("%s", tmpl_error());
        return 0;
    }
    return check_periods(t, cfg);
}

/* <base_url>/NAME.crl and <base_url>/NAME.crt for whichever URL the section did not set. */
static int derive_urls(struct config_priv *cp, struct ca_cfg *cfg)
{
    if (!cfg->cdp_url && !(cfg->cdp_url = own(cp, strf("%s/%s.crl", cp->c.base_url, cfg->name))))
        return 0;
    if (!cfg->aia_url && !(cfg->aia_url = own(cp, strf("%s/%s.crt", cp->c.base_url, cfg->name))))
        return 0;
    return 1;
}

/* [ca.NAME] sections, each over the defaults. */
static int read_cas(struct config_priv *cp, const struct toml_node *root)
{
    struct config *c = &cp->c;
    const struct toml_node *cas, *t;
    size_t i;

    if (!get_table(root, "ca", &cas))
        return 0;
    for (i = 0; cas && i < toml_count(cas); i++) {
        t = toml_at(cas, i);
        if (!ca_name_ok(toml_key(t))) {
            report("%s: key '%s': CA name '%.80s' is invalid; use 1 to %d of A-Z a-z 0-9 _ -",
                   toml_where(t), toml_path(t), toml_key(t), MAX_CA_NAME);
            return 0;
        }
        if (toml_type(t) != TOML_TABLE) {
            report("%s: key '%s': expected a table, found %s; write it as a [%s] section",
                   toml_where(t), toml_path(t), toml_type_name(toml_type(t)), toml_path(t));
            return 0;
        }
        if (c->n_cas >= MAX_CA_SECTIONS) {
            report("%s: key '%s': more than %d [ca.NAME] sections; merge or remove some",
                   toml_where(t), toml_path(t), MAX_CA_SECTIONS);
            return 0;
        }
        c->cas[c->n_cas] = c->defaults;
        c->cas[c->n_cas].name = toml_key(t);
        if (!read_ca_keys(t, &c->cas[c->n_cas], 1) || !derive_urls(cp, &c->cas[c->n_cas]))
            return 0;
        c->n_cas++;
    }
    return 1;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/*
 * Load and validate ca.toml at path. NULL with the message already printed through report()
 * (exit class 3). The caller frees the result with config_free().
 */
struct config *config_load(const char *path)
{
    struct config_priv *cp = calloc(1, sizeof(*cp));
    struct config *c, *ret = NULL;
    const struct toml_node *defaults;
    struct toml_node *doc;

    if (!cp) {
        report("%s: out of memory; free memory and retry", path);
        return NULL;
    }
    c = &cp->c;
    if (!(c->path = own(cp, strdup(path))))
        goto out;
    if (!(cp->dir = dir_of(path))) {
        report("%s: out of memory; free memory and retry", path);
        goto out;
    }
    if (strcmp(cp->dir, ".") == 0) {
        free(cp->dir);                  /* relative to the current directory: leave paths be */
        cp->dir = NULL;
    }
    if (!(doc = toml_load(path, tmpl_trust_config))) {
        report("%s", tmpl_error());
        goto out;
    }
    c->doc = doc;
    c->defaults.name = "";
    c->defaults.crl_period = 7 * 86400;
    c->defaults.crl_overlap = 2 * 86400;
    c->defaults.clock_skew = 10 * 60;
    if (!read_globals(cp, doc) || !get_table(doc, "defaults", &defaults) ||
        (defaults && !read_ca_keys(defaults, &c->defaults, 0)) || !read_cas(cp, doc))
        goto out;
    if (!toml_check_unused(doc, DOC_HINT)) {
        report("%s", tmpl_error());
        goto out;
    }
    ret = c;
    cp = NULL;
out:
    config_free(cp ? &cp->c : NULL);
    return ret;
}

/* Free everything config_load made; NULL is a no-op. */
void config_free(struct config *c)
{
    struct config_priv *cp = (struct config_priv *)c;
    struct derived *d;
    size_t i;

    if (!cp)
        return;
    while ((d = cp->derived) != NULL) {
        cp->derived = d->next;
        free(d);
    }
    for (i = 0; i < cp->n_owned; i++)
        free(cp->owned[i]);
    free(cp->owned);
    free(cp->dir);
    toml_free(c->doc);
    free(cp);
}

/* -c FILE if given, else $OFFCA_CONFIG, else ./ca.toml. Borrowed strings. */
const char *config_path_choose(const char *explicit_path)
{
    const char *env = getenv("OFFCA_CONFIG");

    if (explicit_path && explicit_path[0])
        return explicit_path;
    if (env && env[0])
        return env;
    return DEFAULT_CONFIG;
}

/*
 * Settings for CA name: its [ca.NAME] section, or the defaults with <base_url>/NAME.crl and
 * .crt (built once, owned by c). NULL, reported (class 2), when name is not a valid CA name.
 */
const struct ca_cfg *config_ca(const struct config *c, const char *name)
{
    struct config_priv *cp = (struct config_priv *)(uintptr_t)c;   /* the private cache */
    struct derived *d;
    size_t i;

    for (i = 0; i < c->n_cas; i++)
        if (strcmp(c->cas[i].name, name) == 0)
            return &c->cas[i];
    if (!ca_name_ok(name)) {
        report("CA name '%.80s': invalid; use 1 to %d of A-Z a-z 0-9 _ -", name, MAX_CA_NAME);
        return NULL;
    }
    for (d = cp->derived; d; d = d->next)
        if (strcmp(d->cfg.name, name) == 0)
            return &d->cfg;
    if (!(d = calloc(1, sizeof(*d)))) {
        report("%s: out of memory; free memory and retry", c->path);
        return NULL;
    }
    d->cfg = c->defaults;
    if (!(d->cfg.name = own(cp, strdup(name))) || !derive_urls(cp, &d->cfg)) {
        free(d);
        return NULL;
    }
    d->next = cp->derived;
    cp->derived = d;
    return &d->cfg;
}
