/*
 * cmd_crl.c — `offca crl publish`: the cron entry point.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "ca/cli/cli.h"
#include "ca/publish/publish.h"
#include "ca/issue/issue.h"

static const char HELP_CRL_PUBLISH[] =
    "usage: offca crl publish [--ca NAME [--out DIR]] [--force]\n\n"
    "For every CA (or one) publish to [publish] dir: NAME.crl (DER v2 CRL signed in the token:\n"
    "CRL number, AKID, reason codes, invalidity dates, Microsoft Next CRL Publish and CA\n"
    "Version; thisUpdate backdated by clock_skew), NAME+.crl (delta, when delta_period is set)\n"
    "and NAME.crt (DER CA certificate, for AIA). Made for hourly cron: a CRL is published only\n"
    "when revocations changed, its Next CRL Publish time has come, the published file is not\n"
    "the one recorded, or --force; otherwise one line says nothing was due (exit 0).\n"
    "Every run also opens each CA's key (module, token, login, key object): a key that\n"
    "cannot be reached is an error (exit 4) even when nothing is due. A wrong PIN is sent\n"
    "once per run, never once per CA.\n"
    "Files appear atomically (temp, fsync, rename) and are read back and verified; a file\n"
    "there that is a symlink, FIFO or device is replaced, never followed. The publish dir\n"
    "must be owned by root or this user and not group/world-writable. Overlapping runs wait\n"
    "for each other (an flock of the store directory; no lock file in the publish dir).\n"
    "Every line also goes to syslog (user.info; errors user.err).\n"
    "The audit log gets crl.sign when a CRL is signed and recorded, then crl.publish ok once\n"
    "its file is in place and read back (crl.publish fail when it could not be).\n"
    "Time: a published CRL whose thisUpdate is in the future (made with a fast clock; relying\n"
    "parties refuse it) is replaced with the next number; a CRL whose thisUpdate would be\n"
    "before the last one's (the clock went back) is refused unless --force. A CA whose\n"
    "certificate has expired still publishes CRLs, with a warning on stderr and in the audit\n"
    "record; with the clock before the CA's notBefore nothing is signed.\n"
    "  --out DIR  (with --ca) also write NAME.crl (the published CRL, checked against the\n"
    "             store) and NAME.crt into DIR, for carrying an offline root's CRL and\n"
    "             certificate to the issuing machine ('offca crl import' there)\n"
    "CRLs of a parent on another machine (imported with 'offca crl import'): a run without\n"
    "--ca publishes a pre-signed one once its thisUpdate has come (the highest number due,\n"
    "never a not-yet-valid one, never a lower number than the published one), and puts back a\n"
    "published file that is missing or altered, from the store; it never signs them.\n\n"
    "Exit codes: 0 ok (published, or nothing due: one line per CA with its next publish\n"
    "time); 1 --ca names a pending or retired CA, or the clock is before the CA's validity\n"
    "or behind the last CRL; 2 usage (bad option, --ca not in the store);\n"
    "4 HSM, store or file failure, or a CA key unreachable (the next run publishes again).\n\n"
    "Examples:\n  offca crl publish\n  offca crl publish --ca issuing1 --force\n"
    "  offca crl publish --ca root --force --out /media/usb   (root ceremony)\n"
    "  cron:    tools/offca.cron (hourly), or systemd: tools/offca-crl.service + .timer\n";

static int crl_publish(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"ca", 1, 0, 'c'}, {"force", 0, 0, 'f'},
                                       {"out", 1, 0, 'o'}, {0, 0, 0, 0}};
    const char *ca = NULL, *out = NULL;
    int c, force = 0, rc;

    while ((c = opt_next(argc, argv, "crl publish", ":", lo)) != -1) {
        if (c == 'c')
            ca = optarg;
        else if (c == 'f')
            force = 1;
        else if (c == 'o')
            out = optarg;
        else
            return EXIT_USAGE;
    }
    if (optind != argc || (out && !ca)) {
        report("crl publish: %s '%s'; see 'offca crl publish --help'", out && !ca ?
               "--out needs --ca NAME: it carries one CA's CRL, not" : "unexpected argument",
               optind != argc ? argv[optind] : out);
        return EXIT_USAGE;
    }
    report_use_syslog(1);
    /* the name before the store; the token is opened at the first key a run loads */
    if ((ca && (rc = ca_name_check(ca)) != 0) || (rc = app_store(a, 0)) != 0 ||
        (rc = app_hsm_deferred(a)) != 0)
        return rc;
    if ((rc = publish_run(a->store, a->hsm, a->cfg, ca, force)) == 0 && out)
        rc = crl_carry_write(a->store, a->cfg, ca, out);
    return rc;
}

static const char HELP_CRL_IMPORT[] =
    "usage: offca crl import FILE...\n\n"
    "On the issuing machine: import CRLs of a parent CA that lives on another machine (the\n"
    "offline root that signed a CA made here with 'ca csr' + 'ca import'), carried over by hand\n"
    "(DER or PEM). Each CRL must be a full v2 CRL with a CRL number and nextUpdate, issued by\n"
    "the parent certificate in that CA's chain (issuer name, AKID, signature), lint clean,\n"
    "numbered above every CRL of that parent already imported (the same number with other\n"
    "bytes is refused; the same bytes again are a no-op), not expired, and - when its\n"
    "thisUpdate is still to come (a pre-signed CRL) - continuing the CRL before it without a\n"
    "gap. A CRL voids the pre-signed CRLs still waiting that it overtakes (lower number,\n"
    "thisUpdate not before its own): a revocation ceremony on the root replaces them.\n"
    "Everything is one store transaction with an audit record per CRL: one file refused and\n"
    "nothing is imported, the published file stays as it was. Then the CRL now due is\n"
    "published atomically in [publish] dir under the file name the imported CA's CDP points\n"
    "at (its last path segment) and read back; pre-signed CRLs wait in the store until the\n"
    "hourly 'offca crl publish' finds their thisUpdate come.\n\n"
    "Exit codes: 0 imported (or already there); 1 refused (wrong issuer, bad signature, AKID,\n"
    "older, same number other content, expired, not yet valid, lint, a delta or v1 CRL);\n"
    "2 usage (no CA here has a parent elsewhere); 3 unreadable or not a CRL; 4 store/file.\n\n"
    "Example:\n  offca crl import /media/usb/root.crl /media/usb/root-crl-*.crl\n";

static int crl_import(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{0, 0, 0, 0}};
    int c, rc;

    while ((c = opt_next(argc, argv, "crl import", ":", lo)) != -1)
        return EXIT_USAGE;
    if (optind >= argc) {
        report("crl import: needs one or more CRL files; see 'offca crl import --help'");
        return EXIT_USAGE;
    }
    report_use_syslog(1);
    if ((rc = crlimp_import_count(argc - optind)) != 0 || (rc = app_store(a, 0)) != 0)
        return rc;
    return crlimp_import(a->store, a->cfg, argv + optind, argc - optind);
}

static const char HELP_CRL_PRESIGN[] =
    "usage: offca crl presign --ca NAME --count N [--out DIR]\n\n"
    "On the root machine, in a ceremony right after 'offca crl publish --ca NAME --force':\n"
    "sign the next N CRLs (1-120) now, so the token can stay in the safe for N CRL periods.\n"
    "They are the CRLs of the CA's active key generation (NAME.crl, or NAME(k).crl after a\n"
    "new-key renewal; an older key still publishing gets its CRL at each ceremony from 'crl\n"
    "publish'), with consecutive CRL numbers after that key's last one and every revocation\n"
    "of a certificate that key signed, recorded now; each one's thisUpdate is the previous\n"
    "one's Next CRL Publish (the first continues the CRL just published), its Next CRL\n"
    "Publish thisUpdate + crl_period, its nextUpdate that + crl_overlap. Each is linted\n"
    "before the token signs it; all are recorded with the CA's new last CRL number and an\n"
    "audit record in one transaction, then written to DIR/NAME-crl-<number>.crl\n"
    "(NAME(k)-crl-<number>.crl; default: [publish] dir). Refused when revocations are not yet\n"
    "on a published CRL, when no CRL was published yet or its Next CRL Publish has passed,\n"
    "for a CA with delta CRLs, and past the CA certificate's expiry. A revocation later makes\n"
    "the rest void: the next CRL published has a higher number, and importing it on the\n"
    "issuing machine discards the pre-signed ones still waiting.\n\n"
    "Exit codes: 0 signed; 1 refused (see above, lint); 2 usage; 4 HSM, store or file.\n\n"
    "Example (one ceremony a year, monthly CRLs: crl_period = \"30d\"):\n"
    "  offca crl publish --ca root --force --out /media/usb\n"
    "  offca crl presign --ca root --count 12 --out /media/usb\n";

static int crl_presign_cmd(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"ca", 1, 0, 'c'}, {"count", 1, 0, 'n'},
                                       {"out", 1, 0, 'o'}, {0, 0, 0, 0}};
    const char *ca = NULL, *out = NULL, *count = NULL;
    char *end = NULL;
    long n = 0;
    int c, rc;

    while ((c = opt_next(argc, argv, "crl presign", ":", lo)) != -1) {
        if (c == 'c')
            ca = optarg;
        else if (c == 'n')
            count = optarg;
        else if (c == 'o')
            out = optarg;
        else
            return EXIT_USAGE;
    }
    if (count)
        n = strtol(count, &end, 10);
    if (optind != argc || !ca || !count || *count == '\0' || *end != '\0' || n < 1 ||
        n > MAX_PRESIGN_COUNT) {
        report("crl presign: needs --ca NAME and --count N (1 to %d); see 'offca crl presign "
               "--help'", MAX_PRESIGN_COUNT);
        return EXIT_USAGE;
    }
    if ((rc = ca_name_check(ca)) != 0 || (rc = app_store(a, 0)) != 0 ||
        (rc = app_hsm_deferred(a)) != 0)
        return rc;
    return crl_presign(a->store, a->hsm, a->cfg, ca, (int)n, out);
}

static const struct verb CRL_VERBS[] = {
    {"publish", crl_publish, "publish due CRLs and CA certificates", HELP_CRL_PUBLISH},
    {"import", crl_import, "import a parent's CRLs carried from its machine", HELP_CRL_IMPORT},
    {"presign", crl_presign_cmd, "sign the next N CRLs in one ceremony", HELP_CRL_PRESIGN},
};

const char HELP_CRL[] =
    "usage: offca crl SUBCOMMAND ...   (offca crl SUBCOMMAND --help)\n\n"
    "  publish [--ca NAME [--out DIR]] [--force]   hourly from cron\n"
    "  import FILE...                              a parent's CRLs, carried from its machine\n"
    "  presign --ca NAME --count N [--out DIR]     the next N CRLs, in one root ceremony\n\n"
    "Keep a fresh CRL behind every CDP URL offca writes (NPS refuses logons otherwise).\n\n"
    "Example:\n  offca crl publish\n";

int cmd_crl(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, CRL_VERBS, sizeof(CRL_VERBS) / sizeof(CRL_VERBS[0]), "crl",
                         argc - 1, argv + 1);
}
