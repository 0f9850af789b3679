/*
 * cmd_backup.c — `offca backup DIR`, `offca backup verify DIR`, `offca restore DIR --store PATH`:
 * options and help; the work is in backup_write.c, backup_check.c and backup_restore.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/backup/backup.h"

const char HELP_BACKUP[] =
    "usage: offca backup DIR\n"
    "       offca backup verify DIR\n\n"
    "offca backup DIR: write a backup into DIR, which must not exist or be empty, and not be\n"
    "in the store directory (it would be lost with the store). It is safe while other offca\n"
    "commands run (a batch sign, the CRL cron job): the store is copied with LMDB's\n"
    "compacting copy, one consistent snapshot. DIR (mode 0700, files 0600) holds:\n"
    "  MANIFEST          SHA-256 and size of every file, the audit chain's head (last record\n"
    "                    and its hash) and record count, the certificate and CA counts, all read\n"
    "                    from the copy itself\n"
    "  store/data.mdb    the store snapshot (certificates, revocations, CRL numbers, audit log)\n"
    "  config/ca.toml    the configuration file as read\n"
    "  templates/*.toml  the certificate templates of [templates] dir\n"
    "  certs/NAME.pem    each CA's certificate (an imported CA's outside chain after it)\n"
    "Never in it: the token with the CA keys, the PIN, the pin_file (back the keys up with the\n"
    "token's own means: README 'Backup and recovery'). DIR appears only once complete: it is\n"
    "written beside it as DIR.offca-tmp-XXXXXX and renamed. The snapshot's audit chain is\n"
    "verified first; a broken chain writes no backup (exit 4).\n\n"
    "offca backup verify DIR: check the manifest (its own checksum too), every file's SHA-256\n"
    "and size, that no file is missing or added, then open a copy of the store (made in $TMPDIR,\n"
    "removed afterwards) and verify its audit chain up to the manifest's head and record count\n"
    "and its certificate count. Needs no ca.toml and no token. Any mismatch is refused naming\n"
    "the file.\n\n"
    "Exit codes: 0 ok / intact; 1 DIR not empty or in the store directory; 2 usage;\n"
    "3 backup altered, damaged or incomplete (verify); 4 store or file system failure.\n\n"
    "Examples:\n"
    "  offca backup /srv/backup/offca-$(date +%Y%m%d-%H%M)\n"
    "  offca backup verify /srv/backup/offca-20261203-0200\n";

const char HELP_RESTORE[] =
    "usage: offca restore DIR --store PATH [--config-to CDIR]\n\n"
    "Restore the backup in DIR into the store directory PATH, which must not exist or be empty:\n"
    "a store that holds anything is never written over (exit 1), so a live store cannot be\n"
    "replaced by mistake. The backup is checked first exactly as 'offca backup verify' does,\n"
    "into a directory beside PATH that becomes PATH by one rename only when every check passed.\n"
    "Needs no ca.toml and no token.\n\n"
    "Options:\n"
    "  --store PATH      the store directory to create (required)\n"
    "  --config-to CDIR  also write the backup's ca.toml and templates/ into CDIR (must not\n"
    "                    exist or be empty); without it the config is left in the backup\n\n"
    "Afterwards it prints what to do next: point [store] path at PATH, make the CA keys\n"
    "reachable (restore the token), 'offca audit verify', 'offca doctor'.\n"
    "Exit codes: 0 restored; 1 PATH or CDIR not empty; 2 usage; 3 backup altered, damaged or\n"
    "incomplete (nothing written); 4 file system failure.\n\n"
    "Example:\n"
    "  offca restore /srv/backup/offca-20261203-0200 --store /var/lib/offca/store \\\n"
    "      --config-to /etc/offca.restored\n";

/* `offca backup DIR` and `offca backup verify DIR`. */
int cmd_backup(struct app *a, int argc, char **argv)
{
    char dir[MAX_BACKUP_PATH];
    int verify = argc == 3 && strcmp(argv[1], "verify") == 0, rc;

    if (!verify && (argc != 2 || argv[1][0] == '-' || strcmp(argv[1], "verify") == 0)) {
        report("backup: takes DIR, or 'verify DIR'; see 'offca backup --help'");
        return EXIT_USAGE;
    }
    if ((rc = backup_path_trim("backup: DIR", argv[verify ? 2 : 1], dir, sizeof(dir))) != 0)
        return rc;
    if (verify)
        return backup_verify(dir);
    if ((rc = app_store(a, 0)) != 0)
        return rc;
    return backup_write(a->store, a->cfg, dir);
}

/* `offca restore DIR --store PATH [--config-to CDIR]`. */
int cmd_restore(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"store", 1, 0, 's'}, {"config-to", 1, 0, 'c'},
                                       {0, 0, 0, 0}};
    char dir[MAX_BACKUP_PATH], store[MAX_BACKUP_PATH], conf[MAX_BACKUP_PATH];
    const char *store_arg = NULL, *config_to = NULL;
    int c, rc;

    while ((c = opt_next(argc, argv, "restore", ":", lo)) != -1) {
        switch (c) {
        case 's': store_arg = optarg; break;
        case 'c': config_to = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || store_arg == NULL) {
        report("restore: needs DIR and --store PATH; see 'offca restore --help'");
        return EXIT_USAGE;
    }
    if ((rc = backup_path_trim("restore: DIR", argv[optind], dir, sizeof(dir))) != 0 ||
        (rc = backup_path_trim("restore: --store", store_arg, store, sizeof(store))) != 0 ||
        (config_to &&
         (rc = backup_path_trim("restore: --config-to", config_to, conf, sizeof(conf))) != 0))
        return rc;
    return backup_restore(dir, store, config_to ? conf : NULL);
}
