/*
 * The embedded cluster's other parts, wired together: the scheduler, one
 * kubelet per node, the Deployment, ReplicaSet, StatefulSet, Job and
 * ResourceQuota controllers and the collector step, over one set of shared
 * informers (pods, nodes, ConfigMaps, Deployments, ReplicaSets, Jobs,
 * StatefulSets, ResourceQuotas) on one store.
 *
 * Two runtimes drive the same parts:
 *
 * - Virtual: the caller owns the clock. cluster_parts_step does one round
 *   (every informer stepped until it has nothing more, the collector
 *   drained, then every loop's ready keys decided and executed), and
 *   cluster_parts_settle repeats rounds until one does nothing: the
 *   cluster is quiet at this time. cluster_parts_next_due says when
 *   something will next be due (a pod's run ending, a grace period, a
 *   backoff); the caller moves its clock there and settles again. Rounds go
 *   through the parts in a fixed order, so a run is reproducible.
 * - Real: cluster_parts_start runs every informer and loop on threads of
 *   its own until cluster_parts_stop; over mem, the store collects by
 *   itself (auto_collect).
 *
 * Nothing here reads the real clock in the virtual runtime.
 */
#ifndef GPUSLICE_CLUSTER_COMPONENTS_H
#define GPUSLICE_CLUSTER_COMPONENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/kubelet.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

struct cluster_parts_config {
    struct store *store;          /* not owned; must outlive the parts */
    /* Nanoseconds since the epoch, real or virtual; NULL: the real clock. */
    clock_now_fn now_ns;
    void *clock_ctx;
    const struct kubelet_node *nodes; /* a kubelet each; copied */
    size_t node_count;
    /* Drain the store's collector in each round (the virtual runtime over
     * a mem store without auto_collect). */
    bool collect;
    /* Resource name prefixes the scheduler does not account
     * (schedfit_options); NULL: GPUSLICE_MIG_PREFIX, the slice requests
     * gpuslice satisfies itself and no node advertises. */
    const char *const *ignored_resources;
    uint64_t seed;                /* the informers' backoff jitter */
    /* The kubelets keep their containers' logs (kubelet.h), describing
     * devices with devices (may be NULL). */
    bool keep_logs;
    kubelet_device_fn devices;
    void *devices_ctx;
    /* The nodes' MPS daemons, which the kubelets connect containers given
     * a share to (kubelet_mps.h); NULL: not modelled. */
    const struct kubelet_mps_ops *mps;
    void *mps_ctx;
    /* Ended pods kept before the oldest are deleted (podgc.h); 0:
     * PODGC_THRESHOLD_DEFAULT, as kube-controller-manager's. */
    size_t terminated_pod_gc_threshold;
};

struct cluster_parts;

/* Builds every part, idle: nothing is read or written until the first
 * step or start. -EINVAL naming what is wrong in cfg (a node's spec, a
 * collector over a store that collects by itself). The caller owns *out. */
int cluster_parts_new(const struct cluster_parts_config *cfg, struct cluster_parts **out,
                      struct err *e);

/* The kubelet of node, or NULL when there is none; owned by p. */
struct kubelet *cluster_parts_kubelet(struct cluster_parts *p, const char *node);

/* Stops the threads if they run and frees everything; p may be NULL. */
void cluster_parts_free(struct cluster_parts *p);

/* Virtual runtime: one round at the clock's now. Returns the units of work
 * done (0: nothing was due), or a negative code when the collector failed
 * (informers and loops recover by themselves and report no error). */
int cluster_parts_step(struct cluster_parts *p, struct err *e);

/* Rounds until one does nothing, at most max_rounds (0: 10000). Returns
 * the rounds that did work; -ELOOP when the parts were still busy after
 * max_rounds (something keeps writing), or a step's error. */
int cluster_parts_settle(struct cluster_parts *p, size_t max_rounds, struct err *e);

/* When something is next due on the clock (a loop's delayed key, an
 * informer's backoff), INT64_MAX when nothing is. */
int64_t cluster_parts_next_due(struct cluster_parts *p);

/* Real runtime: every informer and loop on its own thread. -EBUSY when
 * already started, -EINVAL when the config asks for the collector step
 * (a threaded store collects with auto_collect). */
int cluster_parts_start(struct cluster_parts *p, struct err *e);

/* Waits (in real time) up to timeout_ms for every informer's first list;
 * 0 or -ETIMEDOUT. */
int cluster_parts_wait_synced(struct cluster_parts *p, int timeout_ms);

/* Stops the threads and waits for them; no-op when not started. */
void cluster_parts_stop(struct cluster_parts *p);

#endif
