/*
 * What a reconciler asks for.
 *
 * Reconcilers (the controller, the agent, the embedded cluster's scheduler,
 * kubelets and workload controllers) are functions from cached state and a
 * key to a list of actions; they never write to the API themselves. A
 * runtime executes the list in order against a store: the real runtime
 * against the kube or mem backend as things happen, the simulator in
 * virtual time. Keeping decisions and writes apart is what lets tests
 * interleave components step by step (docs/architecture.md, "The rule:
 * logic apart from I/O").
 *
 * An action owns what it carries (objects, patches, strings); an
 * action_list frees them. Events are actions too: the executor names an
 * Event after what it reports (involved object, reason, message), so the
 * same event repeated increments a count instead of piling up objects, as
 * the API server's event correlator does.
 */
#ifndef GPUSLICE_RECONCILE_ACTION_H
#define GPUSLICE_RECONCILE_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/resource.h"
#include "store/store.h"
#include "util/err.h"

enum action_kind {
    ACTION_CREATE,        /* object into res/ns */
    ACTION_UPDATE,        /* object (its resourceVersion is a precondition) */
    ACTION_UPDATE_STATUS, /* the same through the status subresource */
    ACTION_PATCH,         /* patch of res/ns/name */
    ACTION_DELETE,        /* res/ns/name, optionally only if its uid matches */
    ACTION_BIND,          /* pod ns/name to node */
    ACTION_EVENT,         /* an Event about object */
    ACTION_EXTERNAL,      /* op with params, executed by the reconciler's own
                             executor (the agent's device calls) */
};

enum action_event_type {
    ACTION_EVENT_NORMAL,
    ACTION_EVENT_WARNING,
};

struct action {
    enum action_kind kind;
    const struct api_resource *res;   /* not for BIND and EVENT */
    char *ns;                         /* NULL for cluster-scoped */
    char *name;                       /* PATCH, DELETE, BIND */
    json_t *body;                     /* CREATE/UPDATE object, PATCH patch,
                                         EVENT the involved object */
    enum store_patch_type patch_type; /* PATCH */
    char *uid;                        /* DELETE: precondition; NULL: none */
    bool delete_now;                  /* DELETE: gracePeriodSeconds 0 */
    char *node;                       /* BIND */
    enum action_event_type event_type;/* EVENT */
    char *reason;                     /* EVENT: "NoPlacement" */
    char *message;                    /* EVENT: the why, for people */
    int op;                           /* EXTERNAL: the reconciler's operation */
};

struct action_list {
    struct action *items;
    size_t n, cap;
};

/* Who writes: events name it as their source, and Event timestamps come
 * from now_ns (the runtime's clock, real or virtual). */
struct action_context {
    const char *component;  /* "gpuslice-controller" */
    const char *host;       /* the node for per-node components; may be NULL */
    int64_t now_ns;         /* since the Unix epoch */
};

void action_list_init(struct action_list *l);

/* Frees every action's contents; the list is left empty and reusable. */
void action_list_clear(struct action_list *l);

/* The builders append one action. Objects and patches are taken over: the
 * list owns the reference passed in (also on failure). -ENOMEM, or -EINVAL
 * naming what is missing; on failure the list is left as it was (nothing
 * half appended), so a decision may stop at the first failure. */
int action_create(struct action_list *l, const struct api_resource *res, const char *ns,
                  json_t *obj, struct err *e);
int action_update(struct action_list *l, const struct api_resource *res, json_t *obj,
                  struct err *e);
int action_update_status(struct action_list *l, const struct api_resource *res, json_t *obj,
                         struct err *e);
int action_patch(struct action_list *l, const struct api_resource *res, const char *ns,
                 const char *name, enum store_patch_type type, json_t *patch, struct err *e);
int action_delete(struct action_list *l, const struct api_resource *res, const char *ns,
                  const char *name, const char *uid, struct err *e);
/* The same with gracePeriodSeconds 0: what a kubelet sends once a pod being
 * deleted has stopped, so that the API server removes it at once (unless a
 * finalizer holds it) instead of waiting out the grace period it gave. */
int action_delete_now(struct action_list *l, const struct api_resource *res, const char *ns,
                      const char *name, const char *uid, struct err *e);
int action_bind(struct action_list *l, const char *ns, const char *pod, const char *node,
                struct err *e);

/* An Event about obj (which must carry apiVersion, kind and metadata name;
 * it is only read, never taken). The message is printf-formatted. */
int action_event(struct action_list *l, const json_t *obj, enum action_event_type type,
                 const char *reason, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* An operation outside the store (op and params are the reconciler's own),
 * so that decisions to touch a device stay in the same ordered list as the
 * writes; the loop hands it to the reconciler's executor. params is taken
 * over. */
int action_external(struct action_list *l, int op, json_t *params, struct err *e);

/* Executes a against st (an EXTERNAL action is -ENOSYS here: only its
 * reconciler knows how). *out (may be NULL) receives the object the store
 * returned, owned by the caller (NULL for BIND). Store errors come back as
 * they are (-ESTALE for a conflict, ...), so the runtime can tell a stale
 * decision from a failure. A create or an update hands the action's body
 * to the store (store_write_opts.handed_over): from then on it may be the stored
 * version, which is read but never changed, so an action runs once and a
 * body shares nothing with objects anyone changes (reconcilers build bodies
 * from copies of cached objects; cached objects never change). */
int action_execute(struct store *st, const struct action *a, const struct action_context *ctx,
                   json_t **out, struct err *e);

/* "create pods ns/name", "event NoPlacement on pods ns/name": for logs. */
void action_describe(const struct action *a, char *buf, size_t size);

#endif
