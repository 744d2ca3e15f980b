/*
 * The dashboard's document (dashboard_snapshot.h): GPUs joined with the
 * GPUSlices on them through a table by GPU UUID (one pass over the
 * slices, not one per GPU; a shared GPU's clients are the agent's
 * report), pods sorted into waiting and running, and the Events newest
 * first.
 */
#include "controller/dashboard_snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "api/gpunode.h"
#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "core/catalog.h"
#include "core/lifecycle.h"
#include "store/informer.h"
#include "util/alloc.h"
#include "util/jdoc.h"
#include "util/objkey.h"

static json_t *str(const char *s)
{
    return json_string(s ? s : "");
}

/* The GPUSlices read once: those that hold a placement by GPU UUID
 * ({uuid: [cell]}), and the pods that have any ({"ns/pod": true}). */
struct slice_index {
    json_t *by_gpu, *pods;
};

static json_t *cell_json(const struct gpuslice_view *v)
{
    /* Deleting for a GPUSlice being deleted, whatever its status names. */
    const char *phase = lifecycle_seen_name(v->status.phase, v->deleting);
    return json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:b}", "start",
                     (json_int_t)v->spec.start, "size", (json_int_t)v->spec.size, "profile",
                     str(v->spec.profile), "namespace", str(v->ns), "pod",
                     str(v->spec.pod_name), "name", str(v->name), "phase", str(phase),
                     "warm", phase && strcmp(phase, "Warm") == 0, "static", v->spec.existing,
                     "foreign", 0);
}

static struct slice_index index_slices(const json_t *slices)
{
    struct slice_index ix = {json_object(), json_object()};
    size_t i;
    const json_t *obj;
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        enum slice_phase p;
        if (gpuslice_read(obj, &v, NULL) < 0)
            continue;
        char key[2 * GPUSLICE_NAME_MAX + 2];
        objkey_join(key, sizeof key, v.ns, v.spec.pod_name);
        json_object_set_new(ix.pods, key, json_true());
        /* A share is no cell of the bar: its GPU lists its clients. */
        if (!v.spec.gpu_uuid || v.spec.sharing != POD_SHARING_NONE ||
            (lifecycle_phase_parse(v.status.phase, &p, NULL) == 0 && lifecycle_is_terminal(p)))
            continue;
        json_t *list = json_object_get(ix.by_gpu, v.spec.gpu_uuid);
        if (!list)
            json_object_set_new(ix.by_gpu, v.spec.gpu_uuid, list = json_array());
        json_array_append_new(list, cell_json(&v));
    }
    return ix;
}

static bool starts_at(const json_t *cells, unsigned start)
{
    size_t i;
    const json_t *c;
    json_array_foreach(cells, i, c)
        if (json_integer_value(json_object_get(c, "start")) == (json_int_t)start)
            return true;
    return false;
}

/* A client as the agent reported it, its known fields only (a string
 * stays a string, a number a number: the page sets them as text). */
static json_t *client_json(const json_t *c)
{
    static const char *const strings[] = {"namespace", "pod", "container", "sharing"};
    static const char *const numbers[] = {"memoryGiB", "smPercent"};
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        json_object_set_new(out, strings[i],
                            str(json_string_value(json_object_get(c, strings[i]))));
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const json_t *n = json_object_get(c, numbers[i]);
        if (json_is_integer(n))
            json_object_set_new(out, numbers[i], json_integer(json_integer_value(n)));
    }
    return out;
}

/* A shared GPU's clients (status.gpus[].clients), counted in *n_clients. */
static json_t *clients_json(const struct gpunode_gpu *g, size_t *n_clients)
{
    json_t *out = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(g->clients, i, c)
        if (json_is_object(c))
            json_array_append_new(out, client_json(c));
    *n_clients += json_array_size(out);
    return out;
}

/* One GPU: its slices, gpuslice's and those it did not make, and a shared
 * one's clients. */
static json_t *gpu_json(const struct gpunode_gpu *g, json_t *by_gpu, size_t *n_slices,
                        size_t *n_clients)
{
    const struct gpu_model *m = catalog_find_model(g->model);
    json_t *cells = jdoc_copy(json_object_get(by_gpu, g->uuid));
    if (!cells)
        cells = json_array();
    for (size_t k = 0; k < g->n_slices; k++) {
        const struct gpunode_slice *s = &g->slices[k];
        if (s->managed || starts_at(cells, s->start))
            continue;
        json_array_append_new(cells, json_pack("{s:i, s:i, s:o, s:b, s:b}", "start",
                                               (json_int_t)s->start, "size",
                                               (json_int_t)s->size, "profile", str(s->profile),
                                               "static", 1, "foreign", 1));
    }
    *n_slices += json_array_size(cells);
    enum gpunode_mode mode = gpunode_active_mode(g);
    json_t *gpu = json_pack("{s:i, s:o, s:o, s:i, s:s, s:b, s:o, s:o, s:i}", "index",
                            (json_int_t)g->index, "uuid", str(g->uuid), "model",
                            str(*g->model ? g->model : g->product), "memorySlices",
                            (json_int_t)(m ? m->memory_slices : MIG_MAX_MEMORY_SLICES), "mode",
                            gpunode_mode_name(mode), "heldBack", g->held_back, "slices", cells,
                            "clients", clients_json(g, n_clients), "memoryMiB",
                            (json_int_t)g->memory_mib);
    if (gpu && mode == GPUNODE_MODE_TIMESLICE)
        json_object_set_new(gpu, "replicas", json_integer((json_int_t)g->replicas));
    return gpu;
}

static json_t *nodes_json(const json_t *gpunodes, json_t *by_gpu, json_t *counters)
{
    json_t *nodes = json_array();
    size_t i, n_gpus = 0, n_slices = 0, n_clients = 0;
    const json_t *obj;
    struct gpunode_view *v = alloc_calloc(1, sizeof *v);
    json_array_foreach(gpunodes, i, obj) {
        if (gpunode_read(obj, v, NULL) < 0)
            continue;
        json_t *gpus = json_array();
        for (size_t g = 0; g < v->n_gpus; g++)
            json_array_append_new(gpus, gpu_json(&v->gpus[g], by_gpu, &n_slices, &n_clients));
        n_gpus += v->n_gpus;
        json_array_append_new(nodes, json_pack("{s:o, s:o}", "name", str(v->name), "gpus", gpus));
    }
    free(v);
    json_object_set_new(counters, "nodes", json_integer((json_int_t)json_array_size(nodes)));
    json_object_set_new(counters, "gpus", json_integer((json_int_t)n_gpus));
    json_object_set_new(counters, "slices", json_integer((json_int_t)n_slices));
    json_object_set_new(counters, "clients", json_integer((json_int_t)n_clients));
    return nodes;
}

static bool same(const json_t *value, const char *text)
{
    return json_is_string(value) && strcmp(json_string_value(value), text) == 0;
}

static bool gated(const json_t *pod)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "schedulingGates"), i, g)
        if (same(json_object_get(g, "name"), GPUSLICE_GATE))
            return true;
    return false;
}

/* The controller's condition on a waiting pod, NULL before it decided. */
static const json_t *placed_condition(const json_t *pod)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
        if (same(json_object_get(c, "type"), "gpuslice.dev/SlicesPlaced"))
            return c;
    return NULL;
}

static const char *field(const json_t *obj, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(obj, a), b));
}

/* Why a gated pod waits: the controller's condition while it finds no
 * room; with slices decided, the agent making them; else the decision. */
static json_t *waiting_json(const json_t *pod, const json_t *with_slices)
{
    const json_t *c = placed_condition(pod);
    const char *reason = c ? json_string_value(json_object_get(c, "reason")) : NULL;
    const char *message = c ? json_string_value(json_object_get(c, "message")) : NULL;
    char key[2 * GPUSLICE_NAME_MAX + 2];
    objkey_join(key, sizeof key, meta_namespace(pod), meta_name(pod));
    bool placed = (!c || same(json_object_get(c, "status"), "True")) &&
                  json_object_get(with_slices, key);
    if (placed || !reason) {
        reason = placed ? "SlicesPlaced" : "Deciding";
        message = placed ? "its slices are placed; waiting for the agent to make them"
                         : "the controller has not decided yet";
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "namespace", str(meta_namespace(pod)), "name",
                     str(meta_name(pod)), "reason", str(reason), "message", str(message),
                     "since", str(field(pod, "metadata", "creationTimestamp")));
}

/* A pod that asked for slices, not gated and not ended: on its slices. */
static bool running(const json_t *pod)
{
    const char *phase = field(pod, "status", "phase");
    return meta_annotation(pod, GPUSLICE_ANNOTATION_SLICES) && field(pod, "spec", "nodeName") &&
           (!phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0));
}

static void append_capped(json_t *list, json_t *item, size_t *total)
{
    if ((*total)++ < DASHBOARD_PODS_MAX)
        json_array_append_new(list, item);
    else
        json_decref(item);
}

static void pods_json(const json_t *pods, const json_t *with_slices, json_t *doc,
                      json_t *counters, json_t *truncated)
{
    json_t *waiting = json_array(), *run = json_array();
    size_t i, n_waiting = 0, n_running = 0;
    const json_t *pod;
    json_array_foreach(pods, i, pod) {
        if (gated(pod))
            append_capped(waiting, waiting_json(pod, with_slices), &n_waiting);
        else if (running(pod))
            append_capped(run, json_pack("{s:o, s:o, s:o, s:o}", "namespace",
                                         str(meta_namespace(pod)), "name", str(meta_name(pod)),
                                         "node", str(field(pod, "spec", "nodeName")), "phase",
                                         str(field(pod, "status", "phase"))), &n_running);
    }
    json_object_set_new(doc, "waiting", waiting);
    json_object_set_new(doc, "running", run);
    json_object_set_new(counters, "waiting", json_integer((json_int_t)n_waiting));
    json_object_set_new(counters, "running", json_integer((json_int_t)n_running));
    json_object_set_new(truncated, "waiting",
                        json_integer((json_int_t)(n_waiting - json_array_size(waiting))));
    json_object_set_new(truncated, "running",
                        json_integer((json_int_t)(n_running - json_array_size(run))));
}

/* When the Event last happened, as text that sorts (RFC 3339). */
static const char *event_time(const json_t *ev)
{
    const char *t = json_string_value(json_object_get(ev, "lastTimestamp"));
    if (!t)
        t = json_string_value(json_object_get(ev, "eventTime"));
    return t ? t : field(ev, "metadata", "creationTimestamp") ?: "";
}

static int newest_first(const void *a, const void *b)
{
    return strcmp(event_time(*(json_t *const *)b), event_time(*(json_t *const *)a));
}

static json_t *event_json(const json_t *ev)
{
    const json_t *about = json_object_get(ev, "involvedObject");
    const char *kind = json_string_value(json_object_get(about, "kind"));
    const char *ns = json_string_value(json_object_get(about, "namespace"));
    const char *name = json_string_value(json_object_get(about, "name"));
    json_t *object = json_sprintf("%s %s%s%s", kind ? kind : "", ns ? ns : "", ns ? "/" : "",
                                  name ? name : "");
    json_int_t count = json_integer_value(json_object_get(ev, "count"));
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "time", str(event_time(ev)), "type",
                     str(json_string_value(json_object_get(ev, "type"))), "reason",
                     str(json_string_value(json_object_get(ev, "reason"))), "message",
                     str(json_string_value(json_object_get(ev, "message"))), "object",
                     object ? object : str(""), "count", count > 0 ? count : 1);
}

static json_t *events_json(const json_t *events, json_t *truncated)
{
    size_t n = json_array_size(events);
    const json_t **all = alloc_calloc(n ? n : 1, sizeof *all);
    for (size_t i = 0; i < n; i++)
        all[i] = json_array_get(events, i);
    qsort(all, n, sizeof *all, newest_first);
    json_t *out = json_array();
    for (size_t i = 0; i < n && i < DASHBOARD_EVENTS_MAX; i++)
        json_array_append_new(out, event_json(all[i]));
    free(all);
    json_object_set_new(truncated, "events",
                        json_integer((json_int_t)(n - json_array_size(out))));
    return out;
}

static void stats_json(const struct controller_stats *s, json_t *counters)
{
    if (!s)
        return;
    const struct {
        const char *name;
        uint64_t value;
    } all[] = {{"placed", s->placed}, {"unplaceable", s->unplaceable},
               {"released", s->released}, {"ungated", s->ungated}, {"moved", s->moved},
               {"upgraded", s->upgraded}, {"restored", s->restored}, {"warmed", s->warmed},
               {"warmTaken", s->warm_taken}, {"warmLetGo", s->warm_let_go}};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        json_object_set_new(counters, all[i].name, json_integer((json_int_t)all[i].value));
}

json_t *dashboard_snapshot_of(struct controller *c, const json_t *events)
{
    struct informer *inf[CONTROLLER_INFORMERS];
    controller_informers(c, inf);
    struct controller_stats stats;
    controller_get_stats(c, &stats);
    json_t *pods = informer_list(inf[0], NULL), *slices = informer_list(inf[1], NULL);
    json_t *gpunodes = informer_list(inf[2], NULL);
    struct dashboard_input in = {.gpunodes = gpunodes, .slices = slices, .pods = pods,
                                 .events = events, .stats = &stats};
    json_t *doc = dashboard_snapshot(&in);
    json_decref(pods);
    json_decref(slices);
    json_decref(gpunodes);
    return doc;
}

json_t *dashboard_snapshot(const struct dashboard_input *in)
{
    json_t *doc = json_object(), *counters = json_object(), *truncated = json_object();
    json_object_set_new(doc, "version", json_integer((json_int_t)in->version));
    struct slice_index ix = index_slices(in->slices);
    json_object_set_new(doc, "nodes", nodes_json(in->gpunodes, ix.by_gpu, counters));
    pods_json(in->pods, ix.pods, doc, counters, truncated);
    json_decref(ix.by_gpu);
    json_decref(ix.pods);
    json_object_set_new(doc, "events", events_json(in->events, truncated));
    stats_json(in->stats, counters);
    json_object_set_new(doc, "counters", counters);
    json_object_set_new(doc, "truncated", truncated);
    return doc;
}
