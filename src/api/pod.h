/*
 * A Pod seen through the fields gpuslice's controller, agent, webhook and
 * embedded cluster read: identity, containers (name, image, resource
 * requests and limits, envFrom), scheduling (nodeName, nodeSelector,
 * required node affinity terms, tolerations, scheduling gates) and status
 * (phase, conditions).
 *
 * The view is thin: strings and sub-objects are borrowed from the JSON
 * (valid while it is), and what is not read stays in the JSON. pod_read
 * checks what it reads, so that the store can refuse a bad pod with a
 * message naming the field, as the API server does:
 *   spec.containers[1].resources.requests[nvidia.com/mig-1g.10gb]:
 *   Invalid value: "1500m": must be a whole number
 */
#ifndef GPUSLICE_API_POD_H
#define GPUSLICE_API_POD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define POD_MAX_CONTAINERS 64 /* init containers and containers together */
#define POD_MAX_GATES 16

struct pod_container {
    const char *name, *image;
    bool init;                /* an init container */
    const json_t *requests;   /* resources.requests (an object of quantities) or NULL */
    const json_t *limits;     /* resources.limits or NULL */
    const json_t *env_from;   /* envFrom (a list) or NULL */
};

struct pod_view {
    const char *name, *ns, *uid, *resource_version;
    bool deleting;                   /* metadata.deletionTimestamp is set */
    const char *node_name;           /* "" when not scheduled */
    const char *phase;               /* status.phase; "Pending" when absent */
    size_t n_containers;             /* init containers first, in order */
    struct pod_container containers[POD_MAX_CONTAINERS];
    const json_t *node_selector;     /* an object of strings, or NULL */
    const json_t *required_terms;    /* affinity.nodeAffinity.required...nodeSelectorTerms, or NULL */
    const json_t *tolerations;       /* a list, or NULL */
    size_t n_gates;
    const char *gates[POD_MAX_GATES]; /* spec.schedulingGates[*].name */
    const json_t *conditions;        /* status.conditions, or NULL */
};

/* Reads and checks a pod: containers (at least one; names DNS labels,
 * unique; an image), resources (quantities; not negative; extended
 * resources, those with a domain other than kubernetes.io, whole numbers
 * with limit equal to request where both are given), envFrom (a list of
 * configMapRef/secretRef with names), nodeSelector (labels), required node
 * affinity terms (key, operator In/NotIn/Exists/DoesNotExist/Gt/Lt, values
 * as the operator needs), tolerations (operator Exists/Equal, effect
 * NoSchedule/PreferNoSchedule/NoExecute or empty), scheduling gates
 * (qualified names, unique, none while nodeName is set). -EINVAL naming the
 * field otherwise. */
int pod_read(const json_t *pod, struct pod_view *v, struct err *e);

/* Whether the pod still has the scheduling gate `gate`. */
bool pod_has_gate(const struct pod_view *v, const char *gate);

/* The status condition of this type (borrowed), or NULL. */
const json_t *pod_condition(const struct pod_view *v, const char *type);

/* Whether the pod has finished: phase Succeeded or Failed. */
bool pod_is_terminal(const struct pod_view *v);

/* What the pod asks of a node for one resource, in thousandths (see
 * api/quantity.h), as the scheduler counts it: the larger of the sum over
 * containers and the largest init container (init containers run one at a
 * time, before the others). A resource not requested is 0; a container with
 * a limit and no request requests its limit. */
int64_t pod_request_milli(const struct pod_view *v, const char *resource);

#endif
