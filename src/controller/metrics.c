/*
 * The controller's metrics (docs/metrics.md): decisions and their latency
 * are counted as they happen; everything that describes state (slices by
 * phase, pods waiting and why, GPUs, the running counts of
 * controller_stats) is read from the informer caches when scraped, so it
 * can never drift from what the API shows.
 */
#include "controller/controller_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "core/lifecycle.h"
#include "util/alloc.h"
#include "util/clock.h"

/* controller_stats' counts, exported under these names. */
static const struct {
    const char *name, *help;
    size_t offset;
} stat_counters[] = {
    {"gpuslice_controller_slices_placed_total", "Slices the controller decided a placement for.",
     offsetof(struct controller_stats, placed)},
    {"gpuslice_controller_slices_released_total", "Slices the controller released (deleted, or a Warm one sent to Deleting).",
     offsetof(struct controller_stats, released)},
    {"gpuslice_controller_pods_ungated_total",
     "Pods released to the scheduler with their slices made.",
     offsetof(struct controller_stats, ungated)},
    {"gpuslice_controller_pods_moved_total",
     "Gated pods whose slices were released to place them whole elsewhere.",
     offsetof(struct controller_stats, moved)},
    {"gpuslice_controller_slices_upgraded_total", "Slices given a larger profile than asked.",
     offsetof(struct controller_stats, upgraded)},
    {"gpuslice_controller_pods_restored_total",
     "Upgraded pods deleted for their owner to make again at the asked profile.",
     offsetof(struct controller_stats, restored)},
    {"gpuslice_controller_slices_warmed_total", "Slices kept warm when their pod ended.",
     offsetof(struct controller_stats, warmed)},
    {"gpuslice_controller_warm_slices_taken_total",
     "Warm slices a pod of their namespace took over.",
     offsetof(struct controller_stats, warm_taken)},
    {"gpuslice_controller_warm_slices_let_go_total",
     "Warm slices released for any other reason (expired, reclaimed, over the cap).",
     offsetof(struct controller_stats, warm_let_go)},
};

#define N_STATS (sizeof stat_counters / sizeof stat_counters[0])

struct controller_metrics {
    struct prom_family *decisions, *decision_seconds, *slices, *waiting, *gpus;
    struct prom_family *stats[N_STATS];
};

/* Whether the cache holds a GPUSlice of the pod (placed: the controller
 * writes no condition on a pod placed at its first decision). */
static bool has_slices(struct controller *c, const json_t *pod)
{
    json_t *found = NULL;
    bool any = false;
    if (informer_by_index(c->slices, CONTROLLER_INDEX_POD, meta_name(pod), &found) == 0) {
        size_t i;
        const json_t *obj;
        json_array_foreach(found, i, obj)
            any |= strcmp(meta_namespace(obj), meta_namespace(pod)) == 0;
    }
    json_decref(found);
    return any;
}

/* The SlicesPlaced condition's reason as a waiting reason. */
static const char *waiting_reason(struct controller *c, const json_t *pod)
{
    if (pod_gate_count(pod) > 1)
        return "other_gate";
    size_t i;
    const json_t *cond;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond) {
        if (strcmp(json_string_value(json_object_get(cond, "type")) ?: "",
                   "gpuslice.dev/SlicesPlaced") != 0)
            continue;
        const char *reason = json_string_value(json_object_get(cond, "reason")) ?: "";
        return strcmp(reason, "Placed") == 0                 ? "slices_being_made"
               : strcmp(reason, "NoPlacement") == 0          ? "no_room"
               : strcmp(reason, "ReclaimingWarmSlices") == 0 ? "reclaiming_warm"
               : strcmp(reason, "Replacing") == 0            ? "replacing"
                                                             : "other";
    }
    return has_slices(c, pod) ? "slices_being_made" : "undecided";
}

static void count_waiting(struct controller *c)
{
    static const char *const reasons[] = {"no_room", "other_gate", "reclaiming_warm",
                                          "replacing", "slices_being_made", "undecided", "other"};
    prom_clear(c->metrics->waiting);
    for (size_t r = 0; r < sizeof reasons / sizeof reasons[0]; r++)
        prom_set(c->metrics->waiting, 0, reasons[r]);
    json_t *pods = informer_list(c->pods, NULL);
    size_t i;
    const json_t *pod;
    json_array_foreach(pods, i, pod)
        if (pod_gated(pod, GPUSLICE_GATE) && !controller__pod_done(pod))
            prom_add(c->metrics->waiting, 1, waiting_reason(c, pod));
    json_decref(pods);
}

static void count_slices(struct controller *c)
{
    prom_clear(c->metrics->slices);
    json_t *slices = informer_list(c->slices, NULL);
    size_t i;
    const json_t *obj;
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) == 0)
            prom_add(c->metrics->slices, 1, lifecycle_seen_name(v.status.phase, v.deleting),
                     v.spec.profile ? v.spec.profile : pod_sharing_name(v.spec.sharing),
                     v.spec.model,
                     v.spec.node);
    }
    json_decref(slices);
}

static void count_gpus(struct controller *c)
{
    prom_clear(c->metrics->gpus);
    mutex_lock(&c->lock);
    if (model_sync(&c->model, NULL) == 0)
        for (size_t g = 0; g < c->model.n_gpus; g++) {
            const struct placement_gpu *gpu = &c->model.gpus[g];
            prom_add(c->metrics->gpus, 1, gpu->occ.model ? gpu->occ.model->name : "",
                     c->model.nodes[gpu->node].name);
        }
    mutex_unlock(&c->lock);
}

static void export_state(void *self)
{
    struct controller *c = self;
    count_slices(c);
    count_waiting(c);
    count_gpus(c);
    struct controller_stats st;
    controller_get_stats(c, &st);
    for (size_t i = 0; i < N_STATS; i++)
        prom_set(c->metrics->stats[i],
                 (double)*(const uint64_t *)((const char *)&st + stat_counters[i].offset));
}

void controller__metrics_init(struct controller *c)
{
    struct prom *p = c->cfg.metrics;
    if (!p)
        return;
    struct controller_metrics *m = alloc_calloc(1, sizeof *m);
    m->decisions = prom_counter(
        p, "gpuslice_controller_placement_decisions_total",
        "Placement decisions for a gated pod's missing slices, by result: placed, no_room, "
        "reclaiming_warm (warm slices let go to make room), replacing (the pod's slices "
        "released to place it whole elsewhere), error.", "result");
    m->decision_seconds = prom_histogram(
        p, "gpuslice_controller_placement_duration_seconds",
        "Time one placement decision took (the model brought up to date, the policy's choice "
        "and the actions written out), by result.", "result", PROM_LATENCY_BUCKETS_N,
        prom_latency_buckets);
    m->slices = prom_gauge(p, "gpuslice_slices",
                           "GPUSlices in the controller's cache, by phase, profile, GPU model "
                           "and node.", "phase,profile,model,node");
    m->waiting = prom_gauge(p, "gpuslice_pods_waiting",
                            "Pods held by gpuslice's scheduling gate, by why they wait: no_room, "
                            "other_gate (another gate is still on the pod), reclaiming_warm, "
                            "replacing, slices_being_made (placed; the agent makes them), "
                            "undecided (not decided yet), other.", "reason");
    m->gpus = prom_gauge(p, "gpuslice_gpus",
                         "MIG-enabled GPUs the controller places on, by model and node.",
                         "model,node");
    for (size_t i = 0; i < N_STATS; i++)
        m->stats[i] = prom_counter(p, stat_counters[i].name, stat_counters[i].help, NULL);
    static const char *const results[] = {"placed", "no_room", "reclaiming_warm", "replacing",
                                          "error"};
    for (size_t r = 0; r < sizeof results / sizeof results[0]; r++)
        prom_add(m->decisions, 0, results[r]);
    c->metrics = m;
    prom_on_scrape(p, export_state, c);
}

void controller__metrics_free(struct controller *c)
{
    prom_remove_hook(c->cfg.metrics, export_state, c);
    free(c->metrics);
}

void controller__metrics_decision(struct controller *c, const char *result, int64_t started_ns)
{
    if (!c->metrics)
        return;
    double seconds = (double)(clock_monotonic_ns() - started_ns) / 1e9;
    prom_add(c->metrics->decisions, 1, result);
    prom_observe(c->metrics->decision_seconds, seconds, result);
}
