/* Tests for cluster/jsonpath: the printer-column subset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/jsonpath.h"

static json_t *doc;

static int setup(void **state)
{
    (void)state;
    doc = json_loads("{\"spec\":{\"node\":\"n1\",\"gpus\":[{\"id\":0},{\"id\":1}]},"
                     "\"status\":{\"conditions\":[{\"type\":\"Created\",\"status\":\"True\"},"
                     "{\"type\":\"Ready\",\"status\":\"False\"}]}}",
                     0, NULL);
    return doc ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(doc);
    return 0;
}

static void members_and_indexes(void **state)
{
    (void)state;
    assert_string_equal(json_string_value(jsonpath_get(doc, ".spec.node")), "n1");
    assert_string_equal(json_string_value(jsonpath_get(doc, "spec.node")), "n1");
    assert_int_equal(json_integer_value(jsonpath_get(doc, ".spec.gpus[1].id")), 1);
    assert_int_equal(json_integer_value(jsonpath_get(doc, ".spec.gpus[-2].id")), 0);
    assert_ptr_equal(jsonpath_get(doc, "."), doc);
    assert_int_equal(json_integer_value(jsonpath_get(doc, ".spec.gpus[*].id")), 0);
    assert_null(jsonpath_get(doc, ".spec.node[*]"));
}

static void filters(void **state)
{
    (void)state;
    assert_string_equal(
        json_string_value(jsonpath_get(doc, ".status.conditions[?(@.type==\"Ready\")].status")),
        "False");
    assert_string_equal(
        json_string_value(jsonpath_get(doc, ".status.conditions[?(@.type=='Created')].status")),
        "True");
    assert_null(jsonpath_get(doc, ".status.conditions[?(@.type==\"Gone\")].status"));
}

static void misses_and_bad_paths(void **state)
{
    (void)state;
    const char *bad[] = {
        ".spec.missing", ".spec.gpus[2]", ".spec.gpus[x]", ".spec.node.deeper", ".spec..node",
        ".spec.gpus[0", ".status.conditions[?(@.type==Ready)]",
        ".status.conditions[?(@.type==\"Ready\"]", ".spec.gpus[?(@.id==\"0\")]", "[0]",
        ".spec[0]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(jsonpath_get(doc, bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(members_and_indexes),
        cmocka_unit_test(filters),
        cmocka_unit_test(misses_and_bad_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
