/* The simulator's engine on small scenarios: the envelope runs every pod
 * to completion within the bound's reach, two runs with one seed give the
 * same summary byte for byte (the machine's figures aside) and the same
 * records, a mixed workload (Poisson, a Deployment deleted on time, a Job)
 * ends, and pods that can never run end the run as stalled; the cluster
 * is up before the first pod arrives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/interference.h"
#include "scenario_text.h"
#include "sim/bound.h"
#include "sim/engine.h"

static void run_text(const char *text, uint64_t seed, struct outcome *out)
{
    struct scenario sc;
    struct err e = {0};
    if (scenario_text(text, &sc, &e) < 0)
        fail_msg("scenario: %s", e.msg);
    struct engine_options o = {.seed = seed};
    if (engine_run(&sc, &o, out, &e) < 0)
        fail_msg("engine_run: %s", e.msg);
    struct bound b;
    bound_compute(&sc, &b);
    out->summary.lower_bound_s = b.seconds;
    snprintf(out->summary.bound_formula, sizeof out->summary.bound_formula, "%s", b.formula);
    scenario_free(&sc);
}

static const char envelope[] = ENVELOPE_CLUSTER
    "workload:\n  - {name: env, at: 0, count: 24, profile: 1g.5gb, runSeconds: 3, "
    "namespace: batch}\n";

static void the_envelope_runs_to_completion(void **state)
{
    (void)state;
    struct outcome out;
    run_text(envelope, 1, &out);
    const struct outcome_summary *s = &out.summary;
    assert_int_equal(s->pods, 24);
    assert_int_equal(s->pods_completed, 24);
    assert_false(s->stalled);
    assert_int_equal(s->creates, 24);
    assert_int_equal(s->destroys, 24);
    assert_int_equal(s->memory_slices_usable, 8);
    assert_true(s->makespan_s >= s->lower_bound_s);
    assert_true(s->makespan_s <= 1.15 * s->lower_bound_s);
    assert_true(s->memory_slice_utilisation > 0.5 && s->memory_slice_utilisation <= 1);
    assert_true(s->to_completed.p50 >= 4 && s->to_completed.p99 <= s->makespan_s);
    assert_int_equal(out.n_workloads, 1);
    assert_string_equal(out.workloads[0].name, "env");
    assert_int_equal(out.workloads[0].completed, 24);
    for (size_t i = 0; i < out.n_pods; i++) {
        const struct outcome_pod *p = &out.pods[i];
        assert_int_equal(p->workload, 0);
        assert_true(p->gated);
        assert_string_equal(p->profile, "1g.5gb");
        assert_true(p->placed_ns >= 0 && p->placed_ns <= p->ungated_ns);
        assert_true(p->ungated_ns <= p->bound_ns && p->bound_ns <= p->running_ns);
        assert_int_equal(p->finished_ns - p->running_ns, 3 * INT64_C(1000000000));
    }
    assert_true(out.n_timeline > 2);
    assert_int_equal(out.timeline[out.n_timeline - 1].ended, 24);
    outcome_free(&out);
}

/* Pods that arrive together are served in the order they were created:
 * the parts watch the store before the first arrivals, so those reach
 * them as events in creation order (a first list after them gave the
 * store's name order: env-10 before env-2). */
static void pods_arriving_together_are_placed_in_creation_order(void **state)
{
    (void)state;
    struct outcome out;
    run_text(envelope, 1, &out);
    int64_t placed[24] = {0};
    for (size_t i = 0; i < out.n_pods; i++) {
        unsigned k = 0;
        assert_int_equal(sscanf(out.pods[i].name, "env-%u", &k), 1);
        assert_true(k < 24);
        placed[k] = out.pods[i].placed_ns;
    }
    for (unsigned k = 1; k < 24; k++)
        assert_true(placed[k - 1] <= placed[k]);
    outcome_free(&out);
}

/* The cluster is up before the first arrival (the agents have reported
 * their GPUs): the 8 pods of the burst that fit are placed as they arrive,
 * at 0, not after the agents' first report (before, every pod of it was
 * first told that the cluster had no GPUs). The parts' writes are counted
 * by kind. */
static void the_cluster_is_up_before_the_first_arrival(void **state)
{
    (void)state;
    struct outcome out;
    run_text(envelope, 1, &out);
    size_t at_once = 0;
    for (size_t i = 0; i < out.n_pods; i++)
        at_once += out.pods[i].placed_ns == 0;
    assert_int_equal(at_once, 8);
    const struct tally_counts *w = &out.summary.writes;
    uint64_t sum = 0, pods = 0;
    for (size_t k = 0; k < w->n_kinds; k++) {
        sum += w->kinds[k].writes;
        if (strcmp(w->kinds[k].plural, "pods") == 0)
            pods = w->kinds[k].writes;
    }
    assert_int_equal(sum, w->total);
    assert_true(pods >= 24 * 5); /* created, placed, bound, running, ended at least */
    outcome_free(&out);
}

static char *summary_text(const struct outcome *out)
{
    json_t *o = outcome_summary_json(out, false);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return text;
}

/* Two runs' records of a pod agree in every field (strings by value). */
static void assert_same_pod(const struct outcome_pod *x, const struct outcome_pod *y)
{
    assert_string_equal(x->ns, y->ns);
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->node, y->node);
    assert_string_equal(x->profile, y->profile);
    assert_string_equal(x->phase, y->phase);
    assert_int_equal(x->workload, y->workload);
    assert_int_equal(x->gated, y->gated);
    assert_int_equal(x->serving, y->serving);
    const int64_t tx[] = {x->created_ns, x->placed_ns, x->ungated_ns, x->bound_ns, x->running_ns,
                          x->finished_ns};
    const int64_t ty[] = {y->created_ns, y->placed_ns, y->ungated_ns, y->bound_ns, y->running_ns,
                          y->finished_ns};
    assert_memory_equal(tx, ty, sizeof tx);
}

static void a_seed_replays_the_run(void **state)
{
    (void)state;
    const char *text = ENVELOPE_CLUSTER
        "device: {createMs: {dist: lognormal, medianMs: 900, p99Ms: 2500}, destroyMs: 500}\n"
        "workload:\n"
        "  - {generator: poisson, startAt: 0, durationSeconds: 60, ratePerSecond: 0.5,\n"
        "     mix: [{profile: 1g.5gb, weight: 3, runSeconds: {dist: exponential, mean: 5}},\n"
        "           {profile: 2g.10gb, weight: 1, runSeconds: 4}], inferenceSeconds: 0.03}\n";
    /* device appears twice above: the decoder would refuse it; drop the first. */
    char *once = strdup(text);
    char *first = strstr(once, "device: {createMs: 1000, destroyMs: 500}\n");
    memmove(first, first + strlen("device: {createMs: 1000, destroyMs: 500}\n"),
            strlen(first + strlen("device: {createMs: 1000, destroyMs: 500}\n")) + 1);
    struct outcome a, b, c;
    run_text(once, 7, &a);
    run_text(once, 7, &b);
    run_text(once, 8, &c);
    char *ta = summary_text(&a), *tb = summary_text(&b), *tc = summary_text(&c);
    assert_string_equal(ta, tb);
    assert_string_not_equal(ta, tc);
    assert_non_null(strstr(ta, "\"meanInferenceSeconds\""));
    assert_true(a.summary.pods > 10);
    assert_int_equal(a.n_pods, b.n_pods);
    for (size_t i = 0; i < a.n_pods; i++)
        assert_same_pod(&a.pods[i], &b.pods[i]);
    assert_int_equal(a.n_timeline, b.n_timeline);
    assert_memory_equal(a.timeline, b.timeline, a.n_timeline * sizeof *a.timeline);
    free(ta);
    free(tb);
    free(tc);
    free(once);
    outcome_free(&a);
    outcome_free(&b);
    outcome_free(&c);
}

static void a_mixed_workload_ends(void **state)
{
    (void)state;
    const char *text =
        "cluster:\n  nodes:\n    - name: n1\n      gpus: [{model: H100-80GB}, {model: A100-40GB}]\n"
        "workload:\n"
        "  - {kind: Deployment, name: web, namespace: serve, at: 0, replicas: 2,\n"
        "     request: {nvidia.com/mig-1g.10gb: 1}, deleteAt: 30}\n"
        "  - {kind: Job, name: train, namespace: batch, at: 5, completions: 4, parallelism: 2,\n"
        "     runSeconds: 6, request: {nvidia.com/mig-2g.20gb: 1}, inferenceSeconds: 0.1}\n"
        "  - {at: 1, count: 3, profile: 3g.40gb, runSeconds: 2}\n"
        "namespaces:\n  serve: {labels: {team: web}, annotations: {note: x}}\n";
    struct outcome out;
    run_text(text, 3, &out);
    assert_false(out.summary.stalled);
    assert_int_equal(out.n_workloads, 3);
    assert_string_equal(out.workloads[2].name, "workload-2");
    assert_int_equal(out.workloads[0].pods, 2);
    assert_int_equal(out.workloads[1].completed, 4);
    assert_int_equal(out.workloads[2].completed, 3);
    for (size_t i = 0; i < out.n_pods; i++) {
        const struct outcome_pod *p = &out.pods[i];
        assert_true(p->finished_ns > 0);
        if (p->workload == 0) {
            assert_true(p->serving);
            assert_true(p->finished_ns >= 30 * INT64_C(1000000000));
        }
    }
    assert_int_equal(out.summary.creates, out.summary.destroys);
    /* The Job's pods work until their 6 s end, each on a 2g.20gb (2 of 7
     * compute slices, whichever GPU); the others declared no units. */
    struct interference_model m = INTERFERENCE_DEFAULT;
    double unit = 0;
    assert_int_equal(interference_seconds(&m, SHARING_MIG, 0.1, 1, 2.0 / 7, &unit, NULL), 0);
    assert_true(out.workloads[1].inference);
    assert_int_equal(out.workloads[1].inference_units, 4 * (uint64_t)(6 / unit));
    assert_float_equal(out.workloads[1].mean_inference_s, unit, 1e-9);
    assert_false(out.workloads[0].inference);
    assert_false(out.workloads[2].inference);
    outcome_free(&out);
}

static void pods_that_cannot_run_stall_the_run(void **state)
{
    (void)state;
    const char *text = ENVELOPE_CLUSTER
        "workload:\n  - {at: 0, count: 2, profile: 7g.40gb, runSeconds: 1}\n";
    struct outcome out;
    run_text(text, 1, &out);
    assert_true(out.summary.stalled);
    assert_int_equal(out.summary.pods, 2);
    assert_int_equal(out.summary.pods_completed, 0);
    assert_true(out.summary.makespan_s == 0);
    outcome_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_envelope_runs_to_completion),
        cmocka_unit_test(pods_arriving_together_are_placed_in_creation_order),
        cmocka_unit_test(the_cluster_is_up_before_the_first_arrival),
        cmocka_unit_test(a_seed_replays_the_run),
        cmocka_unit_test(a_mixed_workload_ends),
        cmocka_unit_test(pods_that_cannot_run_stall_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
