/*
 * Integers as decimal text, without printf: the store stamps a
 * resourceVersion on every write, the JSON printer writes every integer of
 * every object, and snprintf's format parsing and locale lookup cost more
 * than the digits themselves on those paths. One function for each sign;
 * zero-padded fixed widths (timestamps) are a different thing and stay
 * with their format (api/meta.c).
 */
#ifndef GPUSLICE_UTIL_DECIMAL_H
#define GPUSLICE_UTIL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Bytes that any int64_t or uint64_t needs, sign and NUL included
 * ("-9223372036854775808", "18446744073709551615"). */
#define DECIMAL_MAX 21

/* Writes v's digits and a NUL to out (DECIMAL_MAX bytes at least) and
 * returns how many digits were written (the NUL not counted). */
size_t decimal_u64(char *out, uint64_t v);

/* As decimal_u64, with a leading '-' for a negative v (counted). */
size_t decimal_i64(char *out, int64_t v);

#endif
