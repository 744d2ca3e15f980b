/*
 * The embedded object store: the store.h interface over memory, with the
 * API server's semantics (see store.h), for the embedded cluster, the
 * simulator and tests.
 *
 * Objects are kept as jansson values that no one changes, shared by every
 * in-process reader and watcher (and by the versions of an object, for the
 * parts a write did not change), plus a small index (labels, the fields
 * selectors use, owners); the compact JSON text is made once, when an HTTP
 * client first needs it.
 *
 * Time comes from the caller's clock (creationTimestamp, deletionTimestamp),
 * and uids and generated names from a seeded sequence, so a run in virtual
 * time is reproducible. The store never reads the real clock; only
 * store_watch_next with a timeout above 0 waits in real time.
 *
 * The collector (garbage collection of dependents, foreground and orphan
 * deletion, and the namespace finalizer: a deleted namespace is emptied, then
 * removed) is a step the caller runs with mem_store_collect, so a virtual-
 * time runtime decides when it runs. With auto_collect it runs inside every
 * write before the write returns, which is what the embedded API server and
 * the semantics tests use.
 */
#ifndef GPUSLICE_STORE_MEM_H
#define GPUSLICE_STORE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/clock.h"

#define MEM_STORE_HISTORY_DEFAULT 10000
/* kube-apiserver's --event-ttl. */
#define MEM_STORE_EVENT_TTL_DEFAULT_NS (3600 * INT64_C(1000000000))

/* How many of the latest versions keep their jansson value beside their
 * text by default (mem_store_config.values_kept). */
#define MEM_STORE_VALUES_DEFAULT 1024
/* Every version keeps its value (mem_store_config.values_kept). */
#define MEM_STORE_VALUES_ALL SIZE_MAX

/* How long a watch from a resourceVersion the store has not reached waits
 * for it, on the store's clock, before it ends with -ETIME ("Too large
 * resource version"): kube-apiserver's watch cache waits 3 s. */
#define MEM_STORE_FUTURE_WAIT_NS (3 * NS_PER_SEC)

/* How often, at most, a watch that allows bookmarks gets one, on the
 * store's clock: kube-apiserver's watch cache sends each watcher one about
 * once a minute. A client needs them only to resume a watch from past the
 * events its selection skipped; one after every batch cost an event per
 * write to each watcher over HTTP. */
#define MEM_STORE_BOOKMARK_EVERY_NS (60 * NS_PER_SEC)

struct mem_store_config {
    /* Wall-clock time in nanoseconds since the Unix epoch. Required. */
    clock_now_fn now_ns;
    void *clock_ctx;
    /* Events the history ring keeps (0: MEM_STORE_HISTORY_DEFAULT): how far
     * back lists with a continue token and watches from a resourceVersion
     * reach. A watch past its backlog needs none of it: each holds the
     * events it was given. The ring holds the versions it reaches back to,
     * so a short one frees an old version soon after it is replaced. */
    size_t history;
    /* How many unread events one watch may hold before it ends as expired
     * (its client relists), as a kube-apiserver watcher whose buffer
     * overflows; each holds its version. 0: history. */
    size_t watch_buffer;
    uint64_t seed;      /* uids and generated names */
    /* How many of the latest writes' versions keep their value (the parsed
     * object, which in-process readers and watchers share) beside their
     * compact text; older ones keep only the text, parsed again when read.
     * A 1.2 KB pod is about 11 KB as jansson values, so a store that kept
     * every value would cost ten times its text (bench_store). 0:
     * MEM_STORE_VALUES_DEFAULT (at most history - 1); MEM_STORE_VALUES_ALL:
     * every version keeps its value and is serialised only when someone
     * asks for the text (the simulator: its speed over its memory). */
    size_t values_kept;
    /* Events keep only their compact text from their first write on,
     * whatever values_kept says: for a store whose Events are seldom
     * read in process (the simulator: only its recorder, to count a repeat,
     * which parses the text). A run shorter than the event TTL
     * keeps every pod's Events, and as values (about 3 KB each, against
     * 0.6 KB of text) they were most of a million-pod run's memory. */
    bool events_text_only;
    bool auto_collect;  /* run the collector inside each write */
    /* The resourceVersion the store starts at (its first write gets the
     * next; 0: from 1), everything before it counting as compacted. A
     * store that replaces a lost one (an API server restarted with an
     * empty store) starts past every version the lost one gave, so a
     * client resuming a watch from one of those is told it is too old and
     * relists, instead of streaming from the middle of a store it never
     * listed. */
    uint64_t first_revision;
    /* An Event goes this long after its last write, as kube-apiserver's
     * --event-ttl has etcd expire it (the collector deletes it when it runs
     * past then); 0: MEM_STORE_EVENT_TTL_DEFAULT_NS, negative: never. */
    int64_t event_ttl_ns;
};

/* A new empty store (no objects, not even namespaces), owned by the caller
 * and freed with store_free. -EINVAL without a clock. */
int mem_store_new(const struct mem_store_config *cfg, struct store **out, struct err *e);

/* Runs up to max work items of the collector (0: until there is nothing
 * left to do). An item is one object to check or one deletion to advance;
 * it makes zero or more ordinary writes (deletes, updates), each with its
 * own resourceVersion and watch event. Sets *pending (if not NULL) to the
 * items still queued. Returns the items done, or a negative code: only
 * -ENOMEM, after which the writes of the items done so far stand. An item
 * that fails otherwise (a conflict with a concurrent write) is dropped, as
 * the write that conflicted queues the work again. */
int mem_store_collect(struct store *st, size_t max, size_t *pending, struct err *e);

/* Forgets the history up to the current resourceVersion, as etcd compaction
 * does: watches and continue tokens from before it get -EKEYEXPIRED. */
void mem_store_compact(struct store *st);

/* The current resourceVersion (the last write's), first_revision when
 * nothing was written. */
uint64_t mem_store_revision(struct store *st);

#endif
