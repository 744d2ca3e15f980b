/* Profile names from the driver's numbers (nvml_profile_name), the
 * catalogue cross-check (device_catalog_report) and the two helpers the
 * backends share for NVML failures (device_nvml_fail, device_slice_failed). */
#include "fake.h"

#include "device/emulated.h"

#define MIB (UINT64_C(1) << 20)

static const char *name_of(unsigned index, unsigned slices, uint64_t mib, uint64_t total_mib)
{
    static char buf[DEVICE_PROFILE_NAME_MAX];
    assert_int_equal(nvml_profile_name(index, slices, mib, total_mib * MIB, buf, sizeof buf), 0);
    return buf;
}

static void names_follow_the_h100_readout(void **state)
{
    (void)state;
    const uint64_t h100 = 81559; /* nvmlDeviceGetMemoryInfo on an H100 80GB HBM3, MiB */
    assert_string_equal(name_of(0, 1, 9984, h100), "1g.10gb");
    assert_string_equal(name_of(7, 1, 9984, h100), "1g.10gb+me");
    assert_string_equal(name_of(9, 1, 20096, h100), "1g.20gb");
    assert_string_equal(name_of(1, 2, 20096, h100), "2g.20gb");
    assert_string_equal(name_of(2, 3, 40448, h100), "3g.40gb");
    assert_string_equal(name_of(3, 4, 40448, h100), "4g.40gb");
    assert_string_equal(name_of(4, 7, 81152, h100), "7g.80gb");
}

/* Rounding MiB to GiB alone would say 1g.11gb here: the driver's rule works
 * on the profile's share of the GPU. */
static void names_use_the_share_of_the_gpu(void **state)
{
    (void)state;
    assert_string_equal(name_of(0, 1, 11008, 95830), "1g.12gb"); /* H100 NVL */
    assert_string_equal(name_of(9, 1, 22144, 95830), "1g.24gb");
    assert_string_equal(name_of(2, 3, 71168, 143771), "3g.71gb"); /* H200 */
    assert_string_equal(name_of(0, 1, 16384, 143771), "1g.18gb");
    assert_string_equal(name_of(0, 1, 4864, 40536), "1g.5gb");    /* A100 40GB */
    assert_string_equal(name_of(8, 2, 11968, 24576), "2g.12gb+me"); /* A30 */
    assert_string_equal(name_of(10, 1, 22528, 184320), "1g.23gb+gfx");
    assert_string_equal(name_of(13, 1, 22528, 184320), "1g.23gb-me");
    assert_string_equal(name_of(15, 1, 22528, 184320), "1g.23gb+me.all");
}

/* Every catalogued profile is named as the catalogue names it, from its
 * numbers and its model's nominal memory. */
static void names_agree_with_the_whole_catalogue(void **state)
{
    (void)state;
    for (size_t i = 0; i < catalog_model_count(); i++) {
        const struct gpu_model *m = catalog_model(i);
        for (unsigned k = 0; k < m->n_profiles; k++) {
            const struct mig_profile *p = &m->profiles[k];
            const char *n = name_of(p->nvml_index, p->compute_slices, p->memory_mib,
                                    m->memory_mib);
            if (strcmp(n, p->name) != 0)
                fail_msg("%s: %s is named %s", m->name, p->name, n);
        }
    }
}

static void names_refuse_bad_input(void **state)
{
    (void)state;
    char buf[DEVICE_PROFILE_NAME_MAX] = "x";
    assert_int_equal(nvml_profile_name(0, 0, 9984, 81559 * MIB, buf, sizeof buf), -EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(nvml_profile_name(0, 1, 0, 81559 * MIB, buf, sizeof buf), -EINVAL);
    assert_int_equal(nvml_profile_name(0, 1, 9984, 0, buf, sizeof buf), -EINVAL);
    assert_int_equal(nvml_profile_name(0, 1, UINT64_C(1) << 40, 81559 * MIB, buf, sizeof buf),
                     -EINVAL);
    assert_int_equal(nvml_profile_name(0, 1, 9984, 81559 * MIB, NULL, 8), -EINVAL);
    assert_int_equal(nvml_profile_name(0, 1, 9984, 81559 * MIB, buf, 0), -EINVAL);
    /* A short buffer holds a truncated name, terminated. */
    assert_int_equal(nvml_profile_name(7, 1, 9984, 81559 * MIB, buf, 5), 0);
    assert_string_equal(buf, "1g.1");
}

/* ---- the catalogue cross-check ---- */

static struct device_gpu *emulated_h100(void)
{
    struct device *d = NULL;
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_open("emulated:model=H100-80GB", &d, NULL), 0);
    assert_int_equal(device_discover(d, inv, NULL, NULL), 0);
    device_close(d);
    struct device_gpu *g = malloc(sizeof *g);
    *g = inv->gpus[0];
    free(inv);
    return g;
}

static struct device_profile *profile_named(struct device_gpu *g, const char *name)
{
    for (unsigned i = 0; i < g->n_profiles; i++)
        if (strcmp(g->profiles[i].name, name) == 0)
            return &g->profiles[i];
    fail_msg("no profile %s", name);
    return NULL;
}

static void report_is_empty_when_driver_and_catalogue_agree(void **state)
{
    (void)state;
    struct device_gpu *g = emulated_h100();
    char buf[512] = "x";
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(device_catalog_report(NULL, buf, sizeof buf), 0);
    free(g);
}

static void report_names_each_difference(void **state)
{
    (void)state;
    struct device_gpu *g = emulated_h100();
    char buf[2048];
    /* An older driver's spelling, mapped to the catalogue by kind. */
    snprintf(profile_named(g, "3g.40gb")->name, DEVICE_PROFILE_NAME_MAX, "3g.39gb");
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "GPU 0: the driver names 3g.39gb what the catalogue of "
                                "H100-80GB calls 3g.40gb"));

    struct device_profile *p = profile_named(g, "4g.40gb");
    p->memory_mib = 40192;
    p->sm_count = 56;
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "\nGPU 0: 4g.40gb differs from the catalogue of H100-80GB: "
                                "SMs 56 (catalogue 64), MiB 40192 (catalogue 40448)"));

    p = profile_named(g, "1g.20gb");
    p->n_placements = 3;
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 3);
    assert_non_null(strstr(buf, "1g.20gb differs from the catalogue of H100-80GB: placements "
                                "differ"));

    p = profile_named(g, "7g.80gb");
    p->catalog = NULL;
    snprintf(p->name, sizeof p->name, "8g.80gb");
    /* Not known, and the catalogue's 7g.80gb is then not offered. */
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 5);
    assert_non_null(strstr(buf, "profile 8g.80gb (id 0, index 4) is not in the catalogue of "
                                "H100-80GB"));
    assert_non_null(strstr(buf, "the catalogue's 7g.80gb (id 0) of H100-80GB is not offered"));
    free(g);
}

static void report_covers_uncatalogued_gpus_and_small_buffers(void **state)
{
    (void)state;
    struct device_gpu *g = emulated_h100();
    char buf[64];
    g->model = NULL;
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "GPU 0: NVIDIA H100 80GB HBM3 is not in the catalogue"));
    assert_int_equal(strlen(buf), sizeof buf - 1); /* truncated, terminated */

    g->n_profiles = 0;
    g->mig_current = g->mig_pending = DEVICE_MIG_UNSUPPORTED;
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 0); /* an L4: nothing to say */
    free(g);

    g = emulated_h100();
    g->n_profiles = 0;
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 1);
    assert_string_equal(buf, "GPU 0: MIG is enabled but the driver offers no profile");
    g->mig_current = DEVICE_MIG_DISABLED; /* old drivers list none with MIG off */
    assert_int_equal(device_catalog_report(g, buf, sizeof buf), 0);
    free(g);

    /* Counting goes on when nothing more fits, and without a buffer. */
    g = emulated_h100();
    for (unsigned i = 0; i < g->n_profiles; i++)
        g->profiles[i].sm_count++;
    assert_int_equal(device_catalog_report(g, buf, 8), 7);
    assert_int_equal(strlen(buf), 7);
    assert_int_equal(device_catalog_report(g, NULL, 0), 7);
    free(g);
}

/* ---- the helpers the backends share ---- */

static void nvml_fail_maps_and_names_the_return(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    assert_int_equal(device_nvml_fail(&e, DEVICE_NVML_IN_USE, "destroy %s", "x"), -EBUSY);
    assert_string_equal(e.msg, "NVML_ERROR_IN_USE: destroy x");
    assert_int_equal(e.code, -EBUSY);
    assert_int_equal(device_nvml_fail(&e, 12345, "odd"), -EIO);
    assert_string_equal(e.msg, "NVML_ERROR_UNKNOWN_CODE: odd");
    assert_int_equal(device_nvml_fail(NULL, DEVICE_NVML_INSUFFICIENT_RESOURCES, "x"), -ENOSPC);
}

static void slice_failed_names_the_slice(void **state)
{
    (void)state;
    struct err e;
    err_set(&e, -ENOSPC, "taken");
    struct device_slice_ref by_index = ref_at(2, "1g.10gb", 3);
    assert_int_equal(device_slice_failed(-ENOSPC, "create", &by_index, &e), -ENOSPC);
    assert_string_equal(e.msg, "create 1g.10gb at 3 on GPU 2: taken");
    struct device_slice_ref by_uuid = {.gpu_uuid = "GPU-1", .profile = "3g.40gb", .start = 4};
    assert_int_equal(device_slice_failed(-EBUSY, "destroy", &by_uuid, &e), -EBUSY);
    assert_string_equal(e.msg, "destroy 3g.40gb at 4 on GPU-1: create 1g.10gb at 3 on GPU 2: "
                               "taken");
    err_set(&e, 0, "kept");
    assert_int_equal(device_slice_failed(0, "create", &by_uuid, &e), 0);
    assert_string_equal(e.msg, "kept");
    assert_int_equal(device_slice_failed(-EIO, "create", &by_uuid, NULL), -EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_follow_the_h100_readout),
        cmocka_unit_test(names_use_the_share_of_the_gpu),
        cmocka_unit_test(names_agree_with_the_whole_catalogue),
        cmocka_unit_test(names_refuse_bad_input),
        cmocka_unit_test(report_is_empty_when_driver_and_catalogue_agree),
        cmocka_unit_test(report_names_each_difference),
        cmocka_unit_test(report_covers_uncatalogued_gpus_and_small_buffers),
        cmocka_unit_test(nvml_fail_maps_and_names_the_return),
        cmocka_unit_test(slice_failed_names_the_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
