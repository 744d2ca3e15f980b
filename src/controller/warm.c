/*
 * Warm slices (docs/controller.md, "Warm slices"): a namespace annotated
 * gpuslice.dev/keep-warm: "<duration>" keeps the slice of a pod that ended
 * on the GPU for that long, so that its next pod asking the same profile
 * takes it over instead of paying a destroy and a create.
 *
 * Who holds a warm slice between pods is the GPUSlice the ended pod had:
 * it goes Ungated -> Warm (core/lifecycle.h) with status.warmUntil, loses
 * its owner reference (the pod may go; the slice is the namespace's now)
 * and stops counting against the pod's finalizer. Kubernetes stays the
 * system of record: a restarted controller reads every warm slice, its
 * namespace and its expiry back from the GPUSlices. The next pod's
 * GPUSlice is an ordinary one at the same placement (not spec.existing: on
 * a mig GPU the slice is gpuslice's, and the taker's release destroys it
 * as usual); the agent hands the slice over to it, and the warm GPUSlice
 * is let go (Warm -> Deleting) without a destroy (agent_warm.c). A warm
 * slice is let go too when its time runs out, when its namespace stops
 * keeping slices warm, when the cap on warm memory is exceeded (the ones
 * closest to their expiry first), when its GPU waits for a mode change,
 * and when a pod it does not fit needs its memory slices (the fewest).
 *
 * In the model a warm slice claims its placement under its own key, so
 * nobody else is placed there, unless a taker claims it (a GPUSlice of its
 * namespace at the same placement in the cache, or a reservation for one):
 * then only the taker does, so the two never count as an overlap. The
 * table below is a cache of the GPUSlices, kept by the slices' handler.
 */
#include "controller/controller_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "core/catalog.h"
#include "core/lifecycle.h"
#include "util/alloc.h"
#include "util/duration.h"
#include "util/objkey.h"

static void drop_said(void *value)
{
    free(*(char **)value);
}

void controller__warm_init(struct controller *c)
{
    strmap_init(&c->warm, sizeof(struct controller_warm), NULL);
    strmap_init(&c->warm_said, sizeof(char *), drop_said);
}

void controller__warm_free(struct controller *c)
{
    strmap_free(&c->warm);
    strmap_free(&c->warm_said);
}

/* ---- which GPUSlices are warm, and their claims ---- */

/* v's phase as lifecycle_seen has it: a warm slice whose object is being
 * deleted (a user, its namespace going) is Deleting, released at once,
 * and never handed to a taker while the agent destroys it. */
static enum slice_phase phase_of(const struct gpuslice_view *v)
{
    enum slice_phase p = SLICE_CREATING;
    lifecycle_phase_parse(v->status.phase, &p, NULL);
    return lifecycle_seen(p, v->deleting);
}

/* Warm, or released after it was (Deleting with warmUntil). */
static bool warmish(const struct gpuslice_view *v)
{
    enum slice_phase p = phase_of(v);
    if (v->spec.sharing != POD_SHARING_NONE)
        return false; /* a share is never kept warm: nothing to make again */
    return p == SLICE_WARM || (p == SLICE_DELETING && v->status.warm_until);
}

/* The memory of v's profile, from the catalogue by spec.model (so it
 * does not wait for the model's arrays). */
static uint32_t slice_mib(const struct gpuslice_view *v)
{
    const struct gpu_model *m = v->spec.model ? catalog_find_model(v->spec.model) : NULL;
    const struct mig_profile *p = m ? catalog_find_profile(m, v->spec.profile) : NULL;
    return p ? p->memory_mib : 0;
}

/* Whether a taker holds e's placement: a GPUSlice of e's namespace there
 * that holds it and is not warm itself, or a reservation for one. */
static bool has_taker(struct controller *c, const struct controller_warm *e)
{
    for (size_t i = 0; i < c->n_res; i++)
        if (c->res[i].start == e->start && strcmp(c->res[i].gpu, e->gpu) == 0 &&
            strcmp(c->res[i].ns, e->ns) == 0)
            return true;
    json_t *there = NULL;
    bool found = false;
    if (informer_by_index(c->slices, CONTROLLER_INDEX_GPU, e->gpu, &there) < 0)
        return false;
    size_t i;
    const json_t *obj;
    json_array_foreach(there, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) < 0 || v.spec.start != e->start || !v.spec.profile ||
            strcmp(v.ns, e->ns) != 0 || strcmp(v.spec.profile, e->profile) != 0 ||
            lifecycle_is_terminal(phase_of(&v)) || warmish(&v))
            continue;
        found = true;
        break;
    }
    json_decref(there);
    return found;
}

/* Brings the claims of the warm slices at (gpu, start) in step with their
 * takers: in the first pass (claim false) those a taker now holds let go,
 * in the second (claim true, after the taker's own claim changed) those
 * without one claim; so the model never holds both at once. */
void controller__warm_settle(struct controller *c, const char *gpu, unsigned start, bool claim)
{
    assert(mutex_held(&c->lock));
    size_t pos = 0;
    const char *key;
    void *v;
    while (strmap_next(&c->warm, &pos, &key, &v)) {
        struct controller_warm *e = v;
        if (e->start != start || strcmp(e->gpu, gpu) != 0)
            continue;
        e->shadowed = has_taker(c, e);
        if (!claim && e->shadowed)
            model_unclaim(&c->model, key);
        else if (claim && !e->shadowed)
            model_claim(&c->model, key, e->gpu, e->profile, e->start);
    }
}

bool controller__warm_track(struct controller *c, enum informer_change change,
                            const struct gpuslice_view *v)
{
    assert(mutex_held(&c->lock));
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(v->ns, v->name, key);
    struct controller_warm *was = strmap_get(&c->warm, key);
    bool was_warm = was && !was->releasing;
    if (change == INFORMER_DELETED || !warmish(v)) {
        strmap_del(&c->warm, key);
        return false;
    }
    struct controller_warm e = {.start = v->spec.start,
                                .releasing = phase_of(v) == SLICE_DELETING};
    snprintf(e.ns, sizeof e.ns, "%s", v->ns);
    snprintf(e.pod, sizeof e.pod, "%s", v->spec.pod_name);
    snprintf(e.gpu, sizeof e.gpu, "%s", v->spec.gpu_uuid);
    snprintf(e.profile, sizeof e.profile, "%s", v->spec.profile);
    e.size = v->spec.size;
    e.mib = slice_mib(v);
    if (meta_parse_time(v->status.warm_until, "status.warmUntil", &e.until, NULL) < 0)
        e.until = 0; /* unreadable: expired */
    strmap_set(&c->warm, key, &e);
    return !was_warm && !e.releasing;
}

bool controller__warm_is(struct controller *c, const char *key)
{
    return strmap_get(&c->warm, key) != NULL;
}

char *controller__warm_pods(struct controller *c, const char *ns, size_t *n)
{
    assert(mutex_held(&c->lock));
    size_t size = 1, pos = 0;
    const char *key;
    void *v;
    *n = 0;
    while (strmap_next(&c->warm, &pos, &key, &v))
        if (strcmp(((const struct controller_warm *)v)->ns, ns) == 0)
            size += CONTROLLER_KEY_MAX;
    char *keys = alloc_calloc(size, 1), *at = keys;
    pos = 0;
    while (strmap_next(&c->warm, &pos, &key, &v)) {
        const struct controller_warm *e = v;
        if (strcmp(e->ns, ns) != 0)
            continue;
        at += objkey_join(at, CONTROLLER_KEY_MAX, e->ns, e->pod) + 1;
        (*n)++;
    }
    return keys;
}

void controller__warm_taken(struct controller *c, const char *key, const char *taker_key)
{
    assert(mutex_held(&c->lock));
    (void)taker_key;
    struct controller_warm *e = strmap_get(&c->warm, key);
    if (!e)
        return;
    e->shadowed = true;
    model_unclaim(&c->model, key);
}

/* ---- the namespace's setting, the cap ---- */

/* How long namespace ns keeps released slices warm (0: not at all). A
 * value that does not parse counts as none and is said once per value, in
 * a Warning Event InvalidKeepWarm on the namespace. */
static int keep_for(struct controller *c, const char *ns, int64_t *dur, struct action_list *out,
                    struct err *e)
{
    *dur = 0;
    json_t *obj = NULL;
    if (informer_get(c->namespaces, NULL, ns, &obj) < 0)
        return 0;
    const char *text = meta_annotation(obj, CONTROLLER_KEEP_WARM);
    struct err bad = {0};
    int rc = 0;
    if (text && duration_parse(text, dur, &bad) < 0) {
        *dur = 0;
        char **said = strmap_get(&c->warm_said, ns);
        if (!said || strcmp(*said, text) != 0) {
            char *copy = alloc_strdup(text);
            strmap_set(&c->warm_said, ns, &copy);
            rc = action_event(out, obj, ACTION_EVENT_WARNING, "InvalidKeepWarm", NULL,
                              "%s: %s; released slices of this namespace are not kept warm",
                              CONTROLLER_KEEP_WARM, bad.msg);
            rc = rc < 0 ? err_prefix(e, rc, "controller: ") : 0;
        }
    } else {
        strmap_del(&c->warm_said, ns);
    }
    json_decref(obj);
    return rc;
}

/* The memory warm slices may hold (MiB): the cap's share of the GPUs in
 * mode mig. */
static uint64_t cap_mib(const struct controller *c)
{
    int pct = c->cfg.warm_max_percent ? c->cfg.warm_max_percent
                                      : CONTROLLER_WARM_MAX_PERCENT_DEFAULT;
    if (pct <= 0)
        return 0;
    uint64_t total = 0;
    for (size_t g = 0; g < c->model.n_gpus; g++)
        if (!c->model.gpus[g].fixed)
            total += c->model.gpus[g].occ.model->memory_mib;
    return total * (uint64_t)pct / 100;
}

/* The memory warm slices hold (those on their way out aside). */
static uint64_t warm_mib(struct controller *c)
{
    uint64_t sum = 0;
    size_t pos = 0;
    const char *key;
    void *v;
    while (strmap_next(&c->warm, &pos, &key, &v)) {
        const struct controller_warm *e = v;
        if (!e->releasing && !e->shadowed)
            sum += e->mib;
    }
    return sum;
}

/* Whether e comes before f in the order the cap lets warm slices go:
 * closest to its expiry first, then by key. */
static bool evicted_before(const struct controller_warm *e, const char *ek,
                           const struct controller_warm *f, const char *fk)
{
    return e->until != f->until ? e->until < f->until : strcmp(ek, fk) < 0;
}

/* Whether the cap lets the warm slice key go: the slices held are over
 * the cap, and those before key in the order do not bring them under. */
static bool over_cap(struct controller *c, const char *key, const struct controller_warm *me)
{
    uint64_t held = warm_mib(c), cap = cap_mib(c);
    if (held <= cap)
        return false;
    uint64_t freed = 0;
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(&c->warm, &pos, &k, &v)) {
        const struct controller_warm *e = v;
        if (!e->releasing && !e->shadowed && strcmp(k, key) != 0 &&
            evicted_before(e, k, me, key))
            freed += e->mib;
    }
    return held - freed > cap;
}

/* ---- going warm, staying warm, letting go ---- */

static bool pod_ended(const json_t *pod)
{
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"),
                                                          "phase"));
    return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

static int write_status(struct controller *c, const json_t *obj, const struct gpuslice_status *st,
                        int64_t now, struct action_list *out, struct err *e)
{
    char ts[32];
    controller__format_now(now, ts);
    json_t *w = gpuslice_with_status(obj, st, ts);
    return w ? action_update_status(out, c->slice_res, w, e)
             : err_set(e, -ENOMEM, "controller: out of memory");
}

/* Ungated -> Warm, when the namespace keeps slices warm, the slice is on
 * a GPU in mode mig that no mode change waits on, and the cap has room. */
static int go_warm(struct controller *c, const json_t *pod, const json_t *obj,
                   const struct gpuslice_view *v, int64_t now, struct action_list *out,
                   struct err *e)
{
    int64_t dur;
    int rc = keep_for(c, v->ns, &dur, out, e);
    if (rc < 0 || dur <= 0 || !pod || !pod_ended(pod))
        return rc;
    long g = model_find_gpu(&c->model, v->spec.gpu_uuid);
    if (g < 0 || c->model.gpus[g].fixed || c->model.info[g].mode_pending)
        return 0;
    if (warm_mib(c) + slice_mib(v) > cap_mib(c))
        return 0;
    /* Whole seconds, rounded up: the time a restarted controller reads
     * back is the one it would have kept. */
    int64_t until = (now + dur + NS_PER_SEC - 1) / NS_PER_SEC * NS_PER_SEC;
    char until_text[32], msg[160], left[DURATION_TEXT_MAX];
    controller__format_now(until, until_text);
    duration_format(dur, left);
    snprintf(msg, sizeof msg, "kept warm for namespace %s for %s (%s)", v->ns, left,
             CONTROLLER_KEEP_WARM);
    struct gpuslice_status st = {.phase = lifecycle_phase_name(SLICE_WARM),
                                 .warm_until = until_text, .reason = "KeepWarm",
                                 .message = msg};
    rc = lifecycle_transition(SLICE_UNGATED, SLICE_WARM, e);
    if (rc == 0)
        rc = write_status(c, obj, &st, now, out, e);
    c->stats.warmed += rc == 0;
    return rc < 0 ? rc : 1;
}

/* Whether a warm slice let go for reason must go whoever asks for it: its
 * memory is promised to another pod, its GPU must empty, or it is taken
 * (a deleted one is Deleting to phase_of, so never held). One let go as
 * expired or over the cap may still be taken over by a pod of its
 * namespace until the cache shows the let-go: the agent hands it to that
 * heir, or makes it anew after the destroy. */
static bool claimed_elsewhere(const char *reason)
{
    return strcmp(reason, "WarmExpired") != 0 && strcmp(reason, "WarmOverCap") != 0 &&
           strcmp(reason, "KeepWarmOff") != 0;
}

int controller__warm_let_go(struct controller *c, const char *key, const char *reason,
                            const char *message, int64_t now, struct action_list *out,
                            struct err *e)
{
    assert(mutex_held(&c->lock));
    char ns[64];
    const char *name;
    json_t *obj = NULL;
    if (objkey_split(key, ns, sizeof ns, &name) < 0 || informer_get(c->slices, ns, name, &obj) < 0)
        return 0;
    struct gpuslice_view v;
    int rc = 0;
    if (gpuslice_read(obj, &v, NULL) == 0 && phase_of(&v) == SLICE_WARM) {
        struct gpuslice_status st = {.phase = lifecycle_phase_name(SLICE_DELETING),
                                     .reason = reason, .message = message};
        rc = lifecycle_transition(SLICE_WARM, SLICE_DELETING, e);
        if (rc == 0)
            rc = write_status(c, obj, &st, now, out, e);
        if (rc == 0 && strcmp(reason, "WarmTakenOver") == 0)
            c->stats.warm_taken++;
        else if (rc == 0)
            c->stats.warm_let_go++;
    }
    json_decref(obj);
    return rc;
}

void controller__warm_written(struct controller *c, const json_t *sent)
{
    assert(mutex_held(&c->lock));
    const char *ns = meta_namespace(sent), *name = meta_name(sent);
    char key[CONTROLLER_KEY_MAX];
    struct gpuslice_view v;
    if (!ns || !name || gpuslice_read(sent, &v, NULL) < 0 || phase_of(&v) != SLICE_DELETING ||
        !v.status.reason || !claimed_elsewhere(v.status.reason))
        return;
    controller__slice_key(ns, name, key);
    struct controller_warm *me = strmap_get(&c->warm, key);
    if (me)
        me->releasing = true;
}

/* Why a warm slice ends now, or NULL when it stays. */
static const char *why_end(struct controller *c, const char *key,
                           const struct controller_warm *me, int64_t now,
                           struct action_list *out, struct err *e, int *rc)
{
    int64_t dur;
    long g = model_find_gpu(&c->model, me->gpu);
    *rc = 0;
    if (me->shadowed)
        return "WarmTakenOver";
    if (now >= me->until)
        return "WarmExpired";
    if ((*rc = keep_for(c, me->ns, &dur, out, e)) < 0 || dur <= 0)
        return "KeepWarmOff";
    if (g >= 0 && c->model.info[g].mode_pending)
        return "ModeChangePending";
    if (over_cap(c, key, me))
        return "WarmOverCap";
    return NULL;
}

/* The GPUSlice without its owner references: the pod may go, the slice
 * stays the namespace's. */
static int disown(struct controller *c, const json_t *obj, struct action_list *out,
                  struct err *e)
{
    json_t *copy = meta_copy_for_write(obj, NULL);
    if (!copy)
        return err_set(e, -ENOMEM, "controller: out of memory");
    json_object_del(meta_of(copy), "ownerReferences");
    return action_update(out, c->slice_res, copy, e);
}

int controller__warm_hold(struct controller *c, const json_t *pod, const json_t *obj,
                          const struct gpuslice_view *v, int64_t now, struct action_list *out,
                          int64_t *requeue_at, bool *left, struct err *e)
{
    assert(mutex_held(&c->lock));
    *left = true;
    enum slice_phase p = phase_of(v);
    if (p != SLICE_UNGATED && p != SLICE_WARM)
        return 0;
    int synced = model_sync(&c->model, e);
    if (synced < 0)
        return synced;
    if (p == SLICE_UNGATED)
        return go_warm(c, pod, obj, v, now, out, e);
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(v->ns, v->name, key);
    const struct controller_warm *me = strmap_get(&c->warm, key);
    if (p != SLICE_WARM || !me)
        return 0;
    bool owned = json_array_size(json_object_get(json_object_get(obj, "metadata"),
                                                 "ownerReferences")) > 0;
    if (me->releasing) { /* let go already; the cache has not shown it yet */
        *left = owned;
        return 1;
    }
    int rc;
    const char *reason = why_end(c, key, me, now, out, e, &rc);
    if (rc < 0)
        return rc;
    if (reason) {
        char msg[160];
        snprintf(msg, sizeof msg, "the warm slice of namespace %s is let go (%s)", v->ns,
                 reason);
        rc = controller__warm_let_go(c, key, reason, msg, now, out, e);
        *left = owned;
        return rc < 0 ? rc : 1;
    }
    *left = owned;
    if (owned && (rc = disown(c, obj, out, e)) < 0)
        return rc;
    loop_requeue_by(requeue_at, me->until);
    return 1;
}

/* ---- takers and reclaims ---- */

static bool labels_match(const struct placement_node *n, const struct placement_request *r)
{
    for (size_t s = 0; s < r->n_selector; s++) {
        bool found = false;
        for (size_t l = 0; l < n->n_labels && !found; l++)
            found = strcmp(n->labels[l].key, r->selector[s].key) == 0 &&
                    strcmp(n->labels[l].value, r->selector[s].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* Whether r may have a p on GPU g: its model accepted, the GPU usable, p
 * allowed there, its node's labels and the caller's filter passed. */
static const struct mig_profile *usable(struct controller *c, size_t g,
                                        const struct placement_request *r)
{
    const struct placement_gpu *pg = &c->model.gpus[g];
    const struct gpu_model *m = pg->occ.model;
    bool model_ok = !r->models;
    for (size_t i = 0; r->models && i < r->n_models; i++)
        model_ok |= r->models[i] == m;
    const struct mig_profile *p = catalog_find_profile(m, r->profile);
    int at = p ? catalog_profile_index(m, p, NULL) : -1;
    if (!model_ok || pg->held_back || pg->fixed || at < 0 || !(pg->allowed & (1u << at)) ||
        !labels_match(&c->model.nodes[pg->node], r) ||
        (r->filter && !r->filter(r->filter_ctx, pg->node, NULL, 0)))
        return NULL;
    return p;
}

static bool listed(const char *key, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

static bool is_near(const struct placement_request *r, size_t g)
{
    for (size_t i = 0; i < r->n_near; i++)
        if (r->near[i] == g)
            return true;
    return false;
}

const char *controller__warm_find(struct controller *c, const char *ns,
                                  const struct placement_request *r, const char *const *skip,
                                  size_t n_skip, struct placement_decision *d)
{
    assert(mutex_held(&c->lock));
    const char *best = NULL;
    const struct controller_warm *be = NULL;
    bool best_near = false;
    size_t pos = 0;
    const char *key;
    void *v;
    while (strmap_next(&c->warm, &pos, &key, &v)) {
        const struct controller_warm *e = v;
        if (e->releasing || e->shadowed || strcmp(e->ns, ns) != 0 || listed(key, skip, n_skip))
            continue;
        long g = model_find_gpu(&c->model, e->gpu);
        const struct mig_profile *p = g < 0 ? NULL : usable(c, (size_t)g, r);
        if (!p || strcmp(p->name, e->profile) != 0)
            continue;
        bool near = is_near(r, (size_t)g);
        if (best && (best_near != near ? best_near : !evicted_before(e, key, be, best)))
            continue;
        best = key;
        be = e;
        best_near = near;
        size_t first = (size_t)g;
        while (first > 0 && c->model.gpus[first - 1].node == c->model.gpus[g].node)
            first--;
        *d = (struct placement_decision){.gpu = (size_t)g, .node = c->model.gpus[g].node,
                                         .node_gpu = (size_t)g - first, .profile = p,
                                         .start = (uint8_t)e->start};
    }
    return best;
}

/* The warm slices on node (or every node: -1) that a placement could
 * reclaim, unclaimed for a trial (claimed: those that held a claim). */
static size_t unclaim_node(struct controller *c, long node, const char **keys, size_t max)
{
    size_t n = 0, pos = 0;
    const char *key;
    void *v;
    while (n < max && strmap_next(&c->warm, &pos, &key, &v)) {
        const struct controller_warm *e = v;
        long g = e->shadowed ? -1 : model_find_gpu(&c->model, e->gpu);
        if (g < 0 || (long)c->model.gpus[g].node != node)
            continue;
        model_unclaim(&c->model, key);
        keys[n++] = key;
    }
    return n;
}

static void reclaim_back(struct controller *c, const char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct controller_warm *e = strmap_get(&c->warm, keys[i]);
        model_claim(&c->model, keys[i], e->gpu, e->profile, e->start);
    }
}

static bool overlaps(const struct controller *c, const struct controller_warm *e,
                     const struct placement_decision *d)
{
    if (!d->profile) /* a share of a whole GPU (place.c): no MIG slice */
        return false;
    unsigned end = d->start + d->profile->memory_slices;
    return strcmp(c->model.info[d->gpu].uuid, e->gpu) == 0 && e->start < end &&
           d->start < e->start + e->size;
}

/* What letting go of the warm slices keys[n] that d[nd] overlaps costs:
 * the memory slices of those still warm (released ones are room already). */
static unsigned reclaim_cost(struct controller *c, const char **keys, size_t n,
                             const struct placement_decision *d, size_t nd)
{
    unsigned cost = 0;
    for (size_t i = 0; i < n; i++) {
        const struct controller_warm *e = strmap_get(&c->warm, keys[i]);
        for (size_t k = 0; k < nd; k++)
            if (!e->releasing && overlaps(c, e, &d[k])) {
                cost += e->size;
                break;
            }
    }
    return cost;
}

/* The node where the pod fits at the least cost in warm memory slices
 * (-1: none); its placement into best[]. */
static long cheapest_node(struct controller *c, const json_t *pod, struct wanted_slice *w,
                          size_t n, long fixed, struct placement_decision *best, size_t *n_best)
{
    const char *keys[64];
    struct placement_decision d[WANTED_MAX];
    long found = -1;
    unsigned least = 0;
    for (size_t node = 0; node < c->model.n_nodes; node++) {
        if (fixed >= 0 && (long)node != fixed)
            continue;
        size_t nk = unclaim_node(c, (long)node, keys, 64), nd = 0;
        int rc = nk ? controller__place_trial(c, pod, w, n, (long)node, d, &nd, NULL) : -ENOSPC;
        unsigned cost = rc == 0 ? reclaim_cost(c, keys, nk, d, nd) : 0;
        reclaim_back(c, keys, nk);
        if (rc == 0 && (found < 0 || cost < least)) {
            found = (long)node;
            least = cost;
            memcpy(best, d, nd * sizeof *d);
            *n_best = nd;
        }
    }
    return found;
}

int controller__warm_reclaim(struct controller *c, const json_t *pod, struct wanted_slice *w,
                             size_t n, long fixed, int64_t now, struct action_list *out,
                             char *why, size_t why_size, struct err *e)
{
    assert(mutex_held(&c->lock));
    if (strmap_size(&c->warm) == 0 || fixed == -2)
        return 0;
    struct placement_decision best[WANTED_MAX];
    size_t nb = 0;
    long node = cheapest_node(c, pod, w, n, fixed, best, &nb);
    if (node < 0)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "its memory slices are needed by pod %s/%s", meta_namespace(pod),
             meta_name(pod));
    unsigned let_go = 0, leaving = 0;
    const char *keys[64];
    size_t nk = 0, pos = 0;
    const char *key;
    void *v;
    while (nk < 64 && strmap_next(&c->warm, &pos, &key, &v)) {
        const struct controller_warm *we = v;
        bool hit = false;
        for (size_t k = 0; k < nb && !hit; k++)
            hit = !we->shadowed && overlaps(c, we, &best[k]);
        if (hit)
            keys[nk++] = key;
    }
    for (size_t i = 0; i < nk; i++) {
        const struct controller_warm *we = strmap_get(&c->warm, keys[i]);
        if (we->releasing) {
            leaving++;
            continue;
        }
        int rc = controller__warm_let_go(c, keys[i], "WarmReclaimed", msg, now, out, e);
        if (rc < 0)
            return rc;
        let_go++;
    }
    snprintf(why, why_size, "waiting for %u warm slice%s on %s to be destroyed to make room "
             "(%u released now)", let_go + leaving, let_go + leaving == 1 ? "" : "s",
             c->model.nodes[node].name, let_go);
    return 1;
}
