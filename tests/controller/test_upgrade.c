/*
 * The controller's upgrades and restores (controller/upgrade.c), on the
 * virtual clock: no upgrade before the pod's own delay (and the pod comes
 * back exactly at its deadline), the smallest larger profile across
 * models, and restores that take one upgraded pod back to its asked
 * profile only where that profile is free, only for owners that recreate
 * pods, one at a time per profile and node.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/meta.h"
#include "api/gpuslice.h"
#include "api/pod_upgrade.h"
#include "fixture.h"

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

static const char *const a100[] = {"A100-40GB"};

/* One node with an A100-40GB in mig-static mode, all-balanced. */
static void static_a100(struct world *w)
{
    world_add_node(w, "node-a", a100, 1);
    world_set_layout(w, "node-a", "mig-static", "mig-static", world_all_balanced("A100-40GB"));
}

/* The uid of ReplicaSet name in team, made when missing (an owner the
 * store's garbage collector finds; nothing runs it here, the tests play
 * it). Short-lived. */
static const char *replicaset_uid(struct world *w, const char *name)
{
    const struct api_resource *rs = api_registry_find(store_registry(w->st), "apps", "v1",
                                                      "replicasets");
    assert_non_null(rs);
    json_t *obj = world_get(w, rs, "team", name);
    if (!obj) {
        json_t *fresh = json_pack(
            "{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:[{s:s, s:s}]}}}}",
            "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", name, "spec",
            "replicas", 1, "selector", "matchLabels", "app", name, "template", "metadata",
            "labels", "app", name, "spec", "containers", "name", "main", "image", "cuda");
        struct err e = {0};
        if (store_create(w->st, rs, "team", fresh, &(struct store_write_opts){0}, &obj, &e) < 0)
            fail_msg("replicaset: %s", e.msg);
        json_decref(fresh);
    }
    snprintf(w->scratch, sizeof w->scratch, "%s", meta_uid(obj));
    json_decref(obj);
    return w->scratch;
}

/* A pod asking for profile, opted in with after (NULL: not), restore as
 * given (NULL: no annotation), owned by ReplicaSet owner (NULL: none). */
static void add(struct world *w, const char *name, const char *profile, const char *after,
                const char *restore, const char *owner)
{
    json_t *ann = json_object();
    if (after)
        json_object_set_new(ann, GPUSLICE_ANNOTATION_UPGRADE_AFTER, json_string(after));
    if (restore)
        json_object_set_new(ann, GPUSLICE_ANNOTATION_RESTORE, json_string(restore));
    json_t *meta = json_pack("{s:o}", "annotations", ann);
    if (owner)
        json_object_set_new(meta, "ownerReferences",
                            json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "apps/v1",
                                      "kind", "ReplicaSet", "name", owner, "uid",
                                      replicaset_uid(w, owner), "controller", 1));
    const char *const want[] = {profile};
    world_add_pod_with(w, name, want, 1, meta);
}

/* spec.field of GPUSlice name ("" when absent; short-lived). */
static const char *slice_field(struct world *w, const char *name, const char *field)
{
    json_t *obj = world_get(w, w->slices, "team", name);
    const json_t *v = json_object_get(json_object_get(obj, "spec"), field);
    snprintf(w->scratch, sizeof w->scratch, "%s",
             json_is_string(v) ? json_string_value(v) : "");
    json_decref(obj);
    return w->scratch;
}

static bool has_slice(struct world *w, const char *name)
{
    json_t *obj = world_get(w, w->slices, "team", name);
    json_decref(obj);
    return obj != NULL;
}

static bool being_deleted(struct world *w, const char *pod)
{
    json_t *obj = world_get(w, w->pods, "team", pod);
    bool deleting = json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp");
    json_decref(obj);
    return deleting;
}

/* The pod's slice made and its pod running, as agent and kubelet would. */
static void run_all(struct world *w)
{
    world_agent_all(w, "Creating", "Created");
    world_settle(w);
    world_agent_all(w, "Created", "Ungated");
}

/* Pod ends and its slice is destroyed: its placement is free again. */
static void end_pod(struct world *w, const char *pod)
{
    char slice[96];
    snprintf(slice, sizeof slice, "%s-main-0", pod);
    world_pod_phase(w, pod, "Succeeded");
    world_settle(w);
    world_agent_sets(w, slice, "Deleted", NULL);
    world_settle(w);
}

static void no_upgrade_before_the_pod_s_own_delay(void **state)
{
    struct world *w = *state;
    static_a100(w);
    add(w, "p1", "1g.5gb", NULL, NULL, NULL);
    add(w, "p2", "1g.5gb", NULL, NULL, NULL);
    world_settle(w);
    int64_t t0 = w->now;
    add(w, "u3", "1g.5gb", "5s", NULL, NULL);
    world_settle(w);
    assert_false(has_slice(w, "u3-main-0"));
    char msg[512];
    assert_true(world_events(w, "u3", "NoPlacement", msg, sizeof msg) > 0);
    assert_non_null(strstr(msg, "a larger profile once it waited 5s "
                                "(gpuslice.dev/upgrade-after)"));
    /* The pod comes back at its deadline, not before and not by polling. */
    assert_int_equal(controller_runtime_next_due(w->rt), t0 + 5 * SEC);
    world_advance(w, 5 * SEC - 1);
    assert_false(has_slice(w, "u3-main-0"));
    world_advance(w, 1);
    assert_true(has_slice(w, "u3-main-0"));
    assert_string_equal(slice_field(w, "u3-main-0", "profile"), "2g.10gb");
    assert_string_equal(slice_field(w, "u3-main-0", "requestedProfile"), "1g.5gb");
    assert_true(world_events(w, "u3", "Upgraded", msg, sizeof msg) == 1);
    assert_string_equal(msg, "upgraded from 1g.5gb to 2g.10gb: no 1g.5gb free for 5s");
    struct controller_stats st;
    controller_get_stats(w->ctl, &st);
    assert_int_equal(st.upgraded, 1);
    world_check_no_double_allocation(w);
}

/* "0s" upgrades at the first decision; a pod that did not opt in, or
 * whose annotation is wrong, waits for its own profile however long (the
 * wrong annotation named once). */
static void only_opted_in_pods_are_upgraded(void **state)
{
    struct world *w = *state;
    static_a100(w);
    add(w, "p1", "1g.5gb", NULL, NULL, NULL);
    add(w, "p2", "1g.5gb", NULL, NULL, NULL);
    add(w, "plain", "1g.5gb", NULL, NULL, NULL);
    add(w, "typo", "1g.5gb", "5", NULL, NULL);
    add(w, "now", "1g.5gb", "0s", NULL, NULL);
    world_settle(w);
    assert_string_equal(slice_field(w, "now-main-0", "profile"), "2g.10gb");
    char msg[512];
    assert_true(world_events(w, "now", "Upgraded", msg, sizeof msg) == 1);
    assert_string_equal(msg, "upgraded from 1g.5gb to 2g.10gb: no 1g.5gb free for 0s");
    /* Said at once (Events go after an hour, as kube-apiserver's). */
    assert_int_equal(world_events(w, "typo", "InvalidAnnotation", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "annotation gpuslice.dev/upgrade-after: \"5\" is not a "
                                "duration"));
    world_advance(w, 3600 * SEC);
    world_advance(w, 3600 * SEC);
    assert_false(has_slice(w, "plain-main-0"));
    assert_false(has_slice(w, "typo-main-0"));
    /* Nothing larger is free now: the opted-in pod says so too. */
    add(w, "late", "1g.5gb", "0s", NULL, NULL);
    add(w, "late2", "1g.5gb", "0s", NULL, NULL);
    world_settle(w);
    assert_string_equal(slice_field(w, "late-main-0", "profile"), "3g.20gb");
    assert_false(has_slice(w, "late2-main-0"));
    assert_true(world_events(w, "late2", "NoPlacement", msg, sizeof msg) > 0);
    assert_non_null(strstr(msg, "no larger profile can be placed either"));
}

/* A ResourceQuota named name in team whose counted status says hard and
 * used GiB of requests.gpuslice.dev/accelerator-memory (used NULL: not
 * counted yet, no status). */
static void add_quota(struct world *w, const char *name, const char *hard, const char *used)
{
    const struct api_resource *rq = api_registry_find(store_registry(w->st), "", "v1",
                                                      "resourcequotas");
    assert_non_null(rq);
    const char *key = "requests.gpuslice.dev/accelerator-memory";
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s}}}", "apiVersion", "v1", "kind",
                            "ResourceQuota", "metadata", "name", name, "namespace", "team",
                            "spec", "hard", key, hard);
    json_t *stored = NULL;
    struct err e = {0};
    if (store_create(w->st, rq, "team", obj, &(struct store_write_opts){0}, &stored, &e) < 0)
        fail_msg("quota: %s", e.msg);
    if (!used) { /* not counted yet */
        json_decref(obj);
        json_decref(stored);
        world_settle(w);
        return;
    }
    json_object_set_new(stored, "status",
                        json_pack("{s:{s:s}, s:{s:s}}", "hard", key, hard, "used", key, used));
    struct store_write_opts status = {.subresource = STORE_STATUS};
    if (store_update(w->st, rq, "team", stored, &status, NULL, &e) < 0)
        fail_msg("quota status: %s", e.msg);
    json_decref(obj);
    json_decref(stored);
    world_settle(w);
}

/* The GPUSlice's annotation key ("" when absent; short-lived). */
static const char *slice_annotation(struct world *w, const char *name, const char *key)
{
    json_t *obj = world_get(w, w->slices, "team", name);
    const char *v = obj ? meta_annotation(obj, key) : NULL;
    snprintf(w->scratch, sizeof w->scratch, "%s", v ? v : "");
    json_decref(obj);
    return w->scratch;
}

/* An upgrade takes memory the pod's quota was not charged for: it is
 * granted only within the room the namespace's quotas leave, counting the
 * namespace's other upgrades, and the GPUSlice names the quota. */
static void upgrades_stay_within_the_namespace_s_quota(void **state)
{
    struct world *w = *state;
    static_a100(w);
    add_quota(w, "gpu", "20", "15"); /* 5 GiB of room: a 1g.5gb may take a 2g.10gb */
    add(w, "p1", "1g.5gb", NULL, NULL, NULL);
    add(w, "p2", "1g.5gb", NULL, NULL, NULL);
    add(w, "now", "1g.5gb", "0s", NULL, NULL);
    world_settle(w);
    assert_string_equal(slice_field(w, "now-main-0", "profile"), "2g.10gb");
    assert_string_equal(slice_annotation(w, "now-main-0", GPUSLICE_ANNOTATION_UPGRADE_QUOTA),
                        "gpu");
    assert_string_equal(slice_annotation(w, "p1-main-0", GPUSLICE_ANNOTATION_UPGRADE_QUOTA), "");
    /* The 3g.20gb is free, but the first upgrade took the room. */
    add(w, "late", "1g.5gb", "0s", NULL, NULL);
    world_settle(w);
    assert_false(has_slice(w, "late-main-0"));
    char msg[512];
    assert_true(world_events(w, "late", "NoPlacement", msg, sizeof msg) > 0);
    assert_non_null(strstr(msg, "no larger profile can be placed either"));
    world_check_no_double_allocation(w);
}

/* A quota with no room, or not yet counted, grants no upgrade at all. */
static void a_full_quota_grants_no_upgrade(void **state)
{
    struct world *w = *state;
    static_a100(w);
    add_quota(w, "gpu", "20", "20");
    add(w, "p1", "1g.5gb", NULL, NULL, NULL);
    add(w, "p2", "1g.5gb", NULL, NULL, NULL);
    add(w, "now", "1g.5gb", "0s", NULL, NULL);
    world_settle(w);
    assert_false(has_slice(w, "now-main-0"));
}

/* A quota the quota controller has not counted yet leaves no room. */
static void an_uncounted_quota_grants_no_upgrade(void **state)
{
    struct world *w = *state;
    static_a100(w);
    add_quota(w, "uncounted", "100", NULL);
    add(w, "p1", "1g.5gb", NULL, NULL, NULL);
    add(w, "p2", "1g.5gb", NULL, NULL, NULL);
    add(w, "now", "1g.5gb", "0s", NULL, NULL);
    world_settle(w);
    assert_false(has_slice(w, "now-main-0"));
}

/* A pod written for an A100's 1g.5gb on an H100 gets the H100's smallest
 * slice that holds it, on a mig GPU (a new slice, not an existing one);
 * a profile no model here has gets the smallest larger of one that has
 * room. */
static void upgrades_cross_gpu_models(void **state)
{
    struct world *w = *state;
    const char *const h100[] = {"H100-80GB"};
    world_add_node(w, "node-h", h100, 1);
    add(w, "a100-pod", "1g.5gb", "0s", NULL, NULL);
    add(w, "wide", "1g.20gb", "0s", NULL, NULL);
    world_settle(w);
    assert_string_equal(slice_field(w, "a100-pod-main-0", "profile"), "1g.10gb");
    assert_string_equal(slice_field(w, "a100-pod-main-0", "model"), "H100-80GB");
    /* 1g.20gb is an H100 profile: not an upgrade. */
    assert_string_equal(slice_field(w, "wide-main-0", "profile"), "1g.20gb");
    char msg[512];
    assert_int_equal(world_events(w, "wide", "Upgraded", msg, sizeof msg), 0);
}

/* p1 and p2 hold the 1g.5gb slices; u3 and u4 are upgraded (2g.10gb,
 * 3g.20gb), both of ReplicaSet rs. */
static void two_upgraded(struct world *w, const char *restore_u4)
{
    static_a100(w);
    add(w, "p1", "1g.5gb", NULL, NULL, "rs-p");
    add(w, "p2", "1g.5gb", NULL, NULL, "rs-p");
    world_settle(w);
    add(w, "u3", "1g.5gb", "0s", NULL, "rs");
    world_settle(w);
    add(w, "u4", "1g.5gb", "0s", restore_u4, "rs");
    world_settle(w);
    run_all(w);
    world_settle(w);
    assert_string_equal(slice_field(w, "u3-main-0", "profile"), "2g.10gb");
    assert_string_equal(slice_field(w, "u4-main-0", "profile"), "3g.20gb");
}

/* A 1g.5gb frees: the pod that wastes most (u4, 15 GiB more) is deleted
 * for its owner to make again, said on the owner and the pod; u3 waits,
 * one restore being in flight for 1g.5gb on node-a, until the
 * replacement is placed on the freed slice (then nothing is free). */
static void a_freed_slice_restores_the_pod_that_wastes_most(void **state)
{
    struct world *w = *state;
    two_upgraded(w, NULL);
    end_pod(w, "p1");
    assert_true(being_deleted(w, "u4"));
    assert_false(being_deleted(w, "u3"));
    char msg[512];
    assert_int_equal(world_events(w, "rs", "Restoring", msg, sizeof msg), 1);
    assert_string_equal(msg, "restoring pod u4 from 3g.20gb to 1g.5gb: a 1g.5gb is free on "
                             "node-a; deleting it (grace period 30s) for its ReplicaSet to "
                             "make again");
    assert_int_equal(world_events(w, "u4", "Restoring", NULL, 0), 1);
    world_advance(w, 10 * SEC);
    assert_false(being_deleted(w, "u3"));
    /* The ReplicaSet's replacement asks for 1g.5gb and gets the free one. */
    add(w, "u4-again", "1g.5gb", "0s", NULL, "rs");
    world_settle(w);
    assert_string_equal(slice_field(w, "u4-again-main-0", "profile"), "1g.5gb");
    assert_false(being_deleted(w, "u3"));
    struct controller_stats st;
    controller_get_stats(w->ctl, &st);
    assert_int_equal(st.restored, 1);
    world_check_no_double_allocation(w);
}

/* Without a replacement the restore stays in flight for its timeout (2
 * minutes), then the next upgraded pod may go. */
static void a_restore_in_flight_expires(void **state)
{
    struct world *w = *state;
    two_upgraded(w, NULL);
    end_pod(w, "p1");
    assert_true(being_deleted(w, "u4"));
    world_advance(w, 120 * SEC - 1);
    assert_false(being_deleted(w, "u3"));
    world_advance(w, 1);
    assert_true(being_deleted(w, "u3"));
}

/* No bounce to nowhere: a freed placement of another profile restores
 * nothing; neither does an opt-out, nor a pod no owner would make again;
 * and a pod waiting for the freed profile gets it before any restore. */
static void no_restore_without_room_owner_or_consent(void **state)
{
    struct world *w = *state;
    static_a100(w);
    add(w, "p1", "1g.5gb", NULL, NULL, "rs-p");
    add(w, "p2", "1g.5gb", NULL, NULL, "rs-p");
    world_settle(w);
    add(w, "bare", "1g.5gb", "0s", NULL, NULL);         /* no owner: 2g.10gb */
    world_settle(w);
    add(w, "never", "1g.5gb", "0s", "never", "rs");     /* opted out: 3g.20gb */
    world_settle(w);
    run_all(w);
    world_settle(w);
    assert_string_equal(slice_field(w, "bare-main-0", "profile"), "2g.10gb");
    assert_string_equal(slice_field(w, "never-main-0", "profile"), "3g.20gb");
    end_pod(w, "p1");
    assert_false(being_deleted(w, "bare"));
    assert_false(being_deleted(w, "never"));
    struct controller_stats st;
    controller_get_stats(w->ctl, &st);
    assert_int_equal(st.restored, 0);
}

static void no_restore_when_nothing_is_free(void **state)
{
    struct world *w = *state;
    two_upgraded(w, NULL);
    /* u3's 2g.10gb frees (it ends): no 1g.5gb is free, u4 stays. */
    end_pod(w, "u3");
    assert_false(being_deleted(w, "u4"));
    /* A pod waiting for 1g.5gb takes the next freed one first. */
    add(w, "waiter", "1g.5gb", NULL, NULL, NULL);
    add(w, "big", "4g.20gb", NULL, NULL, NULL);
    world_settle(w);
    assert_false(has_slice(w, "waiter-main-0"));
    end_pod(w, "p1");
    assert_true(has_slice(w, "waiter-main-0"));
    assert_false(being_deleted(w, "u4"));
    struct controller_stats st;
    controller_get_stats(w->ctl, &st);
    assert_int_equal(st.restored, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_upgrade_before_the_pod_s_own_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(only_opted_in_pods_are_upgraded, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrades_cross_gpu_models, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrades_stay_within_the_namespace_s_quota, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_full_quota_grants_no_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(an_uncounted_quota_grants_no_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(a_freed_slice_restores_the_pod_that_wastes_most, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_restore_in_flight_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(no_restore_without_room_owner_or_consent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_restore_when_nothing_is_free, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
