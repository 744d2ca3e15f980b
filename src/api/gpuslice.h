/*
 * gpuslice's slice object, GPUSlice (gpuslice.dev/v1alpha1), as the
 * controller, the agent and the tools read and write it (the GPUNode, the
 * other kind of the group, is api/gpunode.h).
 *
 * GPUSlice (namespaced, one per slice, owned by its pod, with the finalizer
 * GPUSLICE_SLICE_FINALIZER): what the controller decided, in spec, and
 * what exists, in status.
 *   spec:   podName, podUID, container, init, index (the k-th slice of
 *           that container), nodeName, gpuUUID, gpuIndex, model (the
 *           catalogue's), profile (the GPU's own name of what is placed),
 *           requestedProfile (what the pod asked; differs when upgraded),
 *           requestedMemoryGiB (set instead of requestedProfile when the pod
 *           asked for accelerator memory rather than a profile), start and
 *           size (memory slices), existing (true: the slice is one that
 *           exists already, a slice of a mig-static GPU's layout: the agent
 *           hands it over and on release destroys nothing), configMap (the
 *           ConfigMap the container reads its devices from through envFrom,
 *           which the agent fills in);
 *           for a share of a whole GPU instead of a MIG slice (a GPU in
 *           mode mps or timeslice): sharing ("mps", "timeslice"; absent
 *           for a MIG slice), and for MPS memoryGiB (the device memory the
 *           client may pin, CUDA_MPS_PINNED_DEVICE_MEM_LIMIT) and smPercent
 *           (1..100, CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, resolved by the
 *           controller when the pod left it to memory); a share has no
 *           profile, requestedProfile, start or size
 *   status: phase (absent means Creating: a CRD's status is not written on
 *           create), deviceUUID ("MIG-...", or the GPU's "GPU-..." for a
 *           share), giID, ciID, bootID (of the node
 *           when the slice was made: a different one means a reboot took
 *           it), reason, message, lastTransitionTime (of the phase),
 *           warmUntil (set when the slice went Warm, kept after: when the
 *           namespace's hold on it ends; controller/warm.c)
 * Who moves the phase: the controller creates (Creating) and sets Ungated
 * and Deleting; the agent sets Created, Deleted and Failed.
 *
 * The readers borrow strings from the object and check what the decision
 * logic relies on, with errors naming the field. api/ sits below core/, so
 * phases are strings here; core/lifecycle.h parses them.
 */
#ifndef GPUSLICE_API_GPUSLICE_H
#define GPUSLICE_API_GPUSLICE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/pod_slices.h"
#include "util/err.h"
#include "util/jmemo.h"

#define GPUSLICE_API_GROUP    "gpuslice.dev"
#define GPUSLICE_API_VERSION  "gpuslice.dev/v1alpha1"
#define GPUSLICE_KIND         "GPUSlice"
#define GPUSLICE_NAME_MAX     254
/* Held on every GPUSlice until the agent has destroyed its slice, so that
 * deleting the object (the garbage collector following a deleted pod, a
 * user's kubectl delete) never forgets a slice that is still on the GPU. */
#define GPUSLICE_SLICE_FINALIZER "gpuslice.dev/slice-on-gpu"
#define GPUSLICE_ANNOTATION_UPGRADE_QUOTA "gpuslice.dev/upgrade-quota"

struct gpuslice_spec {
    const char *pod_name, *pod_uid, *container;
    bool init;
    unsigned index;
    const char *node, *gpu_uuid;
    unsigned gpu_index;
    const char *model, *profile, *requested_profile; /* NULL for a share */
    unsigned requested_memory_gib;  /* 0: asked by profile */
    unsigned start, size;           /* 0 for a share */
    enum pod_sharing sharing;       /* POD_SHARING_NONE: a MIG slice */
    unsigned memory_gib, sm_percent; /* MPS only: both > 0 */
    bool existing;
    const char *config_map;
    /* An upgrade beyond its pod's charge: the ResourceQuota whose room it
     * took (annotation GPUSLICE_ANNOTATION_UPGRADE_QUOTA); NULL otherwise. */
    const char *upgrade_quota;
};

struct gpuslice_status {
    const char *phase;        /* "Creating" when absent */
    const char *device_uuid;  /* NULL until Created */
    const char *boot_id;      /* NULL until Created */
    const char *reason, *message;
    const char *warm_until;   /* RFC 3339; NULL unless the slice was Warm */
    bool has_ids;             /* gi_id and ci_id are set (giID, ciID) */
    unsigned gi_id, ci_id;
};

/* A GPUSlice seen through its fields (borrowed from the object). */
struct gpuslice_view {
    const char *name, *ns, *uid;
    bool deleting;            /* metadata.deletionTimestamp is set */
    struct gpuslice_spec spec;
    struct gpuslice_status status;
};

/* Reads a GPUSlice; -EINVAL naming the first missing or mistyped field. */
int gpuslice_read(const json_t *obj, struct gpuslice_view *v, struct err *e);

/* A memo of 2^bits views for gpuslice_read_memo (util/jmemo.h; jmemo_free
 * frees it): each slot is a view (about 240 bytes) and holds its object. */
struct jmemo *gpuslice_memo_new(unsigned bits);
/* gpuslice_read, answered from memo when it holds obj (a cached object,
 * which no one changes: its view stays true while the memo holds it); a
 * view read well is kept. For readers of the same versions again and
 * again, as a controller's decisions are. */
int gpuslice_read_memo(struct jmemo *memo, const json_t *obj, struct gpuslice_view *v,
                       struct err *e);

/* The name of the index-th slice of a pod's container:
 * "<pod>-<container>-<index>", shortened with a hash when longer than a
 * name may be, so the same slice always gets the same name (a retried
 * create then finds it instead of making a second). */
void gpuslice_name(const char *pod, const char *container, unsigned index,
                   char out[GPUSLICE_NAME_MAX]);

/* A new GPUSlice for spec in ns, owned by pod (controller owner reference
 * with blockOwnerDeletion), holding GPUSLICE_SLICE_FINALIZER, named by
 * gpuslice_name. New reference owned by
 * the caller; NULL when out of memory. */
json_t *gpuslice_new(const char *ns, const struct gpuslice_spec *spec, const json_t *pod);

/* A copy of obj (the caller's) with status set: phase, and the fields of
 * status that are not NULL (giID and ciID with has_ids); lastTransitionTime
 * = now (RFC 3339) unless now is NULL (a change within the phase). NULL
 * when out of memory. */
json_t *gpuslice_with_status(const json_t *obj, const struct gpuslice_status *status,
                             const char *now);

#endif
