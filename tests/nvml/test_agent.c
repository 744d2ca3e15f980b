/* The agent end to end through the real nvml backend: the agent runtime in
 * virtual time over the mem store (tests/agent/harness.h), its device the
 * nvml backend loaded from the fake libnvidia-ml. A GPUSlice goes Creating
 * -> Created with the fake's MIG device UUID handed to the container, then
 * Deleting -> Deleted, and nothing is left on the fake GPU; a slice in use
 * stays Deleting until its process ends. */
#include "../agent/harness.h"
#include "fake.h"

/* The harness's agent, moved onto the nvml backend over the fake. */
static struct harness *nvml_harness(struct fake *f, const char *spec)
{
    struct harness *h = h_new("model=H100-80GB,latency=none");
    device_close(h->dev);
    h->dev = fake_open(f, spec);
    h->cfg.agent.device = h->dev;
    h_agent(h);
    return h;
}

/* The UUID of the fake's only MIG device on GPU 0, asked of it directly. */
static const char *fake_mig_uuid(struct fake *f)
{
    static char uuid[DEVICE_UUID_MAX];
    const struct nvml_sym *n = &f->nvml;
    nvmlDevice_t gpu, mig;
    assert_int_equal(n->nvmlInit_v2(), 0);
    assert_int_equal(n->nvmlDeviceGetHandleByIndex_v2(0, &gpu), 0);
    assert_int_equal(n->nvmlDeviceGetMigDeviceHandleByIndex(gpu, 0, &mig), 0);
    assert_int_equal(n->nvmlDeviceGetUUID(mig, uuid, sizeof uuid), 0);
    assert_int_equal(n->nvmlShutdown(), 0);
    return uuid;
}

static void slice_lifecycle_through_nvml(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct harness *h = nvml_harness(f, "model=H100-80GB");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "3g.40gb", 4, 4, name);
    h_settle(h, SEC);

    assert_string_equal(h_phase(h, name), "Created");
    assert_fake_holds(f, 0, 1, 1);
    const char *uuid = fake_mig_uuid(f);
    assert_int_equal(strncmp(uuid, "MIG-", 4), 0);
    assert_string_equal(h_status(h, name, "deviceUUID"), uuid);
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"), uuid);
    char boot[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(h->dev, boot, NULL), 0);
    assert_string_equal(h_status(h, name, "bootID"), boot);
    h_invariant(h);

    /* The GPUNode reports the fake GPU as the agent discovered it. */
    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    assert_non_null(gn);
    const json_t *gpu0 = json_array_get(json_object_get(json_object_get(gn, "status"), "gpus"),
                                        0);
    assert_string_equal(json_string_value(json_object_get(gpu0, "uuid")), h_gpu(h, 0));
    assert_string_equal(json_string_value(json_object_get(gpu0, "model")), "H100-80GB");
    json_decref(gn);

    h_set_phase(h, name, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_fake_holds(f, 0, 0, 0);
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    h_invariant(h);
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    assert_int_equal(s.creates, 1);
    assert_int_equal(s.destroys, 1);
    assert_int_equal(s.device_failures, 0);
    json_decref(pod);
    h_free(h);
    assert_int_equal(f->inits(), 0);
    fake_detach(f);
}

static void slice_in_use_stays_deleting_until_freed(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct harness *h = nvml_harness(f, "model=H100-80GB");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 3, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    h_set_phase(h, name, "Ungated");
    assert_int_equal(f->set_busy(0, 3, 1), 0);
    h_set_phase(h, name, "Deleting");
    h_settle(h, 10 * SEC);
    assert_string_equal(h_phase(h, name), "Deleting");
    assert_string_equal(h_status(h, name, "reason"), "InUse");
    assert_non_null(strstr(h_status(h, name, "message"), "NVML_ERROR_IN_USE"));
    assert_fake_holds(f, 0, 1, 1);

    assert_int_equal(f->set_busy(0, 3, 0), 0);
    h_settle(h, 30 * SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_fake_holds(f, 0, 0, 0);
    h_invariant(h);
    json_decref(pod);
    h_free(h);
    fake_detach(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slice_lifecycle_through_nvml),
        cmocka_unit_test(slice_in_use_stays_deleting_until_freed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
