/*
 * The string pool of strpool.h: a strmap from each interned string to its
 * copy, and copies packed into chunks of STRPOOL_CHUNK bytes (a longer
 * string gets a chunk of its own).
 */
#include "util/strpool.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/vec.h"

#define STRPOOL_CHUNK (64 * 1024)

void strpool_init(struct strpool *p)
{
    memset(p, 0, sizeof *p);
    strmap_init(&p->interned, sizeof(const char *), NULL);
}

void strpool_free(struct strpool *p)
{
    strmap_free(&p->interned);
    for (size_t i = 0; i < p->n_chunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    strpool_init(p);
}

const char *strpool_add(struct strpool *p, const char *s)
{
    s = s ? s : "";
    size_t n = strlen(s) + 1;
    if (p->n_chunks == 0 || p->used + n > STRPOOL_CHUNK) {
        VEC_RESERVE(p->chunks, p->cap_chunks, p->n_chunks + 1);
        p->chunks[p->n_chunks++] = alloc_malloc(n > STRPOOL_CHUNK ? n : STRPOOL_CHUNK);
        p->used = 0;
    }
    char *at = p->chunks[p->n_chunks - 1] + p->used;
    memcpy(at, s, n);
    /* A string larger than a chunk fills its own: the next one starts a new chunk. */
    p->used = n > STRPOOL_CHUNK ? STRPOOL_CHUNK : p->used + n;
    p->bytes += n;
    return at;
}

const char *strpool_intern(struct strpool *p, const char *s)
{
    s = s ? s : "";
    if (p->interned.value_size == 0) /* zero-filled: see strpool_init */
        strmap_init(&p->interned, sizeof(const char *), NULL);
    bool added = false;
    const char **at = strmap_put(&p->interned, s, &added);
    if (added)
        *at = strpool_add(p, s);
    return *at;
}
