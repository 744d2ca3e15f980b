/*
 * The simulator's engine: a scenario run by the same reconcilers the real
 * system runs, single-threaded, in virtual time.
 *
 * One mem store (seeded uids, the engine's clock, the collector run as a
 * step) with the CRDs and namespaces a cluster has; pod creates admitted
 * by the webhook's own rewrite (sim/admit.h); the cluster's parts
 * (scheduler, a kubelet per node, Deployment, ReplicaSet and Job
 * controllers: cluster/components.h) stepped; one gpuslice agent per node
 * over emulated GPUs laid out from the scenario's cluster (sim/layout.h)
 * and counted (sim/devstats.h), in the agent's virtual-time mode; the
 * controller's stepped runtime (controller/runtime.h); the workload's
 * arrivals (sim/arrivals.h); and the pod observer (sim/observer.h).
 *
 * The loop: at the current instant, every part is stepped in a fixed order
 * until none has anything left to do (a round in which nobody worked);
 * then the clock jumps to the earliest instant any part says something is
 * due (a queued key, a device call ending, a pod's run ending, a backoff,
 * an arrival). No threads, no sleeps, no real clock in any decision, so a
 * seed replays a run exactly. The run ends when every arrival was made,
 * every pod has ended and the GPUs hold no slice of gpuslice (or 60
 * virtual seconds after the last pod that ends by itself, when serving
 * pods still run); or,
 * stalled, when pods wait with nothing running for an hour of virtual time.
 */
#ifndef GPUSLICE_SIM_ENGINE_H
#define GPUSLICE_SIM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/outcome.h"
#include "sim/scenario.h"
#include "util/err.h"
#include "util/log.h"

/* Where a run is, for a progress display. */
struct engine_progress {
    double virtual_s;      /* since the start */
    size_t pods, ended;    /* seen so far */
    double expected_pods;  /* scenario_expected_pods */
};

struct engine_options {
    uint64_t seed;                 /* 0: the scenario's (or 1) */
    int64_t timeline_step_ns;      /* the least time between timeline rows; 0: 1 s */
    /* Called every so many clock jumps and at the end; NULL: none. */
    void (*progress)(void *ctx, const struct engine_progress *p);
    void *progress_ctx;
    struct log *log;               /* the parts' failures; not owned; NULL: none */
    bool slices;                   /* keep every GPUSlice's life (outcome.slices) */
};

/* Runs sc (borrowed) to its end and fills *out (the caller's; free it with
 * outcome_free, on failure too). The summary's lower bound is left for the
 * caller (sim/bound.h). -EINVAL naming what does not fit (a cluster an
 * emulated node cannot hold), a workload write the API refuses, or a part
 * that cannot be built. */
int engine_run(const struct scenario *sc, const struct engine_options *o, struct outcome *out,
               struct err *e);

#endif
