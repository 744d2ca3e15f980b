/*
 * The hash table behind every mem store index: open addressing with linear
 * probing and backward-shift deletion (no tombstones), storing the hash next
 * to the item so that growing never calls back into the caller. Items are
 * opaque pointers; callers say how to compare one with a key.
 */
#include <stdlib.h>

#include "store/mem_internal.h"
#include "util/alloc.h"

void *mem__table_find(const struct mem_table *t, uint64_t hash, mem_table_eq eq, const void *key)
{
    if (t->cap == 0)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const struct mem_slot *s = &t->slots[i];
        if (!s->item)
            return NULL;
        if (s->hash == hash && eq(s->item, key))
            return s->item;
    }
}

static void table_place(struct mem_slot *slots, size_t cap, uint64_t hash, void *item)
{
    size_t mask = cap - 1;
    size_t i = hash & mask;
    while (slots[i].item)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].item = item;
}

int mem__table_reserve(struct mem_table *t, size_t n)
{
    /* Kept at most half full: probes stay short. */
    if (2 * (t->n + n) <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 16;
    while (2 * (t->n + n) > cap)
        cap *= 2;
    struct mem_slot *slots = alloc_calloc(cap, sizeof *slots);
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].item)
            table_place(slots, cap, t->slots[i].hash, t->slots[i].item);
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

void mem__table_insert(struct mem_table *t, uint64_t hash, void *item)
{
    table_place(t->slots, t->cap, hash, item);
    t->n++;
}

void *mem__table_remove(struct mem_table *t, uint64_t hash, mem_table_eq eq, const void *key)
{
    if (t->cap == 0)
        return NULL;
    size_t mask = t->cap - 1;
    size_t i = hash & mask;
    while (t->slots[i].item && !(t->slots[i].hash == hash && eq(t->slots[i].item, key)))
        i = (i + 1) & mask;
    void *item = t->slots[i].item;
    if (!item)
        return NULL;
    /* Backward shift: pull later members of the probe run into the hole so
     * that lookups never stop early. */
    for (size_t j = (i + 1) & mask; t->slots[j].item; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].item = NULL;
    t->n--;
    return item;
}

void mem__table_free(struct mem_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}
