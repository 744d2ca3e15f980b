/*
 * The string-keyed map of strmap.h. A slot is a header (the key copy, NULL
 * when the slot is empty, and its hash) followed by the value, padded so
 * every value is aligned for any type.
 */
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"

#define INITIAL_CAP 16

struct slot_head {
    char *key; /* NULL: empty */
    uint64_t hash;
};

static size_t align_up(size_t n)
{
    size_t a = _Alignof(max_align_t);
    return (n + a - 1) / a * a;
}

#define VALUE_OFFSET align_up(sizeof(struct slot_head))

static struct slot_head *slot(const struct strmap *m, size_t i)
{
    return (struct slot_head *)(m->slots + i * m->stride);
}

static void *value_of(struct slot_head *s)
{
    return (unsigned char *)s + VALUE_OFFSET;
}

void strmap_init(struct strmap *m, size_t value_size, void (*drop)(void *value))
{
    *m = (struct strmap){.value_size = value_size, .drop = drop,
                         .stride = align_up(VALUE_OFFSET + value_size)};
}

void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        struct slot_head *s = slot(m, i);
        if (!s->key)
            continue;
        if (m->drop)
            m->drop(value_of(s));
        free(s->key);
    }
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

size_t strmap_size(const struct strmap *m)
{
    return m->count;
}

static uint64_t key_hash(const char *key)
{
    return hash_bytes(HASH_INIT, key, strlen(key));
}

/* The slot holding key, or the empty slot where it would go. cap > 0. */
static size_t probe(const struct strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;;) {
        struct slot_head *s = slot(m, i);
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return i;
        i = (i + 1) & mask;
    }
}

void *strmap_get(const struct strmap *m, const char *key)
{
    if (m->count == 0)
        return NULL;
    struct slot_head *s = slot(m, probe(m, key, key_hash(key)));
    return s->key ? value_of(s) : NULL;
}

/* Doubles the slot array, moving every entry. */
static void grow(struct strmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : INITIAL_CAP;
    struct strmap bigger = *m;
    bigger.cap = cap;
    bigger.slots = alloc_calloc(cap, m->stride);
    for (size_t i = 0; i < m->cap; i++) {
        struct slot_head *s = slot(m, i);
        if (s->key)
            memcpy(slot(&bigger, probe(&bigger, s->key, s->hash)), s, m->stride);
    }
    free(m->slots);
    *m = bigger;
}

void *strmap_put(struct strmap *m, const char *key, bool *added)
{
    uint64_t h = key_hash(key);
    if (added)
        *added = false;
    if (m->cap) {
        struct slot_head *s = slot(m, probe(m, key, h));
        if (s->key)
            return value_of(s);
    }
    if ((m->count + 1) * 4 > m->cap * 3)
        grow(m);
    struct slot_head *s = slot(m, probe(m, key, h));
    s->key = alloc_strdup(key);
    s->hash = h;
    memset(value_of(s), 0, m->value_size);
    m->count++;
    if (added)
        *added = true;
    return value_of(s);
}

void strmap_set(struct strmap *m, const char *key, const void *value)
{
    bool added;
    void *v = strmap_put(m, key, &added);
    if (!added && m->drop)
        m->drop(v);
    memcpy(v, value, m->value_size);
}

bool strmap_del(struct strmap *m, const char *key)
{
    if (m->count == 0)
        return false;
    size_t mask = m->cap - 1, hole = probe(m, key, key_hash(key));
    struct slot_head *s = slot(m, hole);
    if (!s->key)
        return false;
    if (m->drop)
        m->drop(value_of(s));
    free(s->key);
    /* Backward shift: pull later entries of the run into the hole when
     * their home slot is not after it, so every probe run stays unbroken. */
    for (size_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
        struct slot_head *next = slot(m, j);
        if (!next->key)
            break;
        size_t home = (size_t)next->hash & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            memcpy(slot(m, hole), next, m->stride);
            hole = j;
        }
    }
    memset(slot(m, hole), 0, m->stride);
    m->count--;
    return true;
}

bool strmap_next(const struct strmap *m, size_t *pos, const char **key, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        struct slot_head *s = slot(m, *pos);
        if (s->key) {
            (*pos)++;
            *key = s->key;
            if (value)
                *value = value_of(s);
            return true;
        }
    }
    return false;
}
