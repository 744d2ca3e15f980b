/* The makespan's lower bound: the envelope's two terms by hand (device
 * time wins), slots winning where the device is cheap, placements counted
 * around existing slices and settings, and the mixed bound's terms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <math.h>

#include "scenario_text.h"
#include "sim/bound.h"

static struct bound bound_of(const char *text)
{
    struct scenario sc;
    struct err e = {0};
    if (scenario_text(text, &sc, &e) < 0)
        fail_msg("%s", e.msg);
    struct bound b;
    bound_compute(&sc, &b);
    scenario_free(&sc);
    return b;
}

static void the_envelope_is_device_bound(void **state)
{
    (void)state;
    /* 1000 pods, 2 GPUs of 4 placements: m = 500; 500 x 1 + 496 x 0.5 + 3. */
    struct bound b = bound_of(ENVELOPE_CLUSTER "workload: [{count: 1000, profile: 1g.5gb, "
                                               "runSeconds: 3}]\n");
    assert_true(fabs(b.seconds - 751) < 1e-9);
    assert_non_null(strstr(b.formula, "751.000 s"));
    assert_non_null(strstr(b.formula, "ceil(1000 pods / 8 placements) = 125"));
    /* One pod: create and run; nothing destroyed before it ends. */
    b = bound_of(ENVELOPE_CLUSTER "workload: [{count: 1, profile: 1g.5gb, runSeconds: 3}]\n");
    assert_true(fabs(b.seconds - 4) < 1e-9);
    /* Two batches of the same pods at once count as one. */
    b = bound_of(ENVELOPE_CLUSTER "workload: [{name: a, count: 4, profile: 1g.5gb, runSeconds: "
                                  "3}, {name: b, count: 4, profile: 1g.5gb, runSeconds: 3}]\n");
    assert_true(fabs(b.seconds - 7) < 1e-9); /* m = 4: 4 x 1 + 0 x 0.5 + 3 */
}

/* A namespace that keeps slices warm: each placement's first pod needs its
 * create, the others may find it made; c + k r. A bad or zero value, or a
 * cap of 0, keeps the device-bound envelope. */
static void warm_slices_lower_the_bound(void **state)
{
    (void)state;
    struct bound b = bound_of(ENVELOPE_CLUSTER "workload: [{count: 1000, profile: 1g.5gb, "
                                               "runSeconds: 3, namespace: batch}]\n"
                                               "namespaces: {batch: {annotations: "
                                               "{gpuslice.dev/keep-warm: \"30s\"}}}\n");
    assert_true(fabs(b.seconds - 376) < 1e-9);
    assert_non_null(strstr(b.formula, "warm slices"));
    b = bound_of(ENVELOPE_CLUSTER "workload: [{count: 1000, profile: 1g.5gb, runSeconds: 3, "
                                  "namespace: batch}]\nnamespaces: {batch: {annotations: "
                                  "{gpuslice.dev/keep-warm: \"soon\"}}}\n");
    assert_true(fabs(b.seconds - 751) < 1e-9);
    b = bound_of(ENVELOPE_CLUSTER "warmMaxPercent: 0\nworkload: [{count: 1000, profile: "
                                  "1g.5gb, runSeconds: 3, namespace: batch}]\nnamespaces: "
                                  "{batch: {annotations: {gpuslice.dev/keep-warm: \"30s\"}}}\n");
    assert_true(fabs(b.seconds - 751) < 1e-9);
}

static void slots_win_when_the_device_is_cheap(void **state)
{
    (void)state;
    /* 20 pods, 8 placements: k = 3; 3 x (0.01 + 60) + 2 x 0.01. */
    struct bound b = bound_of(
        "cluster: {nodes: [{name: n, gpus: [{model: A100-40GB, slices: [{profile: 3g.20gb, "
        "start: 4}]}, {model: A100-40GB, slices: [{profile: 3g.20gb, start: 4}]}]}]}\n"
        "device: {createMs: 10, destroyMs: 10}\n"
        "workload: [{count: 20, profile: 1g.5gb, runSeconds: 60}]\n");
    assert_true(fabs(b.seconds - (3 * 60.01 + 2 * 0.01)) < 1e-9);
    assert_non_null(strstr(b.formula, "slots"));
}

static void placements_count_around_what_is_there(void **state)
{
    (void)state;
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text("cluster: {nodes: [{name: n, gpus: [\n"
                                   "  {model: A100-40GB, slices: [{profile: 3g.20gb, start: 4}]},\n"
                                   "  {model: A100-40GB, heldBack: true},\n"
                                   "  {model: A100-40GB, allowedProfiles: [2g.10gb]},\n"
                                   "  {model: H100-80GB}]}]}\n"
                                   "workload: []\n", &sc, &e), 0);
    assert_int_equal(bound_placements(sc.cluster, 0, "1g.5gb"), 4);
    assert_int_equal(bound_placements(sc.cluster, 1, "1g.5gb"), 0);
    assert_int_equal(bound_placements(sc.cluster, 2, "1g.5gb"), 0);
    assert_int_equal(bound_placements(sc.cluster, 2, "2g.10gb"), 3);
    assert_int_equal(bound_placements(sc.cluster, 3, "1g.10gb"), 7);
    assert_int_equal(bound_placements(sc.cluster, 3, "1g.5gb"), 0);
    struct bound b;
    bound_compute(&sc, &b);
    assert_true(b.seconds == 0);
    assert_non_null(strstr(b.formula, "no workload"));
    scenario_free(&sc);
}

static void mixed_workloads_take_the_weaker_bound(void **state)
{
    (void)state;
    /* Longest: the batch at 100 s runs 10 s after a 1 s create: 111 s.
     * Capacity: 100 x 1 x 4 s + 1 x 2 x 111 s = 622 slice-seconds / 8. */
    struct bound b = bound_of(ENVELOPE_CLUSTER
                              "workload: [{count: 100, profile: 1g.5gb, runSeconds: 3},\n"
                              "  {at: 100, count: 1, profile: 2g.10gb, runSeconds: 10},\n"
                              "  {generator: poisson, durationSeconds: 9999, ratePerSecond: 1,\n"
                              "   mix: [{profile: 1g.5gb, runSeconds: 1}]}]\n");
    assert_true(fabs(b.seconds - 111) < 1e-9);
    b = bound_of(ENVELOPE_CLUSTER
                 "workload: [{count: 100, profile: 1g.5gb, runSeconds: 30},\n"
                 "  {count: 1, profile: 2g.10gb, runSeconds: 10}]\n");
    assert_true(fabs(b.seconds - (100 * 31.0 + 2 * 11.0) / 8) < 1e-9);
    assert_non_null(strstr(b.formula, "capacity"));
    /* A Job's waves and a Deployment's deleteAt. */
    b = bound_of(ENVELOPE_CLUSTER
                 "workload: [{kind: Job, name: j, completions: 10, parallelism: 3, runSeconds: 5,\n"
                 "  request: {nvidia.com/mig-1g.5gb: 1}},\n"
                 "  {kind: Deployment, name: d, replicas: 1, request: {nvidia.com/mig-1g.5gb: 1},\n"
                 "   deleteAt: 7}]\n");
    assert_true(fabs(b.seconds - 4 * 6.0) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_envelope_is_device_bound),
        cmocka_unit_test(warm_slices_lower_the_bound),
        cmocka_unit_test(slots_win_when_the_device_is_cheap),
        cmocka_unit_test(placements_count_around_what_is_there),
        cmocka_unit_test(mixed_workloads_take_the_weaker_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
