/* Tests for the MPS daemons behind device.h: the emulated backend's model
 * (started once, found alive, dead after a fault and started again,
 * stopped; refused with MIG enabled; the clients' pinned-memory accounting
 * against the GPU's memory less the server's overhead, and a client over
 * its own limit), the control program used instead once device_set_mps
 * names one (tests/device/fake-mps-control, FAKE_MPS_CONTROL), and the
 * client environment under the device's root. */
#include "helpers.h"

#include <errno.h>

#include "../common/tmpdir.h"

/* The UUID of GPU i of d. */
static void uuid_of(struct device *d, unsigned i, char out[DEVICE_UUID_MAX])
{
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, NULL), 0);
    snprintf(out, DEVICE_UUID_MAX, "%s", inv->gpus[i].uuid);
    free(inv);
}

static bool alive(struct device *d, const char *gpu)
{
    bool yes = true;
    assert_int_equal(device_mps_alive(d, gpu, &yes, NULL), 0);
    return yes;
}

static void emulated_daemon_lives_dies_and_restarts(void **state)
{
    (void)state;
    struct device *d = open_spec("other=NVIDIA L4,count=2");
    char gpu[DEVICE_UUID_MAX], other[DEVICE_UUID_MAX];
    uuid_of(d, 0, gpu);
    uuid_of(d, 1, other);
    bool started = false;
    assert_false(alive(d, gpu));
    assert_int_equal(device_mps_ensure(d, gpu, &started, NULL), 0);
    assert_true(started);
    assert_int_equal(device_mps_ensure(d, gpu, &started, NULL), 0);
    assert_false(started); /* one daemon, however often it is asked for */
    assert_true(alive(d, gpu));
    assert_false(alive(d, other)); /* each GPU its own */
    assert_int_equal(emulated_mps_kill(d, gpu, NULL), 0);
    assert_false(alive(d, gpu));
    assert_int_equal(device_mps_ensure(d, gpu, &started, NULL), 0);
    assert_true(started);
    assert_int_equal(emulated_mps_starts(d, gpu), 2);
    assert_int_equal(device_mps_stop(d, gpu, NULL), 0);
    assert_false(alive(d, gpu));
    assert_int_equal(device_mps_stop(d, gpu, NULL), 0); /* none runs: fine */
    struct err e;
    assert_int_equal(emulated_mps_kill(d, gpu, &e), -ENOENT);
    device_close(d);
}

static void emulated_daemon_refused_with_mig_or_no_gpu(void **state)
{
    (void)state;
    struct device *d = open_spec("model=A100-80GB,mig=on");
    char gpu[DEVICE_UUID_MAX];
    uuid_of(d, 0, gpu);
    struct err e;
    err_clear(&e);
    assert_int_equal(device_mps_ensure(d, gpu, NULL, &e), -ENOTSUP);
    assert_msg_has(&e, "MIG is enabled");
    assert_msg_has(&e, "emulated: ");
    assert_int_equal(device_mps_ensure(d, "GPU-nope", NULL, &e), -ENODEV);
    bool yes;
    assert_int_equal(device_mps_alive(d, "GPU-nope", &yes, &e), -ENODEV);
    device_close(d);
    d = open_spec("model=A100-80GB,mig=off");
    uuid_of(d, 0, gpu);
    assert_int_equal(device_mps_ensure(d, gpu, NULL, &e), 0); /* MIG off: shared by MPS */
    device_close(d);
}

static void emulated_clients_are_held_to_their_limits(void **state)
{
    (void)state;
    /* 24576 MiB less the 512 MiB server: 24064 MiB for the limits. */
    struct device *d = open_spec("other=NVIDIA L4,memory-mib=24576");
    char gpu[DEVICE_UUID_MAX];
    uuid_of(d, 0, gpu);
    uint64_t a, b, c;
    struct err e;
    assert_int_equal(emulated_mps_connect(d, gpu, 1024, &a, &e), -ENOENT); /* no daemon */
    assert_int_equal(device_mps_ensure(d, gpu, NULL, NULL), 0);
    assert_int_equal(emulated_mps_connect(d, gpu, 16384, &a, NULL), 0);
    assert_int_equal(emulated_mps_connect(d, gpu, 8192, &b, &e), -ENOSPC);
    assert_msg_has(&e, "24064 MiB");
    assert_int_equal(emulated_mps_connect(d, gpu, 7680, &b, NULL), 0);
    assert_int_equal(emulated_mps_pin(d, gpu, a, 16000, NULL), 0);
    assert_int_equal(emulated_mps_pin(d, gpu, a, 385, &e), -ENOMEM); /* 16385 > 16384 */
    assert_msg_has(&e, "over its limit of 16384 MiB");
    assert_int_equal(emulated_mps_pin(d, gpu, a, 384, NULL), 0); /* exactly the limit */
    assert_int_equal(emulated_mps_disconnect(d, gpu, b, NULL), 0);
    assert_int_equal(emulated_mps_pin(d, gpu, b, 1, &e), -ENOENT);
    assert_int_equal(emulated_mps_connect(d, gpu, 7680, &c, NULL), 0); /* its room is back */
    assert_true(emulated_mps_connected(d, gpu, a));
    assert_int_equal(emulated_mps_kill(d, gpu, NULL), 0); /* the clients go with it */
    assert_false(emulated_mps_connected(d, gpu, a));
    assert_int_equal(device_mps_ensure(d, gpu, NULL, NULL), 0);
    assert_int_equal(emulated_mps_pin(d, gpu, a, 1, &e), -ENOENT);
    /* The restarted daemon's first client takes a's slot: a's handle,
     * from the dead daemon, still addresses nobody. */
    assert_int_equal(emulated_mps_connect(d, gpu, 1024, &b, NULL), 0);
    assert_int_equal((unsigned)b, (unsigned)a);
    assert_false(emulated_mps_connected(d, gpu, a));
    assert_int_equal(emulated_mps_pin(d, gpu, a, 1, &e), -ENOENT);
    assert_msg_has(&e, "of its daemon's run");
    assert_int_equal(emulated_mps_disconnect(d, gpu, a, NULL), -ENOENT);
    assert_true(emulated_mps_connected(d, gpu, b));
    assert_int_equal(emulated_mps_pin(d, gpu, b, 1024, NULL), 0);
    device_close(d);
    d = open_spec("other=NVIDIA L4,memory-mib=24576,mps-overhead-mib=0");
    uuid_of(d, 0, gpu);
    assert_int_equal(device_mps_ensure(d, gpu, NULL, NULL), 0);
    assert_int_equal(emulated_mps_connect(d, gpu, 24576, &a, NULL), 0);
    device_close(d);
}

/* The text of path; the caller frees it. */
static char *text_of(const char *path)
{
    FILE *in = fopen(path, "r");
    char *text = calloc(1, 65536);
    if (in) {
        text[fread(text, 1, 65535, in)] = '\0';
        fclose(in);
    }
    return text;
}

static void a_named_control_program_serves_emulated_gpus(void **state)
{
    (void)state;
    const char *fake = getenv("FAKE_MPS_CONTROL");
    assert_non_null(fake);
    char root[TMPDIR_MAX], record[TMPDIR_MAX + 16], gpu[DEVICE_UUID_MAX];
    assert_int_equal(tmpdir_make(root, "mpsdev"), 0);
    snprintf(record, sizeof record, "%s/record", root);
    setenv("FAKE_MPS_LOG", record, 1);
    struct device *d = open_spec("other=NVIDIA L4");
    uuid_of(d, 0, gpu);
    assert_int_equal(device_set_mps(d, root, fake, NULL), 0);
    bool started = false;
    assert_int_equal(device_mps_ensure(d, gpu, &started, NULL), 0);
    assert_true(started);
    assert_int_equal(emulated_mps_starts(d, gpu), 0); /* the program's daemon, not the model's */
    assert_true(alive(d, gpu));
    assert_int_equal(device_mps_stop(d, gpu, NULL), 0);
    char *text = text_of(record);
    char want[4 * TMPDIR_MAX + 4 * DEVICE_UUID_MAX];
    snprintf(want, sizeof want, "call args=-d visible=%s pipe=%s/%s/pipe logdir=%s/%s/log", gpu,
             root, gpu, root, gpu);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "command quit"));
    free(text);
    struct mps_client_env env;
    assert_int_equal(device_mps_client_env(d, gpu, 4, 25, &env, NULL), 0);
    snprintf(want, sizeof want, "%s/%s/pipe", root, gpu);
    assert_string_equal(env.vars[2].value, want);
    assert_string_equal(env.vars[4].value, "0=4G");
    struct err e;
    char longer[MPS_PATH_MAX + 8];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(device_set_mps(d, longer, NULL, &e), -EINVAL);
    device_close(d);
    tmpdir_remove(root);
}

static void the_default_root_is_the_agents(void **state)
{
    (void)state;
    struct device *d = open_spec("other=NVIDIA L4");
    struct mps_client_env env;
    assert_int_equal(device_mps_client_env(d, "GPU-1", 1, 100, &env, NULL), 0);
    assert_string_equal(env.vars[2].value, MPS_ROOT_DEFAULT "/GPU-1/pipe");
    device_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(emulated_daemon_lives_dies_and_restarts),
        cmocka_unit_test(emulated_daemon_refused_with_mig_or_no_gpu),
        cmocka_unit_test(emulated_clients_are_held_to_their_limits),
        cmocka_unit_test(a_named_control_program_serves_emulated_gpus),
        cmocka_unit_test(the_default_root_is_the_agents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
