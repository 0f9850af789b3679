/*
 * hsm_err.h — private to hsm/: set the thread's error (read back with hsm_error()).
 * Codes are the exit classes of hsm.h: 1 policy, 2 usage, 3 malformed input, 4 HSM/system.
 */
#ifndef OFFCA_HSM_ERR_H
#define OFFCA_HSM_ERR_H

enum { HE_POLICY = 1, HE_USAGE = 2, HE_INPUT = 3, HE_SYSTEM = 4 };

/* Replace the thread's error with a formatted message and class. */
void hsm_seterr(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like hsm_seterr, then append the drained OpenSSL error queue as " (openssl: ...)". */
void hsm_seterr_ossl(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "<prefix>: " (adding context on the way up). */
void hsm_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hsm_err_clear(void);

#endif
