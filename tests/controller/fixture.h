/*
 * A deterministic world for controller tests: the mem store, informers
 * stepped by hand, the controller's loop on a virtual clock, and helpers
 * that play the other parts (nodes with GPUs, gated pods, the agent moving
 * slices). Every test drives the interleaving it wants, step by step.
 */
#ifndef GPUSLICE_TESTS_CONTROLLER_FIXTURE_H
#define GPUSLICE_TESTS_CONTROLLER_FIXTURE_H

#include <jansson.h>

#include "controller/controller.h"
#include "controller/runtime.h"
#include "reconcile/loop.h"
#include "store/mem.h"
#include "lagging_store.h"

#define SEC 1000000000LL

struct world {
    int64_t now;
    struct store *st;
    const struct api_resource *pods, *slices, *gpunodes, *nodes, *events, *namespaces;
    struct controller_runtime *rt;
    struct controller *ctl;    /* rt's */
    struct loop *loop;         /* rt's */
    enum placement_policy policy;
    int warm_max_percent; /* the controller's, read when it (re)starts */
    const char *ns;       /* where the pod and slice helpers act: "team" unless set */
    /* Faults of the store in front of the mem store, on GPUSlices: lost
     * create replies, a lagging watch (lagging_store.h); none unless set. */
    struct lagging lag;
    struct prom *metrics; /* the controller's, read when it (re)starts; NULL: none */
    char scratch[64]; /* for helpers that return a short-lived string */
};

/* A world with namespace "team" and no nodes; world_free undoes it. */
struct world *world_new(void);
void world_free(struct world *w);

/* Throws the controller (its informers, loop and memory) away and starts a
 * new one over the same store: a controller restart. */
void world_restart_controller(struct world *w);

/* Steps informers and runs ready keys until nothing changes (at the current
 * virtual time). */
void world_settle(struct world *w);

/* Advances the virtual clock by ns, then settles. */
void world_advance(struct world *w, int64_t ns);

/* A Node plus its GPUNode with GPUs of the given catalogue models (MIG on),
 * uuids "GPU-<node>-<i>". */
void world_add_node(struct world *w, const char *node, const char *const *models, size_t n);

/* A Node plus its GPUNode with H100-80GB GPUs in these modes ("mig",
 * "mps", "timeslice", "whole"; MIG disabled on the others), uuids
 * "GPU-<node>-<i>", timeslice ones with replicas 2. */
void world_add_mixed_node(struct world *w, const char *node, const char *const *modes, size_t n);

/* A pod with the managed label and the gpuslice.dev/slices annotation,
 * containers[n] each asking gib[i] GiB of accelerator memory (0: none),
 * gated by gpuslice or not (not settled: the controller sees it at its
 * next step). */
void world_add_annotated_pod(struct world *w, const char *name, const char *annotation,
                             const char *const *containers, const unsigned *gib, size_t n,
                             bool gated);

/* A pod gated by gpuslice asking, in container "main", for each profile
 * in profiles (repeat a profile for a count > 1). */
void world_add_pod(struct world *w, const char *name, const char *const *profiles, size_t n);

/* The same with meta (taken) merged into the pod's metadata: annotations,
 * ownerReferences. */
void world_add_pod_with(struct world *w, const char *name, const char *const *profiles,
                        size_t n, json_t *meta);

/* The MIG manager's all-balanced layout of an A100-40GB (2g.10gb at 0,
 * 1g.5gb at 2 and 3, 3g.20gb at 4) or an H100-80GB (the same geometry:
 * 2g.20gb, 1g.10gb, 1g.10gb, 3g.40gb), as GPUNode status slices (new
 * reference). */
json_t *world_all_balanced(const char *model);

/* Rewrites node's GPUNode: GPU 0's spec mode (wish), the mode its status
 * says the agent applies, and its slices (taken: a JSON array of
 * {profile, start, size, managed}); then settles. */
void world_set_layout(struct world *w, const char *node, const char *wish,
                      const char *applied, json_t *slices);

/* A gated pod whose container "main" asks for gib GiB of accelerator
 * memory instead of a profile. */
void world_add_pod_by_memory(struct world *w, const char *name, unsigned gib);

/* The object, or NULL (caller frees). */
json_t *world_get(struct world *w, const struct api_resource *res, const char *ns,
                  const char *name);

/* Every GPUSlice, as a list (caller frees). */
json_t *world_slices(struct world *w);

/* The phase of GPUSlice ns/name ("" when absent: keep the result short-lived). */
const char *world_phase(struct world *w, const char *name, char *buf, size_t size);

/* Whether the controller released GPUSlice name as it does: by deleting it
 * (a deletionTimestamp; the agent's finalizer keeps the object), with no
 * status written for it: its status still names `was`, the phase it was
 * in. False when it is gone, not being deleted, or its status moved. */
bool world_released(struct world *w, const char *name, const char *was);

/* Plays the agent: sets the GPUSlice's status phase (and a device uuid for
 * Created); for Deleted and Failed it also drops the slice finalizer, as
 * the agent does once the slice is off the GPU. Deleted on an object being
 * deleted only drops the finalizer, as the agent does: its going is the
 * Deleted. */
void world_agent_sets(struct world *w, const char *name, const char *phase,
                      const char *reason);

/* Plays the agent for every slice in phase `from` ("Deleting" takes in the
 * objects being deleted, whatever their status says, as the agent does).
 * Returns how many. */
size_t world_agent_all(struct world *w, const char *from, const char *to);

/* Sets a pod's status phase (Running, Succeeded, Failed). */
void world_pod_phase(struct world *w, const char *pod, const char *phase);

/* The Events about a pod with this reason; count summed (0: none). */
long world_events(struct world *w, const char *pod, const char *reason, char *msg, size_t size);

/* The same, of the Events whose message holds words (the store lists
 * Events by name, not in the order they were said). */
long world_events_saying(struct world *w, const char *pod, const char *reason, const char *words);

/* Fails the test unless the pod's gpuslice.dev/SlicesPlaced condition has
 * this status and reason. */
void world_assert_placed(struct world *w, const char *pod, const char *status,
                         const char *reason);

/* Fails the test if the live shares of a GPU (GPUSlices with
 * spec.sharing, not Deleted or Failed) hold more than it has: on an mps
 * GPU of world_add_mixed_node more than 79 GiB or 100% of the SMs, on a
 * timeslice one more than its 2 replicas. */
void world_check_no_overbooked_share(struct world *w);

/* Fails the test if two live GPUSlices overlap on one GPU (warm slices,
 * and those released after they were warm, hold no pod and are left
 * out: their takers name the same slice). */
void world_check_no_double_allocation(struct world *w);

#endif
