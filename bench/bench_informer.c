/*
 * Benchmark of the informer's two halves over both backends: the first
 * list of LIST_OBJECTS ConfigMaps (paged, 500 a page), and the watch: how
 * many events per second reach the cache when WATCH_WRITES updates, written
 * while the informer was stopped, wait for it in the store's history. Over
 * "kube" every event crosses the embedded API server's chunked stream on
 * loopback, the kube backend's reader thread and its queue; over "mem" the
 * informer reads the store directly, which bounds what HTTP costs.
 *
 * No issue sets a target for these: they are for reference. A write or an
 * informer call that fails, a cache short of the list, or a watch that
 * stalls (no progress for STALL_S) fails the benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "apiserver/apiserver.h"
#include "store/informer.h"
#include "store/kube.h"
#include "store/mem.h"

#include "bench_report.h"

#define LIST_OBJECTS 20000
#define WATCH_WRITES 50000
#define NAMES 1000
#define STALL_S 60

static void put(struct store *mem, const struct api_resource *cms, int name, int value)
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
    bench_check(rc, &e, "%s of %s", value == 0 ? "store_create" : "store_update", n);
}

/* Waits until inf has seen mem's last write; fails the benchmark when its
 * resourceVersion stops moving for STALL_S. */
static void wait_for(struct informer *inf, struct store *mem)
{
    char want[32], got[32] = "", last[32] = "";
    snprintf(want, sizeof want, "%llu", (unsigned long long)mem_store_revision(mem));
    double moved = bench_now_s();
    while (informer_resource_version(inf, got, sizeof got), strcmp(got, want) != 0) {
        if (strcmp(got, last) != 0) {
            snprintf(last, sizeof last, "%s", got);
            moved = bench_now_s();
        } else if (bench_now_s() - moved > STALL_S) {
            bench_fail("the informer stalled at resourceVersion %s of %s", got, want);
        }
        usleep(200);
    }
}

static void run(const char *label, struct store *mem, struct store *reader)
{
    const struct api_resource *cms = api_registry_find(store_registry(mem), "", "v1",
                                                       "configmaps");
    for (int i = 0; i < LIST_OBJECTS; i++)
        put(mem, cms, i, 0);
    struct informer_config c = {.store = reader, .res = cms, .ns = "b"};
    struct informer *inf;
    struct err e;
    bench_check(informer_new(&c, &inf, &e), &e, "informer_new");
    double t0 = bench_now_s();
    bench_check(informer_start(inf, &e), &e, "informer_start");
    bench_check(informer_wait_synced(inf, STALL_S * 1000), NULL, "informer_wait_synced");
    double t1 = bench_now_s();
    if (informer_count(inf) != LIST_OBJECTS)
        bench_fail("the first list cached %zu objects of %d", informer_count(inf), LIST_OBJECTS);
    char name[48];
    snprintf(name, sizeof name, "informer over %s: first list", label);
    bench_report1(name, LIST_OBJECTS / (t1 - t0), "objects/s", BENCH_REFERENCE, 0,
                  "%d objects, 500 a page, in %.3f s", LIST_OBJECTS, t1 - t0);
    /* The writes wait in the store's history while the informer is
     * stopped; started again, it reopens its watch from where it was and
     * takes them as fast as it can. */
    wait_for(inf, mem);
    informer_stop(inf);
    for (int i = 0; i < WATCH_WRITES; i++)
        put(mem, cms, i % NAMES, i + 1);
    t0 = bench_now_s();
    bench_check(informer_start(inf, &e), &e, "informer_start (again)");
    wait_for(inf, mem);
    t1 = bench_now_s();
    snprintf(name, sizeof name, "informer over %s: watch", label);
    bench_report1(name, WATCH_WRITES / (t1 - t0), "events/s", BENCH_REFERENCE, 0,
                  "%d events waiting in the store's history, in %.3f s", WATCH_WRITES, t1 - t0);
    informer_free(inf);
}

static void bench(bool over_http)
{
    struct mem_store_config mc = {.now_ns = clock_realtime_now, .seed = 1,
                                  .history = 2 * WATCH_WRITES};
    struct store *mem, *kube = NULL;
    struct apiserver *srv = NULL;
    struct err e;
    bench_check(mem_store_new(&mc, &mem, &e), &e, "mem_store_new");
    if (over_http) {
        struct apiserver_config ac = {.store = mem, .now_ns = clock_realtime_now, .version = "bench"};
        bench_check(apiserver_start(&ac, &srv, &e), &e, "apiserver_start");
        struct kube_config kc = {.server = (char *)apiserver_url(srv)};
        bench_check(kube_store_new(&kc, NULL, &kube, &e), &e, "kube_store_new");
    }
    run(over_http ? "kube" : "mem", mem, over_http ? kube : mem);
    store_free(kube);
    apiserver_stop(srv);
    store_free(mem);
}

int main(void)
{
    bench(false);
    bench(true);
    return 0;
}
