/*
 * Pods through the whole slice lifecycle on the embedded cluster, over
 * loopback HTTP, with 0-latency emulated GPUs (issues 5 and 12): created ->
 * ungated latency and pods per second end to end (created through the
 * admission webhook -> slice made -> ungated -> scheduled -> ran -> slice
 * destroyed -> GPUSlice gone -> the pod's gpuslice finalizer removed, the
 * last write of its lifecycle).
 *
 * Pods are created as users create them: plain pods asking for
 * nvidia.com/mig-1g.10gb, POSTed to the API server in a namespace labelled
 * gpuslice.dev/enabled=true, so each passes the mutating webhook (over the
 * API server's kept TLS connections), which gates and rewrites it. How fast
 * those creates go is reported on a line of its own.
 *
 *   bench_lifecycle [PODS] [RATE [direct]]
 *
 * RATE 0 creates every pod at once (the most pods/s the cluster sustains);
 * RATE > 0 paces creation at RATE pods/s, below capacity, so the latency is
 * gpuslice's own overhead rather than queueing. "direct" has the
 * controller and agents use the store in process instead of HTTP. By
 * default: 1,000 pods at once and 1,000 at 100/s, over HTTP then direct.
 *
 * Beside the rate it prints the process's CPU time per pod (every thread:
 * API server, webhook, controller, agents, kubelets and this generator,
 * up to the last pod's finalizer removal: the lifecycle's last write),
 * and the API server's writes per pod by verb and resource (from its
 * gpuslice_apiserver_requests_total): what each pod costs in round trips,
 * store commits and watch events, a count the shared machine's load does
 * not move.
 *
 * One pod goes through first, unmeasured (warm_up): the cluster is ready
 * and its connections open when the measured pods come.
 *
 * Targets over HTTP (issue 12): >= 200 pods/s end to end in the burst,
 * created->ungated p99 <= 20 ms at 100 pods/s. A miss prints BELOW TARGET
 * (timings are not tests); a create that fails fails the benchmark.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "bench_report.h"
#include "sim/embedded.h"
#include "sim/observer.h"
#include "util/log.h"
#include "util/prom.h"

#define NAMESPACE "bench"
#define BURST_TARGET_PODS_S 200.0
#define PACED_TARGET_P99_MS 20.0

/* A pod as a user writes it: the webhook gates and rewrites it. */
static json_t *plain_pod(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s, s:{s:{s:i}}}]}}",
                     "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                     "annotations", "gpuslice.dev/run-seconds", "0.05", "spec", "restartPolicy",
                     "Never", "containers", "name", "main", "image", "cuda", "resources",
                     "limits", "nvidia.com/mig-1g.10gb", 1);
}

/* Requests counted by kind. */
#define TALLY_KINDS 48
struct kind_count {
    char kind[128];
    double n;
};
struct kind_tally {
    struct kind_count by_kind[TALLY_KINDS];
    size_t kinds;
};
/* The API server's writes (every verb but reads) by "VERB resource[/sub]",
 * summed over codes, and the requests it refused (code 400 or more, reads
 * too) by "VERB resource[/sub] code": a refusal is a retry somewhere. */
struct request_tally {
    struct kind_tally writes, refused;
};

/* The value of label name in an exposition line (ours hold no quotes). */
static void label_of(const char *line, const char *name, char *buf, size_t size)
{
    char key[32];
    snprintf(key, sizeof key, "%s=\"", name);
    const char *v = strstr(line, key);
    size_t n = v ? strcspn(v + strlen(key), "\"") : 0;
    snprintf(buf, size, "%.*s", (int)n, v ? v + strlen(key) : "");
}

static void tally_add(struct kind_tally *t, const char *kind, double n)
{
    size_t i = 0;
    while (i < t->kinds && strcmp(t->by_kind[i].kind, kind) != 0)
        i++;
    if (i == TALLY_KINDS)
        return;
    if (i == t->kinds)
        snprintf(t->by_kind[t->kinds++].kind, sizeof t->by_kind[0].kind, "%s", kind);
    t->by_kind[i].n += n;
}

/* The API server's request counts so far, from the registry's text. */
static void tally_requests(struct prom *reg, struct request_tally *t)
{
    static const char family[] = "gpuslice_apiserver_requests_total{";
    memset(t, 0, sizeof *t);
    char *text = NULL;
    size_t len;
    bench_check(prom_render(reg, &text, &len, NULL), NULL, "prom_render");
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, family, sizeof family - 1) != 0)
            continue;
        /* kind holds "verb res/sub", and with a code after it that fits a kind_count */
        char verb[16], res[64], sub[32], code[8], kind[112];
        label_of(line, "verb", verb, sizeof verb);
        label_of(line, "resource", res, sizeof res);
        label_of(line, "subresource", sub, sizeof sub);
        label_of(line, "code", code, sizeof code);
        double n = strtod(strrchr(line, ' ') + 1, NULL);
        snprintf(kind, sizeof kind, "%s %s%s%s", verb, res, *sub ? "/" : "", sub);
        if (atoi(code) >= 400) {
            char refusal[sizeof kind + sizeof code];
            snprintf(refusal, sizeof refusal, "%s %s", kind, code);
            tally_add(&t->refused, refusal, n);
        }
        if (strcmp(verb, "GET") != 0 && strcmp(verb, "LIST") != 0 && strcmp(verb, "WATCH") != 0)
            tally_add(&t->writes, kind, n);
    }
    free(text);
}

static int by_count_down(const void *a, const void *b)
{
    double x = ((const struct kind_count *)a)->n, y = ((const struct kind_count *)b)->n;
    return (x < y) - (x > y);
}

/* after less before, kind by kind, most first; the sum of them. */
static double tally_since(const struct kind_tally *before, struct kind_tally *after)
{
    double sum = 0;
    for (size_t i = 0; i < after->kinds; i++) {
        for (size_t j = 0; j < before->kinds; j++)
            if (!strcmp(before->by_kind[j].kind, after->by_kind[i].kind))
                after->by_kind[i].n -= before->by_kind[j].n;
        sum += after->by_kind[i].n;
    }
    qsort(after->by_kind, after->kinds, sizeof after->by_kind[0], by_count_down);
    return sum;
}

/* Appends t's kinds per pod to buf (what prints as 0.00 is left out). */
static size_t describe_per_pod(const struct kind_tally *t, size_t pods, char *buf, size_t size,
                               size_t used)
{
    for (size_t i = 0; i < t->kinds && used < size; i++) {
        double per_pod = t->by_kind[i].n / (double)pods;
        if (per_pod >= 0.005)
            used += (size_t)snprintf(buf + used, size - used, "%s %.2f, ", t->by_kind[i].kind,
                                     per_pod);
    }
    return used;
}

/* Reports the writes per pod between before and after, most first, and
 * the refusals per pod, most first. */
static void report_requests(const char *name, const struct request_tally *before,
                            struct request_tally *after, size_t pods)
{
    double writes = tally_since(&before->writes, &after->writes);
    double refused = tally_since(&before->refused, &after->refused);
    char detail[1024] = "", refusals[512] = "";
    size_t used = describe_per_pod(&after->writes, pods, detail, sizeof detail, 0);
    size_t said = describe_per_pod(&after->refused, pods, refusals, sizeof refusals, 0);
    if (said >= 2 && said < sizeof refusals)
        refusals[said - 2] = '\0'; /* the last ", " */
    char line[128];
    snprintf(line, sizeof line, "%s: API server", name);
    bench_report1(line, writes / (double)pods, "writes/pod", BENCH_REFERENCE, 0,
                  "%srefused %.2f/pod%s%s%s", used < sizeof detail ? detail : "",
                  refused / (double)pods, said ? " (" : "",
                  said < sizeof refusals ? refusals : "", said ? ")" : "");
}

/* The namespace the pods go to, opted in to gpuslice's webhook. */
static int opted_in_namespace(struct store *st, struct err *e)
{
    const struct api_resource *res = api_registry_find(store_registry(st), "", "v1",
                                                       "namespaces");
    json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind",
                           "Namespace", "metadata", "name", NAMESPACE, "labels",
                           GPUSLICE_NAMESPACE_OPT_IN, "true");
    int rc = store_create(st, res, NULL, ns, &(struct store_write_opts){0}, NULL, e);
    json_decref(ns);
    return rc;
}

/* Whether any GPUSlice is left (or the list failed). A page of one: this
 * runs every few ms while the last slices go, and copying every slice
 * left was 1% of a burst's CPU. */
static bool slices_left(struct embedded *emb)
{
    struct store *st = embedded_store(emb);
    const struct api_resource *r =
        api_registry_find(store_registry(st), GPUSLICE_API_GROUP, "v1alpha1", "gpuslices");
    json_t *list = NULL;
    if (store_list(st, r, NULL, &(struct store_list_opts){.limit = 1}, &list, NULL) < 0)
        return true;
    bool left = json_array_size(json_object_get(list, "items")) > 0;
    json_decref(list);
    return left;
}

/* The name of the i-th measured pod. */
static void pod_name(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "p%05zu", i);
}

/* Whether a measured pod from *next on still holds gpuslice's finalizer,
 * which the controller removes once the pod's last slice is gone: the last
 * write of a pod's lifecycle, after its GPUSlice went. *next moves past the
 * pods found without it (or gone), so each is read about once in all. */
static bool finalizers_left(struct store *st, size_t pods, size_t *next)
{
    const struct api_resource *res = api_registry_find(store_registry(st), "", "v1", "pods");
    for (; *next < pods; (*next)++) {
        char name[32];
        pod_name(*next, name, sizeof name);
        json_t *pod = NULL;
        if (store_get(st, res, NAMESPACE, name, &pod, NULL) < 0)
            continue;
        bool held = meta_has_finalizer(pod, GPUSLICE_FINALIZER);
        json_decref(pod);
        if (held)
            return true;
    }
    return false;
}

/* The phase of pod name in the store; "" while it has none, NULL once it
 * is gone. */
static const char *phase_of(struct store *st, const struct api_resource *res, const char *name,
                            char *buf, size_t size)
{
    json_t *pod = NULL;
    if (store_get(st, res, NAMESPACE, name, &pod, NULL) < 0)
        return NULL;
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    snprintf(buf, size, "%s", phase ? phase : "");
    json_decref(pod);
    return buf;
}

/* Takes one pod through the whole lifecycle and waits until it and its
 * slice are gone, before anything is measured: pods created while the
 * agents have not reported their GPUs yet find a cluster with no GPUs and
 * wait for the report (NoPlacement), which measures the cluster's start,
 * not a pod's way through it; the first pod also opens the connections
 * the rest reuse. 0, or -1 when it did not make it in 30 s. */
static int warm_up(struct embedded *emb, struct store *client)
{
    struct store *st = embedded_store(emb);
    const struct api_resource *res = api_registry_find(store_registry(st), "", "v1", "pods");
    json_t *pod = plain_pod("warm-up");
    int rc = store_create(client, res, NAMESPACE, pod, &(struct store_write_opts){0}, NULL, NULL);
    json_decref(pod);
    char phase[32];
    const char *p = "";
    for (int waited = 0; rc == 0 && waited < 30000; waited += 5) {
        p = phase_of(st, res, "warm-up", phase, sizeof phase);
        if (!p || !strcmp(p, "Succeeded") || !strcmp(p, "Failed"))
            break;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    if (rc < 0 || !p || strcmp(p, "Succeeded") != 0)
        return -1;
    rc = store_delete(client, res, NAMESPACE, "warm-up", &(struct store_delete_opts){0}, NULL,
                      NULL);
    for (int waited = 0; rc == 0 && waited < 30000; waited += 5) {
        if (!phase_of(st, res, "warm-up", phase, sizeof phase) && !slices_left(emb))
            return 0;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    return -1;
}

/* Creates that many plain pods through the API (and so the webhook), paced at
 * rate per second (0: at once); -1 when a create fails. */
static int create_pods(struct store *st, size_t pods, double rate, int64_t start)
{
    const struct api_resource *res = api_registry_find(store_registry(st), "", "v1", "pods");
    for (size_t i = 0; i < pods; i++) {
        if (rate > 0) {
            int64_t due = start + (int64_t)((double)i / rate * 1e9);
            int64_t wait = due - clock_monotonic_ns();
            if (wait > 0)
                nanosleep(&(struct timespec){wait / 1000000000, wait % 1000000000}, NULL);
        }
        char name[32];
        struct err e;
        pod_name(i, name, sizeof name);
        json_t *pod = plain_pod(name);
        json_t *out = NULL;
        int rc = store_create(st, res, NAMESPACE, pod, &(struct store_write_opts){0}, &out, &e);
        bool gated = rc == 0 && pod_gated(out, GPUSLICE_GATE);
        json_decref(pod);
        json_decref(out);
        if (rc < 0 || !gated) {
            fprintf(stderr, "bench_lifecycle: create %s: %s\n", name,
                    rc < 0 ? e.msg : "the webhook did not gate it");
            return -1;
        }
    }
    return 0;
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
    struct prom *metrics = prom_new();
    cfg.metrics = metrics;
    cfg.models[0] = "H100-80GB";
    cfg.n_models = 1;
    struct embedded *emb = NULL;
    struct observer *obs = NULL;
    struct err e = {0};
    if (embedded_start(&cfg, &emb, &e) < 0) {
        fprintf(stderr, "bench_lifecycle: %s\n", e.msg);
        log_free(cfg.log);
        prom_free(metrics);
        return 1;
    }
    struct store *st = embedded_client(emb);
    int ready = opted_in_namespace(st, &e);
    if (ready == 0 && warm_up(emb, st) < 0)
        ready = err_set(&e, -ETIMEDOUT, "the warm-up pod did not go through in 30 s");
    if (ready == 0)
        ready = observer_start(embedded_store(emb), &obs, &e);
    if (ready < 0) {
        fprintf(stderr, "bench_lifecycle: %s\n", e.msg);
        observer_free(obs);
        embedded_stop(emb);
        log_free(cfg.log);
        prom_free(metrics);
        return 1;
    }
    struct request_tally before, after;
    tally_requests(metrics, &before);
    int64_t start = clock_monotonic_ns();
    double cpu_start = bench_process_cpu_s();
    int created_ok = create_pods(st, pods, rate, start);
    int64_t created = clock_monotonic_ns();
    struct observer_summary s = {0};
    size_t released = 0; /* the pods before it have lost gpuslice's finalizer */
    /* The CPU time counts up to the lifecycle's last write: every pod ended,
     * every GPUSlice gone and every pod's finalizer removed after it. */
    for (int waited = 0; created_ok == 0 && waited < 60000; waited += 20) {
        observer_summarize(obs, &s);
        if (s.succeeded + s.failed >= pods && !slices_left(emb) &&
            !finalizers_left(embedded_store(emb), pods, &released))
            break;
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    int64_t done = clock_monotonic_ns();
    double cpu_ms_per_pod = (bench_process_cpu_s() - cpu_start) * 1e3 / (double)pods;
    tally_requests(metrics, &after);
    if (s.succeeded + s.failed < pods || slices_left(emb)) {
        report_stuck(emb, obs);
    } else if (released < pods) {
        char held[32];
        pod_name(released, held, sizeof held);
        fprintf(stderr, "stuck: %s keeps gpuslice's finalizer\n", held);
    }
    unsigned leaked = 0, missing = 0;
    int check = embedded_check_slices(emb, &leaked, &missing, &e);
    double secs = (double)(done - start) / 1e9, create_secs = (double)(created - start) / 1e9;
    double pods_s = (double)s.succeeded / secs;
    const char *how = direct ? "direct" : "http", *mode = rate > 0 ? "paced" : "burst";
    /* The targets are for the path users take: over HTTP. */
    enum bench_goal burst_goal = !direct && rate <= 0 ? BENCH_AT_LEAST : BENCH_REFERENCE;
    enum bench_goal paced_goal = !direct && rate > 0 ? BENCH_AT_MOST : BENCH_REFERENCE;
    char name[64], arrivals[40] = "";
    snprintf(name, sizeof name, "lifecycle %s %s", how, mode);
    if (rate > 0)
        snprintf(arrivals, sizeof arrivals, " at %.0f/s", rate);
    /* The whole cluster runs in this process: on a shared machine its CPU
     * time per pod says more than the wall clock does. */
    const struct bench_figure rate_and_cost[] = {
        {NULL, pods_s, "pods/s end to end", burst_goal, BURST_TARGET_PODS_S},
        {"CPU", cpu_ms_per_pod, "ms/pod", BENCH_REFERENCE, 0},
    };
    bench_report(name, rate_and_cost, 2, "%zu pods%s, %zu succeeded in %.2f s", pods, arrivals,
                 s.succeeded, secs);
    char creates[128];
    snprintf(creates, sizeof creates, "%s: creates through the webhook", name);
    bench_report1(creates, (double)pods / create_secs, "creates/s", BENCH_REFERENCE, 0,
                  "%zu in %.2f s%s", pods, create_secs, rate > 0 ? ", paced" : "");
    const struct bench_figure latency[] = {
        {"created->ungated p99", s.ungate_p99_ms, "ms", paced_goal, PACED_TARGET_P99_MS},
    };
    char lat_name[128];
    snprintf(lat_name, sizeof lat_name, "%s: latency", name);
    bench_report(lat_name, latency, 1,
                 "created->ungated p50 %.1f ms; created->running p50 %.1f ms p99 %.1f ms; "
                 "leaked %u, missing %u (%s)", s.ungate_p50_ms, s.run_p50_ms, s.run_p99_ms,
                 leaked, missing, check == 0 ? "consistent" : e.msg);
    report_requests(name, &before, &after, pods);
    observer_free(obs);
    embedded_stop(emb);
    log_free(cfg.log);
    prom_free(metrics);
    return created_ok == 0 && s.succeeded == pods && released == pods && check == 0 ? 0 : 1;
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
