/*
 * test_tmpl_load.c — the template loader: every shipped template loads with the settings its
 * file says, the shipped directory loads as a set, and a corpus of bad templates is refused with
 * file:line and the rule that failed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "templates/template.h"

#define SHIPPED "templates/shipped"
#define BAD     "tests/data/bad/templates"
#define GOOD    "tests/data/good/templates"

/* ---- shipped templates ---------------------------------------------------------------------- */

struct shipped_case {
    const char *name;
    enum sid_policy sid;
    enum sid_source src;            /* meaningful when sid != SID_FORBIDDEN */
    const char *describe_frag;      /* something tmpl_describe must say */
};

static const struct shipped_case shipped[] = {
    { "intune-device", SID_REQUIRED, SID_SRC_DIRECTORY, "validity:  default 365 days, 5..730" },
    { "intune-device-manual", SID_REQUIRED, SID_SRC_OPERATOR, "from operator (--sid)" },
    { "intune-user", SID_REQUIRED, SID_SRC_DIRECTORY, "eku opt:   emailProtection" },
    { "autopilot-provisioning", SID_FORBIDDEN, SID_SRC_OPERATOR, "default 5 days, 1..5" },
    { "vpn-server", SID_FORBIDDEN, SID_SRC_OPERATOR, "dns(required) ip" },
    { "wifi-server", SID_FORBIDDEN, SID_SRC_OPERATOR, "eku req:   serverAuth" },
    { "smartcard-logon", SID_REQUIRED, SID_SRC_DIRECTORY, "clientAuth, smartcardLogon" },
};

static void test_shipped_each_loads(void **state)
{
    char path[256];

    (void)state;
    for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
        struct tmpl *t;
        char *d;

        snprintf(path, sizeof(path), SHIPPED "/%s.toml", shipped[i].name);
        t = tmpl_load(path);
        if (t == NULL)
            fail_msg("%s: %s", path, tmpl_error());
        assert_string_equal(tmpl_get0_name(t), shipped[i].name);
        assert_string_equal(tmpl_get0_path(t), path);
        assert_true(strlen(tmpl_get0_description(t)) > 0);
        assert_int_equal(tmpl_sid_policy(t), shipped[i].sid);
        if (shipped[i].sid != SID_FORBIDDEN)
            assert_int_equal(tmpl_sid_source(t), shipped[i].src);
        d = tmpl_describe(t);
        assert_non_null(d);
        if (strstr(d, shipped[i].describe_frag) == NULL)
            fail_msg("%s: describe lacks '%s':\n%s", shipped[i].name, shipped[i].describe_frag, d);
        free(d);
        tmpl_free(t);
    }
}

static void test_shipped_set(void **state)
{
    struct tmpl_set *s;
    const struct tmpl *t;

    (void)state;
    s = tmpl_set_load(SHIPPED);
    if (s == NULL)
        fail_msg("%s", tmpl_error());
    assert_int_equal(tmpl_set_count(s), sizeof(shipped) / sizeof(shipped[0]));
    /* sorted by file name */
    assert_string_equal(tmpl_get0_name(tmpl_set_at(s, 0)), "autopilot-provisioning");
    assert_null(tmpl_set_at(s, tmpl_set_count(s)));
    t = tmpl_set_find(s, "intune-user");
    assert_non_null(t);
    assert_string_equal(tmpl_get0_name(t), "intune-user");
    assert_null(tmpl_set_find(s, "webserver"));
    assert_int_equal(tmpl_error_code(), 2);
    assert_non_null(strstr(tmpl_error(), "template webserver: not found; use one of: "
                           "autopilot-provisioning, intune-device-manual, intune-device, intune-user"));
    tmpl_set_free(s);
    tmpl_set_free(NULL);
    tmpl_free(NULL);
}

static void test_set_refuses(void **state)
{
    (void)state;
    /* one bad template spoils the whole directory */
    assert_null(tmpl_set_load(BAD));
    assert_int_equal(tmpl_error_code(), 3);
    assert_non_null(strstr(tmpl_error(), BAD "/"));
    assert_null(tmpl_set_load("tests/data/no-such-dir"));
    assert_non_null(strstr(tmpl_error(), "cannot open the directory"));
}

static void test_good_minimal_defaults(void **state)
{
    struct tmpl *t;
    char *d;

    (void)state;
    t = tmpl_load(GOOD "/minimal.toml");
    if (t == NULL)
        fail_msg("%s", tmpl_error());
    assert_int_equal(tmpl_sid_policy(t), SID_FORBIDDEN);
    assert_string_equal(tmpl_get0_description(t), "");
    d = tmpl_describe(t);
    assert_non_null(d);
    assert_non_null(strstr(d, "RSA 2048..4096 bits; EC prime256v1 secp384r1"));
    assert_non_null(strstr(d, "default 30 days, 1..30"));
    assert_non_null(strstr(d, "subject:   CN;"));
    free(d);
    tmpl_free(t);
    t = tmpl_load(GOOD "/web.toml");
    if (t == NULL)
        fail_msg("%s", tmpl_error());
    assert_int_equal(tmpl_sid_source(t), SID_SRC_REQUEST);
    tmpl_free(t);
}

/* ---- tmpl_key_alg_allowed ------------------------------------------------------------------- */

struct alg_case {
    const char *tmpl, *alg;
    int ok, code;
    const char *frag;
};

static const struct alg_case alg_cases[] = {
    { "intune-device", "rsa2048", 1, 0, NULL },
    { "intune-device", "rsa4096", 1, 0, NULL },
    { "intune-device", "p384", 1, 0, NULL },
    { "intune-device", "rsa1024", 0, 1, "key: rsa1024 is not allowed; choose one of: RSA "
      "2048..4096 bits or EC P-256, P-384" },
    { "intune-device", "p521", 0, 1, "p521 is not allowed" },
    { "intune-device", "ed25519", 0, 2, "'ed25519' is not a key algorithm; use rsa2048" },
    { "intune-device", "rsa", 0, 2, "is not a key algorithm" },
};

static void test_key_alg_allowed(void **state)
{
    struct tmpl_set *s = tmpl_set_load(SHIPPED);

    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < sizeof(alg_cases) / sizeof(alg_cases[0]); i++) {
        const struct alg_case *c = &alg_cases[i];
        int ok = tmpl_key_alg_allowed(tmpl_set_find(s, c->tmpl), c->alg);

        if (ok != c->ok)
            fail_msg("%s %s: got %d (%s)", c->tmpl, c->alg, ok, tmpl_error());
        if (!ok) {
            assert_int_equal(tmpl_error_code(), c->code);
            if (strstr(tmpl_error(), c->frag) == NULL)
                fail_msg("%s: '%s' not in '%s'", c->alg, c->frag, tmpl_error());
        }
    }
    tmpl_set_free(s);
}

/* ---- bad corpus ----------------------------------------------------------------------------- */

struct bad_case {
    const char *file;
    int line;                       /* 0: the message names the file without a position */
    const char *frag;
};

static const struct bad_case bad[] = {
    { "unknown-key", 8, "key 'san.alowed'" },
    { "min-above-max", 4, "min_days <= default_days <= max_days, have 40, 30, 20" },
    { "max-too-long", 6, "max_days: 4000 is out of range; use 1..3650" },
    { "bad-eku-name", 8, "'clientAuthentication' is not an EKU name or dotted OID" },
    { "bad-regex", 9, "subject.pattern.CN: invalid regular expression" },
    { "bad-sid-value", 2, "sid: 'mandatory' is not a valid value; use one of forbidden" },
    { "name-mismatch", 1, "name: 'other-name' does not match the file name 'name-mismatch.toml'" },
    { "rsa-too-small", 8, "rsa_min_bits: 512 is out of range; use 1024..16384" },
    { "missing-validity", 0, "validity: missing [validity] table" },
    { "bad-ku", 2, "'keyCertSign' is not allowed in an end-entity certificate" },
    { "bad-curve", 8, "unknown curve 'secp256k1'" },
    { "sid-no-source", 2, "sid_source: missing" },
    { "san-required-not-allowed", 9, "san.required: lists a type that is not in san.allowed" },
    { "eku-both", 10, "'clientAuth' is both required and optional" },
    { "optional-not-honoured", 8, "eku.optional: set but \"eku\" is not in honour_extensions" },
    { "request-sid-not-honoured", 3, "\"request\" but \"sid\" is not in honour_extensions" },
    { "unknown-attr", 8, "subject.allowed: 'XX' is unknown" },
    { "bad-honour", 2, "'basicConstraints' cannot be taken from a request; use san, eku, sid" },
    { "sid-form-forbidden", 2, "sid_form: has no effect when sid = \"forbidden\"" },
    { "wrong-type", 8, "san.max_count" },
    { "bad-san-type", 8, "san.allowed: 'x400' is not a SAN type" },
    { "ms-oid-no-version", 8, "must be a dotted OID and come with template_major" },
};

static void test_bad_corpus(void **state)
{
    char path[256], where[300];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tmpl *t;

        snprintf(path, sizeof(path), BAD "/%s.toml", bad[i].file);
        t = tmpl_load(path);
        if (t != NULL)
            fail_msg("%s: loaded, expected a refusal", path);
        assert_int_equal(tmpl_error_code(), 3);
        if (bad[i].line > 0)
            snprintf(where, sizeof(where), "%s:%d:", path, bad[i].line);
        else
            snprintf(where, sizeof(where), "%s: template", path);
        if (strncmp(tmpl_error(), where, strlen(where)) != 0 ||
            strstr(tmpl_error(), bad[i].frag) == NULL)
            fail_msg("%s: want '%s' ... '%s', got '%s'", bad[i].file, where, bad[i].frag,
                     tmpl_error());
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_each_loads),
        cmocka_unit_test(test_shipped_set),
        cmocka_unit_test(test_set_refuses),
        cmocka_unit_test(test_good_minimal_defaults),
        cmocka_unit_test(test_key_alg_allowed),
        cmocka_unit_test(test_bad_corpus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
