/*
 * cmd_crl.c — `offca crl publish`: the cron entry point.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/app.h"
#include "ca/publish.h"
#include "ca/verb.h"

static const char HELP_CRL_PUBLISH[] =
    "usage: offca crl publish [--ca NAME] [--force]\n\n"
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
    "record; with the clock before the CA's notBefore nothing is signed.\n\n"
    "Exit codes: 0 ok (published, or nothing due: one line per CA with its next publish\n"
    "time); 1 --ca names a pending or retired CA, or the clock is before the CA's validity\n"
    "or behind the last CRL; 2 usage (bad option, --ca not in the store);\n"
    "4 HSM, store or file failure, or a CA key unreachable (the next run publishes again).\n\n"
    "Examples:\n  offca crl publish\n  offca crl publish --ca issuing1 --force\n"
    "  cron:    tools/offca.cron (hourly), or systemd: tools/offca-crl.service + .timer\n";

static int crl_publish(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"ca", 1, 0, 'c'}, {"force", 0, 0, 'f'}, {0, 0, 0, 0}};
    const char *ca = NULL;
    int c, force = 0;

    while ((c = opt_next(argc, argv, "crl publish", ":", lo)) != -1) {
        if (c == 'c')
            ca = optarg;
        else if (c == 'f')
            force = 1;
        else
            return EXIT_USAGE;
    }
    if (optind != argc) {
        report("crl publish: unexpected argument '%s'; see 'offca crl publish --help'",
               argv[optind]);
        return EXIT_USAGE;
    }
    report_use_syslog(1);
    return publish_run(a, ca, force);
}

static const struct verb CRL_VERBS[] = {
    {"publish", crl_publish, "publish due CRLs and CA certificates", HELP_CRL_PUBLISH},
};

const char HELP_CRL[] =
    "usage: offca crl publish [--ca NAME] [--force]\n\n"
    "Keep a fresh CRL behind every CDP URL offca writes (NPS refuses logons otherwise).\n\n"
    "Example:\n  offca crl publish\n";

int cmd_crl(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, CRL_VERBS, sizeof(CRL_VERBS) / sizeof(CRL_VERBS[0]), "crl",
                         argc - 1, argv + 1);
}
