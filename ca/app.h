/*
 * app.h — what one offca invocation holds: the config, and (opened on first use) the store, the
 * HSM session and the templates. Commands ask for what they need; the first failure is reported
 * there and its exit class returned, so a command stays a thin "parse options, call, print".
 */
#ifndef OFFCA_APP_H
#define OFFCA_APP_H

#include <stdio.h>
#include <time.h>

#include "ca/ca.h"
#include "ca/config.h"
#include "ca/store.h"
#include "hsm/hsm.h"
#include "templates/template.h"

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

#endif
