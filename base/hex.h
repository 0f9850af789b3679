/*
 * hex.h — lowercase hexadecimal, the one codec for serials, key hashes, token IDs and manifests.
 * base/ depends on nothing of ours.
 */
#ifndef OFFCA_BASE_HEX_H
#define OFFCA_BASE_HEX_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1 when c is not one. */
int hex_digit(int c);
/* Write the lowercase hex of in[0..n) and a NUL into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* Decode exactly 2n lowercase hex digits of s followed by a NUL into out[0..n): 1, or 0 when s
 * is shorter, longer, or has anything but 0-9a-f (the strict form offca writes). */
int hex_decode_lower(const char *s, unsigned char *out, size_t n);

#endif
