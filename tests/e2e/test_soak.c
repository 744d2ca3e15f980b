/*
 * Soak and faults with real threads on the embedded cluster, bounded in
 * time: a burst of pods through a few GPUs (the controller, the agents and
 * the cluster's parts racing each other and their caches), and injected
 * device failures. Afterwards every pod has run, no slice was ever given
 * twice (the agent would have failed the second with PlacementTaken), and
 * the GPUs agree with the API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "core/catalog.h"
#include "sim/embedded.h"
#include "sim/observer.h"

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

static void create_pods(struct embedded *emb, size_t n, const char *profile)
{
    struct store *st = embedded_client(emb);
    const struct api_resource *pods = api_registry_find(store_registry(st), "", "v1", "pods");
    char slices[128], gib[16];
    unsigned one = 0;
    assert_int_equal(catalog_name_gib(profile, &one), 0); /* the webhook's accounting */
    snprintf(gib, sizeof gib, "%u", one);
    snprintf(slices, sizeof slices, "[{\"container\":\"main\",\"profile\":\"%s\",\"count\":1}]",
             profile);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "soak-%04zu", i);
        json_t *pod = json_pack(
            "{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:{s:s, s:[{s:s}], s:[{s:s, s:s, s:{s:{s:s}}}]}}",
            "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "annotations",
            GPUSLICE_ANNOTATION_SLICES, slices, "gpuslice.dev/run-seconds", "0.05", "spec",
            "restartPolicy", "Never", "schedulingGates", "name", GPUSLICE_GATE, "containers",
            "name", "main", "image", "cuda", "resources", "limits", GPUSLICE_RESOURCE_MEMORY,
            gib);
        struct err e = {0};
        if (store_create(st, pods, "default", pod, &(struct store_write_opts){0}, NULL, &e) < 0)
            fail_msg("create %s: %s", name, e.msg);
        json_decref(pod);
    }
}

static size_t events_with_reason(struct embedded *emb, const char *reason)
{
    struct store *st = embedded_store(emb);
    const struct api_resource *evr = api_registry_find(store_registry(st), "", "v1", "events");
    json_t *list = NULL;
    assert_int_equal(store_list(st, evr, NULL, &(struct store_list_opts){0}, &list, NULL), 0);
    size_t n = 0, i;
    json_t *ev;
    json_array_foreach(json_object_get(list, "items"), i, ev)
        if (strcmp(json_string_value(json_object_get(ev, "reason")), reason) == 0)
            n += (size_t)json_integer_value(json_object_get(ev, "count"));
    json_decref(list);
    return n;
}

/* Waits (bounded) for n pods to succeed and every GPUSlice to go, then
 * checks the GPUs against the API. */
static void wait_all_done(struct embedded *emb, struct observer *obs, size_t n)
{
    struct observer_summary s = {0};
    for (int waited = 0; waited < 60000; waited += 50) {
        observer_summarize(obs, &s);
        unsigned leaked = 1, missing = 1;
        if (s.succeeded == n && embedded_check_slices(emb, &leaked, &missing, NULL) == 0)
            return;
        sleep_ms(50);
    }
    struct err e = {0};
    embedded_check_slices(emb, NULL, NULL, &e);
    fail_msg("%zu of %zu pods succeeded; slices: %s", s.succeeded, n, e.msg);
}

static void run(const char *device_spec, bool direct, size_t pods, bool expect_failures)
{
    struct embedded_config cfg = {.nodes = 2, .gpus_per_node = 2, .device_spec = device_spec,
                                  .direct = direct, .crds_dir = CRDS_DIR};
    cfg.models[0] = "H100-80GB";
    cfg.n_models = 1;
    struct embedded *emb = NULL;
    struct observer *obs = NULL;
    struct err e = {0};
    if (embedded_start(&cfg, &emb, &e) < 0 || observer_start(embedded_store(emb), &obs, &e) < 0)
        fail_msg("start: %s", e.msg);
    create_pods(emb, pods, "1g.10gb");
    wait_all_done(emb, obs, pods);
    size_t failed = events_with_reason(emb, "SliceFailed");
    if (expect_failures)
        assert_true(failed > 0);
    else if (failed)
        fail_msg("%zu slices failed: a placement was given twice", failed);
    observer_free(obs);
    embedded_stop(emb);
}

static void a_burst_through_four_gpus_in_process(void **state)
{
    (void)state;
    run("latency=none", true, 200, false);
}

static void a_burst_through_four_gpus_over_http(void **state)
{
    (void)state;
    run("latency=none", false, 100, false);
}

static void failing_device_creates_are_retried_until_every_pod_runs(void **state)
{
    (void)state;
    /* The 2nd create fails after its GPU instance was made (rollback), and
     * one create in ten fails at random. */
    run("latency=none,fail-create=2:ci,fail-p=0.1", true, 60, true);
}

static void the_leader_crashes_mid_work_and_the_other_replica_finishes(void **state)
{
    (void)state;
    struct embedded_config cfg = {.nodes = 2, .gpus_per_node = 2, .device_spec = "create-ms=50",
                                  .controllers = 2, .crds_dir = CRDS_DIR};
    cfg.models[0] = "H100-80GB";
    cfg.n_models = 1;
    struct embedded *emb = NULL;
    struct observer *obs = NULL;
    struct err e = {0};
    if (embedded_start(&cfg, &emb, &e) < 0 || observer_start(embedded_store(emb), &obs, &e) < 0)
        fail_msg("start: %s", e.msg);
    int leader = -1;
    for (int waited = 0; waited < 10000 && leader < 0; waited += 50) {
        leader = embedded_leader(emb);
        sleep_ms(50);
    }
    assert_true(leader >= 0);
    create_pods(emb, 40, "1g.10gb");
    sleep_ms(150); /* mid-way: some slices Creating, some Created, some Ungated */
    embedded_stop_controller(emb, (size_t)leader);
    wait_all_done(emb, obs, 40);
    int next = embedded_leader(emb);
    assert_true(next >= 0 && next != leader);
    assert_int_equal(events_with_reason(emb, "SliceFailed"), 0);
    observer_free(obs);
    embedded_stop(emb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_burst_through_four_gpus_in_process),
        cmocka_unit_test(a_burst_through_four_gpus_over_http),
        cmocka_unit_test(failing_device_creates_are_retried_until_every_pod_runs),
        cmocka_unit_test(the_leader_crashes_mid_work_and_the_other_replica_finishes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
