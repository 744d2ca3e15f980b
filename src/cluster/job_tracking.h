/*
 * How the Job controller counts each ended pod exactly once, as
 * Kubernetes' does with the batch.kubernetes.io/job-tracking finalizer.
 *
 * A Job's pods are created holding the finalizer, so an ended pod stays in
 * the store until the controller has counted it. Counting is two writes
 * that can each be lost (a conflict, a restart between them): first the
 * pod's uid goes into status.uncountedTerminatedPods.{succeeded,failed}
 * (the Job's status is written BEFORE any finalizer goes), then the
 * finalizer is removed; a later decision that finds a recorded uid whose
 * pod no longer holds the finalizer (or is gone) moves it into
 * status.succeeded/failed. So a uid is counted from the list once: a pod
 * still holding the finalizer is either not yet recorded (recorded now)
 * or recorded (its finalizer removed again); a pod without it was counted
 * already (or is being moved). The status write's resourceVersion
 * precondition keeps two decisions from recording on the same version.
 *
 * A pod ends Succeeded, Failed, or deleted before it ended: such a pod is
 * a failure (Kubernetes' rule for pods that never reach Failed). The
 * running pods a Job stops itself (finished or suspended) count nowhere:
 * as Kubernetes' controller does, the same decision removes each one's
 * finalizer just before deleting it (job.c), so whatever phase the kubelet
 * gives it when it stops, it is no longer the Job's to count. A pod that
 * someone else deletes while the Job stops is let go uncounted too, unless
 * it reached Succeeded or Failed first.
 */
#ifndef GPUSLICE_CLUSTER_JOB_TRACKING_H
#define GPUSLICE_CLUSTER_JOB_TRACKING_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "reconcile/action.h"
#include "util/err.h"

#define JOB_TRACKING_FINALIZER "batch.kubernetes.io/job-tracking"

/* A Job's ended pods: those counted plus those recorded as uncounted. */
struct job_counts {
    int64_t succeeded, failed;
};

/* Brings the status of copy (a copy of a Job, changed in place) up to date
 * with pods (the Job's, read only): recorded uids whose pods let go of the
 * finalizer move into status.succeeded/failed, and ended pods holding it
 * are recorded in status.uncountedTerminatedPods. *release receives a new
 * array of the pods (borrowed from pods) whose finalizer may go once that
 * status is written (job_tracking_release); counts the totals the Job
 * decides on. stopping: the Job deletes its running pods itself. 0 or
 * -ENOMEM. */
int job_tracking_update(json_t *copy, const json_t *pods, bool stopping, json_t **release,
                        struct job_counts *counts);

/* Appends to out an update of pod that removes the finalizer from it
 * (resourceVersion as precondition, so a stale cache retries); nothing
 * when pod does not hold it. 0, -ENOMEM, or the builder's error. */
int job_tracking_release_pod(struct action_list *out, const struct api_resource *pods_res,
                             const json_t *pod, struct err *e);

/* job_tracking_release_pod for each pod in pods, in order. */
int job_tracking_release(struct action_list *out, const struct api_resource *pods_res,
                         const json_t *pods, struct err *e);

#endif
