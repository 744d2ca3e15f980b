/*
 * The scrub of utf8.h, over one decoder of a character's length.
 */
#include "util/utf8.h"

#include <stddef.h>

/* How many bytes a character starting with lead takes (0: lead cannot
 * start one), and the range its second byte must fall in (which rules out
 * overlong forms, surrogates and code points past U+10FFFF). */
static size_t lead_len(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF) {
        *lo = lead == 0xE0 ? 0xA0 : 0x80;
        *hi = lead == 0xED ? 0x9F : 0xBF;
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        *lo = lead == 0xF0 ? 0x90 : 0x80;
        *hi = lead == 0xF4 ? 0x8F : 0xBF;
        return 4;
    }
    return 0;
}

/* The length of the well-formed character at p (> 0), 0 when p starts
 * none, or -1 when p starts one that the string's end cuts short. */
static long char_len(const unsigned char *p)
{
    unsigned char lo, hi;
    size_t n = lead_len(p[0], &lo, &hi);
    if (n == 0)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '\0')
            return -1;
        if (p[i] < lo || p[i] > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return (long)n;
}

char *utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        long n = char_len(p);
        if (n < 0) {
            *p = '\0';
            break;
        }
        if (n == 0) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
    return s;
}
