/*
 * The judge (judge.h) on cases whose answers are known: a replica that is
 * almost always idle serves each request alone (TTFT = prefill(1), ITL =
 * decode(1)); one offered twice what it can serve keeps few requests within
 * a target; the statistics of known samples; a server without replicas; a
 * run replayed from its seed. argv[1] is the samples/planner directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "planner/batchqueue.h"
#include "planner/judge.h"
#include "planner/plan_load.h"
#include "planner/solve.h"

static const char *samples;

static const struct perf_params perf = {.alpha = 10.0, .beta = 0.5, .gamma = 50.0,
                                        .delta = 0.01, .max_batch = 16, .at_tokens = 320};
static const struct perf_request shape = {.in_tokens = 256.0, .out_tokens = 64.0};

static struct judge_stats run_replica(double rate_per_ms, double seconds, double ttft_target, double itl_target)
{
    struct judge_replica r = {.perf = &perf, .req = shape, .max_batch = 16, .rate_per_ms = rate_per_ms};
    struct judge_options o = {.seconds = seconds, .seed = 7, .percentile = 95.0};
    struct judge_samples s = {0};
    assert_int_equal(judge_replica_run(&r, &o, 7, &s, NULL), 0);
    struct judge_stats st;
    judge_stats_of(&s, ttft_target, itl_target, 95.0, &st);
    free(s.req);
    return st;
}

/* One request every 100 s, each done in well under a second: nearly every
 * request has the replica to itself. */
static void idle_replica_serves_each_request_alone(void **state)
{
    (void)state;
    struct judge_stats st = run_replica(1e-5, 100000.0, 0.0, 0.0);
    double prefill1 = perfmodel_prefill_ms(&perf, shape.in_tokens, 1), decode1 = perfmodel_decode_ms(&perf, 1);
    printf("# %.0f requests: TTFT %.3f (prefill(1) %.3f), ITL %.3f (decode(1) %.3f)\n", st.requests,
           st.ttft.mean_ms, prefill1, st.itl.mean_ms, decode1);
    assert_true(st.requests > 800 && st.requests < 1200);
    assert_true(fabs(st.ttft.mean_ms - prefill1) / prefill1 < 0.01);
    assert_true(fabs(st.itl.mean_ms - decode1) / decode1 < 0.01);
    assert_int_equal(st.verdict, JUDGE_NO_TARGETS);
    assert_true(isnan(st.attained) == 0 && st.attained == 1.0);
}

/* At twice the rate the batch can serve the queue grows for the whole run:
 * almost no request starts within a target that an unloaded replica meets
 * easily, and the mean is far above it. At a third of that rate nearly all
 * of them do. */
static void overloaded_replica_misses(void **state)
{
    (void)state;
    struct batchqueue q;
    assert_int_equal(batchqueue_init(&q, &perf, &shape, 16, BATCHQUEUE_QUEUE_RATIO * 16, NULL), 0);
    double capacity = batchqueue_peak_rate(&q);
    batchqueue_free(&q);
    struct judge_stats light = run_replica(0.3 * capacity, 600.0, 500.0, 40.0);
    struct judge_stats heavy = run_replica(2.0 * capacity, 600.0, 500.0, 40.0);
    printf("# TTFT within 500 ms: %.1f%% at 30%% load, %.1f%% at 200%%\n", 100 * light.ttft.attained,
           100 * heavy.ttft.attained);
    assert_true(light.ttft.attained > 0.95);
    assert_int_equal(light.verdict, JUDGE_MEETS);
    assert_true(heavy.ttft.attained < 0.2);
    assert_true(heavy.ttft.mean_ms > 10 * 500.0);
    assert_int_equal(heavy.verdict, JUDGE_MISSES);
}

/* Nearest-rank percentiles, shares within targets, and the verdicts. */
static void statistics_of_known_samples(void **state)
{
    (void)state;
    struct judge_request req[20];
    for (int i = 0; i < 20; i++)
        req[i] = (struct judge_request){.ttft_ms = 100.0 * (i + 1), .itl_ms = i == 0 ? NAN : 10.0};
    struct judge_samples s = {.req = req, .n = 20};
    struct judge_stats st;
    judge_stats_of(&s, 1900.0, 0.0, 95.0, &st);
    assert_true(st.ttft.mean_ms == 1050.0);
    assert_true(st.ttft.tail_ms == 1900.0); /* the 19th of 20 */
    assert_true(st.ttft.attained == 0.95);
    assert_true(isnan(st.itl.attained));    /* no ITL target */
    assert_true(st.itl.mean_ms == 10.0);    /* the single-token request has no ITL */
    assert_int_equal(st.verdict, JUDGE_MEETS);
    judge_stats_of(&s, 1800.0, 0.0, 95.0, &st);
    assert_int_equal(st.verdict, JUDGE_MEAN_ONLY); /* 90% within, but the mean is */
    judge_stats_of(&s, 1000.0, 0.0, 95.0, &st);
    assert_int_equal(st.verdict, JUDGE_MISSES);
    judge_stats_of(&s, 0.0, 9.0, 95.0, &st);
    assert_true(fabs(st.attained - 0.05) < 1e-12); /* only the request without an ITL */
    assert_int_equal(st.verdict, JUDGE_MISSES);
    assert_string_equal(judge_verdict_name(JUDGE_MEAN_ONLY), "mean only");
}

static void load_sample(struct plan_system *sys, struct plan_result *r, enum plan_queue_model model)
{
    char path[512];
    snprintf(path, sizeof path, "%s/inferno-small", samples);
    struct err e;
    err_clear(&e);
    if (plan_load_path(path, sys, &e))
        fail_msg("%s", e.msg);
    sys->options.model = model;
    if (plan_solve(sys, r, &e))
        fail_msg("%s", e.msg);
}

/* The same seed replays the same requests, another seed draws others. */
static void a_seed_replays_the_run(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result plan;
    load_sample(&sys, &plan, PLAN_MODEL_COMPATIBLE);
    struct judge_options o = {.seconds = 120.0, .seed = 3, .percentile = 95.0};
    struct judge_result a, b, c;
    assert_int_equal(judge_plan(&sys, &plan, &o, &a, NULL), 0);
    assert_int_equal(judge_plan(&sys, &plan, &o, &b, NULL), 0);
    o.seed = 4;
    assert_int_equal(judge_plan(&sys, &plan, &o, &c, NULL), 0);
    assert_int_equal(a.n_servers, 15);
    assert_memory_equal(a.servers, b.servers, a.n_servers * sizeof *a.servers);
    assert_memory_equal(&a.overall, &b.overall, sizeof a.overall);
    assert_true(a.overall.ttft.mean_ms != c.overall.ttft.mean_ms);
    assert_true(a.cost == 43819.0);
    judge_result_free(&a);
    judge_result_free(&b);
    judge_result_free(&c);
    plan_result_free(&plan);
    plan_system_free(&sys);
}

/* gpuslice's greedy leaves Free-llama_70b 5 of its 106 replicas: simulated,
 * it drowns. A server the plan drops has every request missing. */
static void saturated_and_dropped_servers_miss(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result plan;
    load_sample(&sys, &plan, PLAN_MODEL_GPUSLICE);
    size_t free70 = 11;
    assert_string_equal(sys.servers[free70].name, "Free-llama_70b");
    assert_int_equal(plan.servers[free70].status, PLAN_SATURATED);
    struct judge_options o = {.seconds = 60.0, .seed = 1, .percentile = 95.0};
    struct judge_result j;
    assert_int_equal(judge_plan(&sys, &plan, &o, &j, NULL), 0);
    assert_int_equal(j.servers[free70].verdict, JUDGE_MISSES);
    assert_true(j.servers[free70].attained < 0.1);
    judge_result_free(&j);
    plan.servers[free70].alloc.acc = -1; /* as if it had been left out */
    assert_int_equal(judge_plan(&sys, &plan, &o, &j, NULL), 0);
    assert_int_equal(j.servers[free70].verdict, JUDGE_NO_REPLICAS);
    assert_true(j.servers[free70].attained == 0.0);
    assert_true(j.servers[free70].requests == 240.0); /* 240 per minute for a minute */
    assert_true(j.overall.attained < 1.0 && j.meeting < j.n_servers);
    judge_result_free(&j);
    plan_result_free(&plan);
    plan_system_free(&sys);
}

/* A server without load (arrivalRate 0) still gets a replica; judging it
 * finds no request to measure rather than refusing the run. */
static void a_server_without_load_is_judged(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result plan;
    char path[512];
    snprintf(path, sizeof path, "%s/inferno-small", samples);
    struct err e;
    err_clear(&e);
    if (plan_load_path(path, &sys, &e))
        fail_msg("%s", e.msg);
    sys.servers[0].rate_per_min = 0.0;
    if (plan_solve(&sys, &plan, &e))
        fail_msg("%s", e.msg);
    assert_true(plan.servers[0].alloc.acc >= 0 && plan.servers[0].alloc.replicas >= 1);
    struct judge_options o = {.seconds = 10.0, .seed = 1, .percentile = 95.0};
    struct judge_result j;
    err_clear(&e);
    if (judge_plan(&sys, &plan, &o, &j, &e))
        fail_msg("%s", e.msg);
    assert_true(j.servers[0].requests == 0.0);
    assert_int_equal(j.servers[0].verdict, JUDGE_MEETS);
    judge_result_free(&j);
    plan_result_free(&plan);
    plan_system_free(&sys);
}

static void refuses_bad_options(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result plan;
    load_sample(&sys, &plan, PLAN_MODEL_COMPATIBLE);
    struct judge_result j;
    struct err e;
    struct judge_options bad[] = {{0.0, 1, 95.0}, {60.0, 1, 100.0}, {60.0, 1, 0.0}, {1e9, 1, 95.0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&e);
        assert_int_equal(judge_plan(&sys, &plan, &bad[i], &j, &e), -EINVAL);
        printf("# %s\n", e.msg);
    }
    assert_non_null(strstr(e.msg, "simulate fewer seconds"));
    struct judge_replica r = {.perf = &perf, .req = shape, .max_batch = 0, .rate_per_ms = 1.0};
    struct judge_samples s = {0};
    assert_int_equal(judge_replica_run(&r, &bad[1], 1, &s, NULL), -EINVAL);
    plan_result_free(&plan);
    plan_system_free(&sys);
}

int main(int argc, char **argv)
{
    samples = argc > 1 ? argv[1] : "samples/planner";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_replica_serves_each_request_alone),
        cmocka_unit_test(overloaded_replica_misses),
        cmocka_unit_test(statistics_of_known_samples),
        cmocka_unit_test(a_seed_replays_the_run),
        cmocka_unit_test(saturated_and_dropped_servers_miss),
        cmocka_unit_test(a_server_without_load_is_judged),
        cmocka_unit_test(refuses_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
