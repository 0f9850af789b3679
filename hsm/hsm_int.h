/*
 * hsm_int.h — private to hsm/: the opened HSM and helpers shared by the hsm_*.c files.
 */
#ifndef OFFCA_HSM_INT_H
#define OFFCA_HSM_INT_H

#include <pthread.h>
#include <openssl/provider.h>
#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"

struct p11;

struct hsm {
    struct p11 *p11;
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *dflt;           /* "default", loaded first */
    OSSL_PROVIDER *prov;           /* "offcahsm" */
    /* hsm_open_deferred: what to open on first use, and how that went */
    int deferred;                  /* made by hsm_open_deferred (lock and copies are set) */
    int open;                      /* deferred: opened by hsm_ready */
    pthread_mutex_t lock;          /* the first use may come from any thread */
    char *module, *token_label, *token_serial, *pin_file;
    int allow_prompt;
};

/* Read a private key's attributes into info (label, id, type, bits, CKA_* flags, URI) and build
 * the software public half in h->libctx (*pub, caller frees; pub may be NULL). Refuses key types
 * other than RSA and EC. */
int key_describe(struct hsm *h, CK_OBJECT_HANDLE priv, struct hsm_key_info *info, EVP_PKEY **pub)
    __attribute__((warn_unused_result));

/* hsm_keygen with a choice of CKA_EXTRACTABLE. Test hook: production code passes 0 (hsm_keygen);
 * tests use 1 to prove hsm_key_load refuses extractable keys. */
int keygen_with(struct hsm *h, const char *label, const char *alg, int extractable,
                struct hsm_key_info *info) __attribute__((warn_unused_result));

#endif
