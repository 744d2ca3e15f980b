/* The workload on the clock: a batch all at once at its instant, Poisson
 * arrivals spread over their window and replayed by the seed, a Job made
 * and deleted on time, and pods traced back to their item by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/bootstrap.h"
#include "scenario_text.h"
#include "sim/arrivals.h"
#include "store/mem.h"
#include "../common/json_text.h"

#define S INT64_C(1000000000)

static int64_t now_of(void *ctx)
{
    return *(int64_t *)ctx;
}

static const char text[] = ENVELOPE_CLUSTER
    "workload:\n"
    "  - {name: b, at: 2, count: 3, profile: 1g.5gb, runSeconds: 3}\n"
    "  - {generator: poisson, name: p, startAt: 0, durationSeconds: 100, ratePerSecond: 0.5,\n"
    "     mix: [{profile: 1g.5gb, runSeconds: {dist: exponential, mean: 5}}]}\n"
    "  - {kind: Job, name: b-job, at: 1, completions: 2, runSeconds: 3,\n"
    "     request: {nvidia.com/mig-1g.5gb: 1}, deleteAt: 50}\n";

static size_t count(struct store *st, const char *group, const char *plural)
{
    const struct api_resource *res =
        api_registry_find(store_registry(st), group, *group ? "v1" : "v1", plural);
    json_t *list = NULL;
    assert_int_equal(store_list(st, res, NULL, NULL, &list, NULL), 0);
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

/* A batch pod as arrivals writes it, byte for byte where it is its own
 * (the store adds uid, resourceVersion and creation time to metadata and
 * defaults to spec, after the members it was given): member order is what
 * clients and diffs see. */
static void check_pod_text(struct store *st)
{
    const struct api_resource *res = api_registry_find(store_registry(st), "", "v1", "pods");
    json_t *pod = NULL;
    assert_int_equal(store_get(st, res, SCENARIO_DEFAULT_NAMESPACE, "b-2", &pod, NULL), 0);
    assert_keys_begin(pod, "apiVersion,kind,metadata,spec");
    json_t *meta = json_object_get(pod, "metadata");
    assert_keys_begin(meta, "name,namespace,annotations");
    char *dumped = json_dumps(json_object_get(meta, "annotations"), JSON_COMPACT);
    assert_string_equal(dumped, "{\"gpuslice.dev/run-seconds\":\"3.000\"}");
    free(dumped);
    json_t *spec = json_object_get(pod, "spec");
    assert_keys_begin(spec, "restartPolicy,containers");
    assert_string_equal(json_string_value(json_object_get(spec, "restartPolicy")), "Never");
    dumped = json_dumps(json_object_get(spec, "containers"), JSON_COMPACT);
    assert_string_equal(dumped, "[{\"name\":\"main\",\"image\":\"sim\",\"resources\":"
                              "{\"limits\":{\"nvidia.com/mig-1g.5gb\":1}}}]");
    free(dumped);
    assert_string_equal(json_string_value(json_object_get(pod, "apiVersion")), "v1");
    assert_string_equal(json_string_value(json_object_get(pod, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(meta, "name")), "b-2");
    json_decref(pod);
}

/* Runs the arrivals to the end; returns the pods made. */
static size_t run(uint64_t seed, int64_t *poisson_first)
{
    int64_t now = 0;
    struct store *st = NULL;
    struct mem_store_config mc = {.now_ns = now_of, .clock_ctx = &now, .seed = 1,
                                  .auto_collect = true};
    assert_int_equal(mem_store_new(&mc, &st, NULL), 0);
    assert_int_equal(bootstrap_namespaces(st, NULL), 0);
    const struct api_resource *ns = api_registry_find(store_registry(st), "", "v1", "namespaces");
    json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                            "metadata", "name", SCENARIO_DEFAULT_NAMESPACE);
    assert_int_equal(store_create(st, ns, NULL, obj, NULL, NULL, NULL), 0);
    json_decref(obj);
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text(text, &sc, &e), 0);
    struct arrivals *a = NULL;
    assert_int_equal(arrivals_new(&sc, st, 0, seed, &a, &e), 0);
    *poisson_first = arrivals_next_due(a);
    assert_true(*poisson_first > 0 && *poisson_first < 2 * S);
    while (arrivals_next_due(a) != INT64_MAX) {
        int64_t next = arrivals_next_due(a);
        assert_true(next >= now);
        now = next;
        if (now == 1 * S) {
            assert_true(arrivals_step(a, now, &e) >= 1);
            assert_int_equal(count(st, "batch", "jobs"), 1);
        } else if (arrivals_step(a, now, &e) < 0) {
            fail_msg("%s", e.msg);
        }
        if (now == 2 * S)
            assert_true(count(st, "", "pods") >= 3);
        assert_true(now <= 100 * S);
    }
    assert_int_equal(count(st, "batch", "jobs"), 0); /* deleted at 50 s */
    assert_int_equal(arrivals_step(a, now, &e), 0);
    assert_int_equal(arrivals_item_of(a, SCENARIO_DEFAULT_NAMESPACE, "b-2"), 0);
    assert_int_equal(arrivals_item_of(a, SCENARIO_DEFAULT_NAMESPACE, "p-0"), 1);
    assert_int_equal(arrivals_item_of(a, SCENARIO_DEFAULT_NAMESPACE, "b-job-x7k2p"), 2);
    assert_int_equal(arrivals_item_of(a, "other", "b-2"), SIZE_MAX);
    assert_int_equal(arrivals_item_of(a, SCENARIO_DEFAULT_NAMESPACE, "q-1"), SIZE_MAX);
    size_t pods = count(st, "", "pods");
    check_pod_text(st);
    arrivals_free(a);
    arrivals_free(NULL);
    scenario_free(&sc);
    store_free(st);
    return pods;
}

static void the_workload_arrives_on_time(void **state)
{
    (void)state;
    int64_t first_a, first_b, first_c;
    size_t a = run(5, &first_a), b = run(5, &first_b);
    run(6, &first_c);
    assert_int_equal(a, b);
    assert_int_equal(first_a, first_b);
    assert_int_not_equal(first_a, first_c);
    /* 3 batch pods and about 50 Poisson arrivals. */
    assert_true(a > 3 + 25 && a < 3 + 80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_workload_arrives_on_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
