/*
 * A GPU's MIG occupancy: which memory slices are taken, and by which slice.
 *
 * This is the one place that knows the rules for putting a GPU instance on a
 * GPU: the placement must be one the profile allows, its memory slices must
 * be free, the GPU's compute slices must not be exceeded, and a profile may
 * not exceed its instance count (one "+me" per GPU). Everything above it
 * (placement policies, the controller's reservations, the emulated device)
 * asks here instead of repeating the rules.
 *
 * The struct is a small value (no pointers but the model) so that a cluster
 * model of thousands of GPUs is one flat array, and copying one to try a
 * placement costs nothing. Nothing here allocates or does I/O.
 */
#ifndef GPUSLICE_CORE_OCCUPANCY_H
#define GPUSLICE_CORE_OCCUPANCY_H

#include <stdint.h>

#include "core/catalog.h"
#include "util/err.h"

#define OCCUPANCY_MAX_SLICES 8 /* more than any GPU can hold (7 x 1g) */

struct occupied_slice {
    uint8_t profile; /* index into model->profiles */
    uint8_t start;   /* first memory slice */
    uint32_t owner;  /* the caller's tag for whoever holds the slice */
};

struct gpu_occupancy {
    const struct gpu_model *model;
    uint8_t memory_mask;   /* bit i set: memory slice i is taken */
    uint8_t compute_used;  /* compute slices taken */
    uint8_t n_slices;
    struct occupied_slice slices[OCCUPANCY_MAX_SLICES]; /* ordered by start */
};

/* An empty GPU of model m. */
void occupancy_init(struct gpu_occupancy *o, const struct gpu_model *m);

/* 0 when profile p can be placed at start now; otherwise a negative code and
 * a message saying why: -EINVAL (p not of this model, or start not a legal
 * start for p), -EEXIST (memory slices taken: names the slice and its owner),
 * -ENOSPC (p's instance count or the one "+me" per GPU reached, or too few
 * compute slices left). */
int occupancy_check(const struct gpu_occupancy *o, const struct mig_profile *p,
                    unsigned start, struct err *e);

/* The legal starts of p where occupancy_take would succeed now, lowest
 * first, into starts[]; returns how many (0 when p is not of this model). */
unsigned occupancy_free_starts(const struct gpu_occupancy *o, const struct mig_profile *p,
                               uint8_t starts[MIG_MAX_PLACEMENTS]);

/* Places p at start for owner; fails (and changes nothing) when
 * occupancy_check would. */
int occupancy_take(struct gpu_occupancy *o, const struct mig_profile *p, unsigned start,
                   uint32_t owner, struct err *e);

/* Frees the slice that starts at start; -ENOENT when there is none. */
int occupancy_release(struct gpu_occupancy *o, unsigned start, struct err *e);

/* The slice covering memory slice i, or NULL when it is free. */
const struct occupied_slice *occupancy_slice_at(const struct gpu_occupancy *o, unsigned i);

/* For each profile of the model (same order as model->profiles), how many
 * more instances of that profile alone would still fit. */
void occupancy_headroom(const struct gpu_occupancy *o, uint8_t more[CATALOG_MAX_PROFILES]);

#endif
