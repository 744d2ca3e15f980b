/* Tests for api/resource: built-in lookups, kubectl-style resolution, and
 * resources defined by CRDs at run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "api/resource.h"

static int setup(void **state)
{
    *state = api_registry_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    api_registry_free(*state);
    return 0;
}

static json_t *widget_crd(const char *scope, bool status)
{
    json_t *crd = json_pack(
        "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:s, s:s, s:[s]},"
        " s:[{s:s, s:b, s:b, s:[{s:s}]}, {s:s, s:b, s:b}]}}",
        "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition",
        "metadata", "name", "widgets.example.com",
        "spec", "group", "example.com", "scope", scope,
        "names", "plural", "widgets", "kind", "Widget", "shortNames", "wd",
        "versions", "name", "v1", "served", 1, "storage", 1,
        "selectableFields", "jsonPath", ".spec.color",
        "name", "v2", "served", 0, "storage", 0);
    if (status)
        json_object_set_new(json_array_get(json_object_get(json_object_get(crd, "spec"), "versions"), 0),
                            "subresources", json_pack("{s:{}}", "status"));
    return crd;
}

static void builtins_are_found(void **state)
{
    struct api_registry *reg = *state;
    const struct api_resource *pods = api_registry_find(reg, "", "v1", "pods");
    assert_non_null(pods);
    assert_string_equal(pods->kind, "Pod");
    assert_true(pods->namespaced);
    assert_true(pods->has_status);
    const struct api_resource *lease = api_registry_find(reg, "coordination.k8s.io", "v1", "leases");
    assert_non_null(lease);
    assert_false(lease->has_status);
    assert_string_equal(lease->api_version, "coordination.k8s.io/v1");
    const struct api_resource *gn = api_registry_find(reg, "gpuslice.dev", "v1alpha1", "gpunodes");
    assert_non_null(gn);
    assert_false(gn->namespaced);
    assert_false(gn->builtin);
    assert_null(api_registry_find(reg, "apps", "v1", "pods"));
    assert_null(api_registry_find(reg, NULL, "v1", "widgets"));
}

static void by_kind_uses_api_version(void **state)
{
    struct api_registry *reg = *state;
    const struct api_resource *d = api_registry_by_kind(reg, "apps/v1", "Deployment");
    assert_non_null(d);
    assert_string_equal(d->plural, "deployments");
    assert_null(api_registry_by_kind(reg, "v1", "Deployment"));
    assert_non_null(api_registry_by_kind(reg, "gpuslice.dev/v1alpha1", "GPUSlice"));
}

static void resolve_like_kubectl(void **state)
{
    struct api_registry *reg = *state;
    assert_string_equal(api_registry_resolve(reg, "po")->plural, "pods");
    assert_string_equal(api_registry_resolve(reg, "Pod")->plural, "pods");
    assert_string_equal(api_registry_resolve(reg, "deploy")->group, "apps");
    assert_string_equal(api_registry_resolve(reg, "deploy.apps")->plural, "deployments");
    assert_string_equal(api_registry_resolve(reg, "deployments.v1.apps")->plural, "deployments");
    assert_string_equal(api_registry_resolve(reg, "gpuslices.gpuslice.dev")->kind, "GPUSlice");
    assert_string_equal(api_registry_resolve(reg, "gsl")->kind, "GPUSlice");
    assert_string_equal(api_registry_resolve(reg, "CRD")->kind, "CustomResourceDefinition");
    assert_null(api_registry_resolve(reg, "deploy.batch"));
    assert_null(api_registry_resolve(reg, "nothing"));
}

static void crd_adds_served_versions(void **state)
{
    struct api_registry *reg = *state;
    struct err e;
    size_t before = api_registry_list(reg, NULL, 0);
    json_t *crd = widget_crd("Namespaced", true);
    assert_int_equal(api_registry_add_crd(reg, crd, &e), 0);
    const struct api_resource *w = api_registry_find(reg, "example.com", "v1", "widgets");
    assert_non_null(w);
    assert_string_equal(w->singular, "widget");
    assert_string_equal(w->list_kind, "WidgetList");
    assert_string_equal(w->api_version, "example.com/v1");
    assert_string_equal(w->short_names[0], "wd");
    assert_string_equal(w->selectable_fields[0], "spec.color");
    assert_true(w->namespaced);
    assert_true(w->has_status);
    assert_false(w->builtin);
    assert_null(api_registry_find(reg, "example.com", "v2", "widgets"));
    assert_int_equal(api_registry_list(reg, NULL, 0), before + 1);
    assert_ptr_equal(api_registry_resolve(reg, "wd"), w);

    /* unchanged: same entry served again; changed: a new entry */
    assert_int_equal(api_registry_add_crd(reg, crd, &e), 0);
    assert_ptr_equal(api_registry_find(reg, "example.com", "v1", "widgets"), w);
    json_t *changed = widget_crd("Namespaced", false);
    assert_int_equal(api_registry_add_crd(reg, changed, &e), 0);
    const struct api_resource *w2 = api_registry_find(reg, "example.com", "v1", "widgets");
    assert_non_null(w2);
    assert_ptr_not_equal(w2, w);
    assert_false(w2->has_status);
    assert_true(w->has_status); /* the old pointer is still valid and unchanged */
    assert_int_equal(api_registry_list(reg, NULL, 0), before + 1);

    api_registry_remove_crd(reg, "widgets.example.com");
    assert_null(api_registry_find(reg, "example.com", "v1", "widgets"));
    assert_int_equal(api_registry_list(reg, NULL, 0), before);
    json_decref(crd);
    json_decref(changed);
}

static void crd_for_gpuslice_keeps_the_preregistered_entry(void **state)
{
    struct api_registry *reg = *state;
    struct err e;
    const struct api_resource *gs = api_registry_find(reg, "gpuslice.dev", "v1alpha1", "gpuslices");
    json_t *crd = json_pack(
        "{s:{s:s}, s:{s:s, s:s, s:{s:s, s:s, s:s, s:[s]},"
        " s:[{s:s, s:b, s:b, s:{s:{}}, s:[{s:s}, {s:s}]}]}}",
        "metadata", "name", "gpuslices.gpuslice.dev",
        "spec", "group", "gpuslice.dev", "scope", "Namespaced",
        "names", "plural", "gpuslices", "singular", "gpuslice", "kind", "GPUSlice",
        "shortNames", "gsl",
        "versions", "name", "v1alpha1", "served", 1, "storage", 1, "subresources", "status",
        "selectableFields", "jsonPath", ".spec.nodeName", "jsonPath", ".status.phase");
    assert_int_equal(api_registry_add_crd(reg, crd, &e), 0);
    assert_ptr_equal(api_registry_find(reg, "gpuslice.dev", "v1alpha1", "gpuslices"), gs);
    json_decref(crd);
}

static void malformed_crds_name_the_field(void **state)
{
    struct api_registry *reg = *state;
    struct err e;
    json_t *crd = widget_crd("Sideways", false);
    assert_int_equal(api_registry_add_crd(reg, crd, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.scope"));
    json_decref(crd);

    crd = widget_crd("Cluster", false);
    json_object_set_new(json_object_get(crd, "metadata"), "name", json_string("gadgets.example.com"));
    assert_int_equal(api_registry_add_crd(reg, crd, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "metadata.name"));
    json_decref(crd);

    crd = widget_crd("Cluster", false);
    json_object_del(json_object_get(json_object_get(crd, "spec"), "names"), "kind");
    assert_int_equal(api_registry_add_crd(reg, crd, &e), -EINVAL);
    assert_string_equal(e.msg, "spec.names.kind: Required value");
    json_decref(crd);

    crd = widget_crd("Cluster", false);
    json_object_set_new(json_object_get(crd, "spec"), "versions", json_array());
    assert_int_equal(api_registry_add_crd(reg, crd, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.versions"));
    json_decref(crd);

    assert_int_equal(api_registry_add_crd(reg, json_null(), &e), -EINVAL);
}

static void crd_cannot_redefine_builtin(void **state)
{
    struct api_registry *reg = *state;
    struct err e;
    json_t *crd = json_pack(
        "{s:{s:s}, s:{s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:b}]}}",
        "metadata", "name", "deployments.apps",
        "spec", "group", "apps", "scope", "Namespaced", "names", "plural", "deployments",
        "kind", "Deployment", "versions", "name", "v1", "served", 1);
    /* "apps" has no dot: refused as a group before it could clash */
    assert_int_equal(api_registry_add_crd(reg, crd, &e), -EINVAL);
    json_decref(crd);
    crd = json_pack(
        "{s:{s:s}, s:{s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:b}]}}",
        "metadata", "name", "leases.coordination.k8s.io",
        "spec", "group", "coordination.k8s.io", "scope", "Namespaced", "names", "plural",
        "leases", "kind", "Lease", "versions", "name", "v2", "served", 1);
    assert_int_equal(api_registry_add_crd(reg, crd, &e), -EEXIST);
    assert_null(api_registry_find(reg, "coordination.k8s.io", "v2", "leases"));
    json_decref(crd);
}

static void list_copies_at_most_max(void **state)
{
    struct api_registry *reg = *state;
    const struct api_resource *some[3];
    size_t n = api_registry_list(reg, some, 3);
    assert_true(n > 3);
    assert_string_equal(some[0]->plural, "pods");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(builtins_are_found, setup, teardown),
        cmocka_unit_test_setup_teardown(by_kind_uses_api_version, setup, teardown),
        cmocka_unit_test_setup_teardown(resolve_like_kubectl, setup, teardown),
        cmocka_unit_test_setup_teardown(crd_adds_served_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(crd_for_gpuslice_keeps_the_preregistered_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_crds_name_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(crd_cannot_redefine_builtin, setup, teardown),
        cmocka_unit_test_setup_teardown(list_copies_at_most_max, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
