/*
 * The catalogue of GPU models and their MIG GPU-instance profiles, as facts.
 *
 * Everything that reasons about MIG geometry (occupancy, placement, the
 * emulated backend, the nvml backend's cross-check, the planner) reads these
 * tables; nothing else in gpuslice hard-codes a profile. Where a number was
 * not confirmed by a real readout the entry is marked provisional and the
 * source is named in catalog.c.
 *
 * Geometry is in memory slices: a placement {start, size} takes memory slices
 * start .. start+size-1. The tables are constant; no function here allocates.
 */
#ifndef GPUSLICE_CORE_CATALOG_H
#define GPUSLICE_CORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define MIG_MAX_MEMORY_SLICES 8  /* every catalogued GPU has 8 (A30: 4) */
#define MIG_MAX_PLACEMENTS    8  /* legal starts of one profile */
#define CATALOG_MAX_PROFILES  12 /* profiles of one model */
#define CATALOG_MAX_ALIASES   3

struct mig_placement {
    uint8_t start; /* first memory slice */
    uint8_t size;  /* memory slices taken */
};

struct mig_profile {
    const char *name;         /* as the driver names it: "1g.10gb", "1g.10gb+me" */
    const char *aliases[CATALOG_MAX_ALIASES]; /* other drivers' spellings, NULL-padded */
    uint16_t nvml_id;         /* profile id (info.id): what placement/create calls take */
    uint8_t nvml_index;       /* NVML_GPU_INSTANCE_PROFILE_* index: what ProfileInfo takes */
    uint8_t compute_slices;
    uint8_t memory_slices;
    uint8_t max_instances;    /* instanceCount on an empty GPU */
    uint16_t sm_count;        /* multiprocessorCount */
    uint32_t memory_mib;      /* memorySizeMB as NVML reports it */
    bool media_extended;      /* a "+me" profile */
    bool provisional;         /* some number not confirmed by a real readout */
    uint8_t n_placements;
    struct mig_placement placements[MIG_MAX_PLACEMENTS]; /* lowest start first */
};

struct gpu_model {
    const char *name;                  /* catalogue key: "H100-80GB" */
    const char *const *product_names;  /* names NVML reports, NULL-terminated */
    uint32_t memory_mib;               /* the whole GPU's memory */
    uint8_t memory_slices;
    uint8_t compute_slices;
    uint8_t n_profiles;
    const struct mig_profile *profiles;
};

/* The catalogued models, in a stable order. */
size_t catalog_model_count(void);
const struct gpu_model *catalog_model(size_t i);

/* Finds a model by catalogue name ("H100-80GB") or NVML product name
 * ("NVIDIA H100 80GB HBM3"), case-insensitively. NULL when unknown. */
const struct gpu_model *catalog_find_model(const char *name);

/* Finds a profile of m by its name or one of its aliases, with or without
 * the "mig-" / "nvidia.com/mig-" prefix users write in resource names. NULL
 * when m has no such profile. */
const struct mig_profile *catalog_find_profile(const struct gpu_model *m, const char *name);

/* The profile's position in m->profiles, or -EINVAL (with a message) when p
 * is not one of m's profiles. */
int catalog_profile_index(const struct gpu_model *m, const struct mig_profile *p, struct err *e);

/* The profile's memory in whole GiB, rounded up (what users ask for with
 * gpuslice.dev/accelerator-memory and what the webhook counts): 1g.10gb is
 * 10 on every model that has it. */
unsigned catalog_profile_gib(const struct mig_profile *p);

/* The accelerator memory, in whole GiB, that one slice of profile (as users
 * write it, "1g.10gb", aliases and "+me" included) counts for: the largest
 * memory any catalogued model gives that profile name, rounded up. A name
 * means the same quota on every model, never less than the slice a pod may
 * get, and (the catalogue's slices being no larger than their name says)
 * never more than a GPU offers. -ENOENT when no catalogued model has it. */
int catalog_name_gib(const char *profile, unsigned *gib);

/* A profile of a model. */
struct catalog_fit {
    const struct gpu_model *model;
    const struct mig_profile *profile;
};
#define CATALOG_FITS_MAX 128 /* every profile of every model */

/* The profiles of every model with at least gib GiB (catalog_profile_gib;
 * "+me" profiles left out: a media engine is asked for by name), smallest
 * first: by memory, then compute slices, then name, then model order.
 * Fills at most max of out; returns how many. */
size_t catalog_fits_memory(unsigned gib, struct catalog_fit *out, size_t max);

/* The memory slices a placement takes, as a bit mask (bit i = slice i). */
static inline uint8_t mig_placement_mask(struct mig_placement pl)
{
    return (uint8_t)(((1u << pl.size) - 1u) << pl.start);
}

#endif
