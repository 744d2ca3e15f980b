/*
 * Decimal text of integers (see decimal.h). Digits come out lowest first,
 * so they are written from the end of a scratch buffer and copied once.
 */
#include "util/decimal.h"

#include <string.h>

size_t decimal_u64(char *out, uint64_t v)
{
    char digits[DECIMAL_MAX];
    size_t at = sizeof digits;
    do {
        digits[--at] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = sizeof digits - at;
    memcpy(out, digits + at, n);
    out[n] = '\0';
    return n;
}

size_t decimal_i64(char *out, int64_t v)
{
    if (v >= 0)
        return decimal_u64(out, (uint64_t)v);
    /* The magnitude in unsigned arithmetic: -INT64_MIN overflows int64_t. */
    out[0] = '-';
    return 1 + decimal_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}
