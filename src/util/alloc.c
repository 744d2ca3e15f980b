/*
 * The allocation wrappers of alloc.h. Reporting a failure must not allocate
 * itself, so the message is formatted on the stack and written with write(2).
 */
#include "util/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void alloc_failed(size_t size)
{
    char msg[96];
    int n = snprintf(msg, sizeof msg, "gpuslice: out of memory (%zu bytes)\n", size);
    if (n > 0)
        (void)!write(STDERR_FILENO, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    abort();
}

void *alloc_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        alloc_failed(size);
    return p;
}

void *alloc_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        alloc_failed(SIZE_MAX);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        alloc_failed(n * size);
    return p;
}

void *alloc_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        alloc_failed(size);
    return q;
}

void *alloc_realloc_array(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        alloc_failed(SIZE_MAX);
    return alloc_realloc(p, n * size);
}

char *alloc_strdup(const char *s)
{
    return alloc_strndup(s, SIZE_MAX);
}

char *alloc_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *copy = alloc_malloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
