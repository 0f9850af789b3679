/*
 * tmpl_load.c — read one template file (TOML) into an immutable struct tmpl, validating every
 * setting; load a directory of them as a set. A template that does not validate is refused whole,
 * with file:line:column from the TOML reader.
 *
 * Template file reference (every key; unknown keys are errors):
 *   name = "intune-device"        required; must equal the file name without ".toml"
 *   description = "..."           optional free text
 *   key_usage = ["digitalSignature", "keyEncipherment"]
 *                                 required, non-empty; emitted critical. Names: digitalSignature,
 *                                 nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement.
 *                                 keyEncipherment is only emitted for RSA keys and keyAgreement only
 *                                 for EC keys (RFC 5480 / RFC 8813: an EC key cannot encipher keys).
 *   honour_extensions = ["san"]   which CSR extensions are honoured: "san", "eku", "sid"; default
 *                                 ["san"]. Others the CSR asks for are ignored, except that an
 *                                 unknown critical extension or an EKU outside [eku] is refused.
 *                                 "eku" is needed for [eku].optional, "sid" for sid_source "request".
 *   sid = "required" | "optional" | "forbidden"        default "forbidden"
 *   sid_form = "extension" | "san-url" | "both"         default "extension"
 *   sid_source = "operator" | "request" | "directory"   required unless sid = "forbidden"
 *   sid_domain_only = true        default true: only S-1-5-21-a-b-c-RID (domain principals)
 *   [key]       types = ["rsa", "ec"] (default both); rsa_min_bits (>= 1024, default 2048),
 *               rsa_max_bits (default 4096); curves = ["P-256", "P-384"] (default; also "P-521");
 *               allow_sha1_requests = false (accept CSRs signed with SHA-1); allow_reuse = false
 *               (certify a key already certified to another subject)
 *   [validity]  default_days (required), min_days (default 1), max_days (default default_days);
 *               1 <= min_days <= default_days <= max_days <= 3650
 *   [eku]       required = [...], optional = [...]: serverAuth, clientAuth, codeSigning,
 *               emailProtection, timeStamping, OCSPSigning, smartcardLogon or dotted OIDs.
 *               Issued EKU = required + (optional requested in the CSR); no EKU extension when
 *               both are empty.
 *   [subject]   allowed = ["CN", ...] (default ["CN"]; CN O OU C L ST DC E serialNumber UID GN SN
 *               title street postalCode); required = [...] (subset of allowed);
 *               max_length = { CN = 64 } (UTF-8 characters); pattern = { CN = "^[a-z]+$" } (POSIX
 *               ERE, anchored as written); allow_override = false (may --subject replace the CSR
 *               subject); allow_empty = false (an empty subject needs a SAN, then critical);
 *               repeatable = ["OU"] (types that may appear more than once; DC always may)
 *   [san]       allowed = ["dns","upn","email","uri","ip"] (default none); required = [...];
 *               max_count = 10 (1..100); allow_wildcard = false; from_request (default: whether
 *               "san" is honoured; true needs "san" in honour_extensions);
 *               dns_suffixes = ["contoso.com"] (every DNS and UPN name must end with one)
 *   [ms]        template_name = "..." (template name v1 extension); template_oid = "1.3.6.1.4.1.
 *               311.21.8...." with template_major and template_minor (template information v2);
 *               application_policies = false (mirror the EKU list in 1.3.6.1.4.1.311.21.10)
 */
#include "templates/template.h"
#include "templates/tmpl_err.h"
#include "templates/tmpl_int.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/objects.h>

#define DOC_HINT "the reference at the top of templates/shipped/intune-device.toml"

/* The loader's state: the template being filled and the document it comes from. */
struct ld {
    struct tmpl *t;
    const struct toml_node *root;
};

static void ld_err(const struct ld *l, const struct toml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ld_err(const struct ld *l, const struct toml_node *n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tmpl_seterr(TE_INPUT, "%s: template %s: %s", n != NULL ? toml_where(n) : l->t->path,
                l->t->name != NULL ? l->t->name : "?", msg);
}

/* ---- name tables ---------------------------------------------------------------------------- */

static const struct { const char *name; int nid; } attr_names[] = {
    { "CN", NID_commonName }, { "O", NID_organizationName },
    { "OU", NID_organizationalUnitName }, { "C", NID_countryName },
    { "L", NID_localityName }, { "ST", NID_stateOrProvinceName },
    { "DC", NID_domainComponent }, { "E", NID_pkcs9_emailAddress },
    { "serialNumber", NID_serialNumber }, { "UID", NID_userId },
    { "GN", NID_givenName }, { "SN", NID_surname }, { "title", NID_title },
    { "street", NID_streetAddress }, { "postalCode", NID_postalCode },
};

static const char *const curve_names[] = { "P-256", "P-384", "P-521" };
static const int curve_nids[] = { NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1 };

/* ---- small typed readers -------------------------------------------------------------------- */

/* A string key whose value must be one of choices[]; *out is its index. */
static int ld_choice(struct ld *l, const struct toml_node *tbl, const char *key,
                     const char *const *choices, size_t n, int *out)
{
    const char *s = NULL;

    if (!toml_get_str(tbl, key, 0, &s))
        return 0;
    if (s == NULL)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, choices[i]) == 0) {
            *out = (int)i;
            return 1;
        }
    ld_err(l, toml_get(tbl, key), "%s: '%s' is not a valid value; use one of %s%s%s%s%s", key, s,
           choices[0], n > 1 ? ", " : "", n > 1 ? choices[1] : "", n > 2 ? ", " : "",
           n > 2 ? choices[2] : "");
    return 0;
}

/* An integer key within [lo, hi]. */
static int ld_long(struct ld *l, const struct toml_node *tbl, const char *key, long lo, long hi,
                   long *out)
{
    int64_t v;
    int present = toml_get(tbl, key) != NULL;

    if (!present)
        return 1;
    if (!toml_get_int(tbl, key, 1, &v))
        return 0;
    if (v < lo || v > hi) {
        ld_err(l, toml_get(tbl, key), "%s: %lld is out of range; use %ld..%ld", key,
               (long long)v, lo, hi);
        return 0;
    }
    *out = (long)v;
    return 1;
}

/* An array of strings (absent: *n = 0, *out = NULL). Caller frees *out. */
static int ld_strs(const struct toml_node *tbl, const char *key, const char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return toml_get_str_array(tbl, key, 0, out, n);
}

/* ---- sections ------------------------------------------------------------------------------- */

/* key.curves into t->curves (NIDs). */
static int ld_key_curves(struct ld *l, const struct toml_node *k)
{
    const char **v = NULL;
    size_t n = 0;
    int ok = 0;

    if (!ld_strs(k, "curves", &v, &n))
        return 0;
    if (v != NULL) {
        if (n == 0 || n > MAX_TMPL_CURVES) {
            ld_err(l, toml_get(k, "curves"), "key.curves: list 1 to %d curves", MAX_TMPL_CURVES);
            goto out;
        }
        l->t->n_curves = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j;

            for (j = 0; j < 3 && strcmp(v[i], curve_names[j]) != 0; j++)
                ;
            if (j == 3) {
                ld_err(l, toml_get(k, "curves"), "key.curves: unknown curve '%s'; use P-256, "
                       "P-384 or P-521", v[i]);
                goto out;
            }
            l->t->curves[l->t->n_curves++] = curve_nids[j];
        }
    }
    ok = 1;
out:
    free(v);
    return ok;
}

/* key.types: "rsa" and/or "ec". */
static int ld_key_types(struct ld *l, const struct toml_node *k)
{
    const char **v = NULL;
    size_t n = 0;
    int ok = 0;

    if (!ld_strs(k, "types", &v, &n))
        return 0;
    if (v != NULL) {
        l->t->allow_rsa = l->t->allow_ec = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(v[i], "rsa") == 0)
                l->t->allow_rsa = 1;
            else if (strcmp(v[i], "ec") == 0)
                l->t->allow_ec = 1;
            else {
                ld_err(l, toml_get(k, "types"), "key.types: '%s' is not a key type; use \"rsa\" "
                       "and/or \"ec\"", v[i]);
                goto out;
            }
        }
        if (n == 0) {
            ld_err(l, toml_get(k, "types"), "key.types: empty; list \"rsa\" and/or \"ec\"");
            goto out;
        }
    }
    ok = 1;
out:
    free(v);
    return ok;
}

static int ld_key(struct ld *l)
{
    const struct toml_node *k = toml_get(l->root, "key");

    l->t->allow_rsa = l->t->allow_ec = 1;
    l->t->rsa_min_bits = 2048;
    l->t->rsa_max_bits = 4096;
    l->t->curves[0] = NID_X9_62_prime256v1;
    l->t->curves[1] = NID_secp384r1;
    l->t->n_curves = 2;
    if (k == NULL)
        return 1;
    if (toml_type(k) != TOML_TABLE) {
        ld_err(l, k, "key: must be a table; write [key]");
        return 0;
    }
    if (!ld_key_types(l, k) ||
        !toml_get_bool(k, "allow_sha1_requests", 0, &l->t->allow_sha1_requests) ||
        !toml_get_bool(k, "allow_reuse", 0, &l->t->allow_key_reuse))
        return 0;
    if (!ld_long(l, k, "rsa_min_bits", MIN_RSA_BITS, MAX_RSA_BITS, &l->t->rsa_min_bits) ||
        !ld_long(l, k, "rsa_max_bits", MIN_RSA_BITS, MAX_RSA_BITS, &l->t->rsa_max_bits))
        return 0;
    if (l->t->rsa_min_bits > l->t->rsa_max_bits) {
        ld_err(l, toml_get(k, "rsa_min_bits"), "key: rsa_min_bits %ld is above rsa_max_bits %ld; "
               "swap or fix them", l->t->rsa_min_bits, l->t->rsa_max_bits);
        return 0;
    }
    if (!ld_key_curves(l, k))
        return 0;
    if (toml_get(k, "curves") != NULL && !l->t->allow_ec) {
        ld_err(l, toml_get(k, "curves"), "key.curves: set but \"ec\" is not in key.types; add it "
               "or remove curves");
        return 0;
    }
    if ((toml_get(k, "rsa_min_bits") != NULL || toml_get(k, "rsa_max_bits") != NULL) &&
        !l->t->allow_rsa) {
        ld_err(l, k, "key: RSA sizes set but \"rsa\" is not in key.types; add it or remove them");
        return 0;
    }
    return 1;
}

static int ld_validity(struct ld *l)
{
    const struct toml_node *v = toml_get(l->root, "validity");
    int64_t d;

    if (v == NULL || toml_type(v) != TOML_TABLE) {
        ld_err(l, v, "validity: missing [validity] table; add default_days (and min_days, "
               "max_days)");
        return 0;
    }
    if (!toml_get_int(v, "default_days", 1, &d))
        return 0;
    if (d < 1 || d > MAX_TMPL_DAYS) {
        ld_err(l, toml_get(v, "default_days"), "validity: default_days %lld is out of range; "
               "use 1..%d", (long long)d, MAX_TMPL_DAYS);
        return 0;
    }
    l->t->days_default = (long)d;
    l->t->days_min = 1;
    l->t->days_max = (long)d;
    if (!ld_long(l, v, "min_days", 1, MAX_TMPL_DAYS, &l->t->days_min) ||
        !ld_long(l, v, "max_days", 1, MAX_TMPL_DAYS, &l->t->days_max))
        return 0;
    if (l->t->days_min > l->t->days_default || l->t->days_default > l->t->days_max) {
        ld_err(l, v, "validity: need min_days <= default_days <= max_days, have %ld, %ld, %ld; "
               "fix the order", l->t->days_min, l->t->days_default, l->t->days_max);
        return 0;
    }
    return 1;
}

/* One EKU list into dst (dotted OIDs), refusing unknown names and duplicates. */
static int ld_eku_list(struct ld *l, const struct toml_node *e, const char *key,
                       char (*dst)[MAX_OID_CHARS], size_t *n_dst)
{
    const char **v = NULL;
    size_t n = 0;
    int ok = 0;

    if (!ld_strs(e, key, &v, &n))
        return 0;
    if (n > MAX_TMPL_EKUS) {
        ld_err(l, toml_get(e, key), "eku.%s: more than %d EKUs; shorten the list", key,
               MAX_TMPL_EKUS);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!tmpl_eku_oid(v[i], dst[i], MAX_OID_CHARS)) {
            ld_err(l, toml_get(e, key), "eku.%s: '%s' is not an EKU name or dotted OID; use "
                   "serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, "
                   "OCSPSigning, smartcardLogon or an OID like 1.3.6.1.5.5.7.3.2", key, v[i]);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(dst[i], dst[j]) == 0) {
                ld_err(l, toml_get(e, key), "eku.%s: '%s' is listed twice; remove one", key,
                       v[i]);
                goto out;
            }
    }
    *n_dst = n;
    ok = 1;
out:
    free(v);
    return ok;
}

static int ld_eku(struct ld *l)
{
    const struct toml_node *e = toml_get(l->root, "eku");

    if (e == NULL)
        return 1;
    if (toml_type(e) != TOML_TABLE) {
        ld_err(l, e, "eku: must be a table; write [eku]");
        return 0;
    }
    if (!ld_eku_list(l, e, "required", l->t->eku_req, &l->t->n_eku_req) ||
        !ld_eku_list(l, e, "optional", l->t->eku_opt, &l->t->n_eku_opt))
        return 0;
    for (size_t i = 0; i < l->t->n_eku_opt; i++)
        for (size_t j = 0; j < l->t->n_eku_req; j++)
            if (strcmp(l->t->eku_opt[i], l->t->eku_req[j]) == 0) {
                ld_err(l, toml_get(e, "optional"), "eku: '%s' is both required and optional; "
                       "keep it in one list", tmpl_eku_name(l->t->eku_opt[i]));
                return 0;
            }
    return 1;
}

static int ld_key_usage(struct ld *l)
{
    const char **v = NULL;
    size_t n = 0;
    int ok = 0;

    if (!toml_get_str_array(l->root, "key_usage", 1, &v, &n))
        return 0;
    if (n == 0) {
        ld_err(l, toml_get(l->root, "key_usage"), "key_usage: empty; list at least "
               "digitalSignature");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int bit = tmpl_ku_bit(v[i]);

        if (bit < 0) {
            ld_err(l, toml_get(l->root, "key_usage"), "key_usage: '%s' is not allowed in an "
                   "end-entity certificate; use digitalSignature, nonRepudiation, "
                   "keyEncipherment, dataEncipherment or keyAgreement", v[i]);
            goto out;
        }
        l->t->ku |= 1u << bit;
    }
    ok = 1;
out:
    free(v);
    return ok;
}

static int attr_nid(const char *name, const char **canon)
{
    for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
        if (strcmp(attr_names[i].name, name) == 0) {
            *canon = attr_names[i].name;
            return attr_names[i].nid;
        }
    return NID_undef;
}

static struct tmpl_attr *attr_find(struct tmpl *t, const char *name)
{
    for (size_t i = 0; i < t->n_attrs; i++)
        if (strcmp(t->attrs[i].name, name) == 0)
            return &t->attrs[i];
    return NULL;
}

/* subject.allowed (default ["CN"]) and subject.required. */
static int ld_subject_lists(struct ld *l, const struct toml_node *s)
{
    const char **v = NULL, *dflt[] = { "CN" };
    size_t n = 0;
    int ok = 0;

    if (s != NULL && !ld_strs(s, "allowed", &v, &n))
        return 0;
    for (size_t i = 0; i < (v != NULL ? n : 1); i++) {
        const char *name = v != NULL ? v[i] : dflt[0], *canon = NULL;
        int nid = attr_nid(name, &canon);

        if (nid == NID_undef || l->t->n_attrs == MAX_TMPL_ATTRS || attr_find(l->t, name)) {
            ld_err(l, toml_get(s, "allowed"), "subject.allowed: '%s' is unknown or repeated; use "
                   "CN, O, OU, C, L, ST, DC, E, serialNumber, UID, GN, SN, title, street, "
                   "postalCode", name);
            goto out;
        }
        l->t->attrs[l->t->n_attrs].nid = nid;
        l->t->attrs[l->t->n_attrs++].name = canon;
    }
    free(v);
    v = NULL;
    if (s != NULL && !ld_strs(s, "required", &v, &n))
        goto out;
    for (size_t i = 0; v != NULL && i < n; i++) {
        struct tmpl_attr *a = attr_find(l->t, v[i]);

        if (a == NULL) {
            ld_err(l, toml_get(s, "required"), "subject.required: '%s' is not in "
                   "subject.allowed; add it there", v[i]);
            goto out;
        }
        a->required = 1;
    }
    ok = 1;
out:
    free(v);
    return ok;
}

/* subject.max_length / subject.pattern: inline tables keyed by an allowed attribute. */
static int ld_subject_map(struct ld *l, const struct toml_node *s, const char *key)
{
    const struct toml_node *m = toml_get(s, key);

    if (m == NULL)
        return 1;
    if (toml_type(m) != TOML_TABLE) {
        ld_err(l, m, "subject.%s: must be an inline table like { CN = ... }", key);
        return 0;
    }
    for (size_t i = 0; i < toml_count(m); i++) {
        const struct toml_node *e = toml_at(m, i);
        struct tmpl_attr *a = attr_find(l->t, toml_key(e));
        int want = strcmp(key, "pattern") == 0 ? TOML_STRING : TOML_INTEGER;

        if (a == NULL) {
            ld_err(l, e, "subject.%s: '%s' is not in subject.allowed; add it there", key,
                   toml_key(e));
            return 0;
        }
        if (toml_type(e) != (enum toml_type)want) {
            ld_err(l, e, "subject.%s.%s: must be %s", key, toml_key(e),
                   want == TOML_STRING ? "a string (POSIX ERE)" : "an integer");
            return 0;
        }
        if (want == TOML_INTEGER) {
            if (toml_int(e) < 1 || toml_int(e) > MAX_ATTR_CHARS) {
                ld_err(l, e, "subject.max_length.%s: %lld is out of range; use 1..%d",
                       toml_key(e), (long long)toml_int(e), MAX_ATTR_CHARS);
                return 0;
            }
            a->max_length = (long)toml_int(e);
            continue;
        }
        int rc = regcomp(&a->re, toml_str(e), REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[256];

            regerror(rc, &a->re, why, sizeof(why));
            ld_err(l, e, "subject.pattern.%s: invalid regular expression '%s': %s; fix the "
                   "POSIX ERE", toml_key(e), toml_str(e), why);
            return 0;
        }
        if ((a->pattern = strdup(toml_str(e))) == NULL) {
            regfree(&a->re);
            tmpl_seterr(TE_SYSTEM, "template: out of memory");
            return 0;
        }
    }
    return 1;
}

/* subject.repeatable: attribute types (from subject.allowed) that may appear more than once. */
static int ld_subject_repeatable(struct ld *l, const struct toml_node *s)
{
    const char **v = NULL;
    size_t n = 0;
    int ok = 1;

    if (!toml_get_str_array(s, "repeatable", 0, &v, &n))
        return 0;
    for (size_t i = 0; ok && i < n; i++) {
        struct tmpl_attr *a = attr_find(l->t, v[i]);
        if (a == NULL) {
            ld_err(l, toml_get(s, "repeatable"), "subject.repeatable: '%s' is not in "
                   "subject.allowed; add it there", v[i]);
            ok = 0;
        } else {
            a->repeatable = 1;
        }
    }
    free(v);
    return ok;
}

static int ld_subject(struct ld *l)
{
    const struct toml_node *s = toml_get(l->root, "subject");

    if (s != NULL && toml_type(s) != TOML_TABLE) {
        ld_err(l, s, "subject: must be a table; write [subject]");
        return 0;
    }
    if (!ld_subject_lists(l, s))
        return 0;
    if (s == NULL)
        return 1;
    return ld_subject_map(l, s, "max_length") && ld_subject_map(l, s, "pattern") &&
           ld_subject_repeatable(l, s) &&
           toml_get_bool(s, "allow_override", 0, &l->t->allow_override) &&
           toml_get_bool(s, "allow_empty", 0, &l->t->allow_empty);
}

/* A list of SAN type names into a bit mask. */
static int ld_san_types(struct ld *l, const struct toml_node *s, const char *key, unsigned *mask)
{
    const char **v = NULL;
    size_t n = 0;
    int ok = 0;

    if (!ld_strs(s, key, &v, &n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        int tp;

        for (tp = 0; tp < SAN_TYPE_COUNT && strcmp(v[i], san_type_name(tp)) != 0; tp++)
            ;
        if (tp == SAN_TYPE_COUNT) {
            ld_err(l, toml_get(s, key), "san.%s: '%s' is not a SAN type; use dns, upn, email, "
                   "uri or ip", key, v[i]);
            goto out;
        }
        *mask |= 1u << tp;
    }
    ok = 1;
out:
    free(v);
    return ok;
}

static int ld_san(struct ld *l)
{
    const struct toml_node *s = toml_get(l->root, "san");
    const char **v = NULL;
    size_t n = 0;
    int ok = 0;

    l->t->san_max_count = 10;
    l->t->san_from_request = ext_honoured(l->t, "san");
    if (s == NULL)
        return 1;
    if (toml_type(s) != TOML_TABLE) {
        ld_err(l, s, "san: must be a table; write [san]");
        return 0;
    }
    if (!ld_san_types(l, s, "allowed", &l->t->san_allowed) ||
        !ld_san_types(l, s, "required", &l->t->san_required) ||
        !ld_long(l, s, "max_count", 1, MAX_SAN_COUNT, &l->t->san_max_count) ||
        !toml_get_bool(s, "allow_wildcard", 0, &l->t->allow_wildcard) ||
        !toml_get_bool(s, "from_request", 0, &l->t->san_from_request) ||
        !ld_strs(s, "dns_suffixes", &v, &n))
        goto out;
    if ((l->t->san_required & ~l->t->san_allowed) != 0) {
        ld_err(l, toml_get(s, "required"), "san.required: lists a type that is not in "
               "san.allowed; add it there");
        goto out;
    }
    if (l->t->san_from_request && !ext_honoured(l->t, "san")) {
        ld_err(l, toml_get(s, "from_request"), "san.from_request: true but \"san\" is not in "
               "honour_extensions; add it there or set from_request = false");
        goto out;
    }
    if (n > MAX_TMPL_SUFFIXES) {
        ld_err(l, toml_get(s, "dns_suffixes"), "san.dns_suffixes: more than %d; shorten the list",
               MAX_TMPL_SUFFIXES);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i][0] == '\0' || v[i][0] == '.' || strchr(v[i], '*') != NULL) {
            ld_err(l, toml_get(s, "dns_suffixes"), "san.dns_suffixes: '%s' is not a domain; "
                   "write it like \"contoso.com\"", v[i]);
            goto out;
        }
        if ((l->t->suffixes[l->t->n_suffixes] = strdup(v[i])) == NULL)
            goto out;
        l->t->n_suffixes++;
    }
    ok = 1;
out:
    free(v);
    return ok;
}

static int ld_honour(struct ld *l)
{
    const char **v = NULL;
    size_t n = 0;

    if (!toml_get_str_array(l->root, "honour_extensions", 0, &v, &n))
        return 0;
    if (v == NULL)
        l->t->honour = 1u << ext_honour_index("san");
    for (size_t i = 0; v != NULL && i < n; i++) {
        int idx = ext_honour_index(v[i]);

        if (idx < 0) {
            ld_err(l, toml_get(l->root, "honour_extensions"), "honour_extensions: '%s' cannot be "
                   "taken from a request; use %s", v[i], ext_honour_names());
            free(v);
            return 0;
        }
        l->t->honour |= 1u << idx;
    }
    free(v);
    if (l->t->n_eku_opt > 0 && !ext_honoured(l->t, "eku")) {
        ld_err(l, toml_get(toml_get(l->root, "eku"), "optional"), "eku.optional: set but \"eku\" "
               "is not in honour_extensions; add \"eku\" there or drop eku.optional");
        return 0;
    }
    return 1;
}

static int ld_sid(struct ld *l)
{
    static const char *const pol[] = { "forbidden", "optional", "required" };
    static const char *const form[] = { "extension", "san-url", "both" };
    static const char *const src[] = { "operator", "request", "directory" };
    int p = SID_FORBIDDEN, f = SID_FORM_EXTENSION, s = -1;

    l->t->sid_domain_only = 1;
    if (!ld_choice(l, l->root, "sid", pol, 3, &p) ||
        !ld_choice(l, l->root, "sid_form", form, 3, &f) ||
        !ld_choice(l, l->root, "sid_source", src, 3, &s) ||
        !toml_get_bool(l->root, "sid_domain_only", 0, &l->t->sid_domain_only))
        return 0;
    l->t->sid = (enum sid_policy)p;
    l->t->sid_form = (enum sid_form)f;
    if (p == SID_FORBIDDEN) {
        const char *k = toml_get(l->root, "sid_form") != NULL ? "sid_form"
                      : toml_get(l->root, "sid_source") != NULL ? "sid_source"
                      : toml_get(l->root, "sid_domain_only") != NULL ? "sid_domain_only" : NULL;
        if (k != NULL) {
            ld_err(l, toml_get(l->root, k), "%s: has no effect when sid = \"forbidden\"; remove "
                   "it or set sid = \"required\"", k);
            return 0;
        }
        l->t->sid_source = SID_SRC_OPERATOR;
        return 1;
    }
    if (s < 0) {
        ld_err(l, toml_get(l->root, "sid"), "sid_source: missing; say where the SID comes from: "
               "\"operator\", \"request\" or \"directory\"");
        return 0;
    }
    l->t->sid_source = (enum sid_source)s;
    if (s == SID_SRC_REQUEST && !ext_honoured(l->t, "sid")) {
        ld_err(l, toml_get(l->root, "sid_source"), "sid_source: \"request\" but \"sid\" is not in "
               "honour_extensions; add it there");
        return 0;
    }
    return 1;
}

static int ld_ms(struct ld *l)
{
    const struct toml_node *m = toml_get(l->root, "ms");
    const char *name = NULL, *oid = NULL;
    char canon[MAX_OID_CHARS];

    l->t->ms_major = l->t->ms_minor = -1;
    if (m == NULL)
        return 1;
    if (toml_type(m) != TOML_TABLE) {
        ld_err(l, m, "ms: must be a table; write [ms]");
        return 0;
    }
    if (!toml_get_str(m, "template_name", 0, &name) || !toml_get_str(m, "template_oid", 0, &oid) ||
        !ld_long(l, m, "template_major", 0, 0x7fffffffL, &l->t->ms_major) ||
        !ld_long(l, m, "template_minor", 0, 0x7fffffffL, &l->t->ms_minor) ||
        !toml_get_bool(m, "application_policies", 0, &l->t->ms_app_policies))
        return 0;
    if (name != NULL && (name[0] == '\0' || (l->t->ms_template_name = strdup(name)) == NULL)) {
        ld_err(l, toml_get(m, "template_name"), "ms.template_name: empty; name the AD template");
        return 0;
    }
    if (oid == NULL && (l->t->ms_major >= 0 || l->t->ms_minor >= 0)) {
        ld_err(l, m, "ms: template_major/template_minor need template_oid; add it");
        return 0;
    }
    if (oid == NULL)
        return 1;
    if (!tmpl_eku_oid(oid, canon, sizeof(canon)) || strcmp(canon, oid) != 0 ||
        l->t->ms_major < 0 || l->t->ms_minor < 0) {
        ld_err(l, toml_get(m, "template_oid"), "ms.template_oid: '%s' must be a dotted OID and "
               "come with template_major and template_minor; fix the [ms] table", oid);
        return 0;
    }
    return (l->t->ms_template_oid = strdup(oid)) != NULL;
}

/* name must equal the file's base name without ".toml". */
static int ld_name(struct ld *l)
{
    const char *name = NULL, *desc = NULL, *base = strrchr(l->t->path, '/');
    size_t blen;

    base = base != NULL ? base + 1 : l->t->path;
    blen = strlen(base);
    if (!toml_get_str(l->root, "name", 1, &name) ||
        !toml_get_str(l->root, "description", 0, &desc))
        return 0;
    if ((l->t->name = strdup(name)) == NULL ||
        (l->t->description = strdup(desc != NULL ? desc : "")) == NULL)
        return 0;
    if (blen < 6 || strcmp(base + blen - 5, ".toml") != 0 || strlen(name) != blen - 5 ||
        strncmp(name, base, blen - 5) != 0) {
        ld_err(l, toml_get(l->root, "name"), "name: '%s' does not match the file name '%s'; "
               "rename one so that name = file name without .toml", name, base);
        return 0;
    }
    return 1;
}

/* Load and validate one template file. NULL with tmpl_error() (class 3) on any problem. Free with
 * tmpl_free(). */
struct tmpl *tmpl_load(const char *path)
{
    struct toml_node *doc = NULL;
    struct tmpl *t = NULL, *ret = NULL;
    struct ld l;

    tmpl_err_clear();
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->path = strdup(path)) == NULL) {
        tmpl_seterr(TE_SYSTEM, "%s: out of memory", path);
        goto out;
    }
    if ((doc = toml_load(path, tmpl_trust_config)) == NULL)
        goto out;
    l.t = t;
    l.root = doc;
    if (!ld_name(&l) || !ld_key(&l) || !ld_validity(&l) || !ld_eku(&l) || !ld_key_usage(&l) ||
        !ld_subject(&l) || !ld_honour(&l) || !ld_san(&l) || !ld_sid(&l) || !ld_ms(&l))
        goto out;
    if (!toml_check_unused(doc, DOC_HINT))
        goto out;
    ret = t;
    t = NULL;
out:
    if (ret == NULL && tmpl_error()[0] == '\0')
        tmpl_seterr(TE_SYSTEM, "%s: out of memory", path);
    toml_free(doc);
    tmpl_free(t);
    return ret;
}

/* Free a template (NULL is a no-op). */
void tmpl_free(struct tmpl *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_attrs; i++)
        if (t->attrs[i].pattern != NULL) {
            regfree(&t->attrs[i].re);
            free(t->attrs[i].pattern);
        }
    for (size_t i = 0; i < t->n_suffixes; i++)
        free(t->suffixes[i]);
    free(t->ms_template_name);
    free(t->ms_template_oid);
    free(t->path);
    free(t->name);
    free(t->description);
    free(t);
}

const char *tmpl_get0_name(const struct tmpl *t) { return t->name; }
const char *tmpl_get0_description(const struct tmpl *t) { return t->description; }
const char *tmpl_get0_path(const struct tmpl *t) { return t->path; }
enum sid_policy tmpl_sid_policy(const struct tmpl *t) { return t->sid; }
enum sid_source tmpl_sid_source(const struct tmpl *t) { return t->sid_source; }
int tmpl_allows_wildcard(const struct tmpl *t) { return t->allow_wildcard; }
long tmpl_days_default(const struct tmpl *t) { return t->days_default; }

/* ---- sets ----------------------------------------------------------------------------------- */

struct tmpl_set {
    struct tmpl *t[MAX_TEMPLATES];
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.toml file names of dir (at most MAX_TEMPLATES); caller frees each and the array. */
static char **set_list(const char *dir, size_t *n)
{
    DIR *d = tmpl_trust_opendir(dir);
    struct dirent *e;
    char **v = NULL;

    *n = 0;
    if (d == NULL)
        return NULL;
    if ((v = calloc(MAX_TEMPLATES + 1, sizeof(*v))) == NULL)
        goto out;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".toml") != 0)
            continue;
        if (*n == MAX_TEMPLATES) {
            tmpl_seterr(TE_INPUT, "%s: templates: more than %d templates; remove some", dir,
                        MAX_TEMPLATES);
            goto fail;
        }
        if ((v[*n] = strdup(e->d_name)) == NULL)
            goto fail;
        (*n)++;
    }
    if (*n > 1)
        qsort(v, *n, sizeof(*v), cmp_str);
    goto out;
fail:
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    free(v);
    v = NULL;
out:
    closedir(d);
    return v;
}

/* Load every *.toml of dir, in name order; refuses the whole set if any one is invalid. */
struct tmpl_set *tmpl_set_load(const char *dir)
{
    struct tmpl_set *s = NULL, *ret = NULL;
    char **names = NULL, path[4096];
    size_t n = 0;

    tmpl_err_clear();
    if ((names = set_list(dir, &n)) == NULL)
        goto out;
    if (n == 0) {
        tmpl_seterr(TE_INPUT, "%s: templates: no *.toml files; copy templates/shipped/*.toml "
                    "there", dir);
        goto out;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if ((s->t[s->n] = tmpl_load(path)) == NULL)
            goto out;
        s->n++;
    }
    ret = s;
    s = NULL;
out:
    if (ret == NULL && tmpl_error()[0] == '\0')
        tmpl_seterr(TE_SYSTEM, "%s: templates: out of memory", dir);
    for (size_t i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
    tmpl_set_free(s);
    return ret;
}

/* Free a set and its templates (NULL is a no-op). */
void tmpl_set_free(struct tmpl_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        tmpl_free(s->t[i]);
    free(s);
}

size_t tmpl_set_count(const struct tmpl_set *s) { return s->n; }
const struct tmpl *tmpl_set_at(const struct tmpl_set *s, size_t i)
{
    return i < s->n ? s->t[i] : NULL;
}

/* Template by name; NULL with a message listing the available names (class 2). */
const struct tmpl *tmpl_set_find(const struct tmpl_set *s, const char *name)
{
    char list[1024] = "";
    size_t off = 0;

    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i]->name, name) == 0)
            return s->t[i];
    for (size_t i = 0; i < s->n && off < sizeof(list); i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
                                s->t[i]->name);
    tmpl_seterr(TE_USAGE, "template %s: not found; use one of: %s", name, list);
    return NULL;
}

/* ---- describe ------------------------------------------------------------------------------- */

static const char *yn(int b) { return b ? "yes" : "no"; }

static void describe_eku(BIO *b, const char *label, const char (*v)[MAX_OID_CHARS], size_t n)
{
    BIO_printf(b, "%s", label);
    for (size_t i = 0; i < n; i++)
        BIO_printf(b, "%s%s", i ? ", " : " ", tmpl_eku_name(v[i]));
    BIO_printf(b, "%s\n", n == 0 ? " (none)" : "");
}

static void describe_body(BIO *b, const struct tmpl *t)
{
    static const char *const pol[] = { "forbidden", "optional", "required" };
    static const char *const form[] = { "extension", "san-url", "both" };
    static const char *const src[] = { "operator (--sid)", "request (CSR)", "directory" };

    BIO_printf(b, "template %s (%s)\n  %s\n", t->name, t->path, t->description);
    BIO_printf(b, "key:       %s", t->allow_rsa ? "RSA" : "");
    if (t->allow_rsa)
        BIO_printf(b, " %ld..%ld bits", t->rsa_min_bits, t->rsa_max_bits);
    if (t->allow_ec) {
        BIO_printf(b, "%sEC", t->allow_rsa ? "; " : "");
        for (size_t i = 0; i < t->n_curves; i++)
            BIO_printf(b, " %s", OBJ_nid2sn(t->curves[i]));
    }
    BIO_printf(b, "\nvalidity:  default %ld days, %ld..%ld\n", t->days_default, t->days_min,
               t->days_max);
    describe_eku(b, "eku req:  ", t->eku_req, t->n_eku_req);
    describe_eku(b, "eku opt:  ", t->eku_opt, t->n_eku_opt);
    BIO_printf(b, "key_usage:");
    for (int i = 0; i < TKU_BIT_COUNT; i++)
        if (t->ku & (1u << i))
            BIO_printf(b, " %s", tmpl_ku_name(i));
    BIO_printf(b, " (critical)\nsubject:  ");
    for (size_t i = 0; i < t->n_attrs; i++) {
        BIO_printf(b, " %s%s", t->attrs[i].name, t->attrs[i].required ? "(required)" : "");
        if (t->attrs[i].max_length > 0)
            BIO_printf(b, "[<=%ld]", t->attrs[i].max_length);
        if (t->attrs[i].pattern != NULL)
            BIO_printf(b, "[~ %s]", t->attrs[i].pattern);
    }
    BIO_printf(b, "; override %s; empty %s\nsan:      ", yn(t->allow_override), yn(t->allow_empty));
    for (int i = 0; i < SAN_TYPE_COUNT; i++)
        if (t->san_allowed & (1u << i))
            BIO_printf(b, " %s%s", san_type_name(i),
                       (t->san_required & (1u << i)) ? "(required)" : "");
    BIO_printf(b, "; max %ld; wildcard %s; from request %s", t->san_max_count,
               yn(t->allow_wildcard), yn(t->san_from_request));
    for (size_t i = 0; i < t->n_suffixes; i++)
        BIO_printf(b, "%s%s", i ? ", " : "; suffixes ", t->suffixes[i]);
    BIO_printf(b, "\nsid:       %s", pol[t->sid]);
    if (t->sid != SID_FORBIDDEN)
        BIO_printf(b, " as %s from %s; domain SIDs only %s", form[t->sid_form],
                   src[t->sid_source], yn(t->sid_domain_only));
    BIO_printf(b, "\nms:        template name %s; template oid %s", t->ms_template_name != NULL ?
               t->ms_template_name : "(none)", t->ms_template_oid != NULL ? t->ms_template_oid
               : "(none)");
    if (t->ms_template_oid != NULL)
        BIO_printf(b, " v%ld.%ld", t->ms_major, t->ms_minor);
    BIO_printf(b, "; application policies %s\n", yn(t->ms_app_policies));
}

/* Multi-line text of every setting, for `offca template show`. Caller frees with free(). */
char *tmpl_describe(const struct tmpl *t)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *ret = NULL;
    long len;

    if (b == NULL)
        goto out;
    describe_body(b, t);
    if ((len = BIO_get_mem_data(b, &data)) <= 0)
        goto out;
    ret = strndup(data, (size_t)len);
out:
    if (ret == NULL)
        tmpl_seterr(TE_SYSTEM, "template %s: describe: out of memory", t->name);
    BIO_free(b);
    return ret;
}
