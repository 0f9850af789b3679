/*
 * p11.h — private to hsm/: the one place that talks PKCS#11. p11.c is the only file that calls
 * C_* functions; everything else in hsm/ goes through these wrappers, which turn CK_RV codes into
 * operator messages (hsm_error()) and never let them travel further.
 */
#ifndef OFFCA_P11_H
#define OFFCA_P11_H

#include <stddef.h>
#include <p11-kit/pkcs11.h>

#define MAX_P11_SLOTS   64         /* slots we look at when searching for a token */
#define MAX_P11_OBJECTS 256        /* objects one search may return */
#define MAX_P11_SIG     1024       /* bytes: RSA-8192 or ECDSA P-521 raw r||s fit */
#define MAX_P11_ATTR    4096       /* bytes: largest attribute value we read */
#define MAX_P11_SESSIONS 16        /* session pool: concurrent PKCS#11 operations per handle */
#define MAX_P11_START_RETRIES 3    /* SoftHSM start-up race: re-initialise after 25/50/100 ms */

struct p11;                        /* module + token + a pool of RW sessions, logged in once */

/* dlopen the module, C_Initialize (CKF_OS_LOCKING_OK), find the token by label or serial (never
 * slot index), open the first RW session of the pool. A token not found is looked for again up to
 * MAX_P11_START_RETRIES times (C_Finalize, wait 25/50/100 ms + jitter, C_Initialize, rescan;
 * without the finalize when another handle of the process uses the module): SoftHSM 2.6.1 misses
 * a token whose file another process is rewriting. Remembers getpid(): the handle refuses use after fork().
 * Caller frees with p11_close(). */
struct p11 *p11_open(const char *module, const char *token_label, const char *token_serial);
/* Check the token's PIN flags (locked / final try refused before C_Login), then C_Login(CKU_USER)
 * once; CKR_USER_ALREADY_LOGGED_IN counts as success; a wrong PIN is never retried. Only a
 * start-up race (p11_rv_start_race) is tried again, with the same restart as p11_open. */
int p11_login(struct p11 *p, const char *pin, size_t pin_len) __attribute__((warn_unused_result));
/* 0 (hsm_error() set) once a C_Login of this process got CKR_PIN_INCORRECT: from then on
 * p11_login refuses without calling C_Login, for every handle. Asked before reading the PIN so
 * that nobody is prompted for a login that will not happen. */
int p11_login_allowed(const struct p11 *p) __attribute__((warn_unused_result));
/* Close the session; the last user of the module logs out and finalizes. NULL is a no-op. */
void p11_close(struct p11 *p);

/* Token label / serial with padding trimmed (borrowed). */
const char *p11_get0_label(const struct p11 *p);
const char *p11_get0_serial(const struct p11 *p);

/* C_FindObjects with tmpl: up to max handles in out, the number in *count. */
int p11_find(struct p11 *p, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out, size_t max,
             size_t *count) __attribute__((warn_unused_result));
/* Read one variable-length attribute; *val is OPENSSL_malloc'd (caller frees with OPENSSL_free).
 * A missing attribute is an error naming it. */
int p11_attr_get(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, unsigned char **val,
                 size_t *len) __attribute__((warn_unused_result));
/* Read a CK_BBOOL / CK_ULONG attribute. */
int p11_attr_bool(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, int *out)
    __attribute__((warn_unused_result));
int p11_attr_ulong(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
    __attribute__((warn_unused_result));
/* C_GenerateKeyPair with the caller's templates (the templates are policy: hsm_keygen.c). */
int p11_keypair_gen(struct p11 *p, CK_MECHANISM *mech, CK_ATTRIBUTE *pub, CK_ULONG npub,
                    CK_ATTRIBUTE *priv, CK_ULONG npriv) __attribute__((warn_unused_result));
/* One C_SignInit + C_Sign on an idle pool session (a helper session is opened when every
 * session is busy, up to MAX_P11_SESSIONS or the token's limit; then callers wait). Thread-safe.
 * *siglen is the buffer size in, length out. */
int p11_sign(struct p11 *p, CK_OBJECT_HANDLE key, CK_MECHANISM *mech, const unsigned char *in,
             size_t inlen, unsigned char *sig, size_t *siglen) __attribute__((warn_unused_result));

/* Sessions open in the pool: 1 + the helpers opened so far (tests, benchmarks). */
size_t p11_session_count(struct p11 *p);

/* 1 when C_Login's rv is the SoftHSM start-up race and may be retried after a restart
 * (CKR_GENERAL_ERROR only); 0 for everything else, every PIN error included. */
int p11_rv_start_race(CK_RV rv);

/* "CKR_PIN_INCORRECT" etc., or NULL for a code not in the table. */
const char *p11_rv_name(CK_RV rv);

#endif
