/* Tests for device.h's backend-independent half: opening a backend by name,
 * the wrappers' checks and messages, and the NVML-to-code table. */
#include "helpers.h"

static void open_plain_emulated_gives_one_h100(void **state)
{
    (void)state;
    struct device *d = NULL;
    struct err e;
    assert_int_equal(device_open("emulated", &d, &e), 0);
    assert_non_null(d);
    assert_true(d->modelled_time);
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, &e), 0);
    assert_int_equal(inv->n_gpus, 1);
    assert_string_equal(inv->gpus[0].model->name, "H100-80GB");
    free(inv);
    device_close(d);
}

static void open_with_spec_passes_it_on(void **state)
{
    (void)state;
    struct device *d = open_spec("model=A100-40GB,count=3");
    struct device_inventory *inv = malloc(sizeof *inv);
    uint64_t took = 1;
    assert_int_equal(device_discover(d, inv, &took, NULL), 0);
    assert_int_equal(inv->n_gpus, 3);
    assert_string_equal(inv->gpus[2].model->name, "A100-40GB");
    assert_true(took > 0);
    free(inv);
    device_close(d);
}

static void open_refuses_unknown_backend_and_bad_spec(void **state)
{
    (void)state;
    struct device *d = (struct device *)&d; /* must be reset to NULL */
    struct err e;
    err_clear(&e);
    assert_int_equal(device_open("bogus:x", &d, &e), -EINVAL);
    assert_null(d);
    assert_msg_has(&e, "unknown device backend \"bogus\"");
    assert_int_equal(device_open("emulatedx", &d, &e), -EINVAL);
    assert_int_equal(device_open("emulated:flavour=1", &d, &e), -EINVAL);
    assert_null(d);
    assert_msg_has(&e, "flavour");
    assert_int_equal(device_open(NULL, &d, &e), -EINVAL);
    assert_int_equal(device_open("emulated", NULL, &e), -EINVAL);
}

static void wrappers_check_arguments(void **state)
{
    (void)state;
    struct device *d = open_spec("");
    struct err e;
    struct device_inventory *inv = malloc(sizeof *inv);
    struct device_slices *list = malloc(sizeof *list);
    char boot[DEVICE_BOOT_ID_MAX];
    uint64_t took = 7;
    assert_int_equal(device_discover(NULL, inv, &took, &e), -EINVAL);
    assert_int_equal(took, 0);
    assert_int_equal(device_discover(d, NULL, NULL, &e), -EINVAL);
    assert_int_equal(device_create_slice(NULL, NULL, NULL, NULL, &e), -EINVAL);
    assert_int_equal(device_create_slice(d, NULL, NULL, NULL, &e), -EINVAL);
    assert_msg_has(&e, "emulated: create: no slice named");
    struct device_slice_ref ref = ref_at(0, NULL, 0);
    assert_int_equal(device_create_slice(d, &ref, NULL, NULL, &e), -EINVAL);
    assert_msg_has(&e, "no profile named");
    ref.profile = "";
    assert_int_equal(device_destroy_slice(d, &ref, NULL, &e), -EINVAL);
    assert_msg_has(&e, "emulated: destroy: no profile named");
    assert_int_equal(device_destroy_slice(NULL, &ref, NULL, &e), -EINVAL);
    assert_int_equal(device_list_slices(d, NULL, NULL, &e), -EINVAL);
    assert_int_equal(device_list_slices(NULL, list, NULL, &e), -EINVAL);
    assert_int_equal(device_boot_id(d, NULL, &e), -EINVAL);
    assert_int_equal(device_boot_id(NULL, boot, &e), -EINVAL);
    device_close(NULL);
    free(inv);
    free(list);
    device_close(d);
}

static void wrappers_report_took_and_prefix_backend(void **state)
{
    (void)state;
    struct device *d = open_spec("create-ms=900,destroy-ms=400,query-ms=5");
    struct err e;
    struct device_slice s;
    struct device_slice_ref ref = ref_at(0, "3g.40gb", 4);
    uint64_t took = 0;
    assert_int_equal(device_create_slice(d, &ref, &s, &took, &e), 0);
    assert_int_equal(took, UINT64_C(900000000));
    assert_string_equal(s.profile, "3g.40gb");
    /* NULL out and NULL took are allowed. */
    struct device_slice_ref other = ref_at(0, "3g.40gb", 0);
    assert_int_equal(device_create_slice(d, &other, NULL, NULL, &e), 0);
    assert_int_equal(device_create_slice(d, &ref, &s, &took, &e), -ENOSPC);
    assert_int_equal(took, UINT64_C(5000000));
    assert_int_equal(strncmp(e.msg, "emulated: create 3g.40gb at 4 on GPU 0: ", 40), 0);
    /* A failed call leaves no stale slice behind in out. */
    assert_string_equal(s.profile, "");
    assert_int_equal(device_destroy_slice(d, &ref, &took, &e), 0);
    assert_int_equal(took, UINT64_C(400000000));
    struct device_slices *list = malloc(sizeof *list);
    assert_int_equal(device_list_slices(d, list, &took, &e), 0);
    assert_int_equal(list->n, 1);
    assert_int_equal(took, UINT64_C(5000000));
    free(list);
    device_close(d);
}

static void boot_id_is_copied(void **state)
{
    (void)state;
    struct device *d = open_spec("boot-id=0b1d-test");
    char boot[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(d, boot, NULL), 0);
    assert_string_equal(boot, "0b1d-test");
    device_close(d);
}

static void nvml_codes_follow_the_table(void **state)
{
    (void)state;
    static const struct {
        unsigned nvml;
        int code;
    } table[] = {
        {DEVICE_NVML_SUCCESS, 0},
        {DEVICE_NVML_INSUFFICIENT_RESOURCES, -ENOSPC},
        {DEVICE_NVML_IN_USE, -EBUSY},
        {DEVICE_NVML_INVALID_ARGUMENT, -EINVAL},
        {DEVICE_NVML_NOT_SUPPORTED, -ENOTSUP},
        {DEVICE_NVML_NO_PERMISSION, -EPERM},
        {DEVICE_NVML_GPU_IS_LOST, -ENODEV},
        {DEVICE_NVML_GPU_NOT_FOUND, -ENODEV},
        {DEVICE_NVML_NOT_FOUND, -ENOENT},
        {DEVICE_NVML_TIMEOUT, -ETIMEDOUT},
        {DEVICE_NVML_NOT_READY, -EAGAIN},
        {DEVICE_NVML_INVALID_STATE, -EAGAIN},
        {DEVICE_NVML_MEMORY, -ENOMEM},
        {DEVICE_NVML_UNINITIALIZED, -ENOSYS},
        {DEVICE_NVML_DRIVER_NOT_LOADED, -ENOSYS},
        {DEVICE_NVML_LIBRARY_NOT_FOUND, -ENOSYS},
        {DEVICE_NVML_FUNCTION_NOT_FOUND, -ENOSYS},
        {DEVICE_NVML_LIB_RM_VERSION_MISMATCH, -ENOSYS},
        {DEVICE_NVML_INSUFFICIENT_SIZE, -E2BIG},
        {DEVICE_NVML_RESET_REQUIRED, -EIO},
        {DEVICE_NVML_UNKNOWN, -EIO},
        {12345, -EIO},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(device_code_from_nvml(table[i].nvml), table[i].code);
}

static void nvml_names_are_nvmls(void **state)
{
    (void)state;
    assert_string_equal(device_nvml_return_name(DEVICE_NVML_SUCCESS), "NVML_SUCCESS");
    assert_string_equal(device_nvml_return_name(DEVICE_NVML_IN_USE), "NVML_ERROR_IN_USE");
    assert_string_equal(device_nvml_return_name(DEVICE_NVML_INSUFFICIENT_RESOURCES),
                        "NVML_ERROR_INSUFFICIENT_RESOURCES");
    assert_string_equal(device_nvml_return_name(DEVICE_NVML_RESET_TYPE_NOT_SUPPORTED),
                        "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED");
    assert_string_equal(device_nvml_return_name(DEVICE_NVML_UNKNOWN), "NVML_ERROR_UNKNOWN");
    assert_string_equal(device_nvml_return_name(31), "NVML_ERROR_UNKNOWN_CODE");
    /* No hole in the table: every defined value has its name. */
    for (unsigned r = 0; r <= DEVICE_NVML_RESET_TYPE_NOT_SUPPORTED; r++) {
        const char *name = device_nvml_return_name(r);
        assert_non_null(name);
        assert_int_equal(strncmp(name, "NVML_", 5), 0);
        assert_string_not_equal(name, "NVML_ERROR_UNKNOWN_CODE");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_plain_emulated_gives_one_h100),
        cmocka_unit_test(open_with_spec_passes_it_on),
        cmocka_unit_test(open_refuses_unknown_backend_and_bad_spec),
        cmocka_unit_test(wrappers_check_arguments),
        cmocka_unit_test(wrappers_report_took_and_prefix_backend),
        cmocka_unit_test(boot_id_is_copied),
        cmocka_unit_test(nvml_codes_follow_the_table),
        cmocka_unit_test(nvml_names_are_nvmls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
