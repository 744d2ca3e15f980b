/* The slice log: a GPUSlice's record from its decision to its end, on the
 * right GPU of the cluster, ones the cluster cannot place left out, those
 * still there closed at the run's end; and a run with slices asked for
 * records one per pod where the controller put them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scenario_text.h"
#include "sim/engine.h"
#include "sim/slicelog.h"

static struct gpuslice_view view(const char *name, const char *node, unsigned gpu,
                                 const char *profile, unsigned start, unsigned size)
{
    return (struct gpuslice_view){.name = name, .ns = "batch",
                                  .spec = {.node = node, .gpu_index = gpu, .profile = profile,
                                           .start = start, .size = size}};
}

static void records_follow_each_slice(void **state)
{
    (void)state;
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text("cluster: {nodes: [{name: a, gpus: [{model: A100-40GB}]},\n"
                                   "  {name: b, gpus: [{model: A100-40GB}, {model: H100-80GB}]}]}\n"
                                   "workload: []\n", &sc, &e), 0);
    struct slicelog *l = slicelog_new(sc.cluster);
    struct gpuslice_view one = view("p1", "b", 1, "3g.40gb", 4, 4);
    struct gpuslice_view two = view("p2", "a", 0, "1g.5gb", 6, 1);
    slicelog_added(l, &one, 10);
    slicelog_added(l, &two, 20);
    slicelog_added(l, &one, 25); /* seen again: the first stands */
    /* Not on the cluster: an unknown node, a GPU past the node's, a
     * profile the model lacks. */
    struct gpuslice_view bad[3] = {view("x", "c", 0, "1g.5gb", 0, 1),
                                   view("y", "a", 1, "1g.5gb", 0, 1),
                                   view("z", "a", 0, "1g.20gb", 0, 1)};
    for (int i = 0; i < 3; i++)
        slicelog_added(l, &bad[i], 30);
    slicelog_gone(l, &one, 40);
    slicelog_gone(l, &bad[0], 41); /* never logged: nothing */
    struct outcome out = {0};
    slicelog_finish(l, 100, &out);
    assert_int_equal(out.n_slices, 2);
    const struct gpu_model *h100 = catalog_find_model("H100-80GB");
    assert_int_equal(out.slices[0].gpu, 2);
    assert_int_equal(out.slices[0].from_ns, 10);
    assert_int_equal(out.slices[0].to_ns, 40);
    assert_int_equal(out.slices[0].start, 4);
    assert_int_equal(out.slices[0].size, 4);
    assert_ptr_equal(&h100->profiles[out.slices[0].profile], catalog_find_profile(h100, "3g.40gb"));
    assert_int_equal(out.slices[1].gpu, 0);
    assert_int_equal(out.slices[1].to_ns, 100); /* still there at the end */
    /* The log is empty after: a second finish hands over nothing. */
    slicelog_finish(l, 200, &out);
    assert_int_equal(out.n_slices, 0);
    slicelog_free(l);
    slicelog_free(NULL);
    outcome_free(&out);
    scenario_free(&sc);
}

static void a_run_records_a_slice_per_pod(void **state)
{
    (void)state;
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text(ENVELOPE_CLUSTER "workload: [{count: 10, profile: 1g.5gb, "
                                                    "runSeconds: 3, namespace: batch}]\n",
                                   &sc, &e), 0);
    struct outcome out;
    assert_int_equal(engine_run(&sc, &(struct engine_options){.seed = 1}, &out, &e), 0);
    assert_null(out.slices); /* not asked for */
    outcome_free(&out);
    assert_int_equal(engine_run(&sc, &(struct engine_options){.seed = 1, .slices = true}, &out,
                                &e), 0);
    assert_int_equal(out.n_slices, 10);
    int64_t end = out.timeline[out.n_timeline - 1].t_ns;
    for (size_t i = 0; i < out.n_slices; i++) {
        const struct outcome_slice *s = &out.slices[i];
        assert_true(s->gpu < 2);
        assert_true(s->start < 4); /* around the 3g.20gb at 4 */
        assert_int_equal(s->size, 1);
        /* Held for at least create + run + destroy. */
        assert_true(s->to_ns - s->from_ns >= 4500 * NS_PER_MS);
        assert_true(s->to_ns <= end);
        if (i > 0)
            assert_true(s->from_ns >= out.slices[i - 1].from_ns);
    }
    outcome_free(&out);
    scenario_free(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_follow_each_slice),
        cmocka_unit_test(a_run_records_a_slice_per_pod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
