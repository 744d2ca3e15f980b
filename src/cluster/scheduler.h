/*
 * The embedded cluster's scheduler: binds each pod that has no node and no
 * scheduling gates to the node that fits it best (schedfit.h: filters, then
 * least allocated, ties by name), through pods/binding.
 *
 * It is a reconciler keyed by "namespace/name" of pods. A pod that fits
 * nowhere gets the condition PodScheduled=False/Unschedulable with a
 * message counting why each node refused ("0/2 nodes are available: ...")
 * and a FailedScheduling Event, each written once per distinct message; it
 * is tried again when a node changes or a pod stops using capacity, not by
 * polling.
 *
 * Between a binding and the pod cache showing it, the scheduler counts the
 * pod on its node itself (the default scheduler's "assumed" pods), so two
 * decisions made before the cache catches up never fill the same room
 * twice.
 */
#ifndef GPUSLICE_CLUSTER_SCHEDULER_H
#define GPUSLICE_CLUSTER_SCHEDULER_H

#include <stdint.h>

#include <jansson.h>

#include "reconcile/loop.h"
#include "store/informer.h"
#include "util/clock.h"
#include "util/err.h"

#define SCHEDULER_NAME "default-scheduler"
/* The nodes informer's index by the kubernetes.io/hostname label, which a
 * pod gpuslice placed names in its nodeSelector: such a pod is checked
 * against the nodes labelled so only (with no such index, every node). */
#define SCHEDULER_INDEX_HOSTNAME "hostname"

struct scheduler_config {
    struct store *store;        /* bindings and status writes; not owned */
    struct informer *pods;      /* all pods, indexed OBJSTATE_INDEX_NODE; not owned */
    struct informer *nodes;     /* not owned; indexed SCHEDULER_INDEX_HOSTNAME or not */
    clock_now_fn now_ns;          /* NULL: the real clock */
    void *clock_ctx;
    /* Resource name prefixes the fit check ignores (schedfit_options);
     * NULL-terminated, may be NULL. The array must outlive the scheduler. */
    const char *const *ignored_resources;
};

struct scheduler;

/* A scheduler and its loop, idle until keys are enqueued; the caller owns
 * it (scheduler_free). */
int scheduler_new(const struct scheduler_config *cfg, struct scheduler **out, struct err *e);

void scheduler_free(struct scheduler *s);

/* The loop the runtime steps or starts (owned by the scheduler). */
struct loop *scheduler_loop(struct scheduler *s);

/* The SCHEDULER_INDEX_HOSTNAME keys of a node (informer_keys_fn): its
 * kubernetes.io/hostname label, when it has one. */
size_t scheduler_keys_hostname(const json_t *node, const char **keys, size_t max, void *ctx);

/* The pods and nodes informers' handlers (informer_handler_fn shape, with
 * the scheduler as ctx): they enqueue what the change may affect. */
void scheduler_pod_changed(void *s, enum informer_change change, const json_t *old,
                           const json_t *cur);
void scheduler_node_changed(void *s, enum informer_change change, const json_t *old,
                            const json_t *cur);

#endif
