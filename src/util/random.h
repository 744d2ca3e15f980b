/*
 * Bytes from the kernel's random source for identifiers (admission uids,
 * the webhook's name prefixes) that must differ between processes. Each
 * caller decides what a short read means, so this only reports how many
 * bytes it got instead of failing.
 */
#ifndef GPUSLICE_UTIL_RANDOM_H
#define GPUSLICE_UTIL_RANDOM_H

#include <stddef.h>
#include <sys/random.h>
#include <sys/types.h>

/* Fills up to len bytes of buf, reading again after a short read; returns
 * how many it filled (fewer than len only when getrandom fails). */
static inline size_t random_fill(void *buf, size_t len)
{
    unsigned char *b = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(b + got, len - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

#endif
