/*
 * Warm slices on the node (agent_warm.c): a Warm GPUSlice's slice stays on
 * the GPU past the orphan grace and across a restart, without its CDI spec;
 * a GPUSlice of its namespace at the same placement takes it over (no
 * create), and the warm one's release then destroys nothing; a GPUSlice of
 * another namespace, or a second taker, never gets it; a warm slice
 * released with no heir is destroyed.
 */
#include "harness.h"

#include <unistd.h>

#define LAT "latency=none"
#define WARM_UNTIL "2027-01-15T08:00:30Z"

struct fixture {
    struct harness *h;
    char dir[64];
    json_t *pod;
    char warm[GPUSLICE_NAME_MAX];
};

/* A made 1g.10gb of pod "a" at memory slice 3 on GPU 0, its pod ended and
 * the slice Warm, as the controller leaves it; orphan grace 1 s. */
static struct fixture *warm_fixture(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/gpuslice-agent-warm-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct agent_config o = {.orphan_grace_ns = SEC, .cdi_dir = f->dir};
    f->h = h_new_with("model=H100-80GB," LAT, &o);
    f->pod = h_pod(f->h, "a");
    h_slice(f->h, f->pod, 0, 0, "1g.10gb", 3, 1, f->warm);
    h_settle(f->h, SEC);
    assert_string_equal(h_phase(f->h, f->warm), "Created");
    h_set_phase(f->h, f->warm, "Ungated");
    h_set_phase_until(f->h, f->warm, "Warm", WARM_UNTIL);
    return f;
}

static void fixture_free(struct fixture *f)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    json_decref(f->pod);
    h_free(f->h);
    free(f);
}

static bool cdi_spec_there(struct fixture *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/gpuslice-mig-%s-3.json", f->dir, h_gpu(f->h, 0));
    return access(path, F_OK) == 0;
}

static struct agent_stats stats(struct harness *h)
{
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    return s;
}

/* A GPUSlice of pod `name` in namespace ns at the warm slice's placement. */
static void taker(struct harness *h, const char *ns, const char *name,
                  char out[GPUSLICE_NAME_MAX])
{
    json_t *pod = h_pod_in(h, ns, name);
    char cm[128];
    snprintf(cm, sizeof cm, "%s-main", name);
    struct gpuslice_spec spec = {
        .pod_name = name, .pod_uid = meta_uid(pod), .container = "main", .node = NODE,
        .gpu_uuid = h_gpu(h, 0), .profile = "1g.10gb", .start = 3, .size = 1, .config_map = cm,
    };
    json_t *obj = gpuslice_new(ns, &spec, pod);
    snprintf(out, GPUSLICE_NAME_MAX, "%s", meta_name(obj));
    h_create(h, h->slices, ns, obj, NULL);
    json_decref(pod);
}

static const char *phase_in(struct harness *h, const char *ns, const char *name)
{
    static char buf[64];
    json_t *obj = h_get(h, h->slices, ns, name);
    assert_non_null(obj);
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(obj, &v, NULL), 0);
    snprintf(buf, sizeof buf, "%s", v.status.phase);
    json_decref(obj);
    return buf;
}

static void a_warm_slice_stays_and_goes_to_the_next_pod(void **state)
{
    (void)state;
    struct fixture *f = warm_fixture();
    struct harness *h = f->h;
    const char *uuid = h_status(h, f->warm, "deviceUUID");
    char was[64];
    snprintf(was, sizeof was, "%s", uuid);
    h_settle(h, 10 * SEC); /* far past the orphan grace */
    struct device_slices dev;
    assert_int_equal(h_device_slices(h, &dev), 1);
    assert_string_equal(h_phase(h, f->warm), "Warm");
    assert_false(cdi_spec_there(f)); /* no container uses it */
    assert_null(h_cm(h, "a-main", "NVIDIA_VISIBLE_DEVICES"));
    h_invariant(h);

    char next[GPUSLICE_NAME_MAX];
    taker(h, NS, "b", next);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, next), "Created");
    assert_string_equal(h_status(h, next, "deviceUUID"), was);
    assert_true(cdi_spec_there(f));
    assert_string_equal(h_cm(h, "b-main", "NVIDIA_VISIBLE_DEVICES"), was);
    assert_int_equal(stats(h).creates, 1);
    /* The controller lets the warm one go: nothing is destroyed, and the
     * heir's CDI spec stays. */
    h_set_phase(h, f->warm, "Deleting");
    h_settle(h, 5 * SEC);
    assert_string_equal(h_phase(h, f->warm), "Deleted");
    assert_int_equal(h_device_slices(h, &dev), 1);
    assert_int_equal(stats(h).destroys, 0);
    assert_true(cdi_spec_there(f));
    h_invariant(h);
    /* The heir's own release (the controller deletes it) destroys it as
     * any made slice, and the object goes. */
    struct err e = {0};
    h_ok(store_delete(h->st, h->slices, NS, next, &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete GPUSlice");
    h_settle(h, SEC);
    assert_int_equal(h_device_slices(h, &dev), 0);
    assert_int_equal(stats(h).destroys, 1);
    json_t *gone = NULL;
    assert_int_equal(store_get(h->st, h->slices, NS, next, &gone, NULL), -ENOENT);
    fixture_free(f);
}

static void a_warm_slice_never_goes_to_another_namespace(void **state)
{
    (void)state;
    struct fixture *f = warm_fixture();
    struct harness *h = f->h;
    h_create(h, h->namespaces, NULL, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
                                               "kind", "Namespace", "metadata", "name",
                                               "other"),
             NULL);
    char next[GPUSLICE_NAME_MAX];
    taker(h, "other", "b", next);
    h_settle(h, SEC);
    assert_string_equal(phase_in(h, "other", next), "Failed");
    assert_string_equal(h_phase(h, f->warm), "Warm");
    struct device_slices dev;
    assert_int_equal(h_device_slices(h, &dev), 1);
    fixture_free(f);
}

static void two_takers_never_share_a_warm_slice(void **state)
{
    (void)state;
    struct fixture *f = warm_fixture();
    struct harness *h = f->h;
    h_settle(h, SEC);
    char b[GPUSLICE_NAME_MAX], c[GPUSLICE_NAME_MAX];
    taker(h, NS, "b", b);
    taker(h, NS, "c", c);
    h_settle(h, SEC);
    const char *pb = h_phase(h, b), *pc = h_phase(h, c);
    assert_true((strcmp(pb, "Created") == 0) != (strcmp(pc, "Created") == 0));
    const char *loser = strcmp(pb, "Created") == 0 ? c : b;
    assert_string_equal(h_phase(h, loser), "Failed");
    assert_string_equal(h_status(h, loser, "reason"), "SliceTaken");
    /* Nor does a pod get the slice of a running one (no warm slice). */
    char d[GPUSLICE_NAME_MAX];
    taker(h, NS, "d", d);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, d), "Failed");
    assert_string_equal(h_status(h, d, "reason"), "SliceTaken");
    fixture_free(f);
}

static void a_warm_slice_released_without_heir_is_destroyed(void **state)
{
    (void)state;
    struct fixture *f = warm_fixture();
    struct harness *h = f->h;
    h_settle(h, SEC);
    h_set_phase(h, f->warm, "Deleting"); /* its time ran out */
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, f->warm), "Deleted");
    struct device_slices dev;
    assert_int_equal(h_device_slices(h, &dev), 0);
    assert_int_equal(stats(h).destroys, 1);
    h_invariant(h);
    fixture_free(f);
}

static void a_restarted_agent_keeps_a_warm_slice(void **state)
{
    (void)state;
    struct fixture *f = warm_fixture();
    struct harness *h = f->h;
    h_settle(h, SEC);
    h_agent(h);
    h_settle(h, 30 * SEC);
    struct device_slices dev;
    assert_int_equal(h_device_slices(h, &dev), 1);
    assert_string_equal(h_phase(h, f->warm), "Warm");
    assert_int_equal(stats(h).destroys, 0);
    /* and hands it over as before */
    char next[GPUSLICE_NAME_MAX];
    taker(h, NS, "b", next);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, next), "Created");
    assert_int_equal(stats(h).creates, 0);
    h_invariant(h);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_warm_slice_stays_and_goes_to_the_next_pod),
        cmocka_unit_test(a_warm_slice_never_goes_to_another_namespace),
        cmocka_unit_test(two_takers_never_share_a_warm_slice),
        cmocka_unit_test(a_warm_slice_released_without_heir_is_destroyed),
        cmocka_unit_test(a_restarted_agent_keeps_a_warm_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
