/*
 * The placement index (internal to placement*.c): the cluster's GPUs
 * grouped, for every model, policy and profile, by the score a placement on
 * them would get (placement_states.h). A group is a bit set over GPU
 * indices, so walking a group visits GPUs in cluster order, which is the
 * policies' tie-break, and a decision visits the best non-empty group first
 * instead of scoring every GPU. Each GPU sits in at most one group per
 * (policy, profile); taking or releasing a slice moves it between groups.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_INDEX_H
#define GPUSLICE_CORE_PLACEMENT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/placement.h"
#include "core/placement_states.h"
#include "util/err.h"

#define PLACEMENT_MAX_MODELS 16 /* distinct models in one cluster */

struct placement_group {
    size_t count;
    uint64_t *words;   /* bit i: GPU i is in the group */
    uint64_t *summary; /* bit w: words[w] is not 0 */
};

struct placement_model_index {
    struct placement_states states;
    /* groups[policy][profile][g]: the GPUs whose choice is group g */
    struct placement_group *groups[PLACEMENT_POLICY_COUNT][CATALOG_MAX_PROFILES];
};

struct placement_gpu_entry {
    uint16_t state;   /* placement_states id of its occupancy */
    uint16_t members; /* profiles whose groups hold it (placement_filter_admin) */
    uint8_t model;    /* index into placement_index.models */
};

struct placement_index {
    size_t n_models;
    struct placement_model_index models[PLACEMENT_MAX_MODELS];
    size_t n_gpus, n_nodes;
    struct placement_gpu_entry *gpus; /* one per cluster GPU */
    size_t *node_first;               /* node -> its first GPU; [n_nodes] = n_gpus */
    size_t n_words, n_summary;        /* bit set sizes */
    struct placement_group *all_groups;
    size_t n_groups;
    uint64_t *bits;                   /* every group's words and summary */
};

/* Builds c->index over c's (already checked) arrays. -EINVAL naming the GPU
 * whose occupancy the rules could not have produced, -ENOMEM, -E2BIG; c->index
 * is then NULL. */
int placement_index_build(struct placement_cluster *c, struct err *e);

/* Frees an index from placement_index_build; NULL is fine. */
void placement_index_free(struct placement_index *ix);

/* Moves GPU gpu to the groups of its occupancy and admin settings now.
 * -EINVAL when the rules could not have produced its occupancy (it was
 * changed behind the cluster model's back); the GPU is then in no group. */
int placement_index_update(struct placement_cluster *c, size_t gpu, struct err *e);

/* The best GPU for r under policy that passes every filter, into *d; false
 * when there is none. */
bool placement_index_best(const struct placement_cluster *c, const struct placement_request *r,
                          enum placement_policy policy, struct placement_decision *d);

/* Bytes the index takes. */
size_t placement_index_bytes(const struct placement_index *ix);

#endif
