/*
 * Growable arrays: the one way gpuslice grows an array that it appends to.
 * A vector is any pointer with a size_t capacity beside it (the count is the
 * caller's); VEC_RESERVE makes room for at least `need` elements, doubling
 * the capacity so that n appends cost O(n) copies in all.
 *
 *     struct item *v = NULL; size_t n = 0, cap = 0;
 *     VEC_RESERVE(v, cap, n + 1);
 *     v[n++] = x;
 *
 * Allocation follows util/alloc.h: it never fails, and a size that cannot
 * be represented (need * element size overflowing) aborts like an
 * allocation failure, because it is one. Sizes an outside party chooses are
 * bounded by the caller first. The array is the caller's (free()).
 */
#ifndef GPUSLICE_UTIL_VEC_H
#define GPUSLICE_UTIL_VEC_H

#include <stddef.h>

/* The smallest capacity a vector grows to. */
#define VEC_MIN_CAP 8

/* items (an array of *cap elements of size bytes; NULL when *cap is 0)
 * grown to hold at least need elements; returns the array, perhaps moved,
 * and updates *cap. Does nothing when need <= *cap. */
void *vec_reserve(void *items, size_t *cap, size_t need, size_t size);

/* Room for at least need elements in items, whose capacity is cap (lvalues). */
#define VEC_RESERVE(items, cap, need) \
    ((items) = vec_reserve((items), &(cap), (need), sizeof *(items)))

#endif
