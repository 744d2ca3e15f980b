/*
 * The object store: what the controller, the agent, the embedded API server
 * and the simulator read and write Kubernetes objects through.
 *
 * Two backends implement the same calls with the same semantics: `mem` (the
 * embedded store, src/store/mem.h) and `kube` (a real API server over HTTPS).
 * The semantics are the API server's: a cluster-wide resourceVersion,
 * optimistic concurrency, the status subresource, finalizers, owner
 * references and garbage collection, label and field selectors, paged lists,
 * and watches that resume from a resourceVersion or fail with Expired.
 *
 * Objects are jansson documents addressed by a resource (api/resource.h), a
 * namespace (NULL or "" for cluster-scoped resources) and a name.
 *
 * Ownership: every json_t a call returns through an out-parameter is a new
 * reference owned by the caller (json_decref it); the caller may modify it,
 * except a watch event's object, which is shared and read-only.
 * Objects passed in are only read; the store keeps its own copy, unless the
 * caller hands the object over (store_write_opts.handed_over).
 *
 * Errors: 0 or a negative code with e filled, mapped to Kubernetes Status
 * reasons by api/status.h: -ENOENT NotFound, -EEXIST AlreadyExists, -ESTALE
 * Conflict, -EINVAL Invalid (message names the field), -EBADMSG BadRequest,
 * -EKEYEXPIRED Expired (410), -ENOSYS MethodNotAllowed, -EIO and others for
 * transport or internal failures. A write that fails changes nothing,
 * except that over HTTP (kube) a transport failure can come after the
 * server applied the write: a caller that must know reads the object back.
 * Messages follow the API server's wording (`pods "x" not found`) so that
 * kubectl prints what users expect.
 *
 * Thread safety: every call may be made from any thread at the same time,
 * except that one watch handle is used by one thread at a time
 * (store_watch_cancel excepted).
 */
#ifndef GPUSLICE_STORE_STORE_H
#define GPUSLICE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/resource.h"
#include "util/err.h"

struct store;
struct store_watch;

/* Which part of an object a write addresses. For a resource with a status
 * subresource, a STORE_MAIN write keeps the stored status and a
 * STORE_STATUS write keeps everything but status (labels, annotations,
 * finalizers and owner references included). For a resource without one,
 * STORE_STATUS is -ENOENT (the API server's 404 for an unknown
 * subresource). */
enum store_subresource {
    STORE_MAIN = 0,
    STORE_STATUS,
};

enum store_patch_type {
    STORE_PATCH_MERGE = 0, /* application/merge-patch+json (RFC 7386) */
    STORE_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
    STORE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json; built-in kinds only */
    STORE_PATCH_APPLY,     /* application/apply-patch+yaml (server-side apply), as JSON */
};

enum store_propagation {
    STORE_PROPAGATE_DEFAULT = 0, /* Background */
    STORE_PROPAGATE_BACKGROUND,  /* delete now; the collector deletes dependents after */
    STORE_PROPAGATE_FOREGROUND,  /* delete dependents first (foregroundDeletion finalizer) */
    STORE_PROPAGATE_ORPHAN,      /* strip dependents' owner references, keep them */
};

enum store_event_type {
    STORE_ADDED = 0,
    STORE_MODIFIED,
    STORE_DELETED,
    STORE_BOOKMARK, /* object carries only kind, apiVersion, metadata.resourceVersion */
};

/* Immutable JSON text with a reference count: an object serialised once and
 * shared by every watcher that sends it (NUL-terminated, compact). */
struct store_blob {
    size_t refs; /* atomic; use store_blob_ref / store_blob_unref */
    size_t len;  /* bytes in data, NUL excluded */
    char data[];
};

struct store_list_opts {
    const char *label_selector;   /* NULL or "": everything */
    const char *field_selector;   /* NULL or "": everything */
    /* NULL or "": the most recent state. "0": any state (the backend's
     * newest). Otherwise a resourceVersion: with exact, the state at exactly
     * that version (-EKEYEXPIRED when compacted), else a state no older. */
    const char *resource_version;
    bool exact;                   /* resourceVersionMatch=Exact */
    size_t limit;                 /* 0: no limit */
    const char *continue_token;   /* from a previous page's metadata.continue */
};

struct store_write_opts {
    enum store_subresource subresource;
    bool dry_run;                /* validate and answer, store nothing */
    const char *field_manager;   /* server-side apply: required there */
    bool force;                  /* server-side apply: take over conflicting fields */
    /* Not NULL: also gets the stored object's compact JSON text where the
     * backend has it at hand (mem: the text it stored; a reference the
     * caller releases with store_blob_unref), so that an API server answers
     * without serialising the object again; NULL otherwise (a failure, a dry
     * run, a write that changed nothing, the kube backend). The text is
     * exactly json_dumps(*out, JSON_COMPACT). With out NULL, mem gives the
     * text of dry runs and of writes that changed nothing too (so the text
     * alone answers every successful write), and keeps the object it
     * stored as its parse of the text. */
    struct store_blob **raw;
    /* Create and update: the caller hands obj over, so the store may keep
     * it (or parts of it) as the stored version and change it on the way
     * instead of copying it first (mem does; kube serialises it as always).
     * After the call the caller may still read obj and drop its reference,
     * but never change it, and no part of obj may be something anyone else
     * changes. A write that fails may have changed obj. mem keeps the
     * members obj's write changes as the very values handed over, so an
     * in-process writer may tell its own write's watch event by address (the
     * agent's GPUNode report does; a store that kept a copy would cost it a
     * write again, never a wrong one). */
    bool handed_over;
};

/* The longest grace period a deletion may ask for (100 years): a pod's
 * deletionTimestamp is now plus its grace, which must stay a time (in
 * nanoseconds, and a four-digit year); a longer one is -EINVAL, as is a
 * pod whose spec.terminationGracePeriodSeconds (the grace of a delete that
 * names none) is longer. */
#define STORE_GRACE_MAX_S (100LL * 365 * 24 * 3600)

struct store_delete_opts {
    enum store_propagation propagation;
    bool has_grace;              /* grace_s given; else the object's default */
    int64_t grace_s;             /* gracePeriodSeconds; 0: now */
    const char *precondition_uid;             /* NULL: none */
    const char *precondition_resource_version; /* NULL: none */
    bool dry_run;
};

struct store_watch_opts {
    const char *label_selector;
    const char *field_selector;
    /* NULL, "" or "0": synthetic ADDED events for the current state first,
     * then changes. Otherwise: the changes after that version, or
     * -EKEYEXPIRED from store_watch_next when they are no longer kept. */
    const char *resource_version;
    bool bookmarks;              /* allowWatchBookmarks */
    bool want_raw;               /* fill store_event.raw instead of .object where the backend can */
    /* Called when a write gives the watch an event it sees, inside the
     * write and under the store's lock (it must not call the store); NULL:
     * none. Lets a single-threaded driver (the simulator) step only the
     * watchers with something to read. The mem store calls it; the kube
     * backend does not. */
    void (*on_event)(void *ctx);
    void *on_event_ctx;
};

struct store_event {
    enum store_event_type type;
    /* The object, or NULL when raw is set: a reference the caller drops,
     * READ-ONLY (the mem store hands every in-process watcher the same
     * parsed object; json_deep_copy to change it). A DELETED event carries
     * the object's last state with the resourceVersion of the deletion. */
    json_t *object;
    /* With want_raw, the same object as compact JSON text (a reference the
     * caller releases with store_blob_unref), else NULL. A backend without
     * text at hand sets object instead, so raw may be NULL even then. */
    struct store_blob *raw;
};

/* The backend vtable: a backend embeds struct store (and struct
 * store_watch) as its first member and fills ops. The store_* functions
 * below check their arguments and call these; callers use those, never ops
 * directly. Semantics are those documented on the store_* functions. */
struct store_ops {
    const char *name; /* "mem", "kube" */
    int (*get)(struct store *st, const struct api_resource *res, const char *ns,
               const char *name, json_t **out, struct err *e);
    /* NULL: store_get_shared copies through get */
    int (*get_shared)(struct store *st, const struct api_resource *res, const char *ns,
                      const char *name, json_t **out, struct err *e);
    int (*list)(struct store *st, const struct api_resource *res, const char *ns,
                const struct store_list_opts *o, json_t **out, struct err *e);
    int (*create)(struct store *st, const struct api_resource *res, const char *ns,
                  const json_t *obj, const struct store_write_opts *o, json_t **out,
                  struct err *e);
    int (*update)(struct store *st, const struct api_resource *res, const char *ns,
                  const json_t *obj, const struct store_write_opts *o, json_t **out,
                  struct err *e);
    int (*patch)(struct store *st, const struct api_resource *res, const char *ns,
                 const char *name, enum store_patch_type type, const json_t *patch,
                 const struct store_write_opts *o, json_t **out, struct err *e);
    int (*remove)(struct store *st, const struct api_resource *res, const char *ns,
                  const char *name, const struct store_delete_opts *o, json_t **out,
                  struct err *e);
    int (*bind)(struct store *st, const char *ns, const char *pod, const char *node,
                struct err *e);
    int (*watch_open)(struct store *st, const struct api_resource *res, const char *ns,
                      const struct store_watch_opts *o, struct store_watch **out,
                      struct err *e);
    int (*watch_next)(struct store_watch *w, int timeout_ms, struct store_event *ev,
                      struct err *e);
    void (*watch_cancel)(struct store_watch *w);
    void (*watch_close)(struct store_watch *w);
    void (*destroy)(struct store *st);
};

struct store {
    const struct store_ops *ops;
    struct api_registry *registry; /* owned by the backend */
};

struct store_watch {
    const struct store_ops *ops;
};

/* The resources this store serves (CRDs created through it included). Owned
 * by the store; valid until store_free. */
struct api_registry *store_registry(struct store *st);

/* Reads one object. -ENOENT when there is none. */
int store_get(struct store *st, const struct api_resource *res, const char *ns,
              const char *name, json_t **out, struct err *e);

/* store_get without the copy where the backend keeps its objects parsed
 * (mem): *out is then the stored version itself, shared and read-only (the
 * caller never changes it or anything in it, and drops it with
 * json_decref); other backends copy. For a read that only looks, such as
 * the API server's check that a create's namespace exists. */
int store_get_shared(struct store *st, const struct api_resource *res, const char *ns,
                     const char *name, json_t **out, struct err *e);

/* Lists the objects of res in ns (NULL or "": all namespaces) matching the
 * selectors, ordered by namespace then name, as a List document: {kind:
 * "<Kind>List", apiVersion, metadata: {resourceVersion, continue?,
 * remainingItemCount?}, items: [...]}. With a limit, metadata.continue is set
 * when more remain; every page of one list is served from the same
 * resourceVersion, and a continue token older than the kept history is
 * -EKEYEXPIRED. -EBADMSG for a malformed or unsupported selector (the field
 * selectors a resource accepts are metadata.name, metadata.namespace and its
 * selectable_fields) or continue token. */
int store_list(struct store *st, const struct api_resource *res, const char *ns,
               const struct store_list_opts *o, json_t **out, struct err *e);

/* Creates obj in ns (for a namespaced resource, NULL takes the object's own
 * metadata.namespace; a different one is -EBADMSG). The store sets uid,
 * resourceVersion, creationTimestamp, generation 1, and a name from
 * metadata.generateName when the name is empty; it validates names, labels
 * and the kind's rules (-EINVAL naming the field). -EEXIST when the name is
 * taken. On success *out (if out is not NULL) is the stored object. */
int store_create(struct store *st, const struct api_resource *res, const char *ns,
                 const json_t *obj, const struct store_write_opts *o, json_t **out,
                 struct err *e);

/* Replaces the object named by obj's metadata.name. A non-empty
 * metadata.resourceVersion is a precondition: -ESTALE (Conflict) when the
 * stored object is newer; an empty one updates unconditionally. uid and
 * creationTimestamp cannot change. generation is bumped when anything but
 * metadata and status changes. Removing the last finalizer of an object
 * being deleted deletes it. -ENOENT when there is no such object. */
int store_update(struct store *st, const struct api_resource *res, const char *ns,
                 const json_t *obj, const struct store_write_opts *o, json_t **out,
                 struct err *e);

/* Applies patch to the stored object and updates it (with the semantics of
 * store_update; a metadata.resourceVersion in a merge or strategic patch is
 * a precondition). STORE_PATCH_APPLY creates the object when it is missing.
 * -EBADMSG for a malformed patch, -EINVAL when a JSON patch test fails or
 * the result is invalid, -EMEDIUMTYPE for a strategic patch of a custom
 * resource (as the API server answers 415). */
int store_patch(struct store *st, const struct api_resource *res, const char *ns,
                const char *name, enum store_patch_type type, const json_t *patch,
                const struct store_write_opts *o, json_t **out, struct err *e);

/* Deletes an object. With finalizers (or foreground/orphan propagation,
 * which add one) the object is only marked: deletionTimestamp is set and it
 * goes away when its last finalizer is removed. A pod bound to a node with a
 * grace period above 0 is marked too, with deletionTimestamp = now + grace,
 * and goes away when deleted again with grace 0 (the kubelet's part).
 * Dependents (ownerReferences) are handled per o->propagation by the
 * collector (mem: see mem_store_collect). *out (if not NULL) is the object
 * as it was left: with deletionTimestamp while marked, else its last state.
 * -ESTALE when a precondition fails. */
int store_delete(struct store *st, const struct api_resource *res, const char *ns,
                 const char *name, const struct store_delete_opts *o, json_t **out,
                 struct err *e);

/* The pods/binding subresource: sets spec.nodeName of a pod that has none
 * and no scheduling gates. -ESTALE (Conflict) when the pod is already bound
 * or still gated, -ENOENT when it does not exist. */
int store_bind(struct store *st, const char *ns, const char *pod, const char *node,
               struct err *e);

/* Starts a watch of res in ns (NULL or "": all namespaces) with selectors.
 * *out is owned by the caller, released with store_watch_close. An object
 * that starts or stops matching a selector arrives as ADDED or DELETED.
 * -EBADMSG for a malformed selector or resourceVersion; a resourceVersion
 * too old to resume from is reported by store_watch_next, not here. */
int store_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                     const struct store_watch_opts *o, struct store_watch **out,
                     struct err *e);

/* Pulls the next event, waiting up to timeout_ms (0: only what is ready;
 * negative: forever). 0 with *ev filled (release it with
 * store_event_release); -EAGAIN when nothing came in time; -ECANCELED after
 * store_watch_cancel; -EKEYEXPIRED when the watch cannot continue from where
 * it is (its resourceVersion was compacted, or it fell behind the kept
 * history): reopen from a fresh list; -EPIPE when the stream ended cleanly
 * (reopen from the last resourceVersion seen); other codes for transport
 * errors. Every error but -EAGAIN ends the watch: later calls return it
 * again. On the wire the errors are ERROR events carrying a Status. */
int store_watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev,
                     struct err *e);

/* Wakes a store_watch_next blocked in another thread, and makes it and every
 * later call return -ECANCELED. Safe from any thread while w is open. */
void store_watch_cancel(struct store_watch *w);

/* Ends a watch and frees it; w may be NULL. */
void store_watch_close(struct store_watch *w);

/* Drops the references an event holds; ev is left empty. */
void store_event_release(struct store_event *ev);

/* The event type's wire name: "ADDED", "MODIFIED", "DELETED", "BOOKMARK". */
const char *store_event_name(enum store_event_type type);

/* Frees the store; st may be NULL. Watches must be closed first. */
void store_free(struct store *st);

/* A blob holding a copy of len bytes of data (plus NUL), refs 1; NULL when
 * out of memory. */
struct store_blob *store_blob_new(const char *data, size_t len);

/* The compact serialisation of obj as a blob; NULL when out of memory. */
struct store_blob *store_blob_dump(const json_t *obj);

/* store_blob_dump for an object whose text is likely about hint bytes (a
 * previous version's length; 0: no idea): dumped once when it is, where a
 * guess too small costs a second pass. */
struct store_blob *store_blob_dump_hint(const json_t *obj, size_t hint);

/* Takes another reference to b (b may be NULL) and returns b. */
struct store_blob *store_blob_ref(struct store_blob *b);

/* Drops a reference; the last one frees b. b may be NULL. */
void store_blob_unref(struct store_blob *b);

#endif
