/* Tests for api/pod: the Pod view, its checks (each naming the field), and
 * the request arithmetic the scheduler uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/pod.h"

static const char *good =
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"t\",\"uid\":\"u\",\"resourceVersion\":\"3\"},"
    "\"spec\":{\"initContainers\":[{\"name\":\"prep\",\"image\":\"i\",\"resources\":{\"requests\":"
    "{\"cpu\":\"2\",\"nvidia.com/mig-1g.10gb\":\"1\"}}}],"
    "\"containers\":[{\"name\":\"main\",\"image\":\"m\",\"resources\":{\"requests\":{\"cpu\":\"500m\","
    "\"memory\":\"1Gi\"},\"limits\":{\"nvidia.com/mig-1g.10gb\":\"1\"}},\"envFrom\":[{\"configMapRef\":"
    "{\"name\":\"gpuslice-p\",\"optional\":true}}]},{\"name\":\"side\",\"image\":\"s\",\"resources\":"
    "{\"requests\":{\"cpu\":1}}}],"
    "\"nodeSelector\":{\"zone\":\"a\"},\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
    "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"In\",\"values\":[\"a100\"]}]}]}}},"
    "\"tolerations\":[{\"key\":\"nvidia.com/gpu\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}],"
    "\"schedulingGates\":[{\"name\":\"gpuslice.dev/slice\"}]},"
    "\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
    "\"reason\":\"SchedulingGated\"}]}}";

static json_t *J(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s", je.text);
    return v;
}

static void reads_a_pod(void **state)
{
    (void)state;
    json_t *p = J(good);
    struct pod_view v;
    struct err e;
    if (pod_read(p, &v, &e) != 0)
        fail_msg("%s", e.msg);
    assert_string_equal(v.name, "p");
    assert_string_equal(v.ns, "t");
    assert_string_equal(v.uid, "u");
    assert_string_equal(v.resource_version, "3");
    assert_false(v.deleting);
    assert_string_equal(v.node_name, "");
    assert_string_equal(v.phase, "Pending");
    assert_int_equal(v.n_containers, 3);
    assert_true(v.containers[0].init);
    assert_string_equal(v.containers[0].name, "prep");
    assert_false(v.containers[1].init);
    assert_string_equal(v.containers[1].image, "m");
    assert_int_equal(json_array_size(v.containers[1].env_from), 1);
    assert_non_null(v.node_selector);
    assert_int_equal(json_array_size(v.required_terms), 1);
    assert_int_equal(json_array_size(v.tolerations), 1);
    assert_int_equal(v.n_gates, 1);
    assert_true(pod_has_gate(&v, "gpuslice.dev/slice"));
    assert_false(pod_has_gate(&v, "other"));
    const json_t *c = pod_condition(&v, "PodScheduled");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "SchedulingGated");
    assert_null(pod_condition(&v, "Ready"));
    assert_false(pod_is_terminal(&v));
    json_decref(p);
}

static void requests_follow_the_scheduler(void **state)
{
    (void)state;
    json_t *p = J(good);
    struct pod_view v;
    assert_int_equal(pod_read(p, &v, NULL), 0);
    /* containers 500m + 1 = 1.5 CPU, init container 2: the larger */
    assert_int_equal(pod_request_milli(&v, "cpu"), 2000);
    assert_int_equal(pod_request_milli(&v, "memory"), 1024LL * 1024 * 1024 * 1000);
    /* a limit without a request counts as the request */
    assert_int_equal(pod_request_milli(&v, "nvidia.com/mig-1g.10gb"), 1000);
    assert_int_equal(pod_request_milli(&v, "nvidia.com/gpu"), 0);
    json_decref(p);
}

static void terminal_phases(void **state)
{
    (void)state;
    json_t *p = J(good);
    json_object_set_new(json_object_get(p, "status"), "phase", json_string("Succeeded"));
    struct pod_view v;
    assert_int_equal(pod_read(p, &v, NULL), 0);
    assert_true(pod_is_terminal(&v));
    json_object_del(p, "status");
    assert_int_equal(pod_read(p, &v, NULL), 0);
    assert_string_equal(v.phase, "Pending");
    json_decref(p);
}

/* Applies a JSON patch-like edit: sets the value at a path of object keys
 * and array indexes ("spec.containers.1.image"). */
static void set_path(json_t *root, const char *path, json_t *value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    char *tok = strtok_r(buf, ".", &save);
    for (;;) {
        char *nexttok = strtok_r(NULL, ".", &save);
        bool idx = tok[0] >= '0' && tok[0] <= '9';
        if (!nexttok) {
            if (idx)
                json_array_set_new(cur, (size_t)atoi(tok), value);
            else if (json_is_null(value))
                json_object_del(cur, tok);
            else
                json_object_set_new(cur, tok, value);
            return;
        }
        cur = idx ? json_array_get(cur, (size_t)atoi(tok)) : json_object_get(cur, tok);
        tok = nexttok;
    }
}

static void refused(const char *path, const char *value_json, const char *want)
{
    json_t *p = J(good);
    set_path(p, path, json_loads(value_json, JSON_DECODE_ANY, NULL));
    struct pod_view v;
    struct err e;
    int rc = pod_read(p, &v, &e);
    if (rc != -EINVAL)
        fail_msg("%s=%s: accepted", path, value_json);
    if (!strstr(e.msg, want))
        fail_msg("%s=%s: message \"%s\" lacks \"%s\"", path, value_json, e.msg, want);
    json_decref(p);
}

static void bad_pods_name_the_field(void **state)
{
    (void)state;
    refused("spec", "null", "spec: Required value");
    refused("spec.containers", "[]", "spec.containers: Required value");
    refused("spec.containers", "{}", "spec.containers: Invalid value: must be a list");
    refused("spec.containers.1.name", "\"main\"", "spec.containers[1].name: Duplicate value: \"main\"");
    refused("spec.containers.1.name", "\"prep\"", "spec.containers[1].name: Duplicate value");
    refused("spec.containers.1.name", "\"Bad_Name\"", "spec.containers[1].name: Invalid value");
    refused("spec.containers.1.image", "\"\"", "spec.containers[1].image: Required value");
    refused("spec.containers.1.resources", "{\"requests\":{\"nvidia.com/mig-1g.10gb\":\"1500m\"}}",
            "spec.containers[1].resources.requests[nvidia.com/mig-1g.10gb]: Invalid value: \"1500m\": "
            "must be a whole number");
    refused("spec.containers.1.resources", "{\"requests\":{\"cpu\":\"-1\"}}",
            "spec.containers[1].resources.requests[cpu]: Invalid value: \"-1\": must be greater than");
    refused("spec.containers.1.resources", "{\"requests\":{\"memory\":\"lots\"}}",
            "spec.containers[1].resources.requests[memory]");
    refused("spec.containers.1.resources", "{\"requests\":{\"memory\":\"99999999999999999999Ei\"}}",
            "spec.containers[1].resources.requests[memory]");
    refused("spec.containers.1.resources",
            "{\"requests\":{\"nvidia.com/mig-1g.10gb\":\"1\"},\"limits\":{\"nvidia.com/mig-1g.10gb\":\"2\"}}",
            "must be equal to nvidia.com/mig-1g.10gb limit");
    refused("spec.containers.1.resources", "[]", "spec.containers[1].resources: Invalid value");
    /* each field a good pod's read does not spell out, spelled out for a bad one */
    refused("spec.containers.1.name", "null", "spec.containers[1].name: Required value");
    refused("spec.containers.1.resources", "{\"limits\":[]}",
            "spec.containers[1].resources.limits: Invalid value: must be an object");
    refused("spec.containers.1.resources", "{\"limits\":{\"bad name\":\"1\"}}",
            "spec.containers[1].resources.limits: Invalid value: \"bad name\"");
    refused("spec.containers.1.resources", "{\"requests\":{\"cpu\":true}}",
            "spec.containers[1].resources.requests[cpu]: Invalid value: a quantity must be");
    refused("spec.containers.1.envFrom", "{}",
            "spec.containers[1].envFrom: Invalid value: must be a list");
    refused("spec.containers.1.envFrom", "[{}]", "spec.containers[1].envFrom[0]: Invalid value");
    refused("spec.containers.1.envFrom", "[{\"configMapRef\":{}}]",
            "spec.containers[1].envFrom[0].configMapRef.name: Required value");
    refused("spec.nodeSelector", "{\"zone\":\"a b\"}", "spec.nodeSelector");
    refused("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            "{\"nodeSelectorTerms\":[]}", "nodeSelectorTerms: Required value");
    refused("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}]}",
            "nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: \"Near\"");
    refused("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}]}",
            "matchExpressions[0].values: Required value");
    refused("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\",\"2\"]}]}]}",
            "matchFields[0].values");
    refused("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
            "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"operator\":\"Exists\"}]}]}",
            "matchExpressions[0].key: Required value");
    refused("spec.tolerations", "[{\"key\":\"a\",\"operator\":\"Maybe\"}]",
            "spec.tolerations[0].operator: Unsupported value");
    refused("spec.tolerations", "[{\"key\":\"a\",\"effect\":\"Sometimes\"}]", "spec.tolerations[0].effect");
    refused("spec.tolerations", "[{\"operator\":\"Equal\",\"value\":\"x\"}]",
            "operator must be Exists when `key` is empty");
    refused("spec.tolerations", "[{\"key\":\"a\",\"operator\":\"Exists\",\"value\":\"x\"}]",
            "value must be empty");
    refused("spec.schedulingGates", "[{\"name\":\"a.io/x\"},{\"name\":\"a.io/x\"}]",
            "spec.schedulingGates[1].name: Duplicate value");
    refused("spec.schedulingGates", "[{}]", "spec.schedulingGates[0].name: Required value");
    refused("spec.schedulingGates", "[{\"name\":\"a.io/x\"},{\"name\":\"bad name\"}]",
            "spec.schedulingGates[1].name: Invalid value: \"bad name\"");
    refused("spec.nodeName", "\"node-1\"", "spec.nodeName: Forbidden");
    refused("spec.nodeName", "3", "spec.nodeName: Invalid value");
    refused("status.phase", "3", "status.phase");
    refused("status.conditions", "{}", "status.conditions");
}

static void too_many_containers(void **state)
{
    (void)state;
    json_t *p = J(good);
    json_t *cs = json_object_get(json_object_get(p, "spec"), "containers");
    for (int i = 0; i < POD_MAX_CONTAINERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        json_array_append_new(cs, json_pack("{s:s, s:s}", "name", name, "image", "x"));
    }
    struct pod_view v;
    struct err e;
    assert_int_equal(pod_read(p, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Too many"));
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_pod),
        cmocka_unit_test(requests_follow_the_scheduler),
        cmocka_unit_test(terminal_phases),
        cmocka_unit_test(bad_pods_name_the_field),
        cmocka_unit_test(too_many_containers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
