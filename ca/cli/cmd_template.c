/*
 * cmd_template.c — `offca template list|show|check`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/common/common.h"

static const char HELP_TMPL_LIST[] =
    "usage: offca [--json] template list [--names]\n\nList the templates in [templates] dir: name, "
    "description.\n"
    "  --names   only the names, one per line (what the bash completion asks for)\n\n"
    "Example:\n  offca template list\n";
static const char HELP_TMPL_SHOW[] =
    "usage: offca template show NAME\n\nPrint every setting of a template.\n\n"
    "Example:\n  offca template show intune-device\n";
static const char HELP_TMPL_CHECK[] =
    "usage: offca template check FILE\n\n"
    "Validate a template file as offca would load it (exit 0 valid, 3 invalid with\n"
    "file:line:column). Run it before copying a new template into [templates] dir.\n\n"
    "Example:\n  offca template check ./my-wifi.toml\n";

static int tmpl_list(struct app *a, int argc, char **argv)
{
    int rc, names;

    if ((rc = args_listing(a, argc, argv, "template list", &names)) != 0 ||
        (rc = app_templates(a)) != 0)
        return rc;
    if (a->json)
        fputc('[', stdout);
    for (size_t i = 0; i < tmpl_set_count(a->tmpls); i++) {
        const struct tmpl *t = tmpl_set_at(a->tmpls, i);
        if (names) {
            printf("%s\n", tmpl_get0_name(t));
        } else if (a->json) {
            fputs(i ? ",{" : "{", stdout);
            json_kv(stdout, 1, "name", tmpl_get0_name(t));
            json_kv(stdout, 0, "description", tmpl_get0_description(t));
            json_kv(stdout, 0, "path", tmpl_get0_path(t));
            fputc('}', stdout);
        } else {
            printf("%-24s %s\n", tmpl_get0_name(t), tmpl_get0_description(t));
        }
    }
    if (a->json)
        fputs("]\n", stdout);
    return EXIT_OK;
}

static int tmpl_show(struct app *a, int argc, char **argv)
{
    const struct tmpl *t;
    char *text;
    int rc;

    if (argc != 2) {
        report("template show: needs NAME; see 'offca template show --help'");
        return EXIT_USAGE;
    }
    if ((rc = app_templates(a)) != 0)
        return rc;
    if ((t = tmpl_set_find(a->tmpls, argv[1])) == NULL)
        return fail_tmpl();
    if ((text = tmpl_describe(t)) == NULL)
        return fail_tmpl();
    fputs(text, stdout);
    free(text);
    return EXIT_OK;
}

static int tmpl_check_file(struct app *a, int argc, char **argv)
{
    struct tmpl *t;

    if (argc != 2) {
        report("template check: needs FILE; see 'offca template check --help'");
        return EXIT_USAGE;
    }
    if ((t = tmpl_load(argv[1])) == NULL)
        return fail_tmpl();
    printf("%s: template '%s' is valid\n", argv[1], tmpl_get0_name(t));
    tmpl_free(t);
    return EXIT_OK;
}

static const struct verb TMPL_VERBS[] = {
    {"list", tmpl_list, "list the templates", HELP_TMPL_LIST},
    {"show", tmpl_show, "print a template's settings", HELP_TMPL_SHOW},
    {"check", tmpl_check_file, "validate a template file", HELP_TMPL_CHECK},
};

const char HELP_TEMPLATE[] =
    "usage: offca template list [--json | --names] | show NAME | check FILE\n\n"
    "Templates (one TOML file each in [templates] dir) decide what a certificate may carry:\n"
    "key types and sizes, EKUs, key usage, validity, subject and SAN policy, and the SID\n"
    "(sid = required|optional|forbidden, sid_form = extension|san-url|both,\n"
    "sid_source = operator|request|directory).\n\nExample:\n  offca template show intune-user\n";

int cmd_template(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, TMPL_VERBS, sizeof(TMPL_VERBS) / sizeof(TMPL_VERBS[0]), "template",
                         argc - 1, argv + 1);
}
