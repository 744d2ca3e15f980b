/*
 * The memo of pod_slices_memo.h: direct-mapped slots, each the annotation
 * value it read (a reference) and what it read from it. A collision simply
 * replaces the slot: the pods decided close together in time are few.
 */
#include "api/pod_slices_memo.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/alloc.h"

/* 64 slots: at about 4 KB a slot, 256 KB a memo. */
#define POD_SLICES_MEMO_BITS 6
#define POD_SLICES_MEMO_SLOTS (1u << POD_SLICES_MEMO_BITS)

struct pod_slices_memo_slot {
    json_t *text; /* the annotation value read (a reference held), or NULL */
    struct pod_slices slices;
};

struct pod_slices_memo {
    struct pod_slices_memo_slot slots[POD_SLICES_MEMO_SLOTS];
};

struct pod_slices_memo *pod_slices_memo_new(void)
{
    return alloc_calloc(1, sizeof(struct pod_slices_memo));
}

void pod_slices_memo_free(struct pod_slices_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < POD_SLICES_MEMO_SLOTS; i++)
        json_decref(m->slots[i].text);
    free(m);
}

/* The slot of a value: allocations are 16-byte aligned, so the low bits
 * say nothing; a multiplicative hash spreads the rest. */
static struct pod_slices_memo_slot *slot_of(struct pod_slices_memo *m, const json_t *text)
{
    uint64_t h = ((uint64_t)(uintptr_t)text >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return &m->slots[h >> (64 - POD_SLICES_MEMO_BITS)];
}

int pod_slices_memo_of(struct pod_slices_memo *m, const json_t *pod, struct pod_slices *out,
                       struct err *e)
{
    json_t *text = json_object_get(
        json_object_get(json_object_get(pod, "metadata"), "annotations"),
        GPUSLICE_ANNOTATION_SLICES);
    if (!json_is_string(text))
        return pod_slices_of(pod, out, e);
    struct pod_slices_memo_slot *s = slot_of(m, text);
    if (s->text == text) {
        *out = s->slices;
        return 0;
    }
    int rc = pod_slices_of(pod, out, e);
    if (rc == 0) {
        json_decref(s->text);
        s->text = json_incref(text);
        s->slices = *out;
    }
    return rc;
}
