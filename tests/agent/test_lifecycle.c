/*
 * The agent's slice lifecycle on an emulated node in virtual time: create,
 * hand-over through the ConfigMap, delete, device failures, "in use", and
 * what is left on the GPU after each.
 */
#include "harness.h"

#include "api/pod_slices.h"
#include "../common/json_text.h"

#define LAT "latency=none"

/* The ConfigMap as the agent writes it, member order included (what a
 * client reading raw JSON or a diff sees); the store adds its own metadata
 * after the agent's members. */
static void assert_config_map_text(const json_t *cm, const char *uuid, const char *slice)
{
    assert_keys_begin(cm, "apiVersion,kind,metadata,data");
    const json_t *meta = json_object_get(cm, "metadata");
    assert_keys_begin(meta, "name,namespace,labels,ownerReferences");
    char want[2048], *text = json_dumps(json_object_get(meta, "labels"), JSON_COMPACT);
    snprintf(want, sizeof want, "{\"%s\":\"%s\",\"%s\":\"true\"}", AGENT_LABEL_NODE, NODE,
             GPUSLICE_LABEL_MANAGED);
    assert_string_equal(text, want);
    free(text);
    text = json_dumps(json_object_get(cm, "data"), JSON_COMPACT);
    snprintf(want, sizeof want,
             "{\"NVIDIA_VISIBLE_DEVICES\":\"%s\",\"CUDA_VISIBLE_DEVICES\":\"%s\","
             "\"GPUSLICE_SLICES\":\"%s\"}",
             uuid, uuid, slice);
    assert_string_equal(text, want);
    free(text);
    assert_string_equal(json_string_value(json_object_get(cm, "apiVersion")), "v1");
    assert_string_equal(json_string_value(json_object_get(cm, "kind")), "ConfigMap");
    assert_int_equal(json_array_size(json_object_get(meta, "ownerReferences")), 1);
}

/* An agent whose pod "train" has one 1g.10gb slice at memory slice 6,
 * handed over (*pod and name: its pod, the caller's, and its name). */
static struct harness *one_slice_created(json_t **pod, char name[GPUSLICE_NAME_MAX])
{
    struct harness *h = h_new("model=H100-80GB," LAT);
    *pod = h_pod(h, "train");
    h_slice(h, *pod, 0, 0, "1g.10gb", 6, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    return h;
}

static void create_hands_over_through_the_config_map(void **state)
{
    (void)state;
    json_t *pod;
    char name[GPUSLICE_NAME_MAX];
    struct harness *h = one_slice_created(&pod, name);
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 1);
    assert_int_equal(dev->items[0].placement.start, 6);
    assert_string_equal(dev->items[0].profile, "1g.10gb");
    assert_string_equal(h_status(h, name, "deviceUUID"), dev->items[0].uuid);
    char gi[16];
    snprintf(gi, sizeof gi, "%u", dev->items[0].gi_id);
    assert_string_equal(h_status(h, name, "giID"), gi);
    assert_string_equal(h_status(h, name, "ciID"), "0");
    char boot[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(h->dev, boot, NULL), 0);
    assert_string_equal(h_status(h, name, "bootID"), boot);

    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"), dev->items[0].uuid);
    assert_string_equal(h_cm(h, "train-main", "CUDA_VISIBLE_DEVICES"), dev->items[0].uuid);
    assert_string_equal(h_cm(h, "train-main", "GPUSLICE_SLICES"), name);
    json_t *cm = h_get(h, h->cms, NS, "train-main");
    const json_t *owner = meta_controller_ref(cm);
    assert_non_null(owner);
    assert_string_equal(json_string_value(json_object_get(owner, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(owner, "uid")), meta_uid(pod));
    assert_string_equal(meta_label(cm, AGENT_LABEL_NODE), NODE);
    assert_config_map_text(cm, dev->items[0].uuid, name);
    json_decref(cm);
    h_invariant(h);

    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    assert_int_equal(s.creates, 1);
    assert_int_equal(s.device_failures, 0);
    free(dev);
    json_decref(pod);
    h_free(h);
}

/* A ConfigMap with the right UUIDs but other slices' names (a write by
 * someone else, or names left from before) is written again: the
 * container reads GPUSLICE_SLICES as well as the UUIDs. */
static void stale_slice_names_are_rewritten(void **state)
{
    (void)state;
    json_t *pod;
    char name[GPUSLICE_NAME_MAX];
    struct harness *h = one_slice_created(&pod, name);
    const char *uuid = h_status(h, name, "deviceUUID");

    struct err e = {0};
    json_t *cm = h_get(h, h->cms, NS, "train-main");
    assert_non_null(cm);
    json_object_set_new(json_object_get(cm, "data"), "GPUSLICE_SLICES", json_string("old-0"));
    h_ok(store_update(h->st, h->cms, NS, cm, &(struct store_write_opts){0}, NULL, &e), &e,
         "stale names");
    json_decref(cm);
    assert_string_equal(h_cm(h, "train-main", "GPUSLICE_SLICES"), "old-0");
    h_settle(h, SEC);

    assert_string_equal(h_cm(h, "train-main", "GPUSLICE_SLICES"), name);
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"), uuid);
    assert_string_equal(h_cm(h, "train-main", "CUDA_VISIBLE_DEVICES"), uuid);
    json_decref(pod);
    h_free(h);
}

static void count_two_container_gets_both_uuids(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char s0[GPUSLICE_NAME_MAX], s1[GPUSLICE_NAME_MAX];
    /* Index 1 sits lower on the GPU: the ConfigMap follows the index. */
    h_slice(h, pod, 1, 0, "1g.10gb", 2, 1, s1);
    h_slice(h, pod, 0, 0, "1g.10gb", 5, 1, s0);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s0), "Created");
    assert_string_equal(h_phase(h, s1), "Created");
    char want[2 * DEVICE_UUID_MAX + 2], names[2 * GPUSLICE_NAME_MAX + 2];
    snprintf(want, sizeof want, "%s,%s", h_status(h, s0, "deviceUUID"),
             h_status(h, s1, "deviceUUID"));
    snprintf(names, sizeof names, "%s,%s", s0, s1);
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"), want);
    assert_string_equal(h_cm(h, "train-main", "CUDA_VISIBLE_DEVICES"), want);
    assert_string_equal(h_cm(h, "train-main", "GPUSLICE_SLICES"), names);
    h_invariant(h);

    /* One goes: the ConfigMap keeps the other; the last one takes it away. */
    h_set_phase(h, s0, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s0), "Deleted");
    assert_string_equal(h_status(h, s0, "deviceUUID"), "");
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"),
                        h_status(h, s1, "deviceUUID"));
    assert_string_equal(h_cm(h, "train-main", "GPUSLICE_SLICES"), s1);
    h_set_phase(h, s1, "Ungated");
    h_set_phase(h, s1, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s1), "Deleted");
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 0);
    h_invariant(h);
    free(dev);
    json_decref(pod);
    h_free(h);
}

static void deleted_while_creating_leaves_nothing(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "3g.40gb", 4, 4, name);
    /* The create is under way (900 ms modelled) when the pod goes. */
    h_settle(h, 200 * MSEC);
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 1);
    assert_string_equal(h_phase(h, name), "Creating");
    h_set_phase(h, name, "Deleting");
    h_settle(h, 5 * SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_int_equal(h_device_slices(h, dev), 0);
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    free(dev);
    json_decref(pod);
    h_free(h);
}

/* A failed create of `spec` ends Failed with `reason`, nothing on the GPU
 * and no ConfigMap. */
/* Every device operation counted with its modelled latency, by kind and
 * result; a failed create counts as a failure (docs/metrics.md). */
static void device_operations_are_measured(void **state)
{
    (void)state;
    struct prom *reg = prom_new();
    struct harness *h = h_new_with("model=H100-80GB,fail-create=2,create-ms=200",
                                   &(struct agent_config){.metrics = reg});
    json_t *pod = h_pod(h, "train");
    char ok[GPUSLICE_NAME_MAX], bad[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 6, 1, ok);
    h_settle(h, 60 * SEC);
    h_slice(h, pod, 1, 0, "1g.10gb", 5, 1, bad);
    h_settle(h, 60 * SEC);
    assert_string_equal(h_phase(h, ok), "Created");
    char *text;
    size_t len;
    assert_int_equal(prom_render(reg, &text, &len, NULL), 0);
    static const char *const lines[] = {
        "\ngpuslice_agent_device_operations_total{node=\"node-a\",kind=\"create\","
        "result=\"success\"} 1\n",
        "kind=\"create\",result=\"failure\"} 1\n",
        "\ngpuslice_agent_device_operation_duration_seconds_bucket{node=\"node-a\","
        "kind=\"create\",result=\"success\",le=\"0.25\"} 1\n",
        "\ngpuslice_agent_device_operation_duration_seconds_bucket{node=\"node-a\","
        "kind=\"create\",result=\"success\",le=\"0.1\"} 0\n",
        "kind=\"discover\",result=\"success\"}",
        "\ngpuslice_agent_node_lease_held{node=\"node-a\"} 1\n",
        "\ngpuslice_agent_orphans_destroyed_total{node=\"node-a\"} 0\n",
        "\ngpuslice_reconcile_total{loop=\"agent node-a\"} ",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(text, lines[i]))
            fail_msg("no \"%s\" in:\n%s", lines[i], text);
    free(text);
    json_decref(pod);
    h_free(h); /* the agent stops scraping before its registry goes */
    prom_free(reg);
}

static void check_create_failure(const char *spec, const char *reason, const char *says)
{
    struct harness *h = h_new(spec);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "2g.20gb", 2, 2, name);
    h_settle(h, 60 * SEC);
    assert_string_equal(h_phase(h, name), "Failed");
    assert_string_equal(h_status(h, name, "reason"), reason);
    if (!strstr(h_status(h, name, "message"), says))
        fail_msg("message \"%s\" lacks \"%s\"", h_status(h, name, "message"), says);
    assert_string_equal(h_status(h, name, "deviceUUID"), "");
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 0);
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    h_invariant(h);
    free(dev);
    json_decref(pod);
    h_free(h);
}

static void device_create_failure_is_failed(void **state)
{
    (void)state;
    check_create_failure("model=H100-80GB,fail-create=1", "DeviceError",
                         "injected failure of create #1 at the GI step");
}

static void ci_failure_is_rolled_back(void **state)
{
    (void)state;
    check_create_failure("model=H100-80GB,fail-create=1:ci", "DeviceError",
                         "the GI was destroyed again");
}

static void gi_left_by_a_hung_create_is_destroyed(void **state)
{
    (void)state;
    check_create_failure("model=H100-80GB,hang-create=1:ci,hang-ms=2000", "Timeout",
                         "the GI was left without a CI");
    /* A create that hung after making the slice: still Failed, nothing left. */
    check_create_failure("model=H100-80GB,hang-create=1:done,hang-ms=2000", "Timeout",
                         "the slice was made");
}

static void taken_placement_fails_without_touching_it(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    /* Someone else's 3g.40gb covers memory slices 0-3. */
    struct device_slice_ref ref = {.gpu_index = 0, .profile = "3g.40gb", .start = 0};
    assert_int_equal(device_create_slice(h->dev, &ref, NULL, NULL, NULL), 0);
    h_slice(h, pod, 0, 0, "1g.10gb", 1, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Failed");
    assert_string_equal(h_status(h, name, "reason"), "InsufficientResources");
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 1);
    assert_string_equal(dev->items[0].profile, "3g.40gb");
    free(dev);
    json_decref(pod);
    h_free(h);
}

static void in_use_destroy_is_retried_and_said(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 3, 1, name);
    h_settle(h, SEC);
    h_set_phase(h, name, "Ungated");
    assert_int_equal(emulated_set_in_use(h->dev, 0, 3, true, NULL), 0);
    h_set_phase(h, name, "Deleting");
    h_settle(h, 10 * SEC);
    assert_string_equal(h_phase(h, name), "Deleting");
    assert_string_equal(h_status(h, name, "reason"), "InUse");
    assert_non_null(strstr(h_status(h, name, "message"), "a process holds 1g.10gb"));
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 1);
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    assert_true(s.device_failures >= 3); /* retried, with backoff */
    assert_int_equal(s.destroys, 0);

    assert_int_equal(emulated_set_in_use(h->dev, 0, 3, false, NULL), 0);
    h_settle(h, 30 * SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_string_equal(h_status(h, name, "reason"), "");
    assert_int_equal(h_device_slices(h, dev), 0);
    free(dev);
    json_decref(pod);
    h_free(h);
}

/* With the default modelled latencies nothing is reported before the
 * device would have finished: discovery (50 ms per GPU + 5 ms list), then
 * the create (900 ms + 5 ms list). */
static void modelled_latency_is_respected(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, 959 * MSEC);
    assert_string_equal(h_phase(h, name), "Creating");
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    h_settle(h, 1 * MSEC);
    assert_string_equal(h_phase(h, name), "Created");
    assert_int_equal(h->now, T0 + 960 * MSEC);

    /* The destroy takes 400 ms + 5 ms. */
    h_set_phase(h, name, "Deleting");
    h_settle(h, 404 * MSEC);
    assert_string_equal(h_phase(h, name), "Deleting");
    h_settle(h, 1 * MSEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    json_decref(pod);
    h_free(h);
}

/* Calls on one GPU wait for each other, as the driver serialises them;
 * another GPU's do not. */
static void calls_on_one_gpu_are_serialised(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB,count=2,discover-ms=0,query-ms=0");
    json_t *pod = h_pod(h, "train");
    char a[GPUSLICE_NAME_MAX], b[GPUSLICE_NAME_MAX], c[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, a);
    h_slice(h, pod, 1, 0, "1g.10gb", 1, 1, b);
    h_slice(h, pod, 2, 1, "1g.10gb", 0, 1, c);
    h_settle(h, 900 * MSEC);
    assert_string_equal(h_phase(h, a), "Created");
    assert_string_equal(h_phase(h, b), "Creating");
    assert_string_equal(h_phase(h, c), "Created");
    h_settle(h, 900 * MSEC);
    assert_string_equal(h_phase(h, b), "Created");
    json_decref(pod);
    h_free(h);
}

static void real_time_sleeps_instead_of_waiting(void **state)
{
    (void)state;
    struct agent_config o = {.virtual_time = false};
    struct harness *h = h_new_with("model=H100-80GB,create-ms=1,destroy-ms=1,query-ms=0,"
                                   "discover-ms=0",
                                   &o);
    h->cfg.agent.virtual_time = false;
    h_agent(h);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    /* No virtual time passes: the executor slept the modelled time. */
    h_drain(h);
    h_drain(h);
    assert_string_equal(h_phase(h, name), "Created");
    json_decref(pod);
    h_free(h);
}

static void unreadable_slice_is_failed(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "9g.99gb", 0, 1, name);
    json_t *bad = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion",
                            GPUSLICE_API_VERSION, "kind", GPUSLICE_KIND, "metadata", "name",
                            "broken", "namespace", NS, "labels", AGENT_LABEL_NODE, NODE, "spec",
                            "podName", "train");
    h_create(h, h->slices, NS, bad, NULL);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, "broken"), "Failed");
    assert_string_equal(h_status(h, "broken", "reason"), "InvalidSpec");
    assert_non_null(strstr(h_status(h, "broken", "message"), "spec.container: is required"));
    assert_string_equal(h_phase(h, name), "Failed");
    assert_string_equal(h_status(h, name, "reason"), "InvalidProfile");
    assert_non_null(strstr(h_status(h, name, "message"), "no MIG profile \"9g.99gb\""));
    json_decref(pod);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_operations_are_measured),
        cmocka_unit_test(create_hands_over_through_the_config_map),
        cmocka_unit_test(stale_slice_names_are_rewritten),
        cmocka_unit_test(count_two_container_gets_both_uuids),
        cmocka_unit_test(deleted_while_creating_leaves_nothing),
        cmocka_unit_test(device_create_failure_is_failed),
        cmocka_unit_test(ci_failure_is_rolled_back),
        cmocka_unit_test(gi_left_by_a_hung_create_is_destroyed),
        cmocka_unit_test(taken_placement_fails_without_touching_it),
        cmocka_unit_test(in_use_destroy_is_retried_and_said),
        cmocka_unit_test(modelled_latency_is_respected),
        cmocka_unit_test(calls_on_one_gpu_are_serialised),
        cmocka_unit_test(real_time_sleeps_instead_of_waiting),
        cmocka_unit_test(unreadable_slice_is_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
