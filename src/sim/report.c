/*
 * A run's report page (see report.h): the summary and the bound, the
 * timeline charts and the latency CDFs here; the Gantt chart in
 * report_gantt.c.
 */
#include "sim/report.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim/page.h"
#include "util/alloc.h"
#include "util/clock.h"

#define WORKLOAD_ROWS 100

static double seconds(int64_t ns)
{
    return (double)ns / (double)NS_PER_SEC;
}

struct report_limits report_limits_of(const struct report_limits *lim)
{
    struct report_limits l = lim ? *lim : (struct report_limits){0};
    l.timeline_points = l.timeline_points ? l.timeline_points : REPORT_TIMELINE_POINTS;
    l.cdf_points = l.cdf_points > 1 ? l.cdf_points : REPORT_CDF_POINTS;
    l.gantt_gpus = l.gantt_gpus ? l.gantt_gpus : REPORT_GANTT_GPUS;
    l.gantt_bars = l.gantt_bars ? l.gantt_bars : REPORT_GANTT_BARS;
    return l;
}

int64_t report_span_ns(const struct outcome *out)
{
    int64_t end = out->n_timeline ? out->timeline[out->n_timeline - 1].t_ns : 0;
    for (size_t i = 0; i < out->n_slices; i++)
        end = out->slices[i].to_ns > end ? out->slices[i].to_ns : end;
    return end > 0 ? end : 1;
}

/* ---- the summary --------------------------------------------------------- */

static void row(FILE *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void row(FILE *f, const char *name, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("<tr><th class=\"l\">", f);
    page_text(f, name);
    fputs("</th><td class=\"l\">", f);
    page_text(f, buf);
    fputs("</td></tr>\n", f);
}

static void latency_row(FILE *f, const char *name, const struct outcome_latency *l)
{
    fputs("<tr><th class=\"l\">", f);
    page_text(f, name);
    fprintf(f, "</th><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>\n", l->p50, l->p95, l->p99);
}

static void summary_html(FILE *f, const struct outcome *out)
{
    const struct outcome_summary *s = &out->summary;
    fputs("<h2 id=\"summary\">Summary</h2>\n<table>\n", f);
    row(f, "pods", "%zu (%zu completed)%s", s->pods, s->pods_completed,
        s->stalled ? "; STALLED: pods were left that could not run" : "");
    row(f, "makespan", "%.3f s (first pod created to last pod ended)", s->makespan_s);
    row(f, "lower bound", "%.3f s (makespan / bound = %.3f)", s->lower_bound_s,
        s->lower_bound_s > 0 ? s->makespan_s / s->lower_bound_s : 0);
    row(f, "device operations", "%llu creates, %llu destroys", (unsigned long long)s->creates,
        (unsigned long long)s->destroys);
    row(f, "mean pending pods", "%.2f", s->mean_pending_pods);
    row(f, "memory slice utilisation", "%.1f%% of %lld usable memory slices",
        s->memory_slice_utilisation * 100, (long long)s->memory_slices_usable);
    row(f, "fragmentation wait", "%.3f pod-seconds", s->fragmentation_wait_s);
    row(f, "policy, seed", "%s, %llu", s->policy ? s->policy : "",
        (unsigned long long)s->seed);
    row(f, "this machine", "%.3f s of wall time (%.0fx real time), peak RSS %.1f MiB",
        s->wall_s, s->speedup, (double)s->peak_rss_bytes / (1 << 20));
    fputs("</table>\n<table>\n<tr><th class=\"l\">seconds from creation</th><th>p50</th>"
          "<th>p95</th><th>p99</th></tr>\n", f);
    latency_row(f, "created → ungated", &s->to_ungated);
    latency_row(f, "created → running", &s->to_running);
    latency_row(f, "created → completed", &s->to_completed);
    fputs("</table>\n", f);
}

static void bound_bar(FILE *f, const char *name, double value, double max, int y, int colour)
{
    double w = max > 0 ? value / max * (PAGE_WIDTH - 300) : 0;
    fprintf(f, "<text x=\"0\" y=\"%d\">", y + 13);
    page_text(f, name);
    fprintf(f, "</text><rect class=\"c%d\" x=\"110\" y=\"%d\" width=\"%.1f\" height=\"18\"/>"
            "<text x=\"%.1f\" y=\"%d\">%.3f s</text>\n", colour, y, w < 1 ? 1 : w, 116 + w,
            y + 13, value);
}

static void bound_html(FILE *f, const struct outcome_summary *s)
{
    double max = s->makespan_s > s->lower_bound_s ? s->makespan_s : s->lower_bound_s;
    fputs("<h2 id=\"bound\">Makespan and its lower bound</h2>\n", f);
    fprintf(f, "<svg class=\"bound\" width=\"%d\" height=\"56\" viewBox=\"0 0 %d 56\" "
            "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>makespan beside its "
            "lower bound</title>\n", PAGE_WIDTH, PAGE_WIDTH);
    bound_bar(f, "makespan", s->makespan_s, max, 4, 0);
    bound_bar(f, "lower bound", s->lower_bound_s, max, 30, 4);
    fputs("</svg>\n<p>No run of this scenario can end sooner than the bound, whatever the "
          "policy: <code>", f);
    page_text(f, s->bound_formula);
    fputs("</code> (docs/simulator.md says why each term is a bound).</p>\n", f);
}

/* Whether some item declared inferenceSeconds: the table then has the
 * mean time of a unit of work under sharing. */
static bool any_inference(const struct outcome *out)
{
    for (size_t w = 0; w < out->n_workloads; w++)
        if (out->workloads[w].inference)
            return true;
    return false;
}

static void workloads_html(FILE *f, const struct outcome *out)
{
    if (out->n_workloads == 0)
        return;
    bool units = any_inference(out);
    fputs("<h2 id=\"workloads\">Workload items</h2>\n<table>\n<tr><th class=\"l\">name</th>"
          "<th>pods</th><th>completed</th><th>→ running p50</th><th>p99</th>"
          "<th>→ completed p50</th><th>p99</th>", f);
    fputs(units ? "<th>units of work</th><th>mean unit (s)</th></tr>\n" : "</tr>\n", f);
    size_t rows = out->n_workloads < WORKLOAD_ROWS ? out->n_workloads : WORKLOAD_ROWS;
    for (size_t w = 0; w < rows; w++) {
        const struct outcome_workload *wl = &out->workloads[w];
        fputs("<tr><td class=\"l\">", f);
        page_text(f, wl->name);
        fprintf(f, "</td><td>%zu</td><td>%zu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
                "<td>%.3f</td>", wl->pods, wl->completed, wl->to_running.p50,
                wl->to_running.p99, wl->to_completed.p50, wl->to_completed.p99);
        if (units && wl->inference)
            fprintf(f, "<td>%llu</td><td>%.5f</td>", (unsigned long long)wl->inference_units,
                    wl->mean_inference_s);
        else if (units)
            fputs("<td>–</td><td>–</td>", f);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    if (rows < out->n_workloads)
        fprintf(f, "<p class=\"note\">The first %zu of %zu items; summary.json has every one."
                "</p>\n", rows, out->n_workloads);
}

/* ---- the timeline -------------------------------------------------------- */

typedef double gauge_fn(const struct outcome *out, const struct outcome_sample *s);

static double utilisation(const struct outcome *out, const struct outcome_sample *s)
{
    int64_t usable = out->summary.memory_slices_usable;
    return usable > 0 ? (double)s->memory_slices_used / (double)usable : 0;
}

static double not_running(const struct outcome *out, const struct outcome_sample *s)
{
    (void)out;
    return (double)s->waiting + s->placed + s->pending;
}

static double waiting(const struct outcome *out, const struct outcome_sample *s)
{
    (void)out;
    return s->waiting;
}

static double running(const struct outcome *out, const struct outcome_sample *s)
{
    (void)out;
    return s->running;
}

/* The gauge over 0..end_ns into x[], y[] (max + 1 points): the samples
 * themselves when there are at most max, else the time-weighted mean over
 * each of max equal buckets (a sample holds until the next). The last
 * point repeats the last value at end_ns, so the steps reach the end. */
static size_t downsample(const struct outcome *out, gauge_fn *gauge, size_t max, int64_t end_ns,
                         double *x, double *y)
{
    size_t n = out->n_timeline;
    if (n == 0)
        return 0;
    if (n <= max) {
        for (size_t i = 0; i < n; i++) {
            x[i] = seconds(out->timeline[i].t_ns);
            y[i] = gauge(out, &out->timeline[i]);
        }
        x[n] = seconds(end_ns);
        y[n] = y[n - 1];
        return n + 1;
    }
    double width = (double)end_ns / (double)max;
    memset(y, 0, max * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        double a = (double)out->timeline[i].t_ns;
        double b = i + 1 < n ? (double)out->timeline[i + 1].t_ns : (double)end_ns;
        double v = gauge(out, &out->timeline[i]);
        for (size_t k = (size_t)(a / width); a < b && k < max; k++) {
            double until = (double)(k + 1) * width < b ? (double)(k + 1) * width : b;
            y[k] += v * (until - a) / width;
            a = until;
        }
    }
    for (size_t k = 0; k < max; k++)
        x[k] = seconds((int64_t)((double)k * width));
    x[max] = seconds(end_ns);
    y[max] = y[max - 1];
    return max + 1;
}

static void timeline_html(FILE *f, const struct outcome *out, const struct report_limits *lim)
{
    int64_t end = report_span_ns(out);
    size_t cap = lim->timeline_points + 1;
    double *x = alloc_calloc(4 * cap, sizeof *x), *y = alloc_calloc(4 * cap, sizeof *y);
    gauge_fn *gauges[4] = {utilisation, not_running, waiting, running};
    size_t n[4];
    for (int i = 0; i < 4; i++)
        n[i] = downsample(out, gauges[i], lim->timeline_points, end, x + i * cap, y + i * cap);
    fputs("<h2 id=\"timeline\">Over time</h2>\n", f);
    struct page_series used = {"memory slices held by GPUSlices, of the usable", x, y, n[0],
                               true};
    page_chart(f, &(struct page_chart){.title = "Memory slice utilisation",
                                       .x_label = "seconds since the start",
                                       .y_label = "utilisation", .series = &used,
                                       .n_series = 1, .x_max = seconds(end), .y_max = 1,
                                       .y_percent = true});
    struct page_series pods[3] = {
        {"not running yet (waiting, placed, pending)", x + cap, y + cap, n[1], true},
        {"waiting for a placement", x + 2 * cap, y + 2 * cap, n[2], true},
        {"running", x + 3 * cap, y + 3 * cap, n[3], true},
    };
    page_chart(f, &(struct page_chart){.title = "Pods", .x_label = "seconds since the start",
                                       .y_label = "pods", .series = pods, .n_series = 3,
                                       .x_max = seconds(end)});
    if (out->n_timeline > lim->timeline_points)
        fprintf(f, "<p class=\"note\">%zu timeline samples, drawn as the time-weighted mean "
                "over each of %zu intervals of %.3f s (timeline.csv has them all).</p>\n",
                out->n_timeline, lim->timeline_points,
                seconds(end) / (double)lim->timeline_points);
    free(x);
    free(y);
}

/* ---- the latency CDFs ---------------------------------------------------- */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The seconds from creation to the field at offset, over the pods that
 * got there, sorted, into v; returns how many. */
static size_t latencies(const struct outcome *out, size_t offset, double *v)
{
    size_t n = 0;
    for (size_t i = 0; i < out->n_pods; i++) {
        const struct outcome_pod *p = &out->pods[i];
        int64_t at = *(const int64_t *)((const char *)p + offset);
        if (at != OUTCOME_NEVER)
            v[n++] = seconds(at - p->created_ns);
    }
    qsort(v, n, sizeof *v, by_value);
    return n;
}

/* The CDF of v[n] (sorted) through at most max quantiles: x the value,
 * y the share of the pods at or below it, from (v[0], 0). */
static size_t cdf_points(const double *v, size_t n, size_t max, double *x, double *y)
{
    if (n == 0)
        return 0;
    x[0] = v[0];
    y[0] = 0;
    size_t m = n < max ? n : max;
    for (size_t k = 0; k < m; k++) {
        size_t i = m == n ? k : (size_t)((double)k * (double)(n - 1) / (double)(m - 1) + 0.5);
        x[k + 1] = v[i];
        y[k + 1] = (double)(i + 1) / (double)n;
    }
    return m + 1;
}

static void cdf_html(FILE *f, const struct outcome *out, const struct report_limits *lim)
{
    static const char *const names[3] = {"created → ungated", "created → running",
                                         "created → completed"};
    const size_t offsets[3] = {offsetof(struct outcome_pod, ungated_ns),
                               offsetof(struct outcome_pod, running_ns),
                               offsetof(struct outcome_pod, finished_ns)};
    double *v = alloc_calloc(out->n_pods + 1, sizeof *v);
    size_t cap = lim->cdf_points + 1;
    double *x = alloc_calloc(3 * cap, sizeof *x), *y = alloc_calloc(3 * cap, sizeof *y);
    struct page_series series[3];
    char labels[3][96];
    for (int i = 0; i < 3; i++) {
        size_t n = latencies(out, offsets[i], v);
        snprintf(labels[i], sizeof labels[i], "%s (%zu of %zu pods)", names[i], n, out->n_pods);
        series[i] = (struct page_series){labels[i], x + i * cap, y + i * cap,
                                         cdf_points(v, n, lim->cdf_points, x + i * cap,
                                                    y + i * cap), true};
    }
    fputs("<h2 id=\"latency\">Latencies</h2>\n", f);
    page_chart(f, &(struct page_chart){.title = "Share of pods within a latency",
                                       .x_label = "seconds from the pod's creation",
                                       .y_label = "pods", .series = series, .n_series = 3,
                                       .y_max = 1, .y_percent = true});
    fprintf(f, "<p class=\"note\">Each curve is over the pods that got that far, through at "
            "most %zu of their quantiles.</p>\n", lim->cdf_points);
    free(v);
    free(x);
    free(y);
}

/* ---- the page ------------------------------------------------------------ */

void report_html(FILE *f, const char *title, const struct outcome *out,
                 const struct placement_cluster *c, const struct report_limits *lim)
{
    struct report_limits l = report_limits_of(lim);
    page_begin(f, title);
    fputs("<p class=\"note\">A run of <code>gpuslice sim</code>: the real controller, agents "
          "and cluster parts in virtual time. Hover a line or a bar for its details.</p>\n", f);
    summary_html(f, out);
    bound_html(f, &out->summary);
    timeline_html(f, out, &l);
    cdf_html(f, out, &l);
    report_gantt(f, out, c, &l);
    workloads_html(f, out);
    page_end(f);
}

struct report_args {
    const char *title;
    const struct outcome *out;
    const struct placement_cluster *c;
    const struct report_limits *lim;
};

static void render(void *ctx, FILE *f)
{
    const struct report_args *a = ctx;
    report_html(f, a->title, a->out, a->c, a->lim);
}

int report_write(const char *dir, const char *title, const struct outcome *out,
                 const struct placement_cluster *c, const struct report_limits *lim,
                 struct err *e)
{
    struct report_args a = {title, out, c, lim};
    return page_save(dir, "report.html", render, &a, e);
}
