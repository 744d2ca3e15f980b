/*
 * Tests for planner/compat: the optimizer's batch size, its metrics of the
 * chain (no wait and one request in service at no load, the prefill dropped
 * for empty prompts, n_eff within [0, N]), and its bisection (the rate
 * found meets the targets and is the largest, the ends of its range,
 * targets out of reach).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "planner/compat.h"

static const struct perf_params llm = {.alpha = 10.0, .beta = 0.5, .gamma = 50.0, .delta = 0.01,
                                       .max_batch = 64, .at_tokens = 512};
static const struct perf_request chat = {.in_tokens = 256.0, .out_tokens = 64.0};

static struct compat_metrics at(struct batchqueue *q, double lambda)
{
    struct compat_metrics m;
    assert_int_equal(compat_solve(q, lambda, &m, NULL), 0);
    return m;
}

/* maxBatchSize * atTokens / out, floored, at least 1: prompts do not count. */
static void batch_counts_output_tokens(void **state)
{
    (void)state;
    assert_int_equal(compat_batch_size(&llm, &chat), 512);
    assert_int_equal(compat_batch_size(&llm, &(struct perf_request){.in_tokens = 9999, .out_tokens = 1024}), 32);
    assert_int_equal(compat_batch_size(&llm, &(struct perf_request){.in_tokens = 0, .out_tokens = 1e9}), 1);
    assert_int_equal(compat_batch_size(&llm, &(struct perf_request){.in_tokens = 0, .out_tokens = 1}),
                     PERFMODEL_MAX_BATCH);
}

static void lone_request(void **state)
{
    (void)state;
    struct batchqueue q;
    assert_int_equal(compat_queue_init(&q, &llm, &chat, 8, NULL), 0);
    assert_int_equal(q.capacity, 88); /* K = 11 N */
    struct compat_metrics m = at(&q, 0.0);
    assert_true(fabs(m.n_eff - 1.0) < 1e-9);
    assert_true(m.wait_ms == 0.0);
    assert_true(fabs(m.itl_ms - 10.5) < 1e-9);
    assert_true(fabs(m.ttft_ms - (50.0 + 2.56)) < 1e-9);
    /* near saturation n_eff approaches N and requests wait */
    m = at(&q, 0.999 * batchqueue_peak_rate(&q));
    assert_true(m.n_eff > 7.0 && m.n_eff <= 8.0);
    assert_true(m.wait_ms > 0.0);
    batchqueue_free(&q);
}

/* With no prompt the optimizer has no prefill at all, gamma included. */
static void empty_prompt_has_no_prefill(void **state)
{
    (void)state;
    struct batchqueue q;
    const struct perf_request gen = {.in_tokens = 0.0, .out_tokens = 64.0};
    assert_int_equal(compat_queue_init(&q, &llm, &gen, 8, NULL), 0);
    assert_true(at(&q, 0.0).ttft_ms == 0.0);
    assert_true(fabs(at(&q, 0.0).n_eff - 1.0) < 1e-9);
    batchqueue_free(&q);
}

static void max_rate_is_the_largest_meeting_targets(void **state)
{
    (void)state;
    struct batchqueue q;
    assert_int_equal(compat_queue_init(&q, &llm, &chat, 32, NULL), 0);
    const struct sizing_targets both[] = {{.itl_ms = 18.0}, {.ttft_ms = 400.0}, {.itl_ms = 18.0, .ttft_ms = 400.0}};
    for (size_t i = 0; i < 3; i++) {
        double lambda = 0, x = 0;
        assert_int_equal(compat_max_rate(&q, &both[i], 0.0, &lambda, &x, NULL), 0);
        struct compat_metrics m = at(&q, lambda), over = at(&q, lambda * 1.0001);
        assert_true(fabs(m.throughput - x) < 1e-12);
        assert_true(m.itl_ms <= 18.0 || both[i].itl_ms == 0.0);
        assert_true(m.ttft_ms <= 400.0 || both[i].ttft_ms == 0.0);
        assert_true((both[i].itl_ms > 0 && over.itl_ms > 18.0) || (both[i].ttft_ms > 0 && over.ttft_ms > 400.0));
    }
    /* with a load, it stops once the replicas are settled, and they are the
     * exact ones */
    const double needs[] = {1e-5, 0.05, 0.37, 3.0};
    for (size_t i = 0; i < 4; i++) {
        double exact = 0, x_exact = 0, lambda = 0, x = 0;
        assert_int_equal(compat_max_rate(&q, &both[2], 0.0, &exact, &x_exact, NULL), 0);
        assert_int_equal(compat_max_rate(&q, &both[2], needs[i], &lambda, &x, NULL), 0);
        assert_true(lambda <= exact && x <= x_exact);
        assert_true(ceil(needs[i] / x) == ceil(needs[i] / x_exact));
    }
    /* no target: the top of the range */
    double lambda = 0, x = 0;
    assert_int_equal(compat_max_rate(&q, &(struct sizing_targets){0}, 0.0, &lambda, &x, NULL), 0);
    assert_true(fabs(lambda - COMPAT_RATE_HIGH * batchqueue_peak_rate(&q)) < 1e-15);
    batchqueue_free(&q);
}

static void target_out_of_reach(void **state)
{
    (void)state;
    struct batchqueue q;
    struct err e;
    err_clear(&e);
    assert_int_equal(compat_queue_init(&q, &llm, &chat, 32, NULL), 0);
    double lambda = 0, x = 0;
    assert_int_equal(compat_max_rate(&q, &(struct sizing_targets){.itl_ms = 10.0}, 0.0, &lambda, &x, &e), -ERANGE);
    assert_non_null(strstr(e.msg, "ITL target 10 ms"));
    assert_int_equal(compat_max_rate(&q, &(struct sizing_targets){.ttft_ms = 50.0}, 0.0, &lambda, &x, &e), -ERANGE);
    assert_non_null(strstr(e.msg, "TTFT target 50 ms"));
    assert_int_equal(compat_max_rate(&q, &(struct sizing_targets){.ttft_ms = NAN}, 0.0, &lambda, &x, &e), -EINVAL);
    batchqueue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_counts_output_tokens),
        cmocka_unit_test(lone_request),
        cmocka_unit_test(empty_prompt_has_no_prefill),
        cmocka_unit_test(max_rate_is_the_largest_meeting_targets),
        cmocka_unit_test(target_out_of_reach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
