/*
 * The controller's picture of the cluster's GPUs, for placement decisions
 * (internal to src/controller).
 *
 * The topology (nodes, their labels, their GPUs and the admin's settings)
 * comes from the GPUNode and Node caches and is rebuilt only when one of
 * them changes, because building the placement index costs milliseconds
 * per GPU model. Occupancy is reloaded for every decision from the system of
 * record: the GPUSlices in the cache that still hold a placement, the slices
 * the agents report that gpuslice did not make, and the controller's own
 * reservations that the cache does not show yet. So the picture can never
 * drift from what the API says, which is the first defence against giving
 * one placement to two pods.
 */
#ifndef GPUSLICE_CONTROLLER_MODEL_H
#define GPUSLICE_CONTROLLER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/gpuslice.h"
#include "core/placement.h"
#include "util/err.h"

#define MODEL_UUID_MAX 96

struct model_gpu {
    char uuid[MODEL_UUID_MAX];
    unsigned index;            /* the device index on its node */
    bool admin_held;           /* spec.gpus[].heldBack */
    uint16_t admin_allowed;    /* spec.gpus[].allowedProfiles as a mask */
};

/* A slice that holds a placement: a GPUSlice, a reservation, or a slice the
 * agent found on the GPU. */
struct model_slice {
    const char *gpu_uuid;
    const char *profile;
    unsigned start;
};

struct model {
    struct placement_node *nodes;
    char **node_names;
    struct placement_label **labels; /* per node, keys and values owned */
    size_t n_nodes;
    struct placement_gpu *gpus;
    struct model_gpu *info;          /* parallel to gpus */
    size_t n_gpus;
    struct placement_cluster cluster;
    /* Slices the agents found on the GPUs that gpuslice did not make: they
     * hold their placements like any other (strings owned). */
    struct model_slice *unmanaged;
    size_t n_unmanaged, cap_unmanaged;
    uint64_t signature;              /* of what the topology was built from */
    bool built;
};

/* Rebuilds the topology from a list of GPUNodes and one of Nodes (arrays of
 * objects, as informer_list returns them). A GPU of an unknown model, with
 * MIG not enabled, or on a node that has no Node object, is left out. A
 * malformed GPUNode is skipped with its error copied into e (the rest still
 * build); returns 0, or -ENOMEM. */
int model_rebuild(struct model *m, const json_t *gpunodes, const json_t *nodes, struct err *e);

/* A hash of everything model_rebuild reads (GPUs, models, MIG modes,
 * settings, unmanaged slices, node labels and readiness), so a GPUNode
 * status write that changes none of it costs no rebuild. */
uint64_t model_signature(const json_t *gpunodes, const json_t *nodes);

/* Empties every GPU, takes the unmanaged slices and then the given ones (those on GPUs the model does
 * not know are skipped; a slice the rules refuse is an error naming it,
 * which means the API state itself is inconsistent). */
int model_load(struct model *m, const struct model_slice *slices, size_t n, struct err *e);

/* The GPU with this uuid, or -1. */
long model_find_gpu(const struct model *m, const char *uuid);

/* Marks GPUs as held back for this decision (the admin's setting or
 * avoid(uuid) saying the GPU keeps failing), keeping the index in sync. */
void model_hold(struct model *m, bool (*avoid)(void *ctx, const char *uuid), void *ctx);

void model_free(struct model *m);

#endif
