/*
 * A shared informer: a local, always-current copy of one kind of object
 * that controllers read from instead of asking the server each time.
 *
 * It lists the objects once, then watches from the list's resourceVersion;
 * a watch that ends is reopened from the last resourceVersion seen (events
 * and bookmarks both move it), so nothing is lost or seen twice. When the
 * server no longer has that version (-EKEYEXPIRED, 410) it lists again and
 * reports the difference as changes. Failures back off exponentially with
 * jitter. It uses only the store interface, so it runs over any backend.
 *
 * The work is done by informer_step, one unit per call (a list, a watch
 * opening, or a batch of events), so a virtual-time runtime drives it with
 * its own clock (informer_config.now_ns) and its own idea of when to call
 * again (informer_wake_at); informer_start runs the same steps on a thread
 * for the real runtime. Steps must not run in two threads at once.
 *
 * The cache holds each object once, keyed by namespace and name, plus the
 * indexes the config asks for (by namespace, by node, by owner, or any
 * function of the object). Reads take a shared lock and hand out
 * references to the cached objects: the caller must json_decref them and
 * must NEVER modify them (json_deep_copy first to change one).
 *
 * Change handlers run in the thread that called informer_step, after the
 * cache has changed and with no lock held, so they may read the informer.
 */
#ifndef GPUSLICE_STORE_INFORMER_H
#define GPUSLICE_STORE_INFORMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "util/backoff.h"
#include "util/clock.h"

#define INFORMER_INDEX_MAX 8
#define INFORMER_KEYS_MAX 16
#define INFORMER_PAGE_DEFAULT 500
#define INFORMER_BATCH 256
/* 100 ms doubling up to 30 s. */
#define INFORMER_BACKOFF_DEFAULT ((struct backoff){100 * NS_PER_MS, 30 * NS_PER_SEC})

enum informer_change {
    INFORMER_ADDED = 0,
    INFORMER_UPDATED,
    INFORMER_DELETED,
};

/* Fills keys with up to max index keys of obj (strings borrowed from obj)
 * and returns how many it has (only the first max are used). */
typedef size_t (*informer_keys_fn)(const json_t *obj, const char **keys, size_t max,
                                   void *ctx);

struct informer_index {
    const char *name; /* what informer_by_index calls it */
    informer_keys_fn keys;
    void *ctx;
};

/* metadata.namespace (none for a cluster-scoped object). */
size_t informer_keys_namespace(const json_t *obj, const char **keys, size_t max, void *ctx);

/* The node an object is on: spec.nodeName (pods and GPUSlices alike);
 * none when unset. */
size_t informer_keys_node(const json_t *obj, const char **keys, size_t max, void *ctx);

/* The uid of every owner in metadata.ownerReferences. */
size_t informer_keys_owner(const json_t *obj, const char **keys, size_t max, void *ctx);

/* Called once per change. old is the previous state (NULL for ADDED), cur
 * the new one (for DELETED, the last state known). Both are borrowed and
 * read-only. */
typedef void (*informer_handler_fn)(void *ctx, enum informer_change change, const json_t *old,
                                    const json_t *cur);

struct informer_config {
    struct store *store;                /* not owned; must outlive the informer */
    const struct api_resource *res;
    const char *ns;                     /* NULL or "": all namespaces */
    const char *label_selector;         /* NULL: everything */
    const char *field_selector;
    size_t page_size;                   /* list page size; 0: INFORMER_PAGE_DEFAULT */
    struct informer_index indexes[INFORMER_INDEX_MAX];
    size_t index_count;
    informer_handler_fn handler;        /* NULL: none */
    void *handler_ctx;
    /* Nanoseconds on any monotonic scale; NULL: CLOCK_MONOTONIC. */
    clock_now_fn now_ns;
    void *clock_ctx;
    /* Zero fields: INFORMER_BACKOFF_DEFAULT's; a max below base is raised to
     * base; negative fields are -EINVAL. */
    struct backoff backoff;
    uint64_t seed;                      /* of the jitter */
    /* Passed to its watches (store_watch_opts): told when an event for it
     * is written; NULL: none. */
    void (*on_event)(void *ctx);
    void *on_event_ctx;
};

struct informer_stats {
    uint64_t lists;          /* complete lists (the first one included) */
    uint64_t relists;        /* of them, lists after an Expired watch */
    uint64_t watches;        /* watches opened */
    uint64_t events;         /* watch events applied, bookmarks included */
    uint64_t failures;       /* steps that failed and backed off */
};

struct informer;

/* A new informer that has done nothing yet; strings in cfg are copied.
 * -EINVAL for a config without store or resource, or with a bad index.
 * *out is the caller's (informer_free). */
int informer_new(const struct informer_config *cfg, struct informer **out, struct err *e);

/* Stops the thread runner if it runs, closes the watch, frees everything.
 * inf may be NULL. */
void informer_free(struct informer *inf);

/* One unit of work: the list (every page) when one is due, else opening the
 * watch, else up to INFORMER_BATCH events (waiting up to timeout_ms for the
 * first, as store_watch_next does). 0 when it did work; -EAGAIN when there
 * was nothing to do (no event in time, or backing off: see
 * informer_wake_at); any other code says what failed, after the informer
 * has planned how to recover from it (the caller just keeps stepping). */
int informer_step(struct informer *inf, int timeout_ms, struct err *e);

/* Steps each of the n informers until it has nothing ready now (any code
 * but 0 ends an informer's turn: a failed step has planned its own
 * recovery), in order, for virtual-time runtimes. Returns the steps that
 * did work. */
size_t informer_step_ready(struct informer *const *inf, size_t n);

/* When (on the config's clock) a backing-off informer will act again; 0
 * when it is not backing off. */
int64_t informer_wake_at(struct informer *inf);

/* Runs informer_step on a thread of its own until informer_stop (or
 * informer_free). -EBUSY when already running. */
int informer_start(struct informer *inf, struct err *e);

/* Stops the thread runner and waits for it; no-op when not running. */
void informer_stop(struct informer *inf);

/* True once the first list is in the cache. */
bool informer_synced(struct informer *inf);

/* Whether it follows its watch, with no list or reopening pending: then a
 * step has something to do only when the watch has an event. */
bool informer_watching(const struct informer *inf);

/* Waits (in real time) up to timeout_ms (negative: forever) for the first
 * list, for callers of informer_start. 0 or -ETIMEDOUT. */
int informer_wait_synced(struct informer *inf, int timeout_ms);

/* The cached object (a read-only reference the caller releases) or
 * -ENOENT. ns is ignored for a cluster-scoped resource. */
int informer_get(struct informer *inf, const char *ns, const char *name, json_t **out);

/* The cached objects in ns (NULL or "": all), in the order they entered the
 * cache: a new array of read-only objects, owned by the caller. NULL only
 * when out of memory. */
json_t *informer_list(struct informer *inf, const char *ns);

/* The cached objects whose index `index` has key, as informer_list does.
 * -ENOENT when there is no index of that name, -ENOMEM. */
int informer_by_index(struct informer *inf, const char *index, const char *key, json_t **out);

/* How many objects are cached. */
size_t informer_count(struct informer *inf);

/* Copies the last resourceVersion seen ("" before the first list) into buf
 * (truncated to len). */
void informer_resource_version(struct informer *inf, char *buf, size_t len);

void informer_get_stats(struct informer *inf, struct informer_stats *out);

#endif
