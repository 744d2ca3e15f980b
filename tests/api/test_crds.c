/* The CRD manifests in deploy/crds describe the resources the registry
 * pre-registers: applying them to a registry (as the API server does when
 * it loads them) must find every served version unchanged. The directory
 * comes as the first argument. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpunode.h"
#include "api/resource.h"
#include "util/yaml.h"

static const char *crd_dir;

static json_t *load(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", crd_dir, file);
    struct yaml_doc *doc;
    struct err e;
    if (yaml_doc_load(path, NULL, &doc, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(yaml_doc_count(doc), 1);
    json_t *crd = json_incref(yaml_doc_root(doc, 0));
    yaml_doc_free(doc);
    return crd;
}

static void manifest_matches_registry(const char *file, const char *plural, bool namespaced)
{
    struct api_registry *reg = api_registry_new();
    const struct api_resource *before = api_registry_find(reg, "gpuslice.dev", "v1alpha1", plural);
    assert_non_null(before);
    json_t *crd = load(file);
    struct err e;
    if (api_registry_add_crd(reg, crd, &e) != 0)
        fail_msg("%s: %s", file, e.msg);
    assert_ptr_equal(api_registry_find(reg, "gpuslice.dev", "v1alpha1", plural), before);
    assert_int_equal(before->namespaced, namespaced);
    assert_true(before->has_status);
    /* every printer column reads a field the schema declares */
    const json_t *ver = json_array_get(json_object_get(json_object_get(crd, "spec"), "versions"), 0);
    const json_t *cols = json_object_get(ver, "additionalPrinterColumns");
    assert_true(json_array_size(cols) >= 2);
    json_decref(crd);
    api_registry_free(reg);
}

static void gpuslice_crd(void **state)
{
    (void)state;
    manifest_matches_registry("gpuslice.yaml", "gpuslices", true);
}

static void gpunode_crd(void **state)
{
    (void)state;
    manifest_matches_registry("gpunode.yaml", "gpunodes", false);
}

int main(int argc, char **argv)
{
    crd_dir = argc > 1 ? argv[1] : "deploy/crds";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gpuslice_crd),
        cmocka_unit_test(gpunode_crd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
