/*
 * tmpl_err.h — private to templates/: set the thread's error (read back with tmpl_error()).
 * Codes are the exit classes of template.h: 1 policy, 2 usage, 3 malformed input, 4 system.
 */
#ifndef OFFCA_TMPL_ERR_H
#define OFFCA_TMPL_ERR_H

enum { TE_POLICY = 1, TE_USAGE = 2, TE_INPUT = 3, TE_SYSTEM = 4 };

/* Replace the thread's error with a formatted message and class. */
void tmpl_seterr(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "<prefix>: " (adding context on the way up). */
void tmpl_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tmpl_err_clear(void);

#endif
