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

/* Open the module, select the token, log in once and build the libctx into h. */
static int open_into(struct hsm *h, const struct hsm_config *cfg)
{
    return secrets_protect() &&
           (h->p11 = p11_open(cfg->module, cfg->token_label, cfg->token_serial)) != NULL &&
           hsm_login(h, cfg) && (h->libctx = OSSL_LIB_CTX_new()) != NULL &&
           prov_load(h->libctx, &h->dflt, &h->prov);
}

/* See hsm.h. */
struct hsm *hsm_open(const struct hsm_config *cfg)
{
    struct hsm *h;

    hsm_err_clear();
    if (cfg == NULL) {
        hsm_seterr(HE_USAGE, "hsm: config: missing; set the [hsm] section in ca.toml");
        return NULL;
    }
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        hsm_seterr(HE_SYSTEM, "hsm: memory: allocation failed; retry");
        return NULL;
    }
    if (!open_into(h, cfg)) {
        hsm_close(h);
        return NULL;
    }
    return h;
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    return src == NULL || (*dst = strdup(src)) != NULL;
}

/* See hsm.h. */
struct hsm *hsm_open_deferred(const struct hsm_config *cfg)
{
    struct hsm *h;

    hsm_err_clear();
    if (cfg == NULL) {
        hsm_seterr(HE_USAGE, "hsm: config: missing; set the [hsm] section in ca.toml");
        return NULL;
    }
    if ((h = calloc(1, sizeof(*h))) == NULL || pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);                       /* not yet deferred: hsm_close would destroy the lock */
        hsm_seterr(HE_SYSTEM, "hsm: memory: allocation failed; retry");
        return NULL;
    }
    h->deferred = 1;
    h->allow_prompt = cfg->allow_prompt;
    if (!dup_opt(&h->module, cfg->module) || !dup_opt(&h->token_label, cfg->token_label) ||
        !dup_opt(&h->token_serial, cfg->token_serial) || !dup_opt(&h->pin_file, cfg->pin_file)) {
        hsm_close(h);
        hsm_seterr(HE_SYSTEM, "hsm: memory: allocation failed; retry");
        return NULL;
    }
    return h;
}

/* Unload the providers, free the libctx, then log out and finalize what open_into opened. */
static void close_parts(struct hsm *h)
{
    OSSL_PROVIDER_unload(h->prov);
    OSSL_PROVIDER_unload(h->dflt);
    OSSL_LIB_CTX_free(h->libctx);
    p11_close(h->p11);
    h->prov = h->dflt = NULL;
    h->libctx = NULL;
    h->p11 = NULL;
}

/* The deferred open, under h->lock. A failure leaves the handle unopened, as hsm_open would;
 * the next call tries again, and p11.c's latch keeps a refused PIN from being sent twice. */
int hsm_ready(struct hsm *h)
{
    struct hsm_config cfg;
    int ok;

    if (!h->deferred)
        return 1;                      /* hsm_open: open since it returned */
    pthread_mutex_lock(&h->lock);
    if (!(ok = h->open)) {
        cfg = (struct hsm_config){ h->module, h->token_label, h->token_serial, h->pin_file,
                                   h->allow_prompt };
        hsm_err_clear();
        if (!(ok = h->open = open_into(h, &cfg)))
            close_parts(h);
    }
    pthread_mutex_unlock(&h->lock);
    return ok;
}

/* Unload the providers, free the libctx, then log out and finalize. NULL is a no-op. */
void hsm_close(struct hsm *h)
{
    if (h == NULL)
        return;
    close_parts(h);
    if (h->deferred)
        pthread_mutex_destroy(&h->lock);
    free(h->module);
    free(h->token_label);
    free(h->token_serial);
    free(h->pin_file);
    free(h);
}

OSSL_LIB_CTX *hsm_get0_libctx(struct hsm *h) { return hsm_ready(h) ? h->libctx : NULL; }
const char *hsm_propq(void) { return PROV_PROPQ; }
const char *hsm_get0_token_label(const struct hsm *h)
{
    if (h->p11 != NULL)
        return p11_get0_label(h->p11);
    return h->token_label ? h->token_label : h->token_serial ? h->token_serial : "";
}
