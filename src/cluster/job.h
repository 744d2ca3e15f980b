/*
 * The Job controller (NonIndexed completion mode), as a reconciler keyed
 * by "namespace/name" of Jobs.
 *
 * It keeps min(parallelism, completions - succeeded) pods running (pods it
 * controls, created from the template with generateName "<job>-" and the
 * job-name and controller-uid labels), until `completions` pods succeeded
 * (condition Complete, completionTime) or more than backoffLimit failures
 * happened (condition Failed, reason BackoffLimitExceeded; its running pods
 * are deleted). A failure is a Failed pod or, under restartPolicy
 * OnFailure, a container restart, as Kubernetes counts them. A Job without
 * completions runs as if completions were 1; failed pods are replaced at
 * once (no exponential delay); spec.suspend deletes the running pods and
 * creates none until resumed (condition Suspended). Ended pods are counted
 * once each through the batch.kubernetes.io/job-tracking finalizer and
 * status.uncountedTerminatedPods (job_tracking.h), so a Job whose finished
 * pods are deleted keeps counting them, and a lost write or a restart
 * neither loses a pod nor counts it twice (pods are created only once the
 * cache shows the Job's last status write, where the counts are); a Job
 * deleted (or being deleted) lets go of its pods' finalizers. Status: active, ready, succeeded,
 * failed, uncountedTerminatedPods, startTime, completionTime, conditions.
 */
#ifndef GPUSLICE_CLUSTER_JOB_H
#define GPUSLICE_CLUSTER_JOB_H

#include "cluster/workloads.h"

struct job_controller;

/* The controller and its loop, idle until keys are enqueued; the caller
 * owns it. Needs cfg's store and pods and jobs informers. */
int job_controller_new(const struct workloads_config *cfg, struct job_controller **out,
                       struct err *e);

void job_controller_free(struct job_controller *c);

struct loop *job_controller_loop(struct job_controller *c);

/* Handlers (informer_handler_fn shape, the controller as ctx). */
void job_changed(void *c, enum informer_change change, const json_t *old, const json_t *cur);
void job_pod_changed(void *c, enum informer_change change, const json_t *old,
                     const json_t *cur);

#endif
