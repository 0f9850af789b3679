/*
 * capture.h — test support: capture what a function writes to stderr (or any fd), so a negative
 * test can assert a fragment of the message that report() printed.
 *
 *   capture_start(STDERR_FILENO);
 *   rc = csr_parse(...);
 *   msg = capture_stop();          // borrowed; valid until the next capture_start()
 *   assert_non_null(strstr(msg, "trailing bytes"));
 *
 * One capture at a time. Also: tmpdir helpers for tests that write files.
 */
#ifndef OFFCA_TEST_CAPTURE_H
#define OFFCA_TEST_CAPTURE_H

#include <stddef.h>

#define MAX_CAPTURE_BYTES (256 * 1024)

/* Redirect fd (1 or 2, usually) into a temporary file. 1 ok / 0 (already capturing, or I/O). */
int capture_start(int fd);
/* Restore fd and return everything written since capture_start, NUL-terminated (truncated at
 * MAX_CAPTURE_BYTES). Borrowed static buffer; "" when nothing was captured. */
const char *capture_stop(void);
/* Length of the last captured text (it may hold NUL bytes, e.g. binary written to stdout). */
size_t capture_len(void);

/* Make a fresh private directory under $TMPDIR (or /tmp); path into buf. 1 ok / 0. */
int tmpdir_make(char *buf, size_t n);
/* Remove dir and everything in it (one level of files plus nested dirs). 1 ok / 0. */
int tmpdir_remove(const char *dir);

#endif
