/*
 * The StatefulSet controller: keeps spec.replicas pods of the
 * StatefulSet's template, each with a stable name "<name>-<ordinal>", as a
 * reconciler keyed by "namespace/name" of StatefulSets.
 *
 * Its pods are those it controls (ownerReferences controller=true); each
 * carries the labels statefulset.kubernetes.io/pod-name and
 * apps.kubernetes.io/pod-index, and spec.hostname (and spec.subdomain from
 * spec.serviceName). One pod at a time, as podManagementPolicy
 * OrderedReady does: ordinal i is created only when every lower ordinal is
 * Running and Ready; a pod deleted (or ended) is made again under the same
 * name once the old one is gone; scaling down deletes the highest ordinal
 * first, one at a time. Status: replicas, readyReplicas, currentReplicas,
 * availableReplicas (ready), observedGeneration. Left out: Parallel pod
 * management, rolling updates of the template (pods keep the template
 * they were made from), volumeClaimTemplates, minReadySeconds. A
 * StatefulSet being deleted is left to the garbage collector.
 */
#ifndef GPUSLICE_CLUSTER_STATEFULSET_H
#define GPUSLICE_CLUSTER_STATEFULSET_H

#include "cluster/workloads.h"

#define STATEFULSET_POD_NAME_LABEL  "statefulset.kubernetes.io/pod-name"
#define STATEFULSET_POD_INDEX_LABEL "apps.kubernetes.io/pod-index"

struct statefulset_controller;

/* The controller and its loop, idle until keys are enqueued; the caller
 * owns it. Needs cfg's store and pods and statefulsets informers. */
int statefulset_controller_new(const struct workloads_config *cfg,
                               struct statefulset_controller **out, struct err *e);

void statefulset_controller_free(struct statefulset_controller *c);

struct loop *statefulset_controller_loop(struct statefulset_controller *c);

/* Handlers (informer_handler_fn shape, the controller as ctx): a
 * StatefulSet changed; a pod changed (its controlling StatefulSet is
 * queued). */
void statefulset_changed(void *c, enum informer_change change, const json_t *old,
                         const json_t *cur);
void statefulset_pod_changed(void *c, enum informer_change change, const json_t *old,
                             const json_t *cur);

#endif
