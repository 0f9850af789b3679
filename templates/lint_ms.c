/*
 * lint_ms.c — the Microsoft extensions: the SID security extension 1.3.6.1.4.1.311.25.2
 * (non-critical, one otherName 1.3.6.1.4.1.311.25.2.1 with the string SID, MS-WCCE 2.2.2.7.7.4)
 * and its agreement with a SAN URL tag:microsoft.com,2022-09-14:sid:<SID> (KB5014754: the KDC
 * reads both), the UPN otherName as a UTF8String, and the certificate template extensions
 * (template name v1: a BMPString; template information v2: SEQUENCE { OID, INTEGER OPTIONAL,
 * INTEGER OPTIONAL }; application policies: certificatePolicies syntax), all non-critical.
 */
#include "templates/lint_int.h"

#include <string.h>
#include <strings.h>

#include "templates/tmpl_err.h"

/* Decode the SID extension once per certificate (three rules read it). */
static void sid_decode(struct lint_cert_view *v)
{
    X509_EXTENSION *copy;
    int ok;

    if (v->sid_state != 0)
        return;
    if (v->e_sid == NULL) {
        v->sid_state = 2;
        return;
    }
    if (!v->e_sid->critical) {
        ok = sid_ext_parse(v->e_sid->ext, v->sid, sizeof(v->sid));
    } else if ((copy = X509_EXTENSION_dup(v->e_sid->ext)) != NULL) {
        /* criticality is ms.sid_critical's finding; judge the value on its own */
        X509_EXTENSION_set_critical(copy, 0);
        ok = sid_ext_parse(copy, v->sid, sizeof(v->sid));
        X509_EXTENSION_free(copy);
    } else {
        ok = 0;
    }
    v->sid_state = ok ? 1 : -1;
    if (!ok)
        snprintf(v->sid_problem, sizeof(v->sid_problem), "%s", tmpl_error());
}

/* The SID in the extension (1, copied to sid), none (0), malformed (-1). */
static int ext_sid(struct lint_cert_view *v, char *sid, size_t n)
{
    sid_decode(v);
    if (v->sid_state == 1)
        snprintf(sid, n, "%s", v->sid);
    return v->sid_state == 1 ? 1 : v->sid_state == 2 ? 0 : -1;
}

void lc_ms_sid_critical(void *p)
{
    struct lint_cert_view *v = p;

    if (v->e_sid != NULL && v->e_sid->critical)
        lint_emit(&v->b, "mark the SID extension non-critical",
                  "SID security extension is critical");
}

void lc_ms_sid_format(void *p)
{
    struct lint_cert_view *v = p;
    char sid[MAX_SID_CHARS + 1], text[sizeof(SID_URL_PREFIX) + MAX_SID_CHARS + 1];

    if (ext_sid(v, sid, sizeof(sid)) < 0)
        lint_emit(&v->b, "write one otherName 1.3.6.1.4.1.311.25.2.1 with the account's SID "
                  "string", "SID security extension malformed: %s", v->sid_problem);
    for (int i = 0; v->san && i < sk_GENERAL_NAME_num(v->san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(v->san, i);
        const ASN1_IA5STRING *u = g->d.uniformResourceIdentifier;

        if (g->type != GEN_URI || (size_t)u->length >= sizeof(text) || u->length < 0)
            continue;
        memcpy(text, u->data, (size_t)u->length);
        text[u->length] = '\0';
        if (strlen(text) == (size_t)u->length && sid_from_san_url(text, sid, sizeof(sid)) < 0)
            lint_emit(&v->b, "write the URL as " SID_URL_PREFIX "<SID> with a valid SID",
                      "SID SAN URL '%s' malformed", text);
    }
}

void lc_ms_sid_match(void *p)
{
    struct lint_cert_view *v = p;
    char esid[MAX_SID_CHARS + 1], usid[MAX_SID_CHARS + 1], first[MAX_SID_CHARS + 1] = "";
    char text[sizeof(SID_URL_PREFIX) + MAX_SID_CHARS + 1];
    int have_ext = ext_sid(v, esid, sizeof(esid)) == 1;

    for (int i = 0; v->san && i < sk_GENERAL_NAME_num(v->san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(v->san, i);
        const ASN1_IA5STRING *u = g->d.uniformResourceIdentifier;

        if (g->type != GEN_URI || u->length < 0 || (size_t)u->length >= sizeof(text))
            continue;
        memcpy(text, u->data, (size_t)u->length);
        text[u->length] = '\0';
        if (sid_from_san_url(text, usid, sizeof(usid)) != 1)
            continue;
        if (have_ext && strcmp(esid, usid) != 0)
            lint_emit(&v->b, "give the same SID in both (the account's)", "SID extension %s "
                      "differs from the SAN URL SID %s", esid, usid);
        else if (*first && strcmp(first, usid) != 0)
            lint_emit(&v->b, "name one account", "two SAN URL SIDs differ (%s, %s)", first, usid);
        if (!*first)
            snprintf(first, sizeof(first), "%s", usid);
    }
}

void lc_ms_upn_utf8(void *p)
{
    struct lint_cert_view *v = p;

    for (int i = 0; v->san && i < sk_GENERAL_NAME_num(v->san); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(v->san, i);

        if (g->type == GEN_OTHERNAME && OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
            (g->d.otherName->value == NULL || g->d.otherName->value->type != V_ASN1_UTF8STRING))
            lint_emit(&v->b, "encode the UPN as [0] EXPLICIT UTF8String", "UPN otherName "
                      "(entry %d) is not a UTF8String", i + 1);
    }
}

/* The template name v1: a bare BMPString (as AD CS writes it) or a UTF8String; not empty. */
static const char *tname_problem(const ASN1_OCTET_STRING *os)
{
    const unsigned char *d = os->data;
    ASN1_TYPE *t = d2i_ASN1_TYPE(NULL, &d, os->length);
    const char *e = NULL;

    if (t == NULL || d != os->data + os->length)
        e = "not one DER value";
    else if (t->type != V_ASN1_BMPSTRING && t->type != V_ASN1_UTF8STRING)
        e = "not a BMPString";
    else if (ASN1_STRING_length(t->value.asn1_string) == 0)
        e = "empty name";
    ASN1_TYPE_free(t);
    return e;
}

/* The template information v2: SEQUENCE { OID, INTEGER OPTIONAL, INTEGER OPTIONAL }. */
static const char *tinfo_problem(const ASN1_OCTET_STRING *os)
{
    const unsigned char *d = os->data;
    ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &d, os->length);
    const char *e = NULL;
    int n = seq ? sk_ASN1_TYPE_num(seq) : 0;

    if (seq == NULL || d != os->data + os->length)
        e = "not one DER SEQUENCE";
    else if (n < 1 || n > 3 || sk_ASN1_TYPE_value(seq, 0)->type != V_ASN1_OBJECT)
        e = "not SEQUENCE { templateID OID, major INTEGER, minor INTEGER }";
    for (int i = 1; e == NULL && i < n; i++)
        if (sk_ASN1_TYPE_value(seq, i)->type != V_ASN1_INTEGER)
            e = "version numbers are not non-negative INTEGERs";
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return e;
}

/* Application policies: certificatePolicies syntax, one OID per entry, no qualifiers. */
static const char *apol_problem(const ASN1_OCTET_STRING *os)
{
    const unsigned char *d = os->data;
    CERTIFICATEPOLICIES *cp = d2i_CERTIFICATEPOLICIES(NULL, &d, os->length);
    const char *e = NULL;

    if (cp == NULL || d != os->data + os->length || sk_POLICYINFO_num(cp) == 0)
        e = "not a non-empty certificatePolicies SEQUENCE";
    for (int i = 0; e == NULL && i < sk_POLICYINFO_num(cp); i++)
        if (sk_POLICYINFO_value(cp, i)->qualifiers != NULL)
            e = "policy qualifiers present";
    CERTIFICATEPOLICIES_free(cp);
    return e;
}

static void template_ext(struct lint_cert_view *v, const struct lint_ext *le, const char *what,
                         const char *(*problem)(const ASN1_OCTET_STRING *))
{
    const char *e;

    if (le == NULL)
        return;
    if (le->critical)
        lint_emit(&v->b, "mark it non-critical", "%s extension is critical", what);
    if ((e = problem(X509_EXTENSION_get_data(le->ext))) != NULL)
        lint_emit(&v->b, "encode it as AD CS does", "%s extension: %s", what, e);
}

void lc_ms_template(void *p)
{
    struct lint_cert_view *v = p;

    template_ext(v, v->e_tname, "template name", tname_problem);
    template_ext(v, v->e_tinfo, "template information", tinfo_problem);
    template_ext(v, v->e_apol, "application policies", apol_problem);
}
