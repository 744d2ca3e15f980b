/*
 * What the agent's files share (not a public interface): the agent's state,
 * its memory of the device, and the helpers the slice, node, recovery and
 * executor halves call across files.
 */
#ifndef GPUSLICE_AGENT_AGENT_INTERNAL_H
#define GPUSLICE_AGENT_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/agent.h"
#include "agent/agent_report.h"
#include "api/gpunode.h"
#include "api/gpuslice.h"
#include "api/meta.h"
#include "core/lifecycle.h"
#include "reconcile/action.h"
#include "util/clock.h"
#include "util/jmemo.h"
#include "util/mutex.h"
#include "util/strmap.h"
#include "util/workqueue.h"

#define AGENT_NODE_MAX 254
#define AGENT_PATH_MAX 4096
#define AGENT_SYNC_POLL_NS (100 * NS_PER_MS) /* caches not synced yet */
#define AGENT_INDEX_CONFIG_MAP "configMap"
#define AGENT_INDEX_GPU "gpuUUID" /* the GPUSlices of one GPU */
/* 32 views (about 8 KB once touched) per agent: one agent per node of a
 * 10,000-node simulation adds up, and a miss costs only one read of the
 * version (envelope-3000: 11,404 misses against 9,372 with 256 slots). */
#define AGENT_SLICE_VIEW_BITS 5
#define AGENT_RUNNING INT64_MAX /* a pending call a worker has not finished */
/* Device calls that failed are retried after this backoff (the work
 * queue's): the key's next decision waits for it. */
#define AGENT_RETRY_BACKOFF WORKQUEUE_BACKOFF_DEFAULT

/* Where a slice is on the node: the identity of a slice (device.h). */
struct agent_place {
    unsigned gpu;       /* index in the inventory */
    unsigned start;
    uint32_t profile_id;
};

/* A device call of the agent's own that failed. The message is allocated
 * only for a failure (agent__failure_set): a note per live GPUSlice holds
 * three of these, and a message buffer each made a note 2 KB. */
struct agent_failure {
    int code;  /* 0: none */
    char *msg; /* NULL: "" (agent__failure_msg) */
};

/* What the agent remembers about one GPUSlice key. */
struct agent_note {
    char key[WORKQUEUE_KEY_MAX];
    struct agent_failure create, destroy;
    struct agent_failure hand_over;  /* writing its CDI spec */
    char cdi_uuid[DEVICE_UUID_MAX];  /* the MIG UUID its CDI spec was written with */
    bool config_map_foreign;         /* creating its ConfigMap found one not in the cache */
    unsigned failures;               /* its device calls that failed in a row */
    int64_t retry_at;                /* no device call for it before then */
    /* The last write of its status or its finalizer decided for it: built
     * from the cached version status_from (its resourceVersion; "" when
     * none, or it failed) and saying status_hash; status_done once the
     * store took it (agent_slice.c). */
    char status_from[24];
    uint64_t status_hash;
    bool status_done;
    /* The last write of its ConfigMap decided for it (config_map_sent):
     * built from the cached version config_map_from ("" when the cache
     * showed none), saying config_map_hash, at config_map_at;
     * config_map_deciding until the store took it (agent_executed), then
     * config_map_noted: that holds back the same write until the cache
     * hears of the ConfigMap or AGENT_CONFIG_MAP_NOTE_NS passes. A write
     * never executed (an action before it failed) or refused is not
     * noted, so the next decision sends it. */
    bool config_map_deciding;
    bool config_map_noted;
    char config_map_from[24];
    uint64_t config_map_hash;
    int64_t config_map_at;
};

/* A device call still running: in virtual time until done_at, or on a
 * worker (AGENT_RUNNING) until it reports. */
struct agent_pending {
    unsigned gpu, start;
    int64_t done_at;
};

/* A slice on the device that no GPUSlice claims, since when. */
struct agent_orphan {
    struct agent_place at;
    int64_t since;
    bool seen; /* in the current recovery pass */
    unsigned failures;
    int64_t retry_at; /* no destroy before then */
};

/* The device's count of changes (device_changes), read before a read of the
 * slices: while it stays the same, that read is still what the device
 * holds. Not known for a backend without a count. */
struct agent_changes {
    bool known;
    uint64_t count;
};

/* A create or destroy, from the executor to whoever runs it (itself, or
 * the GPU's worker in real time) and back with the outcome. */
struct agent_call {
    char key[WORKQUEUE_KEY_MAX];           /* "" for an orphan */
    bool create, recreate;
    unsigned gpu;                          /* index in the inventory */
    char gpu_uuid[DEVICE_UUID_MAX];
    char profile[DEVICE_PROFILE_NAME_MAX];
    uint32_t profile_id;                   /* the GPU's id of profile (creates) */
    unsigned start;
    /* the outcome (agent__call_run) */
    int rc;
    struct err why;
    struct device_slice made;
    uint64_t took;                         /* the call and the list after it */
    uint64_t seq;                          /* when the list after it was read */
    struct agent_changes changes;          /* the device's count before that list */
    bool listed;                           /* the list and boot id were read */
    char boot_id[DEVICE_BOOT_ID_MAX];
};

struct agent_workers;

/* What the agent knows of one GPU's MPS daemon (agent_share.c). */
enum agent_mps_state { AGENT_MPS_UNKNOWN, AGENT_MPS_DOWN, AGENT_MPS_UP };
struct agent_mps {
    enum agent_mps_state state; /* UNKNOWN until the first call after a start */
    int64_t next_check;         /* UP: when the periodic pass asks again */
    struct agent_failure failure; /* the last call's, while it failed */
    unsigned failures;
    int64_t retry_at;           /* no call before then */
    bool restarted;             /* it died and was started again: Events owed */
};

/* The loop's thread decides and executes; in real time the GPUs' workers
 * (agent_workers.c) run creates and destroys and report under `lock`,
 * which guards everything below cfg except the stats (atomics). It is
 * never held across a device call, a store call or a sleep. */
struct agent {
    struct agent_config cfg;
    struct mutex lock;
    char node[AGENT_NODE_MAX];
    struct loop *loop;
    struct informer *slices, *config_maps, *gpunodes, *nodes;
    const struct api_resource *res_slices, *res_config_maps, *res_gpunodes, *res_nodes;

    /* What the device showed last (agent_exec.c writes, the rest reads).
     * Both are allocated to what they hold, not to the device's maxima
     * (16 GPUs, 112 slices: 66 KB per agent, most of a node's memory in a
     * simulation of ten thousand): inv has its n_gpus GPUs, dev room for
     * dev_cap slices; nothing reads past them. */
    bool have_inventory;
    bool need_discovery;             /* the boot id changed: MIG modes may have too */
    struct device_inventory *inv;
    uint64_t inv_gen;                /* inventories installed so far (one is replaced, never changed) */
    struct device_slices *dev;
    unsigned dev_cap;
    uint64_t dev_seq;                /* when the list in dev was read */
    struct agent_changes dev_changes; /* the device's count before that read */
    uint64_t discover_took;          /* the last discovery's modelled duration */
    uint64_t read_seq;               /* lists read so far (atomic) */
    char boot_id[DEVICE_BOOT_ID_MAX];
    int64_t next_discovery;          /* periodic recovery */
    int64_t node_busy_until;         /* a discovery still running (virtual time) */
    struct agent_report_memo report; /* the GPUNode reports (agent_report.h) */
    /* What the node pass reads from outside it changed this often (the
     * GPUSlices' claims, the GPUNode, the Node, the device as read, calls
     * and their outcomes: agent__node_inputs_changed); quiet_at is that
     * count when the last pass found nothing to do, 0 after one that did
     * (agent_node.c skips a pass that would repeat it). */
    uint64_t node_inputs, node_quiet_at;
    /* The spec of the GPUNode version the mode pass last read whole
     * without error, a reference held so that its address is not reused
     * (agent_mode.c). */
    struct {
        json_t *spec;
    } gpunode_seen;
    struct agent_workers *workers;   /* real time, started: the GPUs' workers */

    struct agent_pending *pending;
    size_t n_pending, cap_pending;
    struct agent_place *made;        /* slices this process (or the ledger) says it made */
    size_t n_made, cap_made;
    struct agent_place *intents;     /* creates asked of the device, not finished */
    size_t n_intents, cap_intents;
    struct agent_orphan *orphans;
    size_t n_orphans, cap_orphans;
    /* Every GPUSlice of the node and what its version says about claims
     * (agent_recovery.c), read once per version: "namespace/name" ->
     * struct agent_claim_memo, kept by the slices' change handler. */
    struct strmap claim_memo;
    /* The views of the GPUSlice versions the decisions and the claims read
     * (agent__slice_view): a slice is read by its own decision, by the
     * node pass's claims and by its neighbours' scans, once per version;
     * the change handler lets superseded and deleted versions go. */
    struct jmemo *slice_views;
    struct agent_note *notes;
    size_t n_notes, cap_notes;

    /* The GPUs' modes as applied (agent_mode.c), by device index; known
     * after the first node pass. */
    bool modes_known;
    enum gpunode_mode mode[DEVICE_MAX_GPUS];
    char mode_pending[ERR_MSG_MAX];        /* the condition's message, "" none */
    char mode_refused[ERR_MSG_MAX];        /* the ModeRefused Event's, "" none */
    char mode_pending_since[META_TIME_LEN];

    /* By device index (DEVICE_MAX_GPUS of them), made at the first MPS
     * call: NULL, every daemon is AGENT_MPS_UNKNOWN (agent__mps), as on a
     * node whose GPUs all have MIG, which never calls one. */
    struct agent_mps *mps;

    struct agent_stats stats;
    struct agent_metrics *metrics;  /* agent_metrics.c's; NULL without cfg.metrics */
};

/* ---- agent.c: keys, notes, device lookups ---- */

/* The note of key, made when missing (NULL when out of memory / not made). */
struct agent_note *agent__note(struct agent *a, const char *key, bool make);
void agent__note_forget(struct agent *a, const char *key);

/* f says code and msg (copied; NULL or "": none). */
void agent__failure_set(struct agent_failure *f, int code, const char *msg);
/* f's message, "" when it has none. */
const char *agent__failure_msg(const struct agent_failure *f);
/* Frees f's message (f is then no failure). */
void agent__failure_free(struct agent_failure *f);

void agent__enqueue(struct agent *a, const char *key);
/* Queues the node key to run within the report delay (agent.h), so that
 * the changes of a burst share one report. */
void agent__report_soon(struct agent *a);
/* The same for a change only the report shows: within the report period
 * (agent.h) unless something waits on the node pass. Lock held. */
void agent__report_later(struct agent *a);
void agent__enqueue_all(struct agent *a);
/* Queues every GPUSlice of the node that names a slice starting at start
 * on the GPU with device index gpu, whatever its key: those that waited
 * for the call there to end. Lock held. */
void agent__enqueue_at(struct agent *a, unsigned gpu, unsigned start);

/* The inventory's GPU with this uuid, or NULL. */
const struct device_gpu *agent__gpu(const struct agent *a, const char *uuid);
/* The inventory's GPU with device index gpu, or NULL. */
const struct device_gpu *agent__gpu_at(const struct agent *a, unsigned gpu);
/* The GPUSlices that name the GPU with device index gpu (the informer's
 * GPU index: a sixteenth of a 16-GPU node's, not all of them), a new
 * reference the caller drops; NULL when there is no such GPU or no
 * memory. Lock held. */
json_t *agent__slices_on(struct agent *a, unsigned gpu);

/* The slice on the device that starts at start on gpu (any profile), or
 * NULL. */
const struct device_slice *agent__slice_at(const struct agent *a, unsigned gpu, unsigned start);

/* The placement a GPUSlice names, resolved on the inventory: 0, or -ENODEV
 * (no such GPU) / -EINVAL (no such profile on it) with e filled. */
int agent__place_of(const struct agent *a, const struct gpuslice_view *v,
                    struct agent_place *out, struct err *e);

/* When the call at (gpu, start) finishes (0: none runs; AGENT_RUNNING: a
 * worker runs it). */
int64_t agent__pending_until(struct agent *a, unsigned gpu, unsigned start, int64_t now);

bool agent__made(const struct agent *a, const struct agent_place *p);

/* The ledger (agent_ledger.c). Load: the file's places into made (none
 * when there is no file); -EINVAL naming the file when it is malformed.
 * Intend: p is about to be created; done: its create returned (the caller
 * has noted in made what it made). Both with lock held; both rewrite the
 * file, and log a file that cannot be written. */
int agent__ledger_load(struct agent *a, struct err *e);
void agent__ledger_intend(struct agent *a, const struct agent_place *p);
void agent__ledger_done(struct agent *a, const struct agent_place *p);
/* Slices made went from the device (made shrank): the file follows, so a
 * later agent does not take a slice someone else makes there for its own. */
void agent__ledger_pruned(struct agent *a);

/* Appends `n` to *items (growing it); -ENOMEM. */

/* Whether the four informers have their first list. */
bool agent__synced(struct agent *a);

/* Appends an external action with params built by json_pack; -ENOMEM. */
int agent__external(struct action_list *out, enum agent_op op, json_t *params, struct err *e);

/* ---- agent_slice.c: a GPUSlice key ---- */

/* One decision about one GPUSlice. */
struct agent_decision {
    struct agent *a;
    const char *key;
    int64_t now;
    const json_t *obj;          /* the cached GPUSlice */
    struct gpuslice_view v;
    enum slice_phase phase;
    struct action_list *out;
    int64_t *requeue_at;
};

/* Which status fields a status write removes (unless it sets them). */
#define AGENT_CLEAR_WHY    1u /* reason, message */
#define AGENT_CLEAR_DEVICE 2u /* deviceUUID, giID, ciID */

int agent__reconcile_slice(struct agent *a, const char *key, int64_t now, struct action_list *out,
                           int64_t *requeue_at, struct err *e);

/* Asks to be called again at `at` (the earliest of all asks wins). */
void agent__requeue(struct agent_decision *d, int64_t at);

/* Writes the status: phase `to` (a transition checked against the
 * lifecycle table when it is not the current phase), st's fields, minus
 * the cleared ones; nothing when that changes nothing, or when the same
 * write was sent from the version the cache still shows (the cache is
 * behind the agent's own write, whose echo brings the key back). */
int agent__set_status(struct agent_decision *d, enum slice_phase to,
                      const struct gpuslice_status *st, unsigned clear, struct err *e);

/* obj as a status write makes it: gpuslice_with_status(obj, st, now), less
 * the fields `clear` removes where st does not set them. A new object;
 * NULL when out of memory. */
json_t *agent__with_status(const json_t *obj, const struct gpuslice_status *st, unsigned clear,
                           const char *now);

/* Whether agent__with_status(obj, st, clear, NULL) would leave obj's status
 * as it is (as json_equal has it), answered from the status itself without
 * the copy: agent__set_status's shortcut, which must agree with the copy
 * (tests/agent/test_status.c holds the two side by side). */
bool agent__status_unchanged(const json_t *obj, const struct gpuslice_status *st, unsigned clear);

/* The slice is off the GPU (or was never the agent's to destroy): its end
 * in one write. An object being deleted (the controller's release) loses
 * the agent's finalizer and goes: its going is the "Deleted". One released
 * by a Deleting status (a warm slice let go, an older controller's
 * release) is set Deleted, and the controller deletes it. */
int agent__slice_gone(struct agent_decision *d, struct err *e);

/* The store's answer (rc) to the write `sent` for key (a status, or the
 * finalizer's removal): taken, it is not sent again from the same cached
 * version; failed, it may be. */
void agent__status_executed(struct agent *a, const char *key, const json_t *sent, int rc);

/* The cache has a new version of key: no write is held back any more (so a
 * server that restarted with an empty store, reusing resourceVersions,
 * never makes the agent skip a write it needs). */
void agent__status_seen(struct agent *a, const char *key);

/* The cache heard of key's ConfigMap, or a write of it failed: no
 * ConfigMap write of key is held back any more (config_map_sent in
 * agent_slice.c). */
void agent__config_map_seen(struct agent *a, const char *key);

/* A ConfigMap write decided for key went through: the same write is held
 * back from what the cache still shows (config_map_sent). */
void agent__config_map_taken(struct agent *a, const char *key);

/* A device call about the slice at `at` (create: spec's profile; destroy:
 * the device's), unless the key's last call failed and its backoff is not
 * over; comes back to see the outcome. `recreate` marks a create that makes
 * a lost slice again. */
int agent__device_op(struct agent_decision *d, enum agent_op op, const struct agent_place *at,
                     const char *profile, bool recreate, struct err *e);

/* The slice cannot be had: Failed with reason and message (ConfigMap
 * updated first); see agent_recovery.c for an Ungated slice. */
int agent__give_up(struct agent_decision *d, const char *reason, const char *message,
                   struct err *e);

/* The status reason for a device error code ("InUse" for -EBUSY). */
const char *agent__reason_of(int code);

/* ---- agent_node.c: the node key ---- */

/* Something a node pass reads changed (see node_inputs). Lock held. */
void agent__node_inputs_changed(struct agent *a);

int agent__reconcile_node(struct agent *a, int64_t now, struct action_list *out,
                          int64_t *requeue_at, struct err *e);

/* ---- agent_recovery.c ---- */

/* Whether a GPUSlice in this phase holds its placement on the device. */
bool agent__phase_holds(enum slice_phase p);

/* Whether the GPUSlice obj is one of this node's that holds its placement
 * (agent__phase_holds), read into *v, *phase (as lifecycle_seen has it: one
 * being deleted is Deleting) and *at. */
bool agent__holding(struct agent *a, const json_t *obj, struct gpuslice_view *v,
                    enum slice_phase *phase, struct agent_place *at);

/* Whether the GPUSlice v (obj, in phase p, holding the slice at `at`) is
 * the one a search over d's placement looks for. */
typedef bool agent__pick_fn(const struct agent_decision *d, const json_t *obj,
                            const struct gpuslice_view *v, enum slice_phase p,
                            const struct agent_place *at);

/* Whether a GPUSlice of the node other than d's holds the slice that
 * starts at at->start on at->gpu and is one pick accepts; its "ns/name"
 * into found (may be NULL). */
bool agent__other_at(struct agent *a, const struct agent_decision *d,
                     const struct agent_place *at, agent__pick_fn *pick, char *found,
                     size_t size);

/* Whether a Creating GPUSlice may take over the slice already at its
 * placement. */
bool agent__adoptable(struct agent *a, const struct device_slice *s);

/* Whether the slice is gpuslice's (see agent_recovery.c). */
bool agent__managed(struct agent *a, const struct device_slice *s, bool claimed);

/* One GPUSlice of the node, and what a version of it says about the
 * node's claims. */
struct agent_claim_memo {
    json_t *cur;         /* its version in the cache (a reference) */
    json_t *obj;         /* the version read: a reference, so that its address
                            is not reused; NULL: none, or not memoisable */
    enum { AGENT_CLAIM_NONE, AGENT_CLAIM_SHARE, AGENT_CLAIM_HOLDS } kind;
    enum slice_phase phase;      /* AGENT_CLAIM_HOLDS: */
    struct agent_place at;
    const char *gpu_uuid;        /* borrowed from obj */
    const void *model;           /* of the GPU at at.gpu when it was placed */
    uint64_t inv_gen;            /* the inventory (agent.inv_gen) that GPU was checked in */
};
/* gpuslice_read of a cached version, answered from a->slice_views when
 * read before (gpuslice_read_memo). Lock held. */
int agent__slice_view(struct agent *a, const json_t *obj, struct gpuslice_view *v,
                      struct err *e);
/* Releases a memo's references (the memo map's drop). */
void agent__claim_memo_drop(void *memo);
/* The GPUSlice key changed to version cur, or is gone. Lock held. */
void agent__claim_note(struct agent *a, const char *key, const json_t *cur, bool gone);

/* The placements the node's GPUSlices hold (agent__phase_holds). */
struct agent_claims {
    size_t n;
    struct agent_place *items;
    /* The node's shares (GPUSlices with spec.sharing, agent__phase_holds)
     * by device index: how many, how many of them MPS, and the GPUNode's
     * status.gpus[].clients for them (NULL: none). */
    unsigned shares[DEVICE_MAX_GPUS], mps_clients[DEVICE_MAX_GPUS];
    json_t *clients[DEVICE_MAX_GPUS];
};
int agent__claims_load(struct agent *a, struct agent_claims *out, struct err *e);
void agent__claims_free(struct agent_claims *c);
bool agent__claimed(const struct agent_claims *c, const struct device_slice *s);

/* The slice of a Created or Ungated GPUSlice is not on the device (a reboot
 * or someone took it): make it again at the same placement. */
int agent__recreate(struct agent_decision *d, const struct agent_place *at, struct err *e);

/* Making it failed: an Ungated slice keeps its phase (only Deleting leaves
 * Ungated), says why in its status, drops its device, and is retried with
 * backoff; a Created one fails. */
int agent__recreate_failed(struct agent_decision *d, struct agent_note *n,
                           const struct agent_place *at, struct err *e);

/* The node key's recovery pass, given the slices claimed (as
 * agent__claims_load made them): destroys orphans whose grace (and, after a
 * failed destroy, backoff) is over and on which no call runs, and lowers
 * *requeue_at to when the next is due. */
int agent__recover_orphans(struct agent *a, const struct agent_claims *claims, int64_t now,
                           struct action_list *out, int64_t *requeue_at, struct err *e);

/* ---- agent_exec.c ---- */

/* An inventory with no GPU and a list with no slice, allocated to that
 * (agent_new's, until the first discovery). */
struct device_inventory *agent__inventory_empty(void);
struct device_slices *agent__slices_empty(void);

/* Records when the call at (gpu, start) ends (0: it has); forgets calls
 * that ended by now. Called with a->lock held. */
void agent__pending_set(struct agent *a, unsigned gpu, unsigned start, int64_t done_at,
                        int64_t now);

/* Makes the call on the device, then reads the slices (into after) and the
 * boot id; fills c's outcome. No lock held: device I/O only. */
void agent__call_run(struct agent *a, struct agent_call *c, struct device_slices *after);

/* What a call that ends at done_at (virtual time; 0: it has ended) leaves
 * in the agent's memory: the slices as read after it (unless a newer read
 * is already there), its pending mark, its outcome noted for the key's
 * next decision (a failure also sets when to retry), the stats; queues the
 * key and the node key. Called with a->lock held. */
void agent__call_finish(struct agent *a, const struct agent_call *c,
                        const struct device_slices *after, int64_t done_at);

/* ---- agent_mode.c: the GPUs' modes ---- */

/* Whether the agent applies mig-static to the GPU with device index gpu. */
bool agent__static(struct agent *a, unsigned gpu);

/* The node pass's decision of every GPU's mode (spec's once gpuslice holds
 * nothing there), with the Events that say a change waits or is done;
 * a->mode_pending then holds the condition's message. */
int agent__apply_modes(struct agent *a, const struct agent_claims *claims, int64_t now,
                       struct action_list *out, struct err *e);

/* Whether d's Creating GPUSlice may have the slice that is already at
 * `at` (a mig-static GPU's, or a warm one on a mig GPU): no other GPUSlice
 * of the node that holds it comes before it, those that yield to d's
 * namespace (agent__yields) aside (agent_mode.c); else holder gets the one
 * that does, "ns/name". */
bool agent__holder(struct agent *a, const struct agent_decision *d, const struct agent_place *at,
                   char *holder, size_t size);

/* ---- agent_warm.c: warm slices ---- */

/* Whether the GPUSlice v (in phase p, as lifecycle_seen has it) gives its
 * slice up to a GPUSlice of namespace ns: it is Warm, or Deleting (its
 * object being deleted, or its status) after it was warm. */
bool agent__yields(const struct gpuslice_view *v, enum slice_phase p, const char *ns);

/* Whether d's GPUSlice, warm or released after it was warm, has an heir: a
 * GPUSlice of the node in its namespace, neither Warm nor Deleting (nor
 * being deleted), that
 * holds the same slice (at). Its release then destroys nothing. */
bool agent__warm_heir(struct agent *a, const struct agent_decision *d,
                      const struct agent_place *at);

/* The decision for a Warm GPUSlice: the slice stays, without its CDI spec
 * and its ConfigMap entry; a slice no longer on the GPU ends the hold
 * (Deleting, SliceLost). */
int agent__keep_warm(struct agent_decision *d, struct err *e);

/* agent_slice.c's hand-over undone, for agent_warm.c: the CDI spec's
 * removal, and the container's ConfigMap rewritten (without d's slice when
 * exclude_self). */
int agent__remove_cdi(struct agent_decision *d, struct err *e);
int agent__sync_config_map(struct agent_decision *d, bool exclude_self, struct err *e);

/* ---- agent_share.c: GPUSlices that share a whole GPU (MPS, time-slicing) ---- */

/* The decision for a share in a phase that holds it (Creating, Created,
 * Ungated) and for one that is Deleting (or being deleted). */
int agent__keep_share(struct agent_decision *d, struct err *e);
int agent__remove_share(struct agent_decision *d, struct err *e);

/* Adds the share obj (read into v, in phase p) to c's counts and clients. */
int agent__claim_share(struct agent *a, struct agent_claims *c, const struct gpuslice_view *v,
                       enum slice_phase p);

/* The env a share's ConfigMap gives its container, when the share obj is
 * ready for it (its GPU in the mode it asks, an MPS daemon up): a new
 * object; NULL when not (yet). */
json_t *agent__share_env(struct agent *a, const json_t *obj);

/* The node pass's MPS work, per GPU: quits daemons that serve nobody (no
 * MPS client left, or the mode is no longer mps), checks the running ones
 * each recovery period, finds out after a restart which run, and sends
 * the Events of a daemon that died to its clients' pods. */
int agent__mps_pass(struct agent *a, const struct agent_claims *claims, int64_t now,
                    struct action_list *out, int64_t *requeue_at, struct err *e);

/* What the agent knows of the daemon of the GPU with device index gpu
 * (< DEVICE_MAX_GPUS). */
const struct agent_mps *agent__mps(const struct agent *a, unsigned gpu);

/* Whether an MPS daemon is up. */
bool agent__mps_up(const struct agent *a);

/* Whether an MPS daemon is up (the periodic pass checks it) or a call to
 * one waits for its backoff. */
bool agent__mps_watched(const struct agent *a);

/* AGENT_OP_MPS_ENSURE and AGENT_OP_MPS_STOP (one thread: the loop's,
 * which serialises each GPU's daemon calls). */
int agent__exec_mps(struct agent *a, const json_t *params, bool ensure, struct err *e);

/* ---- agent_workers.c: one worker per GPU, real time ---- */

/* Lets creates and destroys run on workers (started per GPU on first use);
 * until then agent_execute makes them itself. Called with no call running. */
void agent__workers_start(struct agent *a);

/* Hands c to its GPU's worker; -errno when no worker could be started
 * (the caller then makes the call itself). Called with a->lock held. */
int agent__workers_submit(struct agent *a, const struct agent_call *c);

/* Waits for the calls running, drops those still queued (their keys are
 * queued again to decide anew) and stops the workers. No-op when not
 * started. */
void agent__workers_stop(struct agent *a);

/* The CDI spec file of the slice at start on the GPU gpu_uuid. */
void agent__cdi_path(const struct agent *a, const char *gpu_uuid, unsigned start, char *buf,
                     size_t size);

/* ---- agent_metrics.c (docs/metrics.md) ---- */

struct agent_metrics;

/* Registers the families in cfg.metrics (nothing without one) and the
 * scrape hook; _free removes it. */
void agent__metrics_init(struct agent *a);
void agent__metrics_free(struct agent *a);

/* One device operation of kind ("create", "destroy", "discover") ended
 * with rc after took_ns. Any thread. */
void agent__metrics_device(struct agent *a, const char *kind, int rc, uint64_t took_ns);

/* The agent's lock-free counters (agent_stats) add n to *counter. */
void agent__count(uint64_t *counter, uint64_t n);

#endif
