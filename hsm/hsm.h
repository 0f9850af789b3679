/*
 * hsm.h — the only header other folders include from hsm/.
 *
 * hsm/ loads a PKCS#11 module, logs in to one token (selected by label or serial, never by slot
 * index), and exposes token keys as EVP_PKEYs through an OpenSSL 3 provider built into offca and
 * registered in a private OSSL_LIB_CTX ("default" is loaded first). Every signature made with such
 * a key is exactly one C_Sign inside the token; private keys never leave it.
 *
 * Errors: functions return 1/0 or pointer/NULL; on failure hsm_error() holds one operator-ready
 * message "<object>: <rule>: <problem>; <what to do>" (CK_RV names never travel further than
 * that text) and hsm_error_code() the exit-code class (1 policy, 2 usage, 3 input, 4 HSM/system).
 */
#ifndef OFFCA_HSM_H
#define OFFCA_HSM_H

#include <stddef.h>
#include <openssl/evp.h>

#include "base/err.h"

#define HSM_MAX_LABEL 128          /* CKA_LABEL / token label bytes we accept */
#define HSM_MAX_URI   512

struct hsm;                        /* opaque: module + logged-in token + libctx with provider */

/* Where the token is and how to get the PIN. The PIN is taken, in this order, from pin_file
 * (must be a regular file, mode 0600 or stricter, owned by us), $OFFCA_PIN, or a no-echo prompt
 * on /dev/tty when allow_prompt is set. Never from argv. Wiped after C_Login. */
struct hsm_config {
    const char *module;            /* path to the PKCS#11 module (.so) */
    const char *token_label;       /* token label, or NULL when token_serial is set */
    const char *token_serial;      /* token serial, or NULL */
    const char *pin_file;          /* or NULL */
    int allow_prompt;              /* 1: prompt on the TTY when no other PIN source exists */
};

/* What offca knows of a key pair in the token. */
struct hsm_key_info {
    char uri[HSM_MAX_URI];         /* RFC 7512 URI: pkcs11:token=..;object=..;id=..;type=private */
    char label[HSM_MAX_LABEL + 1];
    char id_hex[2 * 64 + 1];       /* CKA_ID, lowercase hex ("" when absent) */
    char alg[16];                  /* "rsa2048", "rsa3072", "rsa4096", "p256", "p384", "rsaNNNN" */
    int bits;                      /* RSA modulus bits or EC field bits */
    int is_rsa;                    /* 1 RSA, 0 EC */
    int sensitive, extractable, always_sensitive, never_extractable, local;  /* CKA_* booleans */
};

/* Open the module, find the token, log in once (a wrong PIN is tried once, never retried; a
 * token whose PIN is locked or on its final try is refused before C_Login with the recovery
 * step), build the private libctx with the provider. Caller frees with hsm_close(). */
struct hsm *hsm_open(const struct hsm_config *cfg);
/* The same handle, opened on first use: it copies cfg and touches neither the module nor the
 * PIN until a call needs the token (hsm_key_load, hsm_key_list, hsm_keygen, hsm_sign_ctx_new,
 * hsm_get0_libctx). That call opens it exactly as hsm_open would and fails as it would; a later
 * call tries again, as a second hsm_open would (after a refused PIN no C_Login is sent again in
 * this process: the later calls say "login: not attempted"). So a command can hand the HSM to
 * code that may not need it (a CRL run with nothing due) without a login. NULL only when memory
 * runs out (hsm_error() set). */
struct hsm *hsm_open_deferred(const struct hsm_config *cfg);
/* Make sure the token is open: always 1 for an hsm_open handle; for a deferred one, open it now
 * if it is not yet. 1, or 0 with hsm_error() set. */
int hsm_ready(struct hsm *h) __attribute__((warn_unused_result));
/* Log out, finalize, free. NULL is a no-op. */
void hsm_close(struct hsm *h);

/* The private library context every CA-key operation must use, and the property query that
 * selects the built-in provider ("provider=offcahsm"). Borrowed; valid until hsm_close(). NULL
 * (hsm_error() set) when a deferred open fails. */
OSSL_LIB_CTX *hsm_get0_libctx(struct hsm *h);
const char *hsm_propq(void);
/* Token label (for messages): the open token's, or for a deferred handle not yet open the
 * configured label (or serial). Borrowed. */
const char *hsm_get0_token_label(const struct hsm *h);

/* Load the key pair addressed by a PKCS#11 URI (RFC 7512: token, serial, object, id, type; the
 * token part, if present, must name the open token) as an EVP_PKEY bound to the token. Checks
 * CKA_SENSITIVE true and CKA_EXTRACTABLE false first and refuses otherwise, naming the attribute,
 * unless allow_extractable is 1 (then the caller must warn on every use: info->extractable says).
 * info may be NULL. Caller frees the key with EVP_PKEY_free. */
EVP_PKEY *hsm_key_load(struct hsm *h, const char *uri, int allow_extractable,
                       struct hsm_key_info *info);

/* Generate a key pair in the token: alg is rsa2048|rsa3072|rsa4096|p256|p384. Private key
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN true; CKA_EXTRACTABLE, CKA_DECRYPT, CKA_UNWRAP,
 * CKA_DERIVE false; public key CKA_VERIFY true, CKA_ENCRYPT, CKA_WRAP, CKA_DERIVE false; a fresh
 * random CKA_ID on both. Refuses a label that exists (exit class 1). Fills info on success. */
int hsm_keygen(struct hsm *h, const char *label, const char *alg, struct hsm_key_info *info)
    __attribute__((warn_unused_result));

/* List the token's key pairs (private keys with their public halves). *out is an array of *n
 * entries the caller frees with free(). */
int hsm_key_list(struct hsm *h, struct hsm_key_info **out, size_t *n)
    __attribute__((warn_unused_result));

/* Signature schemes a CA key can sign with. */
enum hsm_sig { HSM_SIG_DEFAULT = 0, HSM_SIG_RSA_PKCS1, HSM_SIG_RSA_PSS, HSM_SIG_ECDSA };

/* A fresh EVP_MD_CTX ready for X509_sign_ctx / X509_CRL_sign_ctx / X509_REQ_sign_ctx or
 * EVP_DigestSign with the token key: hash is "sha256"|"sha384"|"sha512"; HSM_SIG_DEFAULT picks
 * PKCS#1 v1.5 for RSA and ECDSA for EC; RSA-PSS uses MGF1 with the same hash and salt = hash
 * length. Refuses a scheme the key type cannot use (ECDSA on RSA, PSS on EC) with exit class 1.
 * One context per signature; caller frees with EVP_MD_CTX_free. */
EVP_MD_CTX *hsm_sign_ctx_new(struct hsm *h, EVP_PKEY *key, enum hsm_sig sig, const char *hash);

/* Parse a scheme/hash name as given on the command line ("rsa-pkcs1", "rsa-pss", "ecdsa";
 * "sha256", ...). Return 1 and set *out, or 0 with hsm_error() set (class 2). */
int hsm_sig_parse(const char *name, enum hsm_sig *out) __attribute__((warn_unused_result));

/* RFC 7512 URI parsing (the subset offca uses). Attribute values are percent-decoded. */
struct hsm_uri {
    char token[HSM_MAX_LABEL + 1];
    char serial[64 + 1];
    char object[HSM_MAX_LABEL + 1];
    unsigned char id[64];
    size_t id_len;
    char type[16];                 /* "", "private", "public", "cert" */
    int has_token, has_serial, has_object, has_id;
};
/* Parse "pkcs11:..."; refuses pin-value/pin-source (a PIN never goes in a URI), unknown
 * attributes, bad percent-encoding, duplicates. 1 ok / 0 with hsm_error() (class 3). */
int hsm_uri_parse(const char *text, struct hsm_uri *out) __attribute__((warn_unused_result));
/* Format an object URI for display (percent-encodes what RFC 7512 requires). */
int hsm_uri_format(const char *token, const char *object, const unsigned char *id, size_t id_len,
                   const char *type, char *buf, size_t buflen);

/* PIN file rules, exposed for tests: 1 when path is a regular file, not a symlink, readable by
 * us, and not group/world readable or writable; 0 with hsm_error() naming the fix. */
int hsm_pin_file_check(const char *path) __attribute__((warn_unused_result));

/* Last error of the calling thread (never NULL; "" when none) and its exit-code class: offca's
 * one error slot (base/err.h), which every folder reports through. */
static inline const char *hsm_error(void) { return base_err_msg(); }
static inline int hsm_error_code(void) { return base_err_code(); }

#endif
