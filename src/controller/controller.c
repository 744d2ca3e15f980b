/*
 * The controller's reconcile, its informer handlers and the release path
 * (see controller.h). One decision per pod key:
 *
 *   pod gone, ended or being deleted -> its slices are deleted (a Warm one
 *       goes to Deleting, warm.c; a Deleted one, after a Deleting status,
 *       is deleted); when none is left the pod's finalizer is removed
 *   a slice Failed -> Event, the GPU's failure counted, the GPUSlice
 *       deleted, the pod retried after a backoff that doubles
 *   gated by us and by someone else too -> wait for the other gates
 *   gated, slices on their way out (released to place the pod whole
 *       elsewhere) -> the Deleted ones deleted, and wait until none is left
 *   gated, slices missing -> place them (place.c)
 *   gated, every slice Created -> pin the pod to the node and remove our
 *       gate in one update, then the slices go to Ungated
 */
#include "controller/controller_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "core/lifecycle.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"
#include "util/objkey.h"

#define DEFAULT_RETRY ((struct backoff){NS_PER_SEC, 300 * NS_PER_SEC})
#define DEFAULT_AVOID_NS (600 * NS_PER_SEC)
#define DEFAULT_FAILURES_TO_AVOID 3
#define DEFAULT_RESTORE_TIMEOUT_NS (120 * NS_PER_SEC)
#define HOSTNAME_LABEL "kubernetes.io/hostname"

/* The GPUSlice indexes the controller reads slices by: the spec field
 * named by ctx (spec.podName, spec.gpuUUID). */
static size_t slice_by_spec(const json_t *obj, const char **keys, size_t max, void *ctx)
{
    const char *v = json_string_value(json_object_get(json_object_get(obj, "spec"), ctx));
    if (!v || max == 0)
        return v ? 1 : 0;
    keys[0] = v;
    return 1;
}

static void on_pod(void *ctx, enum informer_change change, const json_t *old, const json_t *cur);
static void on_slice(void *ctx, enum informer_change change, const json_t *old,
                     const json_t *cur);
static void on_gpunode(void *ctx, enum informer_change change, const json_t *old,
                       const json_t *cur);
static void on_node(void *ctx, enum informer_change change, const json_t *old,
                    const json_t *cur);
static void on_namespace(void *ctx, enum informer_change change, const json_t *old,
                         const json_t *cur);

/* An informer on group/version/plural whose changes go to handler, with
 * n_index indexes. */
static int watch(struct controller *c, const char *group, const char *version,
                 const char *plural, informer_handler_fn handler,
                 const struct informer_index *index, size_t n_index,
                 const struct api_resource **res, struct informer **out, struct err *e)
{
    *res = api_registry_find(store_registry(c->cfg.store), group, version, plural);
    if (!*res)
        return err_set(e, -ENOENT, "controller: the store does not serve %s%s%s/%s", group,
                       *group ? "/" : "", version, plural);
    struct informer_config ic = {.store = c->cfg.store, .res = *res, .handler = handler,
                                 .handler_ctx = c, .now_ns = c->cfg.now_ns,
                                 .clock_ctx = c->cfg.clock_ctx, .seed = 1};
    for (size_t i = 0; i < n_index; i++)
        ic.indexes[i] = index[i];
    ic.index_count = n_index;
    return informer_new(&ic, out, e);
}

static void drop_string(void *value)
{
    free(*(char **)value);
}

int controller_new(const struct controller_config *cfg, struct controller **out, struct err *e)
{
    if (!cfg->store)
        return err_set(e, -EINVAL, "controller: needs a store");
    struct backoff retry = backoff_or(cfg->retry, DEFAULT_RETRY);
    int invalid = backoff_check(&retry, e);
    if (invalid < 0)
        return err_prefix(e, invalid, "controller: retry: ");
    struct controller *c = alloc_calloc(1, sizeof *c);
    c->cfg = *cfg;
    c->cfg.retry = retry;
    if (!c->cfg.gpu_avoid_ns)
        c->cfg.gpu_avoid_ns = DEFAULT_AVOID_NS;
    if (!c->cfg.restore_timeout_ns)
        c->cfg.restore_timeout_ns = DEFAULT_RESTORE_TIMEOUT_NS;
    if (!c->cfg.gpu_failures_to_avoid)
        c->cfg.gpu_failures_to_avoid = DEFAULT_FAILURES_TO_AVOID;
    strmap_init(&c->gpu_failures, sizeof(struct gpu_failures), NULL);
    strmap_init(&c->pod_retry, sizeof(struct pod_retry), NULL);
    strmap_init(&c->node_usage, sizeof(struct node_usage), NULL);
    strmap_init(&c->last_said, sizeof(char *), drop_string);
    strmap_init(&c->ungated_from, sizeof(struct controller_ungated), NULL);
    controller__waiting_init(c);
    strmap_init(&c->upgrade_waits, sizeof(struct upgrade_wait), NULL);
    strmap_init(&c->upgraded, CONTROLLER_KEY_MAX, NULL);
    strmap_init(&c->restoring, sizeof(struct restore_flight), NULL);
    c->wanted = alloc_calloc(WANTED_MAX, sizeof *c->wanted);
    c->slices_memo = pod_slices_memo_new();
    c->slice_views = gpuslice_memo_new(CONTROLLER_SLICE_VIEW_BITS);
    model_init(&c->model);
    if (cfg->mps_overhead_mib)
        c->model.mps_overhead_mib = cfg->mps_overhead_mib;
    controller__warm_init(c);
    mutex_init(&c->lock);
    int rc = 0;
    const struct api_resource *ignored;
    const struct informer_index slice_indexes[] = {
        {CONTROLLER_INDEX_POD, slice_by_spec, "podName"},
        {CONTROLLER_INDEX_GPU, slice_by_spec, "gpuUUID"}};
    if (rc == 0)
        rc = watch(c, "", "v1", "pods", on_pod, NULL, 0, &c->pod_res, &c->pods, e);
    if (rc == 0)
        rc = watch(c, GPUSLICE_API_GROUP, "v1alpha1", "gpuslices", on_slice, slice_indexes, 2,
                   &c->slice_res, &c->slices, e);
    if (rc == 0)
        rc = watch(c, GPUSLICE_API_GROUP, "v1alpha1", "gpunodes", on_gpunode, NULL, 0, &ignored,
                   &c->gpunodes, e);
    if (rc == 0)
        rc = watch(c, "", "v1", "nodes", on_node, NULL, 0, &ignored, &c->nodes, e);
    if (rc == 0)
        rc = watch(c, "", "v1", "namespaces", on_namespace, NULL, 0, &ignored, &c->namespaces,
                   e);
    if (rc == 0) /* read when an upgrade is decided; no change needs a decision */
        rc = watch(c, "", "v1", "resourcequotas", NULL, NULL, 0, &ignored, &c->quotas, e);
    if (rc < 0) {
        controller_free(c);
        return rc;
    }
    controller__metrics_init(c);
    *out = c;
    return 0;
}

void controller_informers(struct controller *c, struct informer *out[CONTROLLER_INFORMERS])
{
    out[0] = c->pods;
    out[1] = c->slices;
    out[2] = c->gpunodes;
    out[3] = c->nodes;
    out[4] = c->namespaces;
    out[5] = c->quotas;
}

void controller_free(struct controller *c)
{
    if (!c)
        return;
    controller__metrics_free(c);
    informer_free(c->pods);
    informer_free(c->slices);
    informer_free(c->gpunodes);
    informer_free(c->nodes);
    informer_free(c->namespaces);
    informer_free(c->quotas);
    model_free(&c->model);
    controller__warm_free(c);
    free(c->res);
    free(c->wanted);
    jmemo_free(c->slices_memo);
    jmemo_free(c->slice_views);
    strmap_free(&c->gpu_failures);
    strmap_free(&c->pod_retry);
    strmap_free(&c->node_usage);
    strmap_free(&c->last_said);
    strmap_free(&c->ungated_from);
    controller__waiting_free(c);
    strmap_free(&c->upgrade_waits);
    strmap_free(&c->upgraded);
    strmap_free(&c->restoring);
    mutex_destroy(&c->lock);
    free(c);
}

void controller_attach(struct controller *c, struct loop *l)
{
    c->loop = l;
}

void controller__slice_key(const char *ns, const char *name, char out[CONTROLLER_KEY_MAX])
{
    objkey_join(out, CONTROLLER_KEY_MAX, ns, name);
}

void controller__format_now(int64_t now_ns, char out[32])
{
    char t[META_TIME_LEN];
    meta_format_time(now_ns, t);
    snprintf(out, 32, "%s", t);
}

int controller__say(struct controller *c, struct action_list *out, const json_t *pod,
                    enum action_event_type type, const char *reason, const char *fmt, ...)
{
    assert(mutex_held(&c->lock));
    char msg[1024], said[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(said, sizeof said, "%s\n%s", reason, msg);
    const char *uid = meta_uid(pod);
    char **last = uid ? strmap_get(&c->last_said, uid) : NULL;
    if (last && strcmp(*last, said) == 0)
        return 0;
    if (uid) {
        char *copy = alloc_strdup(said);
        strmap_set(&c->last_said, uid, &copy);
    }
    return action_event(out, pod, type, reason, NULL, "%s", msg);
}

/* ---- keys and handlers ---- */

static void enqueue(struct controller *c, const char *ns, const char *name)
{
    char key[CONTROLLER_KEY_MAX];
    if (!c->loop || !name)
        return;
    objkey_join(key, sizeof key, ns, name);
    loop_enqueue(c->loop, key);
}

/* Wakes the pods told there is no room (they may fit now): the oldest of
 * each group (waiting.c), their keys copied under the lock and queued
 * outside it. */
/* Queues n NUL-separated keys and frees them (taken under the lock,
 * queued outside it). */
static void enqueue_keys(struct controller *c, char *keys, size_t n)
{
    const char *key = keys;
    for (size_t i = 0; i < n; i++, key += strlen(key) + 1)
        if (c->loop)
            loop_enqueue(c->loop, key);
    free(keys);
}

static void enqueue_waiting(struct controller *c)
{
    size_t n;
    mutex_lock(&c->lock);
    char *keys = controller__waiting_heads(c, &n);
    mutex_unlock(&c->lock);
    enqueue_keys(c, keys, n);
}

/* Queues the restore decision when a change asked for it, after the pods
 * woken for room (the queue is first in, first out: room goes to waiting
 * pods before any restore is decided on it). */
static void enqueue_restore(struct controller *c)
{
    mutex_lock(&c->lock);
    bool pending = c->restore_pending;
    c->restore_pending = false;
    mutex_unlock(&c->lock);
    if (pending && c->loop)
        loop_enqueue(c->loop, CONTROLLER_RESTORE_KEY);
}

void controller_resync(struct controller *c)
{
    json_t *pods = informer_list(c->pods, NULL);
    size_t i;
    const json_t *p;
    json_array_foreach(pods, i, p)
        if (pod_gated(p, GPUSLICE_GATE) || meta_has_finalizer(p, GPUSLICE_FINALIZER))
            enqueue(c, meta_namespace(p), meta_name(p));
    json_decref(pods);
    json_t *slices = informer_list(c->slices, NULL);
    json_array_foreach(slices, i, p) {
        struct gpuslice_view v;
        if (gpuslice_read(p, &v, NULL) == 0)
            enqueue(c, v.ns, v.spec.pod_name);
    }
    json_decref(slices);
    if (c->loop)
        loop_enqueue(c->loop, CONTROLLER_RESTORE_KEY);
}

/* What the controller remembers about a pod (the last thing it said, when
 * to retry, that it waits for room) goes when the pod leaves the cache,
 * whatever path it took, so a long-running controller does not grow. */
static void forget_pod(struct controller *c, const json_t *pod)
{
    char key[CONTROLLER_KEY_MAX];
    objkey_join(key, sizeof key, meta_namespace(pod), meta_name(pod));
    const char *uid = meta_uid(pod);
    char next[CONTROLLER_KEY_MAX];
    mutex_lock(&c->lock);
    bool wake = controller__unwait(c, key, next);
    if (uid) {
        strmap_del(&c->pod_retry, uid);
        strmap_del(&c->last_said, uid);
        strmap_del(&c->upgrade_waits, uid);
    }
    mutex_unlock(&c->lock);
    if (wake && c->loop)
        loop_enqueue(c->loop, next);
}

/* The node a pod counts against: a pod bound to a node (spec.nodeName)
 * that has not ended; NULL for any other. */
static const char *pod_node(const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec");
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    if (!node || (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)))
        return NULL;
    return node;
}

/* Adds (sign 1) or takes back (sign -1) one pod's load on node; a resource
 * back at 0 leaves the table, and so does a node with nothing left. */
static void count_load(struct controller *c, const char *node,
                       const struct schedfit_resources *req, int sign)
{
    assert(mutex_held(&c->lock));
    struct node_usage *u = strmap_put(&c->node_usage, node, NULL);
    for (size_t k = 0; k < req->n; k++)
        schedfit_add(&u->used, req->items[k].name, sign * req->items[k].milli);
    u->pods = sign > 0 ? u->pods + 1 : u->pods - 1;
    size_t kept = 0;
    for (size_t k = 0; k < u->used.n; k++)
        if (u->used.items[k].milli != 0)
            u->used.items[kept++] = u->used.items[k];
    u->used.n = kept;
    if (u->pods == 0 && kept == 0)
        strmap_del(&c->node_usage, node);
}

/* Tells the config's watcher that the caches changed. */
static void tell_watcher(struct controller *c)
{
    if (c->cfg.changed)
        c->cfg.changed(c->cfg.changed_ctx);
}

static void on_pod(void *ctx, enum informer_change change, const json_t *old,
                   const json_t *cur)
{
    struct controller *c = ctx;
    struct schedfit_resources was_req, now_req;
    /* DELETED reports the cached state as old: what was counted. */
    const char *was = old ? pod_node(old) : NULL;
    const char *now = change != INFORMER_DELETED ? pod_node(cur) : NULL;
    /* The very spec on the same node asks for the same there: a status
     * write (most of a running pod's) shares its spec with the version
     * before it in process, and moves no load. */
    if (was && now && strcmp(was, now) == 0 &&
        json_object_get(old, "spec") == json_object_get(cur, "spec"))
        was = now = NULL;
    /* Admitted, so what parses counts. */
    if (was)
        schedfit_pod_requests(old, &was_req, NULL);
    if (now)
        schedfit_pod_requests(cur, &now_req, NULL);
    if (was || now) {
        mutex_lock(&c->lock);
        if (was)
            count_load(c, was, &was_req, -1);
        if (now)
            count_load(c, now, &now_req, 1);
        mutex_unlock(&c->lock);
    }
    if (change == INFORMER_DELETED)
        forget_pod(c, cur);
    enqueue(c, meta_namespace(cur), meta_name(cur));
    tell_watcher(c);
}

/* Whether the slice (as now) holds its placement: not gone, not Deleted
 * or Failed. An unknown phase holds it, to be safe. */
static bool holds_placement(enum informer_change change, const struct gpuslice_view *v)
{
    enum slice_phase p;
    if (change == INFORMER_DELETED)
        return false;
    return lifecycle_phase_parse(v->status.phase, &p, NULL) < 0 || !lifecycle_is_terminal(p);
}

/* Keeps the model's claim of v's slice in step with the cache (the
 * GPUSlice's claim replaces its reservation's), and the table of upgraded
 * slices; returns whether room was freed. */
static bool track_placement(struct controller *c, enum informer_change change,
                            const struct gpuslice_view *v)
{
    assert(mutex_held(&c->lock));
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(v->ns, v->name, key);
    bool upgraded = controller__track_upgraded(c, holds_placement(change, v), v);
    if (!holds_placement(change, v)) {
        bool freed = model_unclaim(&c->model, key);
        c->restore_pending |= freed && upgraded;
        return freed;
    }
    controller__claim_slice(c, key, &v->spec);
    return false;
}

static void drop_reservation_at(struct controller *c, size_t i)
{
    assert(mutex_held(&c->lock) && i < c->n_res);
    c->res[i] = c->res[--c->n_res];
}

/* The note of an Ungated write goes once the cache shows any other
 * version of the slice (the write's own, or a later one), or the slice
 * went. */
static void forget_ungated_from(struct controller *c, enum informer_change change,
                                const json_t *cur)
{
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(meta_namespace(cur), meta_name(cur), key);
    const struct controller_ungated *from = strmap_get(&c->ungated_from, key);
    const char *rv = meta_resource_version(cur);
    if (from && (change == INFORMER_DELETED || !rv || strcmp(from->rv, rv) != 0))
        strmap_del(&c->ungated_from, key);
}

static void on_slice(void *ctx, enum informer_change change, const json_t *old,
                         const json_t *cur)
{
    struct controller *c = ctx;
    struct gpuslice_view v;
    (void)old;
    mutex_lock(&c->lock);
    forget_ungated_from(c, change, cur);
    /* Read into the memo: the decisions this event brings read it next. */
    if (controller__slice_view(c, cur, &v, NULL) < 0) {
        mutex_unlock(&c->lock);
        return;
    }
    /* The cache shows it now: it holds its placement from here on. */
    for (size_t i = 0; i < c->n_res; i++)
        if (strcmp(c->res[i].name, v.name) == 0 && strcmp(c->res[i].ns, v.ns) == 0)
            drop_reservation_at(c, i--);
    /* A warm slice's claim is warm.c's; a taker's claim at its placement
     * replaces it (the warm one lets go first, and claims again after the
     * taker went). */
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(v.ns, v.name, key);
    bool became_warm = controller__warm_track(c, change, &v);
    controller__warm_settle(c, v.spec.gpu_uuid, v.spec.start, false);
    bool freed = !controller__warm_is(c, key) && track_placement(c, change, &v);
    controller__warm_settle(c, v.spec.gpu_uuid, v.spec.start, true);
    mutex_unlock(&c->lock);
    enqueue(c, v.ns, v.spec.pod_name);
    if (freed || became_warm)
        enqueue_waiting(c);
    enqueue_restore(c);
    tell_watcher(c);
}

/* A GPUNode or a Node changed: the model takes it. Pods waiting for room
 * are woken when the model changed (the agent's reports of the slices
 * gpuslice made change nothing there), and on any Node change (the
 * scheduler-fit filter reads the Node itself). */
static void topology_changed(struct controller *c, bool gpunode, enum informer_change change,
                             const json_t *cur)
{
    const char *name = meta_name(cur);
    const json_t *now = change == INFORMER_DELETED ? NULL : cur;
    if (!name)
        return;
    mutex_lock(&c->lock);
    bool changed = gpunode ? model_set_gpunode(&c->model, name, now, NULL)
                           : model_set_node(&c->model, name, now);
    c->restore_pending |= changed && strmap_size(&c->upgraded) > 0;
    mutex_unlock(&c->lock);
    if (changed || !gpunode)
        enqueue_waiting(c);
    enqueue_restore(c);
    if (gpunode)
        tell_watcher(c);
}

static void on_gpunode(void *ctx, enum informer_change change, const json_t *old,
                       const json_t *cur)
{
    (void)old;
    topology_changed(ctx, true, change, cur);
}

static void on_node(void *ctx, enum informer_change change, const json_t *old,
                    const json_t *cur)
{
    (void)old;
    topology_changed(ctx, false, change, cur);
}

/* A namespace's keep-warm setting may have changed: its warm slices are
 * decided again. */
static void on_namespace(void *ctx, enum informer_change change, const json_t *old,
                         const json_t *cur)
{
    struct controller *c = ctx;
    (void)change;
    (void)old;
    const char *ns = meta_name(cur);
    if (!ns)
        return;
    size_t n;
    mutex_lock(&c->lock);
    char *keys = controller__warm_pods(c, ns, &n);
    mutex_unlock(&c->lock);
    enqueue_keys(c, keys, n);
}


/* ---- one decision ---- */

struct pod_state {
    const char *ns, *name, *uid;   /* uid NULL when the pod is gone */
    const json_t *pod;
    json_t *slices;                /* this pod name's GPUSlices in ns (cache refs) */
};

bool controller__pod_done(const json_t *pod)
{
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") ||
           (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
}

static bool mine(const struct pod_state *s, const struct gpuslice_view *v)
{
    return s->uid && v->spec.pod_uid && strcmp(v->spec.pod_uid, s->uid) == 0;
}

/* v's phase as lifecycle_seen has it: a GPUSlice being deleted (released
 * by this controller, or by the collector) is Deleting, as a Deleting
 * status was before. So a pod waits for its leaving slices, and none of
 * them is taken for the pod's wanted slice, exactly as then. */
static enum slice_phase phase_of(const struct gpuslice_view *v)
{
    enum slice_phase p = SLICE_CREATING;
    lifecycle_phase_parse(v->status.phase, &p, NULL);
    return lifecycle_seen(p, v->deleting);
}

/* A status write moving v's slice to phase `to`, checked against the table. */
static int move_to(struct controller *c, const json_t *obj, const struct gpuslice_view *v,
                   enum slice_phase to, int64_t now, struct action_list *out, struct err *e)
{
    int rc = lifecycle_transition(phase_of(v), to, e);
    if (rc < 0)
        return rc;
    char ts[32];
    controller__format_now(now, ts);
    struct gpuslice_status st = {.phase = lifecycle_phase_name(to)};
    json_t *w = gpuslice_with_status(obj, &st, ts);
    return w ? action_update_status(out, c->slice_res, w, e)
             : err_set(e, -ENOMEM, "controller: out of memory");
}

/* Sends one slice on its way out. Returns 1 while it still exists.
 *
 * A slice of a pod is released by deleting its GPUSlice: one write, where
 * a Deleting status, the agent's Deleted and then the delete were three.
 * The deletionTimestamp makes it Deleting (phase_of); the agent's
 * finalizer keeps the object until the agent has destroyed the device
 * slice, and the model keeps its placement taken until the object is gone
 * (holds_placement), so no pod is given a slice being destroyed. A Warm
 * slice is still let go by a Deleting status, as warm.c lets go of its
 * own: the status keeps its warmUntil, so until the destroy a pod of its
 * namespace may still take it over, and warm.c counts it released from
 * that write. Such a status (or one an older version wrote) is Deleted by
 * the agent, and its object deleted here then. */
static int release(struct controller *c, const json_t *obj, const struct gpuslice_view *v,
                   int64_t now, struct action_list *out, struct err *e)
{
    enum slice_phase p = phase_of(v);
    int rc = 0;
    if (p == SLICE_CREATING || p == SLICE_CREATED || p == SLICE_UNGATED) {
        rc = action_delete(out, c->slice_res, v->ns, v->name, v->uid, e);
        c->stats.released += rc == 0;
    } else if (p == SLICE_WARM) {
        rc = move_to(c, obj, v, SLICE_DELETING, now, out, e);
        c->stats.released += rc == 0;
    } else if (lifecycle_is_terminal(p) && !v->deleting) {
        rc = action_delete(out, c->slice_res, v->ns, v->name, v->uid, e);
    }
    return rc < 0 ? rc : 1;
}

int controller__slice_view(struct controller *c, const json_t *obj, struct gpuslice_view *v,
                           struct err *e)
{
    assert(mutex_held(&c->lock));
    return gpuslice_read_memo(c->slice_views, obj, v, e);
}

int controller__release_slice(struct controller *c, const json_t *obj, int64_t now,
                              struct action_list *out, struct err *e)
{
    assert(mutex_held(&c->lock));
    struct gpuslice_view v;
    int rc = controller__slice_view(c, obj, &v, e);
    if (rc == 0)
        rc = release(c, obj, &v, now, out, e);
    return rc < 0 ? rc : 0;
}

static int remove_finalizer(struct controller *c, const json_t *pod, struct action_list *out,
                            struct err *e)
{
    if (!meta_has_finalizer(pod, GPUSLICE_FINALIZER))
        return 0;
    json_t *copy = meta_copy_for_write(pod, "metadata");
    if (!copy)
        return err_set(e, -ENOMEM, "controller: out of memory");
    meta_remove_finalizer(copy, GPUSLICE_FINALIZER);
    return action_update(out, c->pod_res, copy, e);
}

/* The pod is gone or done (or the slices belong to an older pod of the same
 * name): release every slice given, or keep it warm for the namespace
 * (warm.c; never for an older pod's slices, whose names the pod needs);
 * the finalizer goes with the last slice the pod still owns. */
static int release_all(struct controller *c, const struct pod_state *s, bool only_orphans,
                       int64_t now, struct action_list *out, int64_t *requeue_at,
                       struct err *e)
{
    size_t i, left = 0;
    const json_t *obj;
    json_array_foreach(s->slices, i, obj) {
        struct gpuslice_view v;
        if (controller__slice_view(c, obj, &v, NULL) < 0 || (only_orphans && mine(s, &v)))
            continue;
        bool counts = true;
        int rc = only_orphans ? 0
                              : controller__warm_hold(c, s->pod, obj, &v, now, out, requeue_at,
                                                      &counts, e);
        if (rc == 0)
            rc = release(c, obj, &v, now, out, e);
        if (rc < 0)
            return rc;
        left += mine(s, &v) && counts;
    }
    /* A slice created but not in the cache yet must be seen (and released)
     * before the finalizer may go. */
    char key[CONTROLLER_KEY_MAX];
    objkey_join(key, sizeof key, s->ns, s->name);
    for (size_t r = 0; r < c->n_res; r++)
        left += strcmp(c->res[r].pod_key, key) == 0;
    if (!only_orphans && s->pod && left == 0)
        return remove_finalizer(c, s->pod, out, e);
    return 0;
}

/* Lists the slices the pod asks for, matched with the GPUSlices it has. */
static size_t wanted(struct controller *c, const struct pod_state *s, const struct pod_slices *ps,
                     struct wanted_slice *w)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const struct pod_slice_request *r = &ps->items[i];
        unsigned base = 0; /* slices of this container before this request */
        for (size_t j = 0; j < i; j++)
            if (strcmp(ps->items[j].container, r->container) == 0 && ps->items[j].init == r->init)
                base += ps->items[j].count;
        for (unsigned k = 0; k < r->count && n < WANTED_MAX; k++) {
            struct wanted_slice *ws = &w[n++];
            memset(ws, 0, sizeof *ws);
            ws->req = r;
            ws->index = base + k;
            gpuslice_name(s->name, r->container, ws->index, ws->name);
            size_t x;
            const json_t *obj;
            json_array_foreach(s->slices, x, obj) {
                struct gpuslice_view v;
                if (controller__slice_view(c, obj, &v, NULL) == 0 && mine(s, &v) &&
                    strcmp(v.name, ws->name) == 0 && !lifecycle_is_terminal(phase_of(&v)))
                    ws->existing = obj;
            }
            for (size_t q = 0; !ws->existing && q < c->n_res; q++)
                ws->reserved |= c->res[q].created && strcmp(c->res[q].name, ws->name) == 0 &&
                                strcmp(c->res[q].ns, s->ns) == 0;
        }
    }
    return n;
}

static void count_gpu_failure(struct controller *c, const char *uuid, int64_t now)
{
    struct gpu_failures *f = strmap_put(&c->gpu_failures, uuid, NULL);
    f->count++;
    f->until = f->count >= c->cfg.gpu_failures_to_avoid ? now + c->cfg.gpu_avoid_ns : 0;
}

/* Counts one more failure of the pod; returns when to retry it. */
static int64_t count_pod_failure(struct controller *c, const char *uid, int64_t now)
{
    struct pod_retry *r = strmap_put(&c->pod_retry, uid, NULL);
    r->failures++;
    r->at = now + backoff_delay(&c->cfg.retry, r->failures);
    return r->at;
}

/* Failed slices: say why, count it against the GPU, delete them, and retry
 * the pod later. Returns how many there were. */
static int handle_failed(struct controller *c, const struct pod_state *s, int64_t now,
                         struct action_list *out, int64_t *requeue_at, struct err *e)
{
    size_t i;
    const json_t *obj;
    int failed = 0;
    json_array_foreach(s->slices, i, obj) {
        struct gpuslice_view v;
        if (controller__slice_view(c, obj, &v, NULL) < 0 || !mine(s, &v) ||
            phase_of(&v) != SLICE_FAILED)
            continue;
        int64_t at = count_pod_failure(c, s->uid, now);
        count_gpu_failure(c, v.spec.gpu_uuid, now);
        char what[128];
        controller__describe_slice(&v.spec, what, sizeof what);
        int rc = controller__say(
            c, out, s->pod, ACTION_EVENT_WARNING, "SliceFailed",
            "%s on %s failed (%s: %s); retrying in %llds", what, v.spec.node,
            v.status.reason ? v.status.reason : "Unknown",
            v.status.message ? v.status.message : "no message",
            (long long)((at - now) / NS_PER_SEC));
        if (rc == 0 && !v.deleting)
            rc = action_delete(out, c->slice_res, v.ns, v.name, v.uid, e);
        if (rc < 0)
            return rc;
        loop_requeue_by(requeue_at, at);
        failed++;
    }
    return failed;
}

/* Every slice made: one pod update pins it to the node and removes our
 * gate; then the slices go to Ungated. */
static int ungate(struct controller *c, const struct pod_state *s, struct wanted_slice *w,
                  size_t n, int64_t now, struct action_list *out, struct err *e)
{
    struct gpuslice_view v;
    controller__slice_view(c, w[0].existing, &v, NULL);
    /* Only the spec's gates and node selector change: the rest of it (the
     * containers) stays shared with the cached pod, not copied whole. */
    json_t *copy = meta_copy_for_write(s->pod, NULL);
    json_t *spec = jdoc_shallow(json_object_get(s->pod, "spec"));
    jdoc_set(copy, "spec", spec);
    json_t *gates = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(spec, "schedulingGates"), i, g)
        if (!json_is_string(json_object_get(g, "name")) ||
            strcmp(json_string_value(json_object_get(g, "name")), GPUSLICE_GATE) != 0)
            jdoc_append(gates, json_incref(g));
    if (json_array_size(gates))
        jdoc_set(spec, "schedulingGates", json_incref(gates));
    else
        json_object_del(spec, "schedulingGates");
    json_decref(gates);
    const json_t *was_sel = json_object_get(spec, "nodeSelector");
    json_t *sel = json_is_object(was_sel) ? jdoc_shallow(was_sel) : json_object();
    jdoc_set(spec, "nodeSelector", sel);
    if (!v.spec.node) {
        json_decref(copy);
        return err_set(e, -EINVAL, "controller: GPUSlice of pod has no node");
    }
    jdoc_set(sel, HOSTNAME_LABEL, json_string(v.spec.node));
    int rc = action_update(out, c->pod_res, copy, e);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        struct gpuslice_view wv;
        controller__slice_view(c, w[k].existing, &wv, NULL);
        rc = move_to(c, w[k].existing, &wv, SLICE_UNGATED, now, out, e);
        strmap_del(&c->gpu_failures, wv.spec.gpu_uuid);
        model_avoid(&c->model, wv.spec.gpu_uuid, false);
    }
    /* No Event of its own: the gate's removal is on the pod, and the
     * scheduler's Scheduled (or FailedScheduling) Event on it follows at
     * once, naming the node; the wait before it is said by SlicesPlaced
     * (and SliceNotReady when the agent is slow). An Ungated Event here
     * was a write per pod that told no one anything new. */
    if (rc == 0) {
        c->stats.ungated++;
        strmap_del(&c->pod_retry, s->uid);
    }
    return rc;
}

static bool all_in(struct controller *c, const struct wanted_slice *w, size_t n,
                   enum slice_phase p)
{
    for (size_t i = 0; i < n; i++) {
        struct gpuslice_view v;
        if (!w[i].existing || controller__slice_view(c, w[i].existing, &v, NULL) < 0 ||
            phase_of(&v) != p)
            return false;
    }
    return n > 0;
}

/* Whether this controller's Ungated write from obj's version (the cached
 * one) went through less than CONTROLLER_UNGATED_NOTE_NS ago: the cache is
 * behind it, not the store. The note is trusted only that long: a cache
 * that shows the old version again later (a store restored to an older
 * state, versions handed out again) gets the write again. */
static bool ungated_from(struct controller *c, const json_t *obj, int64_t now,
                         int64_t *requeue_at)
{
    char key[CONTROLLER_KEY_MAX];
    const char *rv = meta_resource_version(obj);
    controller__slice_key(meta_namespace(obj), meta_name(obj), key);
    const struct controller_ungated *from = strmap_get(&c->ungated_from, key);
    if (!from || !rv || strcmp(from->rv, rv) != 0)
        return false;
    if (!loop_due(from->at + CONTROLLER_UNGATED_NOTE_NS, now, requeue_at))
        return true; /* looked at again then, should no event come */
    strmap_del(&c->ungated_from, key);
    return false;
}

/* Whether the cache still shows GPUSlice ns/name at version rv. */
static bool cached_at(struct controller *c, const char *ns, const char *name, const char *rv)
{
    json_t *cached = NULL;
    const char *crv = informer_get(c->slices, ns, name, &cached) == 0
                          ? meta_resource_version(cached) : NULL;
    bool same = crv && strcmp(crv, rv) == 0;
    json_decref(cached);
    return same;
}

/* Notes that sent, a GPUSlice status write from its cached version (a
 * status write leaves the body's resourceVersion as it was read), went
 * through, when it moved the slice to Ungated: from when its status says.
 * Only while the cache is still at that version: on a real client the
 * write's own update, and the slice's going, can reach the cache before
 * its reply, and a note taken then would wait for an event that came
 * already (for a slice gone, for good). */
static void note_ungated(struct controller *c, const json_t *sent)
{
    const char *rv = meta_resource_version(sent), *ns = meta_namespace(sent),
               *name = meta_name(sent);
    const json_t *st = json_object_get(sent, "status");
    const char *phase = json_string_value(json_object_get(st, "phase"));
    struct controller_ungated from = {0};
    if (!rv || !ns || !name || !phase || strlen(rv) >= sizeof from.rv ||
        strcmp(phase, lifecycle_phase_name(SLICE_UNGATED)) != 0 ||
        meta_parse_time(json_string_value(json_object_get(st, "lastTransitionTime")),
                        "status.lastTransitionTime", &from.at, NULL) < 0 ||
        !cached_at(c, ns, name, rv))
        return;
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(ns, name, key);
    memcpy(from.rv, rv, strlen(rv) + 1);
    strmap_set(&c->ungated_from, key, &from);
}

/* A pod that is not gated any more but whose slices are still Created: a
 * decision interrupted between the pod update and the slices' (a restart),
 * or (most often) the pod's ungated version cached before the slices'
 * Ungated one, which this controller wrote already. */
static int finish_ungated(struct controller *c, struct wanted_slice *w, size_t n, int64_t now,
                          struct action_list *out, int64_t *requeue_at, struct err *e)
{
    for (size_t k = 0; k < n; k++) {
        struct gpuslice_view v;
        if (!w[k].existing || controller__slice_view(c, w[k].existing, &v, NULL) < 0 ||
            phase_of(&v) != SLICE_CREATED || ungated_from(c, w[k].existing, now, requeue_at))
            continue;
        int rc = move_to(c, w[k].existing, &v, SLICE_UNGATED, now, out, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Whether the minute a slice is given (CONTROLLER_SLICE_SLOW_NS) has passed
 * since the time in obj's section.field; if not, *requeue_at comes no
 * later than when it will, so that the pod is looked at again then without
 * any other change to wake it. */
static bool slow_since(const json_t *obj, const char *section, const char *field, int64_t now,
                       int64_t *requeue_at)
{
    int64_t since;
    const char *t = json_string_value(json_object_get(json_object_get(obj, section), field));
    if (!t || meta_parse_time(t, field, &since, NULL) < 0)
        return false;
    return loop_due(since + CONTROLLER_SLICE_SLOW_NS, now, requeue_at);
}

/* Whether a slice on its way out has been for longer than
 * CONTROLLER_SLICE_SLOW_NS: from its deletion, or (an older version's
 * release by status) from its status's last transition. */
static bool slow_leaving(const json_t *obj, const struct gpuslice_view *v, int64_t now,
                         int64_t *requeue_at)
{
    return v->deleting ? slow_since(obj, "metadata", "deletionTimestamp", now, requeue_at)
                       : slow_since(obj, "status", "lastTransitionTime", now, requeue_at);
}

/* A slice on its way out for too long is said on the pod that waits for
 * it (a Warning SliceNotReleased): only the node's agent destroys it and
 * lets the object go, so with that agent dead the pod would stay gated
 * with nothing saying why; a live agent whose destroy fails says why in a
 * Deleting status, and the Event passes that on (a message of an earlier
 * phase, a create's failure say, is not about the destroy). */
static int say_stuck_leaving(struct controller *c, const struct pod_state *s,
                             const struct gpuslice_view *v, struct action_list *out)
{
    const char *said = v->status.phase &&
                               strcmp(v->status.phase, lifecycle_phase_name(SLICE_DELETING)) == 0
                           ? v->status.message
                           : NULL;
    return controller__say(c, out, s->pod, ACTION_EVENT_WARNING, "SliceNotReleased",
                           "GPUSlice %s has been on its way out on node %s for more than %llds: "
                           "%s%s; the pod is placed again once it is gone",
                           v->name, v->spec.node ? v->spec.node : "(none)",
                           (long long)(CONTROLLER_SLICE_SLOW_NS / NS_PER_SEC),
                           said ? "the node's agent says: "
                                : "the node's agent has not destroyed it (is it running, "
                                  "holding its Lease?)",
                           said ? said : "");
}

/* A gated pod's slices on their way out (released so that the whole pod
 * is placed again, place.c): being deleted (phase_of: Deleting, the
 * agent removes them after the destroy), or Deleting and Deleted by status
 * (an older version's release): the Deleted ones are deleted. Returns how
 * many are left; the pod waits for them all, since its new slices take
 * their names (SlicesReleased said why, SliceNotReleased says a wait the
 * agent does not end: of the slow ones, the first by name, so that the
 * Event does not change with the order the cache lists them in). */
static int leaving(struct controller *c, const struct pod_state *s, int64_t now,
                   struct action_list *out, int64_t *requeue_at, struct err *e)
{
    size_t i;
    const json_t *obj;
    int left = 0;
    struct gpuslice_view stuck = {0};
    json_array_foreach(s->slices, i, obj) {
        struct gpuslice_view v;
        if (controller__slice_view(c, obj, &v, NULL) < 0 || !mine(s, &v))
            continue;
        enum slice_phase p = phase_of(&v);
        if (p != SLICE_DELETING && p != SLICE_DELETED)
            continue;
        left++;
        if (p == SLICE_DELETED && !v.deleting) {
            int rc = action_delete(out, c->slice_res, v.ns, v.name, v.uid, e);
            if (rc < 0)
                return rc;
        } else if (slow_leaving(obj, &v, now, requeue_at) &&
                   (!stuck.name || strcmp(v.name, stuck.name) < 0)) {
            stuck = v;
        }
    }
    int rc = stuck.name ? say_stuck_leaving(c, s, &stuck, out) : 0;
    return rc < 0 ? rc : left;
}

/* The pod's slices Creating for longer than CONTROLLER_SLICE_SLOW_NS are
 * said (a Warning SliceNotReady, once), so that no pod waits on its node's
 * agent without an Event that says so. */
static int say_slow(struct controller *c, const struct pod_state *s, struct wanted_slice *w,
                    size_t n, int64_t now, struct action_list *out, int64_t *requeue_at)
{
    for (size_t k = 0; k < n; k++) {
        struct gpuslice_view v;
        if (!w[k].existing || controller__slice_view(c, w[k].existing, &v, NULL) < 0 ||
            phase_of(&v) != SLICE_CREATING ||
            !slow_since(w[k].existing, "metadata", "creationTimestamp", now, requeue_at))
            continue;
        return controller__say(c, out, s->pod, ACTION_EVENT_WARNING, "SliceNotReady",
                               "GPUSlice %s has been Creating on node %s for more than %llds: "
                               "%s%s",
                               v.name, v.spec.node,
                               (long long)(CONTROLLER_SLICE_SLOW_NS / NS_PER_SEC),
                               v.status.message ? "the node's agent says: "
                                                : "the node's agent has neither made the slice "
                                                  "nor said why (is it running, holding its "
                                                  "Lease?)",
                               v.status.message ? v.status.message : "");
    }
    return 0;
}

static int decide_active(struct controller *c, const struct pod_state *s, int64_t now,
                         struct action_list *out, int64_t *requeue_at, struct err *e)
{
    struct pod_slices ps;
    struct err bad = {0};
    bool gated = pod_gated(s->pod, GPUSLICE_GATE);
    if (pod_slices_memo_of(c->slices_memo, s->pod, &ps, &bad) < 0)
        return gated ? controller__say(c, out, s->pod, ACTION_EVENT_WARNING,
                                       "InvalidSliceRequest", "%s; fix the pod's requests",
                                       bad.msg)
                     : 0;
    int failed = handle_failed(c, s, now, out, requeue_at, e);
    if (failed != 0)
        return failed < 0 ? failed : 0;
    struct wanted_slice *w = c->wanted;
    size_t n = wanted(c, s, &ps, w);
    if (!gated)
        return finish_ungated(c, w, n, now, out, requeue_at, e);
    struct err why;
    if (controller__slices_requested(s->pod, &ps, &why) < 0)
        return controller__say(c, out, s->pod, ACTION_EVENT_WARNING, "SliceNotRequested",
                               "%s; no slice until the pod's resources ask for it", why.msg);
    if (n == 0)
        return controller__say(c, out, s->pod, ACTION_EVENT_WARNING, "NothingToPlace",
                               "the pod carries the %s gate but asks for no slice",
                               GPUSLICE_GATE);
    if (pod_gate_count(s->pod) > 1)
        return controller__say(c, out, s->pod, ACTION_EVENT_NORMAL, "WaitingForGates",
                               "waiting for the pod's other scheduling gates to be removed before "
                               "placing its slices");
    int sharing = controller__sharing_unplaced(c, s->pod, &ps, now, out, e);
    if (sharing != 0)
        return sharing < 0 ? sharing : 0;
    int left = leaving(c, s, now, out, requeue_at, e);
    if (left != 0)
        return left < 0 ? left : 0;
    if (all_in(c, w, n, SLICE_CREATED))
        return ungate(c, s, w, n, now, out, e);
    int rc = say_slow(c, s, w, n, now, out, requeue_at);
    if (rc < 0)
        return rc;
    const struct pod_retry *retry = s->uid ? strmap_get(&c->pod_retry, s->uid) : NULL;
    if (retry && retry->at > now) {
        loop_requeue_by(requeue_at, retry->at); /* say_slow's minute may come first */
        return 0;
    }
    return controller__place_missing(c, s->pod, w, n, now, out, requeue_at, e);
}

/* Reservations this pod's previous decision made but never created were
 * abandoned (its actions stopped early): they hold nothing any more. */
static void drop_abandoned(struct controller *c, const char *key)
{
    for (size_t i = 0; i < c->n_res; i++) {
        if (c->res[i].created || strcmp(c->res[i].pod_key, key) != 0)
            continue;
        char slice[CONTROLLER_KEY_MAX];
        controller__slice_key(c->res[i].ns, c->res[i].name, slice);
        model_unclaim(&c->model, slice);
        struct reservation gone = c->res[i];
        drop_reservation_at(c, i--);
        controller__warm_settle(c, gone.gpu, gone.start, true); /* a warm slice it took */
    }
}

static int reconcile_locked(struct controller *c, const char *key, int64_t now,
                            struct action_list *out, int64_t *requeue_at, struct err *e)
{
    assert(mutex_held(&c->lock));
    char ns[64];
    struct pod_state s = {0};
    if (objkey_split(key, ns, sizeof ns, &s.name) < 0)
        return err_set(e, -EINVAL, "controller: bad key \"%s\" (want namespace/name)", key);
    s.ns = ns;
    drop_abandoned(c, key);
    json_t *pod = NULL;
    if (informer_get(c->pods, ns, s.name, &pod) == 0) {
        s.pod = pod;
        s.uid = meta_uid(pod);
    }
    json_t *by_pod = NULL;
    s.slices = json_array();
    if (informer_by_index(c->slices, CONTROLLER_INDEX_POD, s.name, &by_pod) == 0) {
        size_t i;
        json_t *o;
        json_array_foreach(by_pod, i, o) {
            const char *slice_ns = meta_namespace(o); /* two lookups: once */
            if (strcmp(slice_ns ? slice_ns : "", ns) == 0)
                jdoc_append(s.slices, json_incref(o));
        }
    }
    json_decref(by_pod);
    int rc;
    if (!s.pod || controller__pod_done(s.pod)) {
        c->wake_pending |= controller__unwait(c, key, c->wake_next);
        rc = release_all(c, &s, false, now, out, requeue_at, e);
    }
    else if ((rc = release_all(c, &s, true, now, out, requeue_at, e)) == 0) {
        rc = decide_active(c, &s, now, out, requeue_at, e);
    }
    json_decref(s.slices);
    json_decref(pod);
    return rc;
}

static int controller_reconcile(void *self, const char *key, int64_t now,
                                struct action_list *out, int64_t *requeue_at, struct err *e)
{
    struct controller *c = self;
    char next[CONTROLLER_KEY_MAX];
    mutex_lock(&c->lock);
    int rc = strcmp(key, CONTROLLER_RESTORE_KEY) == 0
                 ? controller__restore(c, now, out, requeue_at, e)
                 : reconcile_locked(c, key, now, out, requeue_at, e);
    bool wake = c->wake_pending;
    if (wake)
        memcpy(next, c->wake_next, sizeof next);
    c->wake_pending = false;
    mutex_unlock(&c->lock);
    if (wake && c->loop)
        loop_enqueue(c->loop, next);
    enqueue_restore(c);
    return rc;
}

/* The reservation of GPUSlice ns/name, or NULL. */
static struct reservation *reservation_of(struct controller *c, const char *ns,
                                          const char *name)
{
    assert(mutex_held(&c->lock));
    for (size_t i = 0; name && i < c->n_res; i++)
        if (strcmp(c->res[i].name, name) == 0 && strcmp(c->res[i].ns, ns ? ns : "") == 0)
            return &c->res[i];
    return NULL;
}

/* A GPUSlice create that failed may have landed all the same: its reply
 * lost (a timeout, a dropped connection), or the name taken by a GPUSlice
 * the cache does not show yet (written before a restart or by the other
 * replica). Until the cache shows it, only the store knows where it is: it
 * is read back, and a live one holds its placement (its reservation, now a
 * created one, claims where it really is), so no other pod is given that
 * placement meanwhile. A store that cannot be read leaves the reservation
 * abandoned, as before: nothing can be created while it is unreachable. */
static void claim_if_landed(struct controller *c, const struct action *a)
{
    json_t *got = NULL;
    struct gpuslice_view v;
    if (store_get(c->cfg.store, c->slice_res, a->ns, meta_name(a->body), &got, NULL) < 0 ||
        gpuslice_read(got, &v, NULL) < 0 || !holds_placement(INFORMER_UPDATED, &v)) {
        json_decref(got);
        return;
    }
    mutex_lock(&c->lock);
    struct reservation *r = reservation_of(c, v.ns, v.name);
    if (r) {
        r->created = true;
        snprintf(r->gpu, sizeof r->gpu, "%s", v.spec.gpu_uuid);
        snprintf(r->profile, sizeof r->profile, "%s", v.spec.profile ? v.spec.profile : "");
        r->start = v.spec.start;
        r->share = (enum share_mode)v.spec.sharing;
        r->gib = v.spec.memory_gib;
        r->sm = v.spec.sm_percent;
        char key[CONTROLLER_KEY_MAX];
        controller__slice_key(v.ns, v.name, key);
        controller__claim_slice(c, key, &v.spec);
    }
    mutex_unlock(&c->lock);
    json_decref(got);
}

static void controller_executed(void *self, const char *key, const struct action *a, int rc,
                                const json_t *result, const struct err *e)
{
    struct controller *c = self;
    (void)key;
    (void)result;
    (void)e;
    if (a->kind == ACTION_UPDATE_STATUS && a->res == c->slice_res) {
        mutex_lock(&c->lock);
        if (rc == 0)
            controller__warm_written(c, a->body);
        if (rc == 0)
            note_ungated(c, a->body);
        mutex_unlock(&c->lock);
        return;
    }
    if (a->kind != ACTION_CREATE || a->res != c->slice_res)
        return;
    if (rc < 0) {
        claim_if_landed(c, a);
        return;
    }
    mutex_lock(&c->lock);
    struct reservation *r = reservation_of(c, a->ns, meta_name(a->body));
    if (r)
        r->created = true;
    mutex_unlock(&c->lock);
}

struct reconciler controller_reconciler(struct controller *c)
{
    return (struct reconciler){.name = "controller", .self = c,
                               .reconcile = controller_reconcile,
                               .executed = controller_executed};
}

void controller_get_stats(struct controller *c, struct controller_stats *out)
{
    mutex_lock(&c->lock);
    *out = c->stats;
    out->remembered = strmap_size(&c->last_said) + strmap_size(&c->pod_retry) +
                      strmap_size(&c->waiting) + strmap_size(&c->upgrade_waits) +
                      strmap_size(&c->ungated_from);
    mutex_unlock(&c->lock);
}
