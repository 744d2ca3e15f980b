/*
 * The Deployment controller: a ReplicaSet per pod template, as a reconciler
 * keyed by "namespace/name" of Deployments.
 *
 * The current template's ReplicaSet is named "<deployment>-<hash>", where
 * the hash (of the template and status.collisionCount) is also its
 * pod-template-hash label, selector term and pod label, as in Kubernetes,
 * so `kubectl get rs,pods` reads as users expect. Every strategy is
 * carried out as Recreate: on a template change the old ReplicaSets are
 * scaled to 0, and the new one is created once their pods are gone;
 * rolling updates (maxSurge, maxUnavailable), revision history limits and
 * rollbacks are not emulated. spec.paused stops scaling. Status: replicas,
 * updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas,
 * observedGeneration, and the Available and Progressing conditions.
 */
#ifndef GPUSLICE_CLUSTER_DEPLOYMENT_H
#define GPUSLICE_CLUSTER_DEPLOYMENT_H

#include "cluster/workloads.h"

#define DEPLOYMENT_HASH_LABEL "pod-template-hash"
#define DEPLOYMENT_HASH_MAX 16

struct deployment_controller;

/* The controller and its loop, idle until keys are enqueued; the caller
 * owns it. Needs cfg's store and pods, replicasets and deployments
 * informers. */
int deployment_controller_new(const struct workloads_config *cfg,
                              struct deployment_controller **out, struct err *e);

void deployment_controller_free(struct deployment_controller *c);

struct loop *deployment_controller_loop(struct deployment_controller *c);

/* The pod-template-hash of template with collision count: FNV-1a (32 bits)
 * over the template's canonical JSON, in the letters and digits Kubernetes
 * uses for it. -ENOMEM. */
int deployment_template_hash(const json_t *template, int64_t collisions,
                             char out[DEPLOYMENT_HASH_MAX]);

/* Handlers (informer_handler_fn shape, the controller as ctx): a Deployment
 * changed; a ReplicaSet changed (its Deployment is queued); a pod ended or
 * went away (the Deployment of its ReplicaSet is queued, for Recreate's
 * wait). */
void deployment_changed(void *c, enum informer_change change, const json_t *old,
                        const json_t *cur);
void deployment_rs_changed(void *c, enum informer_change change, const json_t *old,
                           const json_t *cur);
void deployment_pod_changed(void *c, enum informer_change change, const json_t *old,
                            const json_t *cur);

#endif
