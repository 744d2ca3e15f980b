/*
 * Leader election in real time: a thread that runs reconcile/leader.h's
 * step against one Lease through a store every retry period, so that of
 * several processes only one acts. The controller's replicas elect one
 * leader per cluster with it; the agents fence a node with it (two agents
 * started for one node: the second waits while the first holds the node's
 * Lease and takes over when it expires).
 *
 * Whoever acts asks elector_leading before each action (a loop's may_act);
 * on_change is told, from the election thread, when this process starts or
 * stops leading, so that a new leader can queue everything again and
 * continue from the API state.
 */
#ifndef GPUSLICE_RECONCILE_ELECTOR_H
#define GPUSLICE_RECONCILE_ELECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define ELECTOR_LEASE_DEFAULT_NS (15 * NS_PER_SEC)

struct elector_config {
    struct store *store;          /* not owned; must serve coordination.k8s.io/v1 leases */
    const char *lease_namespace;
    const char *lease_name;
    const char *identity;         /* this process, 1..127 bytes; NULL: hostname-pid */
    /* 0: 15 s; and then 2/3 and 2/15 of the lease (10 s and 2 s, client-go's) */
    int64_t lease_ns, renew_deadline_ns, retry_ns;
    const char *component;        /* what log lines call it: "gpuslice-controller" */
    struct log *log;              /* leadership changes, who holds the lease; not owned */
    void (*on_change)(void *ctx, bool leading); /* may be NULL */
    void *ctx;
};

struct elector;

/* Starts the election thread; the first step runs at once. *out is the
 * caller's (elector_stop). -ENOENT when the store serves no leases,
 * -EINVAL for bad durations or identity (leader_init). */
int elector_start(const struct elector_config *cfg, struct elector **out, struct err *e);

/* Whether this process leads now: it holds the lease and renewed it within
 * the renew deadline. Safe from any thread. */
bool elector_leading(struct elector *el);

/* Stops the thread (the lease is not released: a crash is the same to the
 * others) and frees el; NULL is fine. */
void elector_stop(struct elector *el);

#endif
