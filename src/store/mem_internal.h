/*
 * Internals of the mem store, shared by its files and by no one else:
 *
 *   mem.c        the store itself: tables, reads, writes, commit
 *   mem_doc.c    one stored version of an object: JSON text + index
 *   mem_table.c  the open-addressing hash table every index uses
 *   mem_list.c   list with selectors, paging and historical snapshots
 *   mem_index.c  equality indexes: the objects a selected list looks at
 *   mem_order.c  the objects of a kind in key order: where a page resumes
 *   mem_watch.c  watches over the history ring
 *   mem_rules.c  what the API server does per kind (Pod, Namespace, CRD)
 *   mem_gc.c     the collector: owners, foreground/orphan, namespaces, CRDs
 *   mem_values.c the values versions share: literals, the current time
 *
 * Every write takes the one store mutex, bumps the resourceVersion by one
 * and appends exactly one event to the history ring, so an event's position
 * in the ring is its resourceVersion.
 */
#ifndef GPUSLICE_STORE_MEM_INTERNAL_H
#define GPUSLICE_STORE_MEM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/selector.h"
#include "store/mem.h"
#include "util/hash.h"
#include "util/mutex.h"
#include "util/rng.h"

/* --- hash table ----------------------------------------------------------- */

struct mem_slot {
    uint64_t hash;
    void *item; /* NULL: empty */
};

struct mem_table {
    struct mem_slot *slots;
    size_t cap, n; /* cap a power of two, or 0 */
};

typedef bool (*mem_table_eq)(const void *item, const void *key);

/* Items are hashed with util/hash.h's hash_string from HASH_INIT: short
 * keys (names, uids) that the store's own checks chose, so FNV-1a's lack
 * of resistance to chosen collisions does not matter. */

void *mem__table_find(const struct mem_table *t, uint64_t hash, mem_table_eq eq, const void *key);
/* Makes room for n more items so that the next n inserts cannot fail. */
int mem__table_reserve(struct mem_table *t, size_t n);
/* Inserts item (no duplicate check); room must have been reserved. */
void mem__table_insert(struct mem_table *t, uint64_t hash, void *item);
/* Removes and returns the matching item, or NULL. */
void *mem__table_remove(struct mem_table *t, uint64_t hash, mem_table_eq eq, const void *key);
void mem__table_free(struct mem_table *t);

/* --- documents ------------------------------------------------------------ */

/* One version of one object: the object, as a jansson value no one
 * modifies or as its JSON text or both, and what indexes and selectors
 * read, in a single allocation. Immutable once made: of parsed and blob,
 * one is set when it is made and the other is a memo filled at most once,
 * on first need (in process, nobody may need the text; over HTTP, nobody
 * may need the value), until the version cools (mem__doc_cool): then it
 * keeps only its text for good. Shared by the object table, the history
 * ring and readers through refs. */
struct mem_doc {
    size_t refs; /* atomic */
    json_t *parsed; /* atomic: the object, read-only; NULL until asked when blob is set */
    struct store_blob *blob; /* atomic: its compact text; NULL until asked when parsed is set */
    const struct api_resource *res;
    uint64_t rv;
    const char *ns; /* "" for cluster-scoped */
    const char *name;
    const char *uid;
    const char **labels; /* n_labels key/value pairs */
    const char **fields; /* the value of each res->selectable_fields ("" when absent) */
    const char **owners; /* ownerReferences uids */
    uint32_t n_labels, n_fields, n_owners;
    bool deleting;   /* metadata.deletionTimestamp is set */
    bool finalized;  /* metadata.finalizers is not empty */
    bool foreground; /* finalizer foregroundDeletion */
    bool orphan;     /* finalizer orphan */
    bool cold;       /* atomic: the value is gone and is not kept again */
    char strs[];
};

/* A document for obj (the object as stored, resourceVersion rv). With
 * blob (its text, taken over) obj is only read; without, obj itself is
 * the stored version (a reference is taken) and nothing may modify it any
 * more. prev (NULL: none) is the object's version before, whose selectable
 * field values obj's unchanged parts keep. */
struct mem_doc *mem__doc_new(const struct api_resource *res, json_t *obj, uint64_t rv,
                             struct store_blob *blob, const struct mem_doc *prev);
struct mem_doc *mem__doc_ref(struct mem_doc *d);
void mem__doc_unref(struct mem_doc *d);
/* The object's compact text, serialised on first need: a reference the
 * caller releases; NULL when out of memory. */
struct store_blob *mem__doc_blob(struct mem_doc *d);
/* The object as JSON (new reference, the caller's to change: a copy of
 * the stored value, or a parse of the text); NULL when out of memory. */
json_t *mem__doc_json(const struct mem_doc *d);
/* The object as JSON parsed once and shared by every caller: a new
 * reference to a value no one may modify (jansson's reference counts are
 * atomic, so threads may hold and read it at once); NULL when out of
 * memory. Saves each in-process watcher of an event its own parse. */
json_t *mem__doc_shared(struct mem_doc *d);
/* Lets d drop its value and keep only its text (made now if need be),
 * when held, the references the store itself has on d, are all there are:
 * every reader takes its reference under the store's lock, which the
 * caller holds, so then no one can be reading the value. Later readers
 * parse the text, each their own. */
void mem__doc_cool(struct mem_doc *d, size_t held);
/* Hash and comparison of the (namespace, name) key. */
uint64_t mem__key_hash(const char *ns, const char *name);
int mem__doc_key_cmp(const struct mem_doc *a, const struct mem_doc *b);
/* Whether a and b are equal but for the keys in skip (NULL-terminated)
 * when both are objects; json_equal otherwise (two NULLs are equal).
 * Nothing is copied. */
bool mem__equal_except(const json_t *a, const json_t *b, const char *const *skip);
/* Whether d matches the selectors (either may be NULL). */
bool mem__doc_matches(const struct mem_doc *d, const struct selector *ls,
                      const struct field_selector *fs);

/* --- the store ------------------------------------------------------------ */

/* A live object: its current version, and the live objects naming it in
 * their ownerReferences. */
struct mem_obj {
    struct mem_doc *doc;
    struct mem_obj **deps;
    size_t n_deps, cap_deps;
};

/* One equality index of a kind (mem_index.c). */
struct mem_index {
    char *tag;               /* as the routes': "n", "f<field index>", "l<label key>" */
    struct mem_table buckets; /* value -> the objects with it */
};

/* A kind's live objects in key order (mem_order.c). */
struct mem_order {
    struct mem_order_node *root; /* NULL: empty */
};

struct mem_kind {
    const struct api_resource *res;
    struct mem_table objs; /* (ns, name) -> struct mem_obj */
    struct mem_order order; /* the same objects by (ns, name) */
    struct mem_index *indexes; /* the tags lists asked for */
    size_t n_indexes, cap_indexes;
    /* Its open watches (mem_watch.c). One that selects by an equality (a
     * name, a selectable field, a label) is filed under it, so a write
     * looks only at the watches its object can concern instead of every
     * watch looking at every write; with an agent's watches per node that
     * is what keeps a write's cost from growing with the nodes. */
    struct mem_table routes;     /* "tag=value" -> struct mem_route */
    struct mem_watch **unrouted; /* the others */
    size_t n_unrouted, cap_unrouted;
    char **tags;                 /* the tags in use: "n", "f<field index>", "l<label key>" */
    size_t n_tags, cap_tags;
};

struct mem_event {
    enum store_event_type type;
    /* The new state; for DELETED the last state at the deletion's rv, or
     * the last version itself (then also prev), which a watch retags with
     * the deletion's rv when it delivers it (mem.c's commit_removal_shared). */
    struct mem_doc *cur;
    struct mem_doc *prev; /* the state before, NULL for ADDED */
};

enum mem_work_type {
    MEM_WORK_DEPENDENT,     /* key: a uid; check the owners of that object */
    MEM_WORK_OWNER,         /* key: a uid; foreground or orphan deletion of that object */
    MEM_WORK_NAMESPACE,     /* key: a namespace being deleted */
    MEM_WORK_CRD,           /* key: a CRD being deleted */
};

struct mem_work {
    enum mem_work_type type;
    char *key;
};

/* An Event's expiry: when its version rv, if still its last, goes. */
struct mem_expiry {
    int64_t at; /* on the expiries' clock, which never goes back */
    uint64_t rv;
    char *ns, *name;
};

/* Values the store puts in object after object, made once per store and
 * shared by every version that holds them (a reference each): a string
 * costs two allocations and a UTF-8 check to make, and two frees when the
 * history drops its version; a shared one costs a reference count. No code
 * changes a scalar in place (util/jdoc.h), so sharing one is safe. */
enum mem_literal {
    MEM_LIT_ONE,               /* a new object's generation */
    MEM_LIT_POD_SCHEDULED,     /* the condition's type */
    MEM_LIT_TRUE,
    MEM_LIT_FALSE,
    MEM_LIT_SCHEDULING_GATED,  /* PodScheduled's reason while gated */
    MEM_LIT_GATED_MESSAGE,     /* and its message */
    MEM_LIT_PENDING,           /* a new pod's phase */
    MEM_LIT_ALWAYS,            /* a pod's defaults: restartPolicy */
    MEM_LIT_GRACE_SECONDS,     /* terminationGracePeriodSeconds */
    MEM_LIT_CLUSTER_FIRST,     /* dnsPolicy */
    MEM_LIT_DEFAULT_SCHEDULER, /* schedulerName */
    MEM_LIT_COUNT
};

struct mem_store {
    struct store base;
    json_t *literals[MEM_LIT_COUNT];
    json_t *last_time;    /* the time mem__time_value gave last */
    int64_t last_time_s;  /* its second */
    struct mem_store_config cfg;
    struct mutex mu;
    struct mem_watch *waiting; /* watches blocked for an event (mem__watch_notify) */
    struct mem_watch **to_wake; /* woken by this lock's writes, signalled at unlock */
    size_t n_to_wake, cap_to_wake;
    uint64_t rv;            /* the last write's; stored atomically (watches peek at it) */
    uint64_t compacted;     /* events up to here are gone */
    struct mem_event *ring; /* the event of rv r is ring[r % ring_cap] */
    size_t ring_cap;
    size_t watch_buffer;    /* the unread events a watch may hold (cfg.watch_buffer) */
    struct mem_kind **kinds;
    size_t n_kinds, cap_kinds;
    struct mem_table uids;      /* uid -> struct mem_obj */
    struct mem_table ns_counts; /* namespace -> struct mem_ns_count */
    size_t values_kept;         /* cfg.values_kept, within the history */
    struct rng seq;             /* uids and generated names */
    struct mem_work *work;      /* the collector's queue */
    size_t work_head, work_n, work_cap;
    bool collecting;            /* the collector is running (no re-entry) */
    struct mem_expiry *expiring; /* Events by expiry, a ring in write order */
    size_t exp_head, exp_n, exp_cap;
    int64_t exp_seen, exp_elapsed; /* the expiries' clock (mem_gc.c's expiry_now) */
    uint64_t list_looked; /* documents lists looked at: what a page costs, for tests */
    bool exp_clock_set;
    const struct api_resource *namespaces, *crds, *pods;
};

struct mem_ns_count {
    size_t n;
    char ns[];
};

static inline struct mem_store *mem__of(struct store *st)
{
    return (struct mem_store *)st;
}

/* Whether a and b are the same resource: the same entry, or entries for
 * the same group, version and plural (a CRD changed in a way that made the
 * registry register its version anew keeps its objects). */
bool mem__same_resource(const struct api_resource *a, const struct api_resource *b);
/* Whether res is the core Events (expiring after the event TTL; text only
 * with mem_store_config.events_text_only). */
bool mem__is_event(const struct api_resource *res);
/* The table of res, or NULL when it has none yet. */
struct mem_kind *mem__kind_find(struct mem_store *ms, const struct api_resource *res);
/* The table of res, created on first use; NULL when out of memory. */
struct mem_kind *mem__kind_of(struct mem_store *ms, const struct api_resource *res);
/* The live object, or NULL. */
struct mem_obj *mem__find(struct mem_store *ms, const struct api_resource *res, const char *ns,
                          const char *name);
struct mem_obj *mem__find_uid(struct mem_store *ms, const char *uid);
/* Objects left in a namespace. */
size_t mem__ns_count(struct mem_store *ms, const char *ns);
/* The current time as the store's clock gives it. */
int64_t mem__now(struct mem_store *ms);

/* Writes under the lock, as the public calls do but with the object already
 * owned: obj is consumed. dry_run, subresource and preconditions as in
 * store.h. *out (if not NULL) gets the result. */
int mem__update_locked(struct mem_store *ms, const struct api_resource *res, const char *ns,
                       json_t *obj, const struct store_write_opts *o, json_t **out,
                       struct err *e);
int mem__delete_locked(struct mem_store *ms, const struct api_resource *res, const char *ns,
                       const char *name, const struct store_delete_opts *o, json_t **out,
                       struct err *e);

/* --- routes and indexes (mem_index.c) ---------------------------------------- */

#define ROUTE_KEY_MAX 640
/* Indexes a kind keeps at most (mem_index.c); lists past them scan. */
#define MEM_INDEXES_MAX 16

/* The one equality the selectors require, as a tag (into tag) and the
 * value, or NULL when they require none: a name first, then a selectable
 * field, then a label. Watches are routed by it, lists indexed. */
const char *mem__selector_route(const struct api_resource *res, const struct selector *ls,
                                const struct field_selector *fs, char tag[ROUTE_KEY_MAX]);
/* d's value under tag; NULL when it has none. */
const char *mem__doc_route_value(const struct mem_doc *d, const char *tag);
/* Keeps k's indexes and its key order: o's version changes from prev to
 * cur (NULL: absent).
 * Called by every write to k, with the lock held, before o may be freed. */
void mem__index_update(struct mem_kind *k, struct mem_obj *o, const struct mem_doc *prev,
                       const struct mem_doc *cur);
/* Frees k's indexes and its key order. */
void mem__index_free(struct mem_kind *k);
typedef int (*mem_index_fn)(void *ctx, struct mem_obj *o);
/* Calls fn on each live object of k (may be NULL) in ns (NULL: all) that
 * may match the selectors: every one that does, maybe others; stops at the
 * first non-zero return, which it returns. With the lock held. */
int mem__index_each(struct mem_store *ms, struct mem_kind *k, const char *ns,
                    const struct selector *ls, const struct field_selector *fs, mem_index_fn fn,
                    void *ctx);
/* How many objects mem__index_each would look at (in every namespace but
 * for a name): what a list through the index costs. With the lock held. */
size_t mem__index_candidates(struct mem_store *ms, struct mem_kind *k, const char *ns,
                             const struct selector *ls, const struct field_selector *fs);

/* --- key order (mem_order.c) ------------------------------------------------- */

/* Adds o (absent) to t; removes o's key from t. Cannot fail (util/alloc.h). */
void mem__order_insert(struct mem_order *t, struct mem_obj *o);
void mem__order_remove(struct mem_order *t, const struct mem_obj *o);
void mem__order_free(struct mem_order *t);
/* How many keys of t are at most (ns, name); name NULL: up to the last
 * name of ns. O(log N). */
size_t mem__order_count_upto(const struct mem_order *t, const char *ns, const char *name);
/* Calls fn on each object after (ns, name) in key order, until fn returns
 * non-zero (returned). O(log N) plus the objects fn is given. */
int mem__order_each_after(const struct mem_order *t, const char *ns, const char *name,
                          mem_index_fn fn, void *ctx);

/* The list and watch halves (mem_list.c, mem_watch.c). */
int mem__list(struct store *st, const struct api_resource *res, const char *ns,
              const struct store_list_opts *o, json_t **out, struct err *e);
int mem__watch_open(struct store *st, const struct api_resource *res, const char *ns,
                    const struct store_watch_opts *o, struct store_watch **out, struct err *e);
int mem__watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev,
                    struct err *e);
/* Called by a write, with the lock held, once the event of rv is in the
 * ring: marks for waking only the waiting watches that see it and moves
 * the others past it, so that a write does not wake every watcher of
 * every kind. The wake itself happens at mem__unlock. */
void mem__watch_notify(struct mem_store *ms, uint64_t rv);
/* Releases the store's lock, then wakes the watches its writes marked.
 * Every release after a write must go through here (a plain unlock would
 * leave the marked watches asleep until some later write's unlock). */
void mem__unlock(struct mem_store *ms);
/* Called by a write to k, with the lock held, once the event of rv is in
 * the ring: gives it to the watches of k that see it, looking only at the
 * ones filed under its object's routes and the unrouted ones. */
void mem__watch_route(struct mem_store *ms, struct mem_kind *k, uint64_t rv);
/* Before the store goes: frees k's routes; its watches stay open, reading
 * nothing more, and their close no longer touches the store. */
void mem__watch_detach_all(struct mem_kind *k);
void mem__watch_cancel(struct store_watch *w);
void mem__watch_close(struct store_watch *w);
/* Parses a resourceVersion: -EBADMSG naming what when it is not a number. */
int mem__parse_rv(const char *s, const char *what, uint64_t *rv, struct err *e);

/* Per-kind rules (mem_rules.c). create: obj is the candidate with metadata
 * stamped; update: obj is the candidate built from old. */
int mem__rules_create(struct mem_store *ms, const struct api_resource *res, json_t *obj,
                      struct err *e);
int mem__rules_update(struct mem_store *ms, const struct api_resource *res, const json_t *old,
                      json_t *obj, enum store_subresource sub, struct err *e);
/* Makes the store's literals (enum mem_literal); mem__literals_free
 * drops them. */
void mem__literals_make(struct mem_store *ms);
void mem__literals_free(struct mem_store *ms);
/* A new reference to literal l. */
json_t *mem__literal(struct mem_store *ms, enum mem_literal l);
/* The time ns as a metav1.Time string (meta_format_time): a new reference,
 * to the very value given last when that is the same second (the writes
 * of a second stamp creations and conditions with one shared string).
 * Under the store's lock, as every write. */
json_t *mem__time_value(struct mem_store *ms, int64_t ns);
/* A pod's PodScheduled condition as of now: True (bound), or False with
 * the reason and message of a pod held by its scheduling gates, built
 * member by member (json_pack's format scan and key checks cost more than
 * the rest, once a pod). */
json_t *mem__pod_scheduled(struct mem_store *ms, bool scheduled);
/* Whether an object marked for deletion may now go: no finalizers left (for
 * namespaces, no spec.finalizers either) and no grace period pending. */
bool mem__rules_may_remove(const struct api_resource *res, const json_t *obj);

/* The collector (mem_gc.c). */
int mem__gc_enqueue(struct mem_store *ms, enum mem_work_type type, const char *key);
/* Called by commit when an object was written: removed is true for a
 * removal; prev and cur are the versions before and after. */
void mem__gc_observe(struct mem_store *ms, struct mem_obj *obj, const struct mem_doc *prev,
                     const struct mem_doc *cur, bool removed);
int mem__gc_run(struct mem_store *ms, size_t max, struct err *e);
void mem__gc_free(struct mem_store *ms);

#endif
