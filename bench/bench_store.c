/*
 * Benchmark of the mem store in process: the memory 10,000 stored pods
 * cost beyond their JSON text, creates/s (one thread, then four), updates/s
 * (merge patches), gets/s, a full list of 10,000 pods, a paged list, and
 * watch fan-out (events/s delivered in all to 100 in-process watchers, raw
 * text as the API server takes it, and parsed JSON as a reconciler takes
 * it). Pods are realistic: ~1.3 KB with labels, an owner, a scheduling gate,
 * a MIG request and a toleration.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/mem.h"

#define PODS 10000
#define WATCHERS 100
#define FANOUT_EVENTS 2000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: on a shared machine the wall clock says
 * more about the neighbours than about the store. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t real_clock(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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
    struct mem_store_config cfg = {.now_ns = real_clock, .history = history, .seed = 7};
    struct store *st;
    struct err e;
    if (mem_store_new(&cfg, &st, &e) != 0) {
        fprintf(stderr, "bench_store: %s\n", e.msg);
        exit(1);
    }
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
        if (store_create(st, pods, "bench", p, NULL, NULL, &e) != 0) {
            fprintf(stderr, "bench_store: create %s: %s\n", name, e.msg);
            exit(1);
        }
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
    store_list(st, pods_of(st), "bench", &o, &list, &e);
    size_t text = 0;
    for (size_t i = 0; i < json_array_size(json_object_get(list, "items")); i++) {
        char *s = json_dumps(json_array_get(json_object_get(list, "items"), i), JSON_COMPACT);
        text += strlen(s);
        free(s);
    }
    json_decref(list);
    double per_pod = (double)(after - empty) / PODS;
    double json = (double)text / PODS;
    printf("memory: %d pods, JSON %.0f B/pod, heap %.0f B/pod, overhead beyond JSON %.0f B/pod "
           "(store with a %d-event history: %.0f KiB before any pod)\n",
           PODS, json, per_pod, per_pod - json, PODS, (double)(empty - before) / 1024);
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
    double t0 = now_s();
    if (threads == 1) {
        double c0 = cpu_s();
        create_pods(st, "t0", 0, PODS);
        double dt = now_s() - t0, dc = cpu_s() - c0;
        printf("creates: %d pods, 1 thread: %.0f creates/s (%.0f per CPU-second)\n", PODS,
               PODS / dt, PODS / dc);
        store_free(st);
        return;
    }
    for (int i = 0; i < threads; i++) {
        c[i] = (struct creator){st, i, PODS / threads};
        pthread_create(&th[i], NULL, creator_main, &c[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    printf("creates: %d pods, %d threads: %.0f creates/s\n", PODS, threads, PODS / dt);
    store_free(st);
}

static void reads_and_updates(void)
{
    struct store *st = open_store(0);
    const struct api_resource *pods = pods_of(st);
    create_pods(st, "pod", 0, PODS);
    struct err e;
    double t0 = cpu_s();
    for (int i = 0; i < PODS; i++) {
        char name[64];
        snprintf(name, sizeof name, "pod-%05d", i);
        json_t *out;
        store_get(st, pods, "bench", name, &out, &e);
        json_decref(out);
    }
    double t1 = cpu_s();
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "phase", "seen");
    for (int i = 0; i < PODS; i++) {
        char name[64];
        snprintf(name, sizeof name, "pod-%05d", i);
        if (store_patch(st, pods, "bench", name, STORE_PATCH_MERGE, patch, NULL, NULL, &e) != 0) {
            fprintf(stderr, "bench_store: patch: %s\n", e.msg);
            exit(1);
        }
    }
    double t2 = cpu_s();
    json_decref(patch);
    struct store_list_opts all = {0};
    json_t *list;
    store_list(st, pods, "bench", &all, &list, &e);
    json_decref(list);
    double t3 = cpu_s();
    struct store_list_opts sel = {.label_selector = "app=train,phase=seen", .limit = 500};
    size_t pages = 0;
    char *token = NULL;
    do {
        sel.continue_token = token;
        store_list(st, pods, "bench", &sel, &list, &e);
        free(token);
        const char *c = json_string_value(json_object_get(json_object_get(list, "metadata"), "continue"));
        token = c ? strdup(c) : NULL;
        json_decref(list);
        pages++;
    } while (token);
    double t4 = cpu_s();
    printf("per CPU-second: gets %.0f/s; merge-patch updates %.0f/s; list of %d pods %.1f ms; "
           "paged list (limit 500, label selector) %zu pages in %.1f ms\n",
           PODS / (t1 - t0), PODS / (t2 - t1), PODS, (t3 - t2) * 1e3, pages, (t4 - t3) * 1e3);
    store_free(st);
}

struct watcher {
    struct store *st;
    bool raw;
    size_t got;
};

static void *watcher_main(void *arg)
{
    struct watcher *w = arg;
    struct store_watch_opts o = {.resource_version = "1", .want_raw = w->raw};
    struct store_watch *sw;
    struct err e;
    if (store_watch_open(w->st, api_registry_find(store_registry(w->st), "", "v1", "configmaps"),
                         "bench", &o, &sw, &e) != 0)
        return NULL;
    while (w->got < FANOUT_EVENTS) {
        struct store_event ev;
        if (store_watch_next(sw, 1000, &ev, &e) != 0)
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
    store_create(st, cms, "bench", cm, NULL, NULL, &e);
    json_decref(cm);
    /* the events exist before the watchers start, so what is timed is
     * delivery alone */
    for (int i = 1; i < FANOUT_EVENTS; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"data\":{\"k\":\"%d\"}}", i);
        json_t *p = json_loads(body, 0, NULL);
        store_patch(st, cms, "bench", "c", STORE_PATCH_MERGE, p, NULL, NULL, &e);
        json_decref(p);
    }
    pthread_t th[WATCHERS];
    struct watcher w[WATCHERS];
    double t0 = now_s();
    for (int i = 0; i < WATCHERS; i++) {
        w[i] = (struct watcher){st, raw, 0};
        pthread_create(&th[i], NULL, watcher_main, &w[i]);
    }
    size_t total = 0;
    for (int i = 0; i < WATCHERS; i++) {
        pthread_join(th[i], NULL);
        total += w[i].got;
    }
    double dt = now_s() - t0;
    printf("watch fan-out (%s): %d watchers x %d events: %.0f events/s delivered in all\n",
           raw ? "raw text" : "parsed JSON", WATCHERS, FANOUT_EVENTS, total / dt);
    store_free(st);
}

int main(void)
{
    memory_per_pod();
    creates(1);
    creates(4);
    reads_and_updates();
    fanout(true);
    fanout(false);
    return 0;
}
