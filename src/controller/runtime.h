/*
 * The controller's real runtime: its informers and its loop on threads of
 * their own, over any store (kube in a cluster, mem in the demo), with
 * Lease leader election so that of several replicas only one acts.
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
    const char *identity;         /* this replica (default: hostname-pid) */
    const char *lease_namespace;  /* NULL: no election, always act */
    const char *lease_name;       /* default "gpuslice-controller" */
    int64_t lease_ns, renew_deadline_ns, retry_ns; /* 0: 15 s, 10 s, 2 s */
    struct log *log;              /* leadership, failed decisions and writes; not owned;
                                     NULL: none */
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

/* Whether this replica acts now. */
bool controller_runtime_leading(struct controller_runtime *rt);

#endif
