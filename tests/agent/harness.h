/*
 * What the agent tests share: a mem store and an emulated node on a virtual
 * clock, an agent runtime over them that the test steps, and one-line
 * helpers to make pods and GPUSlices, move phases and read results.
 *
 * Time only moves when the test moves it: settle() runs everything ready,
 * then jumps the clock to the next key due, up to a horizon, so a test
 * reads like a timeline.
 */
#ifndef GPUSLICE_TESTS_AGENT_HARNESS_H
#define GPUSLICE_TESTS_AGENT_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/agent.h"
#include "agent/agent_runtime.h"
#include "api/gpunode.h"
#include "api/gpuslice.h"
#include "api/meta.h"
#include "device/emulated.h"
#include "store/mem.h"

#define NS   "team"
#define NODE "node-a"
#define SEC  INT64_C(1000000000)
#define MSEC INT64_C(1000000)
#define T0   (INT64_C(1790000000) * SEC) /* a Tuesday in 2026 */

struct harness {
    int64_t now;
    struct store *st;
    struct device *dev;
    struct agent_runtime *rt;
    struct agent_runtime_config cfg;
    const struct api_resource *pods, *slices, *cms, *gpunodes, *nodes, *namespaces;
};

static int64_t h_now_ns(void *ctx)
{
    return ((struct harness *)ctx)->now;
}

static inline void h_ok(int rc, const struct err *e, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %d %s", what, rc, e->msg);
}

static inline const struct api_resource *h_res(struct harness *h, const char *group,
                                                const char *version, const char *plural)
{
    const struct api_resource *r = api_registry_find(store_registry(h->st), group, version,
                                                     plural);
    assert_non_null(r);
    return r;
}

static inline void h_create(struct harness *h, const struct api_resource *res, const char *ns,
                            json_t *obj, json_t **out)
{
    struct err e = {0};
    h_ok(store_create(h->st, res, ns, obj, &(struct store_write_opts){0}, out, &e), &e,
         "store_create");
    json_decref(obj);
}

/* (Re)builds the agent over the harness's store and device. */
static inline void h_agent(struct harness *h)
{
    struct err e = {0};
    agent_runtime_free(h->rt);
    h->rt = NULL;
    h_ok(agent_runtime_new(&h->cfg, &h->rt, &e), &e, "agent_runtime_new");
}

/* A store with namespace NS and Node NODE, an emulated node from spec
 * (virtual latencies: the spec's), and an agent in virtual time. */
static inline struct harness *h_new_with(const char *spec, const struct agent_config *opts)
{
    struct harness *h = calloc(1, sizeof *h);
    struct err e = {0};
    h->now = T0;
    struct mem_store_config mc = {.now_ns = h_now_ns, .clock_ctx = h, .seed = 7,
                                  .auto_collect = true};
    h_ok(mem_store_new(&mc, &h->st, &e), &e, "mem_store_new");
    char what[EMULATED_SPEC_MAX + 16];
    snprintf(what, sizeof what, "emulated:%s", spec);
    h_ok(device_open(what, &h->dev, &e), &e, "device_open");
    h->pods = h_res(h, "", "v1", "pods");
    h->slices = h_res(h, GPUSLICE_API_GROUP, "v1alpha1", "gpuslices");
    h->cms = h_res(h, "", "v1", "configmaps");
    h->gpunodes = h_res(h, GPUSLICE_API_GROUP, "v1alpha1", "gpunodes");
    h->nodes = h_res(h, "", "v1", "nodes");
    h->namespaces = h_res(h, "", "v1", "namespaces");
    h_create(h, h->namespaces, NULL, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
                                               "kind", "Namespace", "metadata", "name", NS),
             NULL);
    h_create(h, h->nodes, NULL, json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}}", "apiVersion",
                                          "v1", "kind", "Node", "metadata", "name", NODE,
                                          "status", "capacity", "cpu", "64"),
             NULL);
    if (opts)
        h->cfg.agent = *opts;
    h->cfg.agent.store = h->st;
    h->cfg.agent.device = h->dev;
    h->cfg.agent.node = NODE;
    h->cfg.agent.now_ns = h_now_ns;
    h->cfg.agent.informer_now_ns = h_now_ns;
    h->cfg.agent.clock_ctx = h;
    h->cfg.agent.virtual_time = true;
    if (getenv("AGENT_TEST_LOG"))
        log_new(&(struct log_config){.out = stderr, .threshold = LOG_LEVEL_DEBUG}, &h->cfg.log,
                NULL);
    h_agent(h);
    return h;
}

static inline struct harness *h_new(const char *spec)
{
    return h_new_with(spec, NULL);
}

static inline void h_free(struct harness *h)
{
    agent_runtime_free(h->rt);
    log_free(h->cfg.log);
    store_free(h->st);
    device_close(h->dev);
    free(h);
}

/* Runs what is ready now until nothing is. */
static inline void h_drain(struct harness *h)
{
    for (int i = 0; i < 10000; i++)
        if (agent_runtime_step(h->rt) == 0)
            return;
    fail_msg("the agent never went idle at t0+%lld ms", (long long)((h->now - T0) / MSEC));
}

/* Runs everything, moving the clock to each key due, until the clock would
 * pass now + horizon (it then stands there). */
static inline void h_settle(struct harness *h, int64_t horizon)
{
    int64_t end = h->now + horizon;
    for (;;) {
        h_drain(h);
        int64_t due = agent_runtime_next_due(h->rt);
        if (due > end) {
            h->now = end;
            h_drain(h);
            return;
        }
        if (due > h->now)
            h->now = due;
    }
}

/* ---- objects ---- */

/* A pod `name` in namespace ns (the caller's reference). */
static inline json_t *h_pod_in(struct harness *h, const char *ns, const char *name)
{
    json_t *out = NULL;
    h_create(h, h->pods, ns,
             json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
                       "kind", "Pod", "metadata", "name", name, "namespace", ns, "spec",
                       "containers", "name", "main", "image", "cuda"),
             &out);
    return out;
}

static inline json_t *h_pod(struct harness *h, const char *name)
{
    return h_pod_in(h, NS, name);
}

/* GPU index's UUID on the emulated node. */
static inline const char *h_gpu(struct harness *h, unsigned index)
{
    static struct device_inventory inv;
    assert_int_equal(device_discover(h->dev, &inv, NULL, NULL), 0);
    assert_true(index < inv.n_gpus);
    return inv.gpus[index].uuid;
}

/* A Creating GPUSlice for pod's container "main", the index-th, at
 * (gpu, profile, start); its ConfigMap is "<pod>-main". Returns its name
 * (static buffer of the caller). */
static inline void h_slice(struct harness *h, const json_t *pod, unsigned index, unsigned gpu,
                           const char *profile, unsigned start, unsigned size,
                           char name[GPUSLICE_NAME_MAX])
{
    char cm[128], uuid[DEVICE_UUID_MAX];
    snprintf(cm, sizeof cm, "%s-main", meta_name(pod));
    snprintf(uuid, sizeof uuid, "%s", h_gpu(h, gpu));
    struct gpuslice_spec spec = {
        .pod_name = meta_name(pod), .pod_uid = meta_uid(pod), .container = "main",
        .index = index, .node = NODE, .gpu_uuid = uuid, .gpu_index = gpu, .profile = profile,
        .start = start, .size = size, .config_map = cm,
    };
    json_t *obj = gpuslice_new(NS, &spec, pod);
    assert_non_null(obj);
    snprintf(name, GPUSLICE_NAME_MAX, "%s", meta_name(obj));
    h_create(h, h->slices, NS, obj, NULL);
}

/* Namespace default (where Events about the cluster-scoped GPUNode go)
 * and the node's GPUNode whose spec sets GPU i's mode to modes[i]. */
static inline void h_gpunode(struct harness *h, const char *const *modes, unsigned n)
{
    h_create(h, h->namespaces, NULL, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
                                               "kind", "Namespace", "metadata", "name",
                                               "default"),
             NULL);
    json_t *gpus = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(gpus, json_pack("{s:s, s:s}", "uuid", h_gpu(h, i), "mode",
                                              modes[i]));
    h_create(h, h->gpunodes, NULL,
             json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:o}}", "apiVersion",
                       GPUSLICE_API_VERSION, "kind", GPUNODE_KIND, "metadata", "name", NODE,
                       "labels", AGENT_LABEL_NODE, NODE, "spec", "gpus", gpus),
             NULL);
}

/* The stored object, or NULL (the caller's). */
static inline json_t *h_get(struct harness *h, const struct api_resource *res, const char *ns,
                            const char *name)
{
    json_t *out = NULL;
    int rc = store_get(h->st, res, ns, name, &out, NULL);
    assert_true(rc == 0 || rc == -ENOENT);
    return out;
}

/* A status field of GPUSlice name as a static copy ("" when absent). */
static inline const char *h_status(struct harness *h, const char *name, const char *field)
{
    static char buf[8][512];
    static unsigned turn;
    char *out = buf[turn++ % 8];
    json_t *obj = h_get(h, h->slices, NS, name);
    assert_non_null(obj);
    const json_t *v = json_object_get(json_object_get(obj, "status"), field);
    if (json_is_string(v))
        snprintf(out, 512, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, 512, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, 512, "%s", strcmp(field, "phase") == 0 ? "Creating" : "");
    json_decref(obj);
    return out;
}

static inline const char *h_phase(struct harness *h, const char *name)
{
    return h_status(h, name, "phase");
}

/* What the controller does: moves name to phase, and when warm_until is
 * not NULL keeps it warm until then (status.warmUntil). */
static inline void h_set_phase_until(struct harness *h, const char *name, const char *phase,
                                     const char *warm_until)
{
    struct err e = {0};
    json_t *obj = h_get(h, h->slices, NS, name);
    assert_non_null(obj);
    struct gpuslice_status st = {.phase = phase, .warm_until = warm_until};
    json_t *next = gpuslice_with_status(obj, &st, "2026-09-22T10:00:00Z");
    h_ok(store_update(h->st, h->slices, NS, next,
                      &(struct store_write_opts){.subresource = STORE_STATUS}, NULL, &e),
         &e, "set phase");
    json_decref(next);
    json_decref(obj);
}

static inline void h_set_phase(struct harness *h, const char *name, const char *phase)
{
    h_set_phase_until(h, name, phase, NULL);
}

/* A data field of ConfigMap name, static copy; NULL when there is no such
 * ConfigMap. */
static inline const char *h_cm(struct harness *h, const char *name, const char *key)
{
    static char buf[4][1024];
    static unsigned turn;
    json_t *obj = h_get(h, h->cms, NS, name);
    if (!obj)
        return NULL;
    char *out = buf[turn++ % 4];
    const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), key));
    snprintf(out, 1024, "%s", v ? v : "");
    json_decref(obj);
    return out;
}

/* The device's slices. */
static inline unsigned h_device_slices(struct harness *h, struct device_slices *out)
{
    assert_int_equal(device_list_slices(h->dev, out, NULL, NULL), 0);
    return out->n;
}

static inline void h_invariant(struct harness *h)
{
    struct err e = {0};
    if (agent_invariant_check(h->st, h->dev, NODE, NULL, NULL, &e) < 0)
        fail_msg("invariant: %s", e.msg);
}

#endif
