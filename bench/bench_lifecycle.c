/*
 * Pods through the whole slice lifecycle on the embedded cluster, over
 * loopback HTTP, with 0-latency emulated GPUs (issue 5's benchmark): gate ->
 * ungated latency and pods per second end to end (created gated -> slice
 * made -> ungated -> scheduled -> ran -> slice destroyed -> GPUSlice gone).
 *
 *   bench_lifecycle [PODS] [RATE [direct]]
 *
 * RATE 0 creates every pod at once (the most pods/s the cluster sustains);
 * RATE > 0 paces creation at RATE pods/s, below capacity, so the latency is
 * gpuslice's own overhead rather than queueing. "direct" has the
 * controller and agents use the store in process instead of HTTP. By
 * default: 1,000 pods at once and 1,000 at 100/s, over HTTP then direct.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/gpuslice.h"
#include "api/pod_slices.h"
#include "sim/embedded.h"
#include "sim/observer.h"
#include "util/log.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static json_t *gated_pod(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:{s:s, s:[{s:s}], s:[{s:s, s:s}]}}",
                     "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                     "annotations", GPUSLICE_ANNOTATION_SLICES,
                     "[{\"container\":\"main\",\"profile\":\"1g.10gb\",\"count\":1}]",
                     "gpuslice.dev/run-seconds", "0.05", "spec", "restartPolicy", "Never",
                     "schedulingGates", "name", GPUSLICE_GATE, "containers", "name", "main",
                     "image", "cuda");
}

static size_t count_slices(struct embedded *emb)
{
    struct store *st = embedded_store(emb);
    const struct api_resource *r =
        api_registry_find(store_registry(st), GPUSLICE_API_GROUP, "v1alpha1", "gpuslices");
    json_t *list = NULL;
    if (store_list(st, r, NULL, &(struct store_list_opts){0}, &list, NULL) < 0)
        return (size_t)-1;
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

/* Says which pods did not finish and what the cluster said about them. */
static void report_stuck(struct embedded *emb, struct observer *obs)
{
    struct observed_pod *pods = calloc(2048, sizeof *pods);
    if (!pods)
        return;
    size_t n = observer_pods(obs, pods, 2048), shown = 0;
    struct store *st = embedded_store(emb);
    const struct api_resource *evr = api_registry_find(store_registry(st), "", "v1", "events");
    for (size_t i = 0; i < n && i < 2048 && shown < 5; i++) {
        if (!strcmp(pods[i].phase, "Succeeded") || pods[i].deleted)
            continue;
        shown++;
        fprintf(stderr, "stuck: %s phase %s gated %d node %s\n", pods[i].name, pods[i].phase,
                pods[i].gated, pods[i].node);
        char sel[300];
        snprintf(sel, sizeof sel, "involvedObject.name=%s", pods[i].name);
        json_t *list = NULL;
        if (store_list(st, evr, "default", &(struct store_list_opts){.field_selector = sel},
                       &list, NULL) == 0) {
            size_t k;
            json_t *ev;
            json_array_foreach(json_object_get(list, "items"), k, ev)
                fprintf(stderr, "   %s: %s\n", json_string_value(json_object_get(ev, "reason")),
                        json_string_value(json_object_get(ev, "message")));
        }
        json_decref(list);
    }
    free(pods);
}

static int run(size_t pods, double rate, bool direct)
{
    /* 4 nodes x 16 H100: 448 slots of 1g.10gb. */
    struct embedded_config cfg = {.nodes = 4, .gpus_per_node = 16, .device_spec = "latency=none",
                                  .crds_dir = CRDS_DIR,
                                  .direct = direct};
    if (getenv("BENCH_LOG"))
        log_new(&(struct log_config){.out = stderr}, &cfg.log, NULL);
    cfg.models[0] = "H100-80GB";
    cfg.n_models = 1;
    struct embedded *emb = NULL;
    struct observer *obs = NULL;
    struct err e = {0};
    if (embedded_start(&cfg, &emb, &e) < 0 || observer_start(embedded_store(emb), &obs, &e) < 0) {
        fprintf(stderr, "bench_lifecycle: %s\n", e.msg);
        log_free(cfg.log);
        return 1;
    }
    struct store *st = embedded_client(emb);
    const struct api_resource *res = api_registry_find(store_registry(st), "", "v1", "pods");
    int64_t start = mono_ns();
    for (size_t i = 0; i < pods; i++) {
        if (rate > 0) {
            int64_t due = start + (int64_t)((double)i / rate * 1e9);
            int64_t wait = due - mono_ns();
            if (wait > 0)
                nanosleep(&(struct timespec){wait / 1000000000, wait % 1000000000}, NULL);
        }
        char name[32];
        snprintf(name, sizeof name, "p%05zu", i);
        json_t *pod = gated_pod(name);
        if (store_create(st, res, "default", pod, &(struct store_write_opts){0}, NULL, &e) < 0)
            fprintf(stderr, "create %s: %s\n", name, e.msg);
        json_decref(pod);
    }
    int64_t created = mono_ns();
    struct observer_summary s = {0};
    for (int waited = 0; waited < 60000; waited += 20) {
        observer_summarize(obs, &s);
        if (s.succeeded + s.failed >= pods && count_slices(emb) == 0)
            break;
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    int64_t done = mono_ns();
    if (s.succeeded + s.failed < pods || count_slices(emb) != 0)
        report_stuck(emb, obs);
    unsigned leaked = 0, missing = 0;
    int check = embedded_check_slices(emb, &leaked, &missing, &e);
    double secs = (double)(done - start) / 1e9;
    printf("lifecycle %s %s: %zu pods%s%.0f/s: %zu succeeded in %.2f s -> %.0f pods/s end to end "
           "(creating took %.2f s)\n", direct ? "direct" : "http", rate > 0 ? "paced" : "burst", pods,
           rate > 0 ? " at " : "", rate > 0 ? rate : 0.0, s.succeeded, secs,
           (double)s.succeeded / secs, (double)(created - start) / 1e9);
    printf("lifecycle %s %s: created->ungated p50 %.1f ms p99 %.1f ms; created->running p50 "
           "%.1f ms p99 %.1f ms; leaked %u, missing %u (%s)\n", direct ? "direct" : "http",
           rate > 0 ? "paced" : "burst",
           s.ungate_p50_ms, s.ungate_p99_ms, s.run_p50_ms, s.run_p99_ms, leaked, missing,
           check == 0 ? "consistent" : e.msg);
    observer_free(obs);
    embedded_stop(emb);
    log_free(cfg.log);
    return s.succeeded == pods && check == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    size_t pods = argc > 1 ? (size_t)atol(argv[1]) : 1000;
    if (argc > 2)
        return run(pods, atof(argv[2]), argc > 3 && strcmp(argv[3], "direct") == 0);
    int rc = 0;
    for (int direct = 0; direct < 2; direct++) {
        rc |= run(pods, 0, direct);
        rc |= run(pods, 100, direct);
    }
    return rc;
}
