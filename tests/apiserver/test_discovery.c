/* Tests for cluster/discovery and cluster/openapi, straight from a registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/discovery.h"
#include "apiserver/jsonpath.h"
#include "apiserver/openapi.h"
#include "helpers.h"

static void snapshot_and_groups(void **state)
{
    struct api_registry *reg = *state;
    const struct api_resource **v;
    size_t n = discovery_resources(reg, &v);
    assert_true(n >= 14);
    assert_string_equal(v[0]->plural, "pods");
    free(v);
    json_t *core = discovery_core();
    assert_string_equal(json_string_value(jsonpath_get(core, ".versions[0]")), "v1");
    json_decref(core);
    json_t *groups = discovery_groups(reg);
    const json_t *list = json_object_get(groups, "groups");
    for (size_t i = 0; i < json_array_size(list); i++)
        assert_int_not_equal(strlen(json_string_value(
                                 json_object_get(json_array_get(list, i), "name"))),
                             0);
    json_decref(groups);
    json_t *apps = discovery_group(reg, "apps");
    assert_string_equal(json_string_value(jsonpath_get(apps, ".versions[0].groupVersion")),
                        "apps/v1");
    json_decref(apps);
    assert_null(discovery_group(reg, ""));
    assert_null(discovery_group(reg, "nope.io"));
    json_t *ver = discovery_version("1.2.3");
    assert_string_equal(json_string_value(json_object_get(ver, "gitVersion")),
                        "v1.32.0+gpuslice-1.2.3");
    json_decref(ver);
}

static void resource_lists(void **state)
{
    struct api_registry *reg = *state;
    json_t *core = discovery_group_version(reg, "", "v1");
    assert_string_equal(json_string_value(json_object_get(core, "groupVersion")), "v1");
    const json_t *res = json_object_get(core, "resources");
    const json_t *pods = json_array_get(res, 0);
    assert_string_equal(json_string_value(json_object_get(pods, "name")), "pods");
    assert_string_equal(json_string_value(jsonpath_get(pods, ".shortNames[0]")), "po");
    assert_true(json_is_true(json_object_get(pods, "namespaced")));
    assert_int_equal(json_array_size(json_object_get(pods, "verbs")), 8);
    json_decref(core);
    json_t *gs = discovery_group_version(reg, "gpuslice.dev", "v1alpha1");
    assert_string_equal(json_string_value(json_object_get(gs, "groupVersion")),
                        "gpuslice.dev/v1alpha1");
    json_decref(gs);
    assert_null(discovery_group_version(reg, "apps", "v9"));
}

static void openapi_index_and_documents(void **state)
{
    struct api_registry *reg = *state;
    json_t *index = openapi_index(reg);
    const json_t *paths = json_object_get(index, "paths");
    assert_non_null(json_object_get(paths, "api/v1"));
    assert_non_null(json_object_get(paths, "apis/gpuslice.dev/v1alpha1"));
    json_t *doc = openapi_group_version(reg, "gpuslice.dev", "v1alpha1");
    const json_t *item = json_object_get(json_object_get(doc, "paths"),
                                         "/apis/gpuslice.dev/v1alpha1/gpunodes/{name}");
    assert_non_null(item);
    assert_string_equal(json_string_value(jsonpath_get(
                            item, ".patch.x-kubernetes-group-version-kind.kind")),
                        "GPUNode");
    assert_non_null(json_object_get(json_object_get(doc, "paths"),
                                    "/apis/gpuslice.dev/v1alpha1/namespaces/{namespace}/"
                                    "gpuslices"));
    json_decref(doc);
    /* A new CRD changes its group-version's hash in the index. */
    json_t *crd = json_loads(
        "{\"metadata\":{\"name\":\"things.gpuslice.dev\"},\"spec\":{\"group\":\"gpuslice.dev\","
        "\"scope\":\"Cluster\",\"names\":{\"plural\":\"things\",\"kind\":\"Thing\"},"
        "\"versions\":[{\"name\":\"v1alpha1\",\"served\":true,\"storage\":true}]}}",
        0, NULL);
    const char *gv = "apis/gpuslice.dev/v1alpha1";
    char *old = strdup(
        json_string_value(json_object_get(json_object_get(paths, gv), "serverRelativeURL")));
    assert_int_equal(api_registry_add_crd(reg, crd, NULL), 0);
    json_decref(crd);
    json_t *index2 = openapi_index(reg);
    const char *now = json_string_value(json_object_get(
        json_object_get(json_object_get(index2, "paths"), gv), "serverRelativeURL"));
    assert_string_not_equal(old, now);
    free(old);
    json_decref(index2);
    json_decref(index);
    assert_null(openapi_group_version(reg, "nope.io", "v1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_and_groups),
        cmocka_unit_test(resource_lists),
        cmocka_unit_test(openapi_index_and_documents),
    };
    return cmocka_run_group_tests(tests, registry_setup, registry_teardown);
}
