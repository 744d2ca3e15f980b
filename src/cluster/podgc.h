/*
 * The pod garbage collector of kube-controller-manager, its half that
 * keeps ended pods bounded: when more than a threshold of pods have ended
 * (Succeeded or Failed), the oldest of them (by creation, then key) are
 * deleted at once (grace period 0), as PodGC does with
 * --terminated-pod-gc-threshold (12,500 by default). Without it a
 * long-running cluster, or a simulation of a million pods, keeps every pod
 * that ever ran.
 *
 * Pods a Job controls go too, as PodGC spares no owner: each holds the
 * job-tracking finalizer until its Job counted it (job_tracking.h), so a
 * pod deleted here is counted all the same, and the Job, which counts
 * from its status, runs no pod again.
 *
 * It is a reconciler with one key, enqueued when a pod ends and the ended
 * pods are over the threshold; the ended pods are kept from the pod
 * informer's changes (a set and a heap by age), so a pass costs the pods
 * it deletes.
 */
#ifndef GPUSLICE_CLUSTER_PODGC_H
#define GPUSLICE_CLUSTER_PODGC_H

#include <stddef.h>

#include <jansson.h>

#include "reconcile/loop.h"
#include "store/informer.h"
#include "util/clock.h"
#include "util/err.h"

#define PODGC_THRESHOLD_DEFAULT 12500

struct podgc_config {
    struct store *store;      /* deletions; not owned */
    size_t threshold;         /* ended pods kept; 0: PODGC_THRESHOLD_DEFAULT */
    clock_now_fn now_ns;      /* NULL: the real clock */
    void *clock_ctx;
};

struct podgc;

/* The collector and its loop, idle until pods end; the caller owns it. */
int podgc_new(const struct podgc_config *cfg, struct podgc **out, struct err *e);

void podgc_free(struct podgc *g);

struct loop *podgc_loop(struct podgc *g);

/* The pod informer's handler (informer_handler_fn shape, g as ctx). */
void podgc_pod_changed(void *g, enum informer_change change, const json_t *old,
                       const json_t *cur);

#endif
