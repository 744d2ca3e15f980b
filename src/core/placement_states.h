/*
 * Per-model score tables for the placement policies (internal to
 * placement*.c).
 *
 * A GPU's future depends only on which slices it holds: the occupancy
 * rules look at the memory mask, the compute used and the instance counts,
 * all of which follow from the slices. A model has few such states (2,319
 * on an 8-slice GPU: every set of slices the rules accept), so each one is
 * enumerated once when the cluster model is built, and for each state,
 * profile and policy the table keeps where the profile would go and how
 * good that is. Deciding then costs a table look-up per GPU state instead of
 * trying placements and computing headroom on every GPU.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_STATES_H
#define GPUSLICE_CORE_PLACEMENT_STATES_H

#include <stddef.h>
#include <stdint.h>

#include "core/occupancy.h"
#include "core/placement.h"
#include "util/err.h"

#define PLACEMENT_NO_GROUP 0xffffu

/* Where a profile goes on a GPU in one state, under one policy. */
struct placement_choice {
    uint16_t group; /* rank of its score among the model's (0 = best);
                       PLACEMENT_NO_GROUP when the profile cannot be placed */
    uint8_t start;  /* the best start; lowest among equals */
};

struct placement_states {
    const struct gpu_model *model;
    size_t n_states;
    uint32_t *keys;    /* state -> placement_states_key of its slices */
    uint16_t *slots;   /* open-addressing hash: state id + 1, 0 when empty */
    size_t n_slots;    /* a power of two */
    struct placement_choice *choices; /* [policy][state][profile] */
    /* The distinct scores of each policy and profile, best (highest) first:
     * the score of group g is scores[policy][profile][g]. */
    uint32_t *scores[PLACEMENT_POLICY_COUNT][CATALOG_MAX_PROFILES];
    uint16_t n_groups[PLACEMENT_POLICY_COUNT][CATALOG_MAX_PROFILES];
};

/* Enumerates every state of model m and fills the tables. -ENOMEM (with a
 * message) when they cannot be allocated; *s then owns nothing. */
int placement_states_build(struct placement_states *s, const struct gpu_model *m,
                           struct err *e);

/* Frees the tables; *s is then empty. */
void placement_states_free(struct placement_states *s);

/* The key of o's slices: 4 bits per memory slice, the profile index + 1 of
 * the slice starting there, 0 for none. Owners do not matter. */
uint32_t placement_states_key(const struct gpu_occupancy *o);

/* The state id of o, or -1 when the rules could not have produced o. */
long placement_states_find(const struct placement_states *s, const struct gpu_occupancy *o);

/* Where the choice for profile index p on a GPU in state id under policy
 * sits in s->choices. */
static inline size_t placement_states_at(const struct placement_states *s,
                                         enum placement_policy policy, size_t state, unsigned p)
{
    return ((size_t)policy * s->n_states + state) * s->model->n_profiles + p;
}

static inline const struct placement_choice *
placement_states_choice(const struct placement_states *s, enum placement_policy policy,
                        size_t state, unsigned p)
{
    return &s->choices[placement_states_at(s, policy, state, p)];
}

/* Bytes the tables take. */
size_t placement_states_bytes(const struct placement_states *s);

#endif
