/* The controller tests' world (see fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "core/catalog.h"
#include "fixture.h"

static int64_t world_clock(void *ctx)
{
    return ((struct world *)ctx)->now;
}

/* The controller's own stepped runtime (controller/runtime.h), so these
 * tests run the wiring the simulator runs. */
static void start_controller(struct world *w)
{
    struct controller_runtime_config cfg = {.store = w->st, .now_ns = world_clock,
                                            .clock_ctx = w, .policy = w->policy,
                                            .warm_max_percent = w->warm_max_percent,
                                            .metrics = w->metrics};
    struct err e = {0};
    if (controller_runtime_new(&cfg, &w->rt, &e) < 0)
        fail_msg("controller: %s", e.msg);
    w->ctl = controller_runtime_controller(w->rt);
    w->loop = controller_runtime_loop(w->rt);
}

static void stop_controller(struct world *w)
{
    controller_runtime_stop(w->rt);
    w->rt = NULL;
    w->loop = NULL;
    w->ctl = NULL;
}

static const struct api_resource *resource(struct world *w, const char *group,
                                           const char *plural)
{
    const struct api_resource *r = api_registry_find(store_registry(w->st), group,
                                                     *group ? "v1alpha1" : "v1", plural);
    assert_non_null(r);
    return r;
}

static void create(struct world *w, const struct api_resource *res, const char *ns, json_t *obj)
{
    struct err e = {0};
    if (store_create(w->st, res, ns, obj, &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("create %s: %s", res->plural, e.msg);
    json_decref(obj);
}

struct world *world_new(void)
{
    struct world *w = calloc(1, sizeof *w);
    w->now = 1800000000LL * SEC;
    w->policy = PLACEMENT_FRAGMENTATION_AWARE;
    w->ns = "team";
    struct mem_store_config cfg = {.now_ns = world_clock, .clock_ctx = w, .seed = 7,
                                   .auto_collect = true};
    struct store *mem = NULL;
    assert_int_equal(mem_store_new(&cfg, &mem, NULL), 0);
    w->st = lagging_store_new(mem, &w->lag);
    w->pods = resource(w, "", "pods");
    w->slices = resource(w, GPUSLICE_API_GROUP, "gpuslices");
    w->lag.res = w->slices;
    w->gpunodes = resource(w, GPUSLICE_API_GROUP, "gpunodes");
    w->nodes = resource(w, "", "nodes");
    w->events = resource(w, "", "events");
    w->namespaces = resource(w, "", "namespaces");
    create(w, w->namespaces, NULL, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
                                             "Namespace", "metadata", "name", "team"));
    start_controller(w);
    return w;
}

void world_free(struct world *w)
{
    stop_controller(w);
    store_free(w->st);
    free(w);
}

void world_restart_controller(struct world *w)
{
    stop_controller(w);
    start_controller(w);
}

void world_settle(struct world *w)
{
    for (int round = 0; round < 1000; round++)
        if (controller_runtime_step(w->rt) == 0)
            return;
    fail_msg("the world did not settle in 1000 rounds");
}

void world_advance(struct world *w, int64_t ns)
{
    w->now += ns;
    world_settle(w);
}

/* A Node plus its GPUNode with these status GPUs (taken) and spec GPUs
 * (taken; NULL: none). */
static void add_node_with(struct world *w, const char *node, json_t *gpus, json_t *spec_gpus)
{
    create(w, w->nodes, NULL,
           json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
                     "kind", "Node", "metadata", "name", node, "labels",
                     "kubernetes.io/hostname", node, "status", "conditions", "type", "Ready",
                     "status", "True"));
    json_t *gn = json_pack("{s:s, s:s, s:{s:s}, s:{s:O}}", "apiVersion", GPUSLICE_API_VERSION,
                           "kind", "GPUNode", "metadata", "name", node, "status", "gpus", gpus);
    if (spec_gpus)
        json_object_set_new(gn, "spec", json_pack("{s:o}", "gpus", spec_gpus));
    create(w, w->gpunodes, NULL, gn);
    /* The status subresource ignores status on create: write it too. */
    json_t *obj = world_get(w, w->gpunodes, NULL, node);
    json_object_set_new(obj, "status", json_pack("{s:o}", "gpus", gpus));
    assert_int_equal(store_update(w->st, w->gpunodes, NULL, obj,
                                  &(struct store_write_opts){.subresource = STORE_STATUS}, NULL,
                                  NULL), 0);
    json_decref(obj);
    obj = world_get(w, w->nodes, NULL, node);
    json_object_set_new(obj, "status",
                        json_pack("{s:[{s:s, s:s}], s:{s:s, s:s, s:s, s:s}}", "conditions",
                                  "type", "Ready", "status", "True", "allocatable", "cpu", "8",
                                  "memory", "32Gi", "pods", "110", GPUSLICE_RESOURCE_MEMORY,
                                  "640"));
    assert_int_equal(store_update(w->st, w->nodes, NULL, obj,
                                  &(struct store_write_opts){.subresource = STORE_STATUS}, NULL,
                                  NULL), 0);
    json_decref(obj);
}

void world_add_node(struct world *w, const char *node, const char *const *models, size_t n)
{
    json_t *gpus = json_array();
    for (size_t i = 0; i < n; i++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "GPU-%s-%zu", node, i);
        json_array_append_new(gpus, json_pack("{s:i, s:s, s:s, s:s}", "index", (int)i, "uuid",
                                              uuid, "model", models[i], "migMode", "Enabled"));
    }
    add_node_with(w, node, gpus, NULL);
}

void world_add_mixed_node(struct world *w, const char *node, const char *const *modes, size_t n)
{
    json_t *gpus = json_array(), *spec = json_array();
    for (size_t i = 0; i < n; i++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "GPU-%s-%zu", node, i);
        bool mig = strcmp(modes[i], "mig") == 0;
        json_array_append_new(gpus, json_pack("{s:i, s:s, s:s, s:s, s:i, s:s}", "index", (int)i,
                                              "uuid", uuid, "model", "H100-80GB", "migMode",
                                              mig ? "Enabled" : "Disabled", "memoryMiB", 81559,
                                              "mode", modes[i]));
        json_array_append_new(spec, json_pack("{s:s, s:s, s:i}", "uuid", uuid, "mode", modes[i],
                                              "replicas", 2));
    }
    add_node_with(w, node, gpus, spec);
}

void world_add_annotated_pod(struct world *w, const char *name, const char *annotation,
                             const char *const *containers, const unsigned *gib, size_t n,
                             bool gated)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_pack("{s:s, s:s}", "name", containers[i], "image", "cuda");
        char q[16];
        snprintf(q, sizeof q, "%u", gib[i]);
        if (gib[i])
            json_object_set_new(c, "resources",
                                json_pack("{s:{s:s}, s:{s:s}}", "requests",
                                          GPUSLICE_RESOURCE_MEMORY, q, "limits",
                                          GPUSLICE_RESOURCE_MEMORY, q));
        json_array_append_new(list, c);
    }
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}}, s:{s:o}}",
                            "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                            "namespace", w->ns, "labels", GPUSLICE_LABEL_MANAGED, "true",
                            "annotations", GPUSLICE_ANNOTATION_SLICES, annotation, "spec",
                            "containers", list);
    if (gated)
        json_object_set_new(json_object_get(pod, "spec"), "schedulingGates",
                            json_pack("[{s:s}]", "name", GPUSLICE_GATE));
    assert_int_equal(store_create(w->st, w->pods, w->ns, pod, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(pod);
}

void world_add_pod_with(struct world *w, const char *name, const char *const *profiles,
                        size_t n, json_t *meta)
{
    json_t *limits = json_object();
    for (size_t i = 0; i < n; i++) {
        char key[96];
        snprintf(key, sizeof key, "%s%s", GPUSLICE_MIG_PREFIX, profiles[i]);
        json_int_t count = json_integer_value(json_object_get(limits, key));
        json_object_set_new(limits, key, json_integer(count + 1));
    }
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s}], s:[{s:s, s:s, s:{s:o}}]}}",
                            "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                            "namespace", w->ns, "spec", "schedulingGates", "name",
                            GPUSLICE_GATE, "containers", "name", "main", "image", "cuda",
                            "resources", "limits", limits);
    if (meta) {
        json_object_update(json_object_get(pod, "metadata"), meta);
        json_decref(meta);
    }
    create(w, w->pods, w->ns, pod);
}

void world_add_pod(struct world *w, const char *name, const char *const *profiles, size_t n)
{
    world_add_pod_with(w, name, profiles, n, NULL);
}

void world_add_pod_by_memory(struct world *w, const char *name, unsigned gib)
{
    create(w, w->pods, w->ns,
           json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s}], s:[{s:s, s:s, s:{s:{s:i}}}]}}",
                     "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace",
                     w->ns, "spec", "schedulingGates", "name", GPUSLICE_GATE, "containers",
                     "name", "main", "image", "cuda", "resources", "limits",
                     GPUSLICE_RESOURCE_MEMORY, (int)gib));
}

json_t *world_all_balanced(const char *model)
{
    bool h100 = strcmp(model, "H100-80GB") == 0;
    const char *two = h100 ? "2g.20gb" : "2g.10gb", *one = h100 ? "1g.10gb" : "1g.5gb";
    const char *three = h100 ? "3g.40gb" : "3g.20gb";
    return json_pack("[{s:s, s:i, s:i, s:b}, {s:s, s:i, s:i, s:b}, {s:s, s:i, s:i, s:b}, "
                     "{s:s, s:i, s:i, s:b}]",
                     "profile", two, "start", 0, "size", 2, "managed", 0, "profile", one,
                     "start", 2, "size", 1, "managed", 0, "profile", one, "start", 3, "size", 1,
                     "managed", 0, "profile", three, "start", 4, "size", 4, "managed", 0);
}

void world_set_layout(struct world *w, const char *node, const char *wish,
                      const char *applied, json_t *slices)
{
    json_t *obj = world_get(w, w->gpunodes, NULL, node);
    json_t *g = json_array_get(json_object_get(json_object_get(obj, "status"), "gpus"), 0);
    json_object_set_new(g, "mode", json_string(applied));
    json_object_set_new(g, "slices", slices);
    assert_int_equal(store_update(w->st, w->gpunodes, NULL, obj,
                                  &(struct store_write_opts){.subresource = STORE_STATUS}, NULL,
                                  NULL), 0);
    json_decref(obj);
    obj = world_get(w, w->gpunodes, NULL, node);
    char uuid[64];
    snprintf(uuid, sizeof uuid, "GPU-%s-0", node);
    json_object_set_new(obj, "spec", json_pack("{s:[{s:s, s:s}]}", "gpus", "uuid", uuid,
                                               "mode", wish));
    assert_int_equal(store_update(w->st, w->gpunodes, NULL, obj, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(obj);
    world_settle(w);
}

json_t *world_get(struct world *w, const struct api_resource *res, const char *ns,
                  const char *name)
{
    json_t *obj = NULL;
    return store_get(w->st, res, ns, name, &obj, NULL) == 0 ? obj : NULL;
}

json_t *world_slices(struct world *w)
{
    json_t *list = NULL;
    assert_int_equal(store_list(w->st, w->slices, NULL, &(struct store_list_opts){0}, &list,
                                NULL), 0);
    json_t *items = json_incref(json_object_get(list, "items"));
    json_decref(list);
    return items;
}

const char *world_phase(struct world *w, const char *name, char *buf, size_t size)
{
    json_t *obj = world_get(w, w->slices, w->ns, name);
    struct gpuslice_view v;
    snprintf(buf, size, "%s", obj && gpuslice_read(obj, &v, NULL) == 0 ? v.status.phase : "");
    json_decref(obj);
    return buf;
}

bool world_released(struct world *w, const char *name, const char *was)
{
    json_t *obj = world_get(w, w->slices, w->ns, name);
    struct gpuslice_view v;
    bool released = obj && gpuslice_read(obj, &v, NULL) == 0 && v.deleting &&
                    meta_has_finalizer(obj, GPUSLICE_SLICE_FINALIZER) &&
                    strcmp(v.status.phase ? v.status.phase : "Creating", was) == 0;
    json_decref(obj);
    return released;
}

/* The agent's end of a slice whose object is being deleted: the finalizer
 * goes, and the object with it. */
static void agent_lets_go(struct world *w, const char *name)
{
    json_t *patch = json_pack("{s:{s:n}}", "metadata", "finalizers");
    assert_int_equal(store_patch(w->st, w->slices, w->ns, name, STORE_PATCH_MERGE, patch,
                                 &(struct store_write_opts){0}, NULL, NULL), 0);
    json_decref(patch);
}

void world_agent_sets(struct world *w, const char *name, const char *phase, const char *reason)
{
    json_t *obj = world_get(w, w->slices, w->ns, name);
    if (!obj)
        fail_msg("no GPUSlice %s", name);
    if (strcmp(phase, "Deleted") == 0 &&
        json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp")) {
        json_decref(obj);
        agent_lets_go(w, name);
        return;
    }
    char uuid[64];
    snprintf(uuid, sizeof uuid, "MIG-%s", name);
    struct gpuslice_status st = {.phase = phase,
                                 .device_uuid = strcmp(phase, "Created") == 0 ? uuid : NULL,
                                 .reason = reason, .message = reason ? "injected" : NULL};
    json_t *upd = gpuslice_with_status(obj, &st, "2027-01-15T08:00:00Z");
    struct err e = {0};
    if (store_update(w->st, w->slices, w->ns, upd,
                     &(struct store_write_opts){.subresource = STORE_STATUS}, NULL, &e) < 0)
        fail_msg("agent update of %s: %s", name, e.msg);
    json_decref(upd);
    json_decref(obj);
    /* The agent lets the object go once the slice is off the GPU. */
    if (strcmp(phase, "Deleted") == 0 || strcmp(phase, "Failed") == 0)
        agent_lets_go(w, name);
}

size_t world_agent_all(struct world *w, const char *from, const char *to)
{
    json_t *items = world_slices(w);
    size_t i, n = 0;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) < 0)
            continue;
        bool deleting = strcmp(from, "Deleting") == 0 && v.deleting &&
                        strcmp(v.status.phase, "Deleted") != 0 &&
                        strcmp(v.status.phase, "Failed") != 0;
        if (strcmp(v.status.phase, from) == 0 || deleting) {
            const char *was = w->ns;
            w->ns = v.ns;
            world_agent_sets(w, v.name, to, NULL);
            w->ns = was;
            n++;
        }
    }
    json_decref(items);
    return n;
}

void world_pod_phase(struct world *w, const char *pod, const char *phase)
{
    json_t *obj = world_get(w, w->pods, w->ns, pod);
    json_object_set_new(obj, "status", json_pack("{s:s}", "phase", phase));
    assert_int_equal(store_update(w->st, w->pods, w->ns, obj,
                                  &(struct store_write_opts){.subresource = STORE_STATUS}, NULL,
                                  NULL), 0);
    json_decref(obj);
}

void world_assert_placed(struct world *w, const char *pod, const char *status,
                         const char *reason)
{
    json_t *p = world_get(w, w->pods, w->ns, pod);
    const json_t *cond = NULL, *c;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "type")), "gpuslice.dev/SlicesPlaced") == 0)
            cond = c;
    assert_non_null(cond);
    assert_string_equal(json_string_value(json_object_get(cond, "status")), status);
    assert_string_equal(json_string_value(json_object_get(cond, "reason")), reason);
    json_decref(p);
}

/* The Events about pod with this reason and, when words is not NULL, a
 * message holding them: their count summed, a message into msg. */
static long events_with(struct world *w, const char *pod, const char *reason, const char *words,
                        char *msg, size_t size)
{
    json_t *list = NULL;
    assert_int_equal(store_list(w->st, w->events, w->ns, &(struct store_list_opts){0}, &list,
                                NULL), 0);
    long count = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(list, "items"), i, ev) {
        const json_t *inv = json_object_get(ev, "involvedObject");
        const char *said = json_string_value(json_object_get(ev, "message"));
        if (strcmp(json_string_value(json_object_get(inv, "name")), pod) != 0 ||
            strcmp(json_string_value(json_object_get(ev, "reason")), reason) != 0 ||
            (words && !strstr(said, words)))
            continue;
        count += (long)json_integer_value(json_object_get(ev, "count"));
        if (msg)
            snprintf(msg, size, "%s", said);
    }
    json_decref(list);
    return count;
}

long world_events(struct world *w, const char *pod, const char *reason, char *msg, size_t size)
{
    return events_with(w, pod, reason, NULL, msg, size);
}

long world_events_saying(struct world *w, const char *pod, const char *reason, const char *words)
{
    return events_with(w, pod, reason, words, NULL, 0);
}

/* A share that holds its GPU now. */
static bool live_share(const json_t *obj, struct gpuslice_view *v)
{
    assert_int_equal(gpuslice_read(obj, v, NULL), 0);
    return v->spec.sharing != POD_SHARING_NONE && strcmp(v->status.phase, "Deleted") != 0 &&
           strcmp(v->status.phase, "Failed") != 0;
}

/* What the live shares of one GPU hold in all. */
struct share_sum {
    char uuid[64];
    enum pod_sharing sharing;
    unsigned gib, sm, clients;
};

void world_check_no_overbooked_share(struct world *w)
{
    json_t *items = world_slices(w);
    struct share_sum sums[32];
    size_t n = 0, i;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        struct gpuslice_view v;
        if (!live_share(obj, &v))
            continue;
        size_t k = 0;
        while (k < n && strcmp(sums[k].uuid, v.spec.gpu_uuid) != 0)
            k++;
        if (k == n) {
            assert_true(n < sizeof sums / sizeof sums[0]);
            sums[n++] = (struct share_sum){.sharing = v.spec.sharing};
            snprintf(sums[k].uuid, sizeof sums[k].uuid, "%s", v.spec.gpu_uuid);
        }
        sums[k].gib += v.spec.memory_gib;
        sums[k].sm += v.spec.sm_percent;
        sums[k].clients++;
    }
    json_decref(items);
    for (size_t k = 0; k < n; k++)
        if (sums[k].sharing == POD_SHARING_MPS ? sums[k].gib > 79 || sums[k].sm > 100
                                               : sums[k].clients > 2)
            fail_msg("GPU %s overbooked: %u clients holding %u GiB and %u%% of the SMs",
                     sums[k].uuid, sums[k].clients, sums[k].gib, sums[k].sm);
}

void world_check_no_double_allocation(struct world *w)
{
    json_t *items = world_slices(w);
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(items, i, a) {
        struct gpuslice_view va, vb;
        assert_int_equal(gpuslice_read(a, &va, NULL), 0);
        if (!strcmp(va.status.phase, "Deleted") || !strcmp(va.status.phase, "Failed") ||
            va.status.warm_until)
            continue;
        json_array_foreach(items, j, b) {
            if (j <= i)
                continue;
            assert_int_equal(gpuslice_read(b, &vb, NULL), 0);
            if (!strcmp(vb.status.phase, "Deleted") || !strcmp(vb.status.phase, "Failed") ||
                vb.status.warm_until || strcmp(va.spec.gpu_uuid, vb.spec.gpu_uuid) != 0)
                continue;
            bool overlap = va.spec.start < vb.spec.start + vb.spec.size &&
                           vb.spec.start < va.spec.start + va.spec.size;
            if (overlap)
                fail_msg("double allocation on %s: %s at %u+%u and %s at %u+%u",
                         va.spec.gpu_uuid, va.name, va.spec.start, va.spec.size, vb.name,
                         vb.spec.start, vb.spec.size);
        }
    }
    json_decref(items);
}
