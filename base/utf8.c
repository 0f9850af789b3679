/*
 * utf8.c — the RFC 3629 decoder (see utf8.h): the second byte's allowed range excludes overlong
 * forms, surrogates and code points above U+10FFFF (RFC 3629 section 4's table).
 */
#include "base/utf8.h"

int utf8_next(const unsigned char *s, size_t left, unsigned long *cp)
{
    unsigned char c, lo = 0x80, hi = 0xBF;
    int n, i;

    if (left == 0)
        return 0;
    c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if ((size_t)n > left || s[1] < lo || s[1] > hi)
        return 0;
    *cp = c & (0x7F >> n);
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = *cp << 6 | (s[i] & 0x3F);
    }
    return n;
}
