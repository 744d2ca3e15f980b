/*
 * The placement filters (internal to placement*.c): the rules that drop a
 * GPU before any policy scores it. The decision path and the failure
 * explanation both ask here, so they cannot disagree about what a filter
 * rejects.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_FILTER_H
#define GPUSLICE_CORE_PLACEMENT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/placement.h"

enum placement_node_verdict {
    PLACEMENT_NODE_OK,
    PLACEMENT_NODE_SELECTOR, /* a selector term is not among its labels */
    PLACEMENT_NODE_CALLER,   /* the caller's filter said no */
};

/* Whether r accepts GPUs of model m (r's model filter). */
bool placement_filter_model(const struct placement_request *r, const struct gpu_model *m);

/* The profiles the admin lets new slices of go on g, as a mask over its
 * model's profiles: none when it is held back or fixed (no new slice is
 * made on a fixed GPU). */
uint16_t placement_filter_admin(const struct placement_gpu *g);

/* Whether node passes r's selector, then r's caller filter (asked only when
 * the selector passes). reason[reason_size] gets the caller's reason; size
 * 0 (reason NULL) when none is wanted. */
enum placement_node_verdict placement_filter_node(const struct placement_cluster *c,
                                                  const struct placement_request *r,
                                                  size_t node, char *reason,
                                                  size_t reason_size);

#endif
