/*
 * gpuslice demo: the embedded cluster with emulated GPUs, the sample
 * workloads applied to it as a user would, and their progress shown live
 * until they finish; then a summary, and a check that nothing leaked.
 *
 * On a terminal the view is redrawn in place; piped, only what changed is
 * printed, one line per change, without escape codes. Past a screenful of
 * pods (VIEW_MAX_LINES) a line per pod helps no one: the view shows how
 * many pods are in each phase and a progress bar instead, on a terminal
 * and piped alike (piped, a line per second). The summary covers every pod.
 *
 * With -f the cluster comes from a cluster file, the format of `gpuslice
 * place` (sim/clusterfile.h), handed to the embedded cluster as core's
 * placement model: the slices the file lists are on the GPUs from the
 * start, as slices gpuslice did not make.
 *
 * The CRDs and the manifests are the ones built into the binary unless
 * --crds or --samples name a folder. SIGINT and SIGTERM are blocked in
 * every thread (the cluster's threads inherit the mask) and taken where the
 * demo waits anyway, between two ticks or while --keep holds the cluster
 * up: no handler, no global flag, and --keep's kubeconfig is removed on
 * the way out.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/gpuslice.h"
#include "api/meta.h"
#include "apiserver/kubeconfig.h"
#include "sim/clusterfile.h"
#include "cmd/commands.h"
#include "cmd/limits.h"
#include "cmd/metrics.h"
#include "cmd/signals.h"
#include "core/placement.h"
#include "device/emulated.h"
#include "sim/builtin.h"
#include "sim/embedded.h"
#include "sim/observer.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/httpd.h"
#include "util/vec.h"

#define TICK_NS (250 * NS_PER_MS)
#define VIEW_MAX_LINES 40 /* pods shown one a line; past it, counts */
#define BAR_WIDTH 40

struct demo_args {
    struct embedded_config cluster;
    const char *cluster_file; /* -f, or NULL */
    const char *samples; /* a folder, or NULL: the built-in samples */
    const char *trace;
    const char *kubeconfig; /* where --keep writes it */
    char dashboard_host[HTTPD_HOST_MAX]; /* --dashboard-address's */
    const char *metrics_address; /* the controller's /metrics (docs/metrics.md) */
    bool keep;
    int timeout_s;
    int run_s; /* how long the long-running workloads run before teardown */
};

static int parse_args(int argc, char **argv, struct demo_args *a)
{
    static const struct option opts[] = {
        {"nodes", required_argument, NULL, 'n'}, {"gpus", required_argument, NULL, 'g'},
        {"keep", no_argument, NULL, 'k'},        {"trace", required_argument, NULL, 't'},
        {"samples", required_argument, NULL, 's'}, {"policy", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 'T'}, {"device", required_argument, NULL, 'd'},
        {"crds", required_argument, NULL, 'c'},  {"kubeconfig", required_argument, NULL, 'K'},
        {"file", required_argument, NULL, 'f'},
        {"warm-max-percent", required_argument, NULL, 'w'},
        {"dashboard-address", required_argument, NULL, 'D'},
        {"metrics-address", required_argument, NULL, 'M'}, {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->kubeconfig = "gpuslice-demo.kubeconfig";
    a->metrics_address = "127.0.0.1:0";
    a->timeout_s = 55;
    a->run_s = 8;
    a->cluster.policy = PLACEMENT_POLICY_DEFAULT;
    a->cluster.device_spec = "create-ms=300,destroy-ms=150";
    a->cluster.dashboard = true;
    optind = 1;
    int c;
    struct err e = {0};
    while ((c = getopt_long(argc, argv, "n:g:kt:s:p:T:d:f:", opts, NULL)) != -1) {
        switch (c) {
        case 'n': a->cluster.nodes = (size_t)atoi(optarg); break;
        case 'g': a->cluster.gpus_per_node = (size_t)atoi(optarg); break;
        case 'k': a->keep = true; break;
        case 't': a->trace = optarg; break;
        case 's': a->samples = optarg; break;
        case 'T': a->timeout_s = atoi(optarg); break;
        case 'd': a->cluster.device_spec = optarg; break;
        case 'c': a->cluster.crds_dir = optarg; break;
        case 'K': a->kubeconfig = optarg; break;
        case 'M': a->metrics_address = optarg; break;
        case 'f': a->cluster_file = optarg; break;
        case 'D':
            if (httpd_parse_address(optarg, a->dashboard_host, &a->cluster.dashboard_port,
                                    &e) < 0) {
                fprintf(stderr, "gpuslice demo: --dashboard-address %s\n", e.msg);
                return 2;
            }
            a->cluster.dashboard_address = a->dashboard_host;
            break;
        case 'w':
            if (cmd_warm_percent(optarg, &a->cluster.warm_max_percent, &e) < 0) {
                fprintf(stderr, "gpuslice demo: %s\n", e.msg);
                return 2;
            }
            break;
        case 'p':
            if (placement_policy_parse(optarg, &a->cluster.policy, &e) < 0) {
                fprintf(stderr, "gpuslice demo: %s\n", e.msg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "see 'gpuslice help demo'\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gpuslice demo: unexpected argument: %s\nsee 'gpuslice help demo'\n",
                argv[optind]);
        return 2;
    }
    if (a->cluster_file && (a->cluster.nodes || a->cluster.gpus_per_node)) {
        fprintf(stderr, "gpuslice demo: -f takes the nodes and GPUs from the file: no --nodes "
                        "or --gpus with it\n");
        return 2;
    }
    if (a->cluster.nodes > EMBEDDED_MAX_NODES || a->cluster.gpus_per_node > 8 ||
        a->timeout_s <= 0) {
        fprintf(stderr, "gpuslice demo: --nodes 1..%d, --gpus 1..8, --timeout above 0\n",
                EMBEDDED_MAX_NODES);
        return 2;
    }
    return 0;
}

/* The manifests to apply: the trace file, or the samples (built in or
 * read from the --samples folder, in name order). */
static int apply_workloads(struct embedded *emb, const struct demo_args *a,
                           const struct fileset *samples, size_t *objects)
{
    struct err e = {0};
    *objects = 0;
    int rc = a->trace ? embedded_apply_file(emb, a->trace, objects, &e)
                      : embedded_apply_files(emb, samples, objects, &e);
    if (rc < 0) {
        fprintf(stderr, "gpuslice demo: %s\n", e.msg);
        return 1;
    }
    return 0;
}

/* The GPUSlices of a pod, as "1g.10gb@gpu-node-1/0:6 Ungated" parts. */
static void slices_of(json_t *slices, const struct observed_pod *p, char *buf, size_t size)
{
    size_t used = 0, i;
    json_t *obj;
    buf[0] = '\0';
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) < 0 || strcmp(v.ns, p->ns) != 0 ||
            strcmp(v.spec.pod_name, p->name) != 0 || used >= size)
            continue;
        used += (size_t)snprintf(buf + used, size - used, "%s%s@%s/%u:%u %s", used ? ", " : "",
                                 v.spec.profile, v.spec.node, v.spec.gpu_index, v.spec.start,
                                 v.status.phase);
    }
}

static json_t *list_slices(struct embedded *emb)
{
    struct store *st = embedded_store(emb);
    const struct api_resource *res =
        api_registry_find(store_registry(st), GPUSLICE_API_GROUP, "v1alpha1", "gpuslices");
    json_t *list = NULL;
    if (!res || store_list(st, res, NULL, &(struct store_list_opts){0}, &list, NULL) < 0)
        return json_array();
    json_t *items = json_incref(json_object_get(list, "items"));
    json_decref(list);
    return items;
}

/* The warm slices of one GPU, marked at their start (PLACEMENT_MARK_WARM). */
static void warm_marks(json_t *slices, const char *node, unsigned gpu,
                       char marks[MIG_MAX_MEMORY_SLICES])
{
    memset(marks, 0, MIG_MAX_MEMORY_SLICES);
    size_t i;
    json_t *obj;
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) == 0 && strcmp(v.status.phase, "Warm") == 0 &&
            strcmp(v.spec.node, node) == 0 && v.spec.gpu_index == gpu &&
            v.spec.start < MIG_MAX_MEMORY_SLICES)
            marks[v.spec.start] = PLACEMENT_MARK_WARM;
    }
}

/* Every GPU's picture, warm slices marked ("~"). */
static void draw_gpus(struct embedded *emb, FILE *out)
{
    json_t *slices = list_slices(emb);
    bool any_warm = false;
    for (size_t n = 0; n < embedded_node_count(emb); n++) {
        struct device *d = embedded_device(emb, n);
        for (unsigned g = 0; g < 16; g++) {
            struct gpu_occupancy occ;
            if (emulated_occupancy(d, g, &occ, NULL) < 0)
                break;
            char pic[PLACEMENT_PICTURE_MAX], marks[MIG_MAX_MEMORY_SLICES];
            warm_marks(slices, embedded_node_name(emb, n), g, marks);
            for (size_t m = 0; m < MIG_MAX_MEMORY_SLICES; m++)
                any_warm |= marks[m] != 0;
            placement_picture_marked(&occ, marks, pic, sizeof pic);
            fprintf(out, "  %-12s GPU %u %-10s %s\n", embedded_node_name(emb, n), g,
                    occ.model ? occ.model->name : "?", pic);
        }
    }
    if (any_warm)
        fprintf(out, "  %c warm: kept for its namespace's next pod\n", PLACEMENT_MARK_WARM);
    json_decref(slices);
}

static size_t gpu_count(struct embedded *emb)
{
    size_t n = 0;
    for (size_t i = 0; i < embedded_node_count(emb); i++) {
        struct gpu_occupancy occ;
        for (unsigned g = 0; emulated_occupancy(embedded_device(emb, i), g, &occ, NULL) == 0; g++)
            n++;
    }
    return n;
}

/* What the view knows between ticks: every pod now and at the last tick,
 * in the order first seen (util/vec.h vectors). */
struct view {
    bool tty;
    struct observed_pod *now, *before;
    size_t n_now, n_before, cap_now, cap_before;
    int64_t counts_printed_ns; /* piped: when counts were last printed */
    const char *metrics_url;   /* the controller's /metrics */
};

static const char *state_of(const struct observed_pod *p)
{
    return p->deleted ? "deleted" : p->gated ? "gated" : p->phase;
}

static bool has_ended(const struct observed_pod *p)
{
    return p->deleted || !strcmp(p->phase, "Succeeded") || !strcmp(p->phase, "Failed");
}

static bool all_ended(const struct view *v)
{
    for (size_t i = 0; i < v->n_now; i++)
        if (!has_ended(&v->now[i]))
            return false;
    return true;
}

/* How many pods are in each state: the view past a screenful. */
static const char *const states[] = {"gated", "Pending", "Running", "Succeeded", "Failed",
                                     "deleted"};
#define N_STATES (sizeof states / sizeof states[0])

struct counts {
    size_t in[N_STATES + 1]; /* the last: any other phase */
    size_t ended;
};

static void count_states(const struct view *v, struct counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < v->n_now; i++) {
        const char *state = state_of(&v->now[i]);
        size_t k = 0;
        while (k < N_STATES && strcmp(states[k], state) != 0)
            k++;
        c->in[k]++;
        c->ended += has_ended(&v->now[i]);
    }
}

/* "[########------]  57/100 ended  gated 3  Pending 0 ..." */
static void print_counts(const struct view *v, FILE *out)
{
    struct counts c;
    count_states(v, &c);
    size_t filled = v->n_now ? c.ended * BAR_WIDTH / v->n_now : 0;
    char bar[BAR_WIDTH + 1];
    memset(bar, '#', filled);
    memset(bar + filled, '-', BAR_WIDTH - filled);
    bar[BAR_WIDTH] = '\0';
    fprintf(out, "[%s] %zu/%zu ended ", bar, c.ended, v->n_now);
    for (size_t k = 0; k < N_STATES; k++)
        fprintf(out, " %s %zu", states[k], c.in[k]);
    if (c.in[N_STATES])
        fprintf(out, " other %zu", c.in[N_STATES]);
    fprintf(out, "\n");
}

/* The live view on a terminal: everything, redrawn. */
static void draw_screen(struct embedded *emb, struct view *v, double t)
{
    json_t *slices = v->n_now <= VIEW_MAX_LINES ? list_slices(emb) : NULL;
    printf("\033[H\033[2J");
    printf("gpuslice demo  t=%.1fs  %s  (kubectl --server %s)\n", t, "embedded cluster",
           embedded_url(emb));
    printf("dashboard: %s\n", embedded_dashboard_url(emb));
    printf("metrics:   %s\n\n", v->metrics_url);
    if (!slices) {
        printf("  %zu pods  ", v->n_now);
        print_counts(v, stdout);
    } else {
        printf("  %-34s %-10s %-12s %s\n", "POD", "PHASE", "NODE", "SLICES");
    }
    for (size_t i = 0; slices && i < v->n_now; i++) {
        const struct observed_pod *p = &v->now[i];
        if (p->deleted)
            continue;
        char s[256];
        slices_of(slices, p, s, sizeof s);
        printf("  %-34.34s %-10s %-12s %s%s\n", p->name, p->phase, p->node[0] ? p->node : "-",
               p->gated ? "[gated] " : "", s);
    }
    printf("\n");
    draw_gpus(emb, stdout);
    fflush(stdout);
    json_decref(slices);
}

/* Piped: one line per pod whose phase, gate or node changed; past a
 * screenful of pods, the counts once a second while something changes, and
 * always once every pod has ended, so that the last line is the end. */
static void print_changes(struct embedded *emb, struct view *v, double t)
{
    json_t *slices = NULL;
    bool changed = v->n_now != v->n_before;
    for (size_t i = 0; i < v->n_now; i++) {
        const struct observed_pod *p = &v->now[i], *b = i < v->n_before ? &v->before[i] : NULL;
        const char *state = state_of(p), *was = b ? state_of(b) : NULL;
        if (was && strcmp(was, state) == 0)
            continue;
        changed = true;
        if (v->n_now > VIEW_MAX_LINES)
            continue;
        if (!slices)
            slices = list_slices(emb);
        char s[256];
        slices_of(slices, p, s, sizeof s);
        printf("%6.2fs  %s/%s: %s%s%s%s%s\n", t, p->ns, p->name, was ? was : "new", " -> ",
               state, s[0] ? "  " : "", s);
    }
    int64_t now = clock_monotonic_ns();
    if (v->n_now > VIEW_MAX_LINES && changed &&
        (now - v->counts_printed_ns >= NS_PER_SEC || all_ended(v))) {
        printf("%6.2fs  ", t);
        print_counts(v, stdout);
        v->counts_printed_ns = now;
    }
    fflush(stdout);
    json_decref(slices);
}

static void refresh(struct embedded *emb, struct observer *o, struct view *v, double t)
{
    struct observed_pod *was = v->before;
    size_t was_cap = v->cap_before;
    v->before = v->now, v->cap_before = v->cap_now, v->n_before = v->n_now;
    v->now = was, v->cap_now = was_cap;
    v->n_now = observer_pods_all(o, &v->now, &v->cap_now);
    if (v->tty)
        draw_screen(emb, v, t);
    else
        print_changes(emb, v, t);
}

/* Whether every pod that can finish has (Jobs' and standalone pods), and
 * how many still run without an end (Deployments' pods). */
static bool batch_done(const struct view *v, size_t *serving)
{
    bool done = v->n_now > 0;
    *serving = 0;
    for (size_t i = 0; i < v->n_now; i++) {
        const struct observed_pod *p = &v->now[i];
        bool ended = has_ended(p);
        if (p->serving && !ended)
            (*serving)++;
        else if (!ended)
            done = false;
    }
    return done;
}

/* Ends the long-running workloads: deletes every Deployment in the demo's
 * namespaces, as a user would when done. */
static void tear_down(struct embedded *emb)
{
    struct store *st = embedded_client(emb);
    const struct api_resource *deps = api_registry_find(store_registry(st), "apps", "v1",
                                                        "deployments");
    json_t *list = NULL;
    if (!deps || store_list(st, deps, NULL, &(struct store_list_opts){0}, &list, NULL) < 0)
        return;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(list, "items"), i, d)
        store_delete(st, deps, meta_namespace(d), meta_name(d),
                     &(struct store_delete_opts){.propagation = STORE_PROPAGATE_FOREGROUND},
                     NULL, NULL);
    json_decref(list);
}

static size_t live_slices(struct embedded *emb)
{
    json_t *s = list_slices(emb);
    size_t n = json_array_size(s);
    json_decref(s);
    return n;
}

/* Device operations per GPU, for the GPUs that had any (at most a
 * screenful of lines). */
static void print_device_stats(struct embedded *emb)
{
    size_t lines = 0, more = 0;
    for (size_t n = 0; n < embedded_node_count(emb); n++) {
        struct devstats_gpu st;
        for (unsigned g = 0; embedded_gpu_stats(emb, n, g, &st) == 0; g++) {
            if (st.creates + st.destroys == 0)
                continue;
            if (lines++ >= VIEW_MAX_LINES) {
                more++;
                continue;
            }
            printf("  device:    %s GPU %u: %llu creates, %llu destroys, %llu failed; "
                   "%.1f s of device time\n", embedded_node_name(emb, n), g,
                   (unsigned long long)st.creates, (unsigned long long)st.destroys,
                   (unsigned long long)st.failed, (double)st.busy_ns / 1e9);
        }
    }
    if (lines == 0)
        printf("  device:    no slice operations\n");
    if (more)
        printf("  device:    and %zu more GPUs with operations\n", more);
}

/* "(N left by a create that failed)" after the slice counts, when any. */
static void print_slice_counts(const struct devstats_gpu *d, size_t left)
{
    printf("  slices:    %llu created, %llu destroyed on the GPUs",
           (unsigned long long)d->made, (unsigned long long)d->removed);
    if (d->made_by_failed)
        printf(" (%llu left by a create that failed)", (unsigned long long)d->made_by_failed);
    printf("; %zu GPUSlices left\n", left);
}

/* The alarm form only for a difference found; a check that could not run
 * says so instead of printing zeros. */
static void print_leaks(int rc, unsigned leaked, unsigned missing, const struct err *e)
{
    if (rc == 0)
        printf("  leaks:     none (every slice on the GPUs matches a GPUSlice)\n");
    else if (leaked || missing)
        printf("  leaks:     %u slices on GPUs without a GPUSlice, %u GPUSlices without a "
               "slice: %s\n", leaked, missing, e->msg);
    else
        printf("  leaks:     not checked: %s\n", e->msg);
}

/* Prints the summary; whether the leak check found the GPUs clean. */
static bool summary(struct embedded *emb, struct observer *o, double t, bool timed_out)
{
    struct observer_summary s;
    observer_summarize(o, &s);
    struct devstats_gpu counts;
    embedded_slice_counts(emb, &counts);
    unsigned leaked = 0, missing = 0;
    struct err e = {0};
    int rc = embedded_check_slices(emb, &leaked, &missing, &e);
    printf("\n%s after %.1fs\n", timed_out ? "stopped (timeout)" : "done", t);
    printf("  pods:      %zu seen, %zu ran: %zu succeeded, %zu stopped when deleted, %zu failed; "
           "%zu never ran\n", s.pods, s.running_or_done, s.succeeded, s.stopped, s.failed,
           s.waiting);
    print_slice_counts(&counts, live_slices(emb));
    printf("  makespan:  %.2f s, from the first pod created to the last pod ended\n",
           s.makespan_s);
    printf("  latency:   created -> ungated p50 %.0f ms, p99 %.0f ms; created -> running "
           "p50 %.0f ms, p99 %.0f ms\n", s.ungate_p50_ms, s.ungate_p99_ms, s.run_p50_ms,
           s.run_p99_ms);
    print_device_stats(emb);
    print_leaks(rc, leaked, missing, &e);
    if (gpu_count(emb) <= VIEW_MAX_LINES) {
        printf("  GPUs at the end (slices gpuslice did not make stay):\n");
        draw_gpus(emb, stdout);
    }
    return rc == 0;
}

/* Applies the workloads and shows them until they are done, the timeout,
 * or a stop signal (*stopped). */
static int run(struct embedded *emb, const struct demo_args *a, const struct fileset *samples,
               const char *metrics_url, bool *stopped)
{
    struct observer *o = NULL;
    struct err e = {0};
    if (observer_start(embedded_store(emb), &o, &e) < 0) {
        fprintf(stderr, "gpuslice demo: %s\n", e.msg);
        return 1;
    }
    size_t objects = 0;
    int rc = apply_workloads(emb, a, samples, &objects);
    struct view *v = alloc_calloc(1, sizeof *v);
    v->tty = isatty(STDOUT_FILENO);
    v->metrics_url = metrics_url;
    if (!v->tty)
        printf("gpuslice demo: dashboard at %s\n"
               "gpuslice demo: metrics at %s\n", embedded_dashboard_url(emb), metrics_url);
    if (!v->tty)
        printf("gpuslice demo: %zu objects applied to the embedded cluster at %s\n", objects,
               embedded_url(emb));
    int64_t start = clock_monotonic_ns(), teardown_at = 0;
    bool finished = false;
    while (rc == 0) {
        double t = (double)(clock_monotonic_ns() - start) / 1e9;
        refresh(emb, o, v, t);
        size_t serving = 0;
        if (batch_done(v, &serving) && !teardown_at && t >= a->run_s) {
            if (!v->tty)
                printf("%6.2fs  batch work done; deleting the Deployments\n", t);
            tear_down(emb);
            teardown_at = clock_monotonic_ns();
        }
        if (teardown_at && serving == 0 && live_slices(emb) == 0) {
            finished = true;
            break;
        }
        if (t > a->timeout_s || (*stopped = cmd_signals_wait(TICK_NS) != 0))
            break;
    }
    bool clean = rc == 0 && summary(emb, o, (double)(clock_monotonic_ns() - start) / 1e9,
                                    !finished && !*stopped);
    observer_free(o);
    free(v->now);
    free(v->before);
    free(v);
    return rc != 0 ? rc : finished && clean ? 0 : 1;
}

/* --keep: the cluster stays up, with a kubeconfig for it, until a stop
 * signal; the kubeconfig goes with it. */
static int keep_until_stopped(struct embedded *emb, const char *kubeconfig,
                              const char *metrics_url)
{
    struct err e = {0};
    if (embedded_write_kubeconfig(emb, kubeconfig, &e) < 0) {
        fprintf(stderr, "gpuslice demo: %s\n", e.msg);
        return 1;
    }
    printf("\nThe cluster is still up. Use it with:\n  kubectl --kubeconfig %s get "
           "pods,gpuslices,gpunodes -A\nor watch it at %s\nMetrics: %s\nPress Ctrl-C to stop it "
           "(%s is removed then).\n", kubeconfig, embedded_dashboard_url(emb), metrics_url,
           kubeconfig);
    fflush(stdout);
    cmd_signals_wait(-1);
    if (kubeconfig_remove(kubeconfig, &e) < 0) {
        fprintf(stderr, "gpuslice demo: %s\n", e.msg);
        return 1;
    }
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    struct demo_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct err e = {0};
    struct fileset *from_disk = NULL;
    struct clusterfile cf = {0};
    if ((a.samples && !a.trace && fileset_read_yaml_dir(a.samples, &from_disk, &e) < 0) ||
        (a.cluster_file && clusterfile_load(&cf, a.cluster_file, &e) < 0)) {
        fprintf(stderr, "gpuslice demo: %s\n", e.msg);
        fileset_free(from_disk);
        return 1;
    }
    if (a.cluster_file)
        a.cluster.layout = &cf;
    cmd_signals_block(); /* before any thread starts, so every thread inherits it */
    cmd_raise_nofile();  /* both ends of every connection of the cluster are ours */
    struct embedded *emb = NULL;
    struct cmd_metrics metrics;
    rc = cmd_metrics_start(&metrics, a.metrics_address, NULL, &e);
    a.cluster.metrics = metrics.registry;
    if (rc == 0)
        rc = embedded_start(&a.cluster, &emb, &e);
    clusterfile_free(&cf); /* the layout is read by the start only */
    if (rc < 0) {
        fprintf(stderr, "gpuslice demo: cannot start the embedded cluster: %s\n", e.msg);
        cmd_metrics_stop(&metrics);
        fileset_free(from_disk);
        return 1;
    }
    cmd_metrics_ready(&metrics);
    char metrics_url[80] = "off";
    if (metrics.server)
        snprintf(metrics_url, sizeof metrics_url, "http://127.0.0.1:%u/metrics",
                 (unsigned)prom_server_port(metrics.server));
    bool stopped = false;
    rc = run(emb, &a, from_disk ? from_disk : builtin_samples(), metrics_url, &stopped);
    if (a.keep && !stopped && keep_until_stopped(emb, a.kubeconfig, metrics_url) != 0)
        rc = 1;
    embedded_stop(emb);
    cmd_metrics_stop(&metrics);
    fileset_free(from_disk);
    return rc;
}
