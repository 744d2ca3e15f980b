/* Tests for the emulated backend's configuration: the defaults, the spec
 * string (good specs fill every field, bad ones name the item and why), and
 * emulated_open's checks on a config built by hand. */
#include "helpers.h"

static struct emulated_config parsed(const char *spec)
{
    struct emulated_config cfg;
    struct err e;
    err_clear(&e);
    if (emulated_config_parse(spec, &cfg, &e) != 0)
        fail_msg("parse \"%s\": %s", spec, e.msg);
    return cfg;
}

static void defaults_are_one_h100_and_the_documented_latencies(void **state)
{
    (void)state;
    struct emulated_config def;
    emulated_config_default(&def);
    assert_int_equal(def.n_gpus, 0);
    assert_int_equal(def.seed, 1);
    assert_int_equal(def.latency.create_ns, UINT64_C(900000000));
    assert_int_equal(def.latency.destroy_ns, UINT64_C(400000000));
    assert_int_equal(def.latency.hang_ns, UINT64_C(30000000000));
    const char *specs[] = {NULL, ""};
    for (int i = 0; i < 2; i++) {
        struct emulated_config cfg = parsed(specs[i]);
        assert_int_equal(cfg.n_gpus, 1);
        assert_string_equal(cfg.gpus[0].model->name, "H100-80GB");
        assert_string_equal(cfg.gpus[0].product, "NVIDIA H100 80GB HBM3");
        assert_int_equal(cfg.gpus[0].mig_current, DEVICE_MIG_ENABLED);
        assert_memory_equal(&cfg.latency, &def.latency, sizeof def.latency);
        assert_int_equal(cfg.n_faults, 0);
        assert_true(cfg.fail_p == 0);
        assert_string_equal(cfg.boot_id, "");
    }
}

static void the_documented_example_parses(void **state)
{
    (void)state;
    struct emulated_config cfg =
        parsed("model=H100-80GB,count=2,mig=on,fail-create=3:ci,fail-p=0.1,seed=7,create-ms=900");
    assert_int_equal(cfg.n_gpus, 2);
    assert_string_equal(cfg.gpus[1].model->name, "H100-80GB");
    assert_int_equal(cfg.gpus[1].mig_current, DEVICE_MIG_ENABLED);
    assert_int_equal(cfg.n_faults, 1);
    assert_int_equal(cfg.faults[0].op, EMULATED_CREATE);
    assert_int_equal(cfg.faults[0].action, EMULATED_FAIL);
    assert_int_equal(cfg.faults[0].step, EMULATED_AT_CI);
    assert_int_equal(cfg.faults[0].nth, 3);
    assert_true(cfg.fail_p == 0.1);
    assert_int_equal(cfg.seed, 7);
    assert_int_equal(cfg.latency.create_ns, UINT64_C(900000000));
}

static void groups_mix_models_modes_and_others(void **state)
{
    (void)state;
    struct emulated_config cfg = parsed("model=A100-40GB,mig=off,model=NVIDIA H100 80GB HBM3,"
                                        "count=3,mig=pending,other=NVIDIA L4,count=2,"
                                        "memory-mib=23034");
    assert_int_equal(cfg.n_gpus, 6);
    assert_string_equal(cfg.gpus[0].model->name, "A100-40GB");
    assert_int_equal(cfg.gpus[0].mig_current, DEVICE_MIG_DISABLED);
    for (unsigned i = 1; i < 4; i++) {
        assert_string_equal(cfg.gpus[i].model->name, "H100-80GB");
        assert_int_equal(cfg.gpus[i].mig_current, DEVICE_MIG_DISABLED);
        assert_int_equal(cfg.gpus[i].mig_pending, DEVICE_MIG_ENABLED);
    }
    for (unsigned i = 4; i < 6; i++) {
        assert_null(cfg.gpus[i].model);
        assert_string_equal(cfg.gpus[i].product, "NVIDIA L4");
        assert_int_equal(cfg.gpus[i].memory_mib, 23034);
        assert_int_equal(cfg.gpus[i].mig_current, DEVICE_MIG_UNSUPPORTED);
    }
    /* count may also shrink a group it grew. */
    cfg = parsed("model=A30-24GB,count=4,count=2");
    assert_int_equal(cfg.n_gpus, 2);
}

static void latencies_faults_and_boot_id_parse(void **state)
{
    (void)state;
    struct emulated_config cfg = parsed("latency=none,create-ms=2.5,hang-ms=100,boot-id=abc-1,"
                                        "hang-create=2:done,fail-destroy=4:gi,hang-destroy=1,"
                                        "fail-create=9,seed=18446744073709551615");
    assert_int_equal(cfg.latency.create_ns, UINT64_C(2500000));
    assert_int_equal(cfg.latency.destroy_ns, 0);
    assert_int_equal(cfg.latency.query_ns, 0);
    assert_int_equal(cfg.latency.discover_ns, 0);
    assert_int_equal(cfg.latency.hang_ns, UINT64_C(100000000));
    assert_string_equal(cfg.boot_id, "abc-1");
    assert_int_equal(cfg.seed, UINT64_MAX);
    assert_int_equal(cfg.n_faults, 4);
    const struct emulated_fault want[] = {
        {EMULATED_CREATE, EMULATED_HANG, EMULATED_AT_DONE, 2},
        {EMULATED_DESTROY, EMULATED_FAIL, EMULATED_AT_GI, 4},
        {EMULATED_DESTROY, EMULATED_HANG, EMULATED_AT_CI, 1},
        {EMULATED_CREATE, EMULATED_FAIL, EMULATED_AT_GI, 9},
    };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cfg.faults[i].op, want[i].op);
        assert_int_equal(cfg.faults[i].action, want[i].action);
        assert_int_equal(cfg.faults[i].step, want[i].step);
        assert_int_equal(cfg.faults[i].nth, want[i].nth);
    }
    cfg = parsed("latency=none,latency=default,query-ms=1,discover-ms=0,destroy-ms=3");
    assert_int_equal(cfg.latency.create_ns, UINT64_C(900000000));
    assert_int_equal(cfg.latency.query_ns, UINT64_C(1000000));
    assert_int_equal(cfg.latency.discover_ns, 0);
    assert_int_equal(cfg.latency.destroy_ns, UINT64_C(3000000));
}

static void bad_specs_name_the_item_and_why(void **state)
{
    (void)state;
    char long_item[400], long_spec[EMULATED_SPEC_MAX + 10], many_gpus[400], many_faults[600];
    snprintf(long_item, sizeof long_item, "boot-id=%0300d", 1);
    memset(long_spec, 'x', sizeof long_spec - 1);
    long_spec[sizeof long_spec - 1] = '\0';
    many_gpus[0] = many_faults[0] = '\0';
    for (int i = 0; i < 17; i++) {
        strcat(many_gpus, i ? ",model=A30-24GB" : "model=A30-24GB");
        strcat(many_faults, i ? ",fail-create=1" : "fail-create=1");
    }
    const struct {
        const char *spec;
        const char *says;
    } bad[] = {
        {"flavour=1", "item 1 \"flavour=1\": unknown key \"flavour\""},
        {"model=X100", "unknown model \"X100\" (catalogued: A30-24GB"},
        {"other=NVIDIA H100 80GB HBM3", "is catalogued: use model="},
        {"other=", "empty product name"},
        {"count=2", "no model= or other= before it"},
        {"model=H100-80GB,count=0", "item 2 \"count=0\": 0 is out of range 1..16"},
        {"model=H100-80GB,count=17", "out of range"},
        {"model=H100-80GB,count=two", "\"two\" is not a whole number"},
        {"model=H100-80GB,count=", "empty number"},
        {"model=H100-80GB,count=-1", "not a whole number"},
        {"model=H100-80GB,count=10,model=A30-24GB,count=7", "10 GPUs before these"},
        {"model=H100-80GB,mig=maybe", "\"maybe\" is not on, off or pending"},
        {"other=NVIDIA L4,mig=on", "applies to the last model= GPUs"},
        {"model=H100-80GB,memory-mib=1", "applies to the last other= GPUs"},
        {"other=NVIDIA L4,memory-mib=0", "out of range"},
        {"seed=abc", "not a whole number"},
        {"seed=18446744073709551616", "is too large"},
        {"create-ms=-1", "-1 is out of range"},
        {"create-ms=nan", "not a number"},
        {"create-ms=", "not a number"},
        {"create-ms= 5", "not a number"},
        {"destroy-ms=5ms", "not a number"},
        {"hang-ms=1e12", "out of range"},
        {"latency=fast", "\"fast\" is not none or default"},
        {"fail-p=1.5", "out of range 0..1"},
        {"fail-create=0", "out of range 1.."},
        {"fail-create=x:ci", "not a whole number"},
        {"fail-create=3:xx", "step \"xx\" is not gi or ci"},
        {"fail-create=3:done", "step \"done\" is not gi or ci"},
        {"hang-create=3:zz", "is not gi, ci or done"},
        {"fail-destroy=1234567890123456789012345678901234567890:ci", "not N or N:STEP"},
        {"boot-id=", "a boot id has 1 to 39 characters"},
        {"boot-id=a\tb", "no spaces or control characters"},
        {"model=H100-80GB,,count=2", "item 2 \"\": empty item"},
        {"model=H100-80GB,", "ends with a comma"},
        {",", "empty item"},
        {"model", "item 1 \"model\": not key=value"},
        {long_item, "longer than 255 characters"},
        {long_spec, "longer than 4096 characters"},
        {many_gpus, "more than 16 GPUs"},
        {many_faults, "more than 16 fault rules"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct emulated_config cfg;
        struct err e;
        err_clear(&e);
        if (emulated_config_parse(bad[i].spec, &cfg, &e) != -EINVAL)
            fail_msg("spec %.60s was accepted", bad[i].spec);
        if (!strstr(e.msg, bad[i].says))
            fail_msg("spec %.60s: message \"%s\" lacks \"%s\"", bad[i].spec, e.msg, bad[i].says);
    }
    assert_int_equal(emulated_config_parse("", NULL, NULL), -EINVAL);
}

static void open_checks_a_hand_made_config(void **state)
{
    (void)state;
    struct emulated_config cfg;
    struct device *d = NULL;
    struct err e;
    emulated_config_default(&cfg);
    assert_int_equal(emulated_open(&cfg, &d, &e), -EINVAL);
    assert_msg_has(&e, "0 GPUs");
    assert_null(d);

    cfg = parsed("other=NVIDIA L4");
    cfg.gpus[0].mig_current = DEVICE_MIG_ENABLED;
    assert_int_equal(emulated_open(&cfg, &d, &e), -EINVAL);
    assert_msg_has(&e, "not catalogued and cannot have MIG");

    cfg = parsed("");
    cfg.gpus[0].product[0] = '\0';
    assert_int_equal(emulated_open(&cfg, &d, &e), -EINVAL);
    assert_msg_has(&e, "no product name");

    cfg = parsed("");
    cfg.fail_p = 2;
    assert_int_equal(emulated_open(&cfg, &d, &e), -EINVAL);

    assert_int_equal(emulated_open(NULL, &d, &e), -EINVAL);
    assert_int_equal(emulated_open(&cfg, NULL, &e), -EINVAL);

    cfg = parsed("model=H200-141GB,count=16,boot-id=b1");
    assert_int_equal(emulated_open(&cfg, &d, &e), 0);
    assert_true(d->modelled_time);
    char boot[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(d, boot, &e), 0);
    assert_string_equal(boot, "b1");
    device_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_one_h100_and_the_documented_latencies),
        cmocka_unit_test(the_documented_example_parses),
        cmocka_unit_test(groups_mix_models_modes_and_others),
        cmocka_unit_test(latencies_faults_and_boot_id_parse),
        cmocka_unit_test(bad_specs_name_the_item_and_why),
        cmocka_unit_test(open_checks_a_hand_made_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
