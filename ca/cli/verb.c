/*
 * verb.c — table-driven dispatch and help for offca's commands and command groups.
 */
#include "ca/cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/common/common.h"

/* Set while verb_print_names runs: a group then lists its subcommands instead of dispatching. */
static int names_only;

void verb_print_names(struct app *a, const struct verb *table, size_t n)
{
    char *argv[2] = {NULL, NULL};

    names_only = 1;
    for (size_t i = 0; i < n; i++) {
        printf("%s\n", table[i].name);
        if (table[i].group) {
            argv[0] = (char *)table[i].name;
            table[i].run(a, 1, argv);
        }
    }
    names_only = 0;
}

int verb_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

void verb_list(const struct verb *table, size_t n, const char *group)
{
    for (size_t i = 0; i < n; i++)
        printf("  %s%s%-16s %s\n", group ? group : "", group ? " " : "", table[i].name,
               table[i].summary);
}

int verb_dispatch(struct app *a, const struct verb *table, size_t n, const char *group,
                  int argc, char **argv)
{
    const char *name = argc > 0 ? argv[0] : NULL;

    if (names_only && group) {
        for (size_t i = 0; i < n; i++)
            printf("%s %s\n", group, table[i].name);
        return EXIT_OK;
    }
    if (name == NULL || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        if (group)
            printf("usage: offca %s SUBCOMMAND [OPTIONS]   (offca %s SUBCOMMAND --help)\n\n",
                   group, group);
        verb_list(table, n, group);
        return name == NULL ? EXIT_USAGE : EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) != 0)
            continue;
        if (table[i].group ? (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
                                             strcmp(argv[1], "-h") == 0))
                           : verb_wants_help(argc, argv)) {
            fputs(table[i].help, stdout);
            return EXIT_OK;
        }
        optind = 1;              /* each verb parses its own options from argv[1] on */
        return table[i].run(a, argc, argv);
    }
    report("%s%s%s: unknown command; run 'offca %s%s--help' for the list", group ? group : "",
           group ? " " : "", name, group ? group : "", group ? " " : "");
    return EXIT_USAGE;
}
