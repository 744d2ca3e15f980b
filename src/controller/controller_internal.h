/*
 * What the controller's files share (internal to src/controller): its state
 * and the helpers one decision uses. controller.c holds the reconcile
 * entry, the handlers and the release path; place.c the placement of a
 * pod's missing slices; waiting.c the pods waiting for room; upgrade.c
 * upgrades and restores.
 */
#ifndef GPUSLICE_CONTROLLER_INTERNAL_H
#define GPUSLICE_CONTROLLER_INTERNAL_H


#include "api/gpuslice.h"
#include "api/pod_slices.h"
#include "api/pod_slices_memo.h"
#include "api/schedfit.h"
#include "controller/controller.h"
#include "controller/model.h"
#include "util/mutex.h"
#include "util/strmap.h"

#define CONTROLLER_KEY_MAX 320
#define CONTROLLER_INDEX_POD "pod" /* GPUSlices by spec.podName */
#define CONTROLLER_INDEX_GPU "gpu" /* GPUSlices by spec.gpuUUID */
/* A GPUSlice Creating longer than this (from its creation) is said on its
 * pod: the agent has neither made the slice nor said why. A create takes
 * seconds on real GPUs, and a failure is a status at once. */
#define CONTROLLER_SLICE_SLOW_NS (60 * NS_PER_SEC)
/* 256 views for the cluster's decisions (controller__slice_view). */
#define CONTROLLER_SLICE_VIEW_BITS 8

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
    enum share_mode share;  /* a share of a whole GPU (profile "", start 0), else 0 */
    unsigned gib, sm;       /* the share's memory and SM percent (MPS) */
    bool created; /* the create succeeded; waiting for the cache */
    unsigned extra_gib; /* an upgrade: GiB beyond what the pod's quota was charged */
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

/* A GPU's failed slices in a row, and until when it is avoided (0: not). */
struct gpu_failures {
    unsigned count;
    int64_t until;
};

/* What the pods bound to a node and not ended ask of it, kept by the pod
 * handler so a decision reads it instead of parsing every pod there. */
struct node_usage {
    struct schedfit_resources used; /* no entry at 0 */
    size_t pods;
};

/* A pod's failed slices so far, and when to place it again. */
struct pod_retry {
    unsigned failures;
    int64_t at;
};

/* An opted-in pod whose asked profile could not be placed (upgrade.c):
 * since when, and whether its bad annotation was said. */
struct upgrade_wait {
    int64_t since;
    bool warned;
};

/* A restore in flight (upgrade.c): the pod deleted for its owner (uid) to
 * make again, until that owner's next pod is placed or until expires. */
struct restore_flight {
    char owner_uid[64];
    int64_t until;
};

/* The key the restore decision runs under: never a pod's, as a namespace
 * cannot hold a dot. */
#define CONTROLLER_RESTORE_KEY "gpuslice.dev/restore"

/* A GPUSlice that is warm, or was and is being released (warm.c): its
 * pod ended, its namespace holds the slice for its next pod. */
struct controller_warm {
    char ns[64];
    char pod[GPUSLICE_NAME_MAX];     /* spec.podName: the key that reconciles it */
    char gpu[MODEL_UUID_MAX];
    char profile[POD_PROFILE_MAX];
    unsigned start, size;            /* memory slices */
    uint32_t mib;                    /* the profile's memory */
    int64_t until;                   /* status.warmUntil */
    bool releasing;                  /* Deleting (after it was warm), or let go by a
                                      * write of this controller the cache does not
                                      * show yet */
    /* A taker holds its placement (a GPUSlice of its namespace, or a
     * reservation for one): the model claims it under the taker's key. */
    bool shadowed;
};

/* A pod waiting for room (waiting.c). */
struct controller_waiter {
    uint64_t seq;   /* when it first waited */
    uint64_t group; /* pods alike share one */
    char rv[24];    /* the pod version group was worked out of ("": none) */
};

/* An Ungated status write that went through (controller.ungated_from). */
struct controller_ungated {
    char rv[24];    /* the cached version it was written from */
    int64_t at;     /* when (its lastTransitionTime) */
};

/* How long such a note holds back a second write (ungated_from). */
#define CONTROLLER_UNGATED_NOTE_NS (10 * NS_PER_SEC)

struct controller {
    struct controller_config cfg;
    const struct api_resource *pod_res, *slice_res;
    struct informer *pods, *slices, *gpunodes, *nodes, *namespaces, *quotas;
    struct loop *loop;
    struct mutex lock; /* everything below: handlers run on informer threads */
    /* The cluster's GPUs and every placement held (GPUSlices in the cache,
     * reservations, unmanaged slices), kept by the handlers. */
    struct model model;
    struct reservation *res;
    size_t n_res, cap_res;
    struct strmap gpu_failures; /* GPU uuid -> struct gpu_failures */
    struct strmap pod_retry;    /* pod uid -> struct pod_retry */
    struct strmap node_usage;   /* node name -> struct node_usage */
    struct strmap last_said;    /* pod uid -> char *, "reason\nmessage" of the last event */
    /* GPUSlice "ns/name" -> struct controller_ungated: the version its
     * Ungated status was written from, until the cache shows another
     * version or CONTROLLER_UNGATED_NOTE_NS passes: finish_ungated sends
     * no second write from it, which could only be refused (409; ungate's
     * pod write usually comes back first). */
    struct strmap ungated_from;
    /* Pods told there is no room: "ns/name" -> when they first waited and
     * their group (waiting.c). Only they need waking when room frees. */
    struct strmap waiting;
    struct strmap wait_groups;   /* a group's signature -> its id (uint64_t) */
    struct strmap wait_members;  /* a group's id in hex -> its waiters, oldest first */
    uint64_t wait_seq, wait_next_group;
    /* A pod to wake once the lock is released (a group's next, after its
     * oldest was placed or went away). */
    char wake_next[CONTROLLER_KEY_MAX];
    bool wake_pending;
    /* Upgrades (upgrade.c): opted-in pods waiting since (pod uid -> struct
     * upgrade_wait), the live upgraded GPUSlices (slice key -> the pod's
     * key) and the restores in flight ("node/profile" -> struct
     * restore_flight). */
    struct strmap upgrade_waits;
    struct strmap upgraded;
    struct strmap restoring;
    bool restore_pending; /* queue the restore key once the lock is released */
    struct strmap warm;          /* GPUSlice "ns/name" -> struct controller_warm (warm.c) */
    struct strmap warm_said;     /* namespace -> char *, the bad keep-warm value said */
    struct controller_stats stats;
    struct controller_metrics *metrics; /* metrics.c's; NULL without cfg.metrics */
    struct wanted_slice *wanted; /* WANTED_MAX, scratch for one decision */
    struct jmemo *slices_memo; /* what decisions read of pods' annotations */
    struct jmemo *slice_views; /* the GPUSlices decisions read (controller__slice_view) */
};


/* Decides where the pod's missing slices go (all on one node, beside any
 * it already has) and appends the finalizer, the GPUSlice creates and an
 * Event to out; or, when there is no room, the Event and pod condition that
 * say why. Called with c->lock held. On failure out may hold part of the
 * decision (the loop then executes none of it) and the reservations made
 * for it stay, uncreated, until the pod's next decision drops them as
 * abandoned. */
int controller__place_missing(struct controller *c, const json_t *pod, struct wanted_slice *w,
                              size_t n, int64_t now, struct action_list *out,
                              int64_t *requeue_at, struct err *e);

/* The pod condition gpuslice keeps, gpuslice.dev/SlicesPlaced: whether
 * its slices could be placed, why (reason, message). Appends the pod's
 * status update to out only when the condition changes; after_write: an
 * earlier action of this decision writes the pod (place.c says why that
 * matters). Called with c->lock held. */
int controller__set_placed(struct controller *c, const json_t *pod, bool placed,
                           const char *reason, const char *message, int64_t now,
                           bool after_write, struct action_list *out, struct err *e);

/* ---- sharing.c ---- */

/* When the pod asks to share a whole GPU in a mode no GPU of the model
 * has (a GPU in mode mps, MIG disabled, for an MPS share): keeps it gated
 * with SlicesPlaced False and a Warning naming what is missing and the
 * modes the cluster has, and returns 1; 0 when every mode it needs exists
 * (placement then says whether one has room). Called with c->lock held. */
int controller__sharing_unplaced(struct controller *c, const json_t *pod,
                                 const struct pod_slices *ps, int64_t now,
                                 struct action_list *out, struct err *e);

/* Decides where the share want goes under the node rules of where, into
 * *d, and takes it in the model (model_share_release gives it back);
 * fails as placement_share_decide. The model is synced. */
int controller__share_decide(struct controller *c, const struct pod_slice_request *want,
                             const struct placement_request *where, struct share_decision *d,
                             struct err *e);

/* Claims in the model what the GPUSlice spec holds: a MIG slice or a
 * share, under key ("ns/name"). */
void controller__claim_slice(struct controller *c, const char *key,
                             const struct gpuslice_spec *spec);

/* "1g.10gb at memory slice 3 of GPU 0", "an MPS share (8 GiB, 30% of the
 * SMs) of GPU 0", "a time slice of GPU 0", snprintf-style. */
void controller__describe_slice(const struct gpuslice_spec *spec, char *out, size_t size);

/* Whether the whole pod, as it asked (no upgrade), could be placed now on
 * some node, everything held now staying held: that node's index, or -1.
 * Uses c->wanted. Called with c->lock held and the model synced. */
long controller__fits_as_asked(struct controller *c, const json_t *pod,
                               const struct pod_slices *ps);

/* The GPUs that keep failing held back for a decision, the others let on
 * again. Called with c->lock held. */
void controller__apply_avoidance(struct controller *c, int64_t now);

/* ---- upgrade.c ---- */

/* Whether pod, whose asked profiles could not be placed, may be upgraded
 * now: opted in and waiting at least its delay (counted from its first
 * failed decision). When it waits less, *requeue_at is the deadline; a bad
 * annotation is said once (an Event naming it). hint receives a few words
 * for the NoPlacement message ("" when not opted in). Called with c->lock
 * held. */
int controller__upgrade_due(struct controller *c, const json_t *pod, int64_t now,
                            struct action_list *out, int64_t *requeue_at, bool *due,
                            char *hint, size_t hint_size, struct err *e);

/* Says on pod that the slice asked as `asked` was given `given`, and
 * forgets its wait. Called with c->lock held. */
int controller__say_upgraded(struct controller *c, const json_t *pod, const char *asked,
                             const char *given, int64_t now, struct action_list *out);

/* The quota that names the room (may be NULL), and room's size. */
#define CONTROLLER_QUOTA_NAME_MAX 254
struct upgrade_room {
    unsigned gib;                          /* UINT_MAX: no quota limits it */
    char quota[CONTROLLER_QUOTA_NAME_MAX]; /* "" when none */
};

/* How many GiB of accelerator memory beyond what pod's quotas were charged
 * an upgrade of its slices may take: the least any quota of its namespace
 * that covers it leaves (hard less used, for requests. and limits. of
 * gpuslice.dev/accelerator-memory; a quota not yet counted leaves none),
 * less the extra of the namespace's upgraded GPUSlices and of the
 * upgrades reserved but not yet seen. Called with c->lock held. */
struct upgrade_room controller__upgrade_room(struct controller *c, const json_t *pod);

/* The pod was placed: its wait ends, and a restore in flight for its owner
 * is over (the restore decision runs again). Called with c->lock held. */
void controller__upgrade_placed(struct controller *c, const json_t *pod);

/* Keeps the table of live upgraded GPUSlices in step with the cache;
 * returns whether any is left. Called with c->lock held. */
bool controller__track_upgraded(struct controller *c, bool live,
                                const struct gpuslice_view *v);

/* The restore decision (CONTROLLER_RESTORE_KEY): deletes at most one
 * upgraded pod whose asked profiles can be placed now and whose owner
 * makes it again, the one that wastes most. Called with c->lock held. */
int controller__restore(struct controller *c, int64_t now, struct action_list *out,
                        int64_t *requeue_at, struct err *e);

/* Pod key waits for room (again): it keeps the place it first took, and
 * joins the group of pods alike (its own when alone: a pod with slices on
 * a node already). Called with c->lock held. */
void controller__wait(struct controller *c, const char *key, const json_t *pod, bool alone);

/* The waiting pods' tables, empty; freed (with what they own) by
 * controller__waiting_free. */
void controller__waiting_init(struct controller *c);
void controller__waiting_free(struct controller *c);

/* Key no longer waits (placed, ended, gone). When another pod of its group
 * still waits, its key goes to next (the oldest: room may be left) and the
 * result is true. Called with c->lock held. */
bool controller__unwait(struct controller *c, const char *key, char next[CONTROLLER_KEY_MAX]);

/* The oldest waiting pod of each group, oldest first, its keys
 * NUL-separated in one allocation the caller frees (NULL when none); *n
 * says how many. Called with c->lock held. */
char *controller__waiting_heads(struct controller *c, size_t *n);

/* gpuslice_read of a cached GPUSlice, from the controller's memo: a
 * decision reads each of its pod's slices several times, and each version
 * is read once. Called with c->lock held. */
int controller__slice_view(struct controller *c, const json_t *obj, struct gpuslice_view *v,
                           struct err *e);

/* Sends the GPUSlice obj on its way out (deleted, which makes it Deleting;
 * a Warm one goes to Deleting by status; a Deleted or Failed one is
 * deleted; one being deleted already is left to the agent) by appending to
 * out. Called with c->lock held. */
int controller__release_slice(struct controller *c, const json_t *obj, int64_t now,
                              struct action_list *out, struct err *e);

/* Whether the slices ps (the pod's, as pod_slices_of read them: its
 * gpuslice.dev/slices annotation when it has one) are backed by its
 * containers' requests (requests.c): 0, or -EPERM with e saying why, the
 * Warning's message. Slices read from the requests always are. */
int controller__slices_requested(const json_t *pod, const struct pod_slices *ps, struct err *e);

/* An Event about pod unless the last one said the same (so a pod retried
 * on every change does not count up the same event forever). */
int controller__say(struct controller *c, struct action_list *out, const json_t *pod,
                    enum action_event_type type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The key a slice's placement is claimed under in the model: "ns/name",
 * the same for its reservation and its GPUSlice. */
void controller__slice_key(const char *ns, const char *name, char out[CONTROLLER_KEY_MAX]);

/* Whether the pod is being deleted or has ended. */
bool controller__pod_done(const json_t *pod);

/* "2026-11-22T10:00:00Z" for now_ns. */
void controller__format_now(int64_t now_ns, char out[32]);

/* ---- warm.c: warm slices (docs/controller.md, "Warm slices") ---- */

#define CONTROLLER_KEEP_WARM "gpuslice.dev/keep-warm" /* namespace annotation */

void controller__warm_init(struct controller *c);
void controller__warm_free(struct controller *c);

/* The slices informer's handler part for warm slices, after the claim of
 * v was tracked: keeps the warm table and the claims at v's placement in
 * step (a warm slice claims its placement unless a taker does). Returns
 * whether a slice became warm (pods of its namespace may take it).
 * Called with c->lock held. */
bool controller__warm_track(struct controller *c, enum informer_change change,
                            const struct gpuslice_view *v);

/* The release path's hook for one GPUSlice of a pod that is gone or done
 * (pod: NULL when gone): an Ungated slice of an ended pod goes Warm when
 * its namespace keeps slices warm and the cap allows; a Warm one is kept
 * (its owner reference dropped, *requeue_at lowered to its expiry) or let
 * go. Returns 1 when it decided the slice (*left: whether the slice still
 * counts against the pod's finalizer), 0 when the caller releases it as
 * usual, or an error. Called with c->lock held. */
int controller__warm_hold(struct controller *c, const json_t *pod, const json_t *obj,
                          const struct gpuslice_view *v, int64_t now, struct action_list *out,
                          int64_t *requeue_at, bool *left, struct err *e);

/* A warm slice of namespace ns holding profile r->profile on a GPU and node
 * r accepts (models, selector, filter; the GPU usable and the profile
 * allowed), r->near first, then the one closest to its expiry; skipping
 * the keys in skip[n_skip]. Fills *d (existing false: the taker names the
 * placement, the agent hands the slice over) and returns its key (valid
 * until the table changes), or NULL. This is the one lookup of "a warm
 * slice of profile P for namespace N" (upgrades use it too). Called with
 * c->lock held, the model synced. */
const char *controller__warm_find(struct controller *c, const char *ns,
                                  const struct placement_request *r, const char *const *skip,
                                  size_t n_skip, struct placement_decision *d);

/* Whether the GPUSlice key is warm, or was and is being released: its
 * claim is then the warm table's business (controller__warm_settle). */
bool controller__warm_is(struct controller *c, const char *key);

/* The claims of the warm slices at (gpu, start) brought in step with their
 * takers: with claim false, those a taker holds now let go of theirs
 * (before a taker's claim is added); with claim true, those without a
 * taker claim (after a taker's claim went). So a warm slice and its taker
 * never both claim. Called with c->lock held. */
void controller__warm_settle(struct controller *c, const char *gpu, unsigned start, bool claim);

/* The pod keys ("ns/podName") of namespace ns's warm slices, NUL-separated
 * in one allocation the caller frees; *n says how many. Called with
 * c->lock held. */
char *controller__warm_pods(struct controller *c, const char *ns, size_t *n);

/* A taker of the warm slice key was decided: the model's claim moves to
 * the taker (taker_key) now, before the cache shows it. Called with
 * c->lock held. */
void controller__warm_taken(struct controller *c, const char *key, const char *taker_key);

/* Sends the warm GPUSlice key on its way out (Deleting, reason and
 * message in its status) by appending to out; nothing when the cache no
 * longer shows it warm. Called with c->lock held. */
int controller__warm_let_go(struct controller *c, const char *key, const char *reason,
                            const char *message, int64_t now, struct action_list *out,
                            struct err *e);

/* A status write of a GPUSlice (the body sent) was taken by the store:
 * a let-go that gives the slice's memory to someone else (reclaimed, a
 * mode change, taken, deleted) counts it released from now on, before the
 * cache shows it, so that no pod decided in between is handed it (the
 * keep-warm soak's reclaimed slice went to a taker while it was
 * destroyed) and no reclaim counts it twice. Only a write that landed:
 * one never executed (its decision stopped early) leaves it warm. The
 * cache's next version sets it anew. Called with c->lock held. */
void controller__warm_written(struct controller *c, const json_t *sent);

/* The pod cannot be placed: when releasing warm slices would make room
 * for it, lets go of the fewest (those the placement the policy chooses
 * on the node where they cost least overlaps; released ones already on
 * their way count as room) and writes what it waits for into why. Returns
 * 1 then, 0 when warm slices would not help. Called with c->lock held. */
int controller__warm_reclaim(struct controller *c, const json_t *pod, struct wanted_slice *w,
                             size_t n, long fixed, int64_t now, struct action_list *out,
                             char *why, size_t why_size, struct err *e);

/* place.c for warm.c: places the pod's missing slices (w, n) on node
 * (-1: any) in the model as it is, into d[] (*n_d of them), and takes
 * nothing. 0, or -ENOSPC and the other errors of a placement. */
int controller__place_trial(struct controller *c, const json_t *pod, struct wanted_slice *w,
                            size_t n, long node, struct placement_decision *d, size_t *n_d,
                            struct err *e);

/* ---- metrics.c (docs/metrics.md) ---- */

struct controller_metrics;

/* Registers the families in cfg.metrics (nothing without one) and the
 * scrape hook that reads the caches; _free removes it (before the
 * informers go). */
void controller__metrics_init(struct controller *c);
void controller__metrics_free(struct controller *c);

/* One placement decision that began at started_ns (CLOCK_MONOTONIC) came
 * to result. Called with c->lock held. */
void controller__metrics_decision(struct controller *c, const char *result, int64_t started_ns);

#endif
