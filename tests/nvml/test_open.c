/* Opening the nvml backend: the spec, a driver that is missing, a library
 * that is not NVML or lacks an entry point, an nvmlInit_v2 that fails, and
 * the init/shutdown pairing with the library. */
#include "fake.h"

static void spec_parses_library_and_refuses_the_rest(void **state)
{
    (void)state;
    struct nvml_config cfg;
    struct err e;
    err_clear(&e);
    assert_int_equal(nvml_config_parse(NULL, &cfg, &e), 0);
    assert_string_equal(cfg.library, NVML_LIBRARY_DEFAULT);
    assert_int_equal(nvml_config_parse("", &cfg, &e), 0);
    assert_string_equal(cfg.library, "libnvidia-ml.so.1");
    assert_int_equal(nvml_config_parse("library=/opt/nv,1/libnvidia-ml.so.1", &cfg, &e), 0);
    assert_string_equal(cfg.library, "/opt/nv,1/libnvidia-ml.so.1");

    assert_int_equal(nvml_config_parse("lib=/x.so", &cfg, &e), -EINVAL);
    assert_msg_has(&e, "library=PATH");
    assert_int_equal(nvml_config_parse("library=", &cfg, &e), -EINVAL);
    assert_msg_has(&e, "names no file");
    char *long_spec = malloc(NVML_LIBRARY_MAX + 16);
    memset(long_spec, 'a', NVML_LIBRARY_MAX + 15);
    memcpy(long_spec, "library=", 8);
    long_spec[NVML_LIBRARY_MAX + 15] = '\0';
    assert_int_equal(nvml_config_parse(long_spec, &cfg, &e), -EINVAL);
    assert_msg_has(&e, "longer than");
    free(long_spec);
    assert_int_equal(nvml_config_parse("", NULL, &e), -EINVAL);

    struct device *d = (struct device *)&d;
    assert_int_equal(device_open("nvml:flavour=1", &d, &e), -EINVAL);
    assert_null(d);
    assert_int_equal(nvml_open(NULL, &d, &e), -EINVAL);
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(nvml_open(&cfg, &d, &e), -EINVAL);
    assert_msg_has(&e, "no library named");
}

static void missing_driver_is_named(void **state)
{
    (void)state;
    struct device *d = (struct device *)&d;
    struct err e;
    err_clear(&e);
    assert_int_equal(device_open("nvml:library=/nonexistent/libnvidia-ml.so.1", &d, &e),
                     -ENOSYS);
    assert_null(d);
    assert_msg_has(&e, "nvml: cannot load /nonexistent/libnvidia-ml.so.1");
    assert_msg_has(&e, "No such file");
    assert_msg_has(&e, "--device emulated");
}

static void library_that_is_not_nvml_is_refused(void **state)
{
    (void)state;
    struct device *d = NULL;
    struct err e;
    err_clear(&e);
    assert_int_equal(device_open("nvml:library=libc.so.6", &d, &e), -ENOSYS);
    assert_null(d);
    assert_msg_has(&e, "libc.so.6 lacks nvmlErrorString");
}

static void missing_symbol_is_named(void **state)
{
    (void)state;
    char what[NVML_SPEC_MAX];
    struct device *d = NULL;
    struct err e;
    err_clear(&e);
    snprintf(what, sizeof what, "nvml:library=%s", fake_env("FAKENVML_NOSYM_LIB"));
    assert_int_equal(device_open(what, &d, &e), -ENOSYS);
    assert_null(d);
    assert_msg_has(&e, "lacks nvmlGpuInstanceCreateComputeInstance");
    assert_msg_has(&e, "fakenvml-nosym");
    /* The variant is otherwise whole: the other entry points are there. */
    void *lib = dlopen(fake_env("FAKENVML_NOSYM_LIB"), RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    assert_non_null(dlsym(lib, "nvmlInit_v2"));
    assert_null(dlsym(lib, "nvmlGpuInstanceCreateComputeInstance"));
    dlclose(lib);
}

static void init_failure_is_mapped_and_unloads(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    char what[NVML_SPEC_MAX];
    struct device *d = NULL;
    struct err e;
    err_clear(&e);
    fake_load(f, "model=H100-80GB,fail=nvmlInit_v2:DRIVER_NOT_LOADED");
    snprintf(what, sizeof what, "nvml:library=%s", f->path);
    assert_int_equal(device_open(what, &d, &e), -ENOSYS);
    assert_null(d);
    assert_msg_has(&e, "nvml: NVML_ERROR_DRIVER_NOT_LOADED: nvmlInit_v2");
    assert_msg_has(&e, "Driver Not Loaded");
    assert_int_equal(f->inits(), 0);

    fake_load(f, "model=H100-80GB,fail=nvmlInit_v2:NO_PERMISSION");
    assert_int_equal(device_open(what, &d, &e), -EPERM);
    assert_msg_has(&e, "Insufficient Permissions");
    fake_detach(f);
}

static void open_and_close_pair_init_and_shutdown(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *a = fake_open(f, "");
    assert_false(a->modelled_time);
    assert_int_equal(f->inits(), 1);
    char what[NVML_SPEC_MAX];
    struct device *b = NULL;
    snprintf(what, sizeof what, "nvml:library=%s", f->path);
    assert_int_equal(device_open(what, &b, NULL), 0);
    assert_int_equal(f->inits(), 2);
    device_close(a);
    assert_int_equal(f->inits(), 1);
    device_close(b);
    assert_int_equal(f->inits(), 0);
    assert_int_equal(f->calls("nvmlShutdown"), 2);
    fake_detach(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_parses_library_and_refuses_the_rest),
        cmocka_unit_test(missing_driver_is_named),
        cmocka_unit_test(library_that_is_not_nvml_is_refused),
        cmocka_unit_test(missing_symbol_is_named),
        cmocka_unit_test(init_failure_is_mapped_and_unloads),
        cmocka_unit_test(open_and_close_pair_init_and_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
