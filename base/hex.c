/*
 * hex.c — lowercase hexadecimal (see hex.h).
 */
#include "base/hex.h"

static const char digits[] = "0123456789abcdef";

int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int lower_digit(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ? hex_digit(c) : -1;
}

int hex_decode_lower(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = lower_digit((unsigned char)s[2 * i]), lo;

        if (hi < 0 || (lo = lower_digit((unsigned char)s[2 * i + 1])) < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return s[2 * n] == '\0';
}
