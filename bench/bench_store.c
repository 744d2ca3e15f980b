/*
 * Benchmark of the mem store in process: the memory 10,000 stored pods
 * cost beyond their JSON text, creates/s (one thread, then four), updates/s
 * (merge patches), gets/s, a full list of 10,000 pods, a paged list, and
 * watch fan-out (events/s delivered in all to 100 in-process watchers, raw
 * text as the API server takes it, and parsed JSON as a reconciler takes
 * it), and the key order alone (mem_order.c: what each create and delete of
 * a kind holding hundreds of thousands of objects pays; `bench_store order`
 * runs only that, for callgrind). Pods are realistic: ~1.3 KB with labels, an owner, a scheduling gate,
 * a MIG request and a toleration.
 *
 * Target (issue 4): <= 4 KiB per pod beyond its JSON; the rest is for
 * reference (the API server's benchmark carries the HTTP targets). A store
 * call that fails, or a watcher that misses an event, fails the benchmark.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/rng.h"
#include "store/mem.h"
#include "store/mem_internal.h"

#include "bench_report.h"

#define PODS 10000
#define WATCHERS 100
#define FANOUT_EVENTS 2000
#define TARGET_OVERHEAD_B 4096.0
/* The key order: a simulator's pods, each created in name order and
 * deleted ORDER_LIFE pods later, each with its Events, written at random
 * moments of its life (so amid the live pods, not at the end of the order)
 * and deleted as long after. */
#define ORDER_PODS 125000
#define ORDER_EVENTS_PER_POD 3
#define ORDER_LIFE 50000

static json_t *pod(const char *name)
{
    return json_pack(
        "{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:{s:s}, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]},"
        " s:{s:[{s:s}], s:[{s:s, s:s, s:[s, s], s:{s:{s:s, s:s, s:s}, s:{s:s}},"
        " s:[{s:{s:s, s:b}}]}], s:[{s:s, s:s, s:s}]}}",
        "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "labels", "app", "train",
        "gpuslice.dev/managed", "true", "pod-template-hash", "7f9c", "annotations",
        "gpuslice.dev/slices", "[{\"container\":\"main\",\"profile\":\"1g.10gb\",\"count\":1}]",
        "ownerReferences", "apiVersion", "apps/v1", "kind", "ReplicaSet", "name", "train-7f9c",
        "uid", "1d3c1e2a-4b5f-4c6d-8e9f-0a1b2c3d4e5f", "controller", 1, "blockOwnerDeletion", 1,
        "spec", "schedulingGates", "name", "gpuslice.dev/slice", "containers", "name", "main",
        "image", "nvcr.io/nvidia/pytorch:24.01-py3", "command", "python", "train.py",
        "resources", "requests", "cpu", "2", "memory", "8Gi", "nvidia.com/mig-1g.10gb", "1",
        "limits", "nvidia.com/mig-1g.10gb", "1", "envFrom", "configMapRef", "name",
        "gpuslice-train", "optional", 1, "tolerations", "key", "nvidia.com/gpu", "operator",
        "Exists", "effect", "NoSchedule");
}

static struct store *open_store(size_t history)
{
    struct mem_store_config cfg = {.now_ns = clock_realtime_now, .history = history, .seed = 7};
    struct store *st;
    struct err e;
    bench_check(mem_store_new(&cfg, &st, &e), &e, "mem_store_new");
    return st;
}

static const struct api_resource *pods_of(struct store *st)
{
    return api_registry_find(store_registry(st), "", "v1", "pods");
}

static void create_pods(struct store *st, const char *prefix, int from, int to)
{
    const struct api_resource *pods = pods_of(st);
    for (int i = from; i < to; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%05d", prefix, i);
        json_t *p = pod(name);
        struct err e;
        bench_check(store_create(st, pods, "bench", p, NULL, NULL, &e), &e, "store_create of %s",
                    name);
        json_decref(p);
    }
}

/* Bytes the allocator has handed out, mmapped blocks included. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Heap bytes beyond the pods' JSON text, per pod. */
static void memory_per_pod(void)
{
    malloc_trim(0);
    size_t before = heap_in_use();
    struct store *st = open_store(PODS);
    size_t empty = heap_in_use();
    create_pods(st, "pod", 0, PODS);
    size_t after = heap_in_use();
    struct store_list_opts o = {0};
    json_t *list;
    struct err e;
    bench_check(store_list(st, pods_of(st), "bench", &o, &list, &e), &e, "store_list");
    size_t text = 0;
    for (size_t i = 0; i < json_array_size(json_object_get(list, "items")); i++) {
        char *s = json_dumps(json_array_get(json_object_get(list, "items"), i), JSON_COMPACT);
        text += strlen(s);
        free(s);
    }
    json_decref(list);
    double per_pod = (double)(after - empty) / PODS;
    double json = (double)text / PODS;
    bench_report1("store memory: overhead beyond the JSON", per_pod - json, "B per pod",
                  BENCH_AT_MOST, TARGET_OVERHEAD_B,
                  "%d pods, JSON %.0f B/pod, heap %.0f B/pod; store with a %d-event history: "
                  "%.0f KiB before any pod",
                  PODS, json, per_pod, PODS, (double)(empty - before) / 1024);
    store_free(st);
}

struct creator {
    struct store *st;
    int id, n;
};

static void *creator_main(void *arg)
{
    struct creator *c = arg;
    char prefix[16];
    snprintf(prefix, sizeof prefix, "t%d", c->id);
    create_pods(c->st, prefix, 0, c->n);
    return NULL;
}

static void creates(int threads)
{
    struct store *st = open_store(0);
    pthread_t th[8];
    struct creator c[8];
    double t0 = bench_now_s();
    if (threads == 1) {
        double c0 = bench_thread_cpu_s();
        create_pods(st, "t0", 0, PODS);
        double dt = bench_now_s() - t0, dc = bench_thread_cpu_s() - c0;
        bench_report1("store creates, 1 thread", PODS / dt, "creates/s", BENCH_REFERENCE, 0,
                      "%d pods; %.0f per CPU-second", PODS, PODS / dc);
        store_free(st);
        return;
    }
    for (int i = 0; i < threads; i++) {
        c[i] = (struct creator){st, i, PODS / threads};
        bench_check(-pthread_create(&th[i], NULL, creator_main, &c[i]), NULL, "pthread_create");
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double dt = bench_now_s() - t0;
    char name[48];
    snprintf(name, sizeof name, "store creates, %d threads", threads);
    bench_report1(name, PODS / dt, "creates/s", BENCH_REFERENCE, 0, "%d pods", PODS);
    store_free(st);
}

static void reads_and_updates(void)
{
    struct store *st = open_store(0);
    const struct api_resource *pods = pods_of(st);
    create_pods(st, "pod", 0, PODS);
    struct err e;
    double t0 = bench_thread_cpu_s();
    for (int i = 0; i < PODS; i++) {
        char name[64];
        snprintf(name, sizeof name, "pod-%05d", i);
        json_t *out;
        bench_check(store_get(st, pods, "bench", name, &out, &e), &e, "store_get of %s", name);
        json_decref(out);
    }
    double t1 = bench_thread_cpu_s();
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "phase", "seen");
    for (int i = 0; i < PODS; i++) {
        char name[64];
        snprintf(name, sizeof name, "pod-%05d", i);
        bench_check(store_patch(st, pods, "bench", name, STORE_PATCH_MERGE, patch, NULL, NULL, &e),
                    &e, "store_patch of %s", name);
    }
    double t2 = bench_thread_cpu_s();
    json_decref(patch);
    struct store_list_opts all = {0};
    json_t *list;
    bench_check(store_list(st, pods, "bench", &all, &list, &e), &e, "store_list");
    size_t listed = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    double t3 = bench_thread_cpu_s();
    struct store_list_opts sel = {.label_selector = "app=train,phase=seen", .limit = 500};
    size_t pages = 0, paged = 0;
    char *token = NULL;
    do {
        sel.continue_token = token;
        bench_check(store_list(st, pods, "bench", &sel, &list, &e), &e, "store_list of page %zu",
                    pages);
        paged += json_array_size(json_object_get(list, "items"));
        free(token);
        const char *c = json_string_value(json_object_get(json_object_get(list, "metadata"), "continue"));
        token = c ? strdup(c) : NULL;
        json_decref(list);
        pages++;
    } while (token);
    double t4 = bench_thread_cpu_s();
    if (listed != PODS || paged != PODS)
        bench_fail("store_list gave %zu pods of %d, the paged one %zu", listed, PODS, paged);
    struct bench_figure f[] = {
        {.value = PODS / (t1 - t0), .unit = "gets/s"},
        {.value = PODS / (t2 - t1), .unit = "merge-patch updates/s"},
        {.label = "list", .value = (t3 - t2) * 1e3, .unit = "ms"},
        {.label = "paged list", .value = (t4 - t3) * 1e3, .unit = "ms"},
    };
    bench_report("store reads and updates, per CPU-second", f, 4,
                 "%d pods; the paged list: limit 500 with a label selector, %zu pages", PODS,
                 pages);
    store_free(st);
}

struct watcher {
    struct store *st;
    const char *from; /* the resourceVersion before the first event */
    bool raw;
    size_t got;
    int rc; /* of the call that stopped it early */
    struct err e;
};

static void *watcher_main(void *arg)
{
    struct watcher *w = arg;
    struct store_watch_opts o = {.resource_version = w->from, .want_raw = w->raw};
    struct store_watch *sw;
    w->rc = store_watch_open(w->st,
                             api_registry_find(store_registry(w->st), "", "v1", "configmaps"),
                             "bench", &o, &sw, &w->e);
    if (w->rc != 0)
        return NULL;
    while (w->got < FANOUT_EVENTS) {
        struct store_event ev;
        if ((w->rc = store_watch_next(sw, 1000, &ev, &w->e)) != 0)
            break;
        w->got++;
        store_event_release(&ev);
    }
    store_watch_close(sw);
    return NULL;
}

static void fanout(bool raw)
{
    struct store *st = open_store(FANOUT_EVENTS + 10);
    const struct api_resource *cms = api_registry_find(store_registry(st), "", "v1", "configmaps");
    struct err e;
    json_t *cm = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "c", "data", "k", "v");
    bench_check(store_create(st, cms, "bench", cm, NULL, NULL, &e), &e, "store_create");
    json_decref(cm);
    char from[32];
    snprintf(from, sizeof from, "%llu", (unsigned long long)mem_store_revision(st));
    /* the events exist before the watchers start, so what is timed is
     * delivery alone (and each watcher stops at its last: a watch from
     * after the create would wait out its timeout for one more) */
    for (int i = 1; i <= FANOUT_EVENTS; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"data\":{\"k\":\"%d\"}}", i);
        json_t *p = json_loads(body, 0, NULL);
        bench_check(store_patch(st, cms, "bench", "c", STORE_PATCH_MERGE, p, NULL, NULL, &e), &e,
                    "store_patch %d", i);
        json_decref(p);
    }
    pthread_t th[WATCHERS];
    struct watcher w[WATCHERS];
    double t0 = bench_now_s();
    for (int i = 0; i < WATCHERS; i++) {
        w[i] = (struct watcher){.st = st, .from = from, .raw = raw};
        bench_check(-pthread_create(&th[i], NULL, watcher_main, &w[i]), NULL, "pthread_create");
    }
    size_t total = 0;
    for (int i = 0; i < WATCHERS; i++) {
        pthread_join(th[i], NULL);
        total += w[i].got;
    }
    double dt = bench_now_s() - t0;
    for (int i = 0; i < WATCHERS; i++)
        if (w[i].got != FANOUT_EVENTS)
            bench_fail("watcher %d got %zu events of %d (store_watch: %d %s)", i, w[i].got,
                       FANOUT_EVENTS, w[i].rc, w[i].rc ? w[i].e.msg : "");
    char name[64];
    snprintf(name, sizeof name, "store watch fan-out (%s)", raw ? "raw text" : "parsed JSON");
    bench_report1(name, total / dt, "events/s delivered in all", BENCH_REFERENCE, 0,
                  "%d watchers x %d events, in process", WATCHERS, FANOUT_EVENTS);
    store_free(st);
}

/* The objects of the key order's benchmark: each pod then its Events,
 * named as the simulator names them. */
static struct mem_obj *order_objects(size_t n)
{
    struct mem_obj *objs = calloc(n, sizeof *objs);
    struct mem_doc *docs = calloc(n, sizeof *docs);
    char(*names)[48] = calloc(n, sizeof *names);
    if (!objs || !docs || !names)
        bench_fail("out of memory for %zu keys", n);
    for (size_t i = 0; i < n; i++) {
        size_t pod = i / (1 + ORDER_EVENTS_PER_POD), event = i % (1 + ORDER_EVENTS_PER_POD);
        if (event == 0)
            snprintf(names[i], sizeof names[i], "trace-%09zu", pod);
        else
            snprintf(names[i], sizeof names[i], "trace-%09zu.%016llx", pod,
                     (unsigned long long)rng_mix(i));
        docs[i] = (struct mem_doc){.ns = "batch", .name = names[i]};
        objs[i].doc = &docs[i];
    }
    return objs;
}

static void order_free_objects(struct mem_obj *objs)
{
    free((char *)objs[0].doc->name);
    free(objs[0].doc);
    free(objs);
}

/* One write of the key order's benchmark: its object comes or goes at t. */
struct order_write {
    uint64_t t;
    struct mem_obj *obj;
    bool create;
};

static int order_write_cmp(const void *a, const void *b)
{
    const struct order_write *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* The creates and deletes of the objects, in time order: a pod at its
 * index, its Events at random moments of its life, each gone a life
 * later. */
static struct order_write *order_writes(struct mem_obj *objs, size_t n)
{
    struct order_write *w = calloc(2 * n, sizeof *w);
    if (!w)
        bench_fail("out of memory for %zu writes", 2 * n);
    struct rng r = rng_seeded(3);
    for (size_t i = 0; i < n; i++) {
        uint64_t pod = i / (1 + ORDER_EVENTS_PER_POD), at = pod * ORDER_LIFE * 4;
        if (i % (1 + ORDER_EVENTS_PER_POD))
            at += rng_next(&r) % ((uint64_t)ORDER_LIFE * ORDER_LIFE * 4);
        w[2 * i] = (struct order_write){.t = at, .obj = &objs[i], .create = true};
        w[2 * i + 1] = (struct order_write){.t = at + (uint64_t)ORDER_LIFE * ORDER_LIFE * 4 + 1,
                                            .obj = &objs[i]};
    }
    qsort(w, 2 * n, sizeof *w, order_write_cmp);
    return w;
}

/* Inserts and removes in the key order alone, per CPU-second. */
static void key_order(void)
{
    size_t n = ORDER_PODS * (1 + ORDER_EVENTS_PER_POD), live = 0, most = 0;
    struct mem_obj *objs = order_objects(n);
    struct order_write *w = order_writes(objs, n);
    struct mem_order t = {0};
    double t0 = bench_thread_cpu_s();
    for (size_t i = 0; i < 2 * n; i++) {
        if (w[i].create)
            mem__order_insert(&t, w[i].obj);
        else
            mem__order_remove(&t, w[i].obj);
        live += w[i].create ? 1 : -1;
        most = live > most ? live : most;
    }
    double dt = bench_thread_cpu_s() - t0;
    if (mem__order_count_upto(&t, "batch", NULL) != 0)
        bench_fail("the key order kept keys after every one was removed");
    mem__order_free(&t);
    free(w);
    order_free_objects(objs);
    bench_report1("store key order: inserts and removes", 2.0 * n / dt, "per CPU-second",
                  BENCH_REFERENCE, 0, "%zu keys (pods and their Events), at most %zu at once",
                  n, most);
}

int main(int argc, char **argv)
{
    key_order();
    if (argc > 1 && strcmp(argv[1], "order") == 0)
        return 0;
    memory_per_pod();
    creates(1);
    creates(4);
    reads_and_updates();
    fanout(true);
    fanout(false);
    return 0;
}
