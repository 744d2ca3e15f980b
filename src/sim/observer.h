/*
 * An observer of pods: when each was created, placed by gpuslice (its first
 * GPUSlice seen), released (its gate gone) and running, and how it ended, read from a watch as a user
 * would see them. The demo's live view and summary, the end-to-end tests
 * and the benchmarks all measure with it, so they measure the same thing.
 *
 * Times are wall-clock nanoseconds (CLOCK_REALTIME, or the virtual clock
 * the simulator gives it), the scale of the pods' creationTimestamp. Latencies count from the pod's creation, not
 * from when the observer first saw it, so an observer that falls behind a
 * burst does not shorten them. creationTimestamp has whole seconds (as
 * Kubernetes writes it), so the creation time taken is the latest instant
 * that both it and the observation allow: the first sighting, or the end
 * of the timestamp's second when the observer saw the pod later than that.
 * Pods are kept in a growable array and found by a hashed "ns/name", so
 * thousands of pods cost no more per event than a few.
 *
 * Two runtimes: observer_start watches on a thread of its own in real time
 * (the demo, the end-to-end tests); observer_new builds the same observer
 * for a caller that steps it (observer_step) on its own clock, the
 * simulator, which also hears every move of a pod from one state to the
 * next (enum observed_state) to keep its gauges without scanning pods.
 */
#ifndef GPUSLICE_SIM_OBSERVER_H
#define GPUSLICE_SIM_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/pod_slices.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

struct observer;

/* Where a pod is on its way, as the observer last saw it. */
enum observed_state {
    OBSERVED_UNSEEN = 0, /* not seen yet (the "from" of a pod's first move) */
    OBSERVED_WAITING,    /* gated, no placement yet (no GPUSlice of it seen) */
    OBSERVED_PLACED,     /* gated, its slices decided and being made */
    OBSERVED_PENDING,    /* released (or never gated), not running yet */
    OBSERVED_RUNNING,
    OBSERVED_ENDED,      /* Succeeded, Failed or deleted */
};

/* The strings point into the observer's pool (util/strpool.h: each
 * distinct namespace, node, profile and phase stored once) and stay valid
 * until observer_free, copies of the record included; never NULL. */
struct observed_pod {
    const char *ns, *name;
    const char *phase;          /* as last seen */
    const char *node;           /* spec.nodeName once bound, else "" */
    const char *profile;        /* the first slice it asked for ("" for none) */
    bool gated;                 /* gpuslice's gate still on */
    bool was_gated;             /* gated when first seen: a gpuslice pod */
    bool deleted;
    bool serving;               /* owned by a ReplicaSet: runs until deleted */
    int64_t seen_ns;            /* first seen */
    int64_t created_ns;         /* created (see above) */
    int64_t ungated_ns;         /* 0 until the gate was seen gone */
    int64_t running_ns;         /* 0 until Running was seen */
    int64_t finished_ns;        /* 0 until Succeeded/Failed or deleted */
    int64_t placed_ns;          /* 0 until a GPUSlice of it (or its release) was seen */
    int64_t bound_ns;           /* 0 until spec.nodeName was seen */
    enum observed_state state;
    unsigned memory_gib;        /* its gpuslice.dev/accelerator-memory requests, in all */
};

/* Called (in the thread that steps or runs the observer, under its lock:
 * it must not call the observer) each time a pod moves from one state to
 * another; p is read-only and valid during the call. */
typedef void (*observer_moved_fn)(void *ctx, const struct observed_pod *p,
                                  enum observed_state from, enum observed_state to);

struct observer_config {
    struct store *store;        /* not owned */
    clock_now_fn now_ns;        /* NULL: the real clock (CLOCK_REALTIME) */
    void *clock_ctx;
    observer_moved_fn moved;    /* NULL: none */
    void *moved_ctx;
};

struct observer_summary {
    /* failed: ended in Failed on its own; stopped: deleted before it ended
     * (a Deployment's pods torn down). */
    size_t pods, running_or_done, succeeded, failed, stopped, waiting;
    /* Milliseconds from creation (gated) to ungated / running, over the
     * pods that were gated when first seen. */
    double ungate_p50_ms, ungate_p99_ms, run_p50_ms, run_p99_ms;
    /* The first pod's creation and the last pod's end (0 while none has
     * ended), and the seconds between them. */
    int64_t first_created_ns, last_ended_ns;
    double makespan_s;
};

/* Watches every pod in st (the observer's own informer on a thread).
 * *out is the caller's (observer_free). */
int observer_start(struct store *st, struct observer **out, struct err *e);

/* The observer cfg describes, with nothing started: the caller steps it.
 * *out is the caller's (observer_free). -ENOENT when the store serves no
 * pods. */
int observer_new(const struct observer_config *cfg, struct observer **out, struct err *e);

/* Applies every pod event ready now; returns the units of work done (0:
 * nothing was ready). */
size_t observer_step(struct observer *o);

void observer_free(struct observer *o);

/* Copies up to max pods (in the order first seen) and returns how many
 * there are. */
size_t observer_pods(struct observer *o, struct observed_pod *out, size_t max);

/* Copies every pod (in the order first seen) into *pods, a vector of
 * capacity *cap (util/vec.h) grown as needed and freed by the caller;
 * returns how many. */
size_t observer_pods_all(struct observer *o, struct observed_pod **pods, size_t *cap);

void observer_summarize(struct observer *o, struct observer_summary *out);

/* The p-th percentile (0..100) of n values (sorted in place); 0 when n is 0. */
double observer_percentile(double *values, size_t n, double p);

#endif
