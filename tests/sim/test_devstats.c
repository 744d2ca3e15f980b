/* The counting device: operations pass through unchanged (errors read as
 * the backend's own) and are counted on the GPU they name, by index or
 * UUID, with the device time they reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/devstats.h"

static struct device *counted(const char *spec)
{
    struct device *inner = NULL, *d = NULL;
    assert_int_equal(device_open(spec, &inner, NULL), 0);
    assert_int_equal(devstats_wrap(inner, &d, NULL), 0);
    assert_true(d->modelled_time);
    return d;
}

static void operations_are_counted_per_gpu(void **state)
{
    (void)state;
    struct device *d = counted("emulated:model=H100-80GB,count=2,create-ms=10,destroy-ms=5");
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, NULL), 0);
    struct device_slice_ref by_index = {.gpu_index = 1, .profile = "1g.10gb", .start = 0};
    struct device_slice_ref by_uuid = {.gpu_uuid = inv->gpus[1].uuid, .profile = "1g.10gb",
                                       .start = 0};
    struct err e;
    assert_int_equal(device_create_slice(d, &by_index, NULL, NULL, &e), 0);
    assert_int_equal(device_create_slice(d, &by_uuid, NULL, NULL, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "emulated: "));
    assert_null(strstr(e.msg, "emulated: emulated"));
    assert_int_equal(device_destroy_slice(d, &by_uuid, NULL, &e), 0);
    struct device_slices *list = malloc(sizeof *list);
    assert_int_equal(device_list_slices(d, list, NULL, NULL), 0);
    assert_int_equal(list->n, 0);
    char boot[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(d, boot, NULL), 0);

    struct devstats_gpu st;
    assert_int_equal(devstats_get(d, 1, &st, &e), 0);
    assert_int_equal(st.creates, 2);
    assert_int_equal(st.destroys, 1);
    assert_int_equal(st.failed, 1);
    assert_true(st.busy_ns >= 15 * 1000000ull);
    assert_int_equal(devstats_get(d, 0, &st, &e), 0);
    assert_int_equal(st.creates + st.destroys, 0);
    assert_int_equal(devstats_get(d, 2, &st, &e), -ENODEV);
    free(list);
    free(inv);
    device_close(d);
}

static int64_t virtual_now(void *ctx)
{
    return *(int64_t *)ctx;
}

/* The clock reaches the backend through the counting layer, so a GPU still
 * takes one change at a time: a second create on a busy GPU reports the
 * wait for the first. Without it both would report their own 10 ms. */
static void the_clock_reaches_the_backend(void **state)
{
    (void)state;
    struct device *d = counted("emulated:model=H100-80GB,count=1,create-ms=10");
    int64_t now = 1000 * INT64_C(1000000000);
    device_set_clock(d, virtual_now, &now);
    uint64_t first = 0, second = 0;
    struct device_slice_ref a = {.gpu_index = 0, .profile = "1g.10gb", .start = 0};
    struct device_slice_ref b = {.gpu_index = 0, .profile = "1g.10gb", .start = 1};
    assert_int_equal(device_create_slice(d, &a, NULL, &first, NULL), 0);
    assert_int_equal(device_create_slice(d, &b, NULL, &second, NULL), 0);
    assert_int_equal(first, 10 * UINT64_C(1000000));
    assert_int_equal(second, 20 * UINT64_C(1000000));
    device_close(d);
}

/* issue 19: a create that hung after its GI, or after the whole slice,
 * made something all the same, and a destroy that hung at the end took the
 * slice off: the counts of what is on the GPU follow the GPU, not the
 * calls' results. A refusal changes nothing and counts nothing. */
static void hung_calls_count_what_they_did(void **state)
{
    (void)state;
    struct device *d = counted("emulated:model=H100-80GB,latency=none,hang-create=1:ci,"
                               "hang-create=2:done,hang-create=3:gi,hang-destroy=3:done");
    struct device_slice_ref at0 = {.gpu_index = 0, .profile = "1g.10gb", .start = 0};
    struct device_slice_ref at1 = {.gpu_index = 0, .profile = "1g.10gb", .start = 1};
    struct device_slice_ref at2 = {.gpu_index = 0, .profile = "1g.10gb", .start = 2};
    assert_int_equal(device_create_slice(d, &at0, NULL, NULL, NULL), -ETIMEDOUT); /* a GI */
    assert_int_equal(device_create_slice(d, &at1, NULL, NULL, NULL), -ETIMEDOUT); /* a slice */
    assert_int_equal(device_create_slice(d, &at2, NULL, NULL, NULL), -ETIMEDOUT); /* nothing */
    assert_int_equal(device_create_slice(d, &at1, NULL, NULL, NULL), -ENOSPC);    /* refused */
    assert_int_equal(device_create_slice(d, &at2, NULL, NULL, NULL), 0);
    struct devstats_gpu st;
    assert_int_equal(devstats_get(d, 0, &st, NULL), 0);
    assert_int_equal(st.creates, 5);
    assert_int_equal(st.failed, 4);
    assert_int_equal(st.made, 3);
    assert_int_equal(st.made_by_failed, 2);

    assert_int_equal(device_destroy_slice(d, &at0, NULL, NULL), 0);
    assert_int_equal(device_destroy_slice(d, &at1, NULL, NULL), 0);
    assert_int_equal(device_destroy_slice(d, &at2, NULL, NULL), -ETIMEDOUT); /* gone all the same */
    assert_int_equal(device_destroy_slice(d, &at2, NULL, NULL), -ENOENT);
    assert_int_equal(devstats_get(d, 0, &st, NULL), 0);
    assert_int_equal(st.destroys, 4);
    assert_int_equal(st.removed, 3);
    device_close(d);
}

/* The emulated backend's MPS daemons stay its own behind the counting
 * layer: no control program is run for them. */
static void the_mps_daemons_are_the_backends(void **state)
{
    (void)state;
    struct device *d = counted("emulated:other=NVIDIA L4");
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, NULL), 0);
    bool started = false, alive = false;
    assert_int_equal(device_mps_ensure(d, inv->gpus[0].uuid, &started, NULL), 0);
    assert_true(started);
    assert_int_equal(device_mps_alive(d, inv->gpus[0].uuid, &alive, NULL), 0);
    assert_true(alive);
    assert_int_equal(device_mps_stop(d, inv->gpus[0].uuid, NULL), 0);
    assert_int_equal(device_mps_alive(d, inv->gpus[0].uuid, &alive, NULL), 0);
    assert_false(alive);
    free(inv);
    device_close(d);
}

static void only_counting_devices_answer(void **state)
{
    (void)state;
    struct device *plain = NULL;
    assert_int_equal(device_open("emulated", &plain, NULL), 0);
    struct devstats_gpu st;
    struct err e;
    assert_int_equal(devstats_get(plain, 0, &st, &e), -EINVAL);
    assert_int_equal(devstats_get(NULL, 0, &st, &e), -EINVAL);
    device_close(plain);
}

/* The memory slices held: per GPU and on a gauge several devices share,
 * up with each create, down with each destroy, refusals leaving it. */
static void memory_held_is_gauged(void **state)
{
    (void)state;
    _Atomic int64_t gauge = 0;
    struct device *a = counted("emulated:model=A100-40GB"), *b = counted("emulated:model=H100-80GB");
    assert_int_equal(devstats_share_memory(a, &gauge, NULL), 0);
    assert_int_equal(devstats_share_memory(b, &gauge, NULL), 0);
    struct device_slice_ref big = {.gpu_index = 0, .profile = "3g.20gb", .start = 4};
    struct device_slice_ref small = {.gpu_index = 0, .profile = "1g.10gb", .start = 0};
    assert_int_equal(device_create_slice(a, &big, NULL, NULL, NULL), 0);
    assert_int_equal(device_create_slice(a, &big, NULL, NULL, NULL), -ENOSPC);
    assert_int_equal(device_create_slice(b, &small, NULL, NULL, NULL), 0);
    assert_int_equal(atomic_load(&gauge), 4 + 1);
    struct devstats_gpu st;
    assert_int_equal(devstats_get(a, 0, &st, NULL), 0);
    assert_int_equal(st.memory_slices, 4);
    assert_int_equal(device_destroy_slice(a, &big, NULL, NULL), 0);
    assert_int_equal(atomic_load(&gauge), 1);
    struct device *plain = NULL;
    assert_int_equal(device_open("emulated", &plain, NULL), 0);
    assert_int_equal(devstats_share_memory(plain, &gauge, NULL), -EINVAL);
    device_close(plain);
    device_close(a);
    device_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operations_are_counted_per_gpu),
        cmocka_unit_test(the_clock_reaches_the_backend),
        cmocka_unit_test(hung_calls_count_what_they_did),
        cmocka_unit_test(the_mps_daemons_are_the_backends),
        cmocka_unit_test(only_counting_devices_answer),
        cmocka_unit_test(memory_held_is_gauged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
