/*
 * GPUNode (gpuslice.dev/v1alpha1, cluster-scoped, named after its node), as
 * the agent writes and the controller reads it: the agent's report of the
 * node's GPUs in status, the admin's settings for them in spec.
 *   spec.gpus[]:   uuid, heldBack, allowedProfiles[] (empty: all)
 *   status:        bootID, gpus[] {index, uuid, product, model (catalogue
 *                  name, "" when not catalogued), memoryMiB, migMode
 *                  ("Enabled", "Disabled", "Unsupported"), slices[]
 *                  {profile, start, size, giID, ciID, deviceUUID, managed}}
 *                  where managed is false for slices gpuslice did not make,
 *                  and ciID and deviceUUID are absent for a GPU instance
 *                  left without its compute instance.
 *
 * The reader borrows strings from the object and checks what the decision
 * logic relies on, with errors naming the field.
 */
#ifndef GPUSLICE_API_GPUNODE_H
#define GPUSLICE_API_GPUNODE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

#define GPUNODE_KIND          "GPUNode"
#define GPUNODE_MAX_GPUS      16
#define GPUNODE_MAX_SLICES    8   /* per GPU */

struct gpunode_slice {
    const char *profile;
    unsigned start, size;
    unsigned gi_id, ci_id;
    const char *device_uuid;            /* NULL: a GI without CI (no ciID either) */
    bool managed;
};

struct gpunode_gpu {
    unsigned index;
    const char *uuid, *product, *model; /* model "" when not catalogued */
    const char *mig_mode;               /* "Enabled", "Disabled", "Unsupported" */
    unsigned memory_mib;
    bool held_back;                     /* from spec */
    const json_t *allowed_profiles;     /* spec's array, NULL: all */
    size_t n_slices;
    struct gpunode_slice slices[GPUNODE_MAX_SLICES];
};

struct gpunode_view {
    const char *name, *boot_id;
    size_t n_gpus;
    struct gpunode_gpu gpus[GPUNODE_MAX_GPUS];
};

/* Reads a GPUNode: status.gpus joined with spec.gpus by uuid. -EINVAL
 * naming the field when malformed; a GPUNode without status has no GPUs. */
int gpunode_read(const json_t *obj, struct gpunode_view *v, struct err *e);

/* The status of a GPUNode describing v (name, held_back and
 * allowed_profiles are spec's and not written): a new object owned by the
 * caller, NULL when out of memory. gpunode_read reads it back. */
json_t *gpunode_status_new(const struct gpunode_view *v);

/* Whether the admin allows profile on gpu (no list: all allowed). */
bool gpunode_profile_allowed(const struct gpunode_gpu *gpu, const char *profile);

#endif
