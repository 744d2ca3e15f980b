/* Tests for api/node: the Node view, allocatable resources, taints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "api/node.h"

static json_t *node(void)
{
    return json_loads(
        "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"gpu\":\"a100\"}},"
        "\"spec\":{\"taints\":[{\"key\":\"nvidia.com/gpu\",\"effect\":\"NoSchedule\"},"
        "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]},"
        "\"status\":{\"capacity\":{\"cpu\":\"16\",\"memory\":\"64Gi\",\"pods\":110},"
        "\"allocatable\":{\"cpu\":\"15500m\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
        0, NULL);
}

static void reads_a_node(void **state)
{
    (void)state;
    json_t *n = node();
    struct node_view v;
    struct err e;
    assert_int_equal(node_read(n, &v, &e), 0);
    assert_string_equal(v.name, "n1");
    assert_true(v.ready);
    assert_false(v.unschedulable);
    assert_int_equal(json_array_size(v.taints), 2);
    assert_int_equal(node_allocatable_milli(&v, "cpu"), 15500);
    assert_int_equal(node_allocatable_milli(&v, "pods"), 110000);
    assert_int_equal(node_allocatable_milli(&v, "nvidia.com/gpu"), 0);
    json_decref(n);
}

static void bad_nodes_name_the_field(void **state)
{
    (void)state;
    struct node_view v;
    struct err e;
    json_t *n = node();
    json_object_set_new(json_object_get(n, "spec"), "unschedulable", json_string("yes"));
    assert_int_equal(node_read(n, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.unschedulable"));
    json_decref(n);
    n = node();
    json_object_set_new(json_array_get(json_object_get(json_object_get(n, "spec"), "taints"), 0),
                        "effect", json_string("Never"));
    assert_int_equal(node_read(n, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.taints[0].effect: Unsupported value"));
    json_decref(n);
    n = node();
    json_object_set_new(json_object_get(json_object_get(n, "status"), "capacity"), "cpu",
                        json_string("-2"));
    assert_int_equal(node_read(n, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "status.capacity[cpu]"));
    json_decref(n);
    n = json_object();
    assert_int_equal(node_read(n, &v, &e), -EINVAL);
    json_decref(n);
}

static void taints_need_tolerations(void **state)
{
    (void)state;
    json_t *n = node();
    struct node_view v;
    assert_int_equal(node_read(n, &v, NULL), 0);
    assert_false(node_tolerated(&v, NULL));
    json_t *t = json_loads("[{\"key\":\"nvidia.com/gpu\",\"operator\":\"Exists\"}]", 0, NULL);
    assert_true(node_tolerated(&v, t));
    json_decref(t);
    t = json_loads("[{\"key\":\"nvidia.com/gpu\",\"value\":\"x\"}]", 0, NULL);
    assert_false(node_tolerated(&v, t)); /* Equal with a value the taint lacks */
    json_decref(t);
    t = json_loads("[{\"key\":\"nvidia.com/gpu\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]", 0, NULL);
    assert_false(node_tolerated(&v, t));
    json_decref(t);
    t = json_loads("[{\"operator\":\"Exists\"}]", 0, NULL);
    assert_true(node_tolerated(&v, t));
    json_decref(t);
    json_decref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_node),
        cmocka_unit_test(bad_nodes_name_the_field),
        cmocka_unit_test(taints_need_tolerations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
