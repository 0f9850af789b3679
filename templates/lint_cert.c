/*
 * lint_cert.c — the certificate view (each extension decoded once) and the checks on the
 * certificate's own fields and its RFC 5280 extensions. Nothing here calls an OpenSSL accessor
 * that caches in the X509 (X509_get0_subject_key_id, X509_check_purpose, ...): a certificate is
 * linted before it is signed, and a cache filled then would describe the unsigned object.
 */
#include "templates/lint_int.h"

#include <string.h>

/* Dotted OIDs as DER contents, for the Microsoft extensions OpenSSL has no NID for. */
static const unsigned char OID_SID[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x19, 0x02};
static const unsigned char OID_TNAME[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x14, 0x02};
static const unsigned char OID_TINFO[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x15, 0x07};
static const unsigned char OID_APOL[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x15, 0x0a};
static const unsigned char OID_CAVER[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x15, 0x01};
static const unsigned char OID_PREVHASH[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x15, 0x02};

static int oid_is(const X509_EXTENSION *e, const unsigned char *der, size_t n)
{
    const ASN1_OBJECT *o = X509_EXTENSION_get_object((X509_EXTENSION *)e);

    return (size_t)OBJ_length(o) == n && memcmp(OBJ_get0_data(o), der, n) == 0;
}

int lint_ext_is(const X509_EXTENSION *ext, const char *oid)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int r = o != NULL && OBJ_cmp(X509_EXTENSION_get_object((X509_EXTENSION *)ext), o) == 0;

    ASN1_OBJECT_free(o);
    return r;
}

void lint_exts_clear(struct lint_ext *e, int n)
{
    for (int i = 0; i < n; i++) {
        const X509V3_EXT_METHOD *m = e[i].val ? X509V3_EXT_get(e[i].ext) : NULL;

        if (m != NULL && m->it != NULL)
            ASN1_item_free(e[i].val, ASN1_ITEM_ptr(m->it));
        else if (m != NULL && m->ext_free != NULL)
            m->ext_free(e[i].val);
        e[i].val = NULL;
    }
}

/* Decode one extension: 1 ok (le->bad set when a known value does not decode), 0 memory. */
int lint_ext_decode(struct lint_ext *le, X509_EXTENSION *ext)
{
    memset(le, 0, sizeof(*le));
    le->ext = ext;
    le->nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    le->critical = X509_EXTENSION_get_critical(ext) > 0;
    if (le->nid == NID_undef || X509V3_EXT_get(ext) == NULL) {
        le->nid = NID_undef;
        return 1;
    }
    if ((le->val = X509V3_EXT_d2i(ext)) == NULL)
        le->bad = 1;
    return 1;
}

/* Point the view's shortcuts at the first good extension of each kind. */
static void view_index(struct lint_cert_view *v, const struct lint_ext *le)
{
    const X509_EXTENSION *e = le->ext;

    if (oid_is(e, OID_SID, sizeof(OID_SID)) && v->e_sid == NULL)
        v->e_sid = le;
    else if (oid_is(e, OID_TNAME, sizeof(OID_TNAME)) && v->e_tname == NULL)
        v->e_tname = le;
    else if (oid_is(e, OID_TINFO, sizeof(OID_TINFO)) && v->e_tinfo == NULL)
        v->e_tinfo = le;
    else if (oid_is(e, OID_APOL, sizeof(OID_APOL)) && v->e_apol == NULL)
        v->e_apol = le;
    if (le->val == NULL)
        return;
    switch (le->nid) {
    case NID_basic_constraints: if (!v->bc) { v->bc = le->val; v->e_bc = le; } break;
    case NID_key_usage: if (!v->ku) { v->ku = le->val; v->e_ku = le; } break;
    case NID_ext_key_usage: if (!v->eku) v->eku = le->val; break;
    case NID_subject_alt_name: if (!v->san) { v->san = le->val; v->e_san = le; } break;
    case NID_authority_key_identifier: if (!v->akid) v->akid = le->val; break;
    case NID_subject_key_identifier: if (!v->skid) v->skid = le->val; break;
    case NID_crl_distribution_points: if (!v->cdp) v->cdp = le->val; break;
    case NID_info_access: if (!v->aia) v->aia = le->val; break;
    default: break;
    }
}

int lint_cert_view_build(struct lint_cert_view *v, X509 *x);
void lint_cert_view_clear(struct lint_cert_view *v);

int lint_cert_view_build(struct lint_cert_view *v, X509 *x)
{
    ASN1_OBJECT *alg = NULL;
    int n = X509_get_ext_count(x);

    v->x = x;
    v->self_issued = X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)) == 0;
    v->issuer = v->b.o->issuer ? v->b.o->issuer : v->self_issued ? x : NULL;
    if (X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, X509_get_X509_PUBKEY(x)) && alg)
        v->pk_nid = OBJ_obj2nid(alg);
    v->n_ext_total = n;
    for (int i = 0; i < n && i < MAX_LINT_EXTS; i++) {
        if (!lint_ext_decode(&v->ext[i], X509_get_ext(x, i)))
            return 0;
        v->n_ext = i + 1;
        view_index(v, &v->ext[i]);
    }
    v->is_ca = v->bc != NULL && v->bc->ca;
    return 1;
}

void lint_cert_view_clear(struct lint_cert_view *v)
{
    lint_exts_clear(v->ext, v->n_ext);
}

/* ---- serial, version, validity, names --------------------------------------------------- */

void lc_serial_positive(void *p)
{
    struct lint_cert_view *v = p;

    if (ASN1_STRING_type(X509_get0_serialNumber(v->x)) == V_ASN1_NEG_INTEGER)
        lint_emit(&v->b, "issue with a positive serial", "serial number is negative");
}

void lc_serial_zero(void *p)
{
    struct lint_cert_view *v = p;
    const ASN1_INTEGER *s = X509_get0_serialNumber(v->x);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s), i;

    for (i = 0; i < n && d[i] == 0; i++)
        ;
    if (i == n)
        lint_emit(&v->b, "issue with a random non-zero serial", "serial number is zero");
}

void lc_serial_length(void *p)
{
    struct lint_cert_view *v = p;
    const ASN1_INTEGER *s = X509_get0_serialNumber(v->x);
    int n = ASN1_STRING_length(s);
    int octets = n + (n > 0 && (ASN1_STRING_get0_data(s)[0] & 0x80) ? 1 : 0);

    if (octets > 20)
        lint_emit(&v->b, "issue with a serial of at most 20 octets (159 random bits)",
                  "serial number is %d octets, above 20", octets);
}

void lc_version(void *p)
{
    struct lint_cert_view *v = p;
    long ver = X509_get_version(v->x);

    if (ver < 0 || ver > 2)
        lint_emit(&v->b, "issue as X.509 v3", "version field %ld is not v1, v2 or v3", ver + 1);
    else if (v->n_ext_total > 0 && ver != 2)
        lint_emit(&v->b, "issue as X.509 v3", "v%ld certificate with extensions", ver + 1);
}

void lc_time_encoding(void *p)
{
    struct lint_cert_view *v = p;
    const char *e;

    if ((e = lint_time_problem(X509_get0_notBefore(v->x))) != NULL)
        lint_emit(&v->b, "encode dates through 2049 as UTCTime, later as GeneralizedTime",
                  "notBefore: %s", e);
    if ((e = lint_time_problem(X509_get0_notAfter(v->x))) != NULL)
        lint_emit(&v->b, "encode dates through 2049 as UTCTime, later as GeneralizedTime",
                  "notAfter: %s", e);
}

void lc_time_order(void *p)
{
    struct lint_cert_view *v = p;

    if (lint_time_cmp(X509_get0_notBefore(v->x), X509_get0_notAfter(v->x)) > 0)
        lint_emit(&v->b, "issue with notBefore <= notAfter", "notBefore is after notAfter");
}

void lc_time_issuer_end(void *p)
{
    struct lint_cert_view *v = p;

    if (v->issuer != v->x &&
        lint_time_cmp(X509_get0_notAfter(v->x), X509_get0_notAfter(v->issuer)) > 0)
        lint_emit(&v->b, "cap notAfter at the issuing CA certificate's notAfter (or renew the CA "
                  "first)", "notAfter is after the issuer's notAfter");
}

void lc_time_issuer_start(void *p)
{
    struct lint_cert_view *v = p;

    if (v->issuer != v->x &&
        lint_time_cmp(X509_get0_notBefore(v->x), X509_get0_notBefore(v->issuer)) < 0)
        lint_emit(&v->b, "start validity no earlier than the issuing CA certificate",
                  "notBefore is before the issuer's notBefore");
}

void lc_issuer_empty(void *p)
{
    struct lint_cert_view *v = p;

    if (X509_NAME_entry_count(X509_get_issuer_name(v->x)) == 0)
        lint_emit(&v->b, "give the issuing CA a non-empty subject name", "issuer name is empty");
}

void lc_issuer_match(void *p)
{
    struct lint_cert_view *v = p;

    if (v->issuer != v->x &&
        X509_NAME_cmp(X509_get_issuer_name(v->x), X509_get_subject_name(v->issuer)) != 0)
        lint_emit(&v->b, "check that --issuer is the CA that signed it",
                  "issuer name differs from the issuer certificate's subject");
}

void lc_subject_empty(void *p)
{
    struct lint_cert_view *v = p;

    if (X509_NAME_entry_count(X509_get_subject_name(v->x)) != 0)
        return;
    if (v->e_san == NULL)
        lint_emit(&v->b, "give a subject or a subjectAltName",
                  "empty subject and no subjectAltName");
    else if (!v->e_san->critical)
        lint_emit(&v->b, "mark subjectAltName critical when the subject is empty",
                  "empty subject with a non-critical subjectAltName");
}

/* ---- extensions ------------------------------------------------------------------------- */

void lc_ext_duplicate(void *p)
{
    struct lint_cert_view *v = p;
    char oid[80];

    if (v->n_ext_total > MAX_LINT_EXTS)
        lint_emit(&v->b, "issue with fewer extensions", "%d extensions, more than the %d "
                  "checked", v->n_ext_total, MAX_LINT_EXTS);
    for (int i = 0; i < v->n_ext; i++)
        for (int j = i + 1; j < v->n_ext; j++)
            if (OBJ_cmp(X509_EXTENSION_get_object(v->ext[i].ext),
                        X509_EXTENSION_get_object(v->ext[j].ext)) == 0) {
                OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(v->ext[i].ext), 1);
                lint_emit(&v->b, "include each extension once", "extension %s appears twice",
                          oid);
                return;
            }
}

void lc_ext_der(void *p)
{
    struct lint_cert_view *v = p;

    for (int i = 0; i < v->n_ext; i++)
        if (v->ext[i].bad)
            lint_emit(&v->b, "rebuild the extension with a conforming encoder",
                      "%s: the value does not decode", OBJ_nid2sn(v->ext[i].nid));
}

static int ms_known(const X509_EXTENSION *e)
{
    return oid_is(e, OID_SID, sizeof(OID_SID)) || oid_is(e, OID_TNAME, sizeof(OID_TNAME)) ||
           oid_is(e, OID_TINFO, sizeof(OID_TINFO)) || oid_is(e, OID_APOL, sizeof(OID_APOL)) ||
           oid_is(e, OID_CAVER, sizeof(OID_CAVER)) || oid_is(e, OID_PREVHASH, sizeof(OID_PREVHASH));
}

void lc_ext_unknown_critical(void *p)
{
    struct lint_cert_view *v = p;
    char oid[80];

    for (int i = 0; i < v->n_ext; i++)
        if (v->ext[i].critical && v->ext[i].nid == NID_undef && !ms_known(v->ext[i].ext)) {
            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(v->ext[i].ext), 1);
            lint_emit(&v->b, "do not mark private extensions critical (relying parties must "
                      "reject the certificate)", "unknown critical extension %s", oid);
        }
}

static int ku_bit(const struct lint_cert_view *v, int bit)
{
    return v->ku != NULL && ASN1_BIT_STRING_get_bit(v->ku, bit);
}

#define KU_DS 0
#define KU_NR 1
#define KU_KE 2
#define KU_DE 3
#define KU_KA 4
#define KU_CERT 5
#define KU_CRL 6
#define KU_EO 7
#define KU_DO 8

void lc_bc_ca(void *p)
{
    struct lint_cert_view *v = p;

    if (!v->is_ca && !ku_bit(v, KU_CERT))
        return;
    if (v->e_bc == NULL)
        lint_emit(&v->b, "add basicConstraints critical CA:TRUE",
                  "CA certificate (keyCertSign) without basicConstraints");
    else if (!v->e_bc->critical)
        lint_emit(&v->b, "mark basicConstraints critical",
                  "basicConstraints of a CA certificate is not critical");
}

void lc_bc_leaf(void *p)
{
    struct lint_cert_view *v = p;

    if (v->bc != NULL && !v->bc->ca && v->bc->pathlen != NULL)
        lint_emit(&v->b, "drop pathLenConstraint from end-entity certificates",
                  "pathLenConstraint with cA FALSE");
}

void lc_ku_present(void *p)
{
    struct lint_cert_view *v = p;
    int any = 0;

    if (v->e_ku == NULL) {
        lint_emit(&v->b, "add a critical keyUsage", "no keyUsage extension");
        return;
    }
    for (int b = 0; v->ku && b <= KU_DO; b++)
        any |= ku_bit(v, b);
    if (v->ku && !any)
        lint_emit(&v->b, "assert at least one keyUsage bit", "keyUsage has no bit set");
}

void lc_ku_critical(void *p)
{
    struct lint_cert_view *v = p;

    if (v->e_ku != NULL && !v->e_ku->critical)
        lint_emit(&v->b, "mark keyUsage critical", "keyUsage is not critical");
}

void lc_ku_ca(void *p)
{
    struct lint_cert_view *v = p;

    if (v->ku == NULL)
        return;
    if (v->is_ca && !ku_bit(v, KU_CERT))
        lint_emit(&v->b, "give CA certificates keyCertSign (and cRLSign)",
                  "CA certificate without keyCertSign");
    else if (!v->is_ca && ku_bit(v, KU_CERT))
        lint_emit(&v->b, "issue CA certificates with basicConstraints CA:TRUE, leaves without "
                  "keyCertSign", "keyCertSign without basicConstraints cA TRUE");
    else if (!v->is_ca && ku_bit(v, KU_CRL))
        lint_emit(&v->b, "drop cRLSign from end-entity certificates",
                  "cRLSign on an end-entity certificate");
}

void lc_ku_key_type(void *p)
{
    struct lint_cert_view *v = p;
    const char *bad = NULL;

    if (v->ku == NULL)
        return;
    if (v->pk_nid == NID_rsaEncryption) {
        if (ku_bit(v, KU_KA) || ku_bit(v, KU_EO) || ku_bit(v, KU_DO))
            bad = "keyAgreement/encipherOnly/decipherOnly with an RSA key";
    } else if (v->pk_nid == NID_X9_62_id_ecPublicKey) {
        if (ku_bit(v, KU_KE) || ku_bit(v, KU_DE))
            bad = "keyEncipherment/dataEncipherment with an EC key";
        else if ((ku_bit(v, KU_EO) || ku_bit(v, KU_DO)) && !ku_bit(v, KU_KA))
            bad = "encipherOnly/decipherOnly without keyAgreement";
    } else if (v->pk_nid == NID_rsassaPss || v->pk_nid == NID_ED25519 ||
               v->pk_nid == NID_ED448) {
        if (ku_bit(v, KU_KE) || ku_bit(v, KU_DE) || ku_bit(v, KU_KA))
            bad = "encipherment or key agreement with a signature-only key";
    }
    if (bad)
        lint_emit(&v->b, "use only the keyUsage bits the key type can serve", "%s", bad);
}

void lc_eku_empty(void *p)
{
    struct lint_cert_view *v = p;

    if (v->eku != NULL && sk_ASN1_OBJECT_num(v->eku) == 0)
        lint_emit(&v->b, "list at least one key purpose or drop the extension",
                  "extKeyUsage with no key purpose");
}

void lc_eku_any(void *p)
{
    struct lint_cert_view *v = p;

    if (v->eku == NULL || v->is_ca || v->b.o->allow_any_eku)
        return;
    for (int i = 0; i < sk_ASN1_OBJECT_num(v->eku); i++)
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(v->eku, i)) == NID_anyExtendedKeyUsage)
            lint_emit(&v->b, "list the key purposes the certificate is for",
                      "anyExtendedKeyUsage on an end-entity certificate");
}

void lc_akid_present(void *p)
{
    struct lint_cert_view *v = p;

    for (int i = 0; i < v->n_ext; i++)
        if (v->ext[i].nid == NID_authority_key_identifier && v->ext[i].critical)
            lint_emit(&v->b, "mark authorityKeyIdentifier non-critical",
                      "authorityKeyIdentifier is critical");
    if (!v->self_issued && (v->akid == NULL || v->akid->keyid == NULL))
        lint_emit(&v->b, "add authorityKeyIdentifier with the issuer's key identifier",
                  "no authorityKeyIdentifier keyIdentifier");
}

void lc_akid_match(void *p)
{
    struct lint_cert_view *v = p;
    ASN1_OCTET_STRING *iskid;

    if (v->akid == NULL || v->akid->keyid == NULL)
        return;
    iskid = v->issuer == v->x ? v->skid
                              : X509_get_ext_d2i(v->issuer, NID_subject_key_identifier, NULL,
                                                 NULL);
    if (iskid == NULL)
        lint_emit(&v->b, "reissue the CA certificate with a subjectKeyIdentifier",
                  "the issuer certificate has no subjectKeyIdentifier to match the AKID");
    else if (ASN1_OCTET_STRING_cmp(iskid, v->akid->keyid) != 0)
        lint_emit(&v->b, "copy the issuer's subjectKeyIdentifier into the AKID (or check "
                  "--issuer)", "AKID keyIdentifier differs from the issuer's SKID");
    if (iskid != v->skid)
        ASN1_OCTET_STRING_free(iskid);
}

void lc_skid_ca(void *p)
{
    struct lint_cert_view *v = p;

    if (v->is_ca && v->skid == NULL)
        lint_emit(&v->b, "add subjectKeyIdentifier to CA certificates",
                  "CA certificate without subjectKeyIdentifier");
}

/* Every URI in names well-formed (reported), and 1 when one of them is a good http URL. */
static int uris_check(struct lint_cert_view *v, const GENERAL_NAMES *names, const char *what)
{
    int http = 0;
    const char *e;

    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

        if (g->type != GEN_URI)
            continue;
        if ((e = lint_uri_problem(g->d.uniformResourceIdentifier, 0)) != NULL)
            lint_emit(&v->b, "fix the URL", "%s URI '%.*s': %s", what,
                      g->d.ia5->length > 100 ? 100 : g->d.ia5->length,
                      (const char *)g->d.ia5->data, e);
        else if (lint_uri_problem(g->d.uniformResourceIdentifier, 1) == NULL)
            http = 1;
    }
    return http;
}

void lc_cdp_http(void *p)
{
    struct lint_cert_view *v = p;

    for (int i = 0; v->cdp && i < sk_DIST_POINT_num(v->cdp); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(v->cdp, i);

        if (dp->distpoint == NULL || dp->distpoint->type != 0) {
            if (dp->CRLissuer == NULL)
                lint_emit(&v->b, "give each distribution point a fullName http URL",
                          "distribution point %d has no fullName", i + 1);
            continue;
        }
        if (!uris_check(v, dp->distpoint->name.fullname, "CDP"))
            lint_emit(&v->b, "publish the CRL at an http:// URL (Windows and NPS fetch CDPs "
                      "over HTTP)", "distribution point %d has no http:// URL", i + 1);
    }
}

void lc_aia_http(void *p)
{
    struct lint_cert_view *v = p;

    for (int i = 0; i < v->n_ext; i++)
        if (v->ext[i].nid == NID_info_access && v->ext[i].critical)
            lint_emit(&v->b, "mark authorityInfoAccess non-critical",
                      "authorityInfoAccess is critical");
    for (int i = 0; v->aia && i < sk_ACCESS_DESCRIPTION_num(v->aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(v->aia, i);
        int nid = OBJ_obj2nid(ad->method);
        const ASN1_IA5STRING *u;
        const char *e;

        if (ad->location == NULL || ad->location->type != GEN_URI ||
            (nid != NID_ad_ca_issuers && nid != NID_ad_OCSP))
            continue;
        u = ad->location->d.uniformResourceIdentifier;
        if ((e = lint_uri_problem(u, 1)) != NULL)
            lint_emit(&v->b, "point AIA at an http:// URL (relying parties fetch over HTTP)",
                      "%s URI '%.*s': %s", OBJ_nid2sn(nid), u->length > 100 ? 100 : u->length,
                      (const char *)u->data, e);
    }
}
