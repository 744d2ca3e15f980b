/* The reference experiments in samples/sim/: each scenario listed in
 * expected.json runs to completion with every pod done, one create and one
 * destroy per pod (or the creates and destroys it lists: warm slices save
 * them), the lower bound expected, and the makespan within the range given
 * (the bound to 1.15 times it). Ranges, never timings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <math.h>

#include "sim/bound.h"
#include "sim/engine.h"

static const char *samples_dir;

/* Loads samples_dir/name into *sc and runs it into *out. */
static void run_sample(const char *name, struct scenario *sc, struct outcome *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", samples_dir, name);
    struct err e = {0};
    if (scenario_load(sc, path, &e) < 0)
        fail_msg("%s", e.msg);
    if (engine_run(sc, &(struct engine_options){0}, out, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
}

static void check_sample(const char *name, const json_t *want)
{
    struct scenario sc;
    struct outcome out;
    run_sample(name, &sc, &out);
    struct bound b;
    bound_compute(&sc, &b);
    json_int_t pods = json_integer_value(json_object_get(want, "pods"));
    const json_t *range = json_object_get(want, "makespanSeconds");
    double lo = json_number_value(json_array_get(range, 0));
    double hi = json_number_value(json_array_get(range, 1));
    const struct outcome_summary *s = &out.summary;
    print_message("%s: makespan %.3f s, bound %.3f s\n", name, s->makespan_s, b.seconds);
    assert_int_equal(s->pods, pods);
    assert_int_equal(s->pods_completed, pods);
    const json_t *creates = json_object_get(want, "creates");
    const json_t *destroys = json_object_get(want, "destroys");
    assert_int_equal(s->creates, creates ? json_integer_value(creates) : pods);
    assert_int_equal(s->destroys, destroys ? json_integer_value(destroys) : pods);
    assert_false(s->stalled);
    assert_true(fabs(b.seconds - json_number_value(json_object_get(want, "lowerBoundSeconds"))) <
                1e-6);
    if (s->makespan_s < lo || s->makespan_s > hi)
        fail_msg("%s: makespan %.3f s outside [%.3f, %.3f]", name, s->makespan_s, lo, hi);
    outcome_free(&out);
    scenario_free(&sc);
}

/* Runs check on every sample that file (in the samples folder) holds
 * expectations for; how many there were. */
static size_t check_each(const char *file, void (*check)(const char *, const json_t *))
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", samples_dir, file);
    json_error_t je;
    json_t *expected = json_load_file(path, 0, &je);
    if (!expected)
        fail_msg("%s: %s", path, je.text);
    const char *name;
    json_t *want;
    size_t n = 0;
    json_object_foreach(expected, name, want) {
        if (json_is_object(want)) {
            check(name, want);
            n++;
        }
    }
    json_decref(expected);
    return n;
}

static void the_envelope_meets_its_ranges(void **state)
{
    (void)state;
    assert_true(check_each("expected.json", check_sample) >= 5);
}

/* The MIG-Adapter sample (mig-adapter.yaml): the second Deployment's
 * second pod runs upgraded after its 5 s, and the first Deployment's
 * deletion restores it, so the ReplicaSet makes a fourth pod; the
 * mig-static GPU sees no create or destroy. */
static void the_mig_adapter_sample_upgrades_and_restores(void **state)
{
    (void)state;
    struct scenario sc;
    struct outcome out;
    run_sample("mig-adapter.yaml", &sc, &out);
    assert_int_equal(out.summary.pods, 4);
    assert_int_equal(out.summary.creates, 0);
    assert_int_equal(out.summary.destroys, 0);
    assert_false(out.summary.stalled);
    outcome_free(&out);
    scenario_free(&sc);
}

/* The workload entry of out named name, or fails. */
static const struct outcome_workload *workload_named(const struct outcome *out,
                                                     const char *name)
{
    for (size_t w = 0; w < out->n_workloads; w++)
        if (strcmp(out->workloads[w].name, name) == 0)
            return &out->workloads[w];
    fail_msg("no workload %s", name);
    return NULL;
}

/* One sharing sample: each Deployment listed did units of work and their
 * mean time is within the range given around the published figure (or,
 * for MPS clients with an SM share the published runs lacked, the model's
 * figure for it). */
static void check_sharing_sample(const char *name, const json_t *want)
{
    struct scenario sc;
    struct outcome out;
    run_sample(name, &sc, &out);
    assert_false(out.summary.stalled);
    const char *item;
    json_t *w;
    json_object_foreach((json_t *)want, item, w) {
        const json_t *range = json_object_get(w, "meanInferenceSeconds");
        if (!range)
            continue;
        const struct outcome_workload *wl = workload_named(&out, item);
        double lo = json_number_value(json_array_get(range, 0));
        double hi = json_number_value(json_array_get(range, 1));
        print_message("%s %s: %.5f s over %llu units (published %.5f s)\n", name, item,
                      wl->mean_inference_s, (unsigned long long)wl->inference_units,
                      json_number_value(json_object_get(w, "published")));
        if (json_object_get(w, "model"))
            print_message("  the model for its SM share: %.5f s\n",
                          json_number_value(json_object_get(w, "model")));
        assert_true(wl->inference);
        assert_true(wl->inference_units > 0);
        if (wl->mean_inference_s < lo || wl->mean_inference_s > hi)
            fail_msg("%s %s: %.5f s outside [%.5f, %.5f]", name, item, wl->mean_inference_s,
                     lo, hi);
    }
    outcome_free(&out);
    scenario_free(&sc);
}

/* The published GPU-sharing experiment (sharing-expected.json). */
static void the_sharing_samples_reproduce_the_published_table(void **state)
{
    (void)state;
    /* MIG, MPS, time-slicing */
    assert_true(check_each("sharing-expected.json", check_sharing_sample) >= 3);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SAMPLES_SIM_DIR\n", argv[0]);
        return 2;
    }
    samples_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_envelope_meets_its_ranges),
        cmocka_unit_test(the_mig_adapter_sample_upgrades_and_restores),
        cmocka_unit_test(the_sharing_samples_reproduce_the_published_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
