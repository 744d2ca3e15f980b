/*
 * ResourceQuota accounting, as Kubernetes counts it: what an object uses
 * of a quota, whether a quota's scopes cover it, and the check of a
 * request against a quota's status. The embedded API server's quota
 * admission (apiserver/quota_admission.h) and the cluster's quota
 * controller (cluster/quota.h) both count with these, so a pod is charged
 * at admission exactly what the controller later finds it uses.
 *
 * A usage is a JSON object of resource name -> integer thousandths (the
 * API's MilliValue, api/quantity.h). A pod that has not ended uses:
 *   pods, count/pods                      1
 *   requests.R and limits.R               for every resource R its containers
 *                                         ask for (the larger of the sum over
 *                                         containers and the largest init
 *                                         container; a limit without a request
 *                                         requests the limit, as defaulting does)
 *   cpu, memory, ephemeral-storage        aliases of requests.R (Kubernetes'
 *                                         bare names)
 * so `requests.gpuslice.dev/accelerator-memory` counts the GiB the webhook
 * rewrote every slice request into. A pod that ended (Succeeded, Failed)
 * uses nothing. Any other object uses count/<plural> (core) or
 * count/<plural>.<group>, and the core kinds Kubernetes counts by bare name
 * (configmaps, secrets, services, persistentvolumeclaims,
 * replicationcontrollers, resourcequotas) that too.
 *
 * Scopes (spec.scopes, and spec.scopeSelector's matchExpressions with
 * operator Exists or DoesNotExist): Terminating (a pod with
 * spec.activeDeadlineSeconds), NotTerminating, BestEffort (no container
 * requests or limits cpu or memory), NotBestEffort. A scoped quota covers
 * pods only. Other scopes (PriorityClass, CrossNamespacePodAffinity) are
 * not known: a quota naming one covers nothing.
 */
#ifndef GPUSLICE_API_QUOTA_H
#define GPUSLICE_API_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api/resource.h"
#include "util/err.h"

/* What obj (of res) uses, as a new usage object (caller releases); only the
 * names a quota can count, so callers mask it with a quota's hard. -EINVAL
 * for a pod that does not read (api/pod.h). */
int quota_usage_of(const struct api_resource *res, const json_t *obj, json_t **out,
                   struct err *e);

/* Whether quota's scopes cover obj of res. */
bool quota_covers(const json_t *quota, const struct api_resource *res, const json_t *obj);

/* Reads a map of quantities (spec.hard, status.used) into a usage object
 * (caller releases); NULL or absent gives an empty one. -EINVAL naming
 * field for a value that is not a quantity. */
int quota_read(const json_t *quantities, const char *field, json_t **out, struct err *e);

/* The quantity text for milli thousandths of resource name: whole numbers
 * plain ("3"), fractions in thousandths ("500m"), and whole byte counts of
 * memory-like resources (memory, storage, ephemeral-storage) with the
 * largest binary suffix that divides them ("64Gi"). */
void quota_format(const char *name, int64_t milli, char out[32]);

/* The usage as a map of quantity texts, as status.used is written (new
 * reference). */
json_t *quota_write(const json_t *usage);

/* Charging request (a usage) to quota, as kube-apiserver does: the names
 * quota's status.hard counts (spec.hard before the quota controller
 * first counted it: kube-apiserver lets everything through then, this
 * refuses until counted) are masked out of request; a name whose
 * status.used is unknown refuses ("status unknown for quota: Q,
 * resources: R"); a name whose used + request exceeds hard refuses
 * ("exceeded quota: Q, requested: R=V, used: R=V, limited: R=V", names
 * sorted, joined by commas). Both -EPERM with e's message that text. On
 * success *used (if not NULL) is the quota's new status.used as texts
 * (caller releases), *charged whether request counted anything there. */
int quota_charge(const json_t *quota, const json_t *request, json_t **used, bool *charged,
                 struct err *e);

/* status.used less usage (never below 0), as texts; names status.used
 * lacks stay absent. New reference. */
json_t *quota_release(const json_t *quota, const json_t *usage);

/* The larger parts of cur than of old (a usage of the names that grew, by
 * how much), for an update: what it would newly charge. New reference. */
json_t *quota_growth(const json_t *old, const json_t *cur);

#endif
