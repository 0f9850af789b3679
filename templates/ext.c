/*
 * ext.c — the ONE table of extension handlers. Each entry knows its OID, how to read what a CSR
 * asks for (if it may ever be taken from a request) and how to build the extension the plan
 * carries. The table order is the plan's extension order. ASN.1 goes through OpenSSL's templates
 * (X509V3_EXT_i2d/d2i) and the Microsoft encoders of msfmt.c/sid.c; no hand-made DER.
 */
#include "templates/template.h"
#include "templates/tmpl_err.h"
#include "templates/tmpl_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>

static void ext_ossl_err(const struct plan_ctx *c, const char *what)
{
    char buf[512];

    base_ossl_drain(buf, sizeof(buf));
    if (buf[0] == '\0')
        snprintf(buf, sizeof(buf), "no detail");
    plan_seterr(c, TE_SYSTEM, "extensions", "cannot build %s (%s); report this as a bug", what,
                buf);
}

/* ---- keyUsage and EKU names (the template vocabulary) ------------------------------------- */

static const char *const ku_names[TKU_BIT_COUNT] = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
};

static const struct { const char *name; const char *oid; } eku_names[] = {
    { "serverAuth", "1.3.6.1.5.5.7.3.1" }, { "clientAuth", "1.3.6.1.5.5.7.3.2" },
    { "codeSigning", "1.3.6.1.5.5.7.3.3" }, { "emailProtection", "1.3.6.1.5.5.7.3.4" },
    { "timeStamping", "1.3.6.1.5.5.7.3.8" }, { "OCSPSigning", "1.3.6.1.5.5.7.3.9" },
    { "smartcardLogon", OID_MS_SMARTCARD_LOGON },
};

/* keyUsage bit for a template name, or -1. */
int tmpl_ku_bit(const char *name)
{
    for (int i = 0; i < TKU_BIT_COUNT; i++)
        if (strcmp(ku_names[i], name) == 0)
            return i;
    return -1;
}

/* Template name of keyUsage bit i. */
const char *tmpl_ku_name(int bit)
{
    return bit >= 0 && bit < TKU_BIT_COUNT ? ku_names[bit] : "?";
}

/* EKU name or dotted OID -> canonical dotted OID text; 0 when neither. */
int tmpl_eku_oid(const char *name, char *out, size_t outlen)
{
    ASN1_OBJECT *obj;
    int n;

    for (size_t i = 0; i < sizeof(eku_names) / sizeof(eku_names[0]); i++)
        if (strcmp(eku_names[i].name, name) == 0) {
            snprintf(out, outlen, "%s", eku_names[i].oid);
            return 1;
        }
    if (name[0] < '0' || name[0] > '2' || strspn(name, "0123456789.") != strlen(name))
        return 0;
    if ((obj = OBJ_txt2obj(name, 1)) == NULL)
        return 0;
    n = OBJ_obj2txt(out, (int)outlen, obj, 1);
    ASN1_OBJECT_free(obj);
    return n > 0 && (size_t)n < outlen;
}

/* Template name of an EKU OID ("clientAuth"), or the OID itself. */
const char *tmpl_eku_name(const char *oid)
{
    for (size_t i = 0; i < sizeof(eku_names) / sizeof(eku_names[0]); i++)
        if (strcmp(eku_names[i].oid, oid) == 0)
            return eku_names[i].name;
    return oid;
}

/* ---- basicConstraints (critical, CA:FALSE — end-entity only) -------------------------------- */

static int build_bc(struct plan_ctx *c, X509_EXTENSION **out)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

    if (bc != NULL) {
        bc->ca = 0;
        *out = X509V3_EXT_i2d(NID_basic_constraints, 1, bc);
    }
    BASIC_CONSTRAINTS_free(bc);
    if (*out == NULL)
        ext_ossl_err(c, "basicConstraints");
    return *out != NULL;
}

/* ---- keyUsage (critical). keyEncipherment only for RSA, keyAgreement only for EC ------------ */

static int build_ku(struct plan_ctx *c, X509_EXTENSION **out)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    unsigned ku = c->t->ku;
    int ok = bs != NULL;

    ku &= c->key_is_rsa ? ~(1u << TKU_KEY_AGREEMENT) : ~(1u << TKU_KEY_ENCIPHERMENT);
    if (ku == 0) {
        plan_seterr(c, TE_POLICY, "key usage", "the template's key_usage leaves nothing for %s "
                    "key; request a key of the other type", c->key_is_rsa ? "an RSA" : "an EC");
        ASN1_BIT_STRING_free(bs);
        return 0;
    }
    for (int i = 0; ok && i < TKU_BIT_COUNT; i++)
        if (ku & (1u << i))
            ok = ASN1_BIT_STRING_set_bit(bs, i, 1);
    if (ok)
        *out = X509V3_EXT_i2d(NID_key_usage, 1, bs);
    ASN1_BIT_STRING_free(bs);
    if (*out == NULL)
        ext_ossl_err(c, "keyUsage");
    return *out != NULL;
}

/* ---- extendedKeyUsage (non-critical) -------------------------------------------------------- */

/* The CSR's EKU request: every OID must be in the template; optional ones are remembered. */
static int read_eku(struct plan_ctx *c, const X509_EXTENSION *ext)
{
    EXTENDED_KEY_USAGE *eku = X509V3_EXT_d2i((X509_EXTENSION *)ext);
    char oid[MAX_OID_CHARS];
    int ok = 0;

    if (eku == NULL) {
        plan_seterr(c, TE_INPUT, "extendedKeyUsage", "the requested EKU does not decode; "
                    "rebuild the request");
        ERR_clear_error();
        return 0;
    }
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        size_t j;
        int found = 0;

        OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i), 1);
        for (j = 0; j < c->t->n_eku_req && !found; j++)
            found = strcmp(oid, c->t->eku_req[j]) == 0;
        for (j = 0; j < c->t->n_eku_opt && !found; j++)
            if (strcmp(oid, c->t->eku_opt[j]) == 0)
                found = c->csr_eku_opt[j] = 1;
        if (!found) {
            plan_seterr(c, TE_POLICY, "eku", "the request asks for EKU %s, which the template "
                        "does not allow; remove it from the request or use another template",
                        oid);
            goto out;
        }
    }
    ok = 1;
out:
    EXTENDED_KEY_USAGE_free(eku);
    return ok;
}

static int build_eku(struct plan_ctx *c, X509_EXTENSION **out)
{
    EXTENDED_KEY_USAGE *eku;
    int ok = 0;

    if (c->n_ekus == 0)
        return 1;
    if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
        goto out;
    for (size_t i = 0; i < c->n_ekus; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(c->ekus[i], 1);

        if (o == NULL || !sk_ASN1_OBJECT_push(eku, o)) {
            ASN1_OBJECT_free(o);
            goto out;
        }
    }
    ok = (*out = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku)) != NULL;
out:
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    if (!ok)
        ext_ossl_err(c, "extendedKeyUsage");
    return ok;
}

/* ---- subjectAltName ------------------------------------------------------------------------- */

/* An IA5String GeneralName as C text; refuses embedded NUL. */
static int gn_text(struct plan_ctx *c, const ASN1_STRING *s, char *out, size_t outlen)
{
    int len = ASN1_STRING_length(s);

    if (len <= 0 || (size_t)len >= outlen ||
        memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len) != NULL) {
        plan_seterr(c, TE_INPUT, "subjectAltName", "a requested name is empty, longer than %zu "
                    "bytes or contains NUL; rebuild the request", outlen - 1);
        return 0;
    }
    memcpy(out, ASN1_STRING_get0_data(s), (size_t)len);
    out[len] = '\0';
    return 1;
}

/* One requested GeneralName -> (type, text); the SID URL goes to csr_sid_url instead (-> 2). */
static int read_gn(struct plan_ctx *c, const GENERAL_NAME *gn, enum san_type *type, char *v,
                   size_t vlen)
{
    int r;

    switch (gn->type) {
    case GEN_DNS: *type = SAN_DNS; return gn_text(c, gn->d.dNSName, v, vlen);
    case GEN_EMAIL: *type = SAN_EMAIL; return gn_text(c, gn->d.rfc822Name, v, vlen);
    case GEN_URI:
        *type = SAN_URI;
        if (!gn_text(c, gn->d.uniformResourceIdentifier, v, vlen))
            return 0;
        if ((r = sid_from_san_url(v, c->csr_sid_url, sizeof(c->csr_sid_url))) < 0) {
            tmpl_err_prefix("%s: template %s: sid", c->src, c->t->name);
            return 0;
        }
        return r == 1 ? 2 : 1;
    case GEN_IPADD:
        *type = SAN_IP;
        r = ASN1_STRING_length(gn->d.iPAddress);
        if ((r == 4 || r == 16) && inet_ntop(r == 4 ? AF_INET : AF_INET6,
                                             ASN1_STRING_get0_data(gn->d.iPAddress), v,
                                             (socklen_t)vlen) != NULL)
            return 1;
        plan_seterr(c, TE_INPUT, "subjectAltName", "a requested IP address has %d bytes; "
                    "rebuild the request", r);
        return 0;
    case GEN_OTHERNAME:
        *type = SAN_UPN;
        if ((r = ms_upn_name_parse(gn, v, vlen)) == 1)
            return 1;
        if (r < 0) {
            tmpl_err_prefix("%s: template %s: subjectAltName", c->src, c->t->name);
            return 0;
        }
        break;
    default:
        break;
    }
    plan_seterr(c, TE_POLICY, "subjectAltName", "the request carries a name of a type offca does "
                "not issue (GeneralName tag %d); request only dns, upn, email, uri or ip names",
                gn->type);
    return 0;
}

/* The CSR's SAN: remember every name (SID URLs separately) for the SAN policy. */
static int read_san(struct plan_ctx *c, const X509_EXTENSION *ext)
{
    GENERAL_NAMES *gens = X509V3_EXT_d2i((X509_EXTENSION *)ext);
    char v[MAX_SAN_CHARS + 1];
    int ok = 0;

    if (gens == NULL) {
        plan_seterr(c, TE_INPUT, "subjectAltName", "the requested SAN does not decode; rebuild "
                    "the request");
        ERR_clear_error();
        return 0;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        enum san_type type;
        int r = read_gn(c, sk_GENERAL_NAME_value(gens, i), &type, v, sizeof(v));

        if (r == 0)
            goto out;
        if (r == 2)
            continue;
        if (c->n_csr_sans == MAX_SAN_COUNT) {
            plan_seterr(c, TE_POLICY, "subjectAltName", "the request carries more than %d names; "
                        "request fewer", MAX_SAN_COUNT);
            goto out;
        }
        if ((c->csr_sans[c->n_csr_sans].value = strdup(v)) == NULL)
            goto out;
        c->csr_sans[c->n_csr_sans++].type = type;
    }
    ok = 1;
out:
    GENERAL_NAMES_free(gens);
    return ok;
}

static GENERAL_NAME *san_gn(const struct san *s)
{
    static const int gen[SAN_TYPE_COUNT] = { GEN_DNS, GEN_OTHERNAME, GEN_EMAIL, GEN_URI,
                                             GEN_IPADD };

    if (s->type == SAN_UPN)
        return ms_upn_name_build(s->value);
    return a2i_GENERAL_NAME(NULL, NULL, NULL, gen[s->type], s->value, 0);
}

/* SAN: the final names, plus the SID URL when sid_form asks for it. Critical when the subject is
 * empty (RFC 5280 4.2.1.6). */
static int build_san(struct plan_ctx *c, X509_EXTENSION **out)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = NULL;
    char url[MAX_SAN_CHARS];
    int ok = 0, want_url = c->sid != NULL && c->t->sid_form != SID_FORM_EXTENSION;
    struct san s_url = { SAN_URI, url };

    if (gens == NULL)
        goto out;
    if (want_url && !sid_san_url(c->sid, url, sizeof(url)))
        goto out;
    for (size_t i = 0; i < c->n_sans + (size_t)want_url; i++) {
        if ((gn = san_gn(i < c->n_sans ? &c->sans[i] : &s_url)) == NULL ||
            !sk_GENERAL_NAME_push(gens, gn))
            goto out;
        gn = NULL;
    }
    ok = 1;
    if (sk_GENERAL_NAME_num(gens) > 0) {
        int critical = X509_NAME_entry_count(c->subject) == 0;

        ok = (*out = X509V3_EXT_i2d(NID_subject_alt_name, critical, gens)) != NULL;
    }
out:
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    if (!ok)
        ext_ossl_err(c, "subjectAltName");
    return ok;
}

/* ---- SID security extension and the Microsoft template extensions --------------------------- */

static int read_sid(struct plan_ctx *c, const X509_EXTENSION *ext)
{
    if (sid_ext_parse(ext, c->csr_sid_ext, sizeof(c->csr_sid_ext)))
        return 1;
    tmpl_err_prefix("%s: template %s: sid", c->src, c->t->name);
    return 0;
}

static int build_sid(struct plan_ctx *c, X509_EXTENSION **out)
{
    if (c->sid == NULL || c->t->sid_form == SID_FORM_SAN_URL)
        return 1;
    if ((*out = sid_ext_build(c->sid)) == NULL)
        tmpl_err_prefix("%s: template %s: sid", c->src, c->t->name);
    return *out != NULL;
}

static int build_tname(struct plan_ctx *c, X509_EXTENSION **out)
{
    if (c->t->ms_template_name == NULL)
        return 1;
    if ((*out = ms_template_name_build(c->t->ms_template_name)) == NULL)
        tmpl_err_prefix("%s: template %s: ms.template_name", c->src, c->t->name);
    return *out != NULL;
}

static int build_tinfo(struct plan_ctx *c, X509_EXTENSION **out)
{
    if (c->t->ms_template_oid == NULL)
        return 1;
    *out = ms_template_info_build(c->t->ms_template_oid, c->t->ms_major, c->t->ms_minor);
    if (*out == NULL)
        tmpl_err_prefix("%s: template %s: ms.template_oid", c->src, c->t->name);
    return *out != NULL;
}

static int build_apppol(struct plan_ctx *c, X509_EXTENSION **out)
{
    if (!c->t->ms_app_policies || c->n_ekus == 0)
        return 1;
    if ((*out = ms_app_policies_build(c->ekus, c->n_ekus)) == NULL)
        tmpl_err_prefix("%s: template %s: ms.application_policies", c->src, c->t->name);
    return *out != NULL;
}

/* ---- the table ------------------------------------------------------------------------------ */

static const struct ext_handler ext_handlers[] = {
    { "basicConstraints", NULL, "2.5.29.19", NULL, build_bc },
    { "keyUsage", NULL, "2.5.29.15", NULL, build_ku },
    { "extendedKeyUsage", "eku", "2.5.29.37", read_eku, build_eku },
    { "subjectAltName", "san", "2.5.29.17", read_san, build_san },
    { "SID security extension", "sid", OID_NTDS_CA_SECURITY_EXT, read_sid, build_sid },
    { "MS template name", NULL, OID_MS_TEMPLATE_NAME, NULL, build_tname },
    { "MS template information", NULL, OID_MS_TEMPLATE_INFO, NULL, build_tinfo },
    { "MS application policies", NULL, OID_MS_APP_POLICIES, NULL, build_apppol },
};
#define N_HANDLERS (sizeof(ext_handlers) / sizeof(ext_handlers[0]))

/* Index of the handler that honours name ("san", "eku", "sid"), or -1. */
int ext_honour_index(const char *name)
{
    for (size_t i = 0; i < N_HANDLERS; i++)
        if (ext_handlers[i].honour != NULL && strcmp(ext_handlers[i].honour, name) == 0)
            return (int)i;
    return -1;
}

/* The names honour_extensions accepts, for messages. */
const char *ext_honour_names(void)
{
    return "san, eku, sid";
}

/* Whether template t honours the CSR extension called name. */
int ext_honoured(const struct tmpl *t, const char *name)
{
    int i = ext_honour_index(name);

    return i >= 0 && (t->honour & (1u << i)) != 0;
}

static const struct ext_handler *ext_find(const char *oid)
{
    for (size_t i = 0; i < N_HANDLERS; i++)
        if (strcmp(ext_handlers[i].oid, oid) == 0)
            return &ext_handlers[i];
    return NULL;
}

/* Read every requested extension: duplicates and unknown critical ones are refused; known ones
 * with a reader are read (whether honoured or not: refusals apply either way); the rest ignored. */
int ext_read_request(struct plan_ctx *c)
{
    const STACK_OF(X509_EXTENSION) *exts = c->req->csr_exts;
    char oid[MAX_OID_CHARS];

    for (int i = 0; exts != NULL && i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        const struct ext_handler *h;

        OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1);
        for (int j = 0; j < i; j++)
            if (OBJ_cmp(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j)),
                        X509_EXTENSION_get_object(e)) == 0) {
                plan_seterr(c, TE_INPUT, "extensions", "the request carries extension %s twice "
                            "(RFC 5280 4.2); rebuild the request", oid);
                return 0;
            }
        if ((h = ext_find(oid)) == NULL) {
            if (!X509_EXTENSION_get_critical(e))
                continue;
            plan_seterr(c, TE_POLICY, "extensions", "the request marks extension %s critical and "
                        "offca does not know it; remove it from the request", oid);
            return 0;
        }
        if (h->read != NULL && !h->read(c, e))
            return 0;
    }
    return 1;
}

/* Build the plan's extensions in table order; NULL with the error set. */
STACK_OF(X509_EXTENSION) *ext_build_all(struct plan_ctx *c)
{
    STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null(), *ret = NULL;
    X509_EXTENSION *e = NULL;

    if (sk == NULL) {
        ext_ossl_err(c, "the extension list");
        goto out;
    }
    for (size_t i = 0; i < N_HANDLERS; i++) {
        if (!ext_handlers[i].build(c, &e))
            goto out;
        if (e != NULL && !sk_X509_EXTENSION_push(sk, e)) {
            ext_ossl_err(c, ext_handlers[i].name);
            goto out;
        }
        e = NULL;
    }
    ret = sk;
    sk = NULL;
out:
    X509_EXTENSION_free(e);
    sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
    return ret;
}
