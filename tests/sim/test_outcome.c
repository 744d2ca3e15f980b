/* A simulation's records: latencies per workload and in all (nearest-rank
 * percentiles over the pods that got there), the summary JSON with and
 * without the machine's figures, and the three files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unistd.h>

#include "sim/outcome.h"
#include "util/alloc.h"

#define S INT64_C(1000000000)

static void fill(struct outcome *out)
{
    *out = (struct outcome){0};
    out->n_pods = out->cap_pods = 4;
    out->pods = alloc_calloc(4, sizeof *out->pods);
    for (int i = 0; i < 4; i++) {
        struct outcome_pod *p = &out->pods[i];
        char name[32];
        snprintf(name, sizeof name, "w-%d", i);
        p->ns = outcome_string(out, "batch", true);
        p->name = outcome_string(out, name, false);
        p->phase = outcome_string(out, i < 3 ? "Succeeded" : "Pending", true);
        p->node = p->profile = outcome_string(out, "", true);
        p->workload = i < 2 ? 0 : 1;
        p->created_ns = 0;
        p->placed_ns = p->bound_ns = OUTCOME_NEVER;
        p->ungated_ns = i < 3 ? (i + 1) * S : OUTCOME_NEVER;
        p->running_ns = p->ungated_ns;
        p->finished_ns = i < 3 ? (i + 4) * S : OUTCOME_NEVER;
    }
    out->n_workloads = 2;
    out->workloads = alloc_calloc(2, sizeof *out->workloads);
    snprintf(out->workloads[0].name, 64, "w");
    snprintf(out->workloads[1].name, 64, "v");
    out->n_timeline = out->cap_timeline = 1;
    out->timeline = alloc_calloc(1, sizeof *out->timeline);
    out->timeline[0] = (struct outcome_sample){.t_ns = S / 2, .memory_slices_used = 4,
                                               .waiting = 1, .running = 3};
    out->summary.memory_slices_usable = 8;
    out->summary.wall_s = 0.5;
}

static void latencies_are_per_workload_and_in_all(void **state)
{
    (void)state;
    struct outcome out;
    fill(&out);
    outcome_summarize(&out);
    assert_int_equal(out.summary.pods, 4);
    assert_int_equal(out.summary.pods_completed, 3);
    assert_true(out.summary.to_ungated.p50 == 2 && out.summary.to_ungated.p99 == 3);
    assert_true(out.summary.to_completed.p95 == 6);
    assert_int_equal(out.workloads[0].pods, 2);
    assert_int_equal(out.workloads[1].completed, 1);
    assert_true(out.workloads[0].to_running.p50 == 1 && out.workloads[0].to_running.p99 == 2);
    outcome_free(&out);
    assert_null(out.pods);
}

/* A moment reached at 0 (a pod placed and ungated as it arrived, on a
 * cluster up before it) is reached: 0 read as "never" left such pods out
 * of the latencies and pods.csv. */
static void a_moment_at_zero_counts(void **state)
{
    (void)state;
    struct outcome out;
    fill(&out);
    out.pods[0].ungated_ns = out.pods[1].ungated_ns = 0;
    outcome_summarize(&out);
    assert_true(out.summary.to_ungated.p50 == 0 && out.summary.to_ungated.p99 == 3);
    outcome_free(&out);
}

/* storeWrites: the counts as the tally gave them, and per pod. */
static void the_summary_says_the_store_writes(void **state)
{
    (void)state;
    struct outcome out;
    fill(&out);
    outcome_summarize(&out);
    out.summary.writes = (struct tally_counts){
        .total = 10, .n_kinds = 2, .kinds = {{"pods", 7}, {"events", 3}}};
    json_t *o = outcome_summary_json(&out, false);
    json_t *w = json_object_get(o, "storeWrites");
    assert_int_equal(json_integer_value(json_object_get(w, "total")), 10);
    assert_true(json_real_value(json_object_get(w, "perPod")) == 2.5);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(w, "byKind"), "pods")),
                     7);
    assert_int_equal(json_object_size(json_object_get(w, "byKind")), 2);
    json_decref(o);
    outcome_free(&out);
}

static void the_summary_keeps_the_machine_apart(void **state)
{
    (void)state;
    struct outcome out;
    fill(&out);
    outcome_summarize(&out);
    json_t *with = outcome_summary_json(&out, true), *without = outcome_summary_json(&out, false);
    assert_non_null(json_object_get(with, "wallSeconds"));
    assert_non_null(json_object_get(with, "peakRssBytes"));
    assert_null(json_object_get(without, "wallSeconds"));
    assert_null(json_object_get(without, "speedup"));
    static const char *const fields[] = {
        "pods", "podsCompleted", "makespanSeconds", "lowerBoundSeconds", "createdToUngated",
        "createdToRunning", "createdToCompleted", "deviceOps", "meanPendingPods",
        "memorySliceUtilisation", "fragmentationWaitSeconds", "storeWrites", "workloads"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        assert_non_null(json_object_get(without, fields[i]));
    assert_int_equal(json_array_size(json_object_get(without, "workloads")), 2);
    json_decref(with);
    json_decref(without);
    outcome_free(&out);
}

static void files_are_written(void **state)
{
    (void)state;
    char dir[] = "/tmp/gpuslice-outcome-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[128], path[160], line[512];
    snprintf(sub, sizeof sub, "%s/out", dir);
    struct outcome out;
    fill(&out);
    outcome_summarize(&out);
    struct err e = {0};
    assert_int_equal(outcome_write(&out, sub, &e), 0);
    snprintf(path, sizeof path, "%s/pods.csv", sub);
    FILE *f = fopen(path, "r");
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "namespace,name,workload"));
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "batch,w-0,w,,,Succeeded,0.000000,,1.000000,,1.000000,4.000000\n");
    fclose(f);
    unlink(path);
    snprintf(path, sizeof path, "%s/timeline.csv", sub);
    f = fopen(path, "r");
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "0.500000,4,0,8,0.500000,1,0,0,3,0\n");
    fclose(f);
    unlink(path);
    snprintf(path, sizeof path, "%s/summary.json", sub);
    json_t *s = json_load_file(path, 0, NULL);
    assert_non_null(s);
    assert_int_equal(json_integer_value(json_object_get(s, "podsCompleted")), 3);
    json_decref(s);
    unlink(path);
    rmdir(sub);
    /* A folder that cannot be made is named. */
    snprintf(path, sizeof path, "%s/no/such", dir);
    assert_true(outcome_write(&out, path, &e) < 0);
    assert_non_null(strstr(e.msg, "no/such"));
    rmdir(dir);
    outcome_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(latencies_are_per_workload_and_in_all),
        cmocka_unit_test(a_moment_at_zero_counts),
        cmocka_unit_test(the_summary_says_the_store_writes),
        cmocka_unit_test(the_summary_keeps_the_machine_apart),
        cmocka_unit_test(files_are_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
