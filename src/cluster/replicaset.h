/*
 * The ReplicaSet controller: keeps spec.replicas pods of the ReplicaSet's
 * template running, as a reconciler keyed by "namespace/name" of
 * ReplicaSets.
 *
 * Its pods are those it controls (ownerReferences controller=true, which it
 * sets on the pods it creates with generateName "<name>-" and the
 * template's labels); orphans that match the selector are not adopted. A
 * surplus is deleted unscheduled first, then pending, then not ready, then
 * newest first. Status counts the active pods (not terminal, not being
 * deleted): replicas, fullyLabeledReplicas, readyReplicas,
 * availableReplicas (ready; minReadySeconds is not honoured), and
 * observedGeneration. A ReplicaSet being deleted is left to the garbage
 * collector.
 */
#ifndef GPUSLICE_CLUSTER_REPLICASET_H
#define GPUSLICE_CLUSTER_REPLICASET_H

#include "cluster/workloads.h"

struct replicaset_controller;

/* The controller and its loop, idle until keys are enqueued; the caller
 * owns it. Needs cfg's store and pods and replicasets informers. */
int replicaset_controller_new(const struct workloads_config *cfg,
                              struct replicaset_controller **out, struct err *e);

void replicaset_controller_free(struct replicaset_controller *c);

struct loop *replicaset_controller_loop(struct replicaset_controller *c);

/* Handlers (informer_handler_fn shape, the controller as ctx): a
 * ReplicaSet changed; a pod changed (its controlling ReplicaSet is
 * queued). */
void replicaset_changed(void *c, enum informer_change change, const json_t *old,
                        const json_t *cur);
void replicaset_pod_changed(void *c, enum informer_change change, const json_t *old,
                            const json_t *cur);

#endif
