/*
 * A hash table keyed by strings whose values are fixed-size structs kept
 * inline: the one map for typed state (a controller's per-pod memory, a
 * GPU's failure count) that would otherwise live in a jansson object read
 * back with json_integer_value.
 *
 * Open addressing with linear probing over a power-of-two array, kept at
 * most three-quarters full, and backward-shift deletion (no tombstones), so
 * a long-running process that adds and deletes forever never degrades.
 * Hashing is util/hash.h's FNV-1a.
 *
 * Memory comes from util/alloc.h, so no call fails (out of memory aborts).
 *
 * Ownership: the map copies every key. A value is value_size bytes inside
 * the map; a value that owns memory (a string pointer) is released by the
 * map's drop function when its entry is deleted or the map freed. Pointers
 * to values and keys stay valid until the next put or del (either may move
 * entries). Not thread-safe: the caller locks.
 */
#ifndef GPUSLICE_UTIL_STRMAP_H
#define GPUSLICE_UTIL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap {
    unsigned char *slots;   /* cap slots of stride bytes: header, then value */
    size_t cap;             /* 0 or a power of two */
    size_t count;
    size_t value_size;
    size_t stride;
    void (*drop)(void *value); /* NULL: values own nothing */
};

/* An empty map of values of value_size bytes (0: a set of keys); allocates
 * nothing until the first put. drop (may be NULL) releases what a value
 * owns. */
void strmap_init(struct strmap *m, size_t value_size, void (*drop)(void *value));

/* Drops every value and frees the map's memory; m is left empty and may be
 * used again. */
void strmap_free(struct strmap *m);

size_t strmap_size(const struct strmap *m);

/* The value stored under key, or NULL when there is none. For a set
 * (value_size 0) a non-NULL pointer says the key is there. */
void *strmap_get(const struct strmap *m, const char *key);

/* The value under key, added zero-filled when missing (then *added, if
 * added is not NULL, is true). */
void *strmap_put(struct strmap *m, const char *key, bool *added);

/* Copies value_size bytes from value in under key, replacing (and dropping)
 * what was there. */
void strmap_set(struct strmap *m, const char *key, const void *value);

/* Removes key, dropping its value. Returns whether it was there. */
bool strmap_del(struct strmap *m, const char *key);

/* Walks the entries in no particular order: start with *pos = 0; each call
 * gives the next key and value (value may be NULL when unwanted) and
 * returns false at the end. The map must not change during the walk. */
bool strmap_next(const struct strmap *m, size_t *pos, const char **key, void **value);

#endif
