/*
 * The agent's slice lifecycle on an emulated node in virtual time: create,
 * hand-over through the ConfigMap, delete, device failures, "in use", and
 * what is left on the GPU after each.
 */
#include "harness.h"

#include "api/podslices.h"

#define LAT "latency=none"

static void create_hands_over_through_the_config_map(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 6, 1, name);
    h_settle(h, SEC);

    assert_string_equal(h_phase(h, name), "Created");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_hands_over_through_the_config_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
