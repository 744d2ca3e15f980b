/*
 * The reconcile loop: keys in, decisions out, decisions executed.
 *
 * A loop owns one reconciler, a work queue of keys, and the store that
 * actions are executed against. Informer change handlers (any thread) map
 * changes to keys and call loop_enqueue. The runtime calls loop_run_ready
 * (or lets loop_start's thread do it): for each ready key the reconciler
 * decides from its caches, and the loop executes the actions in order.
 *
 * What the loop does with outcomes is the same for every component, so
 * reconcilers need not repeat it:
 *   - all actions done: the key's failure count is forgotten, and the key
 *     comes back at the time the reconciler asked for, if any;
 *   - a conflict, an AlreadyExists, or a NotFound on update or patch (the
 *     decision was made on a cache that was behind): the remaining actions
 *     are dropped and the key is retried after its backoff, by which time
 *     the cache has caught up and the reconciler decides again;
 *   - a delete of something already gone counts as done; a failed Event is
 *     reported but does not stop the rest (events are best effort);
 *   - any other failure (of the decision or of a write): the key backs off
 *     exponentially.
 * The reconciler hears every outcome through its `executed` callback (to
 * drop a reservation whose write failed, for example).
 *
 * Time comes from the config's clock, so the simulator runs a loop in
 * virtual time by calling loop_run_ready at the times loop_next_due names.
 * A gate (may_act) keeps keys queued while this replica is not the leader;
 * it is asked again before each write of a decision, so a replica that
 * stops leading mid-decision writes no more of it (the key stays queued).
 */
#ifndef GPUSLICE_RECONCILE_LOOP_H
#define GPUSLICE_RECONCILE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "reconcile/action.h"
#include "util/err.h"
#include "util/log.h"
#include "util/prom.h"
#include "util/workqueue.h"

struct reconciler {
    const char *name; /* "controller", "agent/node-a", "scheduler": for logs */
    void *self;
    /* Decides for key at now_ns: reads caches, appends actions to out. It
     * may set *requeue_at_ns to be called again then (0: not). A negative
     * return is a failure to decide: nothing is executed and the key backs
     * off. Must not block or do I/O. */
    int (*reconcile)(void *self, const char *key, int64_t now_ns, struct action_list *out,
                     int64_t *requeue_at_ns, struct err *e);
    /* Optional: the outcome of each action executed for key (e says why
     * when rc < 0). result, borrowed, is the stored object when rc is 0 and
     * wants_results is set, else NULL: over HTTP an answer nobody reads is
     * not parsed. */
    void (*executed)(void *self, const char *key, const struct action *a, int rc,
                     const json_t *result, const struct err *e);
    bool wants_results;
    /* Executes an ACTION_EXTERNAL (required when the reconciler emits any);
     * *result (may stay NULL) is passed on to executed and then freed. */
    int (*execute_external)(void *self, const struct action *a, json_t **result,
                            struct err *e);
    /* Optional: says what an ACTION_EXTERNAL does, for the log ("create a
     * slice"); without it the log says "external operation N". */
    void (*describe_external)(void *self, const struct action *a, char *buf, size_t size);
};

struct loop_config {
    struct store *store;                /* not owned */
    struct reconciler reconciler;
    const char *component;              /* Event source: "gpuslice-controller" */
    const char *host;                   /* Event host; NULL for cluster-wide components */
    /* Nanoseconds since the Unix epoch, real or virtual. NULL: the real
     * clock (CLOCK_REALTIME). */
    clock_now_fn now_ns;
    void *clock_ctx;
    struct backoff backoff;             /* zero: WORKQUEUE_BACKOFF_DEFAULT */
    /* Optional: whether this replica may act now (leader election, a
     * runtime matter, not the reconciler's). Keys stay queued while it
     * says no. */
    bool (*may_act)(void *ctx, int64_t now_ns);
    void *may_act_ctx;
    /* Where failed decisions and writes are reported, one line each
     * ("controller: update pods ns/p for ns/p: Conflict: ..."): a write
     * dropped for a stale cache at info, other failures as warnings (the
     * key is retried). Not owned; NULL: not reported (the reconciler still
     * hears of them through executed). */
    struct log *log;
    /* Where the loop's metrics go (gpuslice_reconcile_*, labelled with the
     * reconciler's name): queue depth, keys decided, retries. Not owned,
     * must outlive the loop; NULL: none. */
    struct prom *metrics;
};

struct loop_stats {
    uint64_t reconciles;    /* keys decided */
    uint64_t actions;       /* actions executed successfully */
    uint64_t stale;         /* decisions dropped for a stale cache */
    uint64_t failures;      /* failed decisions and writes */
};

struct loop;

/* A new loop with nothing queued, owned by the caller (loop_free). */
int loop_new(const struct loop_config *cfg, struct loop **out, struct err *e);

/* Stops the thread if it runs, and frees the loop; NULL is fine. */
void loop_free(struct loop *l);

/* Queues key now / at at_ns. Thread-safe; wakes loop_start's thread.
 * Cannot fail, so that no change is ever lost (a lost enqueue is a lost
 * reconcile): memory follows util/alloc.h, and the only other failure of
 * the work queue, a key empty or longer than WORKQUEUE_KEY_MAX - 1 bytes,
 * is the caller's bug, not the cluster's (every "namespace/name" of a valid
 * object fits: 63 + 1 + 253 bytes), so it aborts with a message. */
void loop_enqueue(struct loop *l, const char *key);
void loop_enqueue_at(struct loop *l, const char *key, int64_t at_ns);

/* For reconcilers: asks for the key again no later than at_ns, that is
 * *requeue_at_ns (0: nothing asked yet) becomes the earlier of the two. */
void loop_requeue_by(int64_t *requeue_at_ns, int64_t at_ns);

/* For reconcilers: whether due_ns has come by now_ns; if not, the key is
 * asked for again then (loop_requeue_by), so that it is looked at without
 * any other change to wake it. */
bool loop_due(int64_t due_ns, int64_t now_ns, int64_t *requeue_at_ns);

/* Decides and executes every key ready now (by the config's clock), at
 * most max of them (0: no limit); returns how many. */
size_t loop_run_ready(struct loop *l, size_t max);

/* When the next key is due (0: one is ready now; INT64_MAX: none queued). */
int64_t loop_next_due(struct loop *l);

/* Runs loop_run_ready on a thread of its own, sleeping until the next key is
 * due or one is enqueued, until loop_stop. -EBUSY when already running. */
int loop_start(struct loop *l, struct err *e);

/* Stops loop_start's thread and waits for it; no-op when not running. */
void loop_stop(struct loop *l);

/* Wakes the thread so it asks may_act (and the clock) again, for callers
 * whose answer changed (a replica that just became the leader). */
void loop_kick(struct loop *l);

void loop_get_stats(struct loop *l, struct loop_stats *out);

/* Keys queued (ready or waiting for their time). */
size_t loop_queue_depth(struct loop *l);

#endif
