/*
 * app.c — lazy opening of config, store, HSM and templates for one invocation, and the option
 * parsing the commands share. (Leaf errors become reports in ca/common/fail.c.)
 */
#include "ca/cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>


int app_config(struct app *a)
{
    if (a->cfg)
        return 0;
    a->cfg = config_load(config_path_choose(a->config_arg));
    return a->cfg ? 0 : EXIT_INPUT;
}

int app_store(struct app *a, int create)
{
    int rc;

    if (a->store)
        return 0;
    if ((rc = app_config(a)) != 0)
        return rc;
    store_audit_clock_set(ca_now);
    a->store = store_open(a->cfg->store_path, create);
    return a->store ? 0 : fail_store();
}

int app_hsm_deferred(struct app *a)
{
    struct hsm_config hc;
    int rc;

    if (a->hsm)
        return 0;
    if ((rc = app_config(a)) != 0)
        return rc;
    memset(&hc, 0, sizeof(hc));
    hc.module = a->cfg->hsm_module;
    hc.token_label = a->cfg->hsm_token;
    hc.token_serial = a->cfg->hsm_token_serial;
    hc.pin_file = a->cfg->hsm_pin_file;
    hc.allow_prompt = 1;
    a->hsm = hsm_open_deferred(&hc);
    return a->hsm ? 0 : fail_hsm();
}

int app_hsm(struct app *a)
{
    int rc;

    if ((rc = app_hsm_deferred(a)) != 0)
        return rc;
    return hsm_ready(a->hsm) ? 0 : fail_hsm();
}

int app_templates(struct app *a)
{
    int rc;

    if (a->tmpls)
        return 0;
    if ((rc = app_config(a)) != 0)
        return rc;
    a->tmpls = tmpl_set_load(a->cfg->templates_dir);
    return a->tmpls ? 0 : fail_tmpl();
}

void app_close(struct app *a)
{
    tmpl_set_free(a->tmpls);
    hsm_close(a->hsm);
    store_close(a->store);
    config_free(a->cfg);
    memset(a, 0, sizeof(*a));
}

int opt_next(int argc, char **argv, const char *cmd, const char *shortopts,
             const struct option *longopts)
{
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);

    if (c == '?' || c == ':') {
        if (c == ':' || (optopt && strchr(shortopts, optopt)))
            report("%s: option %s needs a value; see 'offca %s --help'", cmd,
                   argv[optind - 1], cmd);
        else
            report("%s: unknown option '%s'; see 'offca %s --help'", cmd, argv[optind - 1], cmd);
        return '?';
    }
    return c;
}

int args_json(struct app *a, int argc, char **argv, const char *cmd, const char *what,
              const char **pos)
{
    int n = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else if (what && argv[i][0] != '-' && n == 0) {
            *pos = argv[i];
            n++;
        } else {
            report("%s: unexpected argument '%s'; see 'offca %s --help'", cmd, argv[i], cmd);
            return EXIT_USAGE;
        }
    }
    if (what && n == 0) {
        report("%s: needs %s; see 'offca %s --help'", cmd, what, cmd);
        return EXIT_USAGE;
    }
    return 0;
}

int args_listing(struct app *a, int argc, char **argv, const char *cmd, int *names)
{
    *names = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else if (strcmp(argv[i], "--names") == 0) {
            *names = 1;
        } else {
            report("%s: unexpected argument '%s'; see 'offca %s --help'", cmd, argv[i], cmd);
            return EXIT_USAGE;
        }
    }
    if (*names && a->json) {
        report("%s: --names and --json: give one of them; see 'offca %s --help'", cmd, cmd);
        return EXIT_USAGE;
    }
    return 0;
}

int opt_days(const char *cmd, const char *text, int *days)
{
    char *end;
    long v = strtol(text, &end, 10);

    if (*text == '\0' || *end != '\0' || v < 1 || v > 36500) {
        report("%s: --days '%s': not a whole number of days from 1 to 36500; give e.g. --days 365",
               cmd, text);
        return EXIT_USAGE;
    }
    *days = (int)v;
    return 0;
}
