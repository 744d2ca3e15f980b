/*
 * The agent's recovery: restarts in every phase (a new agent over the same
 * store and the same emulated node converges), reboots and vanished slices
 * (made again, or Failed / SliceLost when that fails), and orphans
 * (destroyed after the grace period when gpuslice made them, left alone
 * otherwise unless reclaiming is asked for).
 */
#include <unistd.h>

#include "harness.h"

#include "api/gpunode.h"

static unsigned device_count(struct harness *h)
{
    struct device_slices *dev = calloc(1, sizeof *dev);
    unsigned n = h_device_slices(h, dev);
    free(dev);
    return n;
}

static struct agent_stats stats(struct harness *h)
{
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    return s;
}

/* ---- restarts ---- */

static void restart_while_the_create_runs(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "2g.20gb", 4, 2, name);
    h_settle(h, 500 * MSEC); /* the create ran; its 900 ms are not over */
    assert_int_equal(device_count(h), 1);
    assert_string_equal(h_phase(h, name), "Creating");
    h_agent(h);
    h_settle(h, 5 * SEC);
    assert_string_equal(h_phase(h, name), "Created");
    assert_int_equal(stats(h).creates, 0); /* taken over, not made twice */
    assert_int_equal(device_count(h), 1);
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

static void restart_after_a_create_no_report_shows(void **state)
{
    (void)state;
    /* The agent made the slice and died before any GPUNode listed it. */
    struct harness *h = h_new("model=H100-80GB,latency=none");
    json_t *pod = h_pod(h, "train");
    struct device_slice_ref ref = {.gpu_index = 0, .profile = "1g.10gb", .start = 5};
    assert_int_equal(device_create_slice(h->dev, &ref, NULL, NULL, NULL), 0);
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 5, 1, name);
    h_agent(h);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    assert_int_equal(stats(h).creates, 0);
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

/* Restarts the agent with name in each phase of its life and checks that
 * the new agent carries it on to the end without a second device call. */
static void restart_in_every_later_phase(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "3g.40gb", 0, 4, name);
    h_settle(h, 2 * SEC);
    assert_string_equal(h_phase(h, name), "Created");
    char uuid[DEVICE_UUID_MAX];
    snprintf(uuid, sizeof uuid, "%s", h_status(h, name, "deviceUUID"));

    h_agent(h); /* Created */
    h_settle(h, 2 * SEC);
    assert_string_equal(h_status(h, name, "deviceUUID"), uuid);
    h_set_phase(h, name, "Ungated");
    h_agent(h); /* Ungated */
    h_settle(h, 2 * SEC);
    assert_string_equal(h_phase(h, name), "Ungated");
    assert_string_equal(h_status(h, name, "deviceUUID"), uuid);
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"), uuid);
    assert_int_equal(stats(h).creates + stats(h).destroys, 0);
    h_invariant(h);

    h_set_phase(h, name, "Deleting");
    h_settle(h, 200 * MSEC); /* the destroy ran; its 400 ms are not over */
    assert_int_equal(device_count(h), 0);
    assert_string_equal(h_phase(h, name), "Deleting");
    h_agent(h); /* Deleting, slice gone */
    h_settle(h, 2 * SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    assert_int_equal(stats(h).destroys, 0);

    h_agent(h); /* Deleted */
    h_settle(h, 2 * SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_int_equal(stats(h).creates + stats(h).destroys, 0);
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

/* What the controller's release (or the garbage collector) does. */
static void delete_slice(struct harness *h, const char *name)
{
    struct err e = {0};
    h_ok(store_delete(h->st, h->slices, NS, name, &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete GPUSlice");
}

static bool slice_exists(struct harness *h, const char *name)
{
    json_t *obj = NULL;
    bool there = store_get(h->st, h->slices, NS, name, &obj, NULL) == 0;
    json_decref(obj);
    return there;
}

/* A GPUSlice released by its deletion (the controller's one write), the
 * agent restarted before its destroy, and again between its destroy and
 * the finalizer's removal: the slice is destroyed once, the object goes,
 * and no status is ever written for it. */
static void restart_while_a_deleted_gpuslice_goes(void **state)
{
    (void)state;
    for (int after_destroy = 0; after_destroy < 2; after_destroy++) {
        struct harness *h = h_new("model=H100-80GB");
        json_t *pod = h_pod(h, "train");
        char name[GPUSLICE_NAME_MAX];
        h_slice(h, pod, 0, 0, "3g.40gb", 0, 4, name);
        h_settle(h, 2 * SEC);
        h_set_phase(h, name, "Ungated");
        h_settle(h, SEC);
        delete_slice(h, name);
        if (after_destroy) {
            h_settle(h, 200 * MSEC); /* the destroy ran; its 400 ms are not over */
            assert_int_equal(device_count(h), 0);
            assert_true(slice_exists(h, name)); /* the finalizer holds it */
            assert_string_equal(h_phase(h, name), "Ungated"); /* no status written */
        }
        h_agent(h);
        h_settle(h, 2 * SEC);
        assert_false(slice_exists(h, name));
        assert_int_equal(device_count(h), 0);
        assert_int_equal(stats(h).destroys, after_destroy ? 0 : 1);
        assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
        h_invariant(h);
        json_decref(pod);
        h_free(h);
    }
}

/* A slice in use when it is released (a Deleting status, or its GPUSlice
 * deleted): the destroy is retried, across a restart too, with the reason
 * said in the status (Deleting: it says why a deleted object stays), and
 * the slice ends once it is free. */
static void release_in_use(bool by_deletion)
{
    struct harness *h = h_new("model=H100-80GB,latency=none");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    assert_int_equal(emulated_set_in_use(h->dev, 0, 0, true, NULL), 0);
    if (by_deletion)
        delete_slice(h, name);
    else
        h_set_phase(h, name, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_status(h, name, "reason"), "InUse");
    h_agent(h);
    h_settle(h, 5 * SEC);
    assert_string_equal(h_phase(h, name), "Deleting");
    assert_int_equal(device_count(h), 1);
    assert_int_equal(emulated_set_in_use(h->dev, 0, 0, false, NULL), 0);
    h_settle(h, 60 * SEC);
    if (by_deletion)
        assert_false(slice_exists(h, name));
    else
        assert_string_equal(h_phase(h, name), "Deleted");
    assert_int_equal(device_count(h), 0);
    json_decref(pod);
    h_free(h);
}

static void restart_while_deleting_in_use(void **state)
{
    (void)state;
    release_in_use(false);
}

static void restart_while_a_deleted_gpuslice_is_in_use(void **state)
{
    (void)state;
    release_in_use(true);
}

/* ---- reboots and vanished slices ---- */

static void reboot_makes_slices_again(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB");
    json_t *pod = h_pod(h, "train");
    char a[GPUSLICE_NAME_MAX], b[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, a);
    h_slice(h, pod, 1, 0, "2g.20gb", 2, 2, b);
    h_settle(h, 3 * SEC);
    h_set_phase(h, b, "Ungated");
    h_settle(h, SEC);
    char ua[DEVICE_UUID_MAX], ub[DEVICE_UUID_MAX], boot[DEVICE_BOOT_ID_MAX];
    snprintf(ua, sizeof ua, "%s", h_status(h, a, "deviceUUID"));
    snprintf(ub, sizeof ub, "%s", h_status(h, b, "deviceUUID"));

    assert_int_equal(emulated_reboot(h->dev, "boot-after", NULL), 0);
    assert_int_equal(device_count(h), 0);
    h_settle(h, 35 * SEC); /* the next recovery pass sees it */
    assert_int_equal(device_count(h), 2);
    assert_string_equal(h_phase(h, a), "Created");
    assert_string_equal(h_phase(h, b), "Ungated");
    assert_string_not_equal(h_status(h, a, "deviceUUID"), ua);
    assert_string_not_equal(h_status(h, b, "deviceUUID"), ub);
    assert_int_equal(device_boot_id(h->dev, boot, NULL), 0);
    assert_string_equal(h_status(h, a, "bootID"), "boot-after");
    char want[2 * DEVICE_UUID_MAX + 2];
    snprintf(want, sizeof want, "%s,%s", h_status(h, a, "deviceUUID"),
             h_status(h, b, "deviceUUID"));
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"), want);
    assert_int_equal(stats(h).recreated, 2);
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

static void vanished_slice_is_made_again(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB,latency=none");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 4, 1, name);
    h_settle(h, SEC);
    h_set_phase(h, name, "Ungated");
    struct device_slice_ref ref = {.gpu_index = 0, .profile = "1g.10gb", .start = 4};
    assert_int_equal(device_destroy_slice(h->dev, &ref, NULL, NULL), 0);
    h_settle(h, 31 * SEC);
    assert_int_equal(device_count(h), 1);
    assert_string_equal(h_phase(h, name), "Ungated");
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"),
                        h_status(h, name, "deviceUUID"));
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

static void lost_created_slice_that_cannot_be_made_fails(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB,latency=none,fail-create=2");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    assert_int_equal(emulated_reboot(h->dev, NULL, NULL), 0);
    h_settle(h, 31 * SEC);
    assert_string_equal(h_phase(h, name), "Failed");
    assert_string_equal(h_status(h, name, "reason"), "DeviceError");
    assert_string_equal(h_status(h, name, "deviceUUID"), "");
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

static void lost_ungated_slice_says_so_until_made_again(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB,latency=none,fail-create=2,fail-create=3,"
                              "fail-create=4,fail-create=5,fail-create=6");
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    h_set_phase(h, name, "Ungated");
    assert_int_equal(emulated_reboot(h->dev, NULL, NULL), 0);
    /* The recovery pass at 30 s finds it gone and the create fails; the
     * first retry (5 ms later) says so in the status. */
    h_settle(h, 29 * SEC + 6 * MSEC);
    assert_string_equal(h_phase(h, name), "Ungated");
    assert_string_equal(h_status(h, name, "reason"), "SliceLost");
    assert_non_null(strstr(h_status(h, name, "message"), "making it again failed"));
    assert_string_equal(h_status(h, name, "deviceUUID"), "");
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    unsigned failures = (unsigned)stats(h).device_failures;
    assert_true(failures >= 2 && failures < 5); /* backing off, not spinning */
    h_settle(h, 10 * SEC);
    assert_int_equal(stats(h).device_failures, 5);
    assert_string_equal(h_phase(h, name), "Ungated");
    assert_string_equal(h_status(h, name, "reason"), "");
    assert_int_equal(device_count(h), 1);
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"),
                        h_status(h, name, "deviceUUID"));
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

/* ---- orphans ---- */

static void managed_orphan_is_destroyed_after_grace(void **state)
{
    (void)state;
    struct agent_config o = {.orphan_grace_ns = 20 * SEC};
    struct harness *h = h_new_with("model=H100-80GB,latency=none", &o);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    struct err e = {0};
    /* Someone strips the finalizer and deletes the object: the slice is
     * left with nothing that claims it. */
    json_t *strip = json_pack("{s:{s:n}}", "metadata", "finalizers");
    h_ok(store_patch(h->st, h->slices, NS, name, STORE_PATCH_MERGE, strip,
                     &(struct store_write_opts){0}, NULL, &e), &e, "strip finalizer");
    json_decref(strip);
    delete_slice(h, name);
    /* Its grace counts from the node pass that finds it, within the
     * report period of the delete. */
    h_settle(h, 19 * SEC);
    assert_int_equal(device_count(h), 1);
    h_settle(h, AGENT_REPORT_PERIOD_DEFAULT_NS + 2 * SEC);
    assert_int_equal(device_count(h), 0);
    assert_int_equal(stats(h).orphans_destroyed, 1);
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

static void deleted_object_has_its_slice_destroyed_before_it_goes(void **state)
{
    (void)state;
    struct harness *h = h_new_with("model=H100-80GB,latency=none", NULL);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    /* What the garbage collector does when the pod goes first. */
    delete_slice(h, name);
    h_settle(h, SEC);
    assert_int_equal(device_count(h), 0);
    json_t *gone = NULL;
    assert_int_equal(store_get(h->st, h->slices, NS, name, &gone, NULL), -ENOENT);
    assert_int_equal(stats(h).orphans_destroyed, 0);
    h_invariant(h);
    json_decref(pod);
    h_free(h);
}

static void orphan_clock_restarts_with_the_agent(void **state)
{
    (void)state;
    struct agent_config o = {.orphan_grace_ns = 20 * SEC};
    struct harness *h = h_new_with("model=H100-80GB,latency=none", &o);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    h_set_phase(h, name, "Failed"); /* a Failed slice holds nothing */
    h_settle(h, 15 * SEC);
    h_agent(h);
    h_settle(h, 15 * SEC);
    assert_int_equal(device_count(h), 1); /* 30 s an orphan, 15 s seen by this agent */
    h_settle(h, 6 * SEC);
    assert_int_equal(device_count(h), 0);
    json_decref(pod);
    h_free(h);
}

static void unmanaged_slice_is_left_alone(void **state)
{
    (void)state;
    struct agent_config o = {.orphan_grace_ns = 5 * SEC};
    struct harness *h = h_new_with("model=H100-80GB,latency=none", &o);
    struct device_slice_ref ref = {.gpu_index = 0, .profile = "3g.40gb", .start = 4};
    assert_int_equal(device_create_slice(h->dev, &ref, NULL, NULL, NULL), 0);
    h_agent(h);
    h_settle(h, 60 * SEC);
    assert_int_equal(device_count(h), 1);
    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    assert_int_equal(v.gpus[0].n_slices, 1);
    assert_false(v.gpus[0].slices[0].managed);
    h_invariant(h); /* not gpuslice's: not a leak */

    /* A Creating GPUSlice at exactly that placement does not take it. */
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "3g.40gb", 4, 4, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Failed");
    assert_string_equal(h_status(h, name, "reason"), "PlacementTaken");
    assert_int_equal(device_count(h), 1);

    /* Told to reclaim, the agent destroys it after the grace period. */
    h->cfg.agent.reclaim_unmanaged = true;
    h_agent(h);
    h_settle(h, 4 * SEC);
    assert_int_equal(device_count(h), 1);
    h_settle(h, 2 * SEC);
    assert_int_equal(device_count(h), 0);
    json_decref(gn);
    json_decref(pod);
    h_free(h);
}

/* Kills h's agent, starts one (options o) over an empty store and h's
 * GPUs, lets it recover for 10 s past an orphan grace of 5 s; frees both;
 * returns how many slices are left on the GPUs. */
static unsigned killed_and_the_store_lost(struct harness *h, const char *spec,
                                          const struct agent_config *o)
{
    agent_runtime_free(h->rt);
    h->rt = NULL;
    struct harness *fresh = h_new_with(spec, o);
    device_close(fresh->dev);
    fresh->dev = fresh->cfg.agent.device = h->dev;
    h->dev = NULL;
    h_agent(fresh);
    h_settle(fresh, 10 * SEC);
    unsigned left = device_count(fresh);
    h_free(h);
    h_free(fresh);
    return left;
}

/* The API server restarted with an empty store and the agent that made a
 * slice is gone too: the GPUNode that said "managed" is lost with the
 * store. The agent's ledger on the node still says it (issue 19's kill
 * harness: without it the slice was kept for good as an admin's). */
#define LEDGER_SPEC "model=H100-80GB,latency=none"

/* An agent (options o) that made pod train's 1g.10gb at memory slice 0,
 * Created; *pod is the caller's. */
static struct harness *one_made(const struct agent_config *o, json_t **pod,
                                char name[GPUSLICE_NAME_MAX])
{
    struct harness *h = h_new_with(LEDGER_SPEC, o);
    *pod = h_pod(h, "train");
    h_slice(h, *pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    return h;
}

static unsigned after_the_store_is_lost(const char *ledger)
{
    struct agent_config o = {.orphan_grace_ns = 5 * SEC, .ledger_path = ledger};
    json_t *pod;
    char name[GPUSLICE_NAME_MAX];
    struct harness *h = one_made(&o, &pod, name);
    struct device_slice_ref admin = {.gpu_index = 0, .profile = "3g.40gb", .start = 4};
    assert_int_equal(emulated_add_slice(h->dev, &admin, NULL, NULL), 0);
    unsigned left = killed_and_the_store_lost(h, LEDGER_SPEC, &o);
    json_decref(pod);
    return left;
}

/* A fresh ledger path (template ending XXXXXX) with no file yet: a node
 * the agent never worked on. */
static void no_ledger_yet(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
}

static void ledger_names_the_slices_gpuslice_made_after_the_store_is_lost(void **state)
{
    (void)state;
    char path[] = "/tmp/gpuslice-ledger-XXXXXX";
    no_ledger_yet(path);
    assert_int_equal(after_the_store_is_lost(path), 1); /* the admin's slice only */
    assert_int_equal(after_the_store_is_lost(NULL), 2); /* what it did before the ledger */

    FILE *f = fopen(path, "w");
    fputs("{\"made\": [{\"gpu\": 0, \"start\": 99, \"profileID\": 1}]}", f);
    fclose(f);
    struct agent_config o = {.ledger_path = path};
    struct harness *h = h_new_with("model=H100-80GB", NULL);
    h->cfg.agent.ledger_path = o.ledger_path;
    struct err e = {0};
    agent_runtime_free(h->rt);
    h->rt = NULL;
    assert_int_equal(agent_runtime_new(&h->cfg, &h->rt, &e), -EINVAL);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "made[0]"));
    h_free(h);
    unlink(path);
}

/* A slice gpuslice made and then destroyed leaves the ledger with its
 * destroy: the keep-warm soak's ledger still listed five places whose
 * slices were gone. A restarted agent over an empty store then took a
 * slice made there since by someone else for its own orphan. */
static void a_destroyed_slice_leaves_the_ledger(void **state)
{
    (void)state;
    char path[] = "/tmp/gpuslice-ledger-XXXXXX";
    no_ledger_yet(path);
    struct agent_config o = {.orphan_grace_ns = 5 * SEC, .ledger_path = path};
    json_t *pod;
    char name[GPUSLICE_NAME_MAX];
    struct harness *h = one_made(&o, &pod, name);
    h_set_phase(h, name, "Ungated");
    h_set_phase(h, name, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    struct device_slice_ref admin = {.gpu_index = 0, .profile = "1g.10gb", .start = 0};
    assert_int_equal(emulated_add_slice(h->dev, &admin, NULL, NULL), 0);
    assert_int_equal(killed_and_the_store_lost(h, LEDGER_SPEC, &o), 1); /* the other's stays */
    json_decref(pod);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restart_while_the_create_runs),
        cmocka_unit_test(restart_after_a_create_no_report_shows),
        cmocka_unit_test(restart_in_every_later_phase),
        cmocka_unit_test(restart_while_deleting_in_use),
        cmocka_unit_test(restart_while_a_deleted_gpuslice_goes),
        cmocka_unit_test(restart_while_a_deleted_gpuslice_is_in_use),
        cmocka_unit_test(reboot_makes_slices_again),
        cmocka_unit_test(vanished_slice_is_made_again),
        cmocka_unit_test(lost_created_slice_that_cannot_be_made_fails),
        cmocka_unit_test(lost_ungated_slice_says_so_until_made_again),
        cmocka_unit_test(managed_orphan_is_destroyed_after_grace),
        cmocka_unit_test(deleted_object_has_its_slice_destroyed_before_it_goes),
        cmocka_unit_test(orphan_clock_restarts_with_the_agent),
        cmocka_unit_test(unmanaged_slice_is_left_alone),
        cmocka_unit_test(ledger_names_the_slices_gpuslice_made_after_the_store_is_lost),
        cmocka_unit_test(a_destroyed_slice_leaves_the_ledger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
