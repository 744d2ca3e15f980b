/*
 * The gpuslice agent, one per GPU node: it makes on the GPUs what the
 * GPUSlices of its node ask for, hands each slice to its container, and
 * reports the node's GPUs.
 *
 * It is a reconciler (reconcile/loop.h). Keys are "namespace/name" of a
 * GPUSlice of the node, plus AGENT_KEY_NODE for the node itself (discovery,
 * the GPUNode, the Node's accelerator memory, recovery of orphaned slices).
 * A decision reads the informer caches and what the agent last saw on the
 * device, and returns actions; device calls and CDI files are EXTERNAL
 * actions (enum agent_op) that only agent_execute performs. So the decision
 * logic never touches the device, the store or the clock, and tests and the
 * simulator drive it step by step in virtual time.
 *
 * What the agent remembers (the device inventory and slice list it last
 * read, failures of its own device calls, which slices it made, when it
 * first saw an orphan, and in virtual time until when a device call is
 * still running) is observed state, like a cache: losing it on a restart
 * costs at most one extra device call, never a wrong decision.
 *
 * A slice is named by where it is (GPU, profile, start), as in device.h; a
 * GPUSlice claims the slice at its spec's placement. The phases it moves
 * (core/lifecycle.h): Creating -> Created (slice made, ConfigMap written
 * first), Created -> Failed (device failure, nothing left on the GPU),
 * Deleting (the GPUSlice being deleted, or an older Deleting status) ->
 * gone (slice destroyed, ConfigMap and CDI spec updated, then the agent's
 * finalizer removed; a Deleting status without a deletion is set Deleted).
 * Recovery rules are in agent_recovery.c. A GPUSlice that shares a whole
 * GPU (spec.sharing: MPS, time-slicing) holds no slice: agent_share.c
 * hands it over and runs the GPUs' MPS daemons.
 *
 * Device calls in parallel. The driver takes one MIG change at a time per
 * GPU, and different GPUs side by side. So a create or destroy is a call
 * on its GPU: the agent gives the device its clock (device_set_clock), and
 * a backend that models time reports a call made while its GPU is busy as
 * lasting until the GPU is free plus its own time. Nothing about a slice is
 * decided while a call on it runs; other slices, on any GPU, go on.
 *   - Virtual time (virtual_time): agent_execute makes the call and records
 *     it as running until now + its duration; the key comes back then.
 *   - Real time, started (agent_start): agent_execute hands the call to its
 *     GPU's worker thread and returns; the worker makes the calls of its GPU
 *     one at a time (destroys queued before creates), sleeps a modelled
 *     duration, and reports; the key is decided again at once, so a slice
 *     is handed over (ConfigMap, Created) as soon as its own create returns.
 *   - Real time, stepped: agent_execute makes the call and sleeps it.
 * A failed device call is noted for the key's next decision (which turns it
 * into a status, or retries it) and retried no sooner than the work queue's
 * backoff allows; it does not fail the action (the failure may come after
 * the action returned).
 *
 * Threads: informer handlers may run in any thread (they only enqueue);
 * agent_reconcile and agent_execute run in the loop's one thread; the GPUs'
 * workers report under the agent's lock, which decisions hold too.
 */
#ifndef GPUSLICE_AGENT_AGENT_H
#define GPUSLICE_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "device/device.h"
#include "reconcile/loop.h"
#include "store/informer.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/prom.h"
#include "util/log.h"

#define AGENT_KEY_NODE "@node" /* no GPUSlice key lacks a '/' */
#define AGENT_LABEL_NODE "gpuslice.dev/node"
#define AGENT_CDI_KIND "gpuslice.dev/mig"
#define AGENT_INFORMERS 4

#define AGENT_ORPHAN_GRACE_DEFAULT_NS (60 * NS_PER_SEC)
#define AGENT_RECOVERY_PERIOD_DEFAULT_NS (30 * NS_PER_SEC)
#define AGENT_REPORT_DELAY_DEFAULT_NS (100 * NS_PER_MS)
#define AGENT_REPORT_PERIOD_DEFAULT_NS (2 * NS_PER_SEC)
/* How long the note of a ConfigMap write holds back the same write while
 * the agent's cache has not heard of it (a lost watch event): then it is
 * sent again. */
#define AGENT_CONFIG_MAP_NOTE_NS (10 * NS_PER_SEC)

/* The external operations; params are JSON objects, see agent_exec.c. */
enum agent_op {
    AGENT_OP_DISCOVER = 1, /* inventory, slices and boot id */
    AGENT_OP_CREATE,       /* {key, gpuUUID, profile, start} */
    AGENT_OP_DESTROY,      /* {key (absent for an orphan), gpuUUID, profile, start} */
    AGENT_OP_WRITE_CDI,    /* {key, path, uuid, spec} */
    AGENT_OP_REMOVE_CDI,   /* {path} */
    AGENT_OP_MPS_ENSURE,   /* {gpuUUID, key (absent from the node pass)}: start unless alive */
    AGENT_OP_MPS_STOP,     /* {gpuUUID}: quit */
};

struct agent_config {
    struct store *store;    /* not owned; the informers read it */
    /* Not owned; only agent_execute and the workers call it. agent_new
     * gives it now_ns (device_set_clock), which it keeps: clock_ctx must
     * live as long as the device is used. */
    struct device *device;
    const char *node;       /* this node's name (copied) */
    /* The clock of the runtime, nanoseconds since the Unix epoch; the loop
     * must use the same. agent_execute reads it, and the change handlers
     * (on the informers' threads) to date the report. Required. */
    clock_now_fn now_ns;
    void *clock_ctx;
    /* The informers' clock (their backoff), on any monotonic scale, with
     * the same clock_ctx; NULL: CLOCK_MONOTONIC. */
    clock_now_fn informer_now_ns;
    bool virtual_time;          /* see "Modelled time" above */
    /* Given to its informers (informer_config): told when a write concerns
     * the agent's node, so that a virtual-time driver steps only the agents
     * with work; NULL: none. */
    void (*on_event)(void *ctx);
    void *on_event_ctx;
    int64_t orphan_grace_ns;    /* 0: AGENT_ORPHAN_GRACE_DEFAULT_NS */
    int64_t recovery_period_ns; /* 0: AGENT_RECOVERY_PERIOD_DEFAULT_NS */
    /* How long after a change the node's report (GPUNode, Node) and its
     * recovery pass run, so that the changes of a burst share one write:
     * 0: AGENT_REPORT_DELAY_DEFAULT_NS. A new boot id is looked at at once. */
    int64_t report_delay_ns;
    /* The delay instead for a change only the report shows (a slice made
     * or destroyed, a GPUSlice changing phase) while nothing waits on the
     * node pass (the modes are known, no mode change waits, no MPS daemon
     * runs): the changes of a few seconds share one pass and one write.
     * 0: AGENT_REPORT_PERIOD_DEFAULT_NS; less than report_delay_ns: that. */
    int64_t report_period_ns;
    bool reclaim_unmanaged;     /* destroy orphans gpuslice did not make, too */
    const char *cdi_dir;        /* NULL or "": no CDI specs (copied) */
    /* A file on the node that keeps which slices gpuslice made, across
     * agent and API server restarts (agent_ledger.c); read by agent_new.
     * NULL: this process's memory and the GPUNode only. Not copied. */
    const char *ledger_path;
    struct log *log;            /* failed device calls (warnings); not owned; NULL: none */
    /* Where the device operations are counted (docs/metrics.md); not
     * owned, must outlive the agent; NULL: none. */
    struct prom *metrics;
    /* MPS (agent_share.c): the root of the daemons' pipe and log folders
     * (--mps-root; NULL: MPS_ROOT_DEFAULT) and the control program to run
     * whatever the backend (NULL: the backend's own way, device.h). Given
     * to the device by agent_new (device_set_mps). */
    const char *mps_root;
    const char *mps_control;
};

/* What the agent did; agent_get_stats may be called from any thread. */
struct agent_stats {
    uint64_t creates, destroys;   /* device calls that succeeded */
    uint64_t device_failures;     /* device calls that failed */
    uint64_t discoveries;
    uint64_t discoveries_unchanged; /* of those, the device's count of changes
                                       said nothing changed: nothing was read */
    uint64_t node_passes_repeated; /* node passes skipped: the last one again
                                      over the same inputs, which found nothing
                                      to do (agent_node.c) */
    uint64_t orphans_destroyed;
    uint64_t recreated;           /* slices made again after they vanished */
    uint64_t mps_starts;          /* MPS daemons started, restarts included */
    uint64_t mps_restarts;        /* MPS daemons found dead with clients and started again */
    uint64_t mps_stops;           /* MPS daemons quit */
    uint64_t mps_running;         /* MPS daemons the agent knows to run now */
};

struct agent;

/* An agent with its informers (the node's GPUSlices and ConfigMaps by the
 * label gpuslice.dev/node=<node>, its GPUNode and Node by name), not
 * started: the runtime steps or starts them. *out is the caller's
 * (agent_free). -EINVAL for a config without store, device, node or clock;
 * -ENOENT when the store does not serve a resource the agent needs. */
int agent_new(const struct agent_config *cfg, struct agent **out, struct err *e);

void agent_free(struct agent *a);

/* The informers, for the runtime to step or start. */
void agent_informers(struct agent *a, struct informer *out[AGENT_INFORMERS]);

/* Where the handlers and the executor send keys. */
void agent_attach(struct agent *a, struct loop *l);

/* Queues the node key and every GPUSlice of the node (at start). */
void agent_resync(struct agent *a);

/* The reconciler to run in a loop; self is a. */
struct reconciler agent_reconciler(struct agent *a);

/* The reconciler's callbacks, public for tests that call them directly. */
int agent_reconcile(void *self, const char *key, int64_t now_ns, struct action_list *out,
                    int64_t *requeue_at_ns, struct err *e);
int agent_execute(void *self, const struct action *act, json_t **result, struct err *e);
void agent_executed(void *self, const char *key, const struct action *act, int rc,
                    const json_t *result, const struct err *e);

void agent_get_stats(struct agent *a, struct agent_stats *out);

/*
 * The agent's invariant, for tests and the simulator: at rest, the slices on
 * the device are exactly those of the node's GPUSlices that are neither
 * Deleted nor Failed (each at its spec's GPU, profile and start), ignoring
 * slices the node's GPUNode reports as not made by gpuslice. It reads the
 * store and the device directly (it is a check, not a decision). 0 when it
 * holds; -EPROTO with every difference named in e ("leaked: GPU-x 1g.10gb
 * at 3; missing: ns/name (Ungated) at GPU-x 1g.10gb 0"); other codes when
 * the store or the device fail. *leaked and *missing (may be NULL) count
 * the differences.
 */
int agent_invariant_check(struct store *st, struct device *dev, const char *node,
                          unsigned *leaked, unsigned *missing, struct err *e);

#endif
