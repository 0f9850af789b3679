/*
 * tmpl_policy.c — evaluate a parsed request against a template and decide the issue plan: key,
 * validity, subject, SANs, SID, EKU; the extensions themselves come from the handler table in
 * ext.c. No I/O besides the directory lookup the caller hands in.
 */
#include "templates/template.h"
#include "templates/tmpl_err.h"
#include "templates/tmpl_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

/* "<src>: template <name>: <rule>: <problem>; <fix>" with exit class code. */
void plan_seterr(const struct plan_ctx *c, int code, const char *rule, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tmpl_seterr(code, "%s: template %s: %s: %s", c->src, c->t->name, rule, msg);
}

/* ---- key ------------------------------------------------------------------------------------ */

/* "RSA 2048..4096 bits or EC P-256, P-384" into buf. */
static const char *key_allowed_text(const struct tmpl *t, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    if (t->allow_rsa)
        off += (size_t)snprintf(buf, len, "RSA %ld..%ld bits", t->rsa_min_bits, t->rsa_max_bits);
    for (size_t i = 0; t->allow_ec && i < t->n_curves && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : off ? " or EC " : "EC ",
                                EC_curve_nid2nist(t->curves[i]));
    return buf;
}

static int curve_allowed(const struct tmpl *t, int nid)
{
    for (size_t i = 0; t->allow_ec && i < t->n_curves; i++)
        if (t->curves[i] == nid)
            return 1;
    return 0;
}

static int check_key(struct plan_ctx *c)
{
    EVP_PKEY *k = c->req->pubkey;
    char allowed[256], group[64] = "";
    int bits;

    key_allowed_text(c->t, allowed, sizeof(allowed));
    if (k == NULL) {
        plan_seterr(c, TE_INPUT, "key", "the request carries no public key; rebuild the request");
        return 0;
    }
    bits = EVP_PKEY_get_bits(k);
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        c->key_is_rsa = 1;
        if (c->t->allow_rsa && bits >= c->t->rsa_min_bits && bits <= c->t->rsa_max_bits)
            return 1;
        plan_seterr(c, TE_POLICY, "key", "RSA key of %d bits is %s; request a new key (allowed: "
                    "%s)", bits, !c->t->allow_rsa ? "not allowed" : bits < c->t->rsa_min_bits
                    ? "below the minimum" : "above the maximum", allowed);
        return 0;
    }
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
        int nid = NID_undef;

        if (EVP_PKEY_get_group_name(k, group, sizeof(group), NULL))
            nid = OBJ_txt2nid(group);
        ERR_clear_error();
        if (curve_allowed(c->t, nid))
            return 1;
        plan_seterr(c, TE_POLICY, "key", "EC key on curve %s is not allowed; request a new key "
                    "(allowed: %s)", group[0] ? group : "(unknown)", allowed);
        return 0;
    }
    plan_seterr(c, TE_POLICY, "key", "%s key is not allowed; request a new key (allowed: %s)",
                EVP_PKEY_get0_type_name(k) != NULL ? EVP_PKEY_get0_type_name(k) : "unknown",
                allowed);
    return 0;
}

/* The key gate's policy for this template: its key types, RSA sizes and curves. */
void tmpl_keygate_policy(const struct tmpl *t, struct keygate_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->allow_rsa = t->allow_rsa;
    p->allow_ec = t->allow_ec;
    p->rsa_min_bits = t->rsa_min_bits;
    p->rsa_max_bits = t->rsa_max_bits;
    p->curves = t->curves;
    p->n_curves = t->n_curves;
}

/* key.allow_sha1_requests and key.allow_reuse of the template. */
int tmpl_allow_sha1_requests(const struct tmpl *t) { return t->allow_sha1_requests; }
int tmpl_allow_key_reuse(const struct tmpl *t) { return t->allow_key_reuse; }

/* A CSR signed with SHA-1 only when the template says so (CA/B BR 7.1.3.2: no SHA-1). */
static int check_sig_hash(struct plan_ctx *c)
{
    if (!c->req->csr_sig_sha1 || c->t->allow_sha1_requests)
        return 1;
    plan_seterr(c, TE_POLICY, "request signature", "the request is signed with SHA-1, which this "
                "template refuses (key.allow_sha1_requests); regenerate the request with SHA-256");
    return 0;
}

/* Whether the server-side key algorithm alg ("rsa2048", "rsa3072", "rsa4096", "p256", "p384",
 * "p521") is allowed by t. 0 with a message (class 2 for an unknown name, 1 when refused). */
int tmpl_key_alg_allowed(const struct tmpl *t, const char *alg)
{
    static const struct { const char *name; int nid; } ec[] = {
        { "p256", NID_X9_62_prime256v1 }, { "p384", NID_secp384r1 }, { "p521", NID_secp521r1 },
    };
    char allowed[256];

    key_allowed_text(t, allowed, sizeof(allowed));
    if (strncmp(alg, "rsa", 3) == 0 && strspn(alg + 3, "0123456789") == strlen(alg + 3) &&
        strlen(alg + 3) >= 3 && strlen(alg + 3) <= 5) {
        long bits = strtol(alg + 3, NULL, 10);

        if (t->allow_rsa && bits >= t->rsa_min_bits && bits <= t->rsa_max_bits)
            return 1;
        tmpl_seterr(TE_POLICY, "template %s: key: %s is not allowed; choose one of: %s", t->name,
                    alg, allowed);
        return 0;
    }
    for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++)
        if (strcmp(alg, ec[i].name) == 0) {
            if (curve_allowed(t, ec[i].nid))
                return 1;
            tmpl_seterr(TE_POLICY, "template %s: key: %s is not allowed; choose one of: %s",
                        t->name, alg, allowed);
            return 0;
        }
    tmpl_seterr(TE_USAGE, "template %s: key: '%s' is not a key algorithm; use rsa2048, rsa3072, "
                "rsa4096, p256, p384 or p521", t->name, alg);
    return 0;
}

/* ---- validity ------------------------------------------------------------------------------- */

static int check_days(struct plan_ctx *c, int *days)
{
    const struct tmpl *t = c->t;

    if (c->req->days == 0) {
        *days = (int)t->days_default;
        return 1;
    }
    if (c->req->days >= t->days_min && c->req->days <= t->days_max) {
        *days = c->req->days;
        return 1;
    }
    plan_seterr(c, TE_POLICY, "validity", "%d days is %s %ld; use --days between %ld and %ld or "
                "leave it out for %ld", c->req->days, c->req->days < t->days_min ?
                "below the minimum" : "above the maximum", c->req->days < t->days_min ?
                t->days_min : t->days_max, t->days_min, t->days_max, t->days_default);
    return 0;
}

/* ---- subject -------------------------------------------------------------------------------- */

static const struct tmpl_attr *attr_by_nid(const struct tmpl *t, int nid)
{
    for (size_t i = 0; i < t->n_attrs; i++)
        if (t->attrs[i].nid == nid)
            return &t->attrs[i];
    return NULL;
}

static const char *allowed_attrs(const struct tmpl *t, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < t->n_attrs && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", t->attrs[i].name);
    return buf;
}

/* One attribute value: characters, length, pattern. */
static int check_attr_value(struct plan_ctx *c, const struct tmpl_attr *a, const ASN1_STRING *v)
{
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, v), ok = 0;
    long chars = 0;

    if (len < 0) {
        ERR_clear_error();
        plan_seterr(c, TE_INPUT, "subject", "%s does not decode as text; rebuild the request",
                    a->name);
        return 0;
    }
    for (int i = 0; i < len; i++) {
        if (u[i] < 0x20 || u[i] == 0x7f) {
            plan_seterr(c, TE_POLICY, "subject", "%s contains a control character or NUL "
                        "(byte 0x%02x); remove it", a->name, u[i]);
            goto out;
        }
        chars += (u[i] & 0xc0) != 0x80;
    }
    if (a->max_length > 0 && chars > a->max_length) {
        plan_seterr(c, TE_POLICY, "subject", "%s has %ld characters, more than the maximum %ld; "
                    "shorten it", a->name, chars, a->max_length);
        goto out;
    }
    if (a->pattern != NULL && regexec(&a->re, (const char *)u, 0, NULL, 0) != 0) {
        plan_seterr(c, TE_POLICY, "subject", "%s '%s' does not match the pattern %s; fix the "
                    "name", a->name, (const char *)u, a->pattern);
        goto out;
    }
    ok = 1;
out:
    OPENSSL_free(u);
    return ok;
}

/* The attribute at index i appears only once in name (multi-valued RDNs included), unless the
 * template lists it in subject.repeatable; DC is a path, so it always may repeat. */
static int check_attr_once(struct plan_ctx *c, const X509_NAME *name, int i,
                           const struct tmpl_attr *a)
{
    int n = 0, same_rdn = 0, set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i));

    if (a->repeatable || a->nid == NID_domainComponent)
        return 1;
    for (int j = -1; (j = X509_NAME_get_index_by_NID(name, a->nid, j)) >= 0;) {
        n++;
        if (j != i && X509_NAME_ENTRY_set(X509_NAME_get_entry(name, j)) == set)
            same_rdn = 1;
    }
    if (n < 2)
        return 1;
    plan_seterr(c, TE_POLICY, "subject", "attribute %s appears %d times%s; a subject names it once "
                "unless the template lists it in subject.repeatable; request a subject with one %s",
                a->name, n, same_rdn ? " (in one multi-valued RDN)" : "", a->name);
    return 0;
}

/* Choose the subject (CSR or --subject) and check it against [subject]. */
static int check_subject(struct plan_ctx *c, X509_NAME **out)
{
    const struct tmpl *t = c->t;
    const X509_NAME *src = c->req->subject_override != NULL ? c->req->subject_override
                                                             : c->req->csr_subject;
    char buf[256];

    if (c->req->subject_override != NULL && !t->allow_override) {
        plan_seterr(c, TE_POLICY, "subject", "--subject may not replace the request's subject "
                    "with this template; drop --subject or use a template with allow_override");
        return 0;
    }
    for (int i = 0; src != NULL && i < X509_NAME_entry_count(src); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(src, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        const struct tmpl_attr *a = attr_by_nid(t, nid);

        if (a != NULL && !check_attr_once(c, src, i, a))
            return 0;
        if (a == NULL) {
            if (nid != NID_undef)
                snprintf(buf, 128, "%s", OBJ_nid2sn(nid));
            else
                OBJ_obj2txt(buf, 128, X509_NAME_ENTRY_get_object(e), 1);
            plan_seterr(c, TE_POLICY, "subject", "attribute %s is not allowed (allowed: %s); "
                        "remove it", buf, allowed_attrs(t, buf + 128, 128));
            return 0;
        }
        if (!check_attr_value(c, a, X509_NAME_ENTRY_get_data(e)))
            return 0;
    }
    for (size_t i = 0; i < t->n_attrs; i++)
        if (t->attrs[i].required &&
            (src == NULL || X509_NAME_get_index_by_NID(src, t->attrs[i].nid, -1) < 0)) {
            plan_seterr(c, TE_POLICY, "subject", "required attribute %s is missing; add it to the "
                        "request%s", t->attrs[i].name, t->allow_override ? " or --subject" : "");
            return 0;
        }
    if ((src == NULL || X509_NAME_entry_count(src) == 0) && !t->allow_empty) {
        plan_seterr(c, TE_POLICY, "subject", "the subject is empty; give one in the request%s",
                    t->allow_override ? " or with --subject" : "");
        return 0;
    }
    *out = src != NULL ? X509_NAME_dup(src) : X509_NAME_new();
    if (*out == NULL)
        plan_seterr(c, TE_SYSTEM, "subject", "out of memory; retry");
    return *out != NULL;
}

/* ---- SAN values ----------------------------------------------------------------------------- */

static int has_ctl(const char *s, int ascii_only)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == 0x7f || (ascii_only && (unsigned char)*s >= 0x80))
            return 1;
    return 0;
}

/* RFC 1035 / 5280 host name: LDH labels of 1..63, at most 253 chars; "*" as a whole leftmost
 * label when wildcard is set (and at least two labels after it). */
static const char *dns_problem(const char *name, int wildcard)
{
    size_t len = strlen(name), labels = 0;
    const char *p = name;

    if (len == 0 || len > 253)
        return "must have 1 to 253 characters";
    if (p[0] == '*' && p[1] == '.') {
        if (!wildcard)
            return "is a wildcard, which this template does not allow";
        p += 2;
        labels = 1;
    }
    while (*p) {
        size_t l = strcspn(p, ".");

        if (l == 0 || l > 63)
            return "has an empty label or a label longer than 63 characters";
        if (p[0] == '-' || p[l - 1] == '-')
            return "has a label that starts or ends with '-'";
        for (size_t i = 0; i < l; i++)
            if (!isalnum((unsigned char)p[i]) && p[i] != '-')
                return p[i] == '*' ? "has '*' outside a whole leftmost label"
                                   : "has a character outside letters, digits, '-' and '.'";
        labels++;
        p += l;
        if (*p == '.' && *++p == '\0')
            return "ends with '.'";
    }
    if (name[0] == '*' && labels < 3)
        return "is a wildcard over a top-level domain";
    return NULL;
}

static int suffix_ok(const struct tmpl *t, const char *domain)
{
    size_t dl = strlen(domain);

    if (t->n_suffixes == 0)
        return 1;
    for (size_t i = 0; i < t->n_suffixes; i++) {
        size_t sl = strlen(t->suffixes[i]);

        if (dl == sl && strcasecmp(domain, t->suffixes[i]) == 0)
            return 1;
        if (dl > sl && domain[dl - sl - 1] == '.' && strcasecmp(domain + dl - sl,
                                                                  t->suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

/* "local@domain" with a DNS domain; NULL when fine. */
static const char *mailbox_problem(const char *v, int ascii_only, const char **domain)
{
    const char *at = strrchr(v, '@');

    if (at == NULL || at == v || strchr(v, '@') != at)
        return "must be local@domain with exactly one '@'";
    if (has_ctl(v, ascii_only))
        return ascii_only ? "contains spaces, control or non-ASCII characters"
                          : "contains spaces or control characters";
    *domain = at + 1;
    return dns_problem(at + 1, 0) != NULL ? "has an invalid domain part" : NULL;
}

static const char *uri_problem(const char *v)
{
    size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");

    if (n == 0 || !isalpha((unsigned char)v[0]) || v[n] != ':' || v[n + 1] == '\0')
        return "has no scheme (like https:)";
    if (has_ctl(v, 1))
        return "contains spaces, control or non-ASCII characters";
    if (strncmp(v, SID_URL_PREFIX, strlen(SID_URL_PREFIX)) == 0)
        return "is a SID URL, which offca emits itself from the SID";
    return NULL;
}

/* Syntax and template rules for one SAN value; 1 ok / 0 with error (class 1). */
int tmpl_san_value_check(const struct plan_ctx *c, enum san_type type, const char *value)
{
    const char *why = NULL, *domain = NULL;
    unsigned char ip[16];

    switch (type) {
    case SAN_DNS: why = dns_problem(value, c->t->allow_wildcard); domain = value; break;
    case SAN_UPN: why = mailbox_problem(value, 0, &domain); break;
    case SAN_EMAIL: why = mailbox_problem(value, 1, &domain); domain = NULL; break;
    case SAN_URI: why = uri_problem(value); break;
    case SAN_IP:
        if (inet_pton(AF_INET, value, ip) != 1 && inet_pton(AF_INET6, value, ip) != 1)
            why = "is not an IPv4 or IPv6 address";
        break;
    default: why = "has an unknown type"; break;
    }
    if (why == NULL && domain != NULL && !suffix_ok(c->t, domain[0] == '*' ? domain + 2 : domain))
        why = "is outside the template's dns_suffixes";
    if (why == NULL)
        return 1;
    plan_seterr(c, TE_POLICY, "san", "%s:%s %s; %s", san_type_name(type), value, why,
                strstr(why, "SID URL") != NULL ? "give the SID with --sid instead"
                : strstr(why, "dns_suffixes") != NULL ? "use a name in an allowed domain"
                : "fix the name");
    return 0;
}

/* ---- SAN list ------------------------------------------------------------------------------- */

/* Two SAN values name the same thing: DNS names (RFC 4343), UPNs (AD) and, in practice, mail
 * addresses compare ASCII case-insensitively; URIs and IP addresses exactly. */
static int san_same(const struct san *a, const struct san *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == SAN_DNS || a->type == SAN_UPN || a->type == SAN_EMAIL)
        return strcasecmp(a->value, b->value) == 0;
    return strcmp(a->value, b->value) == 0;
}

/* Add one SAN to the plan unless an equal one is there (the first spelling wins). */
static int san_add(struct plan_ctx *c, struct tmpl_plan *p, const struct san *s)
{
    char *v;

    for (size_t i = 0; i < p->n_sans; i++)
        if (san_same(&p->sans[i], s))
            return 1;
    if (!(c->t->san_allowed & (1u << s->type))) {
        plan_seterr(c, TE_POLICY, "san", "%s:%s: %s names are not allowed by this template; "
                    "remove it", san_type_name(s->type), s->value, san_type_name(s->type));
        return 0;
    }
    if (!tmpl_san_value_check(c, s->type, s->value))
        return 0;
    if (p->n_sans == (size_t)c->t->san_max_count) {
        plan_seterr(c, TE_POLICY, "san", "more than %ld names; request at most %ld",
                    c->t->san_max_count, c->t->san_max_count);
        return 0;
    }
    if ((v = strdup(s->value)) == NULL) {
        plan_seterr(c, TE_SYSTEM, "san", "out of memory; retry");
        return 0;
    }
    p->sans[p->n_sans].type = s->type;
    p->sans[p->n_sans++].value = v;
    return 1;
}

/* Union of --san and (when honoured) the CSR's SAN, deduplicated, checked. */
static int check_sans(struct plan_ctx *c, struct tmpl_plan *p)
{
    size_t n = c->req->n_op_sans + (c->t->san_from_request ? c->n_csr_sans : 0);

    if ((p->sans = calloc(n + 1, sizeof(*p->sans))) == NULL) {
        plan_seterr(c, TE_SYSTEM, "san", "out of memory; retry");
        return 0;
    }
    for (size_t i = 0; i < c->req->n_op_sans; i++)
        if (!san_add(c, p, &c->req->op_sans[i]))
            return 0;
    for (size_t i = 0; c->t->san_from_request && i < c->n_csr_sans; i++)
        if (!san_add(c, p, &c->csr_sans[i]))
            return 0;
    for (int tp = 0; tp < SAN_TYPE_COUNT; tp++) {
        size_t i;

        if (!(c->t->san_required & (1u << tp)))
            continue;
        for (i = 0; i < p->n_sans && p->sans[i].type != (enum san_type)tp; i++)
            ;
        if (i == p->n_sans) {
            plan_seterr(c, TE_POLICY, "san", "a %s name is required and none was given; add "
                        "--san %s:...%s", san_type_name(tp), san_type_name(tp),
                        c->t->san_from_request ? " or put it in the request" : "");
            return 0;
        }
    }
    if (p->n_sans == 0 && X509_NAME_entry_count(p->subject) == 0) {
        plan_seterr(c, TE_POLICY, "san", "the subject is empty and there is no SAN, so the "
                    "certificate would name nobody; add a SAN");
        return 0;
    }
    c->sans = p->sans;
    c->n_sans = p->n_sans;
    return 1;
}

/* ---- EKU ------------------------------------------------------------------------------------ */

/* Issued EKU = required + (optional requested in the CSR, when "eku" is honoured). */
static void choose_ekus(struct plan_ctx *c)
{
    for (size_t i = 0; i < c->t->n_eku_req; i++)
        c->ekus[c->n_ekus++] = c->t->eku_req[i];
    for (size_t i = 0; ext_honoured(c->t, "eku") && i < c->t->n_eku_opt; i++)
        if (c->csr_eku_opt[i])
            c->ekus[c->n_ekus++] = c->t->eku_opt[i];
}

/* ---- SID ------------------------------------------------------------------------------------ */

static const char *const sid_src_text[] = {
    "the operator (--sid)", "the request (SID extension or SAN URL)",
    "the directory (offca directory import)",
};

/* The SID the CSR carries (extension or SAN URL; both must agree), or NULL. */
static int csr_sid(struct plan_ctx *c, const char **out)
{
    *out = NULL;
    if (c->csr_sid_ext[0] && c->csr_sid_url[0] && strcmp(c->csr_sid_ext, c->csr_sid_url) != 0) {
        plan_seterr(c, TE_POLICY, "sid", "the request's SID extension says %s but its SAN URL says "
                    "%s; rebuild the request with one SID", c->csr_sid_ext, c->csr_sid_url);
        return 0;
    }
    if (c->csr_sid_ext[0])
        *out = c->csr_sid_ext;
    else if (c->csr_sid_url[0])
        *out = c->csr_sid_url;
    return 1;
}

/* One directory lookup for sid_from_directory: a SID into found (first match) or a check that
 * it agrees with the one found before. *first names the SAN that gave it. 1 ok / 0 error set. */
static int dir_lookup_one(struct plan_ctx *c, const struct san *who, char *found, size_t n,
                          const struct san **first)
{
    char sid[MAX_SID_CHARS + 1];
    int r;

    if (c->req->lookup == NULL) {
        plan_seterr(c, TE_USAGE, "sid", "the template takes the SID from the directory but no "
                    "directory was given; report this as a bug");
        return 0;
    }
    r = c->req->lookup(c->req->lookup_arg, who->type, who->value, sid, sizeof(sid));
    if (r < 0) {
        plan_seterr(c, TE_SYSTEM, "sid", "the directory lookup of %s:%s failed; see the store "
                    "message and retry", san_type_name(who->type), who->value);
        return 0;
    }
    if (r > 1) {
        plan_seterr(c, TE_POLICY, "sid", "%d directory entries match %s:%s, the SID is ambiguous; "
                    "fix the directory import", r, san_type_name(who->type), who->value);
        return 0;
    }
    if (r == 1 && *first == NULL) {
        snprintf(found, n, "%s", sid);
        *first = who;
    } else if (r == 1 && strcmp(found, sid) != 0) {
        plan_seterr(c, TE_POLICY, "sid", "%s:%s and %s:%s name different directory entries (%s, "
                    "%s), the SID is ambiguous; request one principal per certificate",
                    san_type_name((*first)->type), (*first)->value, san_type_name(who->type),
                    who->value, found, sid);
        return 0;
    }
    return 1;
}

/* sid_source = "directory": look up every UPN SAN (users), or when there is none every DNS SAN
 * (devices). Names not in the directory are ignored, but all that are found must name ONE
 * principal: the KDC maps the certificate by its SAN and the SID must belong to that account
 * (KB5014754, MS-PKCA 3.1.5.2.1.6), so SANs of two principals make the SID ambiguous. */
static int sid_from_directory(struct plan_ctx *c)
{
    const struct san *first = NULL, *asked = NULL;
    enum san_type kind = SAN_DNS;

    for (size_t i = 0; i < c->n_sans; i++)
        if (c->sans[i].type == SAN_UPN)
            kind = SAN_UPN;
    for (size_t i = 0; i < c->n_sans; i++) {
        if (c->sans[i].type != kind)
            continue;
        if (asked == NULL)
            asked = &c->sans[i];
        if (!dir_lookup_one(c, &c->sans[i], c->sid_buf, sizeof(c->sid_buf), &first))
            return 0;
    }
    if (asked == NULL)
        return 1;           /* nobody to look up: "required" reports it */
    if (first == NULL && c->t->sid == SID_REQUIRED) {
        plan_seterr(c, TE_POLICY, "sid", "no directory entry for %s:%s; run 'offca directory "
                    "import FILE.csv'", san_type_name(asked->type), asked->value);
        return 0;
    }
    if (first != NULL)
        c->sid = c->sid_buf;
    return 1;
}

/* Strict syntax, and S-1-5-21-a-b-c-RID when sid_domain_only. */
static int sid_syntax(struct plan_ctx *c)
{
    const char *p;
    int dashes = 0;

    if (!sid_check(c->sid)) {
        tmpl_err_prefix("%s: template %s: sid", c->src, c->t->name);
        return 0;
    }
    for (p = c->sid; *p; p++)
        dashes += *p == '-';
    if (!c->t->sid_domain_only || (strncmp(c->sid, "S-1-5-21-", 9) == 0 && dashes == 7))
        return 1;
    plan_seterr(c, TE_POLICY, "sid", "%s is not a domain account SID (S-1-5-21-a-b-c-RID); give "
                "the SID of the user or computer account", c->sid);
    return 0;
}

/* Decide the SID: source, policy, and agreement with whatever the CSR carries. */
static int check_sid(struct plan_ctx *c)
{
    const struct tmpl *t = c->t;
    const char *from_csr;

    if (c->req->op_sid != NULL && (t->sid == SID_FORBIDDEN || t->sid_source != SID_SRC_OPERATOR)) {
        plan_seterr(c, t->sid == SID_FORBIDDEN ? TE_POLICY : TE_USAGE, "sid", "--sid is not "
                    "accepted: %s; drop --sid", t->sid == SID_FORBIDDEN ? "this template forbids "
                    "a SID" : t->sid_source == SID_SRC_REQUEST ? "this template takes the SID "
                    "from the request" : "this template takes the SID from the directory");
        return 0;
    }
    if (!csr_sid(c, &from_csr))
        return 0;
    if (t->sid == SID_FORBIDDEN) {
        if (from_csr == NULL)
            return 1;
        plan_seterr(c, TE_POLICY, "sid", "the request carries SID %s but this template forbids "
                    "a SID; rebuild the request without it or use another template", from_csr);
        return 0;
    }
    if (t->sid_source == SID_SRC_OPERATOR)
        c->sid = c->req->op_sid;
    else if (t->sid_source == SID_SRC_REQUEST)
        c->sid = from_csr;
    else if (!sid_from_directory(c))
        return 0;
    if (c->sid == NULL) {
        if (t->sid != SID_REQUIRED)
            return 1;
        plan_seterr(c, TE_POLICY, "sid", "a SID is required and none came from %s; %s",
                    sid_src_text[t->sid_source], t->sid_source == SID_SRC_OPERATOR ? "add --sid" :
                    t->sid_source == SID_SRC_REQUEST ? "rebuild the request with the SID" :
                    "add a upn or dns SAN naming the account");
        return 0;
    }
    if (from_csr != NULL && strcmp(from_csr, c->sid) != 0) {
        plan_seterr(c, TE_POLICY, "sid", "the request carries SID %s but %s gives %s; fix the "
                    "request or the directory", from_csr, sid_src_text[t->sid_source], c->sid);
        return 0;
    }
    return sid_syntax(c);
}

/* ---- plan ----------------------------------------------------------------------------------- */

/* Evaluate req against t (see template.h). The plan is owned by the caller: tmpl_plan_free(). */
struct tmpl_plan *tmpl_check(const struct tmpl *t, const struct tmpl_request *req)
{
    struct plan_ctx *c = calloc(1, sizeof(*c));
    struct tmpl_plan *p = calloc(1, sizeof(*p)), *ret = NULL;

    tmpl_err_clear();
    if (c == NULL || p == NULL) {
        tmpl_seterr(TE_SYSTEM, "template %s: out of memory; retry", t->name);
        goto out;
    }
    c->t = t;
    c->req = req;
    c->src = req->source != NULL ? req->source : "request";
    p->template_name = t->name;
    p->min_days = (int)t->days_min;
    if (!check_key(c) || !check_sig_hash(c) || !check_days(c, &p->days) || !ext_read_request(c) ||
        !check_subject(c, &p->subject))
        goto out;
    c->subject = p->subject;
    if (!check_sans(c, p) || !check_sid(c))
        goto out;
    choose_ekus(c);
    if ((p->exts = ext_build_all(c)) == NULL)
        goto out;
    if (c->sid != NULL && (p->sid = strdup(c->sid)) == NULL) {
        tmpl_seterr(TE_SYSTEM, "template %s: out of memory; retry", t->name);
        goto out;
    }
    ret = p;
    p = NULL;
out:
    for (size_t i = 0; c != NULL && i < c->n_csr_sans; i++)
        free(c->csr_sans[i].value);
    free(c);
    tmpl_plan_free(p);
    return ret;
}

/* Free a plan (NULL is a no-op). */
void tmpl_plan_free(struct tmpl_plan *p)
{
    if (p == NULL)
        return;
    X509_NAME_free(p->subject);
    sk_X509_EXTENSION_pop_free(p->exts, X509_EXTENSION_free);
    for (size_t i = 0; i < p->n_sans; i++)
        free(p->sans[i].value);
    free(p->sans);
    free(p->sid);
    free(p);
}
