/*
 * The controller places shares of whole GPUs (issue 15): an MPS share on
 * a GPU in mode mps with its SM percent resolved, time slices up to a
 * GPU's replicas, a pod of MIG slices and a share in different containers
 * on one node, and a pod that finds no room waits with the reason; a GPU
 * in mode whole takes nothing. Never more than a GPU has: not when every
 * decision comes before the cache shows any GPUSlice (the reservations
 * alone hold the room), nor when a second replica takes over from one
 * whose creates the cache does not show yet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpuslice.h"
#include "api/pod_slices.h"
#include "fixture.h"

static const char *const main_only[] = {"main"};

static int setup(void **state)
{
    struct world *w = world_new();
    static const char *const modes[] = {"mig", "mps", "timeslice", "whole"};
    world_add_mixed_node(w, "node-a", modes, 4);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    return 0;
}

static void add_pod(struct world *w, const char *name, const char *annotation, unsigned gib)
{
    world_add_annotated_pod(w, name, annotation, main_only, &gib, 1, true);
    world_settle(w);
}

/* The GPUSlice's spec (fails when there is none); the object into *keep. */
static struct gpuslice_view slice(struct world *w, const char *name, json_t **keep)
{
    struct gpuslice_view v;
    *keep = world_get(w, w->slices, w->ns, name);
    if (!*keep || gpuslice_read(*keep, &v, NULL) < 0)
        fail_msg("no GPUSlice %s", name);
    return v;
}

static void an_mps_share_goes_to_the_mps_gpu_with_its_sm_share_resolved(void **state)
{
    struct world *w = *state;
    add_pod(w, "infer", "[{\"container\":\"main\",\"sharing\":\"mps\",\"memoryGiB\":20}]", 20);
    json_t *obj;
    struct gpuslice_view v = slice(w, "infer-main-0", &obj);
    assert_int_equal(v.spec.sharing, POD_SHARING_MPS);
    assert_string_equal(v.spec.gpu_uuid, "GPU-node-a-1");
    assert_int_equal(v.spec.memory_gib, 20);
    /* 81559 MiB less the server's 512: 79 GiB to pin; 20 of 79 is 25%. */
    assert_int_equal(v.spec.sm_percent, 25);
    assert_null(v.spec.profile);
    json_decref(obj);
    char msg[512];
    assert_int_equal(world_events(w, "infer", "SlicesPlaced", msg, sizeof msg), 1);
    assert_string_equal(msg, "placed on node-a: an MPS share of 20 GiB and 25% of the SMs "
                             "(main) on GPU 1");
    add_pod(w, "given", "[{\"container\":\"main\",\"sharing\":\"mps\",\"memoryGiB\":50,"
                        "\"smPercent\":60}]", 50);
    v = slice(w, "given-main-0", &obj);
    assert_int_equal(v.spec.sm_percent, 60);
    json_decref(obj);
    /* 70 GiB and 85% held: 10 GiB more fits in memory, 20% of the SMs not. */
    add_pod(w, "greedy", "[{\"container\":\"main\",\"sharing\":\"mps\",\"memoryGiB\":9,"
                         "\"smPercent\":20}]", 9);
    world_assert_placed(w, "greedy", "False", "NoPlacement");
    assert_int_equal(world_events(w, "greedy", "NoPlacement", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "no GPU in mode mps with room for 9 GiB and 20% of the SMs: "
                                "1 in another mode, 0 held back, 1 without room"));
    /* The share that leaves frees room: the waiting pod is placed. */
    world_agent_sets(w, "given-main-0", "Deleted", NULL);
    world_settle(w);
    world_pod_phase(w, "given", "Succeeded");
    world_advance(w, 60LL * 1000000000LL);
    world_assert_placed(w, "greedy", "True", "Placed");
}

static void time_slices_fill_a_gpu_up_to_its_replicas(void **state)
{
    struct world *w = *state;
    static const unsigned none = 0;
    const char *ts = "[{\"container\":\"main\",\"sharing\":\"timeslice\"}]";
    world_add_annotated_pod(w, "ts-1", ts, main_only, &none, 1, true);
    world_settle(w);
    world_add_annotated_pod(w, "ts-2", ts, main_only, &none, 1, true);
    world_settle(w);
    world_add_annotated_pod(w, "ts-3", ts, main_only, &none, 1, true);
    world_settle(w);
    assert_int_equal(world_events(w, "ts-1", "SlicesPlaced", NULL, 0), 1);
    assert_int_equal(world_events(w, "ts-2", "SlicesPlaced", NULL, 0), 1);
    world_assert_placed(w, "ts-3", "False", "NoPlacement");
    json_t *obj;
    struct gpuslice_view v = slice(w, "ts-2-main-0", &obj);
    assert_int_equal(v.spec.sharing, POD_SHARING_TIMESLICE);
    assert_string_equal(v.spec.gpu_uuid, "GPU-node-a-2");
    json_decref(obj);
}

static void mig_and_a_share_in_two_containers_go_to_one_node(void **state)
{
    struct world *w = *state;
    static const char *const two[] = {"prep", "serve"};
    static const unsigned gib[] = {10, 8};
    world_add_annotated_pod(w, "both", "[{\"container\":\"prep\",\"profile\":\"1g.10gb\","
                                       "\"count\":1},{\"container\":\"serve\",\"sharing\":"
                                       "\"mps\",\"memoryGiB\":8,\"smPercent\":30}]",
                            two, gib, 2, true);
    world_settle(w);
    assert_int_equal(world_events(w, "both", "SlicesPlaced", NULL, 0), 1);
    json_t *a, *b;
    struct gpuslice_view mig = slice(w, "both-prep-0", &a), mps = slice(w, "both-serve-0", &b);
    assert_string_equal(mig.spec.gpu_uuid, "GPU-node-a-0");
    assert_string_equal(mig.spec.profile, "1g.10gb");
    assert_string_equal(mps.spec.gpu_uuid, "GPU-node-a-1");
    assert_int_equal(mps.spec.sm_percent, 30);
    assert_string_equal(mig.spec.node, mps.spec.node);
    json_decref(a);
    json_decref(b);
}

/* A share the agent fails is retried like a slice, and the Event says
 * which share it was. */
static void a_failed_share_says_which(void **state)
{
    struct world *w = *state;
    add_pod(w, "infer", "[{\"container\":\"main\",\"sharing\":\"mps\",\"memoryGiB\":20}]", 20);
    world_agent_sets(w, "infer-main-0", "Failed", "MPSDaemonFailed");
    world_settle(w);
    char msg[512];
    assert_int_equal(world_events(w, "infer", "SliceFailed", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "an MPS share (20 GiB, 25% of the SMs) of GPU 1 on node-a "
                                "failed (MPSDaemonFailed: "));
}

/* 12 pods of 20 GiB and 12 time-sliced ones at once: 3 shares fit the
 * mps GPU (79 GiB), 2 the timeslice one; the rest wait. */
static void many_shares_at_once_never_overbook_a_gpu(void **state)
{
    struct world *w = *state;
    static const unsigned gib = 20, none = 0;
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%02d", i);
        world_add_annotated_pod(w, name, "[{\"container\":\"main\",\"sharing\":\"mps\","
                                         "\"memoryGiB\":20}]", main_only, &gib, 1, true);
        snprintf(name, sizeof name, "t%02d", i);
        world_add_annotated_pod(w, name, "[{\"container\":\"main\",\"sharing\":"
                                         "\"timeslice\"}]", main_only, &none, 1, true);
    }
    /* Every decision before the cache sees a GPUSlice: only the
     * reservations stand between the pods and one GPU's room. */
    controller_runtime_step(w->rt);
    world_settle(w);
    json_t *items = world_slices(w);
    assert_int_equal(json_array_size(items), 3 + 2);
    json_decref(items);
    world_check_no_overbooked_share(w);
}

/* A replica takes over while the cache lags behind the first one's
 * creates (a lost reply, a held watch): it decides from what the API
 * says, and never gives the room twice. */
static void a_second_replica_over_a_lagging_cache_never_overbooks(void **state)
{
    struct world *w = *state;
    static const unsigned gib = 50;
    const char *big = "[{\"container\":\"main\",\"sharing\":\"mps\",\"memoryGiB\":50}]";
    w->lag.lose_create_replies = 1;
    w->lag.hold_watch = true;
    world_add_annotated_pod(w, "first", big, main_only, &gib, 1, true);
    world_settle(w);
    world_restart_controller(w);
    world_add_annotated_pod(w, "second", big, main_only, &gib, 1, true);
    world_advance(w, 60LL * 1000000000LL);
    world_check_no_overbooked_share(w);
    w->lag.hold_watch = false;
    world_settle(w);
    world_check_no_overbooked_share(w);
    json_t *items = world_slices(w);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            an_mps_share_goes_to_the_mps_gpu_with_its_sm_share_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(time_slices_fill_a_gpu_up_to_its_replicas, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(mig_and_a_share_in_two_containers_go_to_one_node, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_share_says_which, setup, teardown),
        cmocka_unit_test_setup_teardown(many_shares_at_once_never_overbook_a_gpu, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_second_replica_over_a_lagging_cache_never_overbooks,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
