/*
 * Sizing against the judge (plan_judged.h) on samples/planner/small, whose
 * plans sized for the means leave three of five servers missing their
 * targets as judged: every failing server ends up meeting them, only the
 * failing servers' targets are tightened, the cost never drops below the
 * unsized plan's, zero rounds is the unsized plan, the same seed gives the
 * same plan, and a server stopped for capacity says so. argv[1] is the
 * samples/planner directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "planner/plan_judged.h"
#include "planner/plan_load.h"
#include "planner/solve.h"

static const char *samples;
static const struct judge_options opts = {.seconds = 600.0, .seed = 3, .percentile = 95.0};

static void load(struct plan_system *sys, enum plan_queue_model model)
{
    char path[512];
    snprintf(path, sizeof path, "%s/small", samples);
    struct err e;
    if (plan_load_path(path, sys, &e))
        fail_msg("%s", e.msg);
    sys->options.model = model;
}

struct sized {
    struct plan_result plan;
    struct judge_result judged;
    struct plan_judged_report rep;
};

static void size(const struct plan_system *sys, int rounds, struct sized *out)
{
    struct err e;
    if (plan_solve_judged(sys, &opts, rounds, &out->plan, &out->judged, &out->rep, &e))
        fail_msg("%s", e.msg);
}

static void sized_free(struct sized *s)
{
    plan_result_free(&s->plan);
    judge_result_free(&s->judged);
    plan_judged_report_free(&s->rep);
}

static bool meets(const struct judge_stats *st)
{
    return st->verdict == JUDGE_MEETS || st->verdict == JUDGE_NO_TARGETS;
}

static void failing_servers_come_to_meet(enum plan_queue_model model)
{
    struct plan_system sys;
    load(&sys, model);
    struct sized before = {0}, after = {0};
    size(&sys, 0, &before);
    size(&sys, PLAN_JUDGED_MAX_ROUNDS, &after);
    printf("# %s: %zu of %zu meet at %.2f; sized by the judge in %d rounds: %zu at %.2f\n",
           plan_queue_model_name(model), before.judged.meeting, sys.n_servers, before.plan.total_cost,
           after.rep.rounds, after.judged.meeting, after.plan.total_cost);
    assert_int_equal(before.rep.rounds, 0);
    assert_true(before.judged.meeting < sys.n_servers);
    assert_int_equal(after.judged.meeting, sys.n_servers);
    assert_int_equal(after.rep.unsized_meeting, before.judged.meeting);
    assert_true(after.rep.unsized_cost == before.plan.total_cost);
    assert_true(after.plan.total_cost >= before.plan.total_cost);
    assert_true(after.rep.rounds >= 1 && after.rep.rounds <= PLAN_JUDGED_MAX_ROUNDS);
    for (size_t i = 0; i < sys.n_servers; i++) {
        const struct plan_target *t = sys.servers[i].target;
        const struct plan_judged_server *s = &after.rep.servers[i];
        assert_int_equal(s->stop, PLAN_JUDGED_MEETS);
        assert_true(after.plan.servers[i].alloc.cost >= before.plan.servers[i].alloc.cost);
        if (meets(&before.judged.servers[i])) { /* left as it was */
            assert_int_equal(s->steps, 0);
            assert_true(s->ttft_ms == t->ttft_ms && s->itl_ms == t->itl_ms);
        } else {
            assert_true(s->steps >= 1);
            assert_true(s->ttft_ms < t->ttft_ms || s->itl_ms < t->itl_ms);
            assert_true(s->ttft_ms >= t->ttft_ms * pow(PLAN_JUDGED_STEP_MIN, s->steps));
        }
    }
    /* The judge still reads the input's targets, not the tightened ones. */
    for (size_t i = 0; i < sys.n_servers; i++)
        assert_true(after.judged.servers[i].ttft.target_ms == sys.servers[i].target->ttft_ms);
    sized_free(&before);
    sized_free(&after);
    plan_system_free(&sys);
}

static void compatible_plan_comes_to_meet(void **state)
{
    (void)state;
    failing_servers_come_to_meet(PLAN_MODEL_COMPATIBLE);
}

static void gpuslice_plan_comes_to_meet(void **state)
{
    (void)state;
    failing_servers_come_to_meet(PLAN_MODEL_GPUSLICE);
}

static void a_seed_replays_the_sizing(void **state)
{
    (void)state;
    struct plan_system sys;
    load(&sys, PLAN_MODEL_COMPATIBLE);
    struct sized a = {0}, b = {0};
    size(&sys, PLAN_JUDGED_MAX_ROUNDS, &a);
    size(&sys, PLAN_JUDGED_MAX_ROUNDS, &b);
    assert_int_equal(a.rep.rounds, b.rep.rounds);
    assert_true(a.plan.total_cost == b.plan.total_cost);
    for (size_t i = 0; i < sys.n_servers; i++) {
        assert_int_equal(a.plan.servers[i].alloc.replicas, b.plan.servers[i].alloc.replicas);
        assert_true(a.rep.servers[i].ttft_ms == b.rep.servers[i].ttft_ms);
    }
    sized_free(&a);
    sized_free(&b);
    plan_system_free(&sys);
}

/* With the A100s and H100s cut to what the unsized plan uses, a server
 * that needs more replicas to meet its targets cannot have them: it keeps
 * its allocation and stops for capacity, and no server loses its own. */
static void capacity_stops_a_server(void **state)
{
    (void)state;
    struct plan_system sys;
    load(&sys, PLAN_MODEL_COMPATIBLE);
    struct sized before = {0}, after = {0};
    size(&sys, 0, &before);
    for (size_t t = 0; t < sys.n_types; t++)
        if (sys.types[t].count >= 0)
            sys.types[t].count = before.plan.used[t];
    sized_free(&before);
    size(&sys, 0, &before);
    size(&sys, PLAN_JUDGED_MAX_ROUNDS, &after);
    size_t stopped = 0;
    for (size_t i = 0; i < sys.n_servers; i++) {
        if (before.plan.servers[i].status == PLAN_OK)
            assert_int_equal(after.plan.servers[i].status, PLAN_OK);
        stopped += after.rep.servers[i].stop == PLAN_JUDGED_NO_CAPACITY;
    }
    printf("# capacity as used: %zu of %zu meet, %zu stopped for capacity, cost %.2f\n", after.judged.meeting,
           sys.n_servers, stopped, after.plan.total_cost);
    assert_true(stopped >= 1);
    assert_true(after.judged.meeting < sys.n_servers);
    assert_true(after.plan.total_cost >= before.plan.total_cost);
    sized_free(&before);
    sized_free(&after);
    plan_system_free(&sys);
}

static void refuses_bad_rounds(void **state)
{
    (void)state;
    struct plan_system sys;
    load(&sys, PLAN_MODEL_COMPATIBLE);
    struct sized s = {0};
    struct err e;
    assert_int_equal(plan_solve_judged(&sys, &opts, -1, &s.plan, &s.judged, &s.rep, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "rounds"));
    struct judge_options bad = opts;
    bad.seconds = 0.0;
    assert_int_equal(plan_solve_judged(&sys, &bad, 3, &s.plan, &s.judged, &s.rep, &e), -EINVAL);
    assert_null(s.rep.servers);
    assert_string_equal(plan_judged_stop_name(PLAN_JUDGED_NO_CAPACITY), "no capacity");
    plan_system_free(&sys);
}

int main(int argc, char **argv)
{
    samples = argc > 1 ? argv[1] : "samples/planner";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compatible_plan_comes_to_meet),
        cmocka_unit_test(gpuslice_plan_comes_to_meet),
        cmocka_unit_test(a_seed_replays_the_sizing),
        cmocka_unit_test(capacity_stops_a_server),
        cmocka_unit_test(refuses_bad_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
