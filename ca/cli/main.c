/*
 * main.c — offca's entry: global options, then the verb table.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/faultpoint.h"
#include "ca/cli/cli.h"

#define OFFCA_VERSION "0.1.0"

static const struct verb VERBS[] = {
    {"init", cmd_init, "create the store, check the token and the PIN", HELP_INIT},
    {"key", cmd_key, "generate and list CA key pairs inside the token", HELP_KEY, 1},
    {"ca", cmd_ca, "create, renew, retire, sign-subordinate, import, list, show, export CAs",
     HELP_CA, 1},
    {"template", cmd_template, "list, show and check certificate templates", HELP_TEMPLATE, 1},
    {"sign", cmd_sign, "issue a certificate for a request under a template", HELP_SIGN},
    {"list", cmd_list, "list issued certificates", HELP_LIST},
    {"report", cmd_report, "write the certificate inventory (CSV/JSON) or a renewal list",
     HELP_REPORT},
    {"show", cmd_show, "show one issued certificate", HELP_SHOW},
    {"export", cmd_export, "write one issued certificate (PEM or DER)", HELP_EXPORT},
    {"directory", cmd_directory, "import AD exports (principal -> SID) and look them up",
     HELP_DIRECTORY, 1},
    {"mapping", cmd_mapping, "print the altSecurityIdentities strong-mapping strings",
     HELP_MAPPING},
    {"revoke", cmd_revoke, "revoke a certificate, or a list of them (--batch)", HELP_REVOKE},
    {"unrevoke", cmd_unrevoke, "release a certificate from certificateHold", HELP_UNREVOKE},
    {"crl", cmd_crl, "publish CRLs (cron), import a parent's CRLs, pre-sign CRLs", HELP_CRL, 1},
    {"doctor", cmd_doctor, "check CAs and chains the way Windows NPS does", HELP_DOCTOR},
    {"lint", cmd_lint, "check certificates and CRLs (files or the store) against the lints",
     HELP_LINT},
    {"audit", cmd_audit, "list and verify the hash-chained audit log", HELP_AUDIT, 1},
    {"status", cmd_status, "one screen of CA, CRL and certificate health (cron, monitoring)",
     HELP_STATUS},
    {"backup", cmd_backup, "write or verify a consistent backup (store, config, templates)",
     HELP_BACKUP},
    {"restore", cmd_restore, "restore a verified backup into a new, empty store path",
     HELP_RESTORE},
};
#define N_VERBS (sizeof(VERBS) / sizeof(VERBS[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "usage: offca [-c FILE] [--json] COMMAND [OPTIONS]\n"
            "       offca COMMAND --help      (every command and option, with an example)\n\n"
            "An offline certification authority for AD / Intune PKI: CA keys in a PKCS#11\n"
            "token, templates that add the SID for strong mapping (KB5014754), and CRLs kept\n"
            "fresh behind every CDP URL so NPS revocation checks pass.\n\n"
            "Global options:\n"
            "  -c FILE     configuration (default: $OFFCA_CONFIG, else ./ca.toml)\n"
            "  --json      machine-readable output where a command supports it\n"
            "  --version   print the version\n"
            "  --commands  print every command and subcommand, one per line (for shell\n"
            "              completion and scripts)\n\n"
            "Commands:\n");
    for (size_t i = 0; i < N_VERBS; i++)
        fprintf(f, "  %-10s %s\n", VERBS[i].name, VERBS[i].summary);
    fprintf(f,
            "\nExit codes: 0 ok; 1 refused by policy; 2 usage; 3 unreadable or malformed input;\n"
            "            4 HSM or store failure.\n"
            "PIN: [hsm] pin_file (mode 0600), $OFFCA_PIN, or a no-echo prompt. Never on the "
            "command line.\n");
}

static void warn_line(const char *msg) { report_warn("%s", msg); }

int main(int argc, char **argv)
{
    struct app a;
    int i = 1, rc;

    memset(&a, 0, sizeof(a));
    umask(077);
    FAULTPOINT_INIT();
    tmpl_warn_set(warn_line);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            a.config_arg = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            a.json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--commands") == 0) {
            verb_print_names(&a, VERBS, N_VERBS);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("offca %s\n", OFFCA_VERSION);
            return EXIT_OK;
        } else {
            report("option '%s': unknown or missing its value; see 'offca --help'", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    rc = verb_dispatch(&a, VERBS, N_VERBS, NULL, argc - i, argv + i);
    app_close(&a);
    return rc;
}
