/* Failures through the nvml backend over the fake library: a compute
 * instance that cannot be made after its GPU instance was (rollback leaves
 * nothing), later steps failing, a rollback that fails itself, a slice in
 * use, MIG disabled or absent, and a listing refused. */
#include "fake.h"

#define H100 "model=H100-80GB"

static void ci_failure_after_gi_rolls_back(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",fail=nvmlGpuInstanceCreateComputeInstance:"
                                         "INSUFFICIENT_RESOURCES");
    struct device_slices *l = malloc(sizeof *l);
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "2g.20gb", 2);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOSPC);
    assert_string_equal(e.msg, "nvml: create 2g.20gb at 2 on GPU 0: "
                               "NVML_ERROR_INSUFFICIENT_RESOURCES: "
                               "nvmlGpuInstanceCreateComputeInstance(CI profile id 1): "
                               "Insufficient Resources; the GPU instance was destroyed again");
    assert_int_equal(f->calls("nvmlDeviceCreateGpuInstanceWithPlacement"), 1);
    assert_int_equal(f->calls("nvmlGpuInstanceDestroy"), 1);
    assert_fake_holds(f, 0, 0, 0);
    assert_int_equal(device_list_slices(d, l, NULL, &e), 0);
    assert_int_equal(l->n, 0);
    free(l);
    device_close(d);
    fake_detach(f);
}

/* A step after the CI fails: both instances go, CI first. */
static void later_steps_roll_back_both_instances(void **state)
{
    (void)state;
    static const struct {
        const char *fault, *says;
        int code;
    } cases[] = {
        {"fail=nvmlComputeInstanceGetInfo_v2:UNKNOWN", "nvmlComputeInstanceGetInfo_v2", -EIO},
        {"fail=nvmlGpuInstanceGetInfo:GPU_IS_LOST", "nvmlGpuInstanceGetInfo", -ENODEV},
        {"fail=nvmlDeviceGetMigDeviceHandleByIndex:NOT_FOUND",
         "no MIG device stands for GI 1 CI 0", -EIO},
        {"fail=nvmlDeviceGetUUID:INSUFFICIENT_SIZE@2", "nvmlDeviceGetUUID", -E2BIG},
    };
    struct fake *f = fake_attach();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char spec[256];
        snprintf(spec, sizeof spec, H100 ",%s", cases[i].fault);
        struct device *d = fake_open(f, spec);
        struct err e;
        err_clear(&e);
        struct device_slice_ref r = ref_at(0, "7g.80gb", 0);
        int rc = device_create_slice(d, &r, NULL, NULL, &e);
        if (rc != cases[i].code || !strstr(e.msg, cases[i].says) ||
            !strstr(e.msg, "the GPU instance was destroyed again"))
            fail_msg("%s: %d %s", cases[i].fault, rc, e.msg);
        assert_int_equal(f->calls("nvmlComputeInstanceDestroy"), 1);
        assert_int_equal(f->calls("nvmlGpuInstanceDestroy"), 1);
        assert_fake_holds(f, 0, 0, 0);
        device_close(d);
    }
    fake_detach(f);
}

static void failed_rollback_is_reported_beside_the_failure(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",fail=nvmlGpuInstanceCreateComputeInstance:UNKNOWN,"
                                         "fail=nvmlGpuInstanceDestroy:IN_USE");
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "1g.10gb", 5);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -EIO); /* the original */
    assert_msg_has(&e, "NVML_ERROR_UNKNOWN: nvmlGpuInstanceCreateComputeInstance");
    assert_msg_has(&e, "; rollback: nvmlGpuInstanceDestroy: NVML_ERROR_IN_USE: the GPU "
                       "instance is left");
    assert_fake_holds(f, 0, 1, 0);
    device_close(d);
    fake_detach(f);
}

static void gi_failure_makes_nothing(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",fail=nvmlDeviceCreateGpuInstanceWithPlacement:"
                                         "NO_PERMISSION");
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "4g.40gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -EPERM);
    assert_msg_has(&e, "Insufficient Permissions");
    assert_int_equal(f->calls("nvmlGpuInstanceDestroy"), 0);
    assert_int_equal(f->calls("nvmlGpuInstanceCreateComputeInstance"), 0);
    assert_fake_holds(f, 0, 0, 0);
    device_close(d);
    fake_detach(f);
}

/* A process holds the slice: -EBUSY and nothing destroyed, until it goes. */
static void in_use_destroy_destroys_nothing(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",slice=0:3g.40gb@0:busy");
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "3g.40gb", 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -EBUSY);
    assert_string_equal(e.msg, "nvml: destroy 3g.40gb at 0 on GPU 0: NVML_ERROR_IN_USE: "
                               "nvmlComputeInstanceDestroy (CI profile id 2): In use by "
                               "another client; nothing was destroyed");
    assert_fake_holds(f, 0, 1, 1);
    assert_int_equal(f->set_busy(0, 0, 0), 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), 0);
    assert_fake_holds(f, 0, 0, 0);

    /* A slice the backend made, then taken by a process. */
    r = ref_at(0, "1g.20gb", 6);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    assert_int_equal(f->set_busy(0, 6, 1), 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -EBUSY);
    assert_fake_holds(f, 0, 1, 1);
    assert_int_equal(f->set_busy(0, 5, 1), -ENOENT);
    device_close(d);
    fake_detach(f);
}

/* The CI goes, the GI refuses: the GI stays, listed without a CI, and a
 * second destroy finishes the job. */
static void gi_in_use_after_its_ci_went(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",slice=0:2g.20gb@4,fail=nvmlGpuInstanceDestroy:"
                                         "IN_USE@1");
    struct device_slices *l = malloc(sizeof *l);
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "2g.20gb", 4);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -EBUSY);
    assert_msg_has(&e, "nvmlGpuInstanceDestroy: In use by another client; its compute "
                       "instances are gone, the GPU instance stays");
    assert_fake_holds(f, 0, 1, 0);
    assert_int_equal(device_list_slices(d, l, NULL, &e), 0);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->items[0].ci_id, DEVICE_NO_CI);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), 0);
    assert_fake_holds(f, 0, 0, 0);
    free(l);
    device_close(d);
    fake_detach(f);
}

/* MIG disabled: the driver's own refusal, reported with the mode, and
 * nothing left behind. */
static void mig_disabled_refuses_with_the_drivers_error(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",mig=off,model=H100-80GB,mig=pending");
    struct device_slices *l = malloc(sizeof *l);
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "1g.10gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOTSUP);
    assert_string_equal(e.msg, "nvml: create 1g.10gb at 0 on GPU 0: NVML_ERROR_NOT_SUPPORTED: "
                               "nvmlDeviceCreateGpuInstanceWithPlacement(profile id 19, {0}:1):"
                               " Not Supported (MIG is disabled on GPU 0)");
    assert_int_equal(f->calls("nvmlDeviceCreateGpuInstanceWithPlacement"), 1);
    r.gpu_index = 1;
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOTSUP);
    assert_msg_has(&e, "(MIG is disabled on GPU 1; enabled after the next GPU reset)");
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -ENOTSUP);
    assert_fake_holds(f, 0, 0, 0);
    assert_fake_holds(f, 1, 0, 0);
    assert_int_equal(device_list_slices(d, l, NULL, &e), 0);
    assert_int_equal(l->n, 0);
    free(l);
    device_close(d);
    fake_detach(f);
}

static void gpu_without_mig_is_said_so(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, "other=NVIDIA L4");
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "1g.10gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOTSUP);
    assert_msg_has(&e, "NVML_ERROR_NOT_SUPPORTED: GPU 0 (NVIDIA L4) has no MIG");
    assert_int_equal(f->calls("nvmlDeviceCreateGpuInstanceWithPlacement"), 0);
    device_close(d);
    fake_detach(f);
}

static void refused_listing_is_mapped(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",fail=nvmlDeviceGetGpuInstances:NO_PERMISSION");
    struct device_slices *l = malloc(sizeof *l);
    struct err e;
    err_clear(&e);
    assert_int_equal(device_list_slices(d, l, NULL, &e), -EPERM);
    assert_msg_has(&e, "nvml: NVML_ERROR_NO_PERMISSION: nvmlDeviceGetGpuInstances(GPU 0, "
                       "profile id 19)");
    free(l);
    device_close(d);
    fake_detach(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ci_failure_after_gi_rolls_back),
        cmocka_unit_test(later_steps_roll_back_both_instances),
        cmocka_unit_test(failed_rollback_is_reported_beside_the_failure),
        cmocka_unit_test(gi_failure_makes_nothing),
        cmocka_unit_test(in_use_destroy_destroys_nothing),
        cmocka_unit_test(gi_in_use_after_its_ci_went),
        cmocka_unit_test(mig_disabled_refuses_with_the_drivers_error),
        cmocka_unit_test(gpu_without_mig_is_said_so),
        cmocka_unit_test(refused_listing_is_mapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
