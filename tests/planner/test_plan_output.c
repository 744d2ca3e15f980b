/*
 * Tests for planner/plan_output and planner/plan_run: the allocation JSON
 * keeps the optimizer's shape and adds gpuslice's fields, servers left out
 * are listed with reasons, the table has a line per server, and plan_run
 * goes from text to text with errors for bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "planner/plan_load.h"
#include "planner/plan_output.h"
#include "planner/plan_run.h"
#include "planner/solve.h"
#include "plan_fixture.h"

static void solve_text(const char *text, struct plan_system *sys, struct plan_result *r)
{
    json_t *root = json_loads(text, 0, NULL);
    assert_non_null(root);
    struct err e;
    err_clear(&e);
    if (plan_load_json(root, "test.json", sys, &e) || plan_solve(sys, r, &e))
        fail_msg("%s", e.msg);
    json_decref(root);
}

/* What plan_result_table() writes for r (malloc'd). */
static char *table_text(const struct plan_system *sys, const struct plan_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(plan_result_table(sys, r, f), 0);
    fclose(f);
    return buf;
}

/* The fixture with one edit, solved. */
static void solve_edited(const char *from, const char *to, struct plan_system *sys, struct plan_result *r)
{
    char *text = fixture_edit(PLAN_FIXTURE, from, to);
    assert_non_null(text);
    solve_text(text, sys, r);
    free(text);
}

static void json_has_the_optimizer_shape(void **state)
{
    (void)state;
    char *text = fixture_edit(PLAN_FIXTURE, "\"slo-itl\": 40", "\"slo-itl\": 5");
    struct plan_system sys;
    struct plan_result r;
    solve_text(text, &sys, &r);
    json_t *doc = plan_result_json(&sys, &r);
    assert_non_null(doc);
    json_t *b = json_object_get(json_object_get(doc, "allocations"), "b");
    assert_non_null(b);
    const char *acc, *status, *resource;
    json_int_t replicas, batch, per;
    double cost, itl, ttft, util, rate, in, out;
    assert_int_equal(json_unpack(b, "{s:s, s:I, s:I, s:F, s:F, s:F, s:{s:F, s:F, s:F}, s:s, s:F, s:s, s:I}",
                                 "accelerator", &acc, "numReplicas", &replicas, "maxBatch", &batch, "cost", &cost,
                                 "itlAverage", &itl, "ttftAverage", &ttft, "load", "arrivalRate", &rate,
                                 "avgInTokens", &in, "avgOutTokens", &out, "status", &status, "utilisation",
                                 &util, "resource", &resource, "resourcesPerReplica", &per),
                     0);
    const struct plan_server_result *rb = &r.servers[1];
    assert_string_equal(acc, sys.accelerators[rb->alloc.acc].name);
    assert_int_equal(replicas, rb->alloc.replicas);
    assert_int_equal(batch, rb->alloc.max_batch);
    assert_true(rate == 600 && in == 256 && out == 512);
    assert_string_equal(status, "ok");
    assert_int_equal(per, 1);
    assert_true(strcmp(resource, "nvidia.com/gpu") == 0 || strcmp(resource, "nvidia.com/mig-3g.40gb") == 0);
    /* p has no accelerator that meets ITL 5 ms: left out with the reason. */
    assert_null(json_object_get(json_object_get(doc, "allocations"), "p"));
    json_t *p = json_object_get(json_object_get(doc, "unallocated"), "p");
    assert_string_equal(json_string_value(json_object_get(p, "status")), "infeasible");
    assert_non_null(strstr(json_string_value(json_object_get(p, "reason")), "ITL target 5 ms"));
    json_t *summary = json_object_get(doc, "summary");
    assert_string_equal(json_string_value(json_object_get(summary, "solver")), "greedy");
    assert_true(json_real_value(json_object_get(summary, "totalCost")) == rb->alloc.cost);
    json_t *a100 = json_object_get(json_object_get(summary, "capacity"), "A100-80GB");
    assert_int_equal(json_integer_value(json_object_get(a100, "count")), 8);
    json_decref(doc);
    plan_result_free(&r);
    plan_system_free(&sys);
    free(text);
}

static void table_lists_every_server(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result r;
    solve_text(PLAN_FIXTURE, &sys, &r);
    char *buf = table_text(&sys, &r);
    assert_non_null(strstr(buf, "SERVER "));
    assert_non_null(strstr(buf, "\np "));
    assert_non_null(strstr(buf, "\nb "));
    assert_non_null(strstr(buf, "solver greedy"));
    assert_non_null(strstr(buf, "A100-80GB"));
    free(buf);
    plan_result_free(&r);
    plan_system_free(&sys);
}

/* A target given as 0 is none: the plan says so instead of a bare "ok". */
static void zero_target_is_reported_as_none(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result r;
    solve_edited("\"slo-itl\": 40", "\"slo-itl\": 0", &sys, &r);
    json_t *doc = plan_result_json(&sys, &r), *allocs = json_object_get(doc, "allocations");
    assert_string_equal(json_string_value(json_object_get(json_object_get(allocs, "p"), "targets")),
                        "no ITL target");
    assert_null(json_object_get(json_object_get(allocs, "b"), "targets"));
    char *buf = table_text(&sys, &r);
    assert_non_null(strstr(buf, " ok, no ITL target\n"));
    free(buf);
    json_decref(doc);
    plan_result_free(&r);
    plan_system_free(&sys);
}

/* The compare table has a row per server and the totals of both plans. */
static void compare_table_has_both_plans(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result a, b;
    solve_text(PLAN_FIXTURE, &sys, &a);
    sys.options.model = PLAN_MODEL_COMPATIBLE;
    assert_int_equal(plan_solve(&sys, &b, NULL), 0);
    char *buf = NULL, want[256];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(plan_compare_table(&sys, &b, &a, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\np "));
    assert_non_null(strstr(buf, "\nb "));
    snprintf(want, sizeof want, "%10.2f %9.2f\n", a.total_cost, a.served_per_min);
    assert_non_null(strstr(buf, want)); /* the gpuslice plan's totals end the TOTAL row */
    free(buf);
    plan_result_free(&a);
    plan_result_free(&b);
    plan_system_free(&sys);
}

static void run_text_to_text(void **state)
{
    (void)state;
    char *out = NULL;
    struct err e;
    err_clear(&e);
    assert_int_equal(plan_run_text(PLAN_FIXTURE, strlen(PLAN_FIXTURE), "body", &out, &e), 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(json_object_get(json_object_get(doc, "allocations"), "p"));
    json_decref(doc);
    free(out);
    out = NULL;
    assert_int_equal(plan_run_text("{\"system\": ", 11, "body", &out, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "body:1:"));
    assert_null(out);
    char *bad = fixture_edit(PLAN_FIXTURE, "\"arrivalRate\": 600", "\"arrivalRate\": -1");
    assert_int_equal(plan_run_text(bad, strlen(bad), "body", &out, &e), -EINVAL);
    assert_string_equal(e.msg, "body:1:1205: system.serverData.servers[1].currentAlloc.load.arrivalRate must be > 0, got -1");
    free(bad);
}

static void names_of_policies_and_statuses(void **state)
{
    (void)state;
    enum plan_saturation s;
    assert_int_equal(plan_saturation_parse("priorityexhaustive", &s, NULL), 0);
    assert_int_equal(s, PLAN_SAT_PRIORITY_EXHAUSTIVE);
    assert_string_equal(plan_saturation_name(s), "PriorityExhaustive");
    assert_int_equal(plan_saturation_parse("x", &s, NULL), -EINVAL);
    assert_string_equal(plan_status_name(PLAN_SATURATED), "saturated");
    assert_string_equal(plan_status_name(PLAN_UNALLOCATED), "unallocated");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_has_the_optimizer_shape),
        cmocka_unit_test(table_lists_every_server),
        cmocka_unit_test(zero_target_is_reported_as_none),
        cmocka_unit_test(compare_table_has_both_plans),
        cmocka_unit_test(run_text_to_text),
        cmocka_unit_test(names_of_policies_and_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
