/*
 * What the controller's files share (internal to src/controller): its state
 * and the helpers one decision uses. controller.c holds the reconcile
 * entry, the handlers and the release path; place.c the placement of a
 * pod's missing slices.
 */
#ifndef GPUSLICE_CONTROLLER_INTERNAL_H
#define GPUSLICE_CONTROLLER_INTERNAL_H

#include <pthread.h>

#include "api/gpuslice.h"
#include "api/podslices.h"
#include "controller/controller.h"
#include "controller/model.h"

#define CONTROLLER_KEY_MAX 320
#define CONTROLLER_INDEX_POD "pod" /* GPUSlices by spec.podName */
#define CONTROLLER_INDEX_NODE "node" /* pods by spec.nodeName */

/* A slice the controller decided whose GPUSlice the cache may not show
 * yet. It holds its placement until the cache shows the GPUSlice (or the
 * write is known to have failed). */
struct reservation {
    char ns[64];
    char name[GPUSLICE_NAME_MAX];
    char pod_key[CONTROLLER_KEY_MAX];
    char gpu[MODEL_UUID_MAX];
    char profile[POD_PROFILE_MAX];
    unsigned start;
    bool created; /* the create succeeded; waiting for the cache */
};

/* One slice a pod should have. */
struct wanted_slice {
    const struct pod_slice_request *req;
    unsigned index;                    /* per container, across its requests */
    char name[GPUSLICE_NAME_MAX];
    const json_t *existing;            /* its GPUSlice in the cache, or NULL */
    bool reserved;                     /* created, not yet in the cache */
};

#define WANTED_MAX (POD_SLICES_MAX * POD_SLICE_COUNT_MAX)

struct controller {
    struct controller_config cfg;
    const struct api_resource *pod_res, *slice_res;
    struct informer *pods, *slices, *gpunodes, *nodes;
    struct loop *loop;
    pthread_mutex_t lock; /* everything below: handlers run on informer threads */
    bool topology_dirty;
    struct model model;
    struct reservation *res;
    size_t n_res, cap_res;
    json_t *gpu_failures; /* uuid -> {"count": n, "until": ns} */
    json_t *pod_retry;    /* pod uid -> {"failures": n, "at": ns} */
    json_t *last_said;    /* pod uid -> "reason\nmessage" of the last event */
    /* Every GPUSlice in the cache that holds a placement, kept by the
     * GPUSlice handler so a decision reads a small table instead of parsing
     * every GPUSlice: "ns/name" -> {"gpu", "profile", "start"}. */
    json_t *placed;
    /* Pods told there is no room: "ns/name" -> true. Only they need waking
     * when room frees. */
    json_t *waiting;
    struct controller_stats stats;
    struct wanted_slice *wanted; /* WANTED_MAX, scratch for one decision */
};


/* Decides where the pod's missing slices go (all on one node, beside any
 * it already has) and appends the finalizer, the GPUSlice creates and an
 * Event to out; or, when there is no room, the Event and pod condition that
 * say why. Called with c->lock held. */
int place_missing(struct controller *c, const json_t *pod, struct wanted_slice *w, size_t n,
                  int64_t now, struct action_list *out, struct err *e);

/* An Event about pod unless the last one said the same (so a pod retried
 * on every change does not count up the same event forever). */
int say(struct controller *c, struct action_list *out, const json_t *pod,
        enum action_event_type type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* "2026-11-22T10:00:00Z" for now_ns. */
void format_now(int64_t now_ns, char out[32]);

#endif
