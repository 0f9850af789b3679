/*
 * err.h — the one error slot of offca: the calling thread's last failure, as one operator-ready
 * message and its exit-code class.
 *
 * Every folder reports failures here (hsm/, templates/ and crl/ through their own short names
 * in their private headers, e.g. hsm_seterr), and the command layer prints the message and exits
 * with the class. Classes: 1 policy, 2 usage, 3 malformed input, 4 system / HSM / I/O.
 * Messages follow "<object>: <problem>; <what to do>"; base_err_prefix adds context on the way
 * up. The slot is thread-local, so batch-signing workers do not see each other's errors.
 * base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_ERR_H
#define OFFCA_BASE_ERR_H

#include <stddef.h>

enum { ERRC_POLICY = 1, ERRC_USAGE = 2, ERRC_INPUT = 3, ERRC_SYSTEM = 4 };

/* Replace the thread's error with a formatted message and class. */
void base_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like base_err_set, then append " (OpenSSL: <queue>)" and empty the OpenSSL error queue
 * (nothing is appended when the queue is empty). */
void base_err_set_ossl(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "<prefix>: " (adding context on the way up). */
void base_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Forget the thread's error (message "" and class 0). */
void base_err_clear(void);
/* The thread's last message (never NULL; "" when none; borrowed) and its class (0 when none). */
const char *base_err_msg(void);
int base_err_code(void);

/* Empty the OpenSSL error queue into buf as "<oldest>; <next>; ..." ("" when it was empty);
 * always NUL-terminated, truncated to len. */
void base_ossl_drain(char *buf, size_t len);

#endif
