/*
 * cmd_key.c — `offca key generate|list`: CA key pairs inside the token.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/cli/cli.h"
#include "ca/common/common.h"

static const char HELP_KEY_GENERATE[] =
    "usage: offca key generate --label LABEL --alg rsa2048|rsa3072|rsa4096|p256|p384\n\n"
    "Generate a key pair inside the token: private key sensitive, never extractable, sign only\n"
    "(CKA_EXTRACTABLE, CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE false). Refuses a label that exists.\n"
    "Prints the key's PKCS#11 URI, which 'offca ca create-root --key' takes.\n\n"
    "Example:\n  offca key generate --label root-2026 --alg rsa3072\n";
static const char HELP_KEY_LIST[] =
    "usage: offca [--json] key list\n\n"
    "List the token's key pairs with their URIs, algorithms and protection attributes.\n\n"
    "Example:\n  offca key list\n";

static int key_generate(struct app *a, int argc, char **argv)
{
    static const struct option lo[] = {{"label", 1, 0, 'l'}, {"alg", 1, 0, 'a'}, {0, 0, 0, 0}};
    const char *label = NULL, *alg = NULL;
    struct hsm_key_info info;
    struct store_txn *t;
    int c, rc;

    while ((c = opt_next(argc, argv, "key generate", ":", lo)) != -1) {
        if (c == '?')
            return EXIT_USAGE;
        if (c == 'l')
            label = optarg;
        else
            alg = optarg;
    }
    if (label == NULL || alg == NULL || optind != argc) {
        report("key generate: needs --label LABEL and --alg ALG; see 'offca key generate --help'");
        return EXIT_USAGE;
    }
    if ((rc = app_store(a, 0)) != 0 || (rc = app_hsm(a)) != 0)
        return rc;
    if (!hsm_keygen(a->hsm, label, alg, &info))
        return fail_hsm();
    /* The key exists in the token now; record it (the audit log is the trail of what was made). */
    if ((t = store_txn_begin(a->store, 1)) == NULL)
        return fail_store();
    if ((rc = txn_finish(t, store_audit_append(t, "key.generate", info.uri, "ok", alg))) != 0)
        return rc;
    printf("%s\n", info.uri);
    return EXIT_OK;
}

static int key_list(struct app *a, int argc, char **argv)
{
    struct hsm_key_info *k = NULL;
    size_t n = 0;
    int rc;

    if ((rc = args_json(a, argc, argv, "key list", NULL, NULL)) != 0 || (rc = app_hsm(a)) != 0)
        return rc;
    if (!hsm_key_list(a->hsm, &k, &n))
        return fail_hsm();
    if (a->json)
        fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        if (a->json) {
            fputs(i ? ",{" : "{", stdout);
            json_kv(stdout, 1, "label", k[i].label);
            json_kv(stdout, 0, "uri", k[i].uri);
            json_kv(stdout, 0, "alg", k[i].alg);
            json_kv_int(stdout, 0, "sensitive", k[i].sensitive);
            json_kv_int(stdout, 0, "extractable", k[i].extractable);
            json_kv_int(stdout, 0, "never_extractable", k[i].never_extractable);
            json_kv_int(stdout, 0, "local", k[i].local);
            fputc('}', stdout);
        } else {
            printf("%-20s %-8s %s%s%s%s\n  %s\n", k[i].label, k[i].alg,
                   k[i].sensitive ? "sensitive" : "NOT-SENSITIVE",
                   k[i].extractable ? " EXTRACTABLE" : " non-extractable",
                   k[i].never_extractable ? " never-extractable" : "",
                   k[i].local ? " local" : "", k[i].uri);
        }
    }
    if (a->json)
        fputs("]\n", stdout);
    else if (n == 0)
        printf("no key pairs in the token; create one with 'offca key generate'\n");
    free(k);
    return EXIT_OK;
}

static const struct verb KEY_VERBS[] = {
    {"generate", key_generate, "generate a CA key pair inside the token", HELP_KEY_GENERATE},
    {"list", key_list, "list the token's key pairs", HELP_KEY_LIST},
};

const char HELP_KEY[] =
    "usage: offca key generate|list ...\n\n"
    "  generate --label LABEL --alg rsa2048|rsa3072|rsa4096|p256|p384\n"
    "  list [--json]\n\n"
    "Example:\n  offca key generate --label issuing-2026 --alg p384\n";

int cmd_key(struct app *a, int argc, char **argv)
{
    return verb_dispatch(a, KEY_VERBS, sizeof(KEY_VERBS) / sizeof(KEY_VERBS[0]), "key",
                         argc - 1, argv + 1);
}
