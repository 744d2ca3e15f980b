/*
 * The slices a pod asks for, and the names gpuslice puts on pods.
 *
 * A user writes `nvidia.com/mig-1g.10gb: 2` in a container's resources. The
 * webhook records what every container (init containers included) asked
 * for in the annotation gpuslice.dev/slices and removes the requests, so
 * that the default scheduler does not look for a device plugin; the
 * controller and the agent read the annotation. A pod gated by hand
 * (without the webhook) still has its requests in its resources, so
 * pod_slices_of reads those when there is no annotation: nothing in the
 * controller depends on how the gate got there.
 *
 * The annotation is JSON, one entry per container and profile, in
 * container order (init containers first, as the kubelet runs them):
 *   [{"container":"prep","init":true,"profile":"1g.10gb","count":1},
 *    {"container":"serve","profile":"3g.40gb","count":1}]
 * Profile names are kept as the user wrote them (without the
 * "nvidia.com/mig-" prefix); which GPU model's profile they mean is the
 * controller's decision.
 *
 * A container may ask for accelerator memory instead of a profile:
 * gpuslice.dev/accelerator-memory: N (GiB, a whole number) in its
 * requests or limits, and no nvidia.com/mig-* (beside which the memory is
 * the webhook's own accounting, not a request). It is one slice, recorded
 * as {"container":"serve","memoryGiB":12,"count":1}; the controller picks
 * the smallest profile of any model with at least that much.
 *
 * A container may instead share a whole GPU with other pods (issue 15):
 *  - by MPS: `nvidia.com/gpu-<N>gb: 1` (N GiB it may pin), or
 *    gpuslice.dev/accelerator-memory: N with the pod annotation
 *    gpuslice.dev/sharing: mps; the pod annotation
 *    gpuslice.dev/mps-sm-percent: "<1..100>" gives every MPS container of
 *    the pod that share of the SMs. Recorded as
 *    {"container":"serve","sharing":"mps","memoryGiB":8,"smPercent":30},
 *    smPercent only when the user gave it: without it the share is
 *    proportional to memory, resolved at placement from the chosen GPU's
 *    memory (the request names no GPU);
 *  - by time-slicing: `nvidia.com/gpu.shared: 1`, recorded as
 *    {"container":"serve","sharing":"timeslice"}.
 * A sharing entry's count is 1 (it may be written, as 1). A container asks
 * for one kind of GPU: one sharing request and no MIG beside it.
 */
#ifndef GPUSLICE_API_POD_SLICES_H
#define GPUSLICE_API_POD_SLICES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

/* Names users and tools see (docs/architecture.md, "Names users and tools see"). */
#define GPUSLICE_GATE              "gpuslice.dev/slice"
#define GPUSLICE_FINALIZER         "gpuslice.dev/release-slices"
#define GPUSLICE_LABEL_MANAGED     "gpuslice.dev/managed"
#define GPUSLICE_ANNOTATION_SLICES "gpuslice.dev/slices"
#define GPUSLICE_ANNOTATION_CONFIG "gpuslice.dev/configmap-prefix"
#define GPUSLICE_NAMESPACE_OPT_IN  "gpuslice.dev/enabled"
#define GPUSLICE_RESOURCE_MEMORY   "gpuslice.dev/accelerator-memory"
#define GPUSLICE_MIG_PREFIX        "nvidia.com/mig-"
#define GPUSLICE_MPS_PREFIX        "nvidia.com/gpu-"        /* then "<N>gb" */
#define GPUSLICE_RESOURCE_TIMESLICE "nvidia.com/gpu.shared"
#define GPUSLICE_ANNOTATION_SHARING "gpuslice.dev/sharing"  /* "mps" */
#define GPUSLICE_ANNOTATION_MPS_SM  "gpuslice.dev/mps-sm-percent"

#define POD_SLICES_MAX       32 /* entries (container x profile) in one pod */
#define POD_SLICE_COUNT_MAX  8  /* a GPU holds at most 7 slices; 8 GPUs a node */
#define POD_CONTAINER_MAX    64 /* a DNS label and its NUL */
#define POD_PROFILE_MAX      32
#define POD_MEMORY_GIB_MAX   (1u << 20) /* GiB: above any GPU; the webhook denies more than the largest profile */

/* How a request shares a GPU: not at all (a MIG slice), or the whole GPU
 * with other pods. */
enum pod_sharing {
    POD_SHARING_NONE = 0,
    POD_SHARING_MPS,
    POD_SHARING_TIMESLICE,
};

struct pod_slice_request {
    char container[POD_CONTAINER_MAX];
    bool init;                      /* an init container */
    char profile[POD_PROFILE_MAX];  /* "1g.10gb", "1g.10gb+me"; "" when by memory */
    unsigned memory_gib;            /* > 0: asked by memory (count 1) */
    unsigned count;                 /* 1..POD_SLICE_COUNT_MAX; 1 when sharing */
    enum pod_sharing sharing;       /* MPS: memory_gib > 0; timeslice: no memory */
    unsigned sm_percent;            /* MPS: 1..100, 0 when proportional to memory */
};

struct pod_slices {
    size_t n;
    struct pod_slice_request items[POD_SLICES_MAX];
};

/* Reads the nvidia.com/mig-*, nvidia.com/gpu-<N>gb and nvidia.com/gpu.shared
 * requests and limits of every container and init container, and
 * gpuslice.dev/accelerator-memory of those without any (an MPS share when
 * the pod is annotated gpuslice.dev/sharing: mps). A sharing request
 * must count 1, N be from 1 to POD_MEMORY_GIB_MAX, the SM share from 1 to
 * 100, and a container ask for one kind of GPU. A MIG count must be a
 * whole number from 1 to POD_SLICE_COUNT_MAX, a memory one from 1 to
 * POD_MEMORY_GIB_MAX, and a limit, where both are
 * given, must equal the request (extended resources cannot be
 * overcommitted); -EINVAL naming the field ("spec.containers[1].resources.limits[nvidia.com/mig-1g.10gb]: must
 * equal the request (2), got 3") otherwise. A pod that asks for nothing gives
 * n = 0. */
int pod_slices_from_resources(const json_t *pod, struct pod_slices *out, struct err *e);

/* Reads the gpuslice.dev/slices annotation; -ENOENT when the pod has none,
 * -EINVAL naming the entry when it is malformed. */
int pod_slices_from_annotation(const json_t *pod, struct pod_slices *out, struct err *e);

/* The annotation when the pod has one, else the resources. */
int pod_slices_of(const json_t *pod, struct pod_slices *out, struct err *e);

/* The gpuslice.dev/accelerator-memory container asks for, in GiB (its
 * limit where it gives one, else its request; 0 when neither), in
 * initContainers when init, else in containers: what the webhook rewrote
 * its slice requests into. -ENOENT when the pod has no such container,
 * -EINVAL naming the field for a value that is not a whole number. */
int pod_container_memory_gib(const json_t *pod, const char *container, bool init,
                             unsigned *gib, struct err *e);

/* Whether a container's resource named key is one gpuslice rewrites: a
 * MIG profile, an MPS share (nvidia.com/gpu-<N>gb, N any digits) or a
 * time-sliced GPU. */
bool pod_slices_resource_ours(const char *key);

/* Whether s holds a sharing request (MPS or time-slicing). */
bool pod_slices_sharing(const struct pod_slices *s, enum pod_sharing sharing);

/* "mps", "timeslice" ("" for none): the annotation's spelling. */
const char *pod_sharing_name(enum pod_sharing sharing);

/* "mps" or "timeslice" into *out; -EINVAL for any other name (NULL too). */
int pod_sharing_parse(const char *name, enum pod_sharing *out);

/* The annotation's value for s: a new reference owned by the caller (dump it
 * compact to write it), NULL when out of memory. */
json_t *pod_slices_encode(const struct pod_slices *s);

/* The number of slices s asks for in all. */
unsigned pod_slices_total(const struct pod_slices *s);

/* The name of the ConfigMap that hands container its devices: the prefix
 * the webhook chose (annotation gpuslice.dev/configmap-prefix; at admission
 * a pod made from generateName has no name yet) or, without one, the pod's
 * name, then "-" and the container. Truncated to a valid length. */
void pod_configmap_name(const json_t *pod, const char *container, char out[254]);
/* The same name for a prefix known already (the webhook's own, before the
 * pod carries it). */
void pod_configmap_name_of(const char *prefix, const char *container, char out[254]);

/* Whether the pod carries the scheduling gate name. */
bool pod_gated(const json_t *pod, const char *name);

/* How many scheduling gates the pod carries. */
size_t pod_gate_count(const json_t *pod);

#endif
