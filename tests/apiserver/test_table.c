/* Tests for cluster/table: ages, built-in printers, CRD printer columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/table.h"
#include "helpers.h"

#define S 1000000000LL

static void ages_like_kubectl(void **state)
{
    (void)state;
    static const struct {
        int64_t secs;
        const char *want;
    } cases[] = {
        {0, "0s"},           {-1, "0s"},          {-2, "<invalid>"},   {59, "59s"},
        {119, "119s"},       {120, "2m"},         {150, "2m30s"},      {599, "9m59s"},
        {600, "10m"},        {10799, "179m"},     {10800, "3h"},       {11000, "3h3m"},
        {8 * 3600, "8h"},    {47 * 3600, "47h"},  {48 * 3600, "2d"},   {50 * 3600, "2d2h"},
        {8 * 86400, "8d"},   {729 * 86400, "729d"}, {730 * 86400, "2y"}, {731 * 86400, "2y1d"},
        {2920LL * 86400, "8y"}, {3000LL * 86400, "8y"},
    };
    char out[TABLE_AGE_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        table_age(cases[i].secs * S, out);
        assert_string_equal(out, cases[i].want);
    }
    table_age_since("2024-05-01T09:59:00Z", HELPERS_NOW_NS, out);
    assert_string_equal(out, "60s");
    table_age_since("yesterday", HELPERS_NOW_NS, out);
    assert_string_equal(out, "<unknown>");
    table_age_since(NULL, HELPERS_NOW_NS, out);
    assert_string_equal(out, "<unknown>");
}

static void include_values(void **state)
{
    (void)state;
    enum table_include inc;
    assert_int_equal(table_include_parse(NULL, &inc, NULL), 0);
    assert_int_equal(inc, TABLE_INCLUDE_METADATA);
    assert_int_equal(table_include_parse("Object", &inc, NULL), 0);
    assert_int_equal(inc, TABLE_INCLUDE_OBJECT);
    assert_int_equal(table_include_parse("None", &inc, NULL), 0);
    assert_int_equal(inc, TABLE_INCLUDE_NONE);
    struct err e;
    assert_int_equal(table_include_parse("object", &inc, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "includeObject"));
}

/* The row for obj (JSON text) as a table of res; caller frees. */
static json_t *one_row(struct fixture *f, const char *group, const char *plural,
                       const char *obj_text)
{
    const struct api_resource *res =
        api_registry_find(store_registry(f->st), group, group[0] ? "v1" : "v1", plural);
    if (!res)
        res = api_registry_find(store_registry(f->st), group, "v1alpha1", plural);
    assert_non_null(res);
    struct table_spec *ts;
    assert_int_equal(table_spec_new(f->st, res, &ts, NULL), 0);
    json_t *obj = json_loads(obj_text, 0, NULL);
    assert_non_null(obj);
    json_t *items = json_pack("[o]", obj);
    json_t *t = table_build(ts, items, NULL, true, TABLE_INCLUDE_OBJECT, "v1", f->now_ns);
    assert_non_null(t);
    json_decref(items);
    table_spec_free(ts);
    return t;
}

static const char *cell(const json_t *t, const char *column)
{
    const json_t *cols = json_object_get(t, "columnDefinitions");
    const json_t *cells = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "cells");
    for (size_t i = 0; i < json_array_size(cols); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(cols, i), "name")), column) ==
            0) {
            static char buf[128];
            const json_t *c = json_array_get(cells, i);
            if (json_is_integer(c)) {
                snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(c));
                return buf;
            }
            return json_is_null(c) ? "<null>" : json_string_value(c);
        }
    return NULL;
}

static void expect_cell(struct fixture *f, const char *group, const char *plural,
                        const char *obj, const char *column, const char *want)
{
    json_t *t = one_row(f, group, plural, obj);
    const char *got = cell(t, column);
    assert_non_null(got);
    assert_string_equal(got, want);
    json_decref(t);
}

static void pod_columns(void **state)
{
    struct fixture *f = *state;
    expect_cell(f, "", "pods",
                "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"schedulingGates\":[{\"name\":\"g\"}],"
                "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{\"phase\":"
                "\"Pending\"}}",
                "Status", "SchedulingGated");
    const char *crash = "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\","
                        "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{"
                        "\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"containerStatuses\":["
                        "{\"name\":\"a\",\"ready\":true,\"restartCount\":1,\"state\":{"
                        "\"running\":{}}},{\"name\":\"b\",\"ready\":false,\"restartCount\":4,"
                        "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}";
    expect_cell(f, "", "pods", crash, "Status", "CrashLoopBackOff");
    expect_cell(f, "", "pods", crash, "Ready", "1/2");
    expect_cell(f, "", "pods", crash, "Restarts", "5");
    expect_cell(f, "", "pods", crash, "IP", "10.0.0.1");
    expect_cell(f, "", "pods", crash, "Node", "n1");
    expect_cell(f, "", "pods", crash, "Nominated Node", "<none>");
    expect_cell(f, "", "pods",
                "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"initContainers\":[{\"name\":\"i\"},"
                "{\"name\":\"j\"}],\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":"
                "\"Pending\",\"initContainerStatuses\":[{\"state\":{\"terminated\":{"
                "\"exitCode\":0}}},{\"state\":{\"running\":{}}}]}}",
                "Status", "Init:1/2");
    expect_cell(f, "", "pods",
                "{\"metadata\":{\"name\":\"p\",\"deletionTimestamp\":\"2024-05-01T10:00:00Z\"},"
                "\"spec\":{\"containers\":[]},\"status\":{\"phase\":\"Running\"}}",
                "Status", "Terminating");
    expect_cell(f, "", "pods",
                "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2024-05-01T07:00:00Z\"},"
                "\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":"
                "\"Succeeded\",\"containerStatuses\":[{\"state\":{\"terminated\":{\"exitCode\":0,"
                "\"reason\":\"Completed\"}}}]}}",
                "Status", "Completed");
    expect_cell(f, "", "pods",
                "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2024-05-01T07:00:00Z\"},"
                "\"spec\":{\"containers\":[]}}",
                "Age", "3h");
}

static void node_and_workload_columns(void **state)
{
    struct fixture *f = *state;
    const char *node = "{\"metadata\":{\"name\":\"n\",\"labels\":{"
                       "\"node-role.kubernetes.io/worker\":\"\","
                       "\"node-role.kubernetes.io/control-plane\":\"\"}},\"spec\":{"
                       "\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\","
                       "\"status\":\"True\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0\"},"
                       "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.1.1.1\"}]}}";
    expect_cell(f, "", "nodes", node, "Status", "Ready,SchedulingDisabled");
    expect_cell(f, "", "nodes", node, "Roles", "control-plane,worker");
    expect_cell(f, "", "nodes", node, "Version", "v1.32.0");
    expect_cell(f, "", "nodes", node, "Internal-IP", "10.1.1.1");
    expect_cell(f, "", "nodes", node, "External-IP", "<none>");
    expect_cell(f, "", "nodes", "{\"metadata\":{\"name\":\"n\"}}", "Status", "Unknown");
    expect_cell(f, "", "nodes", "{\"metadata\":{\"name\":\"n\"}}", "Roles", "<none>");

    const char *deploy = "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":3,\"selector\":{"
                         "\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"spec\":{"
                         "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"},{\"name\":\"s\","
                         "\"image\":\"envoy\"}]}}},\"status\":{\"readyReplicas\":2,"
                         "\"updatedReplicas\":3,\"availableReplicas\":2}}";
    expect_cell(f, "apps", "deployments", deploy, "Ready", "2/3");
    expect_cell(f, "apps", "deployments", deploy, "Up-to-date", "3");
    expect_cell(f, "apps", "deployments", deploy, "Available", "2");
    expect_cell(f, "apps", "deployments", deploy, "Images", "nginx,envoy");
    expect_cell(f, "apps", "deployments", deploy, "Selector", "app=web");
    expect_cell(f, "apps", "replicasets", deploy, "Desired", "3");

    const char *job = "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"completions\":4},\"status\":{"
                      "\"succeeded\":4,\"startTime\":\"2024-05-01T09:00:00Z\",\"completionTime\":"
                      "\"2024-05-01T09:02:30Z\",\"conditions\":[{\"type\":\"Complete\","
                      "\"status\":\"True\"}]}}";
    expect_cell(f, "batch", "jobs", job, "Status", "Complete");
    expect_cell(f, "batch", "jobs", job, "Completions", "4/4");
    expect_cell(f, "batch", "jobs", job, "Duration", "2m30s");
    expect_cell(f, "batch", "jobs",
                "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"parallelism\":3},\"status\":{"
                "\"startTime\":\"2024-05-01T09:59:50Z\"}}",
                "Completions", "0/1 of 3");
    expect_cell(f, "batch", "jobs",
                "{\"metadata\":{\"name\":\"j\"},\"status\":{\"startTime\":"
                "\"2024-05-01T09:59:50Z\"}}",
                "Duration", "10s");

    expect_cell(f, "", "events",
                "{\"metadata\":{\"name\":\"e\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":"
                "\"Web\"},\"reason\":\"Scheduled\",\"type\":\"Normal\",\"message\":\"ok\","
                "\"lastTimestamp\":\"2024-05-01T09:55:00Z\"}",
                "Object", "pod/Web");
    expect_cell(f, "", "events",
                "{\"metadata\":{\"name\":\"e\"},\"lastTimestamp\":\"2024-05-01T09:55:00Z\"}",
                "Last Seen", "5m");
    expect_cell(f, "", "configmaps",
                "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\",\"b\":\"2\"},"
                "\"binaryData\":{\"c\":\"AA==\"}}",
                "Data", "3");
    expect_cell(f, "coordination.k8s.io", "leases",
                "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":\"me\"}}", "Holder",
                "me");
    /* Fields an object lacks show their defaults. */
    const char *bare = "{\"metadata\":{\"name\":\"x\"}}";
    expect_cell(f, "apps", "replicasets", bare, "Desired", "1");
    expect_cell(f, "apps", "replicasets", bare, "Current", "0");
    expect_cell(f, "", "pods", bare, "IP", "<none>");
    expect_cell(f, "", "events", bare, "Type", "");
    expect_cell(f, "coordination.k8s.io", "leases", bare, "Holder", "");
}

static void crd_printer_columns(void **state)
{
    struct fixture *f = *state;
    /* Without a stored CRD, a custom resource gets Name and Age. */
    json_t *t = one_row(f, "gpuslice.dev", "gpuslices",
                        "{\"metadata\":{\"name\":\"s\",\"creationTimestamp\":"
                        "\"2024-05-01T09:59:00Z\"}}");
    assert_int_equal(json_array_size(json_object_get(t, "columnDefinitions")), 2);
    assert_string_equal(cell(t, "Age"), "60s");
    json_decref(t);

    const struct api_resource *crds = api_registry_find(
        store_registry(f->st), "apiextensions.k8s.io", "v1", "customresourcedefinitions");
    json_t *crd = json_loads(
        "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
        "\"metadata\":{\"name\":\"gadgets.example.com\"},\"spec\":{\"group\":\"example.com\","
        "\"scope\":\"Cluster\",\"names\":{\"plural\":\"gadgets\",\"kind\":\"Gadget\"},"
        "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
        "\"additionalPrinterColumns\":[{\"name\":\"Node\",\"type\":\"string\",\"jsonPath\":"
        "\".spec.node\"},{\"name\":\"Wide\",\"type\":\"string\",\"priority\":1,\"jsonPath\":"
        "\".spec.parts\"},{\"name\":\"Born\",\"type\":\"date\",\"jsonPath\":"
        "\".metadata.creationTimestamp\"},{\"type\":\"string\",\"jsonPath\":\".x\"},"
        "{\"name\":\"Count\",\"type\":\"string\",\"jsonPath\":\".spec.count\"},"
        "{\"name\":\"First\",\"type\":\"integer\",\"jsonPath\":\".spec.parts[*]\"},"
        "{\"name\":\"Num\",\"type\":\"integer\",\"jsonPath\":\".metadata.name\"}]}]}}",
        0, NULL);
    assert_int_equal(store_create(f->st, crds, NULL, crd, NULL, NULL, NULL), 0);
    json_decref(crd);
    t = one_row(f, "example.com", "gadgets",
                "{\"metadata\":{\"name\":\"g\",\"creationTimestamp\":\"2024-05-01T09:00:00Z\"},"
                "\"spec\":{\"parts\":[1,2],\"count\":2}}");
    const json_t *cols = json_object_get(t, "columnDefinitions");
    assert_int_equal(json_array_size(cols), 7); /* Name, then six: one had no name */
    assert_string_equal(cell(t, "Count"), "2");   /* a number in a string column */
    assert_string_equal(cell(t, "First"), "1");   /* [*]: the first value */
    assert_string_equal(cell(t, "Num"), "<null>"); /* a string in an integer column */
    assert_string_equal(cell(t, "Name"), "g");
    assert_string_equal(cell(t, "Node"), "<null>");
    assert_string_equal(cell(t, "Wide"), "[1,2]");
    assert_string_equal(cell(t, "Born"), "60m");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(cols, 2), "priority")),
                     1);
    const json_t *row_obj =
        json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
    assert_non_null(json_object_get(row_obj, "spec")); /* includeObject=Object: all of it */
    json_decref(t);
}

static void table_shape(void **state)
{
    struct fixture *f = *state;
    const struct api_resource *res = api_registry_find(store_registry(f->st), "", "v1", "pods");
    struct table_spec *ts;
    assert_int_equal(table_spec_new(f->st, res, &ts, NULL), 0);
    json_t *items = json_loads("[{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"1\"}},"
                               "\"spec\":{}},{\"metadata\":{\"name\":\"b\"}}]",
                               0, NULL);
    json_t *meta = json_pack("{s:s, s:s}", "resourceVersion", "7", "continue", "tok");
    json_t *t = table_build(ts, items, meta, false, TABLE_INCLUDE_METADATA, "v1beta1",
                            HELPERS_NOW_NS);
    assert_string_equal(json_string_value(json_object_get(t, "apiVersion")),
                        "meta.k8s.io/v1beta1");
    assert_null(json_object_get(t, "columnDefinitions"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "metadata"),
                                                          "continue")),
                        "tok");
    const json_t *rows = json_object_get(t, "rows");
    assert_int_equal(json_array_size(rows), 2);
    const json_t *partial = json_object_get(json_array_get(rows, 0), "object");
    assert_string_equal(json_string_value(json_object_get(partial, "kind")),
                        "PartialObjectMetadata");
    assert_null(json_object_get(partial, "spec"));
    json_decref(t);
    json_decref(meta);
    json_decref(items);
    table_spec_free(ts);

    json_t *obj = json_loads("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{}}", 0,
                             NULL);
    json_t *p = table_partial(obj, "v1");
    assert_string_equal(json_string_value(json_object_get(p, "apiVersion")), "meta.k8s.io/v1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "metadata"),
                                                          "name")),
                        "a");
    json_decref(p);
    json_decref(obj);
    table_spec_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ages_like_kubectl),
        cmocka_unit_test(include_values),
        cmocka_unit_test_setup_teardown(pod_columns, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(node_and_workload_columns, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(crd_printer_columns, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(table_shape, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
