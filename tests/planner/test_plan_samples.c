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
        cmocka_unit_test(small_sample),
        cmocka_unit_test(large_sample_greedy_and_milp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
