/*
 * hsm_open.c — open the HSM: module, token, one login with the PIN from its source (wiped
 * right after C_Login), and the private OSSL_LIB_CTX with "default" then "offcahsm" loaded.
 */
#include "hsm/hsm_err.h"
#include "hsm/hsm_int.h"
#include "hsm/p11.h"
#include "hsm/pin.h"
#include "hsm/prov.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/crypto.h>

/* A PIN is about to be in memory: no core dumps, no ptrace by other users, for the process. */
static int secrets_protect(void)
{
    struct rlimit rl = { 0, 0 };

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &rl) != 0) {
        hsm_seterr(HE_SYSTEM, "hsm: core dumps: cannot disable them (%s); the PIN would be "
                   "exposed in a dump, run offca where prctl/setrlimit work", strerror(errno));
        return 0;
    }
    return 1;
}

static int hsm_login(struct hsm *h, const struct hsm_config *cfg)
{
    char pin[MAX_PIN + 1];
    size_t len = 0;
    int ok;

    ok = p11_login_allowed(h->p11) && pin_get(cfg, p11_get0_label(h->p11), pin, &len) &&
         p11_login(h->p11, pin, len);
    OPENSSL_cleanse(pin, sizeof(pin));
    return ok;
}

/* Open the module, select the token, log in once and build the libctx (see hsm.h). */
struct hsm *hsm_open(const struct hsm_config *cfg)
{
    struct hsm *h = NULL, *ret = NULL;

    hsm_err_clear();
    if (cfg == NULL) {
        hsm_seterr(HE_USAGE, "hsm: config: missing; set the [hsm] section in ca.toml");
        return NULL;
    }
    if (!secrets_protect())
        return NULL;
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        hsm_seterr(HE_SYSTEM, "hsm: memory: allocation failed; retry");
        return NULL;
    }
    if ((h->p11 = p11_open(cfg->module, cfg->token_label, cfg->token_serial)) == NULL ||
        !hsm_login(h, cfg))
        goto out;
    if ((h->libctx = OSSL_LIB_CTX_new()) == NULL ||
        !prov_load(h->libctx, &h->dflt, &h->prov))
        goto out;
    ret = h;
    h = NULL;
out:
    hsm_close(h);
    return ret;
}

/* Unload the providers, free the libctx, then log out and finalize. NULL is a no-op. */
void hsm_close(struct hsm *h)
{
    if (h == NULL)
        return;
    OSSL_PROVIDER_unload(h->prov);
    OSSL_PROVIDER_unload(h->dflt);
    OSSL_LIB_CTX_free(h->libctx);
    p11_close(h->p11);
    free(h);
}

OSSL_LIB_CTX *hsm_get0_libctx(struct hsm *h) { return h->libctx; }
const char *hsm_propq(void) { return PROV_PROPQ; }
const char *hsm_get0_token_label(const struct hsm *h) { return p11_get0_label(h->p11); }
