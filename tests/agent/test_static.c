/*
 * The agent on a mig-static GPU (agent_mode.c): the mode it applies and a
 * change that waits for gpuslice's slices to go (status, condition,
 * Events); the admin's slices handed over as created ones are (ConfigMap),
 * never made, never destroyed, reported managed false; one existing slice
 * named by two GPUSlices goes to one of them.
 */
#include "harness.h"

#include "api/gpunode.h"

#define LAT "latency=none"

/* One A100-40GB with the all-balanced layout (2g.10gb at 0, 1g.5gb at 2
 * and 3, 3g.20gb at 4) made by someone else, and a GPUNode whose spec sets
 * the GPU's mode. */
static struct harness *all_balanced(const char *mode)
{
    struct agent_config opts = {.orphan_grace_ns = SEC};
    struct harness *h = h_new_with("model=A100-40GB," LAT, &opts);
    static const struct {
        const char *profile;
        unsigned start;
    } layout[] = {{"2g.10gb", 0}, {"1g.5gb", 2}, {"1g.5gb", 3}, {"3g.20gb", 4}};
    for (size_t i = 0; i < 4; i++) {
        struct device_slice_ref ref = {.gpu_index = 0, .profile = layout[i].profile,
                                       .start = layout[i].start};
        struct err e = {0};
        h_ok(emulated_add_slice(h->dev, &ref, NULL, &e), &e, "emulated_add_slice");
    }
    h_gpunode(h, (const char *const[]){mode}, 1);
    return h;
}

static void set_mode(struct harness *h, const char *mode)
{
    json_t *obj = h_get(h, h->gpunodes, NULL, NODE);
    json_t *g = json_array_get(json_object_get(json_object_get(obj, "spec"), "gpus"), 0);
    json_object_set_new(g, "mode", json_string(mode));
    struct err e = {0};
    h_ok(store_update(h->st, h->gpunodes, NULL, obj, &(struct store_write_opts){0}, NULL, &e),
         &e, "set mode");
    json_decref(obj);
}

static struct gpunode_view *read_gpunode(struct harness *h, json_t **obj)
{
    static struct gpunode_view v;
    *obj = h_get(h, h->gpunodes, NULL, NODE);
    assert_non_null(*obj);
    assert_int_equal(gpunode_read(*obj, &v, NULL), 0);
    return &v;
}

/* An existing-slice GPUSlice, as the controller writes one for a slice of
 * a mig-static GPU, for pod's container "main". */
static void existing_slice(struct harness *h, const json_t *pod, const char *profile,
                           unsigned start, char name[GPUSLICE_NAME_MAX])
{
    h_slice(h, pod, 0, 0, profile, start, 1, name);
    json_t *obj = h_get(h, h->slices, NS, name);
    json_object_set_new(json_object_get(obj, "spec"), "existing", json_true());
    struct err e = {0};
    h_ok(store_update(h->st, h->slices, NS, obj, &(struct store_write_opts){0}, NULL, &e), &e,
         "mark existing");
    json_decref(obj);
}

static size_t events(struct harness *h, const char *reason, char *msg, size_t size)
{
    json_t *list = NULL;
    struct err e = {0};
    h_ok(store_list(h->st, h_res(h, "", "v1", "events"), NULL, NULL, &list, &e), &e, "events");
    size_t n = 0, i;
    json_t *ev;
    json_array_foreach(json_object_get(list, "items"), i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        if (!r || strcmp(r, reason) != 0)
            continue;
        n++;
        if (msg)
            snprintf(msg, size, "%s", json_string_value(json_object_get(ev, "message")));
    }
    json_decref(list);
    return n;
}

static void the_layout_is_handed_out_never_made_or_destroyed(void **state)
{
    (void)state;
    struct harness *h = all_balanced("mig-static");
    h_settle(h, SEC);
    json_t *gn;
    struct gpunode_view *v = read_gpunode(h, &gn);
    assert_true(v->gpus[0].has_active);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_MIG_STATIC);
    assert_int_equal(v->gpus[0].n_slices, 4);
    for (size_t i = 0; i < 4; i++)
        assert_false(v->gpus[0].slices[i].managed);
    assert_null(v->mode_pending);
    json_decref(gn);

    json_t *pod = h_pod(h, "a");
    char name[GPUSLICE_NAME_MAX];
    existing_slice(h, pod, "1g.5gb", 2, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    struct device_slices dev;
    h_device_slices(h, &dev);
    assert_int_equal(dev.n, 4);
    const char *uuid = h_status(h, name, "deviceUUID");
    assert_true(strncmp(uuid, "MIG-", 4) == 0);
    assert_string_equal(h_cm(h, "a-main", "NVIDIA_VISIBLE_DEVICES"), uuid);
    h_invariant(h);
    /* Still reported as the admin's while held. */
    v = read_gpunode(h, &gn);
    for (size_t i = 0; i < 4; i++)
        assert_false(v->gpus[0].slices[i].managed);
    json_decref(gn);

    /* Released: nothing destroyed, the ConfigMap goes, even past the
     * orphan grace. */
    h_set_phase(h, name, "Deleting");
    h_settle(h, 10 * SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_int_equal(h_device_slices(h, &dev), 4);
    assert_null(h_cm(h, "a-main", "NVIDIA_VISIBLE_DEVICES"));

    /* A slice the layout does not have is not made. */
    json_t *pod2 = h_pod(h, "b");
    h_slice(h, pod2, 0, 0, "1g.5gb", 6, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Failed");
    assert_string_equal(h_status(h, name, "reason"), "SliceNotFound");
    assert_int_equal(h_device_slices(h, &dev), 4);
    json_decref(pod);
    json_decref(pod2);
    h_free(h);
}

static void one_existing_slice_goes_to_one_gpuslice(void **state)
{
    (void)state;
    struct harness *h = all_balanced("mig-static");
    h_settle(h, SEC);
    json_t *p1 = h_pod(h, "one"), *p2 = h_pod(h, "two");
    char n1[GPUSLICE_NAME_MAX], n2[GPUSLICE_NAME_MAX];
    /* Two controllers (or one behind its cache) named the same slice. */
    existing_slice(h, p1, "1g.5gb", 3, n1);
    existing_slice(h, p2, "1g.5gb", 3, n2);
    h_settle(h, SEC);
    const char *ph1 = h_phase(h, n1), *ph2 = h_phase(h, n2);
    assert_true((strcmp(ph1, "Created") == 0) != (strcmp(ph2, "Created") == 0));
    const char *loser = strcmp(ph1, "Created") == 0 ? n2 : n1;
    assert_string_equal(h_phase(h, loser), "Failed");
    assert_string_equal(h_status(h, loser, "reason"), "SliceTaken");
    h_invariant(h);
    json_decref(p1);
    json_decref(p2);
    h_free(h);
}

static void a_mode_change_waits_for_the_gpu_to_empty(void **state)
{
    (void)state;
    struct harness *h = all_balanced("mig-static");
    h_settle(h, SEC);
    json_t *pod = h_pod(h, "a");
    char name[GPUSLICE_NAME_MAX];
    existing_slice(h, pod, "3g.20gb", 4, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");

    set_mode(h, "mig");
    h_settle(h, SEC);
    json_t *gn;
    struct gpunode_view *v = read_gpunode(h, &gn);
    assert_int_equal(v->gpus[0].mode, GPUNODE_MODE_MIG);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_MIG_STATIC);
    assert_non_null(v->mode_pending);
    assert_non_null(strstr(v->mode_pending, "mode mig waits until gpuslice's 1 slice there is "
                                            "gone"));
    json_decref(gn);
    char msg[512];
    assert_int_equal(events(h, "ModeChangePending", msg, sizeof msg), 1);
    h_settle(h, 5 * SEC); /* said once */
    assert_int_equal(events(h, "ModeChangePending", NULL, 0), 1);

    h_set_phase(h, name, "Deleting");
    h_settle(h, 10 * SEC);
    v = read_gpunode(h, &gn);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_MIG);
    assert_null(v->mode_pending);
    for (size_t i = 0; i < v->gpus[0].n_slices; i++)
        assert_false(v->gpus[0].slices[i].managed);
    json_decref(gn);
    assert_int_equal(events(h, "ModeChanged", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "mode mig applied"));
    /* In mode mig the admin's slices are left alone, past the grace. */
    h_settle(h, 60 * SEC);
    struct device_slices dev;
    assert_int_equal(h_device_slices(h, &dev), 4);
    json_decref(pod);
    h_free(h);
}

/* A restarted agent reads the mode applied from status, so a GPU that
 * switched does not switch back while it is busy. */
static void a_restarted_agent_keeps_the_mode_applied(void **state)
{
    (void)state;
    struct harness *h = all_balanced("mig-static");
    h_settle(h, SEC);
    json_t *pod = h_pod(h, "a");
    char name[GPUSLICE_NAME_MAX];
    existing_slice(h, pod, "1g.5gb", 2, name);
    h_settle(h, SEC);
    set_mode(h, "mig");
    h_agent(h);
    h_settle(h, 5 * SEC);
    json_t *gn;
    struct gpunode_view *v = read_gpunode(h, &gn);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_MIG_STATIC);
    assert_non_null(v->mode_pending);
    json_decref(gn);
    assert_string_equal(h_phase(h, name), "Created");
    json_decref(pod);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_layout_is_handed_out_never_made_or_destroyed),
        cmocka_unit_test(one_existing_slice_goes_to_one_gpuslice),
        cmocka_unit_test(a_mode_change_waits_for_the_gpu_to_empty),
        cmocka_unit_test(a_restarted_agent_keeps_the_mode_applied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
