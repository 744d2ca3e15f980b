/*
 * The webhook's families (metrics.h). Every result label is set to 0 at
 * registration, so that a rate over a result that has not happened yet
 * reads 0 rather than nothing.
 */
#include "webhook/metrics.h"

static const char *const result_names[METRICS_RESULTS] = {"allowed", "patched", "denied", "error"};

void metrics_init(struct metrics *m, struct prom *reg)
{
    m->results = prom_counter(reg, "gpuslice_webhook_admission_results_total",
                              "Admission requests by result: allowed untouched, patched, denied, "
                              "or answered with an HTTP error.", "result");
    m->requests = prom_counter(reg, "gpuslice_webhook_admission_requests_total",
                               "Admission requests received.", NULL);
    m->denials = prom_counter(reg, "gpuslice_webhook_admission_denials_total",
                              "Admission requests denied.", NULL);
    m->errors = prom_counter(reg, "gpuslice_webhook_admission_errors_total",
                             "Admission requests answered with an HTTP error (malformed, too "
                             "large, internal).", NULL);
    m->duration = prom_histogram(reg, "gpuslice_webhook_admission_duration_seconds",
                                 "Time from a complete request body to its answer.", NULL,
                                 PROM_LATENCY_BUCKETS_N, prom_latency_buckets);
    m->reloads = prom_counter(reg, "gpuslice_webhook_certificate_reloads_total",
                              "Serving certificate re-reads that took effect (success) or were "
                              "refused (failure).", "result");
    for (int r = 0; r < METRICS_RESULTS; r++)
        prom_add(m->results, 0, result_names[r]);
    prom_add(m->reloads, 0, "success");
    prom_add(m->reloads, 0, "failure");
}

void metrics_observe(struct metrics *m, enum metrics_result r, uint64_t elapsed_ns)
{
    prom_add(m->results, 1, result_names[r]);
    prom_add(m->requests, 1);
    if (r == METRICS_DENIED)
        prom_add(m->denials, 1);
    if (r == METRICS_ERROR)
        prom_add(m->errors, 1);
    prom_observe(m->duration, (double)elapsed_ns / 1e9);
}

void metrics_reload(struct metrics *m, int ok)
{
    prom_add(m->reloads, 1, ok ? "success" : "failure");
}
