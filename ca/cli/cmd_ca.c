/*
 * cmd_ca.c — `offca ca ...`: options in, core calls (ca_create.c, ca_import.c), output.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/authority/authority.h"
#include "ca/cli/cli.h"
#include "ca/store/store.h"
#include "ca/common/common.h"
#include "ca/issue/issue.h"

static const char HELP_CREATE_ROOT[] =
    "usage: offca ca create-root NAME --key URI --subject DN [--days N] [--reuse-key]\n"
    "                            [--sig rsa-pkcs1|rsa-pss|ecdsa] [--hash sha256|sha384|sha512]\n\n"
    "Create a self-signed root CA with a key already in the token (see 'offca key generate').\n"
    "basicConstraints CA:TRUE and keyUsage keyCertSign, cRLSign, digitalSignature (both\n"
    "critical), SKID, Microsoft CA Version; no CDP or AIA (a root is trusted, not checked).\n"
    "  --days N   validity (default 3650)\n"
    "  --sig      how this CA signs (default: rsa-pkcs1 for RSA keys, ecdsa for EC keys)\n"
    "  --hash     default sha256 (sha384 for P-384 keys)\n"
    "  --reuse-key  allow a key another CA in the store already uses (a renewal with the same\n"
    "             key; warned). Without it such a key is refused (exit 1).\n\n"
    "Example:\n"
    "  offca ca create-root root --key 'pkcs11:token=offca;object=root-2026;type=private' \\\n"
    "      --subject 'CN=Contoso Root CA,O=Contoso\\, Ltd.,DC=contoso,DC=com' --days 7300\n";
static const char HELP_CREATE_ISSUING[] =
    "usage: offca ca create-issuing NAME --parent PARENT --key URI --subject DN [--days N]\n"
    "                               [--path-len N] [--sig S] [--hash H] [--no-cdp]\n"
    "                               [--reuse-key]\n\n"
    "Create an issuing CA signed by PARENT's key in the token: AKID, SKID, CDP\n"
    "<base_url>/PARENT.crl and AIA caIssuers <base_url>/PARENT.crt (or [ca.PARENT] cdp_url /\n"
    "aia_url). Windows NPS checks revocation of the issuing CA too, so a CDP is required;\n"
    "--no-cdp creates it without one anyway (every NPS logon will then fail with reason 258).\n"
    "Validity is capped by the parent's; an explicit --days beyond it is refused.\n"
    "  --days N       default 1825\n  --path-len N   basicConstraints pathLenConstraint\n"
    "  --sig, --hash  how this CA will sign what it issues (defaults by key type)\n"
    "  --reuse-key    allow a key another CA in the store already uses (warned); without it\n"
    "                 such a key is refused (exit 1): two CAs with one key share one fate\n\n"
    "Example:\n"
    "  offca ca create-issuing issuing1 --parent root \\\n"
    "      --key 'pkcs11:token=offca;object=issuing-2026;type=private' \\\n"
    "      --subject 'CN=Contoso Issuing CA 1,DC=contoso,DC=com' --path-len 0\n";
static const char HELP_CSR[] =
    "usage: offca ca csr NAME --key URI --subject DN -o FILE [--hash H]\n\n"
    "For an issuing CA whose parent is outside offca: write a PKCS#10 request signed by the\n"
    "token key (PEM, mode 0644) and record NAME as pending. Then have the parent sign it (with\n"
    "an HTTP CDP and AIA!) and run 'offca ca import'. Running it again rewrites the request.\n\n"
    "Example:\n"
    "  offca ca csr issuing2 --key 'pkcs11:object=issuing2;type=private' \\\n"
    "      --subject 'CN=Contoso Issuing CA 2,DC=contoso,DC=com' -o issuing2.csr\n";
static const char HELP_IMPORT[] =
    "usage: offca ca import NAME --cert FILE [--chain FILE] [--key URI]\n"
    "                        [--index FILE [--newcerts DIR] | --certutil-view FILE\n"
    "                         [--utc-offset +HH:MM]] [--last-crl FILE | --crl-number N]\n\n"
    "Import the certificate the outside parent issued for 'offca ca csr NAME' (PEM or DER) and\n"
    "the chain up to its root (PEM, root included). Checks the certificate carries the token\n"
    "key and chains to the root; warns loudly when it has no CDP or AIA. --key names the key\n"
    "when there was no 'ca csr' (a CA moved from elsewhere). A self-signed CA certificate (a\n"
    "root) needs no --chain.\n\n"
    "Adopting a CA that already issued certificates (openssl ca, AD CS), in the same\n"
    "transaction: every certificate it issued is recorded (its DER when the source has it,\n"
    "else serial, dates and subject), its revocations carried over (date, reason, invalidity\n"
    "date), one audit record 'ca.adopt' with the counts and the SHA-256 of the source files.\n"
    "  --index FILE        openssl ca's database (index.txt); each line's certificate is read\n"
    "                      from the newcerts directory as SERIAL.pem and must be signed by the\n"
    "                      CA key\n"
    "  --newcerts DIR      openssl ca's new_certs_dir (default: newcerts beside the index)\n"
    "  --certutil-view FILE  what 'certutil -view csv' wrote on the AD CS machine (English):\n"
    "                      columns Serial Number, Request Disposition, Certificate Effective\n"
    "                      Date, Certificate Expiration Date, Revocation Effective Date or\n"
    "                      Revocation Date, Revocation Reason, Issued Common Name or Issued\n"
    "                      Distinguished Name, and Binary Certificate when exported\n"
    "  --utc-offset +HH:MM the AD CS machine's offset from UTC (certutil prints local time;\n"
    "                      default +00:00)\n"
    "  --last-crl FILE     the old CA's last full CRL: its number continues (the next offca CRL\n"
    "                      is that number + 1, RFC 5280 5.2.3) and every entry must match the\n"
    "                      database; offca's next CRL lists the same entries plus what was\n"
    "                      revoked since\n"
    "  --crl-number N      the old CA's last CRL number, when its CRL is not at hand (0: it\n"
    "                      never published one); the next offca CRL is N + 1\n"
    "One of --last-crl and --crl-number is needed with --index / --certutil-view.\n"
    "Malformed lines (FILE:LINE named), a certificate the CA key did not sign, duplicate or\n"
    "over-20-octet serials, unparseable dates, a CRL that disagrees: exit 3; a serial already\n"
    "in the store: exit 1. Nothing is stored then.\n\n"
    "Examples:\n  offca ca import issuing2 --cert issuing2.cer --chain adcs-root.pem\n"
    "  offca ca import oldroot --cert /srv/oldca/ca.pem \\\n"
    "      --key 'pkcs11:token=offca;object=oldroot;type=private' \\\n"
    "      --index /srv/oldca/index.txt --last-crl /srv/oldca/crl.pem\n";
static const char HELP_SIGN_SUB[] =
    "usage: offca ca sign-subordinate PARENT --csr FILE -o FILE [--days N] [--path-len N]\n"
    "                                 [--no-cdp]\n\n"
    "On the root machine: certify an issuing CA whose key lives on another machine (its request\n"
    "made there by 'offca ca csr', AD CS or any CA software) with PARENT's key in the token.\n"
    "The request must be DER/PEM PKCS#10 with a valid signature (proof of possession), not\n"
    "SHA-1, with a subject; its key passes the CA key gate (RSA >= 2048 bits or P-256/384/521,\n"
    "every key rule, the blocklist). The certificate is built as for create-issuing:\n"
    "basicConstraints CA:TRUE (critical, with --path-len), keyUsage digitalSignature,\n"
    "keyCertSign, cRLSign (critical), SKID, AKID, the CDP and AIA of PARENT's active\n"
    "generation (<base_url>/PARENT.crl and PARENT.crt, PARENT(k).crl after a new-key\n"
    "renewal, or [ca.PARENT] cdp_url / aia_url), validity capped by PARENT's; extensions\n"
    "requested in the CSR are not copied. It is linted before the token signs, signed by\n"
    "PARENT's active key and recorded under PARENT with that key's generation (so 'offca\n"
    "revoke --ca PARENT' revokes it and that key's CRL lists it) with its audit record in one\n"
    "transaction, and written to FILE (PEM, 0644) only after that; an existing FILE is\n"
    "refused before anything is signed.\n"
    "  --days N       default 1825, capped by PARENT (an explicit N beyond it is refused)\n"
    "  --path-len N   basicConstraints pathLenConstraint (0: it issues only end entities)\n"
    "  --no-cdp       no CDP/AIA (NPS will refuse every logon through this CA: reason 258)\n\n"
    "Exit codes: 0 signed; 1 refused (key gate, SHA-1, empty subject, validity, lint);\n"
    "2 usage (PARENT unknown, FILE exists); 3 unreadable or malformed request; 4 HSM/store.\n\n"
    "Example (root machine, then carry the files to the issuing machine):\n"
    "  offca ca sign-subordinate root --csr issuing2.csr --path-len 0 -o issuing2.pem\n"
    "  offca crl publish --ca root --out /media/usb\n"
    "  # issuing machine: offca ca import issuing2 --cert issuing2.pem --chain root.crt\n";
static const char HELP_LIST_CA[] =
    "usage: offca [--json] ca list [--names]\n\nList the CAs: name, state, parent, the active\n"
    "generation as CA Version V<cert index>.<key index>, its expiry, subject ('ca show' lists\n"
    "every generation).\n"
    "  --names   only the names, one per line (what the bash completion asks for)\n\n"
    "Example:\n  offca ca list --json\n";
static const char HELP_SHOW_CA[] =
    "usage: offca [--json] ca show NAME\n\n"
    "Show a CA: subject, issuer, serial, validity, key URI, signature scheme, the CDP/AIA in\n"
    "its certificate and the URLs it writes into what it issues.\n\nExample:\n"
    "  offca ca show issuing1\n";
static const char HELP_EXPORT_CA[] =
    "usage: offca ca export NAME [--chain] [--all] [--der] [-o FILE [--force]] [--ntauth]\n\n"
    "Write the CA certificate (PEM by default) to FILE (mode 0644) or stdout: its newest\n"
    "generation.\n"
    "  --chain    the CA and every parent up to the root (PEM only)\n"
    "  --all      every generation of each CA written (newest first), a root's link\n"
    "             certificates before the generation that made them (PEM only): what a\n"
    "             client needs to build a path to certificates of any generation\n"
    "  --der      DER instead of PEM (one certificate)\n"
    "  --force    replace FILE when it exists (without it an existing FILE is refused, exit 2)\n"
    "  --ntauth   print the certutil commands that publish the hierarchy to Active Directory\n\n"
    "Example:\n  offca ca export issuing1 --chain -o chain.pem\n"
    "  offca ca export issuing1 --chain --all -o every-generation.pem\n";

static int create_common(struct app *a, int argc, char **argv, int issuing)
{
    static const struct option lo[] = {
        {"key", 1, 0, 'k'}, {"subject", 1, 0, 's'}, {"days", 1, 0, 'd'}, {"sig", 1, 0, 'g'},
        {"hash", 1, 0, 'h'}, {"parent", 1, 0, 'p'}, {"path-len", 1, 0, 'l'},
        {"no-cdp", 0, 0, 'n'}, {"reuse-key", 0, 0, 'R'}, {0, 0, 0, 0}};
    const char *cmd = issuing ? "ca create-issuing" : "ca create-root";
    struct ca_create_req r;
    int c, rc;

    memset(&r, 0, sizeof(r));
    r.path_len = -1;
    while ((c = opt_next(argc, argv, cmd, ":", lo)) != -1) {
        switch (c) {
        case 'k': r.key_uri = optarg; break;
        case 's': r.subject = optarg; break;
        case 'd': if ((rc = opt_days(cmd, optarg, &r.days)) != 0) return rc; break;
        case 'g': r.sig = optarg; break;
        case 'h': r.hash = optarg; break;
        case 'p': r.parent = optarg; break;
        case 'l': r.path_len = atoi(optarg); break;
        case 'n': r.no_cdp = 1; break;
        case 'R': r.reuse_key = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !r.key_uri || !r.subject || (issuing && !r.parent)) {
        report("%s: needs NAME, --key URI and --subject DN%s; see 'offca %s --help'", cmd,
               issuing ? " and --parent PARENT" : "", cmd);
        return EXIT_USAGE;
    }
    if (!issuing && (r.parent || r.path_len >= 0 || r.no_cdp)) {
        report("%s: --parent, --path-len and --no-cdp are for 'ca create-issuing'", cmd);
        return EXIT_USAGE;
    }
    r.name = argv[optind];
    /* the arguments first, then the config and the store; the token is opened (the PIN asked)
     * only once the name was found free and the parent found */
    if ((rc = ca_create_check(r.name, r.subject)) != 0 || (rc = app_store(a, 0)) != 0 ||
        (rc = app_hsm_deferred(a)) != 0)
        return rc;
    return ca_create(a->store, a->hsm, a->cfg, &r);
}

static int ca_create_root(struct app *a, int argc, char **argv) { return create_common(a, argc, argv, 0); }
static int ca_create_issuing(struct app *a, int argc, char **argv) { return create_common(a, argc, argv, 1); }

static int ca_csr(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"key", 1, 0, 'k'}, {"subject", 1, 0, 's'},
                                       {"hash", 1, 0, 'h'}, {"out", 1, 0, 'o'}, {0, 0, 0, 0}};
    const char *key = NULL, *subject = NULL, *hash = NULL, *out = NULL;
    int c, rc;

    while ((c = opt_next(argc, argv, "ca csr", ":o:", lo)) != -1) {
        switch (c) {
        case 'k': key = optarg; break;
        case 's': subject = optarg; break;
        case 'h': hash = optarg; break;
        case 'o': out = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !key || !subject || !out) {
        report("ca csr: needs NAME, --key URI, --subject DN and -o FILE; see 'offca ca csr --help'");
        return EXIT_USAGE;
    }
    if ((rc = ca_create_check(argv[optind], subject)) != 0 || (rc = app_store(a, 0)) != 0 ||
        (rc = app_hsm_deferred(a)) != 0)
        return rc;
    return ca_make_csr(a->store, a->hsm, a->cfg, argv[optind], key, subject, hash, out);
}

/* --crl-number N: 0 .. 2^62. 1 ok / 0 (reported). */
static int crl_number_arg(const char *text, int64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || errno || v > (1ULL << 62)) {
        report("ca import: --crl-number '%s': not a CRL number (0 .. 2^62, decimal); give the "
               "number of the old CA's last CRL", text);
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

static int ca_import_cmd(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"cert", 1, 0, 'c'}, {"chain", 1, 0, 'C'},
                                       {"key", 1, 0, 'k'}, {"index", 1, 0, 'i'},
                                       {"newcerts", 1, 0, 'n'}, {"certutil-view", 1, 0, 'v'},
                                       {"utc-offset", 1, 0, 'u'}, {"last-crl", 1, 0, 'l'},
                                       {"crl-number", 1, 0, 'N'}, {0, 0, 0, 0}};
    struct adopt_opts ad = {NULL, NULL, NULL, NULL, NULL, -1};
    const char *cert = NULL, *chain = NULL, *key = NULL;
    int c, rc;

    while ((c = opt_next(argc, argv, "ca import", ":", lo)) != -1) {
        switch (c) {
        case 'c': cert = optarg; break;
        case 'C': chain = optarg; break;
        case 'k': key = optarg; break;
        case 'i': ad.index = optarg; break;
        case 'n': ad.newcerts = optarg; break;
        case 'v': ad.certutil = optarg; break;
        case 'u': ad.utc_offset = optarg; break;
        case 'l': ad.last_crl = optarg; break;
        case 'N':
            if (!crl_number_arg(optarg, &ad.crl_number))
                return EXIT_USAGE;
            break;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !cert) {
        report("ca import: needs NAME and --cert FILE; see 'offca ca import --help'");
        return EXIT_USAGE;
    }
    /* the token is opened (the PIN asked) once the CA and the certificate files were read */
    if ((rc = ca_name_check(argv[optind])) != 0 || (rc = app_store(a, 0)) != 0 ||
        (rc = app_hsm_deferred(a)) != 0)
        return rc;
    return ca_import(a->store, a->hsm, a->cfg, argv[optind], cert, chain, key, &ad);
}

static int ca_sign_sub(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"csr", 1, 0, 'r'}, {"out", 1, 0, 'o'},
                                       {"days", 1, 0, 'd'}, {"path-len", 1, 0, 'l'},
                                       {"no-cdp", 0, 0, 'n'}, {0, 0, 0, 0}};
    const char *cmd = "ca sign-subordinate";
    struct ca_subord_req r;
    char *end;
    int c, rc;

    memset(&r, 0, sizeof(r));
    r.path_len = -1;
    while ((c = opt_next(argc, argv, cmd, ":o:", lo)) != -1) {
        switch (c) {
        case 'r': r.csr_file = optarg; break;
        case 'o': r.out = optarg; break;
        case 'd': if ((rc = opt_days(cmd, optarg, &r.days)) != 0) return rc; break;
        case 'l':
            r.path_len = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || r.path_len < 0 || r.path_len > 16) {
                report("%s: --path-len '%s': not a number from 0 to 16", cmd, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n': r.no_cdp = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !r.csr_file || !r.out) {
        report("%s: needs PARENT, --csr FILE and -o FILE; see 'offca %s --help'", cmd, cmd);
        return EXIT_USAGE;
    }
    r.parent = argv[optind];
    /* the token is opened (the PIN asked) once the request passed its checks */
    if ((rc = ca_subord_check(&r)) != 0 || (rc = app_store(a, 0)) != 0 ||
        (rc = app_hsm_deferred(a)) != 0)
        return rc;
    return ca_sign_subordinate(a->store, a->hsm, a->cfg, &r);
}

static const char *state_name(enum ca_state s)
{
    return s == CA_ACTIVE ? "active" : s == CA_PENDING ? "pending" : "retired";
}

struct list_ctx {
    struct app *a;
    struct store_txn *t;
    int n;
    int names;              /* --names: the name alone, one per line */
};

static int list_one(void *arg, const struct ca_rec *r)
{
    struct list_ctx *lc = arg;
    X509 *x;
    char *subj, na[32] = "-", gen[16];
    unsigned ci, ki;

    if (lc->names) {
        printf("%s\n", r->name);
        lc->n++;
        return 1;
    }
    x = r->cert_der ? der_to_x509(r->cert_der, r->cert_len) : NULL;
    subj = x ? dn_format(X509_get_subject_name(x)) : NULL;

    gen_newest_indexes(lc->t, r->name, &ci, &ki);
    snprintf(gen, sizeof(gen), "V%u.%u", ci, ki);
    if (x)
        time_iso(asn1_time_to_time(X509_get0_notAfter(x)), na);
    if (lc->a->json) {
        fputs(lc->n ? ",{" : "{", stdout);
        json_kv(stdout, 1, "name", r->name);
        json_kv(stdout, 0, "state", state_name(r->state));
        json_kv(stdout, 0, "parent", r->parent);
        json_kv(stdout, 0, "root", r->is_root ? "yes" : "no");
        json_kv(stdout, 0, "subject", subj);
        json_kv(stdout, 0, "not_after", x ? na : NULL);
        json_kv(stdout, 0, "key", r->key_uri);
        json_kv_int(stdout, 0, "cert_index", ci);
        json_kv_int(stdout, 0, "key_index", ki);
        fputc('}', stdout);
    } else {
        printf("%-16s %-8s %-12s %-7s %s  %s\n", r->name, state_name(r->state),
               r->is_root ? "(root)" : (r->parent ? r->parent : "(outside)"), x ? gen : "-", na,
               subj ? subj : "");
    }
    lc->n++;
    OPENSSL_free(subj);
    X509_free(x);
    return 1;
}

static int ca_list(struct app *a, int argc, char **argv)
{
    struct list_ctx lc = {a, NULL, 0, 0};
    struct store_txn *t;
    int rc;

    if ((rc = args_listing(a, argc, argv, "ca list", &lc.names)) != 0 ||
        (rc = app_store(a, 0)) != 0)
        return rc;
    if ((t = store_txn_begin(a->store, 0)) == NULL)
        return fail_store();
    lc.t = t;
    if (a->json)
        fputc('[', stdout);
    rc = store_ca_foreach(t, list_one, &lc) ? 0 : fail_store();
    store_txn_abort(t);
    if (a->json)
        fputs("]\n", stdout);
    else if (lc.n == 0 && rc == 0 && !lc.names)
        printf("no CAs yet; create one with 'offca ca create-root'\n");
    return rc;
}

/* First URI of a CDP or AIA caIssuers extension, or NULL. */
static const char *first_uri(X509 *x, int nid)
{
    static char buf[2][1024];
    int slot = nid == NID_info_access;
    void *ext = X509_get_ext_d2i(x, nid, NULL, NULL);
    const GENERAL_NAME *gn = NULL;

    if (ext == NULL)
        return NULL;
    if (nid == NID_crl_distribution_points) {
        DIST_POINT *dp = sk_DIST_POINT_value(ext, 0);
        if (dp && dp->distpoint && dp->distpoint->type == 0)
            gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
    } else {
        for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(ext) && !gn; i++) {
            ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(ext, i);
            if (OBJ_obj2nid(ad->method) == NID_ad_ca_issuers)
                gn = ad->location;
        }
    }
    buf[slot][0] = '\0';
    if (gn && gn->type == GEN_URI)
        snprintf(buf[slot], sizeof(buf[slot]), "%.*s", gn->d.uniformResourceIdentifier->length,
                 (const char *)gn->d.uniformResourceIdentifier->data);
    if (nid == NID_crl_distribution_points)
        CRL_DIST_POINTS_free(ext);
    else
        AUTHORITY_INFO_ACCESS_free(ext);
    return buf[slot][0] ? buf[slot] : NULL;
}

/* The CDP and AIA the CA writes into what it issues: its newest generation's. */
static void issues_urls(const struct ca_cfg *cc, const struct gen_list *l, char *cdp, char *aia)
{
    const struct ca_gen *g = l->n ? &l->g[l->n - 1] : NULL;

    gen_url(cc->cdp_url, g ? g->key_index : 0, cdp, 1024);
    gen_url(cc->aia_url, g ? g->cert_index : 0, aia, 1024);
}

static void show_text(const struct ca_rec *r, X509 *x, const struct ca_cfg *cc,
                      const struct gen_list *l)
{
    char *subj = dn_format(X509_get_subject_name(x)), *iss = dn_format(X509_get_issuer_name(x));
    char nb[32], na[32], serial[2 * 20 + 1] = "";
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    const char *cdp = first_uri(x, NID_crl_distribution_points);
    const char *aia = first_uri(x, NID_info_access);
    char icdp[1024], iaia[1024];

    issues_urls(cc, l, icdp, iaia);

    if (sn && sn->length <= 20)
        serial_hex(sn->data, (size_t)sn->length, serial);
    time_iso(asn1_time_to_time(X509_get0_notBefore(x)), nb);
    time_iso(asn1_time_to_time(X509_get0_notAfter(x)), na);
    printf("name:        %s (%s%s)\nsubject:     %s\nissuer:      %s\nserial:      %s\n"
           "valid:       %s .. %s\nkey:         %s\nsigns with:  %s %s\nparent:      %s\n"
           "its CDP:     %s\nits AIA:     %s\nissues with: CDP %s\n             AIA %s\n",
           r->name, state_name(r->state), r->is_root ? ", root" : "", subj ? subj : "?",
           iss ? iss : "?", serial, nb, na, r->key_uri, r->sig, r->hash,
           r->parent ? r->parent : (r->is_root ? "(self-signed)" : "(outside offca)"),
           cdp ? cdp : "(none)", aia ? aia : "(none)", icdp, iaia);
    gen_list_print(r, l, 0, stdout);
    OPENSSL_free(subj);
    OPENSSL_free(iss);
}

static void show_json(const struct ca_rec *r, X509 *x, const struct ca_cfg *cc,
                      const struct gen_list *l)
{
    char *subj = dn_format(X509_get_subject_name(x)), *iss = dn_format(X509_get_issuer_name(x));
    char nb[32], na[32], icdp[1024], iaia[1024];

    time_iso(asn1_time_to_time(X509_get0_notBefore(x)), nb);
    time_iso(asn1_time_to_time(X509_get0_notAfter(x)), na);
    fputc('{', stdout);
    json_kv(stdout, 1, "name", r->name);
    json_kv(stdout, 0, "state", state_name(r->state));
    json_kv(stdout, 0, "subject", subj);
    json_kv(stdout, 0, "issuer", iss);
    json_kv(stdout, 0, "not_before", nb);
    json_kv(stdout, 0, "not_after", na);
    json_kv(stdout, 0, "key", r->key_uri);
    json_kv(stdout, 0, "sig", r->sig);
    json_kv(stdout, 0, "hash", r->hash);
    json_kv(stdout, 0, "parent", r->parent);
    json_kv(stdout, 0, "cdp", first_uri(x, NID_crl_distribution_points));
    json_kv(stdout, 0, "aia", first_uri(x, NID_info_access));
    issues_urls(cc, l, icdp, iaia);
    json_kv(stdout, 0, "issues_cdp", icdp);
    json_kv(stdout, 0, "issues_aia", iaia);
    gen_list_print(r, l, 1, stdout);
    fputs("}\n", stdout);
    OPENSSL_free(subj);
    OPENSSL_free(iss);
}

/* The generations of CA name, in a read txn of their own. 0 or the exit class. */
static int ca_show(struct app *a, int argc, char **argv)
{
    static struct gen_list l;
    struct ca_rec r;
    X509 *x;
    const char *name = NULL;
    int rc;

    if ((rc = args_json(a, argc, argv, "ca show", "NAME", &name)) != 0 ||
        (rc = app_store(a, 0)) != 0 || (rc = ca_get(a->store, name, &r)) != 0)
        return rc;
    if (r.state == CA_PENDING || (x = der_to_x509(r.cert_der, r.cert_len)) == NULL) {
        printf("name: %s (pending: waiting for 'offca ca import')\nkey:  %s\n", r.name, r.key_uri);
        ca_rec_clear(&r);
        return EXIT_OK;
    }
    if ((rc = ca_gens_read(a->store, name, &l)) == 0) {
        if (a->json)
            show_json(&r, x, config_ca(a->cfg, name), &l);
        else
            show_text(&r, x, config_ca(a->cfg, name), &l);
    }
    gen_list_clear(&l);
    X509_free(x);
    ca_rec_clear(&r);
    return rc;
}

static int ca_export(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"chain", 0, 0, 'c'}, {"der", 0, 0, 'd'},
                                       {"out", 1, 0, 'o'}, {"ntauth", 0, 0, 'n'},
                                       {"force", 0, 0, 'f'}, {"all", 0, 0, 'a'}, {0, 0, 0, 0}};
    int c, chain = 0, der = 0, ntauth = 0, force = 0, all = 0, rc;
    const char *out = "-";
    struct ca_rec r;
    BIO *b = NULL;
    char *data;
    long len;

    while ((c = opt_next(argc, argv, "ca export", ":o:", lo)) != -1) {
        switch (c) {
        case 'c': chain = 1; break;
        case 'd': der = 1; break;
        case 'o': out = optarg; break;
        case 'n': ntauth = 1; break;
        case 'f': force = 1; break;
        case 'a': all = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || ((chain || all) && der)) {
        report("ca export: needs NAME%s; see 'offca ca export --help'", (chain || all) && der ?
               " (--chain and --all are PEM only: a DER file holds one certificate)" : "");
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0 || (rc = ca_get(a->store, argv[optind], &r)) != 0)
        return rc;
    if (r.state == CA_PENDING) {
        report("CA '%s': pending, no certificate yet; run 'offca ca import' first", r.name);
        ca_rec_clear(&r);
        return EXIT_USAGE;
    }
    if (ntauth) {
        rc = ca_ntauth_print(a->store, &r);
        ca_rec_clear(&r);
        return rc;
    }
    if (der) {
        rc = file_write(out, r.cert_der, r.cert_len, 0644, force);
    } else if ((b = BIO_new(BIO_s_mem())) == NULL ||
               (rc = ca_chain_pem(a->store, &r, chain, all, b)) != 0) {
        rc = rc ? rc : EXIT_SYSTEM;
    } else {
        len = BIO_get_mem_data(b, &data);
        rc = file_write(out, data, (size_t)len, 0644, force);
    }
    BIO_free(b);
    ca_rec_clear(&r);
    return rc;
}

static const struct verb CA_VERBS[] = {
    {"create-root", ca_create_root, "create a self-signed root CA", HELP_CREATE_ROOT},
    {"create-issuing", ca_create_issuing, "create an issuing CA under a CA in offca",
     HELP_CREATE_ISSUING},
    {"csr", ca_csr, "request for an issuing CA whose parent is outside offca", HELP_CSR},
    {"import", ca_import_cmd, "import that CA's certificate and chain, or adopt a legacy CA",
     HELP_IMPORT},
    {"sign-subordinate", ca_sign_sub, "certify an issuing CA whose key is on another machine",
     HELP_SIGN_SUB},
    {"list", ca_list, "list the CAs", HELP_LIST_CA},
    {"show", ca_show, "show one CA", HELP_SHOW_CA},
    {"export", ca_export, "write a CA certificate or chain", HELP_EXPORT_CA},
    {"renew", ca_renew_cmd, "new certificate for a CA: same key or new key", HELP_RENEW_CA},
    {"retire", ca_retire_cmd, "stop a CA issuing; its CRLs go on until all expire", HELP_RETIRE_CA},
};

const char HELP_CA[] =
    "usage: offca ca SUBCOMMAND ...   (offca ca SUBCOMMAND --help)\n\n"
    "  create-root NAME --key URI --subject DN [--days N] [--sig S] [--hash H]\n"
    "  create-issuing NAME --parent P --key URI --subject DN [--days N] [--path-len N] [--no-cdp]\n"
    "  csr NAME --key URI --subject DN -o FILE\n"
    "  import NAME --cert FILE [--chain FILE] [--key URI]\n"
    "         [--index FILE [--newcerts DIR] | --certutil-view FILE [--utc-offset +HH:MM]]\n"
    "         [--last-crl FILE | --crl-number N]   (adopt what a legacy CA issued)\n"
    "  sign-subordinate PARENT --csr FILE -o FILE [--days N] [--path-len N] [--no-cdp]\n"
    "  list [--json | --names]\n  show NAME [--json]\n"
    "  export NAME [--chain] [--all] [--der] [-o FILE [--force]] [--ntauth]\n"
    "  renew NAME (--same-key | --new-key URI) [--days N]\n  retire NAME\n\n"
    "Example:\n  offca ca create-issuing issuing1 --parent root --key URI --subject 'CN=Issuing CA 1'\n";

int cmd_ca(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, CA_VERBS, sizeof(CA_VERBS) / sizeof(CA_VERBS[0]), "ca", argc - 1,
                         argv + 1);
}
