/*
 * serial.c — certificate serial numbers: random from the OS CSPRNG, positive, fixed length;
 * uniqueness per CA is enforced by the store in the issuing transaction.
 */
#include "base/hex.h"
#include "ca/issue/issue.h"

#include <ctype.h>
#include <string.h>
#include <sys/random.h>

#include "ca/common/common.h"

int serial_new(unsigned char out[SERIAL_BYTES])
{
    size_t got = 0;

    while (got < SERIAL_BYTES) {
        ssize_t r = getrandom(out + got, SERIAL_BYTES - got, 0);
        if (r < 0) {
            report("serial: getrandom failed; the OS random source is unavailable");
            return 0;
        }
        got += (size_t)r;
    }
    out[0] &= 0x7f;               /* positive */
    if (out[0] == 0)
        out[0] = 0x40;            /* keep the encoding at SERIAL_BYTES (minimal DER) */
    return 1;
}

void serial_hex(const unsigned char *s, size_t n, char *out)
{
    hex_encode(s, n, out);
}

int serial_parse(const char *text, unsigned char *out, size_t max, size_t *n)
{
    char digits[2 * 64 + 2];
    size_t nd = 0, len, i, j = 0;

    if (strncmp(text, "0x", 2) == 0 || strncmp(text, "0X", 2) == 0)
        text += 2;
    for (; *text; text++) {
        if (*text == ':')
            continue;
        if (hex_digit((unsigned char)*text) < 0 || nd >= sizeof(digits) - 2)
            return 0;
        digits[nd++] = *text;
    }
    if (nd == 0)
        return 0;
    if (nd % 2) {                 /* odd: a leading zero nibble */
        memmove(digits + 1, digits, nd++);
        digits[0] = '0';
    }
    len = nd / 2;
    i = 0;                        /* strip leading zero bytes, keep a sign byte if needed */
    while (len - i > 1 && digits[2 * i] == '0' && digits[2 * i + 1] == '0' &&
           hex_digit((unsigned char)digits[2 * i + 2]) < 8)
        i++;
    if (len - i > max)
        return 0;
    for (; i < len; i++)
        out[j++] = (unsigned char)(hex_digit((unsigned char)digits[2 * i]) * 16 +
                                   hex_digit((unsigned char)digits[2 * i + 1]));
    *n = j;
    return 1;
}
