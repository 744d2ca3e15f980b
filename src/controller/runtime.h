/*
 * The controller's runtimes: its informers and its loop on threads of
 * their own over any store (kube in a cluster, mem in the demo), with
 * Lease leader election so that of several replicas only one acts; or the
 * same informers and loop built the same way but stepped by the caller in
 * virtual time (the simulator), with no thread and no election.
 *
 * The leader thread runs reconcile/leader.h's step every retry period
 * against the Lease through the store; only while this replica leads does
 * the loop take keys (may_act), and on becoming the leader it queues every
 * pod it has business with, so a new leader continues from the API state.
 */
#ifndef GPUSLICE_CONTROLLER_RUNTIME_H
#define GPUSLICE_CONTROLLER_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/controller.h"
#include "store/store.h"
#include "util/log.h"

struct controller_runtime_config {
    struct store *store;          /* not owned */
    enum placement_policy policy;
    int warm_max_percent;         /* controller_config's (0: its default) */
    unsigned mps_overhead_mib;    /* controller_config's (0: its default) */
    void (*changed)(void *ctx);   /* controller_config's change hook (NULL: none) */
    void *changed_ctx;
    const char *identity;         /* this replica (default: hostname-pid) */
    const char *lease_namespace;  /* NULL: no election, always act */
    const char *lease_name;       /* default "gpuslice-controller" */
    int64_t lease_ns, renew_deadline_ns, retry_ns; /* 0: 15 s, 10 s, 2 s */
    struct log *log;              /* leadership, failed decisions and writes; not owned;
                                     NULL: none */
    /* The clock of the loop (nanoseconds since the epoch) and, on the same
     * scale, of the informers: a virtual one for the stepped runtime.
     * NULL: the real clocks (CLOCK_REALTIME, CLOCK_MONOTONIC). */
    clock_now_fn now_ns;
    void *clock_ctx;
    /* The controller's and its loop's metrics, and gpuslice_leader (not
     * owned, must outlive the runtime); NULL: none. */
    struct prom *metrics;
};

struct controller_runtime;

/* Starts informers, the loop and (with a lease namespace) the election.
 * *out is the caller's; stop it with controller_runtime_stop. On failure
 * (an informer not synced in 30 s, a thread not started, ...) every thread
 * already started is stopped and everything freed; *out is untouched. */
int controller_runtime_start(const struct controller_runtime_config *cfg,
                             struct controller_runtime **out, struct err *e);

/* Stops every thread and frees everything; rt may be NULL. */
void controller_runtime_stop(struct controller_runtime *rt);

/* The stepped runtime: the controller, its informers and its loop built as
 * controller_runtime_start builds them, with nothing started. -EINVAL with
 * a lease namespace (a stepped replica is the only one and does not elect).
 * Free it with controller_runtime_stop. */
int controller_runtime_new(const struct controller_runtime_config *cfg,
                           struct controller_runtime **out, struct err *e);

/* Virtual time: applies every watch event ready now to the caches, then
 * decides and executes every key due now by the config's clock. Returns
 * the units of work done (0: nothing was ready). */
size_t controller_runtime_step(struct controller_runtime *rt);

/* When something is next due on the config's clock: a queued key, an
 * informer's backoff (0: now; INT64_MAX: nothing). */
int64_t controller_runtime_next_due(struct controller_runtime *rt);

/* The controller itself (its stats) and its loop, owned by rt. */
struct controller *controller_runtime_controller(struct controller_runtime *rt);
struct loop *controller_runtime_loop(struct controller_runtime *rt);

/* Whether this replica acts now. */
bool controller_runtime_leading(struct controller_runtime *rt);

#endif
