/*
 * Benchmark of the controller's decision path at cluster scale: the
 * reconcile of a gated pod, from the informer caches (over the mem store)
 * to the reserved placement and the actions it returns, everything but the
 * HTTP round trips. Clusters of 100, 300, 1,000 and 3,000 nodes x 8
 * H100-80GB with half of all memory slices taken (seeded random slices,
 * each a GPUSlice of its own running pod bound to the node, so the
 * scheduler-fit filter counts real pods), and 256 gated pods asking for
 * every H100 profile, reconciled in turn. Each reconcile first drops the
 * reservation the pod's previous decision left uncreated (as after a write
 * conflict) and then decides again, so occupancy stays where it was.
 *
 * Then the same for MPS shares (issue 15): the nodes' 8 GPUs in mode mps
 * with MIG disabled, about half of their client memory and SMs held by
 * running pods' shares (1 to 16 GiB, SMs proportional or given), and 256
 * gated pods asking for a share of 1 to 16 GiB (a third with an SM
 * percent), decided in two dimensions by the same reconcile.
 *
 * The controller is made first and its informers catch up as the
 * cluster is laid out (watch events, every thousand writes), as a running
 * controller would have seen it come: one list of the whole cluster at
 * the end took pages of 500 that each pass over the rest, most of the
 * setup at 3,000 nodes. The decisions' path is the same either way.
 *
 * One line per size and kind: decisions per second (of time spent
 * deciding), p50 and p99 of one decision, beside the issue-12 targets,
 * which MPS placement is held to as well (>= 10,000 decisions/s and p99
 * <= 1 ms up to 1,000 nodes; 3,000 nodes within 3x of 1,000); a miss
 * prints "BELOW TARGET" but does not fail the run (timings are not
 * tests). A failed reconcile, or one that places nothing, fails the
 * benchmark.
 *
 * `bench_controller timeslice` times time-slice requests the same way (the
 * GPUs in mode timeslice with 4 replicas, half of all slots held); it is
 * not part of the default run.
 *
 *   bench_controller [mig|mps|timeslice] [NODES...]   (no kind: mig and mps)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "controller/controller.h"
#include "core/catalog.h"
#include "core/occupancy.h"
#include "core/placement_share.h"
#include "store/mem.h"
#include "util/clock.h"

#include "bench_report.h"

#define GPUS_PER_NODE 8
#define GATED 256
#define SEED 42u
#define MIN_NS (NS_PER_SEC / 2)  /* each size runs at least this long */
#define MIN_DECISIONS 2000
#define MAX_DECISIONS 200000
#define TARGET_PER_S 10000.0
#define TARGET_P99_US 1000.0
#define TARGET_SCALE 3.0         /* 3,000 nodes within 3x of 1,000 */
#define H100_MIB 81559           /* an H100-80GB's memoryMiB */
#define SHARE_GIB_MAX 16
#define TIMESLICE_REPLICAS 4     /* a timeslice GPU's replicas when its spec says none */

enum kind { KIND_MIG, KIND_MPS, KIND_TIMESLICE };

static const char *const kind_names[] = {"mig", "mps", "timeslice"};

struct bench {
    int64_t now;
    struct store *st;
    const struct api_resource *pods, *slices, *gpunodes, *nodes;
    const struct gpu_model *h100;
    enum kind kind;              /* the GPUs' mode, what the pods ask for */
    uint64_t rng;
    /* The controller, there from the start: its informers take the
     * cluster's objects as watch events while it is laid out. */
    struct controller *ctl;
    size_t unsynced;             /* writes since the informers last caught up */
};

static void sync_informers(struct controller *c);

static int64_t bench_clock(void *ctx)
{
    return ((struct bench *)ctx)->now;
}

static uint32_t rnd(uint64_t *rng, uint32_t n)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*rng >> 33) % n);
}

/* The informers catch up every KEEP_UP writes, well within the store's
 * watch history: a list of the whole cluster at the end would take pages
 * of 500 (each a pass over what is left) instead. */
#define KEEP_UP 1000

static void wrote(struct bench *b)
{
    if (b->ctl && ++b->unsynced >= KEEP_UP) {
        sync_informers(b->ctl);
        b->unsynced = 0;
    }
}

/* Creates obj (taken over) and returns the stored copy (caller's) when
 * stored is true. */
static json_t *create(struct bench *b, const struct api_resource *res, const char *ns,
                      json_t *obj, bool stored)
{
    struct err e = {0};
    json_t *out = NULL;
    if (!obj)
        bench_fail("json_pack of a %s", res->kind);
    bench_check(store_create(b->st, res, ns, obj, &(struct store_write_opts){0},
                             stored ? &out : NULL, &e),
                &e, "store_create of a %s", res->kind);
    json_decref(obj);
    wrote(b);
    return out;
}

static void write_status(struct bench *b, const struct api_resource *res, json_t *obj,
                         json_t *status)
{
    struct err e = {0};
    json_object_set_new(obj, "status", status);
    bench_check(store_update(b->st, res, meta_namespace(obj), obj,
                             &(struct store_write_opts){.subresource = STORE_STATUS}, NULL, &e),
                &e, "store_update of %s's status", meta_name(obj));
    json_decref(obj);
    wrote(b);
}

/* A Ready node with room for many small pods, and its GPUNode. */
static void add_node(struct bench *b, const char *name)
{
    json_t *node = create(b, b->nodes, NULL,
                          json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind",
                                    "Node", "metadata", "name", name, "labels",
                                    "kubernetes.io/hostname", name),
                          true);
    json_t *status = json_pack("{s:[{s:s, s:s}], s:{s:s, s:s, s:s, s:s}}", "conditions", "type",
                               "Ready", "status", "True", "allocatable", "cpu", "128", "memory",
                               "1024Gi", "pods", "250", GPUSLICE_RESOURCE_MEMORY, "1000");
    if (b->kind == KIND_TIMESLICE) /* the replicas the agent offers */
        json_object_set_new(json_object_get(status, "allocatable"), GPUSLICE_RESOURCE_TIMESLICE,
                            json_string("32"));
    write_status(b, b->nodes, node, status);
    json_t *gpus = json_array(), *spec = json_array();
    for (int i = 0; i < GPUS_PER_NODE; i++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "GPU-%s-%d", name, i);
        const char *mode = kind_names[b->kind];
        json_array_append_new(gpus, json_pack("{s:i, s:s, s:s, s:s, s:i, s:s}", "index", i,
                                              "uuid", uuid, "model", b->h100->name, "migMode",
                                              b->kind != KIND_MIG ? "Disabled" : "Enabled",
                                              "memoryMiB",
                                              H100_MIB, "mode", mode));
        json_array_append_new(spec, json_pack("{s:s, s:s}", "uuid", uuid, "mode", mode));
    }
    json_t *gn = create(b, b->gpunodes, NULL,
                        json_pack("{s:s, s:s, s:{s:s}, s:{s:o}}", "apiVersion",
                                  GPUSLICE_API_VERSION, "kind", "GPUNode", "metadata", "name",
                                  name, "spec", "gpus", spec),
                        true);
    write_status(b, b->gpunodes, gn, json_pack("{s:o}", "gpus", gpus));
}

/* A pod asking for what the annotation slices says, as the webhook leaves
 * it (gib GiB of accelerator memory backing it, what quotas charge): bound
 * to node, or gated by gpuslice when node is NULL. */
static json_t *pod_asking(const char *name, const char *slices, unsigned gib, const char *node)
{
    char memory[16];
    snprintf(memory, sizeof memory, "%u", gib);
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:[{s:s, s:s, s:{s:{s:s, "
                            "s:s}}}]}}",
                            "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                            "namespace", "team", "annotations", GPUSLICE_ANNOTATION_SLICES,
                            slices, "spec", "containers", "name", "main", "image", "cuda",
                            "resources", "requests", "cpu", "500m", "memory", "2Gi");
    json_t *requests = json_object_get(
        json_object_get(json_array_get(json_object_get(json_object_get(pod, "spec"),
                                                       "containers"), 0), "resources"),
        "requests");
    json_object_set_new(requests, GPUSLICE_RESOURCE_MEMORY, json_string(memory));
    if (pod && node)
        json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string(node));
    else if (pod)
        json_object_set_new(json_object_get(pod, "spec"), "schedulingGates",
                            json_pack("[{s:s}]", "name", GPUSLICE_GATE));
    return pod;
}

/* A pod asking for one slice of profile ("+me" profiles are no valid
 * resource names: the annotation). */
static json_t *pod_object(const char *name, const char *profile, const char *node)
{
    char slices[160];
    snprintf(slices, sizeof slices, "[{\"container\":\"main\",\"profile\":\"%s\",\"count\":1}]",
             profile);
    unsigned gib = 0;
    catalog_name_gib(profile, &gib);
    return pod_asking(name, slices, gib, node);
}

/* A pod asking for a time slice, by its resource as the webhook leaves it. */
static json_t *pod_timeslice(const char *name, const char *node)
{
    json_t *pod = pod_asking(name, "[{\"container\":\"main\",\"sharing\":\"timeslice\"}]",
                             0, node);
    json_t *requests = json_object_get(
        json_object_get(json_array_get(json_object_get(json_object_get(pod, "spec"),
                                                       "containers"), 0), "resources"),
        "requests");
    json_object_del(requests, GPUSLICE_RESOURCE_MEMORY);
    json_object_set_new(requests, GPUSLICE_RESOURCE_TIMESLICE, json_string("1"));
    return pod;
}

/* A pod asking for an MPS share of gib GiB and sm percent (0: proportional). */
static json_t *pod_sharing(const char *name, unsigned gib, unsigned sm, const char *node)
{
    char slices[160];
    int n = snprintf(slices, sizeof slices, "[{\"container\":\"main\",\"sharing\":\"mps\","
                     "\"memoryGiB\":%u", gib);
    snprintf(slices + n, sizeof slices - (size_t)n, sm ? ",\"smPercent\":%u}]" : "}]", sm);
    return pod_asking(name, slices, gib, node);
}

/* A running pod on node holding one slice, and its GPUSlice. */
static void add_running_slice(struct bench *b, const char *node, unsigned gpu,
                              const struct mig_profile *p, unsigned start, size_t serial)
{
    char name[64], uuid[64];
    snprintf(name, sizeof name, "run-%zu", serial);
    snprintf(uuid, sizeof uuid, "GPU-%s-%u", node, gpu);
    json_t *pod = create(b, b->pods, "team", pod_object(name, p->name, node), true);
    struct gpuslice_spec spec = {
        .pod_name = name, .pod_uid = meta_uid(pod), .container = "main", .node = node,
        .gpu_uuid = uuid, .gpu_index = gpu, .model = b->h100->name, .profile = p->name,
        .requested_profile = p->name, .start = start, .size = p->memory_slices,
        .config_map = name};
    create(b, b->slices, "team", gpuslice_new("team", &spec, pod), false);
    json_decref(pod);
}

/* A running pod on node holding an MPS share of GPU gpu (or, in the
 * timeslice run, a time slice: gib and sm 0), and its GPUSlice. */
static void add_running_share(struct bench *b, const char *node, unsigned gpu, unsigned gib,
                              unsigned sm, size_t serial)
{
    char name[64], uuid[64];
    snprintf(name, sizeof name, "run-%zu", serial);
    snprintf(uuid, sizeof uuid, "GPU-%s-%u", node, gpu);
    bool mps = b->kind == KIND_MPS;
    json_t *pod = create(b, b->pods, "team",
                         mps ? pod_sharing(name, gib, sm, node) : pod_timeslice(name, node), true);
    struct gpuslice_spec spec = {
        .pod_name = name, .pod_uid = meta_uid(pod), .container = "main", .node = node,
        .gpu_uuid = uuid, .gpu_index = gpu,
        .sharing = mps ? POD_SHARING_MPS : POD_SHARING_TIMESLICE, .memory_gib = gib,
        .sm_percent = sm, .config_map = name};
    create(b, b->slices, "team", gpuslice_new("team", &spec, pod), false);
    json_decref(pod);
}

/* Random shares on random GPUs until half of all client memory is held
 * (the SMs proportional for two thirds of them, else 1 to 30%): about
 * half of the SMs too. Decided here on plain counters, as the
 * controller would count them (the default MPS overhead). */
static size_t fill_half_mps(struct bench *b, size_t nodes, char (*names)[32])
{
    size_t n_gpus = nodes * GPUS_PER_NODE, used = 0, shares = 0;
    struct share_gpu one = {.mode = SHARE_MPS, .slots = PLACEMENT_SHARE_MPS_CLIENTS_MAX,
                            .capacity_gib = placement_share_capacity_gib(
                                H100_MIB, PLACEMENT_SHARE_MPS_OVERHEAD_MIB_DEFAULT)};
    struct share_gpu *gpus = calloc(n_gpus, sizeof *gpus);
    if (!gpus)
        bench_fail("out of memory");
    for (size_t g = 0; g < n_gpus; g++)
        gpus[g] = one;
    while (2 * used < n_gpus * one.capacity_gib) {
        size_t g = rnd(&b->rng, (uint32_t)n_gpus);
        struct share_request r = {.mode = SHARE_MPS, .memory_gib = 1 + rnd(&b->rng, SHARE_GIB_MAX),
                                  .sm_percent = rnd(&b->rng, 3) ? 0 : 1 + rnd(&b->rng, 30)};
        if (!placement_share_fits(&gpus[g], &r))
            continue;
        unsigned sm = r.sm_percent ? r.sm_percent
                                   : placement_share_proportional_sm(&gpus[g], r.memory_gib);
        placement_share_take(&gpus[g], r.memory_gib, sm);
        used += r.memory_gib;
        add_running_share(b, names[g / GPUS_PER_NODE], (unsigned)(g % GPUS_PER_NODE),
                          r.memory_gib, sm, shares++);
    }
    free(gpus);
    return shares;
}

/* Time slices on random GPUs until half of all slots are held. */
static size_t fill_half_timeslice(struct bench *b, size_t nodes, char (*names)[32])
{
    size_t n_gpus = nodes * GPUS_PER_NODE, held = 0;
    unsigned *clients = calloc(n_gpus, sizeof *clients);
    if (!clients)
        bench_fail("out of memory");
    while (2 * held < n_gpus * TIMESLICE_REPLICAS) {
        size_t g = rnd(&b->rng, (uint32_t)n_gpus);
        if (clients[g] == TIMESLICE_REPLICAS)
            continue;
        clients[g]++;
        add_running_share(b, names[g / GPUS_PER_NODE], (unsigned)(g % GPUS_PER_NODE), 0, 0,
                          held++);
    }
    free(clients);
    return held;
}

/* Random slices on random GPUs until half of all memory slices are taken,
 * decided here on plain occupancies so the store sees only valid ones. */
static size_t fill_half(struct bench *b, size_t nodes, char (*names)[32])
{
    size_t n_gpus = nodes * GPUS_PER_NODE, total = n_gpus * b->h100->memory_slices, used = 0;
    struct gpu_occupancy *occ = calloc(n_gpus, sizeof *occ);
    if (!occ)
        bench_fail("out of memory");
    for (size_t g = 0; g < n_gpus; g++)
        occupancy_init(&occ[g], b->h100);
    size_t slices = 0;
    while (2 * used < total) {
        size_t g = rnd(&b->rng, (uint32_t)n_gpus);
        const struct mig_profile *p = &b->h100->profiles[rnd(&b->rng, b->h100->n_profiles)];
        unsigned start = p->placements[rnd(&b->rng, p->n_placements)].start;
        if (occupancy_take(&occ[g], p, start, 1, NULL) != 0)
            continue;
        used += p->memory_slices;
        add_running_slice(b, names[g / GPUS_PER_NODE], (unsigned)(g % GPUS_PER_NODE), p, start,
                          slices++);
    }
    free(occ);
    return slices;
}

static void sync_informers(struct controller *c)
{
    struct informer *inf[CONTROLLER_INFORMERS];
    controller_informers(c, inf);
    for (size_t i = 0; i < CONTROLLER_INFORMERS; i++) {
        struct err e = {0};
        int rc;
        while ((rc = informer_step(inf[i], 0, &e)) == 0)
            ;
        if (rc != -EAGAIN || !informer_synced(inf[i]))
            bench_fail("informer %zu did not sync (informer_step: %d %s)", i, rc, e.msg);
    }
}

/* CPU time of this thread, ns: what a decision costs whatever else runs. */
static int64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * NS_PER_SEC + t.tv_nsec;
}

static int cmp_ns(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct result {
    double per_s, p50_us, p99_us, setup_s, first_ms;
    double cpu_us; /* CPU time of the deciding thread per decision: load-proof */
    size_t slices, decisions, no_room;
};

/* One reconcile of key; dies when it fails or neither places nor says why
 * not. Returns how long it took; counts refusals in res. */
static int64_t decide(struct bench *b, const struct reconciler *r, const char *key,
                      struct action_list *out, struct result *res)
{
    int64_t requeue = 0;
    struct err e = {0};
    int64_t t0 = clock_monotonic_ns();
    int rc = r->reconcile(r->self, key, b->now, out, &requeue, &e);
    int64_t took = clock_monotonic_ns() - t0;
    bench_check(rc, &e, "reconcile of %s", key);
    bool created = false, refused = false;
    for (size_t i = 0; i < out->n; i++) {
        created |= out->items[i].kind == ACTION_CREATE;
        refused |= out->items[i].kind == ACTION_UPDATE_STATUS;
    }
    if (!created && !refused)
        bench_fail("reconcile of %s: the decision neither placed nor refused", key);
    res->no_room += !created;
    action_list_clear(out);
    return took;
}

/* The timed loop: reconciles the gated pods in turn, after a first one
 * that builds the model's arrays from what the informers reported (once
 * per controller start or node change: reported apart). */
static void decide_many(struct bench *b, struct controller *c, struct result *res)
{
    struct reconciler r = controller_reconciler(c);
    int64_t *lat = calloc(MAX_DECISIONS, sizeof *lat);
    if (!lat)
        bench_fail("out of memory");
    struct action_list out;
    action_list_init(&out);
    res->first_ms = (double)decide(b, &r, "team/gated-255", &out, res) / NS_PER_MS;
    size_t n = 0;
    int64_t start = clock_monotonic_ns(), busy = 0, cpu0 = thread_cpu_ns();
    while (n < MAX_DECISIONS && (n < MIN_DECISIONS || clock_monotonic_ns() - start < MIN_NS)) {
        char key[64];
        snprintf(key, sizeof key, "team/gated-%03zu", n % GATED);
        lat[n] = decide(b, &r, key, &out, res);
        busy += lat[n++];
    }
    qsort(lat, n, sizeof *lat, cmp_ns);
    res->decisions = n;
    res->per_s = (double)n / ((double)busy / NS_PER_SEC);
    res->cpu_us = (double)(thread_cpu_ns() - cpu0) / (double)n / NS_PER_US;
    res->p50_us = (double)lat[n / 2] / NS_PER_US;
    res->p99_us = (double)lat[(n * 99) / 100] / NS_PER_US;
    free(lat);
}

static size_t fill_half_kind(struct bench *b, size_t nodes, char (*names)[32])
{
    if (b->kind == KIND_MPS)
        return fill_half_mps(b, nodes, names);
    if (b->kind == KIND_TIMESLICE)
        return fill_half_timeslice(b, nodes, names);
    return fill_half(b, nodes, names);
}

static json_t *gated_pod(struct bench *b, const char *name)
{
    const char *profile = b->h100->profiles[rnd(&b->rng, b->h100->n_profiles)].name;
    unsigned gib = 1 + rnd(&b->rng, SHARE_GIB_MAX), sm = rnd(&b->rng, 3) ? 0 : 1 + rnd(&b->rng, 30);
    if (b->kind == KIND_MPS)
        return pod_sharing(name, gib, sm, NULL);
    if (b->kind == KIND_TIMESLICE)
        return pod_timeslice(name, NULL);
    return pod_object(name, profile, NULL);
}

static void run_size(size_t nodes, enum kind kind, struct result *res)
{
    struct bench b = {.now = 1800000000LL * NS_PER_SEC, .rng = SEED, .kind = kind};
    int64_t t0 = clock_monotonic_ns();
    struct err e = {0};
    struct mem_store_config mc = {.now_ns = bench_clock, .clock_ctx = &b, .seed = 7};
    bench_check(mem_store_new(&mc, &b.st, &e), &e, "mem_store_new");
    struct api_registry *reg = store_registry(b.st);
    b.pods = api_registry_find(reg, "", "v1", "pods");
    b.nodes = api_registry_find(reg, "", "v1", "nodes");
    b.slices = api_registry_find(reg, GPUSLICE_API_GROUP, "v1alpha1", "gpuslices");
    b.gpunodes = api_registry_find(reg, GPUSLICE_API_GROUP, "v1alpha1", "gpunodes");
    b.h100 = catalog_find_model("H100-80GB");
    const struct api_resource *ns = api_registry_find(reg, "", "v1", "namespaces");
    if (!b.pods || !b.nodes || !b.slices || !b.gpunodes || !b.h100 || !ns)
        bench_fail("the store or the catalogue lacks a resource");
    create(&b, ns, NULL,
           json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                     "name", "team"),
           false);
    struct controller_config cc = {.store = b.st, .now_ns = bench_clock, .clock_ctx = &b,
                                   .policy = PLACEMENT_POLICY_DEFAULT};
    bench_check(controller_new(&cc, &b.ctl, &e), &e, "controller_new");
    char (*names)[32] = calloc(nodes, sizeof *names);
    if (!names)
        bench_fail("out of memory");
    for (size_t i = 0; i < nodes; i++) {
        snprintf(names[i], sizeof names[i], "node-%04zu", i);
        add_node(&b, names[i]);
    }
    res->slices = fill_half_kind(&b, nodes, names);
    for (size_t i = 0; i < GATED; i++) {
        char name[32];
        snprintf(name, sizeof name, "gated-%03zu", i);
        create(&b, b.pods, "team", gated_pod(&b, name), false);
    }
    sync_informers(b.ctl);
    res->setup_s = (double)(clock_monotonic_ns() - t0) / NS_PER_SEC;
    decide_many(&b, b.ctl, res);
    controller_free(b.ctl);
    store_free(b.st);
    free(names);
}

static void print_result(size_t nodes, enum kind kind, const struct result *r,
                         const struct result *at_1000)
{
    char name[64];
    snprintf(name, sizeof name, "bench_controller%s%s: %zu nodes x %d GPUs",
             kind == KIND_MIG ? "" : " ", kind == KIND_MIG ? "" : kind_names[kind], nodes,
             GPUS_PER_NODE);
    struct bench_figure f[] = {
        {.value = r->per_s, .unit = "decisions/s"},
        {.label = "p99", .value = r->p99_us, .unit = "us"},
    };
    const char *basis = "";
    if (nodes <= 1000) {
        f[0].goal = BENCH_AT_LEAST, f[0].target = TARGET_PER_S;
        f[1].goal = BENCH_AT_MOST, f[1].target = TARGET_P99_US;
    } else if (at_1000) {
        f[0].goal = BENCH_AT_LEAST, f[0].target = at_1000->per_s / TARGET_SCALE;
        f[1].goal = BENCH_AT_MOST, f[1].target = at_1000->p99_us * TARGET_SCALE;
        basis = "target: within 3x of 1,000 nodes; ";
    }
    bench_report(name, f, 2,
                 "%sp50 %.0f us, CPU %.0f us per decision; %zu decisions, %zu without room; %zu %s "
                 "taken; setup %.1f s, "
                 "first decision with the model's build %.1f ms",
                 basis, r->p50_us, r->cpu_us, r->decisions, r->no_room, r->slices,
                 kind == KIND_MIG ? "slices" : "shares",
                 r->setup_s, r->first_ms);
}

/* Every size of one kind, a line each. */
static void run_kind(enum kind kind, const size_t *sizes, size_t n)
{
    struct result at_1000 = {0};
    bool have_1000 = false;
    for (size_t i = 0; i < n; i++) {
        struct result r = {0};
        run_size(sizes[i], kind, &r);
        print_result(sizes[i], kind, &r, have_1000 ? &at_1000 : NULL);
        if (sizes[i] == 1000) {
            at_1000 = r;
            have_1000 = true;
        }
    }
}

int main(int argc, char **argv)
{
    static const size_t defaults[] = {100, 300, 1000, 3000};
    size_t sizes[16], n = 0;
    int arg = 1;
    bool run[] = {true, true, false}; /* by enum kind: no kind named, mig and mps */
    for (int k = KIND_MIG; arg < argc && k <= KIND_TIMESLICE; k++)
        if (strcmp(argv[arg], kind_names[k]) == 0) {
            memset(run, 0, sizeof run);
            run[k] = true;
            arg++;
        }
    for (; arg < argc && n < sizeof sizes / sizeof *sizes; arg++)
        if ((sizes[n++] = strtoul(argv[arg], NULL, 10)) == 0)
            bench_fail("usage: bench_controller [mig|mps|timeslice] [NODES...]");
    if (n == 0) {
        memcpy(sizes, defaults, sizeof defaults);
        n = sizeof defaults / sizeof *defaults;
    }
    for (int k = KIND_MIG; k <= KIND_TIMESLICE; k++)
        if (run[k])
            run_kind((enum kind)k, sizes, n);
    return 0;
}
