/*
 * ca_fixture.h — what the ca/ unit tests that need a CA share: a throwaway SoftHSM token "unit"
 * (PIN 1234, in DIR/pin), a ca.toml (store, publish dir DIR/pub, the shipped templates), the
 * config loaded, the store and the token open, and a P-256 root CA "root" made by ca_create;
 * all in a fresh directory under /tmp, removed by ca_fixture_teardown. Run from the repository
 * (make test does): the templates are found relative to it.
 */
#ifndef OFFCA_TEST_CA_FIXTURE_H
#define OFFCA_TEST_CA_FIXTURE_H

#include "ca/config/config.h"
#include "ca/store/store.h"
#include "hsm/hsm.h"

struct ca_fixture {
    char dir[64];                 /* the fixture's directory */
    char conf[128];               /* DIR/ca.toml */
    struct config *cfg;
    struct store *st;
    struct hsm *h;
};

/* Everything above, the root's subject given. 0, or -1 (the step that failed says so on stderr). */
int ca_fixture_setup(struct ca_fixture *f, const char *subject);
/* The token as [hsm] configures it, with pin_file (NULL: the PIN from $OFFCA_PIN). */
struct hsm_config ca_fixture_hsm_cfg(const struct ca_fixture *f, const char *pin_file);
/* Open the store and the token from the config (setup does; tests that close them around a
 * forked child open them again). 1 ok / 0. */
int ca_fixture_open(struct ca_fixture *f);
/* Close what is open and remove the directory. 0 ok / -1. */
int ca_fixture_teardown(struct ca_fixture *f);

#endif
