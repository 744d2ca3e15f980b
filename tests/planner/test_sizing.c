/*
 * Tests for planner/sizing: the rate found meets the targets and is the
 * largest that does, each target binds on its own, and unreachable or bad
 * targets are reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <cmocka.h>

#include "planner/sizing.h"

static const struct perf_params llm = {.alpha = 10.0, .beta = 0.5, .gamma = 50.0, .delta = 0.01,
                                       .max_batch = 64, .at_tokens = 512};
static const struct perf_request chat = {.in_tokens = 256.0, .out_tokens = 64.0};

static int setup(void **state)
{
    static struct batchqueue q;
    if (batchqueue_init(&q, &llm, &chat, 32, 320, NULL))
        return -1;
    *state = &q;
    return 0;
}

static int teardown(void **state)
{
    batchqueue_free(*state);
    return 0;
}

static struct batchqueue_metrics at(struct batchqueue *q, double lambda)
{
    struct batchqueue_metrics m;
    assert_int_equal(batchqueue_solve(q, lambda, &m, NULL), 0);
    return m;
}

/* The rate meets the target, and 0.01% more misses it: it is the largest. */
static void itl_target_binds(void **state)
{
    struct batchqueue *q = *state;
    struct sizing_targets t = {.itl_ms = 18.0};
    double rate = 0;
    assert_int_equal(sizing_max_rate(q, &t, &rate, NULL), 0);
    assert_true(rate > 0.0 && rate < SIZING_MAX_UTILISATION * batchqueue_peak_rate(q));
    assert_true(at(q, rate).itl_ms <= 18.0);
    assert_true(at(q, rate * 1.0001).itl_ms > 18.0);
}

static void ttft_target_binds(void **state)
{
    struct batchqueue *q = *state;
    struct sizing_targets t = {.ttft_ms = 200.0};
    double rate = 0;
    assert_int_equal(sizing_max_rate(q, &t, &rate, NULL), 0);
    assert_true(at(q, rate).ttft_ms <= 200.0);
    assert_true(at(q, rate * 1.0001).ttft_ms > 200.0);
}

/* With both targets the tighter one decides. */
static void both_targets_take_the_tighter(void **state)
{
    struct batchqueue *q = *state;
    double r_itl = 0, r_ttft = 0, r_both = 0;
    struct sizing_targets itl = {.itl_ms = 18.0}, ttft = {.ttft_ms = 200.0};
    struct sizing_targets both = {.itl_ms = 18.0, .ttft_ms = 200.0};
    assert_int_equal(sizing_max_rate(q, &itl, &r_itl, NULL), 0);
    assert_int_equal(sizing_max_rate(q, &ttft, &r_ttft, NULL), 0);
    assert_int_equal(sizing_max_rate(q, &both, &r_both, NULL), 0);
    assert_true(fabs(r_both - fmin(r_itl, r_ttft)) <= 1e-6 * batchqueue_peak_rate(q));
}

/* Without targets (or with loose ones) a replica is filled to the cap. */
static void no_target_fills_to_the_cap(void **state)
{
    struct batchqueue *q = *state;
    double cap = SIZING_MAX_UTILISATION * batchqueue_peak_rate(q), rate = 0;
    struct sizing_targets none = {0};
    assert_int_equal(sizing_max_rate(q, &none, &rate, NULL), 0);
    assert_true(rate == cap);
    struct sizing_targets loose = {.itl_ms = 1e6, .ttft_ms = 1e9};
    assert_int_equal(sizing_max_rate(q, &loose, &rate, NULL), 0);
    assert_true(rate == cap);
}

static void unreachable_targets_say_which(void **state)
{
    struct batchqueue *q = *state;
    struct err e;
    double rate = -1;
    struct sizing_targets t = {.itl_ms = 10.0};
    assert_int_equal(sizing_max_rate(q, &t, &rate, &e), -ERANGE);
    assert_string_equal(e.msg, "ITL target 10 ms is below the ITL of a lone request (10.5 ms)");
    assert_true(rate == -1);
    t = (struct sizing_targets){.itl_ms = 100.0, .ttft_ms = 50.0};
    assert_int_equal(sizing_max_rate(q, &t, &rate, &e), -ERANGE);
    assert_string_equal(e.msg, "TTFT target 50 ms is below the TTFT of a lone request (52.56 ms)");
}

static void bad_targets_are_rejected(void **state)
{
    struct batchqueue *q = *state;
    struct err e;
    double rate;
    struct sizing_targets t = {.itl_ms = -1.0};
    assert_int_equal(sizing_max_rate(q, &t, &rate, &e), -EINVAL);
    assert_string_equal(e.msg, "ITL target must be a finite number >= 0, got -1");
    t = (struct sizing_targets){.ttft_ms = NAN};
    assert_int_equal(sizing_max_rate(q, &t, &rate, &e), -EINVAL);
    assert_string_equal(e.msg, "TTFT target must be a finite number >= 0, got nan");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(itl_target_binds),
        cmocka_unit_test(ttft_target_binds),
        cmocka_unit_test(both_targets_take_the_tighter),
        cmocka_unit_test(no_target_fills_to_the_cap),
        cmocka_unit_test(unreachable_targets_say_which),
        cmocka_unit_test(bad_targets_are_rejected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
