/*
 * The simulator's engine (see engine.h): builds the parts over one store
 * and one virtual clock, runs the loop, and keeps the gauges the summary
 * needs as the observer reports each pod's moves, integrating them over
 * virtual time between clock jumps, so no figure needs a scan of the pods
 * or the GPUs.
 */
#include "sim/engine.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "agent/agent_runtime.h"
#include "api/gpuslice.h"
#include "apiserver/bootstrap.h"
#include "cluster/components.h"
#include "controller/runtime.h"
#include "device/emulated.h"
#include "sim/admit.h"
#include "sim/arrivals.h"
#include "sim/builtin.h"
#include "sim/devstats.h"
#include "sim/inference.h"
#include "sim/layout.h"
#include "sim/observer.h"
#include "sim/slicelog.h"
#include "sim/tally.h"
#include "util/wakeset.h"
#include "store/mem.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/vec.h"

/* The virtual epoch: 2027-01-15T08:00:00Z, a fixed instant so that every
 * timestamp a run writes replays. */
#define ENGINE_T0 (INT64_C(1800000000) * NS_PER_SEC)
#define NODE_NAME_MAX 64
#define NEED_MAX 16                              /* memory slices a pod can need */
#define DRAIN_NS (60 * NS_PER_SEC)               /* serving pods: how long after the rest */
#define STALL_NS (3600 * NS_PER_SEC)             /* nothing moved, nothing running */
#define ROUNDS_MAX 100000                        /* rounds at one instant */
#define PROGRESS_EVERY 4096                      /* clock jumps between progress calls */
#define STARTUP_NS (10 * NS_PER_SEC)             /* the cluster up before the first arrival */
/* The store's history (mem_store_config.history): how far back a list's
 * continue token and a watch from a resourceVersion reach, which nothing
 * in a run needs (an informer lists and opens its watch in one step).
 * Its slot holds an old version's last reference, so a short history
 * frees the version soon after it was replaced, still in the cache; the
 * default 10,000 writes later it was cold (json_delete, 12.6 % of the CPU
 * of scale-1m). */
#define STORE_HISTORY 1024
/* The unread events one watch may hold (mem_store_config.watch_buffer):
 * the controller's and the cluster parts' watches see every node's
 * startup writes before they are first read; with the short history's
 * bound they overflowed and relisted. */
#define STORE_WATCH_BUFFER MEM_STORE_HISTORY_DEFAULT

struct engine_node {
    struct engine *en;
    char name[NODE_NAME_MAX];
    char *labels;                /* "k=v,..." or NULL */
    struct device *device;       /* counted (devstats) over the emulated GPUs */
    struct agent_runtime *agent;
};

struct engine {
    const struct scenario *sc;
    struct engine_options o;
    int64_t now;
    struct store *mem, *st;      /* the store, and the same behind admission */
    struct store *tally;         /* between them: counts the parts' writes */
    struct engine_node *nodes;
    size_t n_nodes;
    struct wakeset *woken;       /* the agents to step: told of a write, or due */
    struct cluster_parts *parts;
    struct controller_runtime *ctl;
    struct observer *obs;
    struct arrivals *arr;
    _Atomic int64_t on_gpus;     /* memory slices gpuslice's slices hold on the GPUs */
    int64_t held;                /* memory slices the GPUSlices hold (decided, not gone) */
    struct informer *slices;     /* every GPUSlice: keeps held */
    struct slicelog *slicelog;   /* NULL unless o.slices */
    struct inference_book *units; /* NULL unless an item has inferenceSeconds */
    int64_t usable;              /* memory slices gpuslice may use */
    const struct gpu_model *models[16]; /* the cluster's models, each once */
    size_t n_models;
    /* Gauges, kept by the observer's moves. */
    int64_t count[OBSERVED_ENDED + 1];
    int64_t waiting_by_need[NEED_MAX + 1];
    size_t unfinished;           /* pods seen, not serving, not ended */
    size_t running_batch;        /* of them, running */
    int64_t last_move;
    bool first_seen;
    /* Integrals over virtual time, up to last_t, and their values when the
     * last pod ended. */
    int64_t last_t, first_created, last_ended;
    double pending_ns, held_ns, frag_ns;
    double end_pending_ns, end_held_ns, end_frag_ns;
    int64_t last_row;
    struct outcome *out;
};

static int64_t engine_clock(void *ctx)
{
    return ((struct engine *)ctx)->now;
}

/* The memory slices the smallest slice of profile needs on the cluster's
 * models (0 when none has it). */
static unsigned need_of(const struct engine *en, const char *profile)
{
    unsigned need = 0;
    for (size_t i = 0; i < en->n_models; i++) {
        const struct mig_profile *p = catalog_find_profile(en->models[i], profile);
        if (p && (need == 0 || p->memory_slices < need))
            need = p->memory_slices;
    }
    return need > NEED_MAX ? NEED_MAX : need;
}

/* A pod's units of work start when it runs and stop when it ends. */
static void count_units(struct engine *en, const struct observed_pod *p,
                        enum observed_state from, enum observed_state to)
{
    if (to == OBSERVED_RUNNING) {
        size_t item = arrivals_item_of(en->arr, p->ns, p->name);
        double alone = item < en->sc->n_items ? en->sc->items[item].inference_s : 0;
        inference_running(en->units, p->ns, p->name, item, alone, en->now - ENGINE_T0);
    } else if (from == OBSERVED_RUNNING) {
        inference_stopped(en->units, p->ns, p->name, en->now - ENGINE_T0);
    }
}

static void moved(void *ctx, const struct observed_pod *p, enum observed_state from,
                  enum observed_state to)
{
    struct engine *en = ctx;
    en->count[from]--;
    en->count[to]++;
    en->last_move = en->now;
    unsigned need = need_of(en, p->profile);
    if (from == OBSERVED_WAITING)
        en->waiting_by_need[need]--;
    if (to == OBSERVED_WAITING)
        en->waiting_by_need[need]++;
    if (from == OBSERVED_UNSEEN) {
        if (!en->first_seen || p->created_ns < en->first_created)
            en->first_created = p->created_ns;
        en->first_seen = true;
        en->unfinished += !p->serving;
    }
    if (en->units)
        count_units(en, p, from, to);
    if (!p->serving && to == OBSERVED_RUNNING)
        en->running_batch++;
    if (!p->serving && from == OBSERVED_RUNNING)
        en->running_batch--;
    if (to == OBSERVED_ENDED) {
        en->unfinished -= !p->serving;
        en->last_ended = en->now;
        en->end_pending_ns = en->pending_ns;
        en->end_held_ns = en->held_ns;
        en->end_frag_ns = en->frag_ns;
    }
}

/* How a pod holds its GPU, for its units of work: from its GPUSlice's
 * placement until the slice is gone. */
static void hold_units(struct engine *en, enum informer_change change,
                       const struct gpuslice_view *v)
{
    struct inference_hold h;
    int64_t t = en->now - ENGINE_T0;
    if (change != INFORMER_ADDED)
        inference_released(en->units, v->ns, v->spec.pod_name, v->name, t);
    else if (inference_hold_of(&v->spec, &h, NULL) == 0)
        inference_held(en->units, v->ns, v->spec.pod_name, v->name, v->spec.gpu_uuid, &h, t);
}

/* A GPUSlice holds its placement from the controller's decision until it
 * is gone (after the agent destroyed the slice): what stands between a
 * waiting pod and that memory. */
static void on_slice(void *ctx, enum informer_change change, const json_t *old,
                     const json_t *cur)
{
    struct engine *en = ctx;
    (void)old;
    struct gpuslice_view v;
    if (change == INFORMER_UPDATED || gpuslice_read(cur, &v, NULL) < 0)
        return;
    en->held += change == INFORMER_ADDED ? (int64_t)v.spec.size : -(int64_t)v.spec.size;
    if (en->units)
        hold_units(en, change, &v);
    if (en->slicelog && change == INFORMER_ADDED)
        slicelog_added(en->slicelog, &v, en->now - ENGINE_T0);
    else if (en->slicelog)
        slicelog_gone(en->slicelog, &v, en->now - ENGINE_T0);
}

/* Adds the gauges' time up to now (they have held since last_t). */
static void integrate(struct engine *en)
{
    double dt = (double)(en->now - en->last_t);
    int64_t held = en->held;
    int64_t free_slices = en->usable - held;
    int64_t fits = 0;
    for (int64_t need = 0; need <= NEED_MAX && need <= free_slices; need++)
        fits += en->waiting_by_need[need];
    en->pending_ns +=
        dt * (double)(en->count[OBSERVED_WAITING] + en->count[OBSERVED_PLACED] +
                      en->count[OBSERVED_PENDING]);
    en->held_ns += dt * (double)held;
    en->frag_ns += dt * (double)fits;
    en->last_t = en->now;
}

static void sample(struct engine *en, bool always)
{
    if (!always && en->out->n_timeline && en->now - en->last_row < en->o.timeline_step_ns)
        return;
    struct outcome *out = en->out;
    VEC_RESERVE(out->timeline, out->cap_timeline, out->n_timeline + 1);
    struct outcome_sample *s = &out->timeline[out->n_timeline++];
    memset(s, 0, sizeof *s); /* padding too: records compare byte for byte */
    s->t_ns = en->now - ENGINE_T0;
    s->memory_slices_used = en->held;
    s->memory_slices_on_gpus = atomic_load(&en->on_gpus);
    s->waiting = (uint32_t)en->count[OBSERVED_WAITING];
    s->placed = (uint32_t)en->count[OBSERVED_PLACED];
    s->pending = (uint32_t)en->count[OBSERVED_PENDING];
    s->running = (uint32_t)en->count[OBSERVED_RUNNING];
    s->ended = (uint32_t)en->count[OBSERVED_ENDED];
    en->last_row = en->now;
}

/* ---- building ------------------------------------------------------------ */

static int make_store(struct engine *en, struct err *e)
{
    /* Every version keeps its value, no serialising, no parsing, but an
     * Event's: nothing in the run reads Events but their recorder counting a
     * repeat, and a run keeps the event TTL's of them (eventTTLSeconds), so
     * they are kept as their text. */
    struct mem_store_config mc = {.now_ns = engine_clock, .clock_ctx = en,
                                  .seed = en->o.seed, .values_kept = MEM_STORE_VALUES_ALL,
                                  .events_text_only = true,
                                  .event_ttl_ns = en->sc->event_ttl_s * NS_PER_SEC,
                                  .history = STORE_HISTORY,
                                  .watch_buffer = STORE_WATCH_BUFFER};
    int rc = mem_store_new(&mc, &en->mem, e);
    if (rc == 0)
        rc = bootstrap_namespaces(en->mem, e);
    if (rc == 0)
        rc = bootstrap_crds(en->mem, builtin_crds(), NULL, e);
    if (rc == 0)
        rc = tally_store_new(en->mem, &en->tally, e);
    if (rc == 0)
        rc = admit_store_new(en->tally, en->o.seed, &en->st, e);
    return rc;
}

static const struct scenario_namespace *namespace_of(const struct scenario *sc, const char *ns)
{
    for (size_t i = 0; i < sc->n_namespaces; i++)
        if (strcmp(sc->namespaces[i].name, ns) == 0)
            return &sc->namespaces[i];
    return NULL;
}

/* Namespace ns, opted in (gpuslice.dev/enabled=true) unless its own labels
 * say otherwise; -EEXIST is fine (two items share it). */
static int make_namespace(struct engine *en, const char *ns, struct err *e)
{
    const struct scenario_namespace *given = namespace_of(en->sc, ns);
    json_t *labels = json_pack("{s:s}", GPUSLICE_NAMESPACE_OPT_IN, "true");
    if (given && given->labels)
        json_object_update(labels, (json_t *)given->labels);
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:o}}", "apiVersion", "v1", "kind", "Namespace",
                            "metadata", "name", ns, "labels", labels);
    if (given && given->annotations)
        json_object_set(json_object_get(obj, "metadata"), "annotations",
                        (json_t *)given->annotations);
    const struct api_resource *res =
        api_registry_find(store_registry(en->mem), "", "v1", "namespaces");
    int rc = store_create(en->mem, res, NULL, obj, &(struct store_write_opts){0}, NULL, e);
    json_decref(obj);
    return rc == -EEXIST ? 0 : rc < 0 ? err_prefix(e, rc, "namespace %s: ", ns) : 0;
}

static int make_namespaces(struct engine *en, struct err *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < en->sc->n_namespaces; i++)
        rc = make_namespace(en, en->sc->namespaces[i].name, e);
    for (size_t i = 0; rc == 0 && i < en->sc->n_items; i++)
        rc = make_namespace(en, en->sc->items[i].ns, e);
    return rc;
}

static void set_latency(const struct rng_dist *d, uint64_t *fixed_ns, struct rng_dist *drawn)
{
    if (d->kind == RNG_CONSTANT)
        *fixed_ns = (uint64_t)llround(d->mean * (double)NS_PER_MS);
    else
        *drawn = *d;
}

/* Node i's emulated GPUs, as the layout says, with the scenario's costs,
 * the slices already there, and its GPUNode's settings in the store. */
static int make_device(struct engine *en, size_t i, struct device **out, struct err *e)
{
    const struct clusterfile *c = en->sc->cf;
    char spec[EMULATED_SPEC_MAX];
    int rc = layout_models(c, i, spec, sizeof spec - 32, e);
    size_t used = strlen(spec);
    snprintf(spec + used, sizeof spec - used, "seed=%llu",
             (unsigned long long)rng_derive(en->o.seed, 'N', i));
    struct emulated_config cfg;
    if (rc == 0)
        rc = emulated_config_parse(spec, &cfg, e);
    if (rc < 0)
        return rc;
    set_latency(&en->sc->create_ms, &cfg.latency.create_ns, &cfg.latency.create_ms);
    set_latency(&en->sc->destroy_ms, &cfg.latency.destroy_ns, &cfg.latency.destroy_ms);
    struct device *dev = NULL;
    json_t *gpunode = NULL;
    rc = emulated_open(&cfg, &dev, e);
    if (rc == 0)
        rc = layout_add_slices(c, i, dev, e);
    if (rc == 0)
        rc = layout_gpunode(c, i, dev, &gpunode, e);
    if (rc == 0 && gpunode)
        rc = store_create(en->mem,
                          api_registry_find(store_registry(en->mem), GPUSLICE_API_GROUP,
                                            "v1alpha1", "gpunodes"),
                          NULL, gpunode, &(struct store_write_opts){0}, NULL, e);
    json_decref(gpunode);
    if (rc < 0) {
        device_close(dev);
        return rc;
    }
    rc = devstats_wrap(dev, out, e); /* takes dev, on failure too */
    if (rc == 0)
        rc = devstats_share_memory(*out, &en->on_gpus, e);
    return rc;
}

/* A write concerns the node's agent (one of its watches' on_event). */
static void agent_woken(void *ctx)
{
    struct engine_node *n = ctx;
    wakeset_mark(n->en->woken, (size_t)(n - n->en->nodes));
}

static int make_node(struct engine *en, size_t i, struct err *e)
{
    struct engine_node *n = &en->nodes[i];
    n->en = en;
    snprintf(n->name, sizeof n->name, "%s", en->sc->cluster->nodes[i].name);
    n->labels = layout_labels(en->sc->cluster, i);
    int rc = make_device(en, i, &n->device, e);
    struct agent_runtime_config ac = {
        .agent = {.store = en->st, .device = n->device, .node = n->name,
                  .now_ns = engine_clock, .informer_now_ns = engine_clock, .clock_ctx = en,
                  .virtual_time = true, .on_event = agent_woken, .on_event_ctx = n},
        .log = en->o.log,
    };
    if (rc == 0)
        rc = agent_runtime_new(&ac, &n->agent, e);
    return rc < 0 ? err_prefix(e, rc, "node %s: ", n->name) : 0;
}

static int make_parts(struct engine *en, struct err *e)
{
    struct kubelet_node *kn = alloc_calloc(en->n_nodes + 1, sizeof *kn);
    for (size_t i = 0; i < en->n_nodes; i++)
        kn[i] = (struct kubelet_node){.name = en->nodes[i].name, .gpus = true,
                                      .labels = en->nodes[i].labels};
    struct cluster_parts_config pc = {.store = en->st, .now_ns = engine_clock, .clock_ctx = en,
                                      .nodes = kn, .node_count = en->n_nodes,
                                      .seed = en->o.seed};
    int rc = cluster_parts_new(&pc, &en->parts, e);
    free(kn);
    struct controller_runtime_config cc = {.store = en->st, .policy = en->sc->policy,
                                           .warm_max_percent = en->sc->warm_max_percent,
                                           .identity = "sim", .log = en->o.log,
                                           .now_ns = engine_clock, .clock_ctx = en};
    if (rc == 0)
        rc = controller_runtime_new(&cc, &en->ctl, e);
    struct informer_config ic = {
        .store = en->mem, .handler = on_slice, .handler_ctx = en, .now_ns = engine_clock,
        .clock_ctx = en,
        .res = api_registry_find(store_registry(en->mem), GPUSLICE_API_GROUP, "v1alpha1",
                                 "gpuslices")};
    if (rc == 0)
        rc = informer_new(&ic, &en->slices, e);
    struct observer_config oc = {.store = en->mem, .now_ns = engine_clock, .clock_ctx = en,
                                 .moved = moved, .moved_ctx = en};
    if (rc == 0)
        rc = observer_new(&oc, &en->obs, e);
    if (rc == 0)
        rc = arrivals_new(en->sc, en->st, ENGINE_T0, en->o.seed, &en->arr, e);
    return rc;
}

/* What gpuslice may use: the memory slices of every GPU not held back,
 * less those of the slices already there; and the models, once each. */
static void measure_cluster(struct engine *en)
{
    const struct placement_cluster *c = en->sc->cluster;
    for (size_t g = 0; g < c->n_gpus; g++) {
        const struct gpu_occupancy *occ = &c->gpus[g].occ;
        size_t m = 0;
        while (m < en->n_models && en->models[m] != occ->model)
            m++;
        if (m == en->n_models && m < sizeof en->models / sizeof en->models[0])
            en->models[en->n_models++] = occ->model;
        if (c->gpus[g].held_back)
            continue;
        en->usable += occ->model->memory_slices;
        for (unsigned s = 0; s < occ->n_slices; s++)
            en->usable -= occ->model->profiles[occ->slices[s].profile].memory_slices;
    }
}

static int build(struct engine *en, struct err *e)
{
    const struct placement_cluster *c = en->sc->cluster;
    int rc = layout_check(en->sc->cf, SIZE_MAX, NODE_NAME_MAX, e);
    if (rc < 0)
        return err_prefix(e, rc, "sim: ");
    measure_cluster(en);
    if (en->o.slices)
        en->slicelog = slicelog_new(c);
    for (size_t i = 0; i < en->sc->n_items && !en->units; i++)
        if (en->sc->items[i].inference_s > 0) {
            struct interference_model m = INTERFERENCE_DEFAULT;
            en->units = inference_book_new(en->sc->n_items, &m);
        }
    en->n_nodes = c->n_nodes;
    en->nodes = alloc_calloc(en->n_nodes + 1, sizeof *en->nodes);
    en->woken = wakeset_new(en->n_nodes);
    rc = make_store(en, e);
    if (rc == 0)
        rc = make_namespaces(en, e);
    for (size_t i = 0; rc == 0 && i < en->n_nodes; i++)
        rc = make_node(en, i, e);
    if (rc == 0)
        rc = make_parts(en, e);
    return rc;
}

static void teardown(struct engine *en)
{
    arrivals_free(en->arr);
    observer_free(en->obs);
    informer_free(en->slices);
    slicelog_free(en->slicelog);
    inference_book_free(en->units);
    controller_runtime_stop(en->ctl);
    cluster_parts_free(en->parts);
    for (size_t i = 0; en->nodes && i < en->n_nodes; i++) {
        agent_runtime_free(en->nodes[i].agent);
        device_close(en->nodes[i].device);
        free(en->nodes[i].labels);
    }
    free(en->nodes);
    wakeset_free(en->woken);
    store_free(en->st);
    store_free(en->tally);
    store_free(en->mem);
}

/* ---- running ------------------------------------------------------------- */

/* The agents told of a write that concerns them or due, in node order:
 * stepping any other one would find nothing to do. One that worked, or
 * whose informers are not watching (a relist pending), is looked at again
 * next round, as every agent was. */
static size_t step_agents(struct engine *en)
{
    size_t work = 0;
    wakeset_mark_due(en->woken, en->now);
    for (size_t i = wakeset_take(en->woken, 0); i != SIZE_MAX;
         i = wakeset_take(en->woken, i + 1)) {
        struct agent_runtime *a = en->nodes[i].agent;
        size_t did = agent_runtime_step(a);
        work += did;
        if (did || !agent_runtime_watching(a))
            wakeset_mark(en->woken, i);
        wakeset_set_due(en->woken, i, agent_runtime_next_due(a));
    }
    return work;
}

/* Every part, in a fixed order, until a round in which none worked; the
 * arrivals too unless told not to. */
static int settle(struct engine *en, bool arrivals, struct err *e)
{
    for (size_t round = 0; round < ROUNDS_MAX; round++) {
        size_t work = 0;
        int rc = arrivals ? arrivals_step(en->arr, en->now, e) : 0;
        if (rc < 0)
            return rc;
        work += (size_t)rc;
        if ((rc = mem_store_collect(en->mem, 0, NULL, e)) < 0)
            return rc;
        work += (size_t)rc;
        if ((rc = cluster_parts_step(en->parts, e)) < 0)
            return rc;
        work += (size_t)rc;
        work += step_agents(en);
        work += controller_runtime_step(en->ctl);
        work += observer_step(en->obs);
        work += informer_step_ready(&en->slices, 1);
        if (work == 0)
            return 0;
    }
    return err_set(e, -ELOOP, "sim: the parts were still busy after %d rounds at %.3f s",
                   ROUNDS_MAX, (double)(en->now - ENGINE_T0) / 1e9);
}

static int64_t next_due(struct engine *en)
{
    int64_t next = arrivals_next_due(en->arr);
    int64_t t = cluster_parts_next_due(en->parts);
    next = t < next ? t : next;
    t = controller_runtime_next_due(en->ctl);
    next = t < next ? t : next;
    t = wakeset_next_due(en->woken);
    return t < next ? t : next;
}

/* Whether the run is over at now: everything arrived, every pod that ends
 * has ended, and the GPUs are clear (or have had DRAIN_NS to clear). */
static bool finished(struct engine *en, int64_t *drain_from)
{
    if (arrivals_next_due(en->arr) != INT64_MAX)
        return false;
    if (en->unfinished == 0) {
        bool all_ended = en->count[OBSERVED_WAITING] + en->count[OBSERVED_PLACED] +
                             en->count[OBSERVED_PENDING] + en->count[OBSERVED_RUNNING] ==
                         0;
        if (all_ended && en->held == 0 && atomic_load(&en->on_gpus) == 0)
            return true;
        if (!*drain_from)
            *drain_from = en->now;
        return en->now - *drain_from >= DRAIN_NS;
    }
    *drain_from = 0;
    bool stalled = en->running_batch == 0 && en->now - en->last_move >= STALL_NS;
    en->out->summary.stalled = stalled;
    return stalled;
}

static void report_progress(struct engine *en)
{
    if (!en->o.progress)
        return;
    struct engine_progress p = {.virtual_s = (double)(en->now - ENGINE_T0) / 1e9,
                                .pods = (size_t)(en->count[OBSERVED_WAITING] +
                                                 en->count[OBSERVED_PLACED] +
                                                 en->count[OBSERVED_PENDING] +
                                                 en->count[OBSERVED_RUNNING] +
                                                 en->count[OBSERVED_ENDED]),
                                .ended = (size_t)en->count[OBSERVED_ENDED],
                                .expected_pods = scenario_expected_pods(en->sc)};
    en->o.progress(en->o.progress_ctx, &p);
}

/* The cluster comes up in the STARTUP_NS before t=0, when the first pods
 * may arrive: the parts start (their informers list the store and watch
 * it) and the agents report their GPUNodes, as in a cluster that was up
 * when the workload began. So the first pods reach the parts as watch
 * events, shared, not as copies in each informer's first list (at t=0 that
 * was a copy of thousands of pods per informer); and they meet a
 * controller that knows the GPUs: before, each pod of a t=0 burst was told
 * "the cluster has no GPUs" (a NoPlacement condition and Event, two writes
 * per pod that no running cluster would make) because the agents' first
 * reports wait their report delay. Nothing is sampled or integrated
 * before t=0: the figures start with the workload. */
static int start_up(struct engine *en, struct err *e)
{
    for (;;) {
        int rc = settle(en, false, e);
        if (rc < 0)
            return rc;
        int64_t next = next_due(en); /* the first arrival's, at t=0 at the latest */
        if (next >= ENGINE_T0)
            break;
        en->now = next > en->now ? next : en->now + 1;
    }
    en->now = en->last_t = en->last_move = ENGINE_T0;
    return 0;
}

static int run(struct engine *en, struct err *e)
{
    int64_t drain_from = 0;
    int rc0 = start_up(en, e);
    if (rc0 < 0)
        return rc0;
    for (size_t jumps = 0;; jumps++) {
        int rc = settle(en, true, e);
        if (rc < 0)
            return rc;
        sample(en, false);
        if (finished(en, &drain_from))
            return 0;
        int64_t next = next_due(en);
        if (next == INT64_MAX) {
            en->out->summary.stalled = en->unfinished > 0;
            return 0;
        }
        en->now = next > en->now ? next : en->now + 1;
        integrate(en);
        if (jumps % PROGRESS_EVERY == 0)
            report_progress(en);
    }
}

/* ---- results ------------------------------------------------------------- */

static void collect_pods(struct engine *en)
{
    struct observed_pod *all = NULL;
    size_t cap = 0, n = observer_pods_all(en->obs, &all, &cap);
    struct outcome *out = en->out;
    out->pods = alloc_calloc(n + 1, sizeof *out->pods);
    out->n_pods = out->cap_pods = n;
    for (size_t i = 0; i < n; i++) {
        const struct observed_pod *p = &all[i];
        struct outcome_pod *r = &out->pods[i];
        r->ns = outcome_string(out, p->ns, true);
        r->name = outcome_string(out, p->name, false);
        r->node = outcome_string(out, p->node, true);
        r->profile = outcome_string(out, p->profile, true);
        r->phase = outcome_string(out, p->phase, true);
        size_t item = arrivals_item_of(en->arr, p->ns, p->name);
        r->workload = item == SIZE_MAX ? UINT32_MAX : (uint32_t)item;
        r->gated = p->was_gated;
        r->serving = p->serving;
        int64_t t0 = ENGINE_T0;
        r->created_ns = p->created_ns - t0;
#define REL(f) (p->f ? p->f - t0 : OUTCOME_NEVER)
        r->placed_ns = REL(placed_ns);
        r->ungated_ns = REL(ungated_ns);
        r->bound_ns = REL(bound_ns);
        r->running_ns = REL(running_ns);
        r->finished_ns = REL(finished_ns);
#undef REL
    }
    free(all);
}

static void device_ops(struct engine *en, struct outcome_summary *s)
{
    for (size_t n = 0; n < en->n_nodes; n++) {
        struct devstats_gpu g;
        for (unsigned i = 0; devstats_get(en->nodes[n].device, i, &g, NULL) == 0; i++) {
            s->creates += g.creates;
            s->destroys += g.destroys;
        }
    }
}

/* Each item with inferenceSeconds: its completed units and their mean. */
static void summarize_units(struct engine *en)
{
    for (size_t i = 0; en->units && i < en->out->n_workloads; i++) {
        if (!(en->sc->items[i].inference_s > 0))
            continue;
        struct outcome_workload *wl = &en->out->workloads[i];
        struct inference_totals t = inference_totals(en->units, i, en->now - ENGINE_T0);
        wl->inference = true;
        wl->inference_units = t.units;
        wl->mean_inference_s = t.units ? t.seconds / (double)t.units : 0;
    }
}

static void summarize(struct engine *en, int64_t wall_ns)
{
    struct outcome *out = en->out;
    collect_pods(en);
    out->n_workloads = en->sc->n_items;
    out->workloads = alloc_calloc(out->n_workloads + 1, sizeof *out->workloads);
    for (size_t i = 0; i < out->n_workloads; i++)
        snprintf(out->workloads[i].name, sizeof out->workloads[i].name, "%s",
                 en->sc->items[i].name);
    outcome_summarize(out);
    summarize_units(en);
    if (en->slicelog)
        slicelog_finish(en->slicelog, en->now - ENGINE_T0, out);
    struct outcome_summary *s = &out->summary;
    double span = en->first_seen && en->last_ended > en->first_created
                      ? (double)(en->last_ended - en->first_created)
                      : 0;
    s->makespan_s = span / 1e9;
    s->mean_pending_pods = span > 0 ? en->end_pending_ns / span : 0;
    s->memory_slice_utilisation =
        span > 0 && en->usable > 0 ? en->end_held_ns / (span * (double)en->usable) : 0;
    s->fragmentation_wait_s = en->end_frag_ns / 1e9;
    s->memory_slices_usable = en->usable;
    s->seed = en->o.seed;
    s->policy = placement_policy_name(en->sc->policy);
    device_ops(en, s);
    tally_get(en->tally, &s->writes);
    s->wall_s = (double)wall_ns / 1e9;
    s->speedup = s->wall_s > 0 ? s->makespan_s / s->wall_s : 0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        s->peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024;
}

int engine_run(const struct scenario *sc, const struct engine_options *o, struct outcome *out,
               struct err *e)
{
    *out = (struct outcome){0};
    struct engine *en = alloc_calloc(1, sizeof *en);
    en->sc = sc;
    en->o = *o;
    if (!en->o.seed)
        en->o.seed = sc->seed ? sc->seed : 1;
    if (en->o.timeline_step_ns <= 0)
        en->o.timeline_step_ns = NS_PER_SEC;
    en->now = en->last_t = en->last_move = ENGINE_T0 - STARTUP_NS;
    en->out = out;
    int64_t wall0 = clock_monotonic_ns();
    int rc = build(en, e);
    if (rc == 0)
        rc = run(en, e);
    if (rc == 0) {
        sample(en, true);
        report_progress(en);
        summarize(en, clock_monotonic_ns() - wall0);
    }
    teardown(en);
    free(en);
    return rc;
}
