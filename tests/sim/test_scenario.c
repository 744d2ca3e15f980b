/* Scenario decoding: every field of the format reaches the struct
 * (defaults included), a cluster may come from a file, and mistakes are
 * refused at FILE:LINE:COL in words that say what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unistd.h>

#include "scenario_text.h"

static void everything_decodes(void **state)
{
    (void)state;
    const char *text = ENVELOPE_CLUSTER
        "policy: best-fit\nseed: 9\nwarmMaxPercent: 25\neventTTLSeconds: 300\n"
        "workload:\n"
        "  - {at: 2, count: 10, profile: 1g.5gb, runSeconds: 3, namespace: batch}\n"
        "  - {generator: poisson, name: trace, startAt: 1, durationSeconds: 60, ratePerSecond: 0.5,\n"
        "     mix: [{profile: 1g.5gb, weight: 3, runSeconds: {dist: exponential, mean: 120}},\n"
        "           {profile: 2g.10gb, runSeconds: {dist: lognormal, median: 10, p99: 30}}]}\n"
        "  - {kind: Deployment, name: web, namespace: serve, replicas: 2,\n"
        "     request: {nvidia.com/mig-1g.5gb: 1}, annotations: {a: \"1\"}, deleteAt: 600,\n"
        "     inferenceSeconds: 0.25}\n"
        "  - {kind: Job, name: train, at: 30, completions: 20, parallelism: 5,\n"
        "     runSeconds: {dist: constant, value: 60}, request: {gpuslice.dev/accelerator-memory: 12}}\n"
        "namespaces:\n  batch: {annotations: {gpuslice.dev/keep-warm: \"30s\"}}\n";
    struct scenario sc;
    struct err e = {0};
    if (scenario_text(text, &sc, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(sc.cluster->n_gpus, 2);
    assert_true(sc.create_ms.kind == RNG_CONSTANT && sc.create_ms.mean == 1000);
    assert_int_equal(sc.policy, PLACEMENT_BEST_FIT);
    assert_int_equal(sc.warm_max_percent, 25);
    assert_int_equal(sc.event_ttl_s, 300);
    assert_int_equal(sc.seed, 9);
    assert_int_equal(sc.n_items, 4);
    const struct scenario_item *b = &sc.items[0], *p = &sc.items[1], *d = &sc.items[2],
                               *j = &sc.items[3];
    assert_string_equal(b->name, "workload-0");
    assert_string_equal(b->ns, "batch");
    assert_true(b->at_s == 2 && b->count == 10 && b->run_s.mean == 3);
    assert_string_equal(p->name, "trace");
    assert_string_equal(p->ns, SCENARIO_DEFAULT_NAMESPACE);
    assert_true(p->kind == SCENARIO_POISSON && p->at_s == 1 && p->rate_per_s == 0.5);
    assert_int_equal(p->n_mix, 2);
    assert_true(p->mix[0].weight == 3 && p->mix[1].weight == 1);
    assert_int_equal(p->mix[1].run_s.kind, RNG_LOGNORMAL);
    assert_true(d->kind == SCENARIO_DEPLOYMENT && d->count == 2 && d->delete_at_s == 600);
    assert_non_null(d->annotations);
    assert_true(d->inference_s == 0.25 && b->inference_s == 0 && j->inference_s == 0);
    assert_true(j->kind == SCENARIO_JOB && j->parallelism == 5 && j->delete_at_s < 0);
    assert_true(j->run_s.mean == 60);
    assert_int_equal(sc.n_namespaces, 1);
    assert_true(scenario_expected_pods(&sc) == 10 + 30 + 2 + 20);
    scenario_free(&sc);
    scenario_free(&sc); /* empty: nothing left */
}

static void defaults_fill_what_is_left_out(void **state)
{
    (void)state;
    const char *text = "cluster: {nodes: [{name: n, gpus: [{model: H100-80GB}]}]}\n"
                       "workload: [{count: 1, profile: 1g.10gb, runSeconds: 1}]\n";
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text(text, &sc, &e), 0);
    assert_int_equal(sc.policy, PLACEMENT_POLICY_DEFAULT);
    assert_int_equal(sc.warm_max_percent, 0); /* the controller's default */
    assert_true(sc.create_ms.mean > 0 && sc.destroy_ms.mean > 0);
    assert_true(sc.items[0].at_s == 0);
    scenario_free(&sc);
}

static void a_cluster_file_is_read_beside_the_scenario(void **state)
{
    (void)state;
    char dir[] = "/tmp/gpuslice-scenario-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cluster[128];
    snprintf(cluster, sizeof cluster, "%s/c.yaml", dir);
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    FILE *f = fopen(cluster, "w");
    fputs("nodes: [{name: n, gpus: [{model: A100-40GB}, {model: A100-40GB}]}]\n", f);
    fclose(f);
    f = fopen(path, "w");
    fputs("cluster: {file: c.yaml}\nworkload: [{count: 1, profile: 1g.5gb, runSeconds: 1}]\n", f);
    fclose(f);
    struct scenario sc;
    struct err e = {0};
    if (scenario_load(&sc, path, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(sc.cluster->n_gpus, 2);
    scenario_free(&sc);
    unlink(cluster);
    f = fopen(path, "w");
    fputs("cluster: {file: missing.yaml}\nworkload: []\n", f);
    fclose(f);
    assert_true(scenario_load(&sc, path, &e) < 0);
    assert_non_null(strstr(e.msg, "missing.yaml"));
    unlink(path);
    rmdir(dir);
}

static void refused(const char *workload, const char *want)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", ENVELOPE_CLUSTER, workload);
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text(text, &sc, &e), -EINVAL);
    if (!strstr(e.msg, want))
        fail_msg("wanted \"%s\" in \"%s\"", want, e.msg);
}

static void mistakes_are_refused_where_they_are(void **state)
{
    (void)state;
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: 1, colour: red}]\n",
            "s.yaml:8:55: unknown field \"colour\" in a batch");
    refused("workload: [{count: 1, profile: 9g.99gb, runSeconds: 1}]\n",
            "s.yaml:8:32: no GPU of the cluster has profile \"9g.99gb\"");
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: -1}]\n", "must not be negative");
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: {dist: normal, mean: 1}}]\n",
            "unknown distribution \"normal\"");
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: {dist: lognormal, median: 2}}]\n",
            "a lognormal distribution needs \"median\" and \"p99\"");
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: {dist: lognormal, median: 2, "
            "p99: 1}}]\n", "0 < medianMs <= p99Ms");
    refused("workload: [{generator: poisson, durationSeconds: 1, ratePerSecond: 0, mix: []}]\n",
            "a rate must be above 0");
    refused("workload: [{generator: uniform, durationSeconds: 1, ratePerSecond: 1, mix: []}]\n",
            "unknown generator");
    refused("workload: [{kind: StatefulSet, name: x}]\n", "Deployment or Job");
    refused("workload: [{kind: Deployment, name: x, replicas: 1, request: {a: 1}, at: 5, "
            "deleteAt: 1}]\n", "deleteAt comes before");
    refused("workload: [{name: Bad_Name, count: 1, profile: 1g.5gb, runSeconds: 1}]\n",
            "DNS-1123 label");
    refused("workload: [{name: a, count: 1, profile: 1g.5gb, runSeconds: 1},\n"
            "           {name: a, count: 1, profile: 1g.5gb, runSeconds: 1}]\n",
            "named twice");
    refused("policy: random\nworkload: []\n", "s.yaml:8:9:");
    refused("workload: []\nnamespaces: {batch: {labels: {a: 1}}}\n", "must be a string");
    refused("workload: [3]\n", "a workload item must be a mapping");
    refused("workload: []\nextra: 1\n", "unknown field \"extra\" in a scenario");
    refused("warmMaxPercent: 101\nworkload: []\n", "warmMaxPercent must be 0 to 100");
    refused("eventTTLSeconds: 0\nworkload: []\n", "eventTTLSeconds must be above 0");
    refused("eventTTLSeconds: -5\nworkload: []\n", "s.yaml:8:18: eventTTLSeconds must be above 0");
    refused("eventTTLSeconds: 3000000000\nworkload: []\n",
            "eventTTLSeconds must be at most 2147483647, not 3000000000");
    refused("eventTTLSeconds: 1.5\nworkload: []\n", "s.yaml:8:");
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: 1, inferenceSeconds: 0}]\n",
            "s.yaml:8:73: inferenceSeconds must be above 0");
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: 1, inferenceSeconds: -2}]\n",
            "must not be negative");
    refused("workload: [{count: 1, profile: 1g.5gb, runSeconds: 1, inferenceSeconds: fast}]\n",
            "s.yaml:8:73:");
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text("- 1\n", &sc, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "a scenario is a mapping"));
    assert_int_equal(scenario_text("workload: []\n", &sc, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "needs \"cluster\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(everything_decodes),
        cmocka_unit_test(defaults_fill_what_is_left_out),
        cmocka_unit_test(a_cluster_file_is_read_beside_the_scenario),
        cmocka_unit_test(mistakes_are_refused_where_they_are),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
