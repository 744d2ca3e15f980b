/*
 * Reading and writing the state the embedded cluster's parts share: object
 * keys, a pod's phase and node, and the conditions lists of pods, nodes,
 * Deployments and Jobs.
 *
 * The scheduler, the kubelets and the workload controllers all ask the same
 * questions of a pod (is it bound, has it finished, is it being deleted, is
 * it ready); answering them in one place keeps their views consistent,
 * which is what stops, say, the ReplicaSet controller counting a pod the
 * kubelet has already stopped.
 */
#ifndef GPUSLICE_CLUSTER_OBJSTATE_H
#define GPUSLICE_CLUSTER_OBJSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "reconcile/action.h"
#include "util/err.h"

#define OBJSTATE_KEY_MAX 320 /* "namespace/name" (WORKQUEUE_KEY_MAX) */
#define OBJSTATE_NAME_MAX 254

/* The informer indexes the parts read through (informer_keys_node and
 * informer_keys_owner of store/informer.h): pods by node, and pods and
 * ReplicaSets by owner uid. */
#define OBJSTATE_INDEX_NODE "node"
#define OBJSTATE_INDEX_OWNER "owner"

/* "namespace/name" (or "name" for a cluster-scoped object) into buf;
 * -EINVAL when obj has no name, -ENAMETOOLONG when it does not fit. */
int objstate_key(const json_t *obj, char *buf, size_t len);

/* Splits "namespace/name" into its parts (ns is "" for "name"); -EINVAL
 * when a part is empty or too long. */
int objstate_split_key(const char *key, char ns[OBJSTATE_NAME_MAX],
                       char name[OBJSTATE_NAME_MAX], struct err *e);

/* status.phase ("" when unset). */
const char *objstate_phase(const json_t *pod);

/* spec.nodeName, or NULL when the pod is not bound. */
const char *objstate_node(const json_t *pod);

/* Succeeded or Failed: nothing runs and nothing will. */
bool objstate_terminal(const json_t *pod);

/* metadata.deletionTimestamp is set. */
bool objstate_deleting(const json_t *obj);

/* Neither terminal nor being deleted: what controllers count as a replica. */
bool objstate_active(const json_t *pod);

/* The pod's Ready condition is True. */
bool objstate_ready(const json_t *pod);

/* The condition of this type in obj's status.conditions (borrowed), or NULL. */
const json_t *objstate_condition(const json_t *obj, const char *type);

/* Whether obj has the condition type with status "True". */
bool objstate_condition_true(const json_t *obj, const char *type);

/* Sets the condition type in status.conditions (status created when
 * missing): status, reason and message (reason and message may be NULL for
 * none). lastTransitionTime becomes now when status changes or the
 * condition is new. Returns 1 when anything changed, 0 when it was already
 * so, -ENOMEM. */
int objstate_set_condition(json_t *obj, const char *type, const char *status,
                           const char *reason, const char *message, int64_t now_ns);

/* obj's status object (borrowed), made an empty one when missing or not an
 * object; NULL when out of memory. */
json_t *objstate_status(json_t *obj);

/* Appends to out a status write of copy (a changed copy of orig, taken
 * over) when its status differs from orig's; otherwise releases copy.
 * 0, or the action builder's error. */
int objstate_write_status(struct action_list *out, const struct api_resource *res,
                          const json_t *orig, json_t *copy, struct err *e);

/* metadata.creationTimestamp in ns since the epoch; 0 when missing or
 * malformed. */
int64_t objstate_created_ns(const json_t *obj);

/* An integer field of obj at a dotted path ("spec.replicas"), or dflt when
 * absent or not an integer. */
int64_t objstate_int(const json_t *obj, const char *path, int64_t dflt);

#endif
