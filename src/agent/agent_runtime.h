/*
 * The agent's runtime: what runs the agent's reconciler against a store and
 * a device, in real time (threads, `gpuslice agent`) or in virtual time
 * (tests and the simulator step it).
 *
 * It builds the agent (its informers included), a reconcile loop over the
 * same clock, and ties them together; failed actions are reported to a log
 * when one is given. In virtual time nothing runs by itself: the caller
 * calls agent_runtime_step at the times agent_runtime_next_due names,
 * moving its clock between calls.
 *
 * Fencing (real time): given a lease namespace, the agent acts only while
 * it holds the node's Lease, "gpuslice-agent-<node>" there
 * (reconcile/elector.h). A second agent started for the same node, by
 * mistake or while the first is still shutting down, watches but neither
 * touches the GPUs nor writes until the first stops renewing and the lease
 * expires; it then takes over from the API state and the GPUs as they are.
 */
#ifndef GPUSLICE_AGENT_AGENT_RUNTIME_H
#define GPUSLICE_AGENT_AGENT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

#include "agent/agent.h"

struct agent_runtime_config {
    /* The agent's settings. now_ns NULL: the real clock (CLOCK_REALTIME);
     * informer_now_ns NULL: CLOCK_MONOTONIC. */
    struct agent_config agent;
    struct log *log;              /* failed actions (reconcile/loop.h); not owned; NULL: none */
    const char *lease_namespace;  /* fencing (above); NULL: none, always act */
    const char *identity;         /* in the Lease; NULL: hostname-pid */
    int64_t lease_ns, renew_deadline_ns, retry_ns; /* 0: as reconcile/elector.h */
};

#define AGENT_LEASE_PREFIX "gpuslice-agent-" /* + the node's name */

struct agent_runtime;

/* A runtime with nothing started and the node key queued. *out is the
 * caller's (agent_runtime_free). Errors as agent_new and loop_new. */
int agent_runtime_new(const struct agent_runtime_config *cfg, struct agent_runtime **out,
                      struct err *e);

/* Stops what runs and frees everything but the store and the device. NULL
 * is fine. */
void agent_runtime_free(struct agent_runtime *rt);

struct agent *agent_runtime_agent(struct agent_runtime *rt);
struct loop *agent_runtime_loop(struct agent_runtime *rt);

/* Virtual time: applies every watch event ready now to the caches, then
 * decides and executes every key due now. Returns the units of work done
 * (0: nothing was ready). */
size_t agent_runtime_step(struct agent_runtime *rt);

/* When a key is due next (0: now; INT64_MAX: nothing queued). */
int64_t agent_runtime_next_due(struct agent_runtime *rt);

/* Whether every informer of the agent follows its watch (informer_watching):
 * then, between steps, only a write to its node's objects or a key coming
 * due gives it work. */
bool agent_runtime_watching(struct agent_runtime *rt);

/* Real time: runs the informers, the loop and (when started, as GPUs get
 * calls) one worker per GPU on threads of their own (agent.h). On
 * failure the threads already started are stopped again, so the runtime
 * is as before and may be stepped or started later. */
int agent_start(struct agent_runtime *rt, struct err *e);

/* Stops and waits for those threads; no-op when not running. The Lease is
 * not released: a stop and a crash look the same to a successor. */
void agent_stop(struct agent_runtime *rt);

/* Whether the agent may act now: no fencing, or it holds the node's
 * Lease. Safe from any thread. */
bool agent_runtime_leading(struct agent_runtime *rt);

#endif
