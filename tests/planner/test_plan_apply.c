/*
 * Tests for planner/plan_apply: the JSON Patch that brings a Deployment to
 * the plan (replicas, the slice resource in limits and requests), which
 * container and server a Deployment maps to, and what is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "planner/plan_apply.h"

static const char *plan_text =
    "{\"allocations\": {"
    " \"chat\": {\"accelerator\": \"H100-3g.40gb\", \"numReplicas\": 3, \"resource\": \"nvidia.com/mig-3g.40gb\","
    "          \"resourcesPerReplica\": 1},"
    " \"big\": {\"accelerator\": \"H100\", \"numReplicas\": 2, \"resource\": \"nvidia.com/gpu\","
    "         \"resourcesPerReplica\": 2}},"
    " \"unallocated\": {\"late\": {\"status\": \"unallocated\", \"reason\": \"not enough capacity\"}}}";

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("%s", je.text);
    return j;
}

static json_t *patches(const char *objects_text)
{
    json_t *plan = parse(plan_text), *objects = parse(objects_text), *out = NULL;
    struct err e;
    err_clear(&e);
    if (plan_apply_patches(plan, objects, &out, &e))
        fail_msg("%s", e.msg);
    json_decref(plan);
    json_decref(objects);
    return out;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    if (!json_equal((json_t *)got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("got %s\nwant %s", g, want_text);
    }
    json_decref(want);
}

static void slice_change_and_scale(void **state)
{
    (void)state;
    json_t *out = patches(
        "{\"kind\": \"Deployment\", \"metadata\": {\"name\": \"chat\", \"namespace\": \"ai\"},"
        " \"spec\": {\"replicas\": 1, \"template\": {\"spec\": {\"containers\": ["
        "  {\"name\": \"proxy\"},"
        "  {\"name\": \"vllm\", \"resources\": {\"limits\": {\"cpu\": \"4\", \"nvidia.com/mig-1g.10gb\": \"1\"},"
        "   \"requests\": {\"nvidia.com/mig-1g.10gb\": \"1\"}}}]}}}}");
    assert_int_equal(json_array_size(out), 1);
    assert_json(json_array_get(out, 0),
                "{\"namespace\": \"ai\", \"name\": \"chat\", \"server\": \"chat\", \"patch\": ["
                " {\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 3},"
                " {\"op\": \"remove\", \"path\": \"/spec/template/spec/containers/1/resources/limits/nvidia.com~1mig-1g.10gb\"},"
                " {\"op\": \"add\", \"path\": \"/spec/template/spec/containers/1/resources/limits/nvidia.com~1mig-3g.40gb\", \"value\": \"1\"},"
                " {\"op\": \"remove\", \"path\": \"/spec/template/spec/containers/1/resources/requests/nvidia.com~1mig-1g.10gb\"},"
                " {\"op\": \"add\", \"path\": \"/spec/template/spec/containers/1/resources/requests/nvidia.com~1mig-3g.40gb\", \"value\": \"1\"}],"
                " \"changes\": [\"replicas 1 -> 3\", \"nvidia.com/mig-1g.10gb: removed\", \"nvidia.com/mig-3g.40gb: 1\"]}");
    json_decref(out);
}

/* The annotation names the server and the container; a container without
 * resources gets them; a missing replicas is added. */
static void annotations_and_bare_containers(void **state)
{
    (void)state;
    json_t *out = patches(
        "{\"kind\": \"List\", \"items\": ["
        " {\"kind\": \"Service\", \"metadata\": {\"name\": \"svc\"}},"
        " {\"kind\": \"Deployment\", \"metadata\": {\"name\": \"llama\", \"annotations\": {"
        "   \"planner.gpuslice.dev/server\": \"big\", \"planner.gpuslice.dev/container\": \"main\"}},"
        "  \"spec\": {\"template\": {\"spec\": {\"containers\": [{\"name\": \"side\"}, {\"name\": \"main\"}]}}}}]}");
    assert_int_equal(json_array_size(out), 1);
    assert_json(json_array_get(out, 0),
                "{\"namespace\": \"default\", \"name\": \"llama\", \"server\": \"big\", \"patch\": ["
                " {\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 2},"
                " {\"op\": \"add\", \"path\": \"/spec/template/spec/containers/1/resources\","
                "  \"value\": {\"limits\": {\"nvidia.com/gpu\": \"2\"}}}],"
                " \"changes\": [\"replicas 2\", \"nvidia.com/gpu: 2\"]}");
    json_decref(out);
}

static void already_planned_and_skipped(void **state)
{
    (void)state;
    json_t *out = patches(
        "[{\"kind\": \"Deployment\", \"metadata\": {\"name\": \"chat\"}, \"spec\": {\"replicas\": 3, \"template\":"
        "  {\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"nvidia.com/mig-3g.40gb\": \"1\"}}}]}}}},"
        " {\"kind\": \"Deployment\", \"metadata\": {\"name\": \"late\"}, \"spec\": {\"template\":"
        "  {\"spec\": {\"containers\": [{\"name\": \"c\"}]}}}},"
        " {\"kind\": \"Deployment\", \"metadata\": {\"name\": \"other\"}, \"spec\": {\"template\":"
        "  {\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {}}]}}}}]");
    assert_int_equal(json_array_size(out), 3);
    assert_int_equal(json_array_size(json_object_get(json_array_get(out, 0), "patch")), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "skipped")), "not enough capacity");
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 2), "skipped")),
                        "the plan has no such server");
    json_decref(out);
}

static void bad_input_is_named(void **state)
{
    (void)state;
    json_t *plan = parse(plan_text), *out = NULL;
    struct err e;
    json_t *obj = parse("{\"kind\": \"Service\"}");
    assert_int_equal(plan_apply_patches(plan, obj, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "objects: not a Deployment, a List or an array of objects");
    json_decref(obj);
    obj = parse("{\"kind\": \"Deployment\", \"metadata\": {}}");
    assert_int_equal(plan_apply_patches(plan, obj, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "objects[0]: metadata.name is missing");
    json_decref(obj);
    obj = parse("{\"kind\": \"Deployment\", \"metadata\": {\"name\": \"chat\"}, \"spec\": {}}");
    assert_int_equal(plan_apply_patches(plan, obj, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "objects[0] (chat): spec.template.spec.containers is missing or empty");
    json_decref(obj);
    obj = parse("{\"kind\": \"Deployment\", \"metadata\": {\"name\": \"chat\", \"annotations\":"
                " {\"planner.gpuslice.dev/container\": \"gone\"}}, \"spec\": {\"template\": {\"spec\":"
                " {\"containers\": [{\"name\": \"c\"}]}}}}");
    assert_int_equal(plan_apply_patches(plan, obj, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "objects[0]: no container \"gone\" (annotation planner.gpuslice.dev/container)");
    json_t *empty = parse("{}");
    assert_int_equal(plan_apply_patches(empty, obj, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "plan: \"allocations\" is missing or not an object");
    json_t *broken = parse("{\"allocations\": {\"chat\": {\"numReplicas\": 2}}}");
    json_decref(obj);
    obj = parse("{\"kind\": \"Deployment\", \"metadata\": {\"name\": \"chat\"}, \"spec\": {\"template\": {\"spec\":"
                " {\"containers\": [{\"name\": \"c\"}]}}}}");
    assert_int_equal(plan_apply_patches(broken, obj, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "plan: allocations.chat needs numReplicas >= 0, resource and resourcesPerReplica >= 1");
    assert_null(out);
    json_decref(broken);
    json_decref(empty);
    json_decref(obj);
    json_decref(plan);
}

/* Every allocated server needs a Deployment; skipped ones count. */
static void coverage_names_the_missing_server(void **state)
{
    (void)state;
    json_t *plan = parse(plan_text), *empty = parse("{}");
    json_t *both = parse("[{\"server\": \"chat\", \"patch\": []}, {\"server\": \"big\", \"skipped\": \"x\"}]");
    json_t *one = parse("[{\"server\": \"big\", \"patch\": []}]");
    struct err e;
    assert_int_equal(plan_apply_check_coverage(plan, both, &e), 0);
    assert_int_equal(plan_apply_check_coverage(plan, one, &e), -ENOENT);
    assert_string_equal(e.msg, "plan: server \"chat\" has no Deployment (none is named chat or annotated "
                               "planner.gpuslice.dev/server=chat)");
    assert_int_equal(plan_apply_check_coverage(empty, both, &e), -EINVAL);
    json_decref(plan);
    json_decref(empty);
    json_decref(both);
    json_decref(one);
}

static void pin_prepends_the_version_read(void **state)
{
    (void)state;
    json_t *patch = parse("[{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 3}]");
    json_t *dep = parse("{\"metadata\": {\"name\": \"chat\", \"resourceVersion\": \"42\"}}");
    json_t *bare = parse("{\"metadata\": {\"name\": \"chat\"}}");
    struct err e;
    assert_int_equal(plan_apply_pin(patch, dep, &e), 0);
    assert_json(patch, "[{\"op\": \"replace\", \"path\": \"/metadata/resourceVersion\", \"value\": \"42\"},"
                       " {\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 3}]");
    assert_int_equal(plan_apply_pin(patch, bare, &e), -EINVAL);
    assert_string_equal(e.msg, "deployment: metadata.resourceVersion is missing");
    assert_int_equal(json_array_size(patch), 2);
    json_decref(patch);
    json_decref(dep);
    json_decref(bare);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slice_change_and_scale),
        cmocka_unit_test(annotations_and_bare_containers),
        cmocka_unit_test(already_planned_and_skipped),
        cmocka_unit_test(bad_input_is_named),
        cmocka_unit_test(coverage_names_the_missing_server),
        cmocka_unit_test(pin_prepends_the_version_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
