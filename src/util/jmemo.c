/*
 * The memo of jmemo.h: slots of a key (a reference held, or NULL) and,
 * ANSWER_AT bytes in, its answer, side by side in one allocation; every
 * slot is 16-byte aligned, so an answer may be any struct.
 */
#include "util/jmemo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define ANSWER_AT 16

struct jmemo {
    unsigned bits;
    size_t answer_size, slot_size;
    _Alignas(16) unsigned char slots[]; /* 2^bits of: json_t *key, then the answer */
};

struct jmemo *jmemo_new(unsigned bits, size_t answer_size)
{
    size_t slot_size = (ANSWER_AT + answer_size + 15) & ~(size_t)15;
    struct jmemo *m = alloc_calloc(1, sizeof *m + (slot_size << bits));
    m->bits = bits;
    m->answer_size = answer_size;
    m->slot_size = slot_size;
    return m;
}

/* The slot of key: allocations are 16-byte aligned, so the low bits say
 * nothing; a multiplicative hash spreads the rest over the top bits. */
static unsigned char *slot_of(const struct jmemo *m, const json_t *key)
{
    uint64_t h = ((uint64_t)(uintptr_t)key >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (unsigned char *)m->slots + (h >> (64 - m->bits)) * m->slot_size;
}

static json_t **key_at(unsigned char *slot)
{
    return (json_t **)(void *)slot;
}

void jmemo_free(struct jmemo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < (size_t)1 << m->bits; i++)
        json_decref(*key_at(m->slots + i * m->slot_size));
    free(m);
}

const void *jmemo_find(const struct jmemo *m, const json_t *key)
{
    if (!key) /* an empty slot's key is NULL too */
        return NULL;
    unsigned char *slot = slot_of(m, key);
    return *key_at(slot) == key ? slot + ANSWER_AT : NULL;
}

void jmemo_forget(struct jmemo *m, const json_t *key)
{
    if (!key)
        return;
    json_t **held = key_at(slot_of(m, key));
    if (*held != key)
        return;
    json_decref(*held);
    *held = NULL;
}

void jmemo_keep(struct jmemo *m, json_t *key, const void *answer)
{
    if (!key)
        return;
    unsigned char *slot = slot_of(m, key);
    json_incref(key);
    json_decref(*key_at(slot));
    *key_at(slot) = key;
    memcpy(slot + ANSWER_AT, answer, m->answer_size);
}
