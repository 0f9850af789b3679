/*
 * ca/cli/ — the room holding the command line: main.c and the verb tables (verb.c), one cmd_NAME.c
 * per command (parse the options, call the core, print), and struct app, what one invocation opens
 * on first use (app.c). Nothing outside this room knows struct app.
 *
 * May include: base/, the leaves, ca/common, ca/config, ca/store, ca/directory, ca/issue,
 * ca/publish, ca/authority, ca/revoke, ca/backup, ca/health.
 *
 * This header is the room's one face: other rooms include it, never the room's own files; what is
 * private to the room is in a *_int.h beside it.
 */
#ifndef OFFCA_CA_CLI_H
#define OFFCA_CA_CLI_H

#include <stdio.h>
#include <time.h>
#include <stddef.h>

#include "ca/common/common.h"
#include "ca/config/config.h"
#include "ca/store/store.h"
#include "hsm/hsm.h"
#include "templates/template.h"

/* ---- what one offca invocation holds: the config, and (opened on first use) the store, the
 * HSM session and the templates. Commands ask for what they need; the first failure is reported
 * there and its exit class returned, so a command stays a thin "parse options, call, print".
 */

struct app {
    const char *config_arg;        /* -c FILE, or NULL */
    int json;                      /* --json */
    struct config *cfg;
    struct store *store;
    struct hsm *hsm;
    struct tmpl_set *tmpls;
};

/* Each returns 0 or an exit class (message reported). Results are cached in app. */
int app_config(struct app *a);
int app_store(struct app *a, int create);
int app_hsm(struct app *a);             /* the token, open and logged in */
/* The token's handle, opened (and the PIN asked) only when the core first needs a key: for
 * commands that may have nothing to sign, such as 'crl publish' from cron. */
int app_hsm_deferred(struct app *a);
int app_templates(struct app *a);
void app_close(struct app *a);

/* Option parsing shared by commands: getopt_long with a leading ':' and messages that name the
 * command. Returns the option character, -1 at the end, or '?' after reporting a usage error. */
struct option;
int opt_next(int argc, char **argv, const char *cmd, const char *shortopts,
             const struct option *longopts);
extern char *optarg;

/* For commands (cmd: "ca show") whose only option is --json: accept --json anywhere and exactly one positional
 * argument when what names it ("NAME", "SERIAL"; *pos set), none when what is NULL.
 * 0 or EXIT_USAGE (reported). */
int args_json(struct app *a, int argc, char **argv, const char *cmd, const char *what,
              const char **pos);

/* For the listing commands that shells complete from (cmd: "ca list", "template list"): accept
 * --json, or --names (one name per line, nothing else; *names set), never both, and no
 * positional argument. 0 or EXIT_USAGE (reported). */
int args_listing(struct app *a, int argc, char **argv, const char *cmd, int *names);

/* Parse a positive day count (1..36500) for --days. 0 ok / EXIT_USAGE. */
int opt_days(const char *cmd, const char *text, int *days);

/* ---- one table-driven dispatcher for `offca COMMAND` and for command groups
 * (`offca ca create-root`, `offca key list`, ...). Each entry carries its complete help text, so
 * `offca --help`, `offca COMMAND --help` and `offca GROUP SUB --help` come from one place.
 */

struct app;

struct verb {
    const char *name;
    int (*run)(struct app *a, int argc, char **argv);   /* argv[0] is the verb name */
    const char *summary;                                 /* one line for listings */
    const char *help;                                    /* full text: usage, options, example */
    int group;             /* 1: has sub-verbs, which answer "--help" after them themselves */
};

/* Dispatch argv[0] (a sub-verb of group, or a top-level verb when group is NULL) through table;
 * handles "--help"/"-h"/"help" by printing the entry's help. Returns the exit code. */
int verb_dispatch(struct app *a, const struct verb *table, size_t n, const char *group,
                  int argc, char **argv);
/* Print the listing of a table (name + summary). */
void verb_list(const struct verb *table, size_t n, const char *group);
/* Print every command of table, and each group's subcommands as "GROUP SUB", one per line
 * (`offca --commands`, which the bash completion asks). */
void verb_print_names(struct app *a, const struct verb *table, size_t n);
/* 1 when argv (after the verb) asks for help. */
int verb_wants_help(int argc, char **argv);

/* Command groups (one cmd_*.c each). */
int cmd_init(struct app *a, int argc, char **argv);
int cmd_key(struct app *a, int argc, char **argv);
int cmd_ca(struct app *a, int argc, char **argv);
/* `ca renew` / `ca retire` (cmd_ca_life.c), listed in cmd_ca.c's table. */
int ca_renew_cmd(struct app *a, int argc, char **argv);
extern const char HELP_RENEW_CA[];
int ca_retire_cmd(struct app *a, int argc, char **argv);
extern const char HELP_RETIRE_CA[];
int cmd_template(struct app *a, int argc, char **argv);
int cmd_sign(struct app *a, int argc, char **argv);
int cmd_list(struct app *a, int argc, char **argv);
int cmd_show(struct app *a, int argc, char **argv);
int cmd_export(struct app *a, int argc, char **argv);
int cmd_directory(struct app *a, int argc, char **argv);
int cmd_mapping(struct app *a, int argc, char **argv);
int cmd_audit(struct app *a, int argc, char **argv);
int cmd_revoke(struct app *a, int argc, char **argv);
int cmd_unrevoke(struct app *a, int argc, char **argv);
int cmd_crl(struct app *a, int argc, char **argv);
int cmd_doctor(struct app *a, int argc, char **argv);
int cmd_backup(struct app *a, int argc, char **argv);
int cmd_restore(struct app *a, int argc, char **argv);
int cmd_status(struct app *a, int argc, char **argv);
int cmd_lint(struct app *a, int argc, char **argv);
int cmd_report(struct app *a, int argc, char **argv);

extern const char HELP_INIT[], HELP_KEY[], HELP_CA[], HELP_TEMPLATE[], HELP_SIGN[], HELP_LIST[],
    HELP_SHOW[], HELP_EXPORT[], HELP_DIRECTORY[], HELP_MAPPING[], HELP_AUDIT[], HELP_REVOKE[],
    HELP_UNREVOKE[], HELP_CRL[], HELP_DOCTOR[], HELP_BACKUP[], HELP_RESTORE[], HELP_STATUS[],
    HELP_LINT[], HELP_REPORT[];

#endif
