/*
 * verb.h — one table-driven dispatcher for `offca COMMAND` and for command groups
 * (`offca ca create-root`, `offca key list`, ...). Each entry carries its complete help text, so
 * `offca --help`, `offca COMMAND --help` and `offca GROUP SUB --help` come from one place.
 */
#ifndef OFFCA_VERB_H
#define OFFCA_VERB_H

#include <stddef.h>

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
