/*
 * GPUNode (gpuslice.dev/v1alpha1, cluster-scoped, named after its node), as
 * the agent writes and the controller reads it: the agent's report of the
 * node's GPUs in status, the admin's settings for them in spec.
 *   spec.gpus[]:   uuid, heldBack, allowedProfiles[] (empty: all), mode,
 *                  replicas (timeslice mode: pods at once, 1..48)
 *                  ("mig", the default: gpuslice creates and destroys
 *                  slices; "mig-static": the layout is the admin's and
 *                  gpuslice hands out the slices that exist)
 *   status:        bootID, gpus[] {index, uuid, product, model (catalogue
 *                  name, "" when not catalogued), memoryMiB, migMode
 *                  ("Enabled", "Disabled", "Unsupported"), mode (the mode
 *                  the agent applies, on MIG-enabled GPUs: spec's once the
 *                  GPU holds none of gpuslice's slices), slices[]
 *                  {profile, start, size, giID, ciID, deviceUUID, managed}}
 *                  where managed is false for slices gpuslice did not make
 *                  (every slice of a mig-static GPU), and ciID and
 *                  deviceUUID are absent for a GPU instance left without
 *                  its compute instance; conditions[] with
 *                  GPUNODE_CONDITION_MODE while a GPU's mode change waits;
 *                  models, migModes, modes: the GPUs' values in one line
 *                  each, for `kubectl get gpunodes` (a printer column's
 *                  JSONPath prints only its first match): distinct values
 *                  in GPU order joined by ",", models counted when more
 *                  than one GPU has it ("A100-40GB,H100-80GB",
 *                  "8xH100-80GB"); written, never read back.
 *
 * The reader borrows strings from the object and checks what the decision
 * logic relies on, with errors naming the field.
 */
#ifndef GPUSLICE_API_GPUNODE_H
#define GPUSLICE_API_GPUNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define GPUNODE_KIND          "GPUNode"
#define GPUNODE_MAX_GPUS      16
#define GPUNODE_MAX_SLICES    8   /* per GPU */
/* status.conditions[].type, True while some GPU's spec mode is not applied
 * yet because gpuslice still holds slices there. */
#define GPUNODE_CONDITION_MODE "ModeChangePending"

/* A GPU's mode (spec.gpus[].mode, status.gpus[].mode). The MIG modes
 * need MIG enabled on the GPU, the others need it disabled (gpuslice never
 * changes a GPU's MIG mode: that is the admin's, and needs the GPU idle). */
enum gpunode_mode {
    GPUNODE_MODE_MIG,        /* gpuslice creates and destroys slices */
    GPUNODE_MODE_MIG_STATIC, /* the admin's layout: gpuslice hands out what exists */
    GPUNODE_MODE_MPS,        /* shared through one MPS daemon: memory and SM share per pod */
    GPUNODE_MODE_TIMESLICE,  /* shared by time-slicing: up to replicas pods */
    GPUNODE_MODE_WHOLE,      /* not shared: gpuslice places nothing there (whole-GPU
                              * requests, nvidia.com/gpu, stay the device plugin's) */
};

/* Pods a timeslice GPU takes when spec.gpus[].replicas says nothing. */
#define GPUNODE_TIMESLICE_REPLICAS_DEFAULT 4
/* The most clients one GPU can have: an MPS server serves at most 48 on
 * Volta and later, and time-slicing is given the same bound. */
#define GPUNODE_CLIENTS_MAX 48

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
    enum gpunode_mode mode;             /* spec's: the admin's wish (default mig) */
    bool has_active;                    /* status.gpus[].mode is there */
    enum gpunode_mode active;           /* status's: what the agent applies */
    unsigned replicas;                  /* spec's, timeslice: pods at once (default 4) */
    /* status.gpus[].clients, a shared GPU's: [{namespace, pod, container,
     * sharing, memoryGiB, smPercent}] (the last two for MPS), the array
     * borrowed from the object; NULL when absent. gpunode_status_new
     * writes what is here. */
    const json_t *clients;
    size_t n_slices;
    struct gpunode_slice slices[GPUNODE_MAX_SLICES];
};

struct gpunode_view {
    const char *name, *boot_id;
    /* The GPUNODE_CONDITION_MODE condition: its message while True, NULL
     * otherwise, and since when (RFC 3339; NULL: unknown). */
    const char *mode_pending, *mode_pending_since;
    size_t n_gpus;
    struct gpunode_gpu gpus[GPUNODE_MAX_GPUS];
};

/* Reads a GPUNode: status.gpus joined with spec.gpus by uuid. -EINVAL
 * naming the field when malformed; a GPUNode without status has no GPUs. */
int gpunode_read(const json_t *obj, struct gpunode_view *v, struct err *e);

/* For a reader that keeps what it read of the version before (a new
 * version shares every part it did not change): gpunode_read but for the
 * GPUs, v->n_gpus being how many status.gpus lists, each for the caller to
 * read with gpunode_read_gpu or to take from what it read of the same
 * value. obj is readable when this and every GPU's read are. */
int gpunode_read_head(const json_t *obj, struct gpunode_view *v, struct err *e);

/* status.gpus[i] of obj joined with its settings in spec.gpus, into *gpu,
 * as gpunode_read reads it (errors name the GPUNode and the field). */
int gpunode_read_gpu(const json_t *obj, size_t i, struct gpunode_gpu *gpu, struct err *e);

/* The GPUs that gpunode_read_gpu reads from the very values it read of
 * prev (status.gpus[i] and spec.gpus the same json_t), so that it reads
 * them the same: bit i for GPU i (0 for NULL prev). prev must be held
 * since it was read: an address freed and reused could look the same. */
uint32_t gpunode_same_gpus(const json_t *obj, const json_t *prev);

/* The status of a GPUNode describing v (name, held_back, allowed_profiles
 * and mode are spec's and not written; active is written as mode where
 * has_active, and the condition while mode_pending): a new object owned by
 * the caller, NULL when out of memory. gpunode_read reads it back. */
json_t *gpunode_status_new(const struct gpunode_view *v);

/* The entry of status.gpus that gpunode_status_new writes for g: a new
 * object, NULL when out of memory. */
json_t *gpunode_gpu_status_new(const struct gpunode_gpu *g);

/* gpunode_status_new(v) around entries made already: gpus[i] is what
 * gpunode_gpu_status_new made of v->gpus[i], or made of a GPU with the
 * same fields (a writer that keeps the entries of GPUs that did not
 * change shares them between versions; no one changes them). References
 * to them are taken, not stolen. */
json_t *gpunode_status_of(const struct gpunode_view *v, json_t *const *gpus);

/* "mig", "mig-static", "mps", "timeslice" or "whole" into *out; -EINVAL
 * for any other name. */
int gpunode_mode_parse(const char *name, enum gpunode_mode *out);

/* The mode's name as gpunode_mode_parse takes it. */
const char *gpunode_mode_name(enum gpunode_mode mode);

/* Whether mode cuts the GPU into MIG slices (mig, mig-static). */
bool gpunode_mode_mig(enum gpunode_mode mode);

/* The mode spec.gpus[] asks for the GPU with this uuid (mig when it says
 * nothing, or says something unreadable: the reader reports that). */
enum gpunode_mode gpunode_wanted_mode(const json_t *gpunode, const char *uuid);

/* The mode the agent applies to gpu: status's when it reported one, else
 * spec's (nothing of gpuslice's can be on a GPU never reported). */
enum gpunode_mode gpunode_active_mode(const struct gpunode_gpu *gpu);

/* Whether the admin allows profile on gpu (no list: all allowed). */
bool gpunode_profile_allowed(const struct gpunode_gpu *gpu, const char *profile);

#endif
