/*
 * Tests for planner/plan_load: both layouts load the same problem, keys
 * match case-insensitively, MIG slices resolve through the catalogue, and
 * every kind of bad input is refused with the file and the field named.
 * argv[1] is the samples/planner directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "planner/plan_load.h"
#include "plan_fixture.h"

static const char *samples;

static int load_text(const char *text, struct plan_system *sys, struct err *e)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root)
        fail_msg("fixture does not parse: %s", je.text);
    int rc = plan_load_json(root, "test.json", sys, e);
    json_decref(root);
    return rc;
}

/* Loads the fixture with one edit, from its parsed form (placed: from its
 * text, which places errors at LINE:COL), and expects this exact error. */
static void expect_error_in(bool placed, const char *from, const char *to, int code, const char *msg)
{
    char *text = fixture_edit(PLAN_FIXTURE, from, to);
    if (!text)
        fail_msg("edit \"%s\" does not apply", from);
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    int rc = placed ? plan_load_text(text, strlen(text), "f.json", &sys, &e) : load_text(text, &sys, &e);
    assert_int_equal(rc, code);
    assert_string_equal(e.msg, msg);
    assert_null(sys.servers); /* nothing half-loaded is left */
    free(text);
}

static void expect_error(const char *from, const char *to, int code, const char *msg)
{
    expect_error_in(false, from, to, code, msg);
}

static void fixture_loads(void **state)
{
    (void)state;
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    assert_int_equal(load_text(PLAN_FIXTURE, &sys, &e), 0);
    assert_int_equal(sys.n_accelerators, 2);
    assert_int_equal(sys.n_types, 2);
    assert_int_equal(sys.n_models, 1);
    assert_int_equal(sys.n_perfs, 2);
    assert_int_equal(sys.n_classes, 2);
    assert_int_equal(sys.n_servers, 2);
    const struct plan_accelerator *slice = &sys.accelerators[1];
    assert_non_null(slice->profile);
    assert_string_equal(slice->profile->name, "3g.40gb");
    assert_string_equal(slice->gpu->name, "H100-80GB");
    assert_true(slice->mem_gb > 39.0 && slice->mem_gb < 40.0); /* from the catalogue */
    char resource[64];
    plan_accelerator_resource(slice, resource, sizeof resource);
    assert_string_equal(resource, "nvidia.com/mig-3g.40gb");
    plan_accelerator_resource(&sys.accelerators[0], resource, sizeof resource);
    assert_string_equal(resource, "nvidia.com/gpu");
    assert_int_equal(sys.types[0].count, 8);
    const struct plan_server *p = &sys.servers[0];
    assert_string_equal(p->name, "p");
    assert_int_equal(p->current.acc, 0);
    assert_int_equal(p->current.replicas, 1);
    assert_int_equal(p->min_replicas, 1);
    assert_true(p->rate_per_min == 120 && p->req.in_tokens == 512 && p->req.out_tokens == 256);
    assert_true(p->target->itl_ms == 40 && p->target->ttft_ms == 500 && p->target->tps == 0);
    assert_int_equal(sys.servers[1].current.acc, -1);
    assert_int_equal(sys.classes[1].priority, 2);
    assert_false(sys.options.unlimited);
    assert_int_equal(sys.options.saturation, PLAN_SAT_NONE);
    assert_int_equal(sys.options.model, PLAN_MODEL_GPUSLICE); /* the fixture names it */
    assert_string_equal(plan_queue_model_name(sys.options.model), "gpuslice");
    plan_system_free(&sys);
    plan_system_free(&sys); /* zeroed: harmless */
}

static void keys_match_case_insensitively(void **state)
{
    (void)state;
    char *a = fixture_edit(PLAN_FIXTURE, "\"avgInTokens\": 256", "\"AvgInTokens\": 256");
    char *b = fixture_edit(a, "\"saturationPolicy\": \"None\"", "\"SATURATIONPOLICY\": \"roundrobin\", \"milpsolver\": true");
    char *c = fixture_edit(b, "\"slo-itl\": 80", "\"SLO-ITL\": \"80\"");
    char *d = fixture_edit(c, "\"model\": \"gpuslice\"", "\"Model\": \"COMPATIBLE\"");
    struct plan_system sys;
    struct err e;
    assert_int_equal(load_text(d, &sys, &e), 0);
    assert_int_equal(sys.options.model, PLAN_MODEL_COMPATIBLE);
    assert_true(sys.servers[1].req.in_tokens == 256);
    assert_int_equal(sys.options.saturation, PLAN_SAT_ROUND_ROBIN);
    assert_true(sys.options.milp);
    assert_true(sys.classes[1].targets[0].itl_ms == 80); /* numeric strings too */
    plan_system_free(&sys);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void bad_values_name_the_field(void **state)
{
    (void)state;
    expect_error("\"arrivalRate\": 600", "\"arrivalRate\": -5", -EINVAL,
                 "test.json: system.serverData.servers[1].currentAlloc.load.arrivalRate must be > 0, got -5");
    expect_error("\"arrivalRate\": 600", "\"arrivalRate\": 0", -EINVAL,
                 "test.json: system.serverData.servers[1].currentAlloc.load.arrivalRate must be > 0, got 0");
    expect_error("\"arrivalRate\": 600", "\"arrivalRate\": \"NaN\"", -EINVAL,
                 "test.json: system.serverData.servers[1].currentAlloc.load.arrivalRate must be a finite number, got nan");
    expect_error("\"arrivalRate\": 600", "\"arrivalRate\": \"fast\"", -EINVAL,
                 "test.json: system.serverData.servers[1].currentAlloc.load.arrivalRate must be a number, got \"fast\"");
    expect_error("\"avgOutTokens\": 512", "\"avgOutTokens\": 0", -EINVAL,
                 "test.json: system.serverData.servers[1].currentAlloc.load.avgOutTokens must be >= 1, got 0");
    expect_error("\"alpha\": 12", "\"alpha\": 0", -EINVAL,
                 "test.json: system.modelData.models[0].decodeParms.alpha must be > 0, got 0");
    expect_error("\"delta\": 0.002", "\"delta\": -0.002", -EINVAL,
                 "test.json: system.modelData.models[1].prefillParms.delta must be >= 0, got -0.002");
    expect_error("\"maxBatchSize\": 64", "\"maxBatchSize\": 6.5", -EINVAL,
                 "test.json: system.modelData.models[0].maxBatchSize must be a whole number, got 6.5");
    expect_error("\"cost\": 28", "\"cost\": -1", -EINVAL,
                 "test.json: system.acceleratorData.accelerators[1].cost must be >= 0, got -1");
    expect_error("\"slo-ttft\": 500", "\"slo-ttft\": -500", -EINVAL,
                 "test.json: system.serviceClassData.serviceClasses[0].modelTargets[0].slo-ttft must be >= 0, got -500");
    expect_error("\"count\": 8}, {", "\"count\": -8}, {", -EINVAL,
                 "test.json: system.capacityData.count[0].count must be 0 .. 1073741824, got -8");
    expect_error("\"unlimited\": false", "\"unlimited\": \"no\"", -EINVAL,
                 "test.json: system.optimizerData.optimizer.unlimited must be true or false, got a string");
    expect_error("\"saturationPolicy\": \"None\"", "\"saturationPolicy\": \"Greedy\"", -EINVAL,
                 "test.json: system.optimizerData.optimizer.saturationPolicy: unknown saturation policy \"Greedy\" "
                 "(None, PriorityExhaustive, PriorityRoundRobin or RoundRobin)");
    expect_error("\"model\": \"gpuslice\"", "\"model\": \"inferno\"", -EINVAL,
                 "test.json: system.optimizerData.optimizer.model: unknown model \"inferno\" (compatible or gpuslice)");
    /* a type is whole GPUs or one profile's slices: a slice of the A100s'
     * own type would make one count mean two things */
    expect_error("\"type\": \"H100-80GB/3g.40gb\", \"gpuModel\"", "\"type\": \"A100-80GB\", \"gpuModel\"", -EINVAL,
                 "test.json: system.acceleratorData.accelerators[1].type \"A100-80GB\" already holds whole "
                 "accelerators; a type holds whole GPUs or one MIG profile of one model");
}

static void expect_placed(const char *from, const char *to, const char *msg)
{
    expect_error_in(true, from, to, -EINVAL, msg);
}

/* Value errors name FILE:LINE:COL of the value (docs/cli.md), also for
 * checks made outside the loader, and of the enclosing object for a
 * missing field; the maxBatchSize range is the real one. */
static void errors_name_line_and_column(void **state)
{
    (void)state;
    expect_placed("\"alpha\": 12", "\n\"alpha\":\n  0", "f.json:3:3: system.modelData.models[0].decodeParms.alpha must be > 0, got 0");
    expect_placed("\"maxBatchSize\": 64", "\n \"maxBatchSize\": 3000000000",
                  "f.json:2:18: system.modelData.models[0].maxBatchSize must be >= 1, got 3e+09");
    expect_placed("\"maxBatchSize\": 64", "\"maxBatchSize\": 0",
                  "f.json:1:312: system.modelData.models[0].maxBatchSize must be >= 1, got 0");
    expect_placed("\"saturationPolicy\": \"None\"", "\n\"saturationPolicy\": \"x\"",
                  "f.json:2:21: system.optimizerData.optimizer.saturationPolicy: unknown saturation policy \"x\" "
                  "(None, PriorityExhaustive, PriorityRoundRobin or RoundRobin)");
    expect_placed("\"cost\": 28", "\"c0st\": 28",
                  "f.json:1:105: system.acceleratorData.accelerators[1].cost is missing");
    /* a directory of files: each error names its file */
    char dir[] = "/tmp/gpuslice-plan-load-XXXXXX", path[600], cmd[1400];
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "cp %s/inferno-small/*-data.json %s && sed -i 's/\"alpha\": 205.8/\"alpha\": -1/' %s/model-data.json",
             samples, dir, dir);
    assert_int_equal(system(cmd), 0);
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    assert_int_equal(plan_load_path(dir, &sys, &e), -EINVAL);
    snprintf(path, sizeof path, "%s/model-data.json:10:18: models[0].decodeParms.alpha must be > 0, got -1", dir);
    assert_string_equal(e.msg, path);
    snprintf(cmd, sizeof cmd, "rm -r %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void unknown_names_are_refused(void **state)
{
    (void)state;
    expect_error("\"class\": \"Bronze\", \"model\": \"llama\"", "\"class\": \"Bronze\", \"model\": \"gpt\"",
                 -EINVAL, "test.json: system.serverData.servers[1].model names an unknown model \"gpt\" (no performance data)");
    expect_error("\"acc\": \"H100-3g\"", "\"acc\": \"H200\"", -EINVAL,
                 "test.json: system.modelData.models[1].acc names an unknown accelerator \"H200\"");
    expect_error("\"accelerator\": \"A100\"", "\"accelerator\": \"V100\"", -EINVAL,
                 "test.json: system.serverData.servers[0].currentAlloc.accelerator names an unknown accelerator \"V100\"");
    expect_error("\"class\": \"Bronze\"", "\"class\": \"Gold\"", -EINVAL,
                 "test.json: system.serverData.servers[1].class names an unknown service class \"Gold\"");
    expect_error("{\"model\": \"llama\", \"slo-itl\": 80", "{\"model\": \"mistral\", \"slo-itl\": 80", -EINVAL,
                 "test.json: system.serviceClassData.serviceClasses[1].modelTargets[0].model names an unknown model "
                 "\"mistral\" (no performance data)");
    expect_error("{\"type\": \"A100-80GB\", \"count\": 8}", "{\"type\": \"V100\", \"count\": 8}", -EINVAL,
                 "test.json: system.capacityData.count[0].type names an unknown accelerator type \"V100\"");
    expect_error("\"migProfile\": \"3g.40gb\"", "\"migProfile\": \"5g.7gb\"", -EINVAL,
                 "test.json: system.acceleratorData.accelerators[1].migProfile names no MIG profile of H100-80GB: "
                 "\"5g.7gb\"");
    expect_error("\"gpuModel\": \"H100-80GB\",", "\"gpuModel\": \"X1\",", -EINVAL,
                 "test.json: system.acceleratorData.accelerators[1].gpuModel names no catalogued GPU model: \"X1\"");
    expect_error("\"gpuModel\": \"H100-80GB\",", "", -EINVAL,
                 "test.json: system.acceleratorData.accelerators[1].gpuModel is missing (a MIG slice names both "
                 "gpuModel and migProfile)");
}

static void structure_errors_are_refused(void **state)
{
    (void)state;
    expect_error("{\"name\": \"b\"", "{\"name\": \"p\"", -EINVAL,
                 "test.json: system.serverData.servers[1].name repeats server \"p\"");
    expect_error("\"name\": \"H100-3g\"", "\"name\": \"a100\"", -EINVAL,
                 "test.json: system.acceleratorData.accelerators[1].name repeats accelerator \"a100\"");
    expect_error("\"load\": {\"arrivalRate\": 600, \"avgInTokens\": 256, \"avgOutTokens\": 512}", "\"x\": 1",
                 -EINVAL, "test.json: system.serverData.servers[1].currentAlloc.load is missing");
    expect_error("\"priority\": 2, \"modelTargets\": [", "\"priority\": 2, \"modelTargets\": 3, \"x\": [", -EINVAL,
                 "test.json: system.serviceClassData.serviceClasses[1].modelTargets must be an array, got a number");
}

static void missing_capacity_needs_unlimited(void **state)
{
    (void)state;
    const char *cap = " \"capacityData\": {\"count\": ["
                      "  {\"type\": \"A100-80GB\", \"count\": 8}, {\"type\": \"H100-80GB/3g.40gb\", \"count\": 8}]},";
    expect_error(cap, "", -EINVAL,
                 "test.json: system.capacityData: is missing; capacity is needed unless optimizer.unlimited is true");
    char *text = fixture_edit(PLAN_FIXTURE, cap, "");
    char *unlimited = fixture_edit(text, "\"unlimited\": false", "\"unlimited\": true");
    struct plan_system sys;
    assert_int_equal(load_text(unlimited, &sys, NULL), 0);
    assert_true(sys.options.unlimited);
    assert_int_equal(sys.types[0].count, -1);
    plan_system_free(&sys);
    free(text);
    free(unlimited);
}

static void not_json_or_not_bundled(void **state)
{
    (void)state;
    struct plan_system sys;
    struct err e;
    json_t *arr = json_array();
    assert_int_equal(plan_load_json(arr, "body", &sys, &e), -EINVAL);
    assert_string_equal(e.msg, "body: must hold a JSON object");
    json_decref(arr);
    assert_int_equal(load_text("{\"System\": []}", &sys, &e), -EINVAL);
    assert_string_equal(e.msg, "test.json: system must be an object, got an array");
    assert_int_equal(load_text("{\"servers\": []}", &sys, &e), -EINVAL);
    assert_string_equal(e.msg, "test.json: system is missing");
}

/* The sample directory and the same problem bundled in one file. */
static void directory_and_file_forms(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/small", samples);
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    if (plan_load_path(dir, &sys, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(sys.n_servers, 5);
    assert_int_equal(sys.n_accelerators, 4);
    assert_true(sys.servers[3].req.in_tokens == 128); /* written "AvgInTokens" */
    plan_system_free(&sys);
    char file[512];
    snprintf(file, sizeof file, "%s/large.json", samples);
    if (plan_load_path(file, &sys, &e))
        fail_msg("%s", e.msg);
    assert_true(sys.n_servers >= 20);
    plan_system_free(&sys);
}

/* A directory missing a file, and a file that is not JSON, are named. */
static void files_are_named(void **state)
{
    (void)state;
    char dir[] = "/tmp/plan-load-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/accelerator-data.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"accelerators\": [{\"name\": \"A100\", \"cost\": 1}]}", f);
    fclose(f);
    struct plan_system sys;
    struct err e;
    assert_int_equal(plan_load_path(dir, &sys, &e), -ENOENT);
    char want[700];
    snprintf(want, sizeof want, "%s/model-data.json: No such file or directory", dir);
    assert_string_equal(e.msg, want);
    snprintf(path, sizeof path, "%s/model-data.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"models\": [\n  {\"name\": 1,}\n]}", f);
    fclose(f);
    assert_int_equal(plan_load_path(dir, &sys, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "/model-data.json:2:"));
    unlink(path);
    snprintf(path, sizeof path, "%s/accelerator-data.json", dir);
    unlink(path);
    rmdir(dir);
    assert_int_equal(plan_load_path("/nonexistent/plan", &sys, &e), -ENOENT);
    assert_string_equal(e.msg, "/nonexistent/plan: No such file or directory");
}

int main(int argc, char **argv)
{
    samples = argc > 1 ? argv[1] : "samples/planner";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_loads),
        cmocka_unit_test(keys_match_case_insensitively),
        cmocka_unit_test(bad_values_name_the_field),
        cmocka_unit_test(errors_name_line_and_column),
        cmocka_unit_test(unknown_names_are_refused),
        cmocka_unit_test(structure_errors_are_refused),
        cmocka_unit_test(missing_capacity_needs_unlimited),
        cmocka_unit_test(not_json_or_not_bundled),
        cmocka_unit_test(directory_and_file_forms),
        cmocka_unit_test(files_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
