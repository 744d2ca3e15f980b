/* Discovery through the nvml backend over the fake library, compared at run
 * time with the readout of a real H100 (tests/data); the fake's raw
 * NVML answers compared with it too; MIG modes, GPUs without MIG, the
 * driver version, the boot id, and failed queries. */
#include "fake.h"
#include "readout.h"

#include <ctype.h>

static struct readout *h100_readout(void)
{
    struct readout *r = malloc(sizeof *r);
    if (readout_load(fake_env("GPUSLICE_HW_READOUT"), r) != 0)
        fail_msg("cannot read the H100 readout %s", getenv("GPUSLICE_HW_READOUT"));
    return r;
}

static struct device_inventory *discover(struct device *d)
{
    struct device_inventory *inv = malloc(sizeof *inv);
    struct err e;
    uint64_t took = 0;
    if (device_discover(d, inv, &took, &e) != 0)
        fail_msg("discover: %s", e.msg);
    assert_true(took > 0); /* measured, not modelled */
    return inv;
}

static const struct device_profile *by_index(const struct device_gpu *g, unsigned index)
{
    for (unsigned i = 0; i < g->n_profiles; i++)
        if (g->profiles[i].nvml_index == index)
            return &g->profiles[i];
    return NULL;
}

/* The readout was taken with MIG disabled; the driver lists the profiles
 * all the same. */
static void discovery_reproduces_the_h100_readout(void **state)
{
    (void)state;
    struct readout *r = h100_readout();
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, "model=H100-80GB,mig=off");
    struct device_inventory *inv = discover(d);
    assert_int_equal(inv->n_gpus, 1);
    const struct device_gpu *g = &inv->gpus[0];
    assert_string_equal(g->product, "NVIDIA H100 80GB HBM3");
    assert_non_null(g->model);
    assert_string_equal(g->model->name, "H100-80GB");
    assert_int_equal(g->memory_mib, 81559);
    assert_int_equal(g->mig_current, DEVICE_MIG_DISABLED);
    assert_int_equal(g->mig_pending, DEVICE_MIG_DISABLED);
    assert_string_equal(g->pci_bus_id, "00000000:18:00.0");
    assert_int_equal(strncmp(g->uuid, "GPU-", 4), 0);
    assert_int_equal(strlen(g->uuid), 40);

    unsigned supported = 0;
    for (unsigned i = 0; i < READOUT_INDEXES; i++) {
        const struct readout_row *row = &r->by_index[i];
        const struct device_profile *p = by_index(g, i);
        if (!row->seen)
            continue;
        if (!row->supported) {
            if (p)
                fail_msg("index %u is Not Supported on the H100 but discovered as %s", i,
                         p->name);
            continue;
        }
        supported++;
        if (!p)
            fail_msg("index %u (id %u) was not discovered", i, row->id);
        assert_int_equal(p->nvml_id, row->id);
        assert_int_equal(p->compute_slices, row->slices);
        assert_int_equal(p->memory_mib, row->memory_mib);
        assert_int_equal(p->max_instances, row->instances);
        assert_int_equal(p->sm_count, row->sms);
        assert_string_equal(p->name, r->name_of_id[row->id]);
        assert_true(r->has_placements[row->id]);
        assert_int_equal(p->n_placements, r->n_placements[row->id]);
        for (unsigned k = 0; k < p->n_placements; k++) {
            assert_int_equal(p->placements[k].start, r->placements[row->id][k].start);
            assert_int_equal(p->placements[k].size, r->placements[row->id][k].size);
        }
        assert_int_equal(p->memory_slices, p->placements[0].size);
        assert_ptr_equal(p->catalog, catalog_find_profile(g->model, p->name));
    }
    assert_int_equal(supported, 7);
    assert_int_equal(g->n_profiles, supported);
    char report[512];
    assert_int_equal(device_catalog_report(g, report, sizeof report), 0);
    free(inv);
    device_close(d);
    fake_detach(f);
    free(r);
}

/* The fake's own answers, below the backend: every number of the readout's
 * NVML rows, copy engines included, and NOT_SUPPORTED where it says so. */
static void raw_profile_info_matches_the_readout(void **state)
{
    (void)state;
    struct readout *r = h100_readout();
    struct fake *f = fake_attach();
    const struct nvml_sym *n = &f->nvml;
    fake_load(f, "model=H100-80GB,mig=off");
    assert_int_equal(n->nvmlInit_v2(), DEVICE_NVML_SUCCESS);
    nvmlDevice_t dev;
    assert_int_equal(n->nvmlDeviceGetHandleByIndex_v2(0, &dev), DEVICE_NVML_SUCCESS);
    for (unsigned i = 0; i < READOUT_INDEXES; i++) {
        const struct readout_row *row = &r->by_index[i];
        if (!row->seen)
            continue;
        nvmlGpuInstanceProfileInfo_t info;
        nvmlReturn_t ret = n->nvmlDeviceGetGpuInstanceProfileInfo(dev, i, &info);
        if (!row->supported) {
            assert_int_equal(ret, DEVICE_NVML_NOT_SUPPORTED);
            assert_string_equal(n->nvmlErrorString(ret), "Not Supported");
            continue;
        }
        assert_int_equal(ret, DEVICE_NVML_SUCCESS);
        assert_int_equal(info.id, row->id);
        assert_int_equal(info.sliceCount, row->slices);
        assert_int_equal(info.memorySizeMB, row->memory_mib);
        assert_int_equal(info.instanceCount, row->instances);
        assert_int_equal(info.multiprocessorCount, row->sms);
        assert_int_equal(info.copyEngineCount, row->copy_engines);
        assert_int_equal(info.isP2pSupported, 0);
    }
    nvmlGpuInstanceProfileInfo_t info;
    assert_int_equal(n->nvmlDeviceGetGpuInstanceProfileInfo(dev, 18, &info),
                     DEVICE_NVML_INVALID_ARGUMENT);
    nvmlPciInfo_t pci;
    assert_int_equal(n->nvmlDeviceGetPciInfo_v3(dev, &pci), DEVICE_NVML_SUCCESS);
    assert_int_equal(pci.pciDeviceId >> 16, 0x2330);
    assert_int_equal(n->nvmlShutdown(), DEVICE_NVML_SUCCESS);
    /* Not initialised any more. */
    assert_int_equal(n->nvmlDeviceGetHandleByIndex_v2(0, &dev), DEVICE_NVML_UNINITIALIZED);
    fake_detach(f);
    free(r);
}

static void mig_modes_and_gpus_without_mig(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, "model=H100-80GB,mig=pending,model=A100-40GB,"
                                    "other=NVIDIA L4,memory-mib=23034");
    struct device_inventory *inv = discover(d);
    assert_int_equal(inv->n_gpus, 3);
    assert_int_equal(inv->gpus[0].mig_current, DEVICE_MIG_DISABLED);
    assert_int_equal(inv->gpus[0].mig_pending, DEVICE_MIG_ENABLED);
    assert_int_equal(inv->gpus[1].mig_current, DEVICE_MIG_ENABLED);
    assert_string_equal(inv->gpus[1].model->name, "A100-40GB");
    assert_int_equal(inv->gpus[1].n_profiles, 7);
    assert_int_equal(inv->gpus[1].index, 1);
    assert_string_equal(inv->gpus[1].pci_bus_id, "00000000:20:00.0");
    char report[256];
    assert_int_equal(device_catalog_report(&inv->gpus[1], report, sizeof report), 0);
    const struct device_gpu *l4 = &inv->gpus[2];
    assert_string_equal(l4->product, "NVIDIA L4");
    assert_null(l4->model);
    assert_int_equal(l4->mig_current, DEVICE_MIG_UNSUPPORTED);
    assert_int_equal(l4->n_profiles, 0);
    assert_int_equal(l4->memory_mib, 23034);
    assert_int_equal(device_catalog_report(l4, report, sizeof report), 0);
    assert_string_not_equal(inv->gpus[0].uuid, inv->gpus[1].uuid);
    free(inv);
    device_close(d);
    fake_detach(f);
}

static void driver_version_and_boot_id(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, "driver=999.01.02");
    char v[64];
    struct err e;
    err_clear(&e);
    assert_int_equal(nvml_driver_version(d, v, sizeof v, &e), 0);
    assert_string_equal(v, "999.01.02");
    assert_int_equal(nvml_driver_version(d, NULL, 0, &e), -EINVAL);
    struct device *em = NULL;
    assert_int_equal(device_open("emulated", &em, NULL), 0);
    assert_int_equal(nvml_driver_version(em, v, sizeof v, &e), -EINVAL);
    assert_msg_has(&e, "not an nvml device");
    device_close(em);

    char boot[DEVICE_BOOT_ID_MAX], want[64] = "";
    assert_int_equal(device_boot_id(d, boot, &e), 0);
    FILE *bf = fopen("/proc/sys/kernel/random/boot_id", "r");
    assert_non_null(bf);
    assert_non_null(fgets(want, sizeof want, bf));
    fclose(bf);
    want[strcspn(want, "\n")] = '\0';
    assert_string_equal(boot, want);
    assert_int_equal(strlen(boot), 36);
    device_close(d);
    fake_detach(f);
}

/* A query that fails names the call, NVML's code and the driver's text. */
static void failed_queries_are_mapped(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, "fail=nvmlDeviceGetMemoryInfo:GPU_IS_LOST");
    struct device_inventory *inv = malloc(sizeof *inv);
    struct err e;
    err_clear(&e);
    assert_int_equal(device_discover(d, inv, NULL, &e), -ENODEV);
    assert_string_equal(e.msg, "nvml: NVML_ERROR_GPU_IS_LOST: nvmlDeviceGetMemoryInfo(GPU 0): "
                               "GPU is lost");
    device_close(d);

    d = fake_open(f, "fail=nvmlDeviceGetGpuInstanceProfileInfo:NO_PERMISSION@3");
    assert_int_equal(device_discover(d, inv, NULL, &e), -EPERM);
    assert_msg_has(&e, "nvmlDeviceGetGpuInstanceProfileInfo(GPU 0, index 2)");
    device_close(d);

    d = fake_open(f, "fail=nvmlDeviceGetGpuInstancePossiblePlacements_v2:INSUFFICIENT_SIZE");
    assert_int_equal(device_discover(d, inv, NULL, &e), -E2BIG);
    device_close(d);

    /* An old driver that answers NOT_SUPPORTED for placements with MIG off:
     * the profiles are listed without them, memory slices from the
     * catalogue. */
    d = fake_open(f, "model=H100-80GB,mig=off,"
                       "fail=nvmlDeviceGetGpuInstancePossiblePlacements_v2:3");
    assert_int_equal(device_discover(d, inv, NULL, &e), 0);
    assert_int_equal(inv->gpus[0].n_profiles, 7);
    assert_int_equal(inv->gpus[0].profiles[0].n_placements, 0);
    assert_int_equal(by_index(&inv->gpus[0], 4)->memory_slices, 8);
    device_close(d);

    d = fake_open(f, "fail=nvmlDeviceGetCount_v2:UNINITIALIZED");
    assert_int_equal(device_discover(d, inv, NULL, &e), -ENOSYS);
    assert_msg_has(&e, "nvmlDeviceGetCount_v2: Uninitialized");
    device_close(d);
    free(inv);
    fake_detach(f);
}

/* The fake's description: bad items are refused with the reason. */
static void fake_refuses_bad_descriptions(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    char why[256];
    static const struct {
        const char *spec, *says;
    } bad[] = {
        {"model=H999", "unknown model"},
        {"fail=nvmlNothing:IN_USE", "no NVML function nvmlNothing"},
        {"fail=nvmlInit_v2:SOMETIMES", "not an NVML error"},
        {"fail=nvmlInit_v2", "not FUNCTION:RETURN"},
        {"slice=0:1g.10gb", "not GPU:PROFILE@START"},
        {"slice=0:1g.10gb@1:spare", "unknown flag"},
        {"slice=0:3g.40gb@2", "does not fit"},
        {"slice=3:1g.10gb@0", "no MIG GPU 3"},
        {"driver=", "driver="},
        {"gpu-memory=0", "not GPU:MIB"},
        {"gpu-memory=0:0", "not GPU:MIB"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(f->load(bad[i].spec, why, sizeof why), -EINVAL);
        if (!strstr(why, bad[i].says))
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].spec, why, bad[i].says);
    }
    fake_load(f, "# comments and blank items are fine\n model=H100-80GB ,, count=2 # two\n");
    unsigned gis;
    assert_int_equal(f->count(1, &gis, NULL), 0);
    assert_int_equal(f->count(2, &gis, NULL), -ENODEV);
    fake_detach(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(discovery_reproduces_the_h100_readout),
        cmocka_unit_test(raw_profile_info_matches_the_readout),
        cmocka_unit_test(mig_modes_and_gpus_without_mig),
        cmocka_unit_test(driver_version_and_boot_id),
        cmocka_unit_test(failed_queries_are_mapped),
        cmocka_unit_test(fake_refuses_bad_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
