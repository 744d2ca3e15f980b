/*
 * The collector step: the garbage collector's turn in the virtual runtime.
 *
 * The mem store does what a cluster's garbage collector, namespace
 * controller and CRD finalizer do (dependents of a deleted owner deleted,
 * foreground and orphan deletion, namespaces emptied) as queued work that
 * its caller drains (store/mem.h). The embedded API server drains it inside
 * every write (auto_collect); a virtual-time runtime drains it here, as one
 * more component stepped with the others, so that a deleted Deployment's
 * ReplicaSets and pods go at a step the test or the simulator chooses, and
 * watchers see each deletion as they would the real collector's.
 */
#ifndef GPUSLICE_CLUSTER_COLLECTOR_H
#define GPUSLICE_CLUSTER_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "util/err.h"

/* Whether st queues collector work for its caller (the mem backend does;
 * a real API server collects by itself). */
bool collector_applies(const struct store *st);

/* Drains st's collector: up to max work items (0: until none is left, the
 * work they queue included). Returns the items done; -EINVAL for a store
 * the collector does not apply to; the store's error when an item fails
 * (the rest stays queued). */
int collector_step(struct store *st, size_t max, struct err *e);

#endif
