/*
 * The gpuslice controller, one per cluster: it decides where each gated
 * pod's slices go, records every decision as a GPUSlice, releases the pod
 * to the scheduler pinned to its node once the agent has made the slices,
 * and has the slices destroyed when the pod ends.
 *
 * It is a reconciler (reconcile/loop.h) keyed by pod ("namespace/name"):
 * from the pod, its GPUSlices, the GPUNodes and the Nodes in the informer
 * caches it decides a list of actions; it never writes itself. Its
 * informers' handlers map changes to the pods they concern: a pod's own change,
 * a change to one of its GPUSlices, and, for every pod still waiting for
 * room, any GPUSlice that freed a placement or any GPUNode or Node change
 * (retried on every relevant change, never by polling).
 *
 * No placement is ever given twice: the model's occupancy (model.h) is the
 * GPUSlices in the cache that hold a placement, the slices the agents report
 * that gpuslice did not make, and the controller's own reservations (a slice
 * it decided but the cache does not show yet counts as taken from the
 * moment of the decision), kept in step by the handlers event by event
 * rather than reloaded per decision; slice names are deterministic, so a
 * create retried after a crash finds the slice instead of making a second;
 * and a write that conflicts is dropped and decided again on a fresher
 * cache.
 */
#ifndef GPUSLICE_CONTROLLER_CONTROLLER_H
#define GPUSLICE_CONTROLLER_CONTROLLER_H

#include <stdint.h>

#include "api/resource.h"
#include "core/placement.h"
#include "reconcile/loop.h"
#include "store/informer.h"
#include "util/backoff.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/prom.h"

struct controller_config {
    struct store *store;            /* not owned; the informers read it */
    /* The informers' clock (their backoff), on any monotonic scale, so a
     * virtual runtime drives them; NULL: CLOCK_MONOTONIC. */
    clock_now_fn now_ns;
    void *clock_ctx;
    enum placement_policy policy;
    struct backoff retry;           /* after a failed slice; zeros: 1 s doubling up to 5 min */
    unsigned gpu_failures_to_avoid; /* failures in a row before a GPU is avoided; 0: 3 */
    int64_t gpu_avoid_ns;           /* how long it is avoided; 0: 10 minutes */
    /* How long a restore holds its profile and node against another
     * restore while the owner makes the pod again; 0: 2 minutes. */
    int64_t restore_timeout_ns;
    /* The most memory warm slices may hold, cluster-wide, in percent of
     * the memory of the GPUs in mode mig (docs/controller.md, "Warm
     * slices"); 0: CONTROLLER_WARM_MAX_PERCENT_DEFAULT; negative: none is
     * kept warm. */
    int warm_max_percent;
    /* What the MPS server itself takes of each GPU in mode mps, in MiB:
     * clients may pin the rest, in whole GiB (docs/sharing.md); 0:
     * PLACEMENT_SHARE_MPS_OVERHEAD_MIB_DEFAULT. */
    unsigned mps_overhead_mib;
    /* Called (from the informer's thread, no lock held) after each change
     * to a pod, GPUSlice or GPUNode in the caches, for a view of them (the
     * dashboard); NULL: none. It must return quickly. */
    void (*changed)(void *ctx);
    void *changed_ctx;
    /* Where the controller's metrics go (docs/metrics.md); not owned, must
     * outlive the controller; NULL: none. */
    struct prom *metrics;
};

#define CONTROLLER_WARM_MAX_PERCENT_DEFAULT 10

struct controller_stats {
    uint64_t placed;      /* slices decided */
    uint64_t unplaceable; /* decisions that found no room */
    uint64_t released;    /* slices released: deleted (a Warm one: sent to Deleting) */
    uint64_t ungated;     /* pods released to the scheduler */
    uint64_t moved;       /* gated pods whose slices were released to place them whole
                             elsewhere (their missing slices could not join them) */
    uint64_t upgraded;    /* slices given a larger profile than asked */
    uint64_t restored;    /* upgraded pods deleted for their owner to make again */
    uint64_t remembered;  /* pods and slices the controller keeps memory about
                             (events said, retry times, waiting for room, its
                             Ungated writes): 0 when none is left */
    uint64_t warmed;      /* slices kept warm when their pod ended */
    uint64_t warm_taken;  /* warm slices a pod of their namespace took over */
    uint64_t warm_let_go; /* warm slices released for any other reason (expired,
                             reclaimed for another pod, over the cap, ...) */
};

struct controller;

/* A controller with its informers (pods, GPUSlices, GPUNodes, Nodes,
 * Namespaces over cfg->store, not started: the runtime steps or starts
 * them). *out is the
 * caller's. -ENOENT when the store does not serve one of the resources.
 * On failure nothing is left allocated and *out is untouched. */
int controller_new(const struct controller_config *cfg, struct controller **out,
                   struct err *e);

#define CONTROLLER_INFORMERS 6

/* The controller's informers, for the runtime to step or start. */
void controller_informers(struct controller *c, struct informer *out[CONTROLLER_INFORMERS]);

void controller_free(struct controller *c);

/* The reconciler to run in a loop; self is c. */
struct reconciler controller_reconciler(struct controller *c);

/* Where the handlers send keys (the loop that runs the reconciler). */
void controller_attach(struct controller *c, struct loop *l);

/* Queues every pod the controller has business with (after becoming the
 * leader, or at start). */
void controller_resync(struct controller *c);

void controller_get_stats(struct controller *c, struct controller_stats *out);

#endif
