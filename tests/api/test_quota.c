/* Tests for api/quota: what a pod and other objects use, the scopes, the
 * quantities written back, and the charge with kube-apiserver's messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/quota.h"
#include "api/resource.h"

static struct api_registry *reg;

static int registry_up(void **state)
{
    (void)state;
    reg = api_registry_new();
    return reg ? 0 : -1;
}

static int registry_down(void **state)
{
    (void)state;
    api_registry_free(reg);
    return 0;
}

static const struct api_resource *res_of(const char *group, const char *plural)
{
    return api_registry_find(reg, group, "v1", plural);
}

static json_t *usage_of(const char *group, const char *plural, const char *obj)
{
    json_t *o = json_loads(obj, 0, NULL), *u = NULL;
    assert_non_null(o);
    assert_int_equal(quota_usage_of(res_of(group, plural), o, &u, NULL), 0);
    json_decref(o);
    return u;
}

#define POD_2C "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"initContainers\":[{\"name\":\"i\"," \
    "\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"3\"}}}],\"containers\":[" \
    "{\"name\":\"a\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"1\"," \
    "\"gpuslice.dev/accelerator-memory\":\"20\"},\"limits\":{\"memory\":\"1Gi\"}}}," \
    "{\"name\":\"b\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]}%s}"

static void a_pod_uses_its_requests_and_limits(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, POD_2C, "");
    json_t *u = usage_of("", "pods", text);
    assert_int_equal(json_integer_value(json_object_get(u, "pods")), 1000);
    assert_int_equal(json_integer_value(json_object_get(u, "count/pods")), 1000);
    /* the init container's 3 cpu outweighs the 1.5 of the others */
    assert_int_equal(json_integer_value(json_object_get(u, "requests.cpu")), 3000);
    assert_int_equal(json_integer_value(json_object_get(u, "cpu")), 3000);
    assert_int_equal(json_integer_value(
                         json_object_get(u, "requests.gpuslice.dev/accelerator-memory")), 20000);
    assert_int_equal(json_integer_value(json_object_get(u, "limits.memory")), 1073741824000LL);
    assert_int_equal(json_integer_value(json_object_get(u, "requests.memory")), 1073741824000LL);
    json_decref(u);
    /* an ended pod is counted as an object only */
    snprintf(text, sizeof text, POD_2C, ",\"status\":{\"phase\":\"Succeeded\"}");
    u = usage_of("", "pods", text);
    assert_int_equal(json_object_size(u), 1);
    assert_int_equal(json_integer_value(json_object_get(u, "count/pods")), 1000);
    json_decref(u);
    u = usage_of("batch", "jobs", "{\"metadata\":{\"name\":\"j\"}}");
    assert_int_equal(json_integer_value(json_object_get(u, "count/jobs.batch")), 1000);
    assert_int_equal(json_object_size(u), 1);
    json_decref(u);
}

static void scopes(void **state)
{
    (void)state;
    json_t *term = json_loads("{\"spec\":{\"scopes\":[\"Terminating\",\"NotBestEffort\"]}}", 0,
                              NULL);
    json_t *sel = json_loads("{\"spec\":{\"scopeSelector\":{\"matchExpressions\":[{\"scopeName\":"
                             "\"BestEffort\",\"operator\":\"DoesNotExist\"}]}}}", 0, NULL);
    json_t *plain = json_loads("{\"spec\":{}}", 0, NULL);
    char text[1024];
    snprintf(text, sizeof text, POD_2C, "");
    json_t *pod = json_loads(text, 0, NULL);
    const struct api_resource *pods = res_of("", "pods"), *cms = res_of("", "configmaps");
    assert_false(quota_covers(term, pods, pod));
    assert_true(quota_covers(sel, pods, pod));
    assert_true(quota_covers(plain, pods, pod));
    assert_true(quota_covers(plain, cms, pod));
    assert_false(quota_covers(sel, cms, pod));
    json_object_set_new(json_object_get(pod, "spec"), "activeDeadlineSeconds", json_integer(9));
    assert_true(quota_covers(term, pods, pod));
    json_decref(term);
    json_decref(sel);
    json_decref(plain);
    json_decref(pod);
}

static void quantities_read_and_written(void **state)
{
    (void)state;
    char out[32];
    quota_format("requests.memory", 64LL * 1024 * 1024 * 1024 * 1000, out);
    assert_string_equal(out, "64Gi");
    quota_format("memory", 1500LL * 1000, out);
    assert_string_equal(out, "1500");
    quota_format("requests.gpuslice.dev/accelerator-memory", 40 * 1024 * 1000, out);
    assert_string_equal(out, "40960");
    quota_format("cpu", 500, out);
    assert_string_equal(out, "500m");
    json_t *hard = json_loads("{\"cpu\":\"2\",\"memory\":\"1Gi\"}", 0, NULL), *u = NULL;
    assert_int_equal(quota_read(hard, "spec.hard", &u, NULL), 0);
    json_t *texts = quota_write(u);
    assert_true(json_equal(texts, hard));
    json_decref(texts);
    json_decref(u);
    json_object_set_new(hard, "bad", json_string("1x"));
    struct err e;
    assert_int_equal(quota_read(hard, "spec.hard", &u, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.hard[bad]"));
    json_decref(hard);
}

static void charge_release_and_growth(void **state)
{
    (void)state;
    json_t *quota = json_loads("{\"metadata\":{\"name\":\"q\"},\"status\":{\"hard\":{\"pods\":"
                               "\"2\",\"cpu\":\"1\"},\"used\":{\"pods\":\"1\",\"cpu\":\"0\"}}}",
                               0, NULL);
    json_t *req = json_pack("{s:I, s:I, s:I}", "pods", (json_int_t)1000, "cpu",
                            (json_int_t)500, "other", (json_int_t)7000);
    json_t *used = NULL;
    bool charged = false;
    assert_int_equal(quota_charge(quota, req, &used, &charged, NULL), 0);
    assert_true(charged);
    assert_string_equal(json_string_value(json_object_get(used, "pods")), "2");
    assert_string_equal(json_string_value(json_object_get(used, "cpu")), "500m");
    assert_null(json_object_get(used, "other"));
    json_object_set_new(json_object_get(quota, "status"), "used", used);
    struct err e;
    assert_int_equal(quota_charge(quota, req, NULL, NULL, &e), -EPERM);
    assert_string_equal(e.msg, "exceeded quota: q, requested: pods=1, used: pods=2, limited: "
                               "pods=2");
    json_t *left = quota_release(quota, req);
    assert_string_equal(json_string_value(json_object_get(left, "pods")), "1");
    assert_string_equal(json_string_value(json_object_get(left, "cpu")), "0");
    json_decref(left);
    json_t *grown = quota_growth(req, req);
    assert_int_equal(json_object_size(grown), 0);
    json_decref(grown);
    json_decref(req);
    json_decref(quota);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_pod_uses_its_requests_and_limits),
        cmocka_unit_test(scopes),
        cmocka_unit_test(quantities_read_and_written),
        cmocka_unit_test(charge_release_and_growth),
    };
    return cmocka_run_group_tests(tests, registry_up, registry_down);
}
