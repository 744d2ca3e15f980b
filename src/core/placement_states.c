/*
 * The per-model score tables (see placement_states.h), and the one place the
 * policies' scores are defined. Higher scores are better; ties go to the
 * lower GPU index, then the lower start.
 *
 *   first-fit  every placement scores 0, so the first GPU wins, at its lowest
 *              free start.
 *   best-fit   MIG_MAX_MEMORY_SLICES - the GPU's free memory slices after the
 *              placement: the tightest GPU wins. Every start leaves the same
 *              number free, so the lowest one is taken.
 *   fragmentation-aware
 *              (in_use << 16) | (0xffff - loss), where
 *                in_use = the GPU holds a slice already, and
 *                loss   = value(before) - value(after),
 *                value  = sum over the model's profiles q of
 *                         memory_slices(q)^2 x headroom(q),
 *              headroom(q) being occupancy_headroom: how many more q alone
 *              would still fit.
 *
 * Why this score. First, a GPU in use beats an empty one whatever the loss:
 * an empty GPU is the only place a 7g (and the easiest for a 4g) can go, and
 * nothing placed later can make a used GPU whole again. Then the
 * placement that destroys the least future capacity wins, where capacity is
 * what occupancy_headroom says each profile could still get, so it accounts
 * for legal starts, compute slices and instance limits exactly. A profile of
 * s memory slices needs s free, aligned, contiguous slices, which become
 * rare as a GPU fills, while small profiles fit almost anywhere; weighting
 * headroom by s^2 (memory it could still use, times its size) makes a lost
 * big-profile position cost more than many lost small ones: on an empty
 * H100 the 7g is worth 64, the two 3g positions 32, the 4g 16, the 2g 12,
 * the 1g.20gb 16 and the seven 1g 7. For example a 1g goes to memory slice 6
 * (loss 85: 7g, one 3g, one 1g.20gb, one 1g) rather than slice 0 (loss 105:
 * it would also kill the 4g and a 2g), which leaves room for a 4g or 3g.
 * Loss is at most sum(s^2 x max instances) <= 12 x 64 x 8 < 0xffff, and it
 * is never negative because a placement cannot raise any headroom.
 */
#include "core/placement_states.h"
#include "util/alloc.h"
#include "util/vec.h"

#include <stdlib.h>
#include <string.h>

#define STATES_MAX 0xfffeu /* slot entries are uint16 state id + 1 */

/* A key holds 4 bits (a profile index + 1) per memory slice. */
_Static_assert(CATALOG_MAX_PROFILES < 16, "profile indices must fit a key's 4 bits");
_Static_assert(MIG_MAX_MEMORY_SLICES * 4 <= 32, "a key must fit 32 bits");

uint32_t placement_states_key(const struct gpu_occupancy *o)
{
    uint32_t key = 0;
    for (unsigned i = 0; i < o->n_slices; i++)
        key |= (uint32_t)(o->slices[i].profile + 1u) << (4 * o->slices[i].start);
    return key;
}

/* The occupancy whose placement_states_key is key; owners are 0. Taking the
 * slices in start order always succeeds for a key the enumeration made,
 * because any subset of slices the rules accept is accepted too. */
static void decode(const struct gpu_model *m, uint32_t key, struct gpu_occupancy *o)
{
    occupancy_init(o, m);
    for (unsigned i = 0; i < MIG_MAX_MEMORY_SLICES; i++) {
        unsigned q = (key >> (4 * i)) & 0xfu;
        if (q)
            (void)occupancy_take(o, &m->profiles[q - 1], i, 0, NULL);
    }
}

static size_t slot_of(const uint32_t *keys, const uint16_t *slots, size_t n_slots, uint32_t key)
{
    uint32_t h = key;
    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    size_t i = h & (n_slots - 1);
    while (slots[i] && keys[slots[i] - 1] != key)
        i = (i + 1) & (n_slots - 1);
    return i;
}

long placement_states_find(const struct placement_states *s, const struct gpu_occupancy *o)
{
    uint16_t id = s->slots[slot_of(s->keys, s->slots, s->n_slots, placement_states_key(o))];
    return id ? (long)id - 1 : -1;
}

/* Room for one more state: doubles the key array and the hash as needed. */
static int grow(struct placement_states *s, size_t *cap, struct err *e)
{
    if (s->n_states >= STATES_MAX)
        return err_set(e, -E2BIG, "%s has more than %u MIG states", s->model->name, STATES_MAX);
    VEC_RESERVE(s->keys, *cap, s->n_states + 1);
    if (2 * (s->n_states + 1) <= s->n_slots)
        return 0;
    uint16_t *slots = alloc_calloc(2 * s->n_slots, sizeof *slots);
    for (size_t i = 0; i < s->n_states; i++)
        slots[slot_of(s->keys, slots, 2 * s->n_slots, s->keys[i])] = (uint16_t)(i + 1);
    free(s->slots);
    s->slots = slots;
    s->n_slots *= 2;
    return 0;
}

static int add_state(struct placement_states *s, size_t *cap, uint32_t key, struct err *e)
{
    size_t i = slot_of(s->keys, s->slots, s->n_slots, key);
    if (s->slots[i])
        return 0;
    int rc = grow(s, cap, e);
    if (rc < 0)
        return rc;
    i = slot_of(s->keys, s->slots, s->n_slots, key);
    s->keys[s->n_states++] = key;
    s->slots[i] = (uint16_t)s->n_states;
    return 0;
}

/* Calls visit for every placement (profile p at start) the rules accept on
 * state, lowest start first, with the GPU before and after it. */
typedef int placement_visit(void *ctx, size_t state, unsigned p, unsigned start,
                            const struct gpu_occupancy *before,
                            const struct gpu_occupancy *after, struct err *e);

static int for_each_placement(const struct placement_states *s, size_t state,
                              placement_visit *visit, void *ctx, struct err *e)
{
    const struct gpu_model *m = s->model;
    struct gpu_occupancy o;
    decode(m, s->keys[state], &o);
    for (unsigned p = 0; p < m->n_profiles; p++) {
        uint8_t starts[MIG_MAX_PLACEMENTS];
        unsigned n = occupancy_free_starts(&o, &m->profiles[p], starts);
        for (unsigned k = 0; k < n; k++) {
            struct gpu_occupancy child = o;
            (void)occupancy_take(&child, &m->profiles[p], starts[k], 0, NULL);
            int rc = visit(ctx, state, p, starts[k], &o, &child, e);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

struct enumeration {
    struct placement_states *s;
    size_t cap;
};

static int enumerate_child(void *ctx, size_t state, unsigned p, unsigned start,
                           const struct gpu_occupancy *before,
                           const struct gpu_occupancy *after, struct err *e)
{
    (void)state;
    (void)p;
    (void)start;
    (void)before;
    struct enumeration *en = ctx;
    return add_state(en->s, &en->cap, placement_states_key(after), e);
}

/* Every state reachable from the empty GPU, breadth first: the key array is
 * the queue. */
static int enumerate(struct placement_states *s, struct err *e)
{
    struct enumeration en = {.s = s, .cap = 256};
    s->n_slots = 512;
    s->keys = alloc_malloc(en.cap * sizeof *s->keys);
    s->slots = alloc_calloc(s->n_slots, sizeof *s->slots);
    int rc = add_state(s, &en.cap, 0, e);
    for (size_t i = 0; rc == 0 && i < s->n_states; i++)
        rc = for_each_placement(s, i, enumerate_child, &en, e);
    return rc;
}

static uint32_t value_of(const struct gpu_occupancy *o)
{
    uint8_t more[CATALOG_MAX_PROFILES];
    occupancy_headroom(o, more);
    uint32_t v = 0;
    for (unsigned q = 0; q < o->model->n_profiles; q++) {
        uint32_t size = o->model->profiles[q].memory_slices;
        v += size * size * more[q];
    }
    return v;
}

struct scoring {
    const struct placement_states *s;
    const uint32_t *value;   /* per state */
    uint32_t *best;          /* [policy][state][profile]: best score so far */
    struct placement_choice *choices;
};

static uint32_t policy_score(enum placement_policy policy, const struct gpu_occupancy *before,
                             const struct gpu_occupancy *after, uint32_t loss)
{
    switch (policy) {
    case PLACEMENT_FIRST_FIT:
        return 0;
    case PLACEMENT_BEST_FIT:
        return MIG_MAX_MEMORY_SLICES - (after->model->memory_slices -
                                        (unsigned)__builtin_popcount(after->memory_mask));
    case PLACEMENT_FRAGMENTATION_AWARE:
        return (uint32_t)(before->n_slices > 0) << 16 | (0xffffu - loss);
    }
    return 0;
}

static int score_child(void *ctx, size_t state, unsigned p, unsigned start,
                       const struct gpu_occupancy *before, const struct gpu_occupancy *after,
                       struct err *e)
{
    (void)e;
    struct scoring *sc = ctx;
    const struct placement_states *s = sc->s;
    uint32_t v_before = sc->value[state];
    uint32_t v_after = sc->value[placement_states_find(s, after)];
    /* Clamped at 0 so that a headroom that ever grew could not wrap around;
     * the top is bounded in the comment at the head of this file. */
    uint32_t loss = v_before > v_after ? v_before - v_after : 0;
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++) {
        size_t at = placement_states_at(s, (enum placement_policy)pol, state, p);
        uint32_t score = policy_score((enum placement_policy)pol, before, after, loss);
        /* Starts come lowest first: only a strictly better one replaces.
         * Group 0 only marks the choice placeable until rank_groups. */
        if (sc->choices[at].group == PLACEMENT_NO_GROUP || score > sc->best[at]) {
            sc->best[at] = score;
            sc->choices[at] = (struct placement_choice){.group = 0, .start = (uint8_t)start};
        }
    }
    return 0;
}

static int compare_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x < y) - (x > y);
}

/* Turns the best scores of one policy and profile into groups: the distinct
 * scores, best first, and each choice's rank among them. */
static void rank_groups(struct placement_states *s, const uint32_t *best, int pol, unsigned p)
{
    uint32_t *scores = alloc_malloc(s->n_states * sizeof *scores);
    size_t n = 0;
    for (size_t st = 0; st < s->n_states; st++) {
        size_t at = placement_states_at(s, (enum placement_policy)pol, st, p);
        if (s->choices[at].group != PLACEMENT_NO_GROUP)
            scores[n++] = best[at];
    }
    qsort(scores, n, sizeof *scores, compare_desc);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (distinct == 0 || scores[distinct - 1] != scores[i])
            scores[distinct++] = scores[i];
    for (size_t st = 0; st < s->n_states; st++) {
        size_t at = placement_states_at(s, (enum placement_policy)pol, st, p);
        if (s->choices[at].group == PLACEMENT_NO_GROUP)
            continue;
        const uint32_t *hit = bsearch(&best[at], scores, distinct, sizeof *scores, compare_desc);
        s->choices[at].group = (uint16_t)(hit - scores);
    }
    s->scores[pol][p] = alloc_realloc(scores, distinct * sizeof *scores);
    s->n_groups[pol][p] = (uint16_t)distinct;
}

static void score_states(struct placement_states *s)
{
    size_t n_choices = PLACEMENT_POLICY_COUNT * s->n_states * s->model->n_profiles;
    uint32_t *value = alloc_malloc(s->n_states * sizeof *value);
    uint32_t *best = alloc_malloc(n_choices * sizeof *best);
    s->choices = alloc_malloc(n_choices * sizeof *s->choices);
    for (size_t i = 0; i < n_choices; i++)
        s->choices[i] = (struct placement_choice){.group = PLACEMENT_NO_GROUP};
    for (size_t st = 0; st < s->n_states; st++) {
        struct gpu_occupancy o;
        decode(s->model, s->keys[st], &o);
        value[st] = value_of(&o);
    }
    struct scoring sc = {.s = s, .value = value, .best = best, .choices = s->choices};
    for (size_t st = 0; st < s->n_states; st++)
        (void)for_each_placement(s, st, score_child, &sc, NULL);
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
        for (unsigned p = 0; p < s->model->n_profiles; p++)
            rank_groups(s, best, pol, p);
    free(value);
    free(best);
}

int placement_states_build(struct placement_states *s, const struct gpu_model *m, struct err *e)
{
    memset(s, 0, sizeof *s);
    s->model = m;
    int rc = enumerate(s, e);
    if (rc == 0)
        score_states(s);
    if (rc < 0)
        placement_states_free(s);
    return rc;
}

void placement_states_free(struct placement_states *s)
{
    free(s->keys);
    free(s->slots);
    free(s->choices);
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
        for (unsigned p = 0; p < CATALOG_MAX_PROFILES; p++)
            free(s->scores[pol][p]);
    memset(s, 0, sizeof *s);
}

size_t placement_states_bytes(const struct placement_states *s)
{
    size_t bytes = s->n_states * sizeof *s->keys + s->n_slots * sizeof *s->slots +
                   PLACEMENT_POLICY_COUNT * s->n_states * s->model->n_profiles *
                       sizeof *s->choices;
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
        for (unsigned p = 0; p < s->model->n_profiles; p++)
            bytes += s->n_groups[pol][p] * sizeof *s->scores[pol][p];
    return bytes;
}
