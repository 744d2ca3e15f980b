/*
 * The workload of a scenario, delivered on the virtual clock: each item's
 * pods (or its Deployment or Job) created through the store at the times
 * the scenario says, and deleted at deleteAt, as a user's load script would.
 *
 * Nothing is expanded ahead: each item keeps a cursor (its next time and
 * what remains), so a million-pod Poisson trace costs a few words until
 * its pods exist. Draws come from one stream per item, derived from the
 * seed and the item's index, so adding an item never changes another's.
 *
 * Pods are named "<item>-<n>" (n from 0), in the item's namespace, each
 * container "main" asking nvidia.com/mig-<profile>: 1, its run time in the
 * annotation gpuslice.dev/run-seconds (cluster/kubelet_pod.h), restart
 * policy Never. Deployments and Jobs are named after their item; their
 * pods carry the item's request and annotations.
 */
#ifndef GPUSLICE_SIM_ARRIVALS_H
#define GPUSLICE_SIM_ARRIVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/scenario.h"
#include "store/store.h"
#include "util/err.h"

struct arrivals;

/* The arrivals of sc's items (sc borrowed: it must outlive them), created
 * through st from instant t0 on. *out is the caller's (arrivals_free). */
int arrivals_new(const struct scenario *sc, struct store *st, int64_t t0, uint64_t seed,
                 struct arrivals **out, struct err *e);

void arrivals_free(struct arrivals *a);

/* Creates (and deletes) everything due at or before now. Returns the
 * objects written, or a negative code naming the item when a write fails
 * (a create the webhook denies, say). */
int arrivals_step(struct arrivals *a, int64_t now, struct err *e);

/* When the next write is due; INT64_MAX when every item is done. */
int64_t arrivals_next_due(const struct arrivals *a);

/* The index of the item that made the pod ns/name (by namespace and the
 * name's "<item>-" prefix, the longest that fits), or SIZE_MAX. */
size_t arrivals_item_of(const struct arrivals *a, const char *ns, const char *name);

#endif
