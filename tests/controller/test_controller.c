/* The controller's decisions, driven step by step over the mem store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "fixture.h"
#include "store/informer.h"
#include "util/objkey.h"

static const char *const one_h100[] = {"H100-80GB"};
static const char *const two_h100[] = {"H100-80GB", "H100-80GB"};

static int setup(void **state)
{
    *state = world_new();
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    return 0;
}

static const char *phase(struct world *w, const char *slice)
{
    return world_phase(w, slice, w->scratch, sizeof w->scratch);
}

/* node-a with one H100, pod asking for one slice of profile, placed, and
 * the slice made by the agent (Created): the start most cases here share. */
static void one_slice_created(struct world *w, const char *pod, const char *profile)
{
    world_add_node(w, "node-a", one_h100, 1);
    const char *const want[] = {profile};
    world_add_pod(w, pod, want, 1);
    world_settle(w);
    char slice[64];
    snprintf(slice, sizeof slice, "%s-main-0", pod);
    world_agent_sets(w, slice, "Created", NULL);
}

static bool gated(struct world *w, const char *pod)
{
    json_t *p = world_get(w, w->pods, "team", pod);
    bool g = pod_gated(p, GPUSLICE_GATE);
    json_decref(p);
    return g;
}

/* Asserts the pod's gpuslice.dev/SlicesPlaced condition has that status
 * and reason. */
static void a_pod_goes_through_the_whole_lifecycle(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const want[] = {"3g.40gb"};
    world_add_pod(w, "train", want, 1);
    world_settle(w);

    /* Placed: a GPUSlice in Creating, the finalizer on the pod, an event. */
    json_t *s = world_get(w, w->slices, "team", "train-main-0");
    assert_non_null(s);
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(s, &v, NULL), 0);
    assert_string_equal(v.status.phase, "Creating");
    assert_string_equal(v.spec.node, "node-a");
    assert_string_equal(v.spec.profile, "3g.40gb");
    assert_string_equal(v.spec.gpu_uuid, "GPU-node-a-0");
    assert_string_equal(v.spec.config_map, "train-main");
    json_t *pod = world_get(w, w->pods, "team", "train");
    assert_true(meta_has_finalizer(pod, GPUSLICE_FINALIZER));
    assert_string_equal(v.spec.pod_uid, meta_uid(pod));
    json_decref(pod);
    json_decref(s);
    assert_int_equal(world_events(w, "train", "SlicesPlaced", NULL, 0), 1);
    assert_true(gated(w, "train"));

    /* The agent made it: the pod is pinned and ungated, the slice Ungated. */
    world_agent_sets(w, "train-main-0", "Created", NULL);
    world_settle(w);
    assert_false(gated(w, "train"));
    pod = world_get(w, w->pods, "team", "train");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(pod, "spec"), "nodeSelector"),
                            "kubernetes.io/hostname")),
                        "node-a");
    json_decref(pod);
    assert_string_equal(phase(w, "train-main-0"), "Ungated");

    /* The pod ends: the GPUSlice is deleted (Deleting, no status written);
     * the agent destroys the slice and lets the object go, and the pod's
     * finalizer goes with it. */
    world_pod_phase(w, "train", "Succeeded");
    world_settle(w);
    assert_true(world_released(w, "train-main-0", "Ungated"));
    json_t *pod_left = world_get(w, w->pods, "team", "train");
    assert_true(meta_has_finalizer(pod_left, GPUSLICE_FINALIZER));
    json_decref(pod_left);
    world_agent_sets(w, "train-main-0", "Deleted", NULL);
    world_settle(w);
    assert_string_equal(phase(w, "train-main-0"), "");
    pod = world_get(w, w->pods, "team", "train");
    assert_false(meta_has_finalizer(pod, GPUSLICE_FINALIZER));
    json_decref(pod);
}

/* Every GPUSlice there is: n of them, all on node, in index order. */
static void assert_slices_on(struct world *w, const char *node, size_t n)
{
    json_t *items = world_slices(w);
    assert_int_equal(json_array_size(items), n);
    size_t i;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        struct gpuslice_view v;
        assert_int_equal(gpuslice_read(obj, &v, NULL), 0);
        assert_string_equal(v.spec.node, node);
        assert_int_equal(v.spec.index, i);
    }
    json_decref(items);
}

static void every_slice_of_a_pod_lands_on_one_node(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    world_add_node(w, "node-b", two_h100, 2);
    /* An H100 holds two 3g.40gb: only node-b can take all three. */
    const char *const want[] = {"3g.40gb", "3g.40gb", "3g.40gb"};
    world_add_pod(w, "big", want, 3);
    world_settle(w);
    assert_slices_on(w, "node-b", 3);
    world_check_no_double_allocation(w);
    /* All three must be Created before the pod is released. */
    world_agent_sets(w, "big-main-0", "Created", NULL);
    world_agent_sets(w, "big-main-1", "Created", NULL);
    world_settle(w);
    assert_true(gated(w, "big"));
    world_agent_sets(w, "big-main-2", "Created", NULL);
    world_settle(w);
    assert_false(gated(w, "big"));
}

static void no_room_says_why_and_places_when_room_frees(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const big[] = {"7g.80gb"};
    world_add_pod(w, "first", big, 1);
    world_add_pod(w, "second", big, 1);
    world_settle(w);
    char msg[512];
    assert_int_equal(world_events(w, "second", "NoPlacement", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "7g.80gb"));
    world_assert_placed(w, "second", "False", "NoPlacement");
    assert_string_equal(phase(w, "second-main-0"), "");

    /* Unrelated changes do not repeat the event. */
    world_agent_sets(w, "first-main-0", "Created", NULL);
    world_settle(w);
    assert_int_equal(world_events(w, "second", "NoPlacement", NULL, 0), 1);

    /* first ends: its GPUSlice, being deleted, still holds the GPU until
     * the agent has destroyed the slice and let the object go; then second
     * is placed. */
    world_pod_phase(w, "first", "Succeeded");
    world_settle(w);
    assert_true(world_released(w, "first-main-0", "Ungated"));
    world_advance(w, 10 * SEC);
    assert_string_equal(phase(w, "second-main-0"), "");
    world_agent_sets(w, "first-main-0", "Deleted", NULL);
    world_settle(w);
    assert_string_equal(phase(w, "second-main-0"), "Creating");
    world_check_no_double_allocation(w);
}

static void has_line(const char *text, const char *line)
{
    const char *p = strstr(text, line);
    if (!p || (p != text && p[-1] != '\n') || p[strlen(line)] != '\n')
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

/* The controller's metrics: decisions by result with their latency, and
 * the state read from its caches when scraped (docs/metrics.md). */
static void metrics_count_decisions_and_show_the_state(void **state)
{
    struct world *w = *state;
    w->metrics = prom_new();
    world_restart_controller(w);
    world_add_node(w, "node-a", one_h100, 1);
    const char *const big[] = {"7g.80gb"};
    world_add_pod(w, "first", big, 1);
    world_add_pod(w, "second", big, 1);
    world_settle(w);
    char *text;
    size_t len;
    assert_int_equal(prom_render(w->metrics, &text, &len, NULL), 0);
    has_line(text, "gpuslice_controller_placement_decisions_total{result=\"placed\"} 1");
    /* The waiting pod is decided again when its own condition changes. */
    const char *no_room = "\ngpuslice_controller_placement_decisions_total{result=\"no_room\"} ";
    assert_non_null(strstr(text, no_room));
    assert_true(atoi(strstr(text, no_room) + strlen(no_room)) >= 1);
    has_line(text, "gpuslice_controller_placement_duration_seconds_count{result=\"placed\"} 1");
    has_line(text, "gpuslice_slices{phase=\"Creating\",profile=\"7g.80gb\","
                   "model=\"H100-80GB\",node=\"node-a\"} 1");
    has_line(text, "gpuslice_pods_waiting{reason=\"no_room\"} 1");
    has_line(text, "gpuslice_pods_waiting{reason=\"slices_being_made\"} 1");
    has_line(text, "gpuslice_gpus{model=\"H100-80GB\",node=\"node-a\"} 1");
    has_line(text, "gpuslice_leader{component=\"controller\"} 1");
    has_line(text, "gpuslice_controller_slices_placed_total 1");
    /* first's key waits to say its slice if it is still Creating in 60 s. */
    has_line(text, "gpuslice_reconcile_queue_depth{loop=\"controller\"} 1");
    free(text);
    /* first ends: its slice, released by its deletion, counts as Deleting
     * (its status still says Ungated) until the agent lets it go. */
    world_agent_sets(w, "first-main-0", "Created", NULL);
    world_settle(w);
    world_pod_phase(w, "first", "Succeeded");
    world_settle(w);
    assert_int_equal(prom_render(w->metrics, &text, &len, NULL), 0);
    has_line(text, "gpuslice_slices{phase=\"Deleting\",profile=\"7g.80gb\","
                   "model=\"H100-80GB\",node=\"node-a\"} 1");
    has_line(text, "gpuslice_controller_slices_released_total 1");
    free(text);
    struct prom *reg = w->metrics;
    world_free(w); /* the controller stops scraping before its registry goes */
    prom_free(reg);
    *state = world_new();
}

/* Placing a pod that waited adds the finalizer and turns its condition to
 * Placed in one decision: the status write cannot carry the version the
 * finalizer write replaced, or it conflicts and the decision is redone. */
static void a_waiting_pod_is_placed_without_a_conflict(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const big[] = {"7g.80gb"};
    world_add_pod(w, "first", big, 1);
    world_add_pod(w, "second", big, 1);
    world_settle(w);
    world_pod_phase(w, "first", "Succeeded");
    world_settle(w);
    world_agent_sets(w, "first-main-0", "Deleted", NULL);
    struct loop_stats before, after;
    loop_get_stats(w->loop, &before);
    world_settle(w);
    loop_get_stats(w->loop, &after);
    assert_string_equal(phase(w, "second-main-0"), "Creating");
    assert_int_equal(after.stale, before.stale);
    world_assert_placed(w, "second", "True", "Placed");
}

/* A key objkey made for an empty namespace (the bare name) is decided
 * like any key of a pod that is not there, not failed as a bad key. */
static void a_key_without_a_namespace_is_decided(void **state)
{
    struct world *w = *state;
    char key[64];
    objkey_join(key, sizeof key, "", "lonely");
    struct loop_stats before, after;
    loop_get_stats(w->loop, &before);
    loop_enqueue(w->loop, key);
    world_settle(w);
    loop_get_stats(w->loop, &after);
    assert_int_equal(after.reconciles, before.reconciles + 1);
    assert_int_equal(after.failures, before.failures);
}

/* Room freed wakes the oldest waiting pod of each kind, not every
 * waiting pod: with many pods queued for one placement, one decision per
 * freed placement (and the pods are served first come, first served); a
 * pod of another kind, which might fit where the first kind does not, is
 * woken too. */
static void freed_room_wakes_the_oldest_pod_of_each_kind(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const big[] = {"7g.80gb"}, *const small[] = {"1g.10gb"};
    world_add_pod(w, "holder", big, 1);
    world_settle(w);
    char name[16];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "q%02d", i);
        world_add_pod(w, name, big, 1);
        world_settle(w);
    }
    world_add_pod(w, "tiny", small, 1);
    world_settle(w);
    world_agent_sets(w, "holder-main-0", "Created", NULL);
    world_settle(w);
    struct loop_stats before, after;
    loop_get_stats(w->loop, &before);
    world_pod_phase(w, "holder", "Succeeded");
    world_settle(w);
    world_agent_sets(w, "holder-main-0", "Deleted", NULL);
    world_settle(w);
    loop_get_stats(w->loop, &after);
    /* holder's own decisions, q00 and tiny: a handful, not thirty. */
    assert_true(after.reconciles - before.reconciles < 10);
    assert_string_equal(phase(w, "q00-main-0"), "Creating");
    for (int i = 1; i < 30; i++) {
        snprintf(name, sizeof name, "q%02d-main-0", i);
        assert_string_equal(phase(w, name), "");
    }
    /* q00 took the whole GPU: tiny was woken and found no room either. */
    assert_string_equal(phase(w, "tiny-main-0"), "");
    /* The next freed GPU goes to q01, the next oldest. */
    world_agent_sets(w, "q00-main-0", "Created", NULL);
    world_pod_phase(w, "q00", "Succeeded");
    world_settle(w);
    world_agent_sets(w, "q00-main-0", "Deleted", NULL);
    world_settle(w);
    assert_string_equal(phase(w, "q01-main-0"), "Creating");
    assert_string_equal(phase(w, "tiny-main-0"), "");
    assert_string_equal(phase(w, "q02-main-0"), "");
    world_check_no_double_allocation(w);
}

/* Pods of different kinds are woken oldest first too: ten kinds (by the
 * memory each asks, all a whole H100) wait behind one GPU, and the GPU
 * freed goes to the pod that waited first, not to whichever kind the
 * controller's tables happen to list first. */
static void freed_room_goes_to_the_oldest_kind_first(void **state)
{
    struct world *w = *state;
    one_slice_created(w, "holder", "7g.80gb");
    world_settle(w);
    char name[24];
    for (unsigned gib = 70; gib < 80; gib++) {
        snprintf(name, sizeof name, "m%u", gib);
        world_add_pod_by_memory(w, name, gib);
        world_settle(w);
    }
    world_pod_phase(w, "holder", "Succeeded");
    world_settle(w);
    world_agent_sets(w, "holder-main-0", "Deleted", NULL);
    world_settle(w);
    assert_string_equal(phase(w, "m70-main-0"), "Creating");
    for (unsigned gib = 71; gib < 80; gib++) {
        snprintf(name, sizeof name, "m%u-main-0", gib);
        assert_string_equal(phase(w, name), "");
    }
    world_check_no_double_allocation(w);
}

static void many_pods_at_once_never_share_a_placement(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", two_h100, 2);
    const char *const small[] = {"1g.10gb"};
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%02d", i);
        world_add_pod(w, name, small, 1);
    }
    /* Decide everything before the cache sees any GPUSlice: only the
     * reservations stand between two pods and one placement. */
    controller_runtime_step(w->rt); /* one step: caches in full, then every decision */
    world_settle(w);
    json_t *items = world_slices(w);
    assert_int_equal(json_array_size(items), 14); /* 7 per H100 */
    json_decref(items);
    world_check_no_double_allocation(w);
    int waiting = 0;
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%02d", i);
        waiting += world_events(w, name, "NoPlacement", NULL, 0) > 0;
    }
    assert_int_equal(waiting, 6);
}

static void a_failed_slice_is_retried_with_backoff(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const want[] = {"4g.40gb"};
    world_add_pod(w, "p", want, 1);
    world_settle(w);
    world_agent_sets(w, "p-main-0", "Failed", "InsufficientResources");
    world_settle(w);
    char msg[512];
    assert_int_equal(world_events(w, "p", "SliceFailed", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "InsufficientResources"));
    assert_non_null(strstr(msg, "retrying in 1s"));
    /* Deleted, and not re-placed before the backoff: the stepped runtime
     * says when it is due. */
    assert_string_equal(phase(w, "p-main-0"), "");
    int64_t due = controller_runtime_next_due(w->rt);
    assert_true(due > w->now && due <= w->now + SEC);
    world_advance(w, SEC / 2);
    assert_string_equal(phase(w, "p-main-0"), "");
    world_advance(w, SEC);
    assert_string_equal(phase(w, "p-main-0"), "Creating");
    /* Fails again: the wait doubles. */
    world_agent_sets(w, "p-main-0", "Failed", "Unknown");
    world_settle(w);
    world_advance(w, 3 * SEC / 2);
    assert_string_equal(phase(w, "p-main-0"), "");
    world_advance(w, SEC);
    assert_string_equal(phase(w, "p-main-0"), "Creating");
}

/* The keep-warm soak's stuck pod (issue 19) waited on an agent that never
 * acted, with only its SlicesPlaced Event: a slice Creating for a minute
 * is said on the pod, once, without any other change to wake the pod. */
static void a_slice_the_agent_never_makes_is_said(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const want[] = {"1g.10gb"};
    world_add_pod(w, "p", want, 1);
    world_settle(w);
    assert_string_equal(phase(w, "p-main-0"), "Creating");
    char msg[512];
    world_advance(w, 59 * SEC);
    assert_int_equal(world_events(w, "p", "SliceNotReady", msg, sizeof msg), 0);
    world_advance(w, 2 * SEC);
    assert_int_equal(world_events(w, "p", "SliceNotReady", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "GPUSlice p-main-0 has been Creating on node node-a"));
    assert_non_null(strstr(msg, "neither made the slice nor said why"));
    world_advance(w, 60 * SEC);
    assert_int_equal(world_events(w, "p", "SliceNotReady", msg, sizeof msg), 1);
    world_agent_sets(w, "p-main-0", "Created", NULL);
    world_settle(w);
    assert_false(gated(w, "p"));
}

/* A sibling that failed just before the minute is retried after it: the
 * pod still comes back at the minute, and the slow slice is said then,
 * not at the retry. */
static void a_retry_after_the_minute_does_not_delay_saying_a_slow_slice(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const want[] = {"1g.10gb", "1g.10gb"};
    world_add_pod(w, "p", want, 2);
    world_settle(w);
    assert_string_equal(phase(w, "p-main-0"), "Creating");
    world_advance(w, 59 * SEC + SEC / 2);
    world_agent_sets(w, "p-main-1", "Failed", "Unknown"); /* retried in 1 s */
    world_settle(w);
    assert_int_equal(world_events(w, "p", "SliceNotReady", NULL, 0), 0);
    world_advance(w, SEC / 5 * 3); /* 60.1 s: the minute, not the retry */
    assert_int_equal(world_events_saying(w, "p", "SliceNotReady", "GPUSlice p-main-0"), 1);
}

/* A stepped controller is the only replica: it refuses to elect, and with
 * nothing queued it has nothing due. */
static void a_stepped_runtime_does_not_elect(void **state)
{
    struct world *w = *state;
    struct controller_runtime *rt = NULL;
    struct err e = {0};
    struct controller_runtime_config cfg = {.store = w->st, .lease_namespace = "kube-system"};
    assert_int_equal(controller_runtime_new(&cfg, &rt, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "elect"));
    assert_null(rt);
    world_settle(w);
    assert_int_equal(controller_runtime_next_due(w->rt), INT64_MAX);
    assert_int_equal(controller_runtime_step(w->rt), 0);
}

static void a_gpu_that_keeps_failing_is_avoided(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", two_h100, 2);
    const char *const want[] = {"7g.80gb"};
    world_add_pod(w, "p", want, 1);
    world_settle(w);
    json_t *s = world_get(w, w->slices, "team", "p-main-0");
    struct gpuslice_view v;
    gpuslice_read(s, &v, NULL);
    char first[64];
    snprintf(first, sizeof first, "%s", v.spec.gpu_uuid);
    json_decref(s);
    for (int i = 0; i < 3; i++) {
        world_agent_sets(w, "p-main-0", "Failed", "Unknown");
        world_advance(w, 0);
        world_advance(w, 10 * SEC);
    }
    s = world_get(w, w->slices, "team", "p-main-0");
    assert_non_null(s);
    gpuslice_read(s, &v, NULL);
    assert_string_not_equal(v.spec.gpu_uuid, first);
    json_decref(s);
}

/* The demo's `pipeline` pod under --device fail-create=...: two of its
 * three slices Created on an A100 of node-a or node-b (its name into
 * first, the other node's into other), the third failing there until that
 * GPU is avoided and the pod's slices are released, at most 30 s after
 * it was placed. */
static void release_pipeline(struct world *w, char first[32], char other[32])
{
    static const char *const one_a100[] = {"A100-40GB"};
    world_add_node(w, "node-a", one_a100, 1);
    world_add_node(w, "node-b", one_a100, 1);
    const char *const want[] = {"1g.5gb", "2g.10gb", "2g.10gb"};
    world_add_pod(w, "pipeline", want, 3);
    world_settle(w);
    json_t *s = world_get(w, w->slices, "team", "pipeline-main-0");
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(s, &v, NULL), 0);
    snprintf(first, 32, "%s", v.spec.node);
    snprintf(other, 32, "%s", strcmp(first, "node-a") == 0 ? "node-b" : "node-a");
    json_decref(s);
    world_agent_sets(w, "pipeline-main-0", "Created", NULL);
    world_agent_sets(w, "pipeline-main-1", "Created", NULL);
    for (int i = 0; i < 3; i++) { /* the third fails until its GPU is avoided */
        assert_string_equal(phase(w, "pipeline-main-2"), "Creating");
        world_agent_sets(w, "pipeline-main-2", "Failed", "Unknown");
        world_advance(w, 0);
        world_advance(w, 10 * SEC);
    }
}

/* A pod whose released slices the node's agent never destroys (it is
 * dead) stays gated, waiting for them: a minute after their release an
 * Event says so, without any other change to wake the pod. */
static void a_release_the_agent_never_ends_is_said(void **state)
{
    struct world *w = *state;
    char first[32], other[32];
    release_pipeline(w, first, other);
    assert_true(world_released(w, "pipeline-main-0", "Created"));
    /* A message the status kept from before (not a destroy's) is not
     * passed on as what the agent says about the destroy. */
    world_agent_sets(w, "pipeline-main-0", "Created", "Earlier");
    char msg[512];
    world_advance(w, 25 * SEC); /* under a minute since the release */
    assert_int_equal(world_events(w, "pipeline", "SliceNotReleased", msg, sizeof msg), 0);
    world_advance(w, 50 * SEC); /* over one since the release */
    assert_true(gated(w, "pipeline"));
    assert_int_equal(world_events(w, "pipeline", "SliceNotReleased", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "GPUSlice pipeline-main-0 has been on its way out on node"));
    assert_non_null(strstr(msg, first));
    assert_non_null(strstr(msg, "the node's agent has not destroyed it"));
    /* The agent comes back but its destroy fails: the Event passes on what
     * it says instead of asking whether it runs. */
    world_agent_sets(w, "pipeline-main-0", "Deleting", "InUse");
    world_advance(w, SEC);
    assert_int_equal(world_events(w, "pipeline", "SliceNotReleased", NULL, 0), 2);
    assert_int_equal(world_events_saying(w, "pipeline", "SliceNotReleased",
                                         "the node's agent says: injected"), 1);
    /* The agent comes back: the pod is placed whole, elsewhere. */
    assert_int_equal(world_agent_all(w, "Deleting", "Deleted"), 2);
    world_settle(w);
    assert_slices_on(w, other, 3);
}

/* The demo's `pipeline` pod under --device fail-create=...: two of its
 * three slices are Created on node-a's A100, the third fails there until
 * that GPU is held back. The pod, still gated, is not left pinned to
 * node-a: its slices are released (an Event says so) and the whole pod is
 * placed on node-b, whose A100 is empty, with nothing left behind. */
static void a_pod_that_cannot_complete_on_its_node_moves_whole(void **state)
{
    struct world *w = *state;
    char first[32], other[32];
    release_pipeline(w, first, other);
    char msg[512];
    assert_int_equal(world_events(w, "pipeline", "SlicesReleased", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, first));
    assert_true(world_released(w, "pipeline-main-0", "Created"));
    assert_true(world_released(w, "pipeline-main-1", "Created"));
    assert_true(gated(w, "pipeline"));
    /* Still gated while they are being destroyed: no new slice takes their
     * names, and the pod is not ungated on its old Created slices. */
    world_advance(w, 10 * SEC);
    assert_true(gated(w, "pipeline"));
    assert_true(world_released(w, "pipeline-main-0", "Created"));
    /* The agent takes them off the GPU; then the pod is placed whole. */
    assert_int_equal(world_agent_all(w, "Deleting", "Deleted"), 2);
    world_settle(w);
    assert_slices_on(w, other, 3); /* and nothing else: the old ones are gone */
    world_check_no_double_allocation(w);
    assert_int_equal(world_agent_all(w, "Creating", "Created"), 3);
    world_settle(w);
    assert_false(gated(w, "pipeline"));
    json_t *pod = world_get(w, w->pods, "team", "pipeline");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(pod, "spec"), "nodeSelector"),
                            "kubernetes.io/hostname")),
                        other);
    json_decref(pod);
}

static void other_gates_are_waited_for(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const want[] = {"1g.10gb"};
    world_add_pod(w, "queued", want, 1);
    json_t *pod = world_get(w, w->pods, "team", "queued");
    json_array_append_new(json_object_get(json_object_get(pod, "spec"), "schedulingGates"),
                          json_pack("{s:s}", "name", "kueue.x-k8s.io/admission"));
    json_t *stored = NULL;
    /* Gates may not be added after creation: recreate the pod with both. */
    assert_int_equal(store_delete(w->st, w->pods, "team", "queued",
                                  &(struct store_delete_opts){0}, NULL, NULL), 0);
    json_object_del(json_object_get(pod, "metadata"), "resourceVersion");
    json_object_del(json_object_get(pod, "metadata"), "uid");
    json_object_del(json_object_get(pod, "metadata"), "creationTimestamp");
    assert_int_equal(store_create(w->st, w->pods, "team", pod, &(struct store_write_opts){0},
                                  &stored, NULL), 0);
    json_decref(pod);
    world_settle(w);
    assert_int_equal(world_events(w, "queued", "WaitingForGates", NULL, 0), 1);
    assert_string_equal(phase(w, "queued-main-0"), "");
    /* Kueue admits it. */
    json_t *gates = json_object_get(json_object_get(stored, "spec"), "schedulingGates");
    json_array_remove(gates, 1);
    assert_int_equal(store_update(w->st, w->pods, "team", stored, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(stored);
    world_settle(w);
    assert_string_equal(phase(w, "queued-main-0"), "Creating");
}

static void deleted_in_every_phase_releases_the_slice(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", two_h100, 2);
    const char *const want[] = {"1g.10gb"};
    const char *const phases[] = {"Creating", "Created", "Ungated"};
    for (size_t i = 0; i < 3; i++) {
        char pod[16], slice[32];
        snprintf(pod, sizeof pod, "d%zu", i);
        snprintf(slice, sizeof slice, "%s-main-0", pod);
        world_add_pod(w, pod, want, 1);
        world_settle(w);
        if (i >= 1)
            world_agent_sets(w, slice, "Created", NULL);
        /* Deleted before the controller saw Created, or after it ungated. */
        if (i == 2)
            world_settle(w);
        assert_string_equal(phase(w, slice), phases[i]);
        assert_int_equal(store_delete(w->st, w->pods, "team", pod, &(struct store_delete_opts){0},
                                      NULL, NULL), 0);
        world_settle(w);
        assert_true(world_released(w, slice, phases[i]));
        /* The pod stays (finalizer) until the slice is gone. */
        json_t *p = world_get(w, w->pods, "team", pod);
        assert_non_null(p);
        json_decref(p);
        world_agent_sets(w, slice, "Deleted", NULL);
        world_settle(w);
        assert_string_equal(phase(w, slice), "");
        assert_null(world_get(w, w->pods, "team", pod));
    }
}

/* A Deleting status an older version wrote on a live GPUSlice still ends:
 * the controller waits for the agent's Deleted (it does not delete a
 * slice that may still be on the GPU), then deletes the object, and the
 * pod's finalizer goes with it. */
static void an_older_versions_deleting_status_still_ends(void **state)
{
    struct world *w = *state;
    one_slice_created(w, "old", "1g.10gb");
    world_settle(w);
    world_pod_phase(w, "old", "Succeeded");
    world_agent_sets(w, "old-main-0", "Deleting", NULL); /* before the controller looks */
    world_settle(w);
    assert_string_equal(phase(w, "old-main-0"), "Deleting");
    assert_false(world_released(w, "old-main-0", "Deleting"));
    json_t *pod = world_get(w, w->pods, "team", "old");
    assert_true(meta_has_finalizer(pod, GPUSLICE_FINALIZER));
    json_decref(pod);
    world_agent_sets(w, "old-main-0", "Deleted", NULL);
    world_settle(w);
    assert_string_equal(phase(w, "old-main-0"), "");
    pod = world_get(w, w->pods, "team", "old");
    assert_false(pod && meta_has_finalizer(pod, GPUSLICE_FINALIZER));
    json_decref(pod);
}

/* A GPUSlice create the API server applied but whose reply was lost (the
 * client saw a timeout), while the controller's watch of GPUSlices lags:
 * the placement stays taken until the cache shows that GPUSlice, even when
 * its pod goes away meanwhile, so no other pod is given it. */
static void a_create_whose_reply_was_lost_still_holds_its_placement(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const whole[] = {"7g.80gb"};
    w->lag.lose_create_replies = 1;
    w->lag.hold_watch = true;
    world_add_pod(w, "first", whole, 1);
    world_settle(w);
    assert_string_equal(phase(w, "first-main-0"), "Creating");
    assert_int_equal(store_delete(w->st, w->pods, "team", "first",
                                  &(struct store_delete_opts){0}, NULL, NULL), 0);
    world_advance(w, 60 * SEC);
    world_add_pod(w, "second", whole, 1);
    world_advance(w, 60 * SEC);
    world_check_no_double_allocation(w);
    assert_string_equal(phase(w, "second-main-0"), "");
    /* The watch catches up: the first pod's slice is released, then the
     * second pod is placed. */
    w->lag.hold_watch = false;
    world_settle(w);
    assert_true(world_released(w, "first-main-0", "Creating"));
    world_agent_sets(w, "first-main-0", "Deleted", NULL);
    world_settle(w);
    assert_null(world_get(w, w->pods, "team", "first"));
    assert_string_equal(phase(w, "second-main-0"), "Creating");
    world_check_no_double_allocation(w);
}

static void a_restarted_controller_continues_from_the_api(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const want[] = {"1g.10gb", "1g.10gb"};
    world_add_pod(w, "p", want, 2);
    world_settle(w);
    world_restart_controller(w);
    world_settle(w);
    json_t *items = world_slices(w);
    assert_int_equal(json_array_size(items), 2); /* not placed twice */
    json_decref(items);
    world_agent_all(w, "Creating", "Created");
    world_restart_controller(w);
    world_settle(w);
    assert_false(gated(w, "p"));
    assert_string_equal(phase(w, "p-main-1"), "Ungated");
    world_check_no_double_allocation(w);
}

/* The ungated pod reaches the cache before the slice's Ungated version
 * (its watch lags): the controller's own Ungated write from the cached
 * Created version went through, so it sends none again; a second one could
 * only be refused as a conflict (half the pods of a paced HTTP run did). */
static void an_ungated_pod_ahead_of_its_slice_is_not_written_twice(void **state)
{
    struct world *w = *state;
    one_slice_created(w, "p", "1g.10gb");
    struct informer *inf[CONTROLLER_INFORMERS];
    controller_informers(w->ctl, inf);
    while (informer_step_ready(&inf[1], 1) > 0) /* the slice cache shows Created */
        ;
    w->lag.hold_watch = true;
    struct loop_stats before, after;
    loop_get_stats(w->loop, &before);
    world_settle(w);
    loop_get_stats(w->loop, &after);
    assert_false(gated(w, "p"));
    assert_string_equal(phase(w, "p-main-0"), "Ungated");
    assert_int_equal(after.stale, before.stale);
    /* A cache that never shows the write (a store gone back to an older
     * state would look the same) gets it again once the note is older
     * than it is trusted: here a conflict, the store being ahead. */
    world_advance(w, 10 * SEC); /* CONTROLLER_UNGATED_NOTE_NS */
    loop_get_stats(w->loop, &after);
    assert_int_equal(after.stale, before.stale + 1);
    before = after;
    w->lag.hold_watch = false;
    world_settle(w);
    loop_get_stats(w->loop, &after);
    assert_int_equal(after.stale, before.stale);
    assert_int_equal(after.failures, before.failures);
}

/* Deletes the pod and the slice just written Ungated (the agent gives it
 * up at once) and lets the controller's caches hear of both, the slice's
 * update and its going included, all before the write's reply comes back. */
static void slice_goes_before_the_reply(void *ctx, const json_t *written)
{
    struct world *w = ctx;
    const char *phase = json_string_value(
        json_object_get(json_object_get(written, "status"), "phase"));
    if (!phase || strcmp(phase, "Ungated") != 0)
        return;
    w->lag.after_update = NULL;
    assert_int_equal(store_delete(w->st, w->pods, "team", json_string_value(json_object_get(
                                      json_object_get(written, "spec"), "podName")),
                                  &(struct store_delete_opts){0}, NULL, NULL), 0);
    assert_int_equal(store_delete(w->st, w->slices, "team", meta_name(written),
                                  &(struct store_delete_opts){0}, NULL, NULL), 0);
    world_agent_sets(w, meta_name(written), "Deleted", NULL);
    assert_null(world_get(w, w->slices, "team", meta_name(written)));
    struct informer *inf[CONTROLLER_INFORMERS];
    controller_informers(w->ctl, inf);
    while (informer_step_ready(inf, CONTROLLER_INFORMERS) > 0)
        ;
}

/* The controller's note of its Ungated write (which holds back a second
 * one) is not kept for a slice whose newer version, and going, its cache
 * saw before the write's reply: nothing would ever take it out again. */
static void an_ungated_note_is_not_kept_for_a_slice_already_gone(void **state)
{
    struct world *w = *state;
    one_slice_created(w, "p", "1g.10gb");
    w->lag.after_update = slice_goes_before_the_reply;
    w->lag.after_update_ctx = w;
    world_settle(w);
    assert_null(w->lag.after_update); /* the Ungated write was made */
    world_advance(w, 60 * SEC);
    assert_null(world_get(w, w->pods, "team", "p"));
    struct controller_stats st;
    controller_get_stats(w->ctl, &st);
    assert_int_equal(st.remembered, 0);
}

/* Replaces the pod spec field key (the pod is recreated: gated pods only
 * take tightened scheduling constraints). */
static void recreate_with(struct world *w, const char *pod, const char *key, json_t *value,
                          bool in_container)
{
    json_t *p = world_get(w, w->pods, "team", pod);
    assert_int_equal(store_delete(w->st, w->pods, "team", pod, &(struct store_delete_opts){0},
                                  NULL, NULL), 0);
    json_t *meta = json_object_get(p, "metadata");
    json_object_del(meta, "resourceVersion");
    json_object_del(meta, "uid");
    json_object_del(meta, "creationTimestamp");
    json_object_del(p, "status");
    json_t *target = json_object_get(p, "spec");
    if (in_container)
        target = json_array_get(json_object_get(target, "containers"), 0);
    json_object_set_new(target, key, value);
    assert_int_equal(store_create(w->st, w->pods, "team", p, &(struct store_write_opts){0}, NULL,
                                  NULL), 0);
    json_decref(p);
}

/* A gated pod asking for one 1g.10gb and cpu CPUs. */
static void add_pod_asking_cpu(struct world *w, const char *name, const char *cpu)
{
    const char *const want[] = {"1g.10gb"};
    world_add_pod(w, name, want, 1);
    recreate_with(w, name, "resources",
                  json_pack("{s:{s:s, s:i}}", "limits", "cpu", cpu, "nvidia.com/mig-1g.10gb", 1),
                  true);
}

static void the_scheduler_s_rules_are_honoured_before_pinning(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    world_add_node(w, "node-b", one_h100, 1);
    json_t *node = world_get(w, w->nodes, NULL, "node-a");
    json_object_set_new(node, "spec", json_pack("{s:[{s:s, s:s}]}", "taints", "key", "dedicated",
                                                "effect", "NoSchedule"));
    assert_int_equal(store_update(w->st, w->nodes, NULL, node, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(node);
    const char *const want[] = {"1g.10gb"};
    /* node-a is tainted: the slice goes to node-b. */
    world_add_pod(w, "untolerated", want, 1);
    world_settle(w);
    json_t *s = world_get(w, w->slices, "team", "untolerated-main-0");
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(s, &v, NULL), 0);
    assert_string_equal(v.spec.node, "node-b");
    json_decref(s);
    /* More CPU than the untainted node has: told why, nothing placed. */
    add_pod_asking_cpu(w, "greedy", "64");
    world_settle(w);
    char msg[512];
    assert_int_equal(world_events(w, "greedy", "NoPlacement", msg, sizeof msg), 1);
    /* Both nodes refused (node-a for its taint, node-b for CPU), in the
     * scheduler's own words. */
    if (!strstr(msg, "of 2 GPUs, 2 on nodes the caller's filter rejected") ||
        !strstr(msg, "untolerated taint {dedicated: }"))
        fail_msg("message: %s", msg);
    assert_string_equal(phase(w, "greedy-main-0"), "");
}

/* A running pod bound to node asking for cpu (not gpuslice's). */
static void add_bound_pod(struct world *w, const char *name, const char *node, const char *cpu)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[{s:s, s:s, s:{s:{s:s}}}]}}",
                          "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                          "namespace", "team", "spec", "nodeName", node, "containers", "name",
                          "app", "image", "app", "resources", "requests", "cpu", cpu);
    assert_int_equal(store_create(w->st, w->pods, "team", p, &(struct store_write_opts){0}, NULL,
                                  NULL), 0);
    json_decref(p);
}

/* A pod wants-cpu asking for 4 CPUs is told there is not enough on the
 * cluster's one node. */
static void wants_cpu_told_insufficient(struct world *w)
{
    add_pod_asking_cpu(w, "wants-cpu", "4");
    world_settle(w);
    char msg[512];
    assert_int_equal(world_events(w, "wants-cpu", "NoPlacement", msg, sizeof msg), 1);
    if (!strstr(msg, "Insufficient cpu"))
        fail_msg("message: %s", msg);
}

static void pods_on_a_node_count_against_it_until_they_end(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1); /* 8 CPUs */
    add_bound_pod(w, "busy", "node-a", "6");
    add_bound_pod(w, "passing", "node-a", "5"); /* gone before it counts */
    assert_int_equal(store_delete(w->st, w->pods, "team", "passing",
                                  &(struct store_delete_opts){.has_grace = true}, NULL, NULL), 0);
    wants_cpu_told_insufficient(w);
    /* The busy pod ends: its CPUs are free, and the waiting pod is placed
     * once something wakes it (here the node's change). */
    world_pod_phase(w, "busy", "Succeeded");
    json_t *node = world_get(w, w->nodes, NULL, "node-a");
    json_object_set_new(json_object_get(node, "metadata"), "labels",
                        json_pack("{s:s, s:s}", "kubernetes.io/hostname", "node-a", "zone", "a"));
    assert_int_equal(store_update(w->st, w->nodes, NULL, node, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(node);
    world_settle(w);
    assert_string_equal(phase(w, "wants-cpu-main-0"), "Creating");
}

/* Status writes that leave a bound pod running (they share its spec with
 * the version before) keep its load counted, however many there are. */
static void a_running_pods_status_writes_keep_its_load(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1); /* 8 CPUs */
    add_bound_pod(w, "busy", "node-a", "6");
    world_pod_phase(w, "busy", "Pending");
    world_pod_phase(w, "busy", "Running");
    world_pod_phase(w, "busy", "Running");
    wants_cpu_told_insufficient(w);
    assert_string_equal(phase(w, "wants-cpu-main-0"), "");
    /* Counted once, not once per write: 6 + 2 of its 8 CPUs fit. */
    add_pod_asking_cpu(w, "fits", "2");
    world_settle(w);
    assert_string_equal(phase(w, "fits-main-0"), "Creating");
}

static void a_deleted_pod_leaves_nothing_behind(void **state)
{
    struct world *w = *state;
    world_add_node(w, "node-a", one_h100, 1);
    const char *const big[] = {"7g.80gb"};
    world_add_pod(w, "first", big, 1);
    world_add_pod(w, "second", big, 1); /* told there is no room */
    world_settle(w);
    assert_int_equal(world_events(w, "second", "NoPlacement", NULL, 0), 1);
    /* second is deleted while waiting (it never got a finalizer), first ends. */
    assert_int_equal(store_delete(w->st, w->pods, "team", "second",
                                  &(struct store_delete_opts){0}, NULL, NULL), 0);
    world_pod_phase(w, "first", "Succeeded");
    world_settle(w);
    world_agent_sets(w, "first-main-0", "Deleted", NULL);
    world_settle(w);
    assert_int_equal(store_delete(w->st, w->pods, "team", "first",
                                  &(struct store_delete_opts){0}, NULL, NULL), 0);
    world_settle(w);
    struct controller_stats st;
    controller_get_stats(w->ctl, &st);
    assert_int_equal(st.remembered, 0);
}

/* node-a's GPU 0 in the given modes with the all-balanced layout of an
 * A100-40GB (the admin's slices, managed false). */
static void set_static(struct world *w, const char *wish, const char *applied)
{
    world_set_layout(w, "node-a", wish, applied, world_all_balanced("A100-40GB"));
}

/* On a mig-static GPU a pod gets a free slice of the layout (existing:
 * true), never a new one and never one another pod holds; a GPU whose
 * mode change waits takes nothing new. */
static void a_mig_static_gpu_hands_out_free_slices_of_its_layout(void **state)
{
    struct world *w = *state;
    const char *const models[] = {"A100-40GB"};
    world_add_node(w, "node-a", models, 1);
    set_static(w, "mig-static", "mig-static");
    const char *const one[] = {"1g.5gb"};
    world_add_pod(w, "p1", one, 1);
    world_add_pod(w, "p2", one, 1);
    world_add_pod(w, "p3", one, 1);
    world_settle(w);
    json_t *items = world_slices(w);
    assert_int_equal(json_array_size(items), 2);
    unsigned starts = 0;
    size_t i;
    json_t *s;
    json_array_foreach(items, i, s) {
        const json_t *spec = json_object_get(s, "spec");
        assert_true(json_is_true(json_object_get(spec, "existing")));
        starts |= 1u << json_integer_value(json_object_get(spec, "start"));
    }
    json_decref(items);
    assert_int_equal(starts, (1u << 2) | (1u << 3));
    char msg[512];
    assert_true(world_events(w, "p3", "NoPlacement", msg, sizeof msg) > 0);
    assert_non_null(strstr(msg, "1 mig-static with no free 1g.5gb"));
    /* The first pod ends: its slice is given to the third. */
    world_agent_all(w, "Creating", "Created");
    world_pod_phase(w, "p1", "Succeeded");
    world_settle(w);
    world_agent_sets(w, "p1-main-0", "Deleted", NULL);
    world_settle(w);
    char buf[32];
    assert_string_equal(world_phase(w, "p3-main-0", buf, sizeof buf), "Creating");
    world_check_no_double_allocation(w);
    /* The admin asks for mode mig while slices are held: nothing new goes
     * there, not even a profile the layout lacks. */
    set_static(w, "mig", "mig-static");
    const char *const big[] = {"4g.20gb"};
    world_add_pod(w, "p4", big, 1);
    world_settle(w);
    assert_true(world_events(w, "p4", "NoPlacement", msg, sizeof msg) > 0);
    assert_non_null(strstr(msg, "held back"));
}

/* The spec of the GPUSlice called name (caller frees the object in *obj). */
static const json_t *slice_spec(struct world *w, const char *name, json_t **obj)
{
    *obj = world_get(w, w->slices, "team", name);
    assert_non_null(*obj);
    return json_object_get(*obj, "spec");
}

/* A request by memory gets the smallest profile of any model with that
 * much (an A100's 1g.5gb for 5 GiB, beside H100s whose smallest is 10),
 * recorded as requestedMemoryGiB without requestedProfile; a request no
 * free profile holds says so, naming the smallest. */
static void requests_by_memory_get_the_smallest_profile(void **state)
{
    struct world *w = *state;
    const char *const h100[] = {"H100-80GB"}, *const a100[] = {"A100-40GB"};
    world_add_node(w, "node-a", h100, 1);
    world_add_node(w, "node-b", a100, 1);
    world_add_pod_by_memory(w, "small", 5);
    world_add_pod_by_memory(w, "mid", 12);
    world_add_pod_by_memory(w, "huge", 90);
    world_settle(w);
    json_t *obj;
    const json_t *spec = slice_spec(w, "small-main-0", &obj);
    assert_string_equal(json_string_value(json_object_get(spec, "profile")), "1g.5gb");
    assert_string_equal(json_string_value(json_object_get(spec, "nodeName")), "node-b");
    assert_int_equal(json_integer_value(json_object_get(spec, "requestedMemoryGiB")), 5);
    assert_null(json_object_get(spec, "requestedProfile"));
    json_decref(obj);
    /* 12 GiB, no A30 here: the H100's 1g.20gb (20 GiB, one compute
     * slice) beats the A100's 3g.20gb (20 GiB, three). */
    spec = slice_spec(w, "mid-main-0", &obj);
    assert_string_equal(json_string_value(json_object_get(spec, "profile")), "1g.20gb");
    assert_string_equal(json_string_value(json_object_get(spec, "nodeName")), "node-a");
    json_decref(obj);
    char msg[512];
    assert_true(world_events(w, "huge", "NoPlacement", msg, sizeof msg) > 0);
    assert_non_null(strstr(msg, "no profile with at least 90 GiB can be placed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(metrics_count_decisions_and_show_the_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_pod_goes_through_the_whole_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stepped_runtime_does_not_elect, setup, teardown),
        cmocka_unit_test_setup_teardown(a_retry_after_the_minute_does_not_delay_saying_a_slow_slice,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_slice_the_agent_never_makes_is_said, setup, teardown),
        cmocka_unit_test_setup_teardown(a_key_without_a_namespace_is_decided, setup, teardown),
        cmocka_unit_test_setup_teardown(an_ungated_pod_ahead_of_its_slice_is_not_written_twice,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_ungated_note_is_not_kept_for_a_slice_already_gone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(freed_room_wakes_the_oldest_pod_of_each_kind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(freed_room_goes_to_the_oldest_kind_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(every_slice_of_a_pod_lands_on_one_node, setup, teardown),
        cmocka_unit_test_setup_teardown(a_waiting_pod_is_placed_without_a_conflict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_room_says_why_and_places_when_room_frees, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(many_pods_at_once_never_share_a_placement, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_slice_is_retried_with_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(a_gpu_that_keeps_failing_is_avoided, setup, teardown),
        cmocka_unit_test_setup_teardown(a_pod_that_cannot_complete_on_its_node_moves_whole,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_release_the_agent_never_ends_is_said, setup, teardown),
        cmocka_unit_test_setup_teardown(other_gates_are_waited_for, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_in_every_phase_releases_the_slice, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_older_versions_deleting_status_still_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_create_whose_reply_was_lost_still_holds_its_placement,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_restarted_controller_continues_from_the_api, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_scheduler_s_rules_are_honoured_before_pinning, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_deleted_pod_leaves_nothing_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(a_mig_static_gpu_hands_out_free_slices_of_its_layout,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(requests_by_memory_get_the_smallest_profile, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pods_on_a_node_count_against_it_until_they_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_running_pods_status_writes_keep_its_load, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
