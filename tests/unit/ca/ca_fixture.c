/*
 * ca_fixture.c — the throwaway token, config, store and root CA of the ca/ unit tests (see
 * ca_fixture.h).
 */
#include "tests/unit/ca/ca_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/authority/authority.h"
#include "ca/common/common.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        return 0;
    return chmod(path, mode) == 0;
}

/* The token (softhsm2.conf, tokens/, the PIN file) and ca.toml in f->dir. */
static int make_files(struct ca_fixture *f)
{
    char path[256], text[2048], cwd[1024];

    snprintf(path, sizeof(path), "%s/tokens", f->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/softhsm2.conf", f->dir);
    snprintf(text, sizeof(text), "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
             "log.level = ERROR\n", f->dir);
    if (!write_file(path, text, 0600) || setenv("SOFTHSM2_CONF", path, 1) != 0 ||
        system("softhsm2-util --init-token --free --label unit --so-pin 87654321 --pin 1234 "
               ">/dev/null") != 0)
        return 0;
    snprintf(path, sizeof(path), "%s/pin", f->dir);
    if (!write_file(path, "1234\n", 0600))
        return 0;
    snprintf(path, sizeof(path), "%s/pub", f->dir);
    mkdir(path, 0755);
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return 0;
    snprintf(f->conf, sizeof(f->conf), "%s/ca.toml", f->dir);
    snprintf(text, sizeof(text), "[store]\npath = \"%s/store\"\n[hsm]\nmodule = \"%s\"\n"
             "token = \"unit\"\npin_file = \"%s/pin\"\n[publish]\ndir = \"%s/pub\"\n"
             "base_url = \"http://pki.unit.test/pki\"\n[templates]\ndir = \"%s/templates/shipped\"\n",
             f->dir, SOFTHSM_MODULE, f->dir, f->dir, cwd);
    return write_file(f->conf, text, 0600);
}

struct hsm_config ca_fixture_hsm_cfg(const struct ca_fixture *f, const char *pin_file)
{
    struct hsm_config hc = { f->cfg->hsm_module, f->cfg->hsm_token, f->cfg->hsm_token_serial,
                             pin_file, 0 };

    return hc;
}

int ca_fixture_open(struct ca_fixture *f)
{
    struct hsm_config hc = ca_fixture_hsm_cfg(f, f->cfg->hsm_pin_file);

    return (f->st = store_open(f->cfg->store_path, 1)) != NULL && (f->h = hsm_open(&hc)) != NULL;
}

int ca_fixture_setup(struct ca_fixture *f, const char *subject)
{
    struct ca_create_req r = { .name = "root", .subject = subject, .path_len = -1 };
    struct hsm_key_info ki;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/offca-ut.XXXXXX");
    if (mkdtemp(f->dir) == NULL || !make_files(f)) {
        fprintf(stderr, "ca_fixture: %s: the token or ca.toml could not be made\n", f->dir);
        return -1;
    }
    if ((f->cfg = config_load(f->conf)) == NULL)
        return -1;
    store_audit_clock_set(ca_now);
    if (!ca_fixture_open(f) || !hsm_keygen(f->h, "root", "p256", &ki)) {
        fprintf(stderr, "ca_fixture: store or token: %s%s\n", store_error(), hsm_error());
        return -1;
    }
    r.key_uri = ki.uri;
    return ca_create(f->st, f->h, f->cfg, &r) == 0 ? 0 : -1;
}

int ca_fixture_teardown(struct ca_fixture *f)
{
    char cmd[128];

    hsm_close(f->h);
    store_close(f->st);
    config_free(f->cfg);
    f->h = NULL;
    f->st = NULL;
    f->cfg = NULL;
    if (f->dir[0] == '\0')
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}
