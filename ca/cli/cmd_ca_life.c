/*
 * cmd_ca_life.c — `offca ca renew` and `offca ca retire`: options in, ca_renew.c out, then a
 * renewed CA's certificate files into the publish directory (publish_certs.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/authority/authority.h"
#include "ca/issue/issue.h"
#include "ca/publish/publish.h"

const char HELP_RENEW_CA[] =
    "usage: offca ca renew NAME (--same-key | --new-key URI) [--days N]\n\n"
    "Give CA NAME a new certificate (Microsoft 'Certification Authority Renewal'). An issuing\n"
    "CA is signed by its parent's newest generation (validity capped by it, as at create); a\n"
    "root signs itself. The certificate index goes up by one and the certificate carries the\n"
    "Microsoft CA Version V<cert>.<key> and the Previous CA Certificate Hash; it is published\n"
    "as NAME(i).crt, and what the CA issues from then on names it in its AIA.\n"
    "  --same-key      keep the key (key index unchanged, same SKID): certificates it issues\n"
    "                  stay on the same CRL, NAME.crl or NAME(k).crl\n"
    "  --new-key URI   a new key in the token (see 'offca key generate'), checked like any CA\n"
    "                  key at create (the key gate: RSA >= 2048 or P-256/384/521, every rule,\n"
    "                  the blocklist; refused when another CA or an earlier generation has\n"
    "                  it): the key index becomes the new certificate index, the CA signs with\n"
    "                  the new key only, and its certificates go on the new NAME(k).crl; the\n"
    "                  older keys keep publishing their own CRLs while what they signed lives.\n"
    "                  A root also gets two link certificates (RFC 4210 4.4): NAME(a-b).crt =\n"
    "                  key a certifying key b, so clients trusting either root build a path\n"
    "  --days N        validity (default 1825 issuing, 3650 root; capped by the parent)\n\n"
    "Children of a renewed parent keep working; renew them with --same-key to move them under\n"
    "the parent's newest generation.\n\n"
    "Example:\n"
    "  offca ca renew issuing1 --same-key\n"
    "  offca ca renew root --new-key 'pkcs11:token=offca;object=root-2036;type=private'\n";

/* `offca ca renew NAME (--same-key | --new-key URI) [--days N]`. */
int ca_renew_cmd(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {
        {"same-key", 0, 0, 's'}, {"new-key", 1, 0, 'k'}, {"days", 1, 0, 'd'}, {0, 0, 0, 0}};
    const char *cmd = "ca renew";
    struct ca_renew_req r;
    int c, rc, same = 0;

    memset(&r, 0, sizeof(r));
    while ((c = opt_next(argc, argv, cmd, ":", lo)) != -1) {
        switch (c) {
        case 's': same = 1; break;
        case 'k': r.new_key = optarg; break;
        case 'd': if ((rc = opt_days(cmd, optarg, &r.days)) != 0) return rc; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || same == (r.new_key != NULL)) {
        report("%s: needs NAME and exactly one of --same-key or --new-key URI; see 'offca %s "
               "--help'", cmd, cmd);
        return EXIT_USAGE;
    }
    r.name = argv[optind];
    /* the token is opened (the PIN asked) only once the CA was found renewable */
    if ((rc = ca_name_check(r.name)) != 0 || (rc = app_store(a, 0)) != 0 ||
        (rc = app_hsm_deferred(a)) != 0 || (rc = ca_renew(a->store, a->hsm, a->cfg, &r)) != 0)
        return rc;
    /* recorded: now its certificate files (and again by every 'crl publish', which heals a
     * failure here) */
    if ((rc = publish_ca_certs(a->store, a->cfg, r.name)) != 0)
        report("ca renew %s: the renewal is recorded; the certificate files were not all "
               "written: fix the publish directory and run 'offca crl publish'", r.name);
    return rc;
}

const char HELP_RETIRE_CA[] =
    "usage: offca ca retire NAME\n\n"
    "Retire CA NAME: it issues nothing more ('offca sign' and the renewal of CAs under it are\n"
    "refused, saying it is retired). Its CRLs are still published by 'offca crl publish' while\n"
    "any certificate it issued is unexpired, then one final CRL per key generation, and it\n"
    "is shown as retired by 'offca ca list' and 'ca show'. Recorded in the audit log. There\n"
    "is no way back: create a new CA instead.\n\n"
    "Example:\n  offca ca retire issuing1\n";

/* `offca ca retire NAME`. */
int ca_retire_cmd(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{0, 0, 0, 0}};
    int c, rc;

    while ((c = opt_next(argc, argv, "ca retire", ":", lo)) != -1)
        return EXIT_USAGE;
    if (optind + 1 != argc) {
        report("ca retire: needs NAME; see 'offca ca retire --help'");
        return EXIT_USAGE;
    }
    if ((rc = ca_name_check(argv[optind])) != 0 || (rc = app_store(a, 0)) != 0)
        return rc;
    return ca_retire(a->store, argv[optind]);
}
