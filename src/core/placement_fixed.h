/*
 * Fixed GPUs (internal to placement*.c): GPUs in mode mig-static, whose
 * slices are the admin's layout. A request is given a slice of that layout
 * no one holds; nothing is made or destroyed, so the policies' scores (how
 * a placement cuts future capacity) do not apply: the GPUs the request
 * names as near come first, then GPU order, then the lowest start.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_FIXED_H
#define GPUSLICE_CORE_PLACEMENT_FIXED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/placement.h"

/* The starts of g's layout slices of profile p that no one holds, as a
 * bit mask (bit s: the slice at s). */
uint8_t placement_fixed_free(const struct placement_gpu *g, const struct mig_profile *p);

/* Whether g, a fixed GPU, passes r's GPU-level filters (model, profile,
 * held back, allowed) for the profile *p it resolves to. */
bool placement_fixed_accepts(const struct placement_request *r, const struct placement_gpu *g,
                             const struct mig_profile **p);

/* A free slice of a fixed GPU for r (every filter passed) into *d; false
 * when there is none. */
bool placement_fixed_best(const struct placement_cluster *c, const struct placement_request *r,
                          struct placement_decision *d);

/* Holds (take, tagging it with owner) or lets go of (release) the
 * layout's slice at start on the fixed GPU g; fails as placement_take and
 * placement_release say. */
int placement_fixed_take(struct placement_gpu *g, const struct mig_profile *p, unsigned start,
                         uint32_t owner, struct err *e);
int placement_fixed_release(struct placement_gpu *g, unsigned start, struct err *e);

#endif
