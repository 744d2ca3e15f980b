/* Tests for webhook/metrics: results, the cumulative histogram, reloads. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "webhook/metrics.h"

static char *rendered(struct prom *reg)
{
    char *text;
    size_t len;
    struct err e;
    assert_int_equal(prom_render(reg, &text, &len, &e), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static void has_line(const char *text, const char *line)
{
    const char *p = strstr(text, line);
    size_t at = p ? (size_t)(p - text) : 0, len = strlen(line);
    bool starts = p && (at == 0 || text[at - 1] == '\n');
    bool ends = p && text[at + len] == '\n';
    if (!starts || !ends)
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void empty_metrics(void **state)
{
    (void)state;
    struct prom *reg = prom_new();
    struct metrics m;
    metrics_init(&m, reg);
    char *text = rendered(reg);
    has_line(text, "gpuslice_webhook_admission_requests_total 0");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_bucket{le=\"+Inf\"} 0");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_count 0");
    has_line(text, "# TYPE gpuslice_webhook_admission_duration_seconds histogram");
    free(text);
    prom_free(reg);
}

static void results_and_latency(void **state)
{
    (void)state;
    struct prom *reg = prom_new();
    struct metrics m;
    metrics_init(&m, reg);
    metrics_observe(&m, METRICS_PATCHED, 80000);      /* 80 us: first bucket */
    metrics_observe(&m, METRICS_DENIED, 100000);      /* exactly 100 us: first bucket */
    metrics_observe(&m, METRICS_ALLOWED, 3000000);    /* 3 ms: le 0.005 */
    metrics_observe(&m, METRICS_ERROR, 50000000000u); /* 50 s: +Inf only */
    metrics_reload(&m, 1);
    metrics_reload(&m, 0);
    metrics_reload(&m, 0);
    char *text = rendered(reg);
    has_line(text, "gpuslice_webhook_admission_requests_total 4");
    has_line(text, "gpuslice_webhook_admission_denials_total 1");
    has_line(text, "gpuslice_webhook_admission_errors_total 1");
    has_line(text, "gpuslice_webhook_admission_results_total{result=\"patched\"} 1");
    has_line(text, "gpuslice_webhook_admission_results_total{result=\"allowed\"} 1");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_bucket{le=\"0.0001\"} 2");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_bucket{le=\"0.0025\"} 2");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_bucket{le=\"0.005\"} 3");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_bucket{le=\"1\"} 3");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_bucket{le=\"30\"} 3");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_bucket{le=\"+Inf\"} 4");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_count 4");
    has_line(text, "gpuslice_webhook_admission_duration_seconds_sum 50.00318");
    has_line(text, "gpuslice_webhook_certificate_reloads_total{result=\"success\"} 1");
    has_line(text, "gpuslice_webhook_certificate_reloads_total{result=\"failure\"} 2");
    free(text);
    prom_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_metrics),
        cmocka_unit_test(results_and_latency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
