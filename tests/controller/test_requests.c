/* No slice without a request: a pod's gpuslice.dev/slices annotation is
 * checked against its containers' gpuslice.dev/accelerator-memory requests
 * (as the webhook rewrote them) before anything is placed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/pod_slices.h"
#include "fixture.h"

static const char *const one_h100[] = {"H100-80GB"};

static int setup(void **state)
{
    struct world *w = world_new();
    world_add_node(w, "node-a", one_h100, 1);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    return 0;
}

/* A pod with the managed label, the annotation, container "main" asking
 * gib GiB of accelerator memory (0: nothing), gated by gpuslice or not. */
static void add_pod(struct world *w, const char *name, const char *annotation, unsigned gib,
                    bool gated)
{
    static const char *const main_only[] = {"main"};
    world_add_annotated_pod(w, name, annotation, main_only, &gib, 1, gated);
    world_settle(w);
}

static bool still_gated(struct world *w, const char *name)
{
    json_t *p = world_get(w, w->pods, w->ns, name);
    bool g = pod_gated(p, GPUSLICE_GATE);
    json_decref(p);
    return g;
}

static size_t slice_count(struct world *w)
{
    json_t *items = world_slices(w);
    size_t n = json_array_size(items);
    json_decref(items);
    return n;
}

/* Refused: no slice, still gated, a Warning whose message has `why`. */
static void assert_refused(struct world *w, const char *name, const char *why)
{
    char msg[512] = "";
    assert_int_equal(world_events(w, name, "SliceNotRequested", msg, sizeof msg), 1);
    if (!strstr(msg, why))
        fail_msg("the Warning says \"%s\", not \"%s\"", msg, why);
    assert_true(still_gated(w, name));
    assert_int_equal(slice_count(w), 0);
}

#define ONE_10GB "[{\"container\":\"main\",\"profile\":\"1g.10gb\",\"count\":1}]"

static void a_request_backs_its_slice(void **state)
{
    struct world *w = *state;
    add_pod(w, "ok", ONE_10GB, 10, true);
    assert_int_equal(world_events(w, "ok", "SliceNotRequested", NULL, 0), 0);
    assert_int_equal(slice_count(w), 1);
}

static void a_container_the_pod_lacks_gets_nothing(void **state)
{
    struct world *w = *state;
    add_pod(w, "ghost", "[{\"container\":\"sidecar\",\"profile\":\"1g.10gb\",\"count\":1}]",
            10, true);
    assert_refused(w, "ghost", "names container \"sidecar\", which the pod does not have");
    add_pod(w, "ghost-ts", "[{\"container\":\"sidecar\",\"sharing\":\"timeslice\"}]", 0, true);
    assert_refused(w, "ghost-ts", "names container \"sidecar\", which the pod does not have");
}

static void more_than_requested_gets_nothing(void **state)
{
    struct world *w = *state;
    add_pod(w, "greedy", "[{\"container\":\"main\",\"profile\":\"3g.40gb\",\"count\":1}]", 10,
            true);
    assert_refused(w, "greedy", "asks for 40 GiB of slices, more than its "
                                "gpuslice.dev/accelerator-memory request (10)");
    add_pod(w, "by-memory", "[{\"container\":\"main\",\"memoryGiB\":20,\"count\":1}]", 10, true);
    assert_int_equal(world_events(w, "by-memory", "SliceNotRequested", NULL, 0), 1);
    add_pod(w, "mps", "[{\"container\":\"main\",\"sharing\":\"mps\",\"memoryGiB\":20}]", 8, true);
    assert_refused(w, "mps", "asks for 20 GiB of slices, more than its "
                             "gpuslice.dev/accelerator-memory request (8)");
}

static void no_request_at_all_gets_nothing(void **state)
{
    struct world *w = *state;
    add_pod(w, "free-rider", ONE_10GB, 0, true);
    assert_refused(w, "free-rider", "container \"main\" requests no "
                                    "gpuslice.dev/accelerator-memory");
}

/* Without gpuslice's gate the pod is none of its business: no slice, no
 * Event. */
static void an_ungated_pod_is_left_alone(void **state)
{
    struct world *w = *state;
    add_pod(w, "elsewhere", ONE_10GB, 0, false);
    assert_int_equal(world_events(w, "elsewhere", "SliceNotRequested", NULL, 0), 0);
    assert_int_equal(slice_count(w), 0);
}

/* A pod that asks to share a GPU while no GPU shares that way: backed by its
 * request, it is not refused, nor placed as MIG slices; it stays gated and
 * says why, once. */
static void assert_waits_for_sharing(struct world *w, const char *name, const char *why)
{
    char msg[512] = "";
    assert_int_equal(world_events(w, name, "SliceNotRequested", NULL, 0), 0);
    assert_int_equal(world_events(w, name, "NoSharingGPU", msg, sizeof msg), 1);
    assert_string_equal(msg, why);
    world_assert_placed(w, name, "False", "NoSharingGPU");
    assert_true(still_gated(w, name));
    assert_int_equal(slice_count(w), 0);
    world_advance(w, 60 * NS_PER_SEC);
    assert_int_equal(world_events(w, name, "NoSharingGPU", NULL, 0), 1);
}

static void a_shared_gpu_waits_for_a_gpu_that_shares(void **state)
{
    struct world *w = *state;
    add_pod(w, "mps", "[{\"container\":\"main\",\"sharing\":\"mps\",\"memoryGiB\":8,"
                      "\"smPercent\":30}]", 8, true);
    assert_waits_for_sharing(w, "mps", "no GPU in mode mps (MIG disabled) in the cluster (GPU "
                                       "modes: mig); set a GPU's mode to mps");
    /* A time-sliced GPU pins no memory: no request backs it, none needed. */
    add_pod(w, "ts", "[{\"container\":\"main\",\"sharing\":\"timeslice\"}]", 0, true);
    assert_waits_for_sharing(w, "ts", "no GPU in mode timeslice (MIG disabled) in the cluster "
                                      "(GPU modes: mig); set a GPU's mode to timeslice");
}

/* The GPU in the mode it waits for comes after the pod (an agent applying
 * its GPUNode's mode): the pod is woken and placed there, without another
 * change of its own. */
static void a_waiting_share_is_placed_when_a_gpu_shares(void **state)
{
    struct world *w = *state;
    add_pod(w, "ts", "[{\"container\":\"main\",\"sharing\":\"timeslice\"}]", 0, true);
    world_assert_placed(w, "ts", "False", "NoSharingGPU");
    static const char *const modes[] = {"timeslice"};
    world_add_mixed_node(w, "node-s", modes, 1);
    world_advance(w, NS_PER_SEC);
    assert_int_equal(slice_count(w), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_request_backs_its_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(a_container_the_pod_lacks_gets_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(more_than_requested_gets_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(no_request_at_all_gets_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(an_ungated_pod_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(a_shared_gpu_waits_for_a_gpu_that_shares, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_waiting_share_is_placed_when_a_gpu_shares, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
