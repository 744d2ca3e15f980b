/*
 * The embedded cluster's parts in virtual time, at scale: how much real
 * time the scheduler, the kubelets and the workload controllers (with the
 * mem store and the informers under them) need to carry pods through their
 * lives, when the clock costs nothing.
 *
 *   - pods: N single pods created at once on 4 nodes, each running 1 s;
 *   - job: a Job of N completions, 50 at a time, each pod running 1 s;
 *   - deployment: a Deployment scaled from 0 to N replicas, then deleted
 *     (its ReplicaSet and pods collected and stopped).
 *
 * Prints bench_now_s time and pods per second of bench_now_s time for each (N = 1000 by
 * default, or the first argument). No issue sets a target: the figures are
 * for reference. A call that fails, or pods that did not end as the
 * workload says (N Succeeded, N ready then none), fails the benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "cluster/components.h"
#include "store/mem.h"

#include "bench_report.h"

#define SEC 1000000000LL

struct bench {
    int64_t now;
    struct store *st;
    struct cluster_parts *parts;
    const struct api_resource *pods, *jobs, *deploys;
};

static int64_t virtual_now(void *ctx)
{
    return ((struct bench *)ctx)->now;
}

static const struct kubelet_node nodes[] = {
    {.name = "n1", .cpu = "512", .memory = "2Ti", .pods = "5000"},
    {.name = "n2", .cpu = "512", .memory = "2Ti", .pods = "5000"},
    {.name = "n3", .cpu = "512", .memory = "2Ti", .pods = "5000"},
    {.name = "n4", .cpu = "512", .memory = "2Ti", .pods = "5000"},
};

static void setup(struct bench *b)
{
    struct err e = {0};
    memset(b, 0, sizeof *b);
    b->now = 1790000000LL * SEC;
    struct mem_store_config mc = {.now_ns = virtual_now, .clock_ctx = b, .seed = 1,
                                  .history = 200000};
    bench_check(mem_store_new(&mc, &b->st, &e), &e, "mem_store_new");
    struct api_registry *reg = store_registry(b->st);
    b->pods = api_registry_find(reg, "", "v1", "pods");
    b->jobs = api_registry_find(reg, "batch", "v1", "jobs");
    b->deploys = api_registry_find(reg, "apps", "v1", "deployments");
    struct cluster_parts_config pc = {.store = b->st, .now_ns = virtual_now, .clock_ctx = b,
                                      .nodes = nodes, .node_count = 4, .collect = true};
    bench_check(cluster_parts_new(&pc, &b->parts, &e), &e, "cluster_parts_new");
    bench_check(cluster_parts_settle(b->parts, 0, &e), &e, "cluster_parts_settle");
}

static void teardown(struct bench *b)
{
    cluster_parts_free(b->parts);
    store_free(b->st);
}

/* Settles, and moves the clock through every due time until nothing is. */
static void run_out(struct bench *b)
{
    struct err e = {0};
    for (;;) {
        bench_check(cluster_parts_settle(b->parts, 0, &e), &e, "cluster_parts_settle");
        int64_t due = cluster_parts_next_due(b->parts);
        if (due == INT64_MAX)
            return;
        if (due > b->now)
            b->now = due;
    }
}

static void create(struct bench *b, const struct api_resource *res, const char *text)
{
    struct err e = {0};
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    if (!obj)
        bench_fail("bad JSON: %s", jerr.text);
    bench_check(store_create(b->st, res, NULL, obj, NULL, NULL, &e), &e, "store_create of a %s",
                res->kind);
    json_decref(obj);
}

static void report(const char *what, int n, double seconds)
{
    char name[48];
    snprintf(name, sizeof name, "cluster %s", what);
    bench_report1(name, n / seconds, "pods/s of bench_now_s time", BENCH_REFERENCE, 0,
                  "%d pods in %.3f s, virtual time", n, seconds);
}

/* Pods in namespace default, and how many of them are in phase. */
static size_t count_pods(struct bench *b, const char *phase, size_t *in_phase)
{
    struct err e = {0};
    json_t *list = NULL;
    bench_check(store_list(b->st, b->pods, "default", &(struct store_list_opts){0}, &list, &e),
                &e, "store_list of pods");
    json_t *items = json_object_get(list, "items"), *pod;
    size_t i, n = json_array_size(items);
    *in_phase = 0;
    json_array_foreach(items, i, pod) {
        const char *p = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
        *in_phase += p && strcmp(p, phase) == 0;
    }
    json_decref(list);
    return n;
}

/* status.field of the named object, -1 when it has none. */
static json_int_t status_of(struct bench *b, const struct api_resource *res, const char *name,
                            const char *field)
{
    struct err e = {0};
    json_t *obj = NULL;
    bench_check(store_get(b->st, res, "default", name, &obj, &e), &e, "store_get of %s", name);
    json_t *v = json_object_get(json_object_get(obj, "status"), field);
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(obj);
    return n;
}

static void bench_pods(int n)
{
    struct bench b;
    setup(&b);
    double t0 = bench_now_s();
    for (int i = 0; i < n; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%d\","
                 "\"namespace\":\"default\",\"annotations\":{\"gpuslice.dev/run-seconds\":\"1\"}},"
                 "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
                 "\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}}",
                 i);
        create(&b, b.pods, text);
    }
    run_out(&b);
    double took = bench_now_s() - t0;
    size_t succeeded;
    if (count_pods(&b, "Succeeded", &succeeded) != (size_t)n || succeeded != (size_t)n)
        bench_fail("pods: %zu of %d Succeeded", succeeded, n);
    report("pods", n, took);
    teardown(&b);
}

static void bench_job(int n)
{
    struct bench b;
    setup(&b);
    char text[768];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\","
             "\"namespace\":\"default\"},\"spec\":{\"completions\":%d,\"parallelism\":50,"
             "\"template\":{\"metadata\":{\"annotations\":{\"gpuslice.dev/run-seconds\":\"1\"}},"
             "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
             "\"image\":\"i\"}]}}}}",
             n);
    double t0 = bench_now_s();
    create(&b, b.jobs, text);
    run_out(&b);
    double took = bench_now_s() - t0;
    json_int_t succeeded = status_of(&b, b.jobs, "j", "succeeded");
    if (succeeded != n)
        bench_fail("job: %lld of %d completions succeeded", (long long)succeeded, n);
    report("job", n, took);
    teardown(&b);
}

static void bench_deployment(int n)
{
    struct bench b;
    setup(&b);
    char text[768];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\","
             "\"namespace\":\"default\"},\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":"
             "{\"app\":\"d\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},\"spec\":"
             "{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\","
             "\"image\":\"i\"}]}}}}",
             n);
    double t0 = bench_now_s();
    create(&b, b.deploys, text);
    run_out(&b);
    double up = bench_now_s() - t0;
    json_int_t ready = status_of(&b, b.deploys, "d", "readyReplicas");
    if (ready != n)
        bench_fail("deployment: %lld of %d replicas ready", (long long)ready, n);
    struct err e = {0};
    double t1 = bench_now_s();
    bench_check(store_delete(b.st, b.deploys, "default", "d", NULL, NULL, &e), &e,
                "store_delete of the deployment");
    run_out(&b);
    double took = up + (bench_now_s() - t1);
    size_t running, left = count_pods(&b, "Running", &running);
    if (left != 0)
        bench_fail("deployment: %zu pods left after its delete", left);
    report("deployment", n, took);
    teardown(&b);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_cluster [PODS]\n");
        return 2;
    }
    bench_pods(n);
    bench_job(n);
    bench_deployment(n);
    return 0;
}
