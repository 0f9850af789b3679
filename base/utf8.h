/*
 * utf8.h — the one UTF-8 decoder (RFC 3629): every place that takes text from outside (ca.toml
 * and templates, distinguished names, SAN values, directory exports, Microsoft formats) uses it.
 * base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_UTF8_H
#define OFFCA_BASE_UTF8_H

#include <stddef.h>

/* Decode the character at s (at most left bytes): its length 1-4 with *cp set, or 0 when the
 * bytes are not one well-formed UTF-8 character (overlong form, surrogate, above U+10FFFF, a
 * stray continuation byte, or truncated). NUL decodes as U+0000, length 1. */
int utf8_next(const unsigned char *s, size_t left, unsigned long *cp);

#endif
