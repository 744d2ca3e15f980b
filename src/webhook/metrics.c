/*
 * Counting and rendering the webhook's metrics (metrics.h). The text is
 * written into a stream (open_memstream), so its length needs no guess.
 */
#include "webhook/metrics.h"

#include <stdio.h>
#include <stdlib.h>

static const uint64_t bucket_bounds_us[METRICS_BUCKETS] = METRICS_BUCKET_BOUNDS_US;

void metrics_init(struct metrics *m)
{
    for (size_t i = 0; i < METRICS_RESULTS; i++)
        atomic_init(&m->results[i], 0);
    for (size_t i = 0; i <= METRICS_BUCKETS; i++)
        atomic_init(&m->buckets[i], 0);
    atomic_init(&m->latency_sum_ns, 0);
    atomic_init(&m->reloads, 0);
    atomic_init(&m->reload_failures, 0);
}

void metrics_observe(struct metrics *m, enum metrics_result r, uint64_t elapsed_ns)
{
    size_t b = 0;
    while (b < METRICS_BUCKETS && elapsed_ns > bucket_bounds_us[b] * 1000u)
        b++;
    atomic_fetch_add_explicit(&m->results[r], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_ns, elapsed_ns, memory_order_relaxed);
}

void metrics_reload(struct metrics *m, int ok)
{
    atomic_fetch_add_explicit(ok ? &m->reloads : &m->reload_failures, 1, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void render_counters(struct metrics *m, FILE *f)
{
    static const char *const names[METRICS_RESULTS] = {"allowed", "patched", "denied", "error"};
    uint64_t total = 0;
    fprintf(f, "# HELP gpuslice_webhook_admission_results_total Admission requests by result: "
               "allowed untouched, patched, denied, or answered with an HTTP error.\n"
               "# TYPE gpuslice_webhook_admission_results_total counter\n");
    for (size_t i = 0; i < METRICS_RESULTS; i++) {
        uint64_t n = get(&m->results[i]);
        total += n;
        fprintf(f, "gpuslice_webhook_admission_results_total{result=\"%s\"} %llu\n", names[i],
                (unsigned long long)n);
    }
    fprintf(f, "# HELP gpuslice_webhook_admission_requests_total Admission requests received.\n"
               "# TYPE gpuslice_webhook_admission_requests_total counter\n"
               "gpuslice_webhook_admission_requests_total %llu\n"
               "# HELP gpuslice_webhook_admission_denials_total Admission requests denied.\n"
               "# TYPE gpuslice_webhook_admission_denials_total counter\n"
               "gpuslice_webhook_admission_denials_total %llu\n"
               "# HELP gpuslice_webhook_admission_errors_total Admission requests answered with "
               "an HTTP error (malformed, too large, internal).\n"
               "# TYPE gpuslice_webhook_admission_errors_total counter\n"
               "gpuslice_webhook_admission_errors_total %llu\n",
            (unsigned long long)total, (unsigned long long)get(&m->results[METRICS_DENIED]),
            (unsigned long long)get(&m->results[METRICS_ERROR]));
    fprintf(f, "# HELP gpuslice_webhook_certificate_reloads_total Serving certificate re-reads "
               "that took effect (success) or were refused (failure).\n"
               "# TYPE gpuslice_webhook_certificate_reloads_total counter\n"
               "gpuslice_webhook_certificate_reloads_total{result=\"success\"} %llu\n"
               "gpuslice_webhook_certificate_reloads_total{result=\"failure\"} %llu\n",
            (unsigned long long)get(&m->reloads), (unsigned long long)get(&m->reload_failures));
}

static void render_histogram(struct metrics *m, FILE *f)
{
    static const char name[] = "gpuslice_webhook_admission_duration_seconds";
    uint64_t cumulative = 0;
    fprintf(f, "# HELP %s Time from a complete request body to its answer.\n"
               "# TYPE %s histogram\n", name, name);
    for (size_t b = 0; b <= METRICS_BUCKETS; b++) {
        cumulative += get(&m->buckets[b]);
        if (b < METRICS_BUCKETS)
            fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bucket_bounds_us[b] / 1e6,
                    (unsigned long long)cumulative);
        else
            fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cumulative);
    }
    fprintf(f, "%s_sum %.9f\n%s_count %llu\n", name, (double)get(&m->latency_sum_ns) / 1e9, name,
            (unsigned long long)cumulative);
}

int metrics_render(struct metrics *m, char **out, size_t *len, struct err *e)
{
    *out = NULL;
    *len = 0;
    FILE *f = open_memstream(out, len);
    if (!f)
        return err_set(e, -ENOMEM, "metrics: out of memory");
    render_counters(m, f);
    render_histogram(m, f);
    if (fclose(f) != 0 || !*out) {
        free(*out);
        *out = NULL;
        *len = 0;
        return err_set(e, -ENOMEM, "metrics: out of memory");
    }
    return 0;
}
