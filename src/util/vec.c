/*
 * The growth rule of vec.h: double from VEC_MIN_CAP until need fits; where
 * doubling would overflow, take need itself and let the allocator's
 * overflow check judge need * size.
 */
#include "util/vec.h"

#include <stdint.h>

#include "util/alloc.h"

void *vec_reserve(void *items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return items;
    size_t grown = *cap ? *cap : VEC_MIN_CAP;
    while (grown < need)
        grown = grown <= SIZE_MAX / 2 ? 2 * grown : need;
    items = alloc_realloc_array(items, grown, size);
    *cap = grown;
    return items;
}
