/*
 * cmd_mapping.c — `offca mapping SERIAL`: the strong altSecurityIdentities strings for an issued
 * certificate and the PowerShell line that applies the recommended one (KB5014754 manual
 * mapping, for certificates without the SID or for belt and braces).
 */
#include <stdio.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/issue/issue.h"
#include "ca/common/common.h"

const char HELP_MAPPING[] =
    "usage: offca [--json] mapping SERIAL\n\n"
    "Print the strong altSecurityIdentities mappings of a certificate:\n"
    "  X509IssuerSerialNumber  X509:<I>issuer<SR>serial-bytes-reversed (Microsoft's choice)\n"
    "  X509SKI                 X509:<SKI>subject-key-identifier\n"
    "  X509SHA1PublicKey       X509:<SHA1-PUKEY>hash (secondary)\n"
    "and the Set-ADComputer / Set-ADUser line that adds the first one.\n\n"
    "Example:\n  offca mapping 4f1c...e2\n";

/* The AD account the certificate names: UPN -> user (Set-ADUser by UPN's local part is wrong:
 * look it up by UPN); DNS name -> computer NAME$. */
static void print_apply(const char *sans, const char *issuer_serial)
{
    const char *upn = strstr(sans, "upn:"), *dns = strstr(sans, "dns:");
    char who[256];

    if (upn) {
        snprintf(who, sizeof(who), "%.*s", (int)strcspn(upn + 4, "\n"), upn + 4);
        printf("Get-ADUser -Filter \"UserPrincipalName -eq '%s'\" | Set-ADUser -Add "
               "@{altSecurityIdentities='%s'}\n", who, issuer_serial);
    } else if (dns) {
        snprintf(who, sizeof(who), "%.*s", (int)strcspn(dns + 4, ".\n"), dns + 4);
        printf("Set-ADComputer '%s' -Add @{altSecurityIdentities='%s'}\n", who, issuer_serial);
    } else {
        printf("# no UPN or DNS name in the certificate: apply to the account it is for:\n"
               "Set-ADUser ACCOUNT -Add @{altSecurityIdentities='%s'}\n", issuer_serial);
    }
}

int cmd_mapping(struct app *a, int argc, char **argv)
{
    const char *serial = NULL;
    struct cert_rec r;
    char *is = NULL, *ski = NULL, *pk = NULL;
    X509 *x = NULL;
    int rc;

    if ((rc = args_json(a, argc, argv, "mapping", "SERIAL", &serial)) != 0 ||
        (rc = app_store(a, 0)) != 0 || (rc = cert_lookup(a->store, serial, &r)) != 0)
        return rc;
    rc = EXIT_SYSTEM;
    if (r.der_len == 0) {
        report("serial %s: no certificate stored (adopted from a legacy CA's database without "
               "it): no mapping to compute; map it from the certificate the old CA issued", serial);
        rc = EXIT_POLICY;
        goto out;
    }
    if ((x = der_to_x509(r.der, r.der_len)) == NULL || (is = ms_altsec_issuer_serial(x)) == NULL ||
        (ski = ms_altsec_ski(x)) == NULL || (pk = ms_altsec_sha1_pukey(x)) == NULL) {
        report("serial %s: could not compute the mapping strings: %s", serial, tmpl_error());
        goto out;
    }
    if (a->json) {
        fputc('{', stdout);
        json_kv(stdout, 1, "X509IssuerSerialNumber", is);
        json_kv(stdout, 0, "X509SKI", ski);
        json_kv(stdout, 0, "X509SHA1PublicKey", pk);
        fputs("}\n", stdout);
    } else {
        printf("X509IssuerSerialNumber  %s\nX509SKI                 %s\n"
               "X509SHA1PublicKey       %s\n\n# apply the recommended mapping:\n", is, ski, pk);
        print_apply(r.sans, is);
    }
    rc = EXIT_OK;
out:
    OPENSSL_free(is);
    OPENSSL_free(ski);
    OPENSSL_free(pk);
    X509_free(x);
    cert_rec_clear(&r);
    return rc;
}
