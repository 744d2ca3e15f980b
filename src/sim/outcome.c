/*
 * A simulation's records and their renderings (see outcome.h).
 */
#include "sim/outcome.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/observer.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"

void outcome_free(struct outcome *out)
{
    free(out->pods);
    free(out->timeline);
    free(out->workloads);
    free(out->slices);
    strpool_free(&out->strings);
    *out = (struct outcome){0};
}

const char *outcome_string(struct outcome *out, const char *s, bool shared)
{
    return shared ? strpool_intern(&out->strings, s) : strpool_add(&out->strings, s);
}

static double seconds(int64_t ns)
{
    return (double)ns / (double)NS_PER_SEC;
}

/* The latencies from creation to the field at offset, over the pods of
 * workload w (all when w is SIZE_MAX) that reached it. */
static struct outcome_latency latency(const struct outcome *out, size_t w, size_t offset,
                                      double *scratch)
{
    size_t n = 0;
    for (size_t i = 0; i < out->n_pods; i++) {
        const struct outcome_pod *p = &out->pods[i];
        int64_t at = *(const int64_t *)((const char *)p + offset);
        if ((w == SIZE_MAX || p->workload == w) && at != OUTCOME_NEVER)
            scratch[n++] = seconds(at - p->created_ns);
    }
    struct outcome_latency l = {.p50 = observer_percentile(scratch, n, 50),
                                .p95 = observer_percentile(scratch, n, 95),
                                .p99 = observer_percentile(scratch, n, 99)};
    return l;
}

static bool completed(const struct outcome_pod *p)
{
    return strcmp(p->phase, "Succeeded") == 0;
}

void outcome_summarize(struct outcome *out)
{
    double *scratch = alloc_calloc(out->n_pods + 1, sizeof *scratch);
    struct outcome_summary *s = &out->summary;
    s->pods = out->n_pods;
    s->pods_completed = 0;
    for (size_t i = 0; i < out->n_pods; i++)
        s->pods_completed += completed(&out->pods[i]);
    s->to_ungated = latency(out, SIZE_MAX, offsetof(struct outcome_pod, ungated_ns), scratch);
    s->to_running = latency(out, SIZE_MAX, offsetof(struct outcome_pod, running_ns), scratch);
    s->to_completed = latency(out, SIZE_MAX, offsetof(struct outcome_pod, finished_ns), scratch);
    for (size_t w = 0; w < out->n_workloads; w++) {
        struct outcome_workload *wl = &out->workloads[w];
        wl->pods = wl->completed = 0;
        for (size_t i = 0; i < out->n_pods; i++) {
            wl->pods += out->pods[i].workload == w;
            wl->completed += out->pods[i].workload == w && completed(&out->pods[i]);
        }
        wl->to_ungated = latency(out, w, offsetof(struct outcome_pod, ungated_ns), scratch);
        wl->to_running = latency(out, w, offsetof(struct outcome_pod, running_ns), scratch);
        wl->to_completed = latency(out, w, offsetof(struct outcome_pod, finished_ns), scratch);
    }
    free(scratch);
}

static json_t *latency_json(const struct outcome_latency *l)
{
    return json_pack("{s:f, s:f, s:f}", "p50", l->p50, "p95", l->p95, "p99", l->p99);
}

static json_t *workloads_json(const struct outcome *out)
{
    json_t *list = json_array();
    for (size_t w = 0; w < out->n_workloads; w++) {
        const struct outcome_workload *wl = &out->workloads[w];
        json_t *item = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o}", "name", wl->name, "pods",
                                 (json_int_t)wl->pods, "podsCompleted",
                                 (json_int_t)wl->completed, "createdToUngated",
                                 latency_json(&wl->to_ungated), "createdToRunning",
                                 latency_json(&wl->to_running), "createdToCompleted",
                                 latency_json(&wl->to_completed));
        if (wl->inference) {
            jdoc_set(item, "inferenceUnits", json_integer((json_int_t)wl->inference_units));
            jdoc_set(item, "meanInferenceSeconds", json_real(wl->mean_inference_s));
        }
        jdoc_append(list, item);
    }
    return list;
}

/* {total, perPod, byKind: {pods: N, ...}}, kinds in the order first
 * written (the same in every run of a scenario and seed). */
static json_t *writes_json(const struct outcome_summary *s)
{
    const struct tally_counts *w = &s->writes;
    json_t *by_kind = json_object();
    for (size_t k = 0; k < w->n_kinds; k++)
        jdoc_set(by_kind, w->kinds[k].plural, json_integer((json_int_t)w->kinds[k].writes));
    double per_pod = s->pods ? (double)w->total / (double)s->pods : 0;
    return json_pack("{s:I, s:f, s:o}", "total", (json_int_t)w->total, "perPod", per_pod,
                     "byKind", by_kind);
}

json_t *outcome_summary_json(const struct outcome *out, bool machine)
{
    const struct outcome_summary *s = &out->summary;
    json_t *o = json_object();
    jdoc_set(o, "pods", json_integer((json_int_t)s->pods));
    jdoc_set(o, "podsCompleted", json_integer((json_int_t)s->pods_completed));
    jdoc_set(o, "makespanSeconds", json_real(s->makespan_s));
    jdoc_set(o, "lowerBoundSeconds", json_real(s->lower_bound_s));
    jdoc_set(o, "lowerBoundFormula", json_string(s->bound_formula));
    jdoc_set(o, "createdToUngated", latency_json(&s->to_ungated));
    jdoc_set(o, "createdToRunning", latency_json(&s->to_running));
    jdoc_set(o, "createdToCompleted", latency_json(&s->to_completed));
    jdoc_set(o, "deviceOps", json_pack("{s:I, s:I}", "creates", (json_int_t)s->creates,
                                       "destroys", (json_int_t)s->destroys));
    jdoc_set(o, "meanPendingPods", json_real(s->mean_pending_pods));
    jdoc_set(o, "memorySliceUtilisation", json_real(s->memory_slice_utilisation));
    jdoc_set(o, "memorySlicesUsable", json_integer(s->memory_slices_usable));
    jdoc_set(o, "fragmentationWaitSeconds", json_real(s->fragmentation_wait_s));
    jdoc_set(o, "stalled", json_boolean(s->stalled));
    jdoc_set(o, "policy", json_string(s->policy ? s->policy : ""));
    jdoc_set(o, "seed", json_integer((json_int_t)s->seed));
    jdoc_set(o, "storeWrites", writes_json(s));
    jdoc_set(o, "workloads", workloads_json(out));
    if (machine) {
        jdoc_set(o, "wallSeconds", json_real(s->wall_s));
        jdoc_set(o, "speedup", json_real(s->speedup));
        jdoc_set(o, "peakRssBytes", json_integer((json_int_t)s->peak_rss_bytes));
    }
    return o;
}

/* Seconds from the start, or empty for a time never reached. */
static void csv_time(FILE *f, int64_t ns, bool set)
{
    if (set)
        fprintf(f, ",%.6f", seconds(ns));
    else
        fputs(",", f);
}

static int write_pods(const struct outcome *out, FILE *f)
{
    fputs("namespace,name,workload,profile,node,phase,created,placed,ungated,bound,running,"
          "finished\n", f);
    for (size_t i = 0; i < out->n_pods; i++) {
        const struct outcome_pod *p = &out->pods[i];
        const char *wl = p->workload < out->n_workloads ? out->workloads[p->workload].name : "";
        fprintf(f, "%s,%s,%s,%s,%s,%s", p->ns, p->name, wl, p->profile, p->node, p->phase);
        csv_time(f, p->created_ns, true);
        csv_time(f, p->placed_ns, p->placed_ns != OUTCOME_NEVER);
        csv_time(f, p->ungated_ns, p->ungated_ns != OUTCOME_NEVER);
        csv_time(f, p->bound_ns, p->bound_ns != OUTCOME_NEVER);
        csv_time(f, p->running_ns, p->running_ns != OUTCOME_NEVER);
        csv_time(f, p->finished_ns, p->finished_ns != OUTCOME_NEVER);
        fputc('\n', f);
    }
    return 0;
}

static int write_timeline(const struct outcome *out, FILE *f)
{
    fputs("t,memorySlicesUsed,memorySlicesOnGpus,memorySlicesUsable,utilisation,waiting,placed,"
          "pending,running,ended\n", f);
    int64_t usable = out->summary.memory_slices_usable;
    for (size_t i = 0; i < out->n_timeline; i++) {
        const struct outcome_sample *s = &out->timeline[i];
        fprintf(f, "%.6f,%lld,%lld,%lld,%.6f,%u,%u,%u,%u,%u\n", seconds(s->t_ns),
                (long long)s->memory_slices_used, (long long)s->memory_slices_on_gpus,
                (long long)usable,
                usable ? (double)s->memory_slices_used / (double)usable : 0.0, s->waiting,
                s->placed, s->pending, s->running, s->ended);
    }
    return 0;
}

static int write_summary(const struct outcome *out, FILE *f)
{
    json_t *o = outcome_summary_json(out, true);
    int rc = json_dumpf(o, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0 ? 0 : -EIO;
    fputc('\n', f);
    json_decref(o);
    return rc;
}

static int write_one(const struct outcome *out, const char *dir, const char *name,
                     int (*writer)(const struct outcome *, FILE *), struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    int rc = writer(out, f);
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc < 0 ? err_set(e, rc, "%s: cannot write it", path) : 0;
}

int outcome_write(const struct outcome *out, const char *dir, struct err *e)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", dir, strerror(errno));
    int rc = write_one(out, dir, "summary.json", write_summary, e);
    if (rc == 0)
        rc = write_one(out, dir, "pods.csv", write_pods, e);
    if (rc == 0)
        rc = write_one(out, dir, "timeline.csv", write_timeline, e);
    return rc;
}
