/*
 * The agent's shell (see agent.h): construction, the informers and the
 * handlers that map their changes to keys, the dispatch of a key to the
 * node or the slice decisions, and the small lookups every half shares
 * (notes kept per GPUSlice, the device as last seen).
 */
#include "agent/agent_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "util/alloc.h"
#include "util/objkey.h"
#include "util/vec.h"

/* ---- construction ---- */

/* A GPUSlice index by the string spec.<field> (none when unset or empty). */
static size_t slice_by_spec(const json_t *obj, const char **keys, size_t max, void *field)
{
    const char *v = json_string_value(json_object_get(json_object_get(obj, "spec"), field));
    if (!v || !*v)
        return 0;
    if (max > 0)
        keys[0] = v;
    return 1;
}

static void on_slice(void *ctx, enum informer_change change, const json_t *old,
                     const json_t *cur);
static void on_config_map(void *ctx, enum informer_change change, const json_t *old,
                          const json_t *cur);
static void on_node(void *ctx, enum informer_change change, const json_t *old,
                    const json_t *cur);
static void on_gpunode(void *ctx, enum informer_change change, const json_t *old,
                       const json_t *cur);

struct watch_spec {
    const char *group, *version, *plural;
    bool by_label;            /* gpuslice.dev/node=<node>; else metadata.name=<node> */
    informer_handler_fn handler;
};

static int watch(struct agent *a, const struct watch_spec *w, const struct api_resource **res,
                 struct informer **out, struct err *e)
{
    *res = api_registry_find(store_registry(a->cfg.store), w->group, w->version, w->plural);
    if (!*res)
        return err_set(e, -ENOENT, "agent: the store does not serve %s%s%s/%s", w->group,
                       *w->group ? "/" : "", w->version, w->plural);
    char selector[AGENT_NODE_MAX + 32];
    snprintf(selector, sizeof selector, "%s=%s", w->by_label ? AGENT_LABEL_NODE : "metadata.name",
             a->node);
    struct informer_config ic = {
        .store = a->cfg.store, .res = *res, .handler = w->handler, .handler_ctx = a,
        .now_ns = a->cfg.informer_now_ns, .clock_ctx = a->cfg.clock_ctx, .seed = 1,
        .label_selector = w->by_label ? selector : NULL,
        .field_selector = w->by_label ? NULL : selector,
        .on_event = a->cfg.on_event, .on_event_ctx = a->cfg.on_event_ctx,
    };
    if (w->handler == on_slice) {
        /* Which slices a ConfigMap serves; which sit on a GPU (a slice's
         * holder is looked for among its GPU's, not the node's). */
        ic.indexes[0] = (struct informer_index){AGENT_INDEX_CONFIG_MAP, slice_by_spec, "configMap"};
        ic.indexes[1] = (struct informer_index){AGENT_INDEX_GPU, slice_by_spec, "gpuUUID"};
        ic.index_count = 2;
    }
    return informer_new(&ic, out, e);
}

static int check_config(const struct agent_config *cfg, struct err *e)
{
    if (!cfg->store || !cfg->device || !cfg->now_ns)
        return err_set(e, -EINVAL, "agent: needs a store, a device and a clock");
    if (!cfg->node || !*cfg->node || meta_check_subdomain(cfg->node, "node", NULL) < 0)
        return err_set(e, -EINVAL, "agent: \"%.64s\" is not a node name",
                       cfg->node ? cfg->node : "");
    if (cfg->cdi_dir && strlen(cfg->cdi_dir) >= AGENT_PATH_MAX - 128)
        return err_set(e, -EINVAL, "agent: the CDI directory's name is too long");
    if (cfg->orphan_grace_ns < 0 || cfg->recovery_period_ns < 0 || cfg->report_delay_ns < 0 ||
        cfg->report_period_ns < 0)
        return err_set(e, -EINVAL, "agent: the orphan grace, recovery period, report delay "
                                   "and report period cannot be negative");
    return 0;
}

int agent_new(const struct agent_config *cfg, struct agent **out, struct err *e)
{
    int rc = check_config(cfg, e);
    if (rc < 0)
        return rc;
    struct agent *a = alloc_calloc(1, sizeof *a);
    a->cfg = *cfg;
    snprintf(a->node, sizeof a->node, "%s", cfg->node);
    a->cfg.node = a->node;
    a->cfg.cdi_dir = cfg->cdi_dir && *cfg->cdi_dir ? alloc_strdup(cfg->cdi_dir) : NULL;
    if (!a->cfg.orphan_grace_ns)
        a->cfg.orphan_grace_ns = AGENT_ORPHAN_GRACE_DEFAULT_NS;
    if (!a->cfg.recovery_period_ns)
        a->cfg.recovery_period_ns = AGENT_RECOVERY_PERIOD_DEFAULT_NS;
    if (!a->cfg.report_delay_ns)
        a->cfg.report_delay_ns = AGENT_REPORT_DELAY_DEFAULT_NS;
    if (!a->cfg.report_period_ns)
        a->cfg.report_period_ns = AGENT_REPORT_PERIOD_DEFAULT_NS;
    if (a->cfg.report_period_ns < a->cfg.report_delay_ns)
        a->cfg.report_period_ns = a->cfg.report_delay_ns;
    mutex_init(&a->lock);
    strmap_init(&a->claim_memo, sizeof(struct agent_claim_memo), agent__claim_memo_drop);
    a->slice_views = gpuslice_memo_new(AGENT_SLICE_VIEW_BITS);
    a->inv = agent__inventory_empty();
    a->dev = agent__slices_empty();
    static const struct watch_spec specs[AGENT_INFORMERS] = {
        {GPUSLICE_API_GROUP, "v1alpha1", "gpuslices", true, on_slice},
        {"", "v1", "configmaps", true, on_config_map},
        {GPUSLICE_API_GROUP, "v1alpha1", "gpunodes", false, on_gpunode},
        {"", "v1", "nodes", false, on_node},
    };
    const struct api_resource **res[AGENT_INFORMERS] = {
        &a->res_slices, &a->res_config_maps, &a->res_gpunodes, &a->res_nodes};
    struct informer **infs[AGENT_INFORMERS] = {&a->slices, &a->config_maps, &a->gpunodes,
                                               &a->nodes};
    for (size_t i = 0; rc == 0 && i < AGENT_INFORMERS; i++)
        rc = watch(a, &specs[i], res[i], infs[i], e);
    if (rc == 0)
        rc = agent__ledger_load(a, e);
    if (rc == 0 && (cfg->mps_root || cfg->mps_control))
        rc = device_set_mps(cfg->device, cfg->mps_root, cfg->mps_control, e);
    if (rc < 0) {
        agent_free(a);
        return rc;
    }
    device_set_clock(cfg->device, cfg->now_ns, cfg->clock_ctx);
    agent__metrics_init(a);
    *out = a;
    return 0;
}

static void note_free(struct agent_note *n);

void agent_free(struct agent *a)
{
    if (!a)
        return;
    agent__workers_stop(a);
    agent__metrics_free(a);
    informer_free(a->slices);
    informer_free(a->config_maps);
    informer_free(a->gpunodes);
    informer_free(a->nodes);
    free(a->inv);
    free(a->dev);
    for (unsigned i = 0; a->mps && i < DEVICE_MAX_GPUS; i++)
        agent__failure_free(&a->mps[i].failure);
    free(a->mps);
    free((char *)a->cfg.cdi_dir);
    agent_report_free(&a->report);
    json_decref(a->gpunode_seen.spec);
    free(a->pending);
    free(a->made);
    free(a->intents);
    free(a->orphans);
    strmap_free(&a->claim_memo);
    jmemo_free(a->slice_views);
    for (size_t i = 0; i < a->n_notes; i++)
        note_free(&a->notes[i]);
    free(a->notes);
    mutex_destroy(&a->lock);
    free(a);
}

void agent_informers(struct agent *a, struct informer *out[AGENT_INFORMERS])
{
    out[0] = a->slices;
    out[1] = a->config_maps;
    out[2] = a->gpunodes;
    out[3] = a->nodes;
}

void agent_attach(struct agent *a, struct loop *l)
{
    a->loop = l;
}

struct reconciler agent_reconciler(struct agent *a)
{
    return (struct reconciler){
        .name = "agent",
        .self = a,
        .reconcile = agent_reconcile,
        .executed = agent_executed,
        .execute_external = agent_execute,
    };
}

void agent_get_stats(struct agent *a, struct agent_stats *out)
{
#define LOAD(field) (out->field = __atomic_load_n(&a->stats.field, __ATOMIC_RELAXED))
    LOAD(creates);
    LOAD(destroys);
    LOAD(device_failures);
    LOAD(discoveries);
    LOAD(discoveries_unchanged);
    LOAD(node_passes_repeated);
    LOAD(orphans_destroyed);
    LOAD(recreated);
    LOAD(mps_starts);
    LOAD(mps_restarts);
    LOAD(mps_stops);
    LOAD(mps_running);
#undef LOAD
}

bool agent__synced(struct agent *a)
{
    return informer_synced(a->slices) && informer_synced(a->config_maps) &&
           informer_synced(a->gpunodes) && informer_synced(a->nodes);
}

/* ---- keys ---- */

void agent__enqueue(struct agent *a, const char *key)
{
    if (a->loop)
        loop_enqueue(a->loop, key);
}

/* The queue keeps a key's earliest due time, so a stream of changes never
 * puts the report off past the delay after the first of them. */
void agent__report_soon(struct agent *a)
{
    if (a->loop)
        loop_enqueue_at(a->loop, AGENT_KEY_NODE,
                        a->cfg.now_ns(a->cfg.clock_ctx) + a->cfg.report_delay_ns);
}

/* Whether a node pass may wait the report period: it only reports. The
 * first pass decides the modes, a mode change waiting for its GPU to empty
 * is applied by a pass, and so is an MPS daemon's quitting. Lock held. */
static bool only_reports(const struct agent *a)
{
    return a->modes_known && !a->mode_pending[0] && !agent__mps_up(a);
}

void agent__report_later(struct agent *a)
{
    if (a->loop)
        loop_enqueue_at(a->loop, AGENT_KEY_NODE,
                        a->cfg.now_ns(a->cfg.clock_ctx) +
                            (only_reports(a) ? a->cfg.report_period_ns
                                             : a->cfg.report_delay_ns));
}

static void enqueue_slice(struct agent *a, const json_t *obj)
{
    char key[WORKQUEUE_KEY_MAX];
    const char *ns = meta_namespace(obj), *name = meta_name(obj);
    if (!ns || !name)
        return;
    objkey_join(key, sizeof key, ns, name);
    agent__enqueue(a, key);
}

void agent__enqueue_all(struct agent *a)
{
    agent__enqueue(a, AGENT_KEY_NODE);
    json_t *all = informer_list(a->slices, NULL);
    size_t i;
    const json_t *s;
    json_array_foreach(all, i, s)
        enqueue_slice(a, s);
    json_decref(all);
}

void agent__enqueue_at(struct agent *a, unsigned gpu, unsigned start)
{
    /* Called at every device call's end: only the GPU's slices, and
     * spec.start read without the rest (a share of a whole GPU has none
     * and sits at no start). */
    json_t *on_gpu = agent__slices_on(a, gpu);
    size_t i;
    const json_t *s;
    json_array_foreach(on_gpu, i, s) {
        const json_t *at = json_object_get(json_object_get(s, "spec"), "start");
        if (json_is_integer(at) && json_integer_value(at) == (json_int_t)start)
            enqueue_slice(a, s);
    }
    json_decref(on_gpu);
}

void agent_resync(struct agent *a)
{
    agent__enqueue_all(a);
}

static const char *phase_of(const json_t *obj)
{
    const char *p = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
    return p ? p : "Creating";
}

/* A slice's own change is its key; a change of phase, or its going away,
 * also changes which slices on the device are claimed: the node key. */
static void on_slice(void *ctx, enum informer_change change, const json_t *old,
                     const json_t *cur)
{
    struct agent *a = ctx;
    char key[WORKQUEUE_KEY_MAX];
    const char *ns = meta_namespace(cur), *name = meta_name(cur);
    if (ns && name) {
        /* The cache moved on: what was sent from its last version no
         * longer holds back a write (agent__set_status). */
        objkey_join(key, sizeof key, ns, name);
        mutex_lock(&a->lock);
        agent__status_seen(a, key);
        agent__claim_note(a, key, cur, change == INFORMER_DELETED);
        /* No one reads a superseded or deleted version again: the view
         * memo keeps only live ones (one memo per node adds up). */
        jmemo_forget(a->slice_views, old);
        if (change == INFORMER_DELETED)
            jmemo_forget(a->slice_views, cur);
        mutex_unlock(&a->lock);
    }
    enqueue_slice(a, cur);
    if (change != INFORMER_UPDATED || strcmp(phase_of(old), phase_of(cur)) != 0) {
        mutex_lock(&a->lock);
        agent__report_later(a);
        mutex_unlock(&a->lock);
    }
}

/* A ConfigMap changed (or was deleted under us): the slices that fill it,
 * whose ConfigMap writes the cache has now heard of. */
static void on_config_map(void *ctx, enum informer_change change, const json_t *old,
                          const json_t *cur)
{
    (void)change;
    (void)old;
    struct agent *a = ctx;
    const char *ns = meta_namespace(cur), *name = meta_name(cur);
    json_t *slices = NULL;
    if (!ns || !name || informer_by_index(a->slices, AGENT_INDEX_CONFIG_MAP, name, &slices) < 0)
        return;
    size_t i;
    const json_t *s;
    char key[WORKQUEUE_KEY_MAX];
    json_array_foreach(slices, i, s) {
        if (!meta_namespace(s) || strcmp(meta_namespace(s), ns) != 0 || !meta_name(s))
            continue;
        objkey_join(key, sizeof key, ns, meta_name(s));
        mutex_lock(&a->lock);
        agent__config_map_seen(a, key);
        mutex_unlock(&a->lock);
        agent__enqueue(a, key);
    }
    json_decref(slices);
}

static void on_node(void *ctx, enum informer_change change, const json_t *old,
                    const json_t *cur)
{
    (void)change;
    (void)old;
    (void)cur;
    struct agent *a = ctx;
    mutex_lock(&a->lock);
    agent__node_inputs_changed(a);
    mutex_unlock(&a->lock);
    agent__report_soon(a);
}

/* The GPUNode: its own status write coming back (the very status sent,
 * spec as it was) changes nothing a node pass reads, and at a pass per
 * write it was a fifth of a large simulation's node passes. */
static void on_gpunode(void *ctx, enum informer_change change, const json_t *old,
                       const json_t *cur)
{
    struct agent *a = ctx;
    mutex_lock(&a->lock);
    agent__node_inputs_changed(a); /* even its own write: its version is new */
    bool own = change == INFORMER_UPDATED && a->report.sent_status &&
               json_object_get(cur, "status") == a->report.sent_status &&
               json_equal(json_object_get(old, "spec"), json_object_get(cur, "spec"));
    mutex_unlock(&a->lock);
    if (!own)
        agent__report_soon(a);
}

/* ---- notes ---- */

struct agent_note *agent__note(struct agent *a, const char *key, bool make)
{
    for (size_t i = 0; i < a->n_notes; i++)
        if (strcmp(a->notes[i].key, key) == 0)
            return &a->notes[i];
    if (!make || strlen(key) >= WORKQUEUE_KEY_MAX)
        return NULL;
    VEC_RESERVE(a->notes, a->cap_notes, a->n_notes + 1);
    struct agent_note *n = &a->notes[a->n_notes++];
    memset(n, 0, sizeof *n);
    snprintf(n->key, sizeof n->key, "%s", key);
    return n;
}

/* Frees what n holds besides itself. */
static void note_free(struct agent_note *n)
{
    agent__failure_free(&n->create);
    agent__failure_free(&n->destroy);
    agent__failure_free(&n->hand_over);
}

void agent__note_forget(struct agent *a, const char *key)
{
    struct agent_note *n = agent__note(a, key, false);
    if (!n)
        return;
    note_free(n);
    *n = a->notes[--a->n_notes];
}

void agent__failure_set(struct agent_failure *f, int code, const char *msg)
{
    free(f->msg);
    f->code = code;
    f->msg = msg && *msg ? alloc_strdup(msg) : NULL;
}

const char *agent__failure_msg(const struct agent_failure *f)
{
    return f->msg ? f->msg : "";
}

void agent__failure_free(struct agent_failure *f)
{
    agent__failure_set(f, 0, NULL);
}

/* ---- the device as last seen ---- */

const struct device_gpu *agent__gpu(const struct agent *a, const char *uuid)
{
    for (unsigned i = 0; uuid && i < a->inv->n_gpus; i++)
        if (strcmp(a->inv->gpus[i].uuid, uuid) == 0)
            return &a->inv->gpus[i];
    return NULL;
}

const struct device_gpu *agent__gpu_at(const struct agent *a, unsigned gpu)
{
    for (unsigned i = 0; a->inv && i < a->inv->n_gpus; i++)
        if (a->inv->gpus[i].index == gpu)
            return &a->inv->gpus[i];
    return NULL;
}

json_t *agent__slices_on(struct agent *a, unsigned gpu)
{
    const struct device_gpu *g = agent__gpu_at(a, gpu);
    json_t *out = NULL;
    if (!g || informer_by_index(a->slices, AGENT_INDEX_GPU, g->uuid, &out) < 0)
        return NULL;
    return out;
}

const struct device_slice *agent__slice_at(const struct agent *a, unsigned gpu, unsigned start)
{
    for (unsigned i = 0; i < a->dev->n; i++)
        if (a->dev->items[i].gpu_index == gpu && a->dev->items[i].placement.start == start)
            return &a->dev->items[i];
    return NULL;
}

int agent__place_of(const struct agent *a, const struct gpuslice_view *v,
                    struct agent_place *out, struct err *e)
{
    const struct device_gpu *g = agent__gpu(a, v->spec.gpu_uuid);
    if (!g)
        return err_set(e, -ENODEV, "no GPU %s on node %s", v->spec.gpu_uuid, a->node);
    if (v->spec.sharing != POD_SHARING_NONE) /* a whole GPU's share: no slice anywhere */
        return err_set(e, -EINVAL, "a share of GPU %s has no MIG slice", g->uuid);
    const struct mig_profile *p = g->model ? catalog_find_profile(g->model, v->spec.profile)
                                           : NULL;
    if (!p)
        return err_set(e, -EINVAL, "GPU %s (%s) has no MIG profile \"%s\"", g->uuid, g->product,
                       v->spec.profile);
    *out = (struct agent_place){.gpu = g->index, .start = v->spec.start, .profile_id = p->nvml_id};
    return 0;
}

int64_t agent__pending_until(struct agent *a, unsigned gpu, unsigned start, int64_t now)
{
    int64_t until = 0;
    for (size_t i = 0; i < a->n_pending; i++) {
        const struct agent_pending *p = &a->pending[i];
        if (p->gpu == gpu && p->start == start && p->done_at > now && p->done_at > until)
            until = p->done_at;
    }
    return until;
}

bool agent__made(const struct agent *a, const struct agent_place *p)
{
    for (size_t i = 0; i < a->n_made; i++)
        if (a->made[i].gpu == p->gpu && a->made[i].start == p->start &&
            a->made[i].profile_id == p->profile_id)
            return true;
    return false;
}

int agent__external(struct action_list *out, enum agent_op op, json_t *params, struct err *e)
{
    if (!params)
        return err_set(e, -ENOMEM, "agent: out of memory");
    return action_external(out, (int)op, params, e);
}

/* ---- dispatch ---- */

int agent_reconcile(void *self, const char *key, int64_t now_ns, struct action_list *out,
                    int64_t *requeue_at_ns, struct err *e)
{
    struct agent *a = self;
    if (!agent__synced(a)) {
        *requeue_at_ns = now_ns + AGENT_SYNC_POLL_NS;
        return 0;
    }
    mutex_lock(&a->lock);
    int rc = strcmp(key, AGENT_KEY_NODE) == 0
                 ? agent__reconcile_node(a, now_ns, out, requeue_at_ns, e)
                 : agent__reconcile_slice(a, key, now_ns, out, requeue_at_ns, e);
    mutex_unlock(&a->lock);
    return rc;
}

void agent_executed(void *self, const char *key, const struct action *act, int rc,
                    const json_t *result, const struct err *e)
{
    (void)result;
    (void)e;
    struct agent *a = self;
    /* Its status writes and its finalizer's removal (a patch). */
    if (act->res == a->res_slices &&
        (act->kind == ACTION_UPDATE_STATUS || act->kind == ACTION_PATCH)) {
        mutex_lock(&a->lock);
        agent__status_executed(a, key, act->body, rc);
        mutex_unlock(&a->lock);
        return;
    }
    if (act->res != a->res_config_maps)
        return;
    mutex_lock(&a->lock);
    if (rc < 0) /* not taken: the next decision may send it again */
        agent__config_map_seen(a, key);
    else
        agent__config_map_taken(a, key);
    /* A ConfigMap of that name exists but is not in the cache (not labelled
     * for this node): the next decision takes it over with a patch. */
    if (act->kind == ACTION_CREATE && rc == -EEXIST) {
        struct agent_note *n = agent__note(a, key, true);
        if (n)
            n->config_map_foreign = true;
    } else if (act->kind == ACTION_PATCH && (rc == 0 || rc == -ENOENT)) {
        /* Taken over, or gone before it could be: the next write is a
         * create (a takeover patch of nothing is a 404 for good). */
        struct agent_note *n = agent__note(a, key, false);
        if (n)
            n->config_map_foreign = false;
    }
    mutex_unlock(&a->lock);
}
