/*
 * The controller's picture of the cluster's GPUs, for placement decisions
 * (internal to src/controller). It is kept up to date from informer events,
 * one change at a time, and never rebuilt per decision.
 *
 * Its inputs, each set by the handler of the change that brings it:
 *   hosts    per node name, what its GPUNode says (the usable GPUs, the
 *            admin's settings for them, the mode the agent applies, the
 *            slices gpuslice did not make, or on a mig-static GPU its
 *            layout) and what its Node says (that it exists, its labels);
 *   claims   per key, a slice that holds a placement: a GPUSlice in the
 *            cache or a reservation the cache does not show yet (both keyed
 *            "ns/name", so the GPUSlice replaces its reservation), or a
 *            slice an agent reports that gpuslice did not make;
 *   avoided  the GPUs the controller keeps new slices off for now.
 * What it gives: the arrays core/placement decides on (nodes with a GPUNode
 * and a Node, sorted by name; their usable GPUs in the GPUNode's order) and
 * their index, with every claim taken.
 *
 * A claim, an admin setting, an avoidance or a label change costs one GPU's
 * or one node's update, found by hashed key (util/strmap). Only a node or a
 * GPU that comes or goes marks the arrays stale; model_sync rebuilds them
 * from the inputs (O(GPUs + claims), no JSON) before the next decision. So
 * a decision's cost does not grow with the slices already placed, and the
 * model always equals what the same inputs give an empty model
 * (tests/controller/test_model.c checks it after every step of long random
 * histories).
 *
 * A mig-static GPU is fixed in the arrays (core/placement.h): its
 * occupancy is the layout the agent reports, and a claim there holds one
 * of its slices instead of taking memory slices; so a slice of the layout
 * is free exactly when no GPUSlice (or reservation) claims it. A GPU whose
 * mode or layout changes is a GPU that came or went (the arrays are
 * rebuilt); a GPU whose spec asks for another mode than the agent applies
 * is held back from new slices until the agent has switched.
 *
 * A GPU the agent shares whole (mode mps or timeslice, MIG disabled or
 * unsupported) is in a second array, shares (core/placement_share.h), on
 * the same nodes: a claim there is a share (model_claim_share) counted
 * into its memory, SM percent and clients. Its counters are sums, so they
 * too are the same whatever the order of claims. The share index, built
 * by model_sync, follows every change to a shared GPU (claims, admin
 * settings, avoidance, model_share_take/release), so model_share_decide
 * visits only GPUs with room.
 *
 * Claims that cannot all hold on one GPU at once (an overlap, a profile its
 * model does not have: the API's state is itself inconsistent) mark the GPU
 * conflicted (on a shared GPU: more than it has, or claims of another
 * kind), which holds it back from new slices until they agree again;
 * the other GPUs keep serving. Whether a GPU is conflicted depends only on
 * its set of claims, never on their order.
 *
 * Not thread-safe: the controller calls it under its lock.
 */
#ifndef GPUSLICE_CONTROLLER_MODEL_H
#define GPUSLICE_CONTROLLER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/placement.h"
#include "core/placement_share.h"
#include "util/err.h"
#include "util/strmap.h"

#define MODEL_UUID_MAX 96
#define MODEL_PROFILE_MAX 48

/* What the model knows of one GPU in the arrays (parallel to gpus). */
struct model_gpu {
    char uuid[MODEL_UUID_MAX];
    unsigned index;            /* the device index on its node */
    bool admin_held;           /* spec.gpus[].heldBack */
    uint16_t admin_allowed;    /* spec.gpus[].allowedProfiles as a mask */
    /* spec.gpus[].mode is not the mode the agent applies yet: no new slice
     * goes there until the agent has switched (the GPU is then empty). */
    bool mode_pending;
    bool bad_layout;           /* mig-static: the reported slices overlap */
    bool avoided;              /* the controller keeps new slices off it */
    bool conflicted;           /* its claims cannot all hold at once */
    /* An earlier GPU in the model has its uuid (two GPUNodes report it):
     * claims name only that one, so this one is held back. */
    bool duplicate;
    /* A shared GPU's claims of another kind (a MIG slice, a share in the
     * other sharing mode): any makes it conflicted. */
    unsigned strangers;
};

struct model {
    struct strmap hosts;   /* node name -> struct model_host (model.c) */
    struct strmap claims;  /* key -> struct model_claim (model.c) */
    struct strmap avoided; /* set of GPU uuids */
    /* The arrays, current after model_sync until a node or GPU comes or goes. */
    struct placement_node *nodes;
    size_t n_nodes;
    struct placement_gpu *gpus;
    struct model_gpu *info;
    size_t n_gpus;
    struct placement_cluster cluster;
    /* The GPUs in a sharing mode (mps, timeslice), on the same nodes. */
    struct share_gpu *shares;
    struct model_gpu *share_info;
    size_t n_shares;
    /* The shares grouped by what they have free (core/placement_share_index),
     * kept in step with every change to them; NULL when a GPU's capacity
     * is past what it takes (decisions then scan). */
    struct share_index *share_index;
    /* What the MPS server takes of each mps GPU's memory, in MiB (set
     * before the first model_sync; model_init sets the default). */
    unsigned mps_overhead_mib;
    struct strmap gpu_at;  /* GPU uuid -> its slot (model.c): the first GPU of that uuid */
    bool stale;            /* the arrays wait for model_sync */
};

/* An empty model (no allocation); model_free releases it. */
void model_init(struct model *m);

void model_free(struct model *m);

/* What the GPUNode called name now says (NULL: it is gone). A GPU the
 * agent applies mode mps or timeslice to, with MIG not enabled, is a
 * shared GPU (its memory from the GPUNode's memoryMiB, any model); of the
 * others, a GPU of an unknown model or with MIG not enabled is left out; a malformed GPUNode
 * counts as one without GPUs, with its error copied into e. Returns whether
 * the model changed (a GPUNode status that changes only the slices
 * gpuslice made changes nothing). */
bool model_set_gpunode(struct model *m, const char *name, const json_t *gpunode, struct err *e);

/* What the Node called name now says (NULL: it is gone): only a node with a
 * Node and a GPUNode is in the model, with the Node's labels. Returns
 * whether the model changed. */
bool model_set_node(struct model *m, const char *name, const json_t *node);

/* key holds profile at start on the GPU gpu_uuid from now on, in place of
 * what it held (a GPU the model does not know is remembered for when it
 * comes). */
void model_claim(struct model *m, const char *key, const char *gpu_uuid, const char *profile,
                 unsigned start);

/* key holds a share of the GPU gpu_uuid from now on, in place of what it
 * held: sharing is api/pod_slices.h's POD_SHARING_MPS (gib GiB, sm percent)
 * or POD_SHARING_TIMESLICE (gib and sm 0). */
void model_claim_share(struct model *m, const char *key, const char *gpu_uuid,
                       enum share_mode sharing, unsigned gib, unsigned sm);

/* key holds nothing any more. Returns whether it held something. */
bool model_unclaim(struct model *m, const char *key);

/* Keeps new slices off the GPU (or lets them on again): the first GPU of
 * that uuid, the one claims name. */
void model_avoid(struct model *m, const char *gpu_uuid, bool avoid);

/* Rebuilds the arrays when a node or GPU came or went; 0, or the error of
 * building the placement index (more GPU models than it takes), the arrays
 * then staying stale. */
int model_sync(struct model *m, struct err *e);

/* After model_sync: decides where the share r goes under policy, as
 * placement_share_decide over the shares (through the share index). */
int model_share_decide(struct model *m, const struct share_request *r,
                       enum placement_policy policy, struct share_decision *d, struct err *e);

/* After model_sync: counts (take) or uncounts a client of gib GiB and sm
 * percent on shared GPU g that no claim holds (a decision's reservation
 * until its claim comes, or its undoing). */
void model_share_take(struct model *m, size_t g, unsigned gib, unsigned sm);
void model_share_release(struct model *m, size_t g, unsigned gib, unsigned sm);

/* After model_sync: the GPU with this uuid, or -1. */
long model_find_gpu(const struct model *m, const char *uuid);

/* After model_sync: the shared GPU with this uuid (an index into shares),
 * or -1. */
long model_find_share(const struct model *m, const char *uuid);

/* After model_sync: the node of the GPU (MIG or shared) with this uuid, or
 * -1. */
long model_gpu_node(const struct model *m, const char *uuid);

/* After model_sync: the node called name, or -1 when it is not in the model. */
long model_find_node(const struct model *m, const char *name);

#endif
