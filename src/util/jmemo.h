/*
 * A memo of what was read from jansson values, keyed by the value itself:
 * for readers that ask again and again about the same cached objects (an
 * informer's cache hands out the very value it holds until the object
 * changes, and an in-process store shares every part a new version does
 * not change). A slot holds a reference to its key, and values are never
 * changed once stored or cached (no code calls json_string_set or changes
 * a cached object), so while it is held its address names that very value
 * and no other: an answer kept for it stays true. A value parsed anew
 * (from the wire) merely misses.
 *
 * Direct-mapped: a key that lands on a used slot replaces what was there,
 * so a memo holds at most its slot count of values alive. Not
 * thread-safe: the owner serialises calls.
 */
#ifndef GPUSLICE_UTIL_JMEMO_H
#define GPUSLICE_UTIL_JMEMO_H

#include <stddef.h>

#include <jansson.h>

struct jmemo;

/* A memo of 2^bits slots (bits 1..16) with answers of answer_size bytes. */
struct jmemo *jmemo_new(unsigned bits, size_t answer_size);
/* Releases the values held; NULL is a no-op. */
void jmemo_free(struct jmemo *m);
/* The answer kept for key (answer_size bytes, the memo's), or NULL (always
 * for a NULL key). */
const void *jmemo_find(const struct jmemo *m, const json_t *key);
/* Lets key go, if the memo holds it: for an owner that knows the value
 * will not be asked about again (a version superseded or deleted), so the
 * memo keeps nothing alive past its use. */
void jmemo_forget(struct jmemo *m, const json_t *key);
/* Keeps answer (answer_size bytes, copied) for key, which the memo now
 * holds a reference to, in place of what its slot held; nothing for NULL. */
void jmemo_keep(struct jmemo *m, json_t *key, const void *answer);

#endif
