/*
 * The quota controller, as a reconciler keyed by "namespace/name" of
 * ResourceQuotas: keeps status.hard (a copy of spec.hard) and status.used
 * (what the pods of the namespace that the quota's scopes cover use, by
 * api/quota.h's count) current, as kube-controller-manager's does.
 *
 * It counts a quota when it appears or its spec changes, and when a pod of
 * its namespace goes away, ends (Succeeded, Failed), or changes scope
 * (activeDeadlineSeconds): what admission charged is given back that way.
 * A new pod is charged by admission (apiserver/quota_admission.h), not by
 * a count, so a burst of creates does not make the controller count.
 *
 * Admission charges a quota before the pod is stored, so for a moment the
 * charge is in status.used and the pod in no cache: a count then would
 * give the charge back and let another pod through. So a count that would
 * lower a resource's used waits until the quota has been still for
 * QUOTA_SETTLE_NS (longer than any create takes between its charge and its
 * write), and is written with the quota's resourceVersion as precondition
 * (a charge meanwhile makes it a conflict, and the count is done again).
 * Object counts other than pods (count/configmaps, count/deployments.apps,
 * and the bare names of the core kinds Kubernetes counts) are charged by
 * admission and recounted from the store at every count; since no
 * informer tells the controller when such an object goes, every quota is
 * counted again QUOTA_RESYNC_NS after its last count (Kubernetes' quota
 * controller resyncs every 5 minutes too).
 */
#ifndef GPUSLICE_CLUSTER_QUOTA_H
#define GPUSLICE_CLUSTER_QUOTA_H

#include <jansson.h>

#include "reconcile/loop.h"
#include "store/informer.h"
#include "util/clock.h"
#include "util/err.h"

#define QUOTA_SETTLE_NS (2 * NS_PER_SEC)
#define QUOTA_RESYNC_NS (300 * NS_PER_SEC)

struct quota_controller_config {
    struct store *store;       /* status writes; not owned */
    struct informer *pods;     /* all pods; not owned */
    struct informer *quotas;   /* all ResourceQuotas; not owned */
    clock_now_fn now_ns;       /* NULL: the real clock */
    void *clock_ctx;
};

struct quota_controller;

/* The controller and its loop, idle until keys are enqueued; the caller
 * owns it. -EINVAL when cfg lacks one of its parts. */
int quota_controller_new(const struct quota_controller_config *cfg,
                         struct quota_controller **out, struct err *e);

void quota_controller_free(struct quota_controller *c);

struct loop *quota_controller_loop(struct quota_controller *c);

/* Handlers (informer_handler_fn shape, the controller as ctx). */
void quota_changed(void *c, enum informer_change change, const json_t *old, const json_t *cur);
void quota_pod_changed(void *c, enum informer_change change, const json_t *old,
                       const json_t *cur);

#endif
