/*
 * A Node seen through what the scheduler, the emulated kubelets and the
 * controller read: labels, whether it takes pods (unschedulable, the Ready
 * condition, taints), and its capacity and allocatable resources.
 * Sub-objects are borrowed from the JSON.
 */
#ifndef GPUSLICE_API_NODE_H
#define GPUSLICE_API_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

struct node_view {
    const char *name;
    const json_t *labels;      /* an object, or NULL */
    bool unschedulable;        /* spec.unschedulable */
    bool ready;                /* condition Ready is True */
    const json_t *taints;      /* spec.taints, or NULL */
    const json_t *capacity;    /* status.capacity (quantities), or NULL */
    const json_t *allocatable; /* status.allocatable, or NULL */
};

/* Reads and checks a node: labels, taints (key a qualified name, effect
 * NoSchedule, PreferNoSchedule or NoExecute), capacity and allocatable
 * (quantities, not negative). -EINVAL naming the field otherwise. */
int node_read(const json_t *node, struct node_view *v, struct err *e);

/* What the node offers of a resource, in thousandths: allocatable, else
 * capacity, else 0. */
int64_t node_allocatable_milli(const struct node_view *v, const char *resource);

/* Whether tolerations (a pod's spec.tolerations, NULL for none) tolerate
 * every NoSchedule and NoExecute taint of the node. */
bool node_tolerated(const struct node_view *v, const json_t *tolerations);

#endif
