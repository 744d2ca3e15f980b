/*
 * ResourceQuota admission through the REST layer in process: charges on
 * create, kube-apiserver's 403 message word for word, scopes, object
 * counts, updates charged for what grew, dry runs and failed writes that
 * charge nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

#define PODS "/api/v1/namespaces/default/pods"
#define QUOTAS "/api/v1/namespaces/default/resourcequotas"
#define MEM "gpuslice.dev/accelerator-memory"

/* A pod whose one container asks for gib of accelerator memory and cpu. */
static char *pod_body(const char *name, int gib, const char *cpu, const char *extra_spec)
{
    char *s = NULL;
    int n = asprintf(&s,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
                     "\"spec\":{%s\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":"
                     "{\"requests\":{\"" MEM "\":\"%d\"%s%s%s},\"limits\":{\"" MEM "\":\"%d\"}}}]}}",
                     name, extra_spec ? extra_spec : "", gib, cpu ? ",\"cpu\":\"" : "",
                     cpu ? cpu : "", cpu ? "\"" : "", gib);
    assert_true(n > 0);
    return s;
}

/* A quota with hard (a JSON object text), its status filled as the quota
 * controller would (used all 0). */
static void make_quota(struct fixture *f, const char *name, const char *hard, const char *spec_more)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{%s\"hard\":%s}}", name, spec_more ? spec_more : "", hard);
    struct reply r = call(f, "POST", QUOTAS, body);
    assert_int_equal(r.status, 201);
    json_t *q = json_incref(r.json);
    reply_free(&r);
    json_t *hardj = json_loads(hard, 0, NULL), *used = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(hardj, k, v) {
        json_object_set_new(used, k, json_string("0"));
    }
    json_object_set_new(q, "status", json_pack("{s:o, s:o}", "hard", hardj, "used", used));
    char *text = json_dumps(q, JSON_COMPACT), target[256];
    snprintf(target, sizeof target, QUOTAS "/%s/status", name);
    r = call(f, "PUT", target, text);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    free(text);
    json_decref(q);
}

static const char *used_of(struct fixture *f, const char *quota, const char *res)
{
    static char buf[64];
    char target[256];
    snprintf(target, sizeof target, QUOTAS "/%s", quota);
    struct reply r = call(f, "GET", target, NULL);
    const char *v = json_string_value(
        json_object_get(json_object_get(json_object_get(r.json, "status"), "used"), res));
    snprintf(buf, sizeof buf, "%s", v ? v : "(none)");
    reply_free(&r);
    return buf;
}

static int create(struct fixture *f, const char *name, int gib, const char *cpu,
                  const char *extra_spec, char *msg, size_t size)
{
    char *body = pod_body(name, gib, cpu, extra_spec);
    struct reply r = call(f, "POST", PODS, body);
    int status = r.status;
    if (msg)
        snprintf(msg, size, "%s", json_string_value(json_object_get(r.json, "message")) ?: "");
    if (status == 403) {
        assert_string_equal(reply_reason(&r), "Forbidden");
        assert_int_equal(json_integer_value(json_object_get(r.json, "code")), 403);
    }
    reply_free(&r);
    free(body);
    return status;
}

static void exceeding_accelerator_memory_is_forbidden(void **state)
{
    struct fixture *f = *state;
    char msg[512];
    make_quota(f, "gpu", "{\"requests." MEM "\":\"40\",\"pods\":\"10\"}", NULL);
    assert_int_equal(create(f, "a", 20, NULL, NULL, NULL, 0), 201);
    assert_int_equal(create(f, "b", 10, NULL, NULL, NULL, 0), 201);
    assert_string_equal(used_of(f, "gpu", "requests." MEM), "30");
    assert_string_equal(used_of(f, "gpu", "pods"), "2");
    assert_int_equal(create(f, "c", 20, NULL, NULL, msg, sizeof msg), 403);
    assert_string_equal(msg, "pods \"c\" is forbidden: exceeded quota: gpu, requested: "
                             "requests." MEM "=20, used: requests." MEM "=30, limited: "
                             "requests." MEM "=40");
    assert_string_equal(used_of(f, "gpu", "requests." MEM), "30");
    assert_int_equal(create(f, "d", 10, NULL, NULL, NULL, 0), 201);
    assert_string_equal(used_of(f, "gpu", "requests." MEM), "40");
}

/* Every resource over names itself, sorted; bare cpu aliases requests.cpu. */
static void several_resources_over_are_listed_sorted(void **state)
{
    struct fixture *f = *state;
    char msg[512];
    make_quota(f, "mixed", "{\"cpu\":\"1\",\"requests.memory\":\"1Gi\",\"limits." MEM
                           "\":\"8\",\"count/pods\":\"5\"}", NULL);
    assert_int_equal(create(f, "a", 4, "500m", NULL, NULL, 0), 201);
    assert_string_equal(used_of(f, "mixed", "cpu"), "500m");
    assert_int_equal(create(f, "b", 8, "1", NULL, msg, sizeof msg), 403);
    assert_string_equal(msg, "pods \"b\" is forbidden: exceeded quota: mixed, requested: "
                             "cpu=1,limits." MEM "=8, used: cpu=500m,limits." MEM "=4, limited: "
                             "cpu=1,limits." MEM "=8");
}

static void scopes_choose_the_pods_counted(void **state)
{
    struct fixture *f = *state;
    make_quota(f, "batch", "{\"pods\":\"1\"}", "\"scopes\":[\"Terminating\"],");
    make_quota(f, "besteffort", "{\"pods\":\"0\"}",
               "\"scopeSelector\":{\"matchExpressions\":[{\"scopeName\":\"BestEffort\","
               "\"operator\":\"Exists\"}]},");
    /* not terminating: neither quota covers it (it requests cpu) */
    assert_int_equal(create(f, "svc", 1, "1", NULL, NULL, 0), 201);
    assert_int_equal(create(f, "job1", 1, "1", "\"activeDeadlineSeconds\":60,", NULL, 0), 201);
    assert_int_equal(create(f, "job2", 1, "1", "\"activeDeadlineSeconds\":60,", NULL, 0), 403);
    /* no cpu or memory anywhere: BestEffort, and that quota allows none */
    assert_int_equal(create(f, "be", 1, NULL, NULL, NULL, 0), 403);
}

static void object_counts_and_unknown_status(void **state)
{
    struct fixture *f = *state;
    make_quota(f, "objects", "{\"count/configmaps\":\"1\",\"configmaps\":\"1\"}", NULL);
    const char *cm = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"}}";
    char body[256];
    snprintf(body, sizeof body, cm, "one");
    struct reply r = call(f, "POST", "/api/v1/namespaces/default/configmaps", body);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    snprintf(body, sizeof body, cm, "two");
    r = call(f, "POST", "/api/v1/namespaces/default/configmaps", body);
    assert_int_equal(r.status, 403);
    assert_string_equal(json_string_value(json_object_get(r.json, "message")),
                        "configmaps \"two\" is forbidden: exceeded quota: objects, requested: "
                        "configmaps=1,count/configmaps=1, used: configmaps=1,count/configmaps=1, "
                        "limited: configmaps=1,count/configmaps=1");
    reply_free(&r);
    /* a quota the controller has not counted yet refuses what it limits */
    r = call(f, "POST", QUOTAS, "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":"
                                "{\"name\":\"fresh\"},\"spec\":{\"hard\":{\"pods\":\"3\"}}}");
    assert_int_equal(r.status, 201);
    reply_free(&r);
    char msg[512];
    assert_int_equal(create(f, "p", 1, NULL, NULL, msg, sizeof msg), 403);
    assert_string_equal(msg, "pods \"p\" is forbidden: status unknown for quota: fresh, "
                             "resources: pods");
}

/* A dry run, a create that fails in the store and an update of a missing
 * pod charge nothing; an update is charged for what it adds
 * (activeDeadlineSeconds moves a pod into a Terminating quota). */
static void nothing_stays_charged_without_a_write(void **state)
{
    struct fixture *f = *state;
    make_quota(f, "gpu", "{\"requests." MEM "\":\"20\"}", NULL);
    make_quota(f, "term", "{\"pods\":\"0\"}", "\"scopes\":[\"Terminating\"],");
    char *body = pod_body("a", 6, NULL, NULL);
    struct reply r = call(f, "POST", PODS "?dryRun=All", body);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    assert_string_equal(used_of(f, "gpu", "requests." MEM), "0");
    r = call(f, "POST", PODS, body);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    r = call(f, "POST", PODS, body); /* AlreadyExists after charging */
    assert_int_equal(r.status, 409);
    reply_free(&r);
    assert_string_equal(used_of(f, "gpu", "requests." MEM), "6");
    free(body);

    r = call(f, "GET", PODS "/a", NULL);
    json_t *pod = json_incref(r.json);
    reply_free(&r);
    json_object_set_new(json_object_get(pod, "spec"), "activeDeadlineSeconds", json_integer(5));
    body = json_dumps(pod, JSON_COMPACT);
    r = call(f, "PUT", PODS "/a", body);
    assert_int_equal(r.status, 403);
    assert_string_equal(json_string_value(json_object_get(r.json, "message")),
                        "pods \"a\" is forbidden: exceeded quota: term, requested: pods=1, used: "
                        "pods=0, limited: pods=0");
    reply_free(&r);
    assert_string_equal(used_of(f, "gpu", "requests." MEM), "6");
    free(body);
    json_decref(pod);

    /* An update of a pod the store does not have charges nothing (the
     * object it replaces is read only when a quota counts it). */
    body = pod_body("ghost", 6, NULL, NULL);
    r = call(f, "PUT", PODS "/ghost", body);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    assert_string_equal(used_of(f, "gpu", "requests." MEM), "6");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(exceeding_accelerator_memory_is_forbidden, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(several_resources_over_are_listed_sorted, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(scopes_choose_the_pods_counted, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(object_counts_and_unknown_status, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(nothing_stays_charged_without_a_write, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
