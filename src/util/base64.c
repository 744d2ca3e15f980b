/*
 * base64 (base64.h). The decoder reads both alphabets into one table, so a
 * token or a certificate decodes whichever way it was written.
 */
#include "util/base64.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static const char *const alphabets[] = {
    [BASE64_STD] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    [BASE64_URL] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
};

char *base64_encode(const void *data, size_t len, enum base64_alphabet alphabet)
{
    const unsigned char *in = data;
    const char *tab = alphabets[alphabet];
    bool pad = alphabet == BASE64_STD;
    char *out = alloc_malloc(4 * ((len + 2) / 3) + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        *o++ = tab[w >> 18 & 63];
        *o++ = tab[w >> 12 & 63];
        if (i + 1 < len || pad)
            *o++ = i + 1 < len ? tab[w >> 6 & 63] : '=';
        if (i + 2 < len || pad)
            *o++ = i + 2 < len ? tab[w & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* A character's 6 bits in either alphabet; -1 for anything else. */
static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int base64_decode(const char *text, unsigned char **out, size_t *len)
{
    size_t n = strlen(text), o = 0, chars = 0;
    unsigned char *buf = alloc_malloc(n / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    bool padded = false;
    for (const char *p = text; *p; p++) {
        if (strchr(" \t\r\n", *p))
            continue;
        int v = *p == '=' ? -2 : sextet(*p);
        if (v == -1 || (padded && v != -2))
            goto bad;
        if (v == -2) {
            padded = true;
            continue;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        chars++;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (chars % 4 == 1)
        goto bad;
    buf[o] = '\0';
    *out = buf;
    *len = o;
    return 0;
bad:
    free(buf);
    return -EINVAL;
}
