/*
 * Benchmark of the informer's two halves over both backends: the first
 * list of LIST_OBJECTS ConfigMaps (paged, 500 a page), and the watch: how
 * many events per second reach the cache when WATCH_WRITES updates, written
 * while the informer was stopped, wait for it in the store's history. Over
 * "kube" every event crosses the embedded API server's chunked stream on
 * loopback, the kube backend's reader thread and its queue; over "mem" the
 * informer reads the store directly, which bounds what HTTP costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/apiserver.h"
#include "store/informer.h"
#include "store/kube.h"
#include "store/mem.h"

#define LIST_OBJECTS 20000
#define WATCH_WRITES 50000
#define NAMES 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t wall_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int put(struct store *mem, const struct api_resource *cms, int name, int value)
{
    char n[16], v[16];
    snprintf(n, sizeof n, "cm-%d", name);
    snprintf(v, sizeof v, "%d", value);
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                           "ConfigMap", "metadata", "name", n, "namespace", "b", "data", "v", v);
    struct err e;
    int rc = value == 0 ? store_create(mem, cms, "b", cm, NULL, NULL, &e)
                        : store_update(mem, cms, "b", cm, NULL, NULL, &e);
    json_decref(cm);
    if (rc)
        fprintf(stderr, "write: %s\n", e.msg);
    return rc;
}

/* Waits until inf has seen mem's last write. */
static void wait_for(struct informer *inf, struct store *mem)
{
    char want[32], got[32] = "";
    snprintf(want, sizeof want, "%llu", (unsigned long long)mem_store_revision(mem));
    while (informer_resource_version(inf, got, sizeof got), strcmp(got, want) != 0)
        usleep(200);
}

static int run(const char *label, struct store *mem, struct store *reader)
{
    const struct api_resource *cms = api_registry_find(store_registry(mem), "", "v1",
                                                       "configmaps");
    for (int i = 0; i < LIST_OBJECTS; i++)
        if (put(mem, cms, i, 0))
            return 1;
    struct informer_config c = {.store = reader, .res = cms, .ns = "b"};
    struct informer *inf;
    struct err e;
    if (informer_new(&c, &inf, &e) != 0) {
        fprintf(stderr, "informer: %s\n", e.msg);
        return 1;
    }
    double t0 = now_s();
    informer_start(inf, NULL);
    informer_wait_synced(inf, -1);
    double t1 = now_s();
    printf("%-5s first list: %d objects in %.3f s = %.0f objects/s\n", label, LIST_OBJECTS,
           t1 - t0, LIST_OBJECTS / (t1 - t0));
    /* The writes wait in the store's history while the informer is
     * stopped; started again, it reopens its watch from where it was and
     * takes them as fast as it can. */
    wait_for(inf, mem);
    informer_stop(inf);
    for (int i = 0; i < WATCH_WRITES; i++)
        if (put(mem, cms, i % NAMES, i + 1))
            return 1;
    t0 = now_s();
    informer_start(inf, NULL);
    wait_for(inf, mem);
    t1 = now_s();
    printf("%-5s watch: %d events in %.3f s = %.0f events/s\n", label, WATCH_WRITES, t1 - t0,
           WATCH_WRITES / (t1 - t0));
    informer_free(inf);
    return 0;
}

static int bench(bool over_http)
{
    struct mem_store_config mc = {.now_ns = wall_ns, .seed = 1,
                                  .history = 2 * WATCH_WRITES};
    struct store *mem, *kube = NULL;
    struct apiserver *srv = NULL;
    struct err e;
    if (mem_store_new(&mc, &mem, &e) != 0)
        return 1;
    int rc = 0;
    if (over_http) {
        struct apiserver_config ac = {.store = mem, .now_ns = wall_ns, .version = "bench"};
        rc = apiserver_start(&ac, &srv, &e);
        struct kube_config kc = {.server = rc ? NULL : (char *)apiserver_url(srv)};
        if (rc == 0)
            rc = kube_store_new(&kc, NULL, &kube, &e);
        if (rc)
            fprintf(stderr, "set-up: %s\n", e.msg);
    }
    if (rc == 0)
        rc = run(over_http ? "kube" : "mem", mem, over_http ? kube : mem);
    store_free(kube);
    apiserver_stop(srv);
    store_free(mem);
    return rc;
}

int main(void)
{
    return bench(false) || bench(true);
}
