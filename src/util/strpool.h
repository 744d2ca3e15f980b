/*
 * Strings kept once, for records that many of which name few distinct
 * things (a million pods' namespaces, nodes, profiles and phases): a
 * record holds a pointer into the pool instead of a fixed-size buffer of
 * its own, so it costs a word per string, and each distinct string is
 * stored once.
 *
 * strpool_intern gives equal strings the same pointer; strpool_add stores
 * a string that is unique anyway (a pod's name) without the table entry.
 * Strings live in chunks that never move and are freed only with the pool,
 * so a pointer stays valid for the pool's life. Memory comes from
 * util/alloc.h, so no call fails. Not thread-safe: the caller locks.
 */
#ifndef GPUSLICE_UTIL_STRPOOL_H
#define GPUSLICE_UTIL_STRPOOL_H

#include <stddef.h>

#include "util/strmap.h"

struct strpool {
    struct strmap interned; /* string -> const char * into a chunk */
    char **chunks;
    size_t n_chunks, cap_chunks;
    size_t used;            /* bytes used in the last chunk */
    size_t bytes;           /* string bytes stored, NULs included */
};

/* An empty pool; allocates nothing until the first string. A zero-filled
 * struct strpool is an empty pool too. */
void strpool_init(struct strpool *p);

/* Frees every string; p is left empty and may be used again. */
void strpool_free(struct strpool *p);

/* The pool's copy of s (NULL reads as ""), the same pointer for equal
 * strings. */
const char *strpool_intern(struct strpool *p, const char *s);

/* A copy of s (NULL reads as "") in the pool, not shared. */
const char *strpool_add(struct strpool *p, const char *s);

#endif
