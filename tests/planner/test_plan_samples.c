/*
 * The samples under samples/planner plan to the expected plans stored next
 * to them (numbers within a relative 1e-6, so that the last printed digit
 * may differ between compilers), and on the larger sample the MILP costs no
 * more than the greedy. argv[1] is the samples/planner directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "planner/plan_load.h"
#include "planner/plan_output.h"
#include "planner/solve.h"

static const char *samples;

/* json_equal, but reals within a relative tolerance; says where they part. */
static bool close_enough(const json_t *a, const json_t *b, char *where, size_t len)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return fabs(x - y) <= 1e-6 * fmax(1.0, fabs(y));
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            size_t n = strlen(where);
            snprintf(where + n, len - n, ".%s", k);
            if (!close_enough(v, json_object_get(b, k), where, len))
                return false;
            where[n] = '\0';
        }
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!close_enough(json_array_get(a, i), json_array_get(b, i), where, len))
                return false;
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* Plans the sample (with the MILP when milp), checks it against the
 * expected file, and returns the total cost. */
static double check(const char *sample, bool milp, const char *expected)
{
    char path[600], want_path[600];
    snprintf(path, sizeof path, "%s/%s", samples, sample);
    snprintf(want_path, sizeof want_path, "%s/%s", samples, expected);
    struct plan_system sys;
    struct plan_result r;
    struct err e;
    err_clear(&e);
    if (plan_load_path(path, &sys, &e))
        fail_msg("%s", e.msg);
    sys.options.milp = milp;
    if (plan_solve(&sys, &r, &e))
        fail_msg("%s", e.msg);
    json_t *got = plan_result_json(&sys, &r);
    json_error_t je;
    json_t *want = json_load_file(want_path, 0, &je);
    if (!want)
        fail_msg("%s: %s", want_path, je.text);
    char where[512] = "";
    if (!close_enough(got, want, where, sizeof where)) {
        char *text = json_dumps(got, PLAN_JSON_DUMP_FLAGS);
        fail_msg("%s differs from %s at %s; the plan is now:\n%s", sample, expected, where, text);
    }
    double cost = r.total_cost;
    json_decref(got);
    json_decref(want);
    plan_result_free(&r);
    plan_system_free(&sys);
    return cost;
}

/* Relative difference of got from want. */
static double rel(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), 1e-12);
}

/* The plan of the optimizer's published sample (path: its directory or
 * its bundled file) in the compatible model, server by server against the
 * allocation the optimizer published: accelerator, replicas and batch
 * exactly, cost within 0.5 %, ITL and TTFT within 1 %. */
static void check_published(const char *path)
{
    char dir[600], want_path[700];
    snprintf(dir, sizeof dir, "%s/inferno-small", samples);
    snprintf(want_path, sizeof want_path, "%s/solution-data.json", dir);
    struct plan_system sys;
    struct plan_result r;
    struct err e;
    err_clear(&e);
    if (plan_load_path(path, &sys, &e) || plan_solve(&sys, &r, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(sys.options.model, PLAN_MODEL_COMPATIBLE); /* the default */
    json_error_t je;
    json_t *doc = json_load_file(want_path, 0, &je), *want = json_object_get(doc, "allocations");
    if (!want)
        fail_msg("%s: %s", want_path, je.text);
    assert_int_equal(json_object_size(want), sys.n_servers);
    for (size_t i = 0; i < sys.n_servers; i++) {
        const char *name = sys.servers[i].name;
        const json_t *w = json_object_get(want, name);
        const struct plan_server_result *got = &r.servers[i];
        if (!w || got->status != PLAN_OK)
            fail_msg("%s: published %s, planned %s", name, w ? "allocated" : "nothing",
                     plan_status_name(got->status));
        const char *acc = sys.accelerators[got->alloc.acc].name;
        double cost = json_number_value(json_object_get(w, "cost"));
        double itl = json_number_value(json_object_get(w, "itlAverage"));
        double ttft = json_number_value(json_object_get(w, "ttftAverage"));
        if (strcmp(acc, json_string_value(json_object_get(w, "accelerator"))) != 0 ||
            got->alloc.replicas != json_integer_value(json_object_get(w, "numReplicas")) ||
            got->alloc.max_batch != json_integer_value(json_object_get(w, "maxBatch")) ||
            rel(got->alloc.cost, cost) > 0.005 || rel(got->alloc.itl_ms, itl) > 0.01 ||
            rel(got->alloc.ttft_ms, ttft) > 0.01)
            fail_msg("%s: published %s x%d batch %d cost %g ITL %g TTFT %g; planned %s x%d batch %d cost %g "
                     "ITL %g TTFT %g",
                     name, json_string_value(json_object_get(w, "accelerator")),
                     (int)json_integer_value(json_object_get(w, "numReplicas")),
                     (int)json_integer_value(json_object_get(w, "maxBatch")), cost, itl, ttft, acc,
                     got->alloc.replicas, got->alloc.max_batch, got->alloc.cost, got->alloc.itl_ms,
                     got->alloc.ttft_ms);
    }
    json_decref(doc);
    plan_result_free(&r);
    plan_system_free(&sys);
}

static void inferno_small_gives_the_published_allocation(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/inferno-small", samples);
    check_published(path);
    snprintf(path, sizeof path, "%s/inferno-small/system-data.json", samples);
    check_published(path);
}

/* No server of the sample has two cheapest candidates at the same cost, so
 * the published allocation is fully determined by the model: no tie is
 * broken arbitrarily. */
static void inferno_small_has_no_equal_cost_ties(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/inferno-small", samples);
    struct plan_system sys;
    struct plan_candidates *cands;
    struct err e;
    err_clear(&e);
    if (plan_load_path(path, &sys, &e) || plan_candidates_build(&sys, &cands, &e))
        fail_msg("%s", e.msg);
    for (size_t s = 0; s < sys.n_servers; s++)
        for (size_t k = 1; k < cands[s].n; k++)
            if (cands[s].c[k].value == cands[s].c[k - 1].value)
                fail_msg("%s: candidates %zu and %zu cost the same", sys.servers[s].name, k - 1, k);
    plan_candidates_free(cands, sys.n_servers);
    plan_system_free(&sys);
}

/* The optimizer's sample planned by the greedy and by the MILP, both in the
 * compatible model, with every capacity count scaled by share. */
static void greedy_and_milp(double share, struct plan_result *greedy, struct plan_result *milp)
{
    char path[600];
    snprintf(path, sizeof path, "%s/inferno-small", samples);
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    if (plan_load_path(path, &sys, &e))
        fail_msg("%s", e.msg);
    for (size_t t = 0; t < sys.n_types; t++)
        sys.types[t].count = (long)floor(share * (double)sys.types[t].count);
    if (plan_solve(&sys, greedy, &e))
        fail_msg("%s", e.msg);
    sys.options.milp = true;
    if (plan_solve(&sys, milp, &e))
        fail_msg("%s", e.msg);
    plan_system_free(&sys);
}

/* In the compatible model the MILP is never dearer than the greedy for the
 * same served load: on the sample as published both serve everything, and
 * with capacity cut to 60% the MILP serves at least as much; the plan says
 * what load each server is left without, and the totals add up. */
static void inferno_small_milp_never_dearer(void **state)
{
    (void)state;
    const double shares[] = {1.0, 0.6};
    for (size_t i = 0; i < 2; i++) {
        struct plan_result g, m;
        greedy_and_milp(shares[i], &g, &m);
        assert_string_equal(m.solver, "milp");
        print_message("capacity x%.1f: greedy %.2f/h serving %.2f req/min, MILP %.2f/h serving %.2f\n", shares[i],
                      g.total_cost, g.served_per_min, m.total_cost, m.served_per_min);
        assert_true(m.served_per_min >= g.served_per_min - 1e-9);
        if (fabs(m.served_per_min - g.served_per_min) < 1e-9)
            assert_true(m.total_cost <= g.total_cost + 1e-9);
        for (const struct plan_result *r = &g; r; r = r == &g ? &m : NULL) {
            double unserved = 0;
            for (size_t s = 0; s < r->n_servers; s++) {
                unserved += r->servers[s].unserved_per_min;
                assert_true((r->servers[s].unserved_per_min > 0) == (r->servers[s].status != PLAN_OK));
            }
            assert_true(fabs(unserved - r->unserved_per_min) < 1e-6);
            assert_true(fabs(r->served_per_min + r->unserved_per_min - 2100.0) < 1e-6);
        }
        if (i == 0)
            assert_true(g.unserved_per_min == 0.0 && m.unserved_per_min == 0.0);
        plan_result_free(&g);
        plan_result_free(&m);
    }
}

static void small_sample(void **state)
{
    (void)state;
    check("small", false, "small/expected-plan.json");
}

static void large_sample_greedy_and_milp(void **state)
{
    (void)state;
    double greedy = check("large.json", false, "large-expected-greedy.json");
    double milp = check("large.json", true, "large-expected-milp.json");
    assert_true(milp <= greedy);
}

int main(int argc, char **argv)
{
    samples = argc > 1 ? argv[1] : "samples/planner";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inferno_small_gives_the_published_allocation),
        cmocka_unit_test(inferno_small_has_no_equal_cost_ties),
        cmocka_unit_test(inferno_small_milp_never_dearer),
        cmocka_unit_test(small_sample),
        cmocka_unit_test(large_sample_greedy_and_milp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
