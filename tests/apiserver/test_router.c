/* Tests for cluster/router: every path shape, and what is not a path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/router.h"
#include "helpers.h"

static int parse(struct api_registry *reg, const char *path, struct route *rt)
{
    struct err e;
    return router_parse(reg, path, strlen(path), rt, &e);
}

static void info_paths(void **state)
{
    struct api_registry *reg = *state;
    struct route rt;
    static const struct {
        const char *path;
        enum route_kind kind;
    } cases[] = {
        {"/", ROUTE_ROOT},
        {"/healthz", ROUTE_HEALTH},
        {"/readyz/ping", ROUTE_HEALTH},
        {"/livez", ROUTE_HEALTH},
        {"/version", ROUTE_VERSION},
        {"/api", ROUTE_API},
        {"/apis", ROUTE_APIS},
        {"/apis/apps", ROUTE_GROUP},
        {"/api/v1", ROUTE_GROUP_VERSION},
        {"/apis/apps/v1", ROUTE_GROUP_VERSION},
        {"/openapi/v3", ROUTE_OPENAPI_INDEX},
        {"/openapi/v3/api/v1", ROUTE_OPENAPI_DOC},
        {"/openapi/v3/apis/apps/v1", ROUTE_OPENAPI_DOC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(reg, cases[i].path, &rt), 0);
        assert_int_equal(rt.kind, cases[i].kind);
    }
    assert_int_equal(parse(reg, "/openapi/v3/apis/apps/v1", &rt), 0);
    assert_string_equal(rt.group, "apps");
    assert_string_equal(rt.version, "v1");
}

static void resource_paths(void **state)
{
    struct api_registry *reg = *state;
    struct route rt;
    assert_int_equal(parse(reg, "/api/v1/namespaces/default/pods", &rt), 0);
    assert_int_equal(rt.kind, ROUTE_COLLECTION);
    assert_string_equal(rt.res->plural, "pods");
    assert_string_equal(rt.ns, "default");
    assert_null(rt.name);

    assert_int_equal(parse(reg, "/api/v1/namespaces/default/pods/web/binding", &rt), 0);
    assert_int_equal(rt.kind, ROUTE_OBJECT);
    assert_string_equal(rt.name, "web");
    assert_string_equal(rt.subresource, "binding");

    assert_int_equal(parse(reg, "/api/v1/pods", &rt), 0);
    assert_int_equal(rt.kind, ROUTE_COLLECTION);
    assert_null(rt.ns);

    assert_int_equal(parse(reg, "/api/v1/namespaces/kube-system", &rt), 0);
    assert_int_equal(rt.kind, ROUTE_OBJECT);
    assert_string_equal(rt.res->plural, "namespaces");
    assert_string_equal(rt.name, "kube-system");
    assert_null(rt.ns);

    assert_int_equal(parse(reg, "/api/v1/namespaces/x/status", &rt), 0);
    assert_string_equal(rt.res->plural, "namespaces");
    assert_string_equal(rt.subresource, "status");

    assert_int_equal(parse(reg, "/apis/gpuslice.dev/v1alpha1/gpunodes/n%2D1", &rt), 0);
    assert_string_equal(rt.res->kind, "GPUNode");
    assert_string_equal(rt.name, "n-1");

    assert_int_equal(parse(reg, "/apis/apps/v1/namespaces/a/deployments/d/status", &rt), 0);
    assert_string_equal(rt.group, "apps");
    assert_string_equal(rt.ns, "a");
}

static void not_paths(void **state)
{
    struct api_registry *reg = *state;
    struct route rt;
    const char *missing[] = {
        "", "api", "/api/", "/api//v1", "/nothing", "/version/x", "/api/v1/widgets",
        "/api/v1/namespaces/a/nodes", "/apis/apps/v2/deployments", "/openapi/v2",
        "/openapi/v3/api", "/openapi/v3/apis/apps", "/api/v1/namespaces/a/pods/b/c/d",
        "/apis/a/b/c/d/e/f/g/h/i/j",
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        assert_int_equal(parse(reg, missing[i], &rt), -ENOENT);
    assert_int_equal(parse(reg, "/api/v1/pods/%zz", &rt), -EBADMSG);
    char long_path[ROUTE_PATH_MAX + 8];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(parse(reg, long_path, &rt), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(info_paths),
        cmocka_unit_test(resource_paths),
        cmocka_unit_test(not_paths),
    };
    return cmocka_run_group_tests(tests, registry_setup, registry_teardown);
}
