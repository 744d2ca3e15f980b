/* Slices through the nvml backend over the fake library: create and destroy
 * at every placement of every H100 profile, the compute instance looked up
 * inside the GPU instance, refusals mapped to the agent's codes, profile
 * names resolved on the GPU, and listing what exists (instances made by
 * others, GIs without a CI, several GPUs). */
#include "fake.h"

#define H100 "model=H100-80GB"

static struct device_inventory *discover(struct device *d)
{
    struct device_inventory *inv = malloc(sizeof *inv);
    struct err e;
    if (device_discover(d, inv, NULL, &e) != 0)
        fail_msg("discover: %s", e.msg);
    return inv;
}

static unsigned list(struct device *d, struct device_slices *out)
{
    struct err e;
    uint64_t took = 0;
    if (device_list_slices(d, out, &took, &e) != 0)
        fail_msg("list: %s", e.msg);
    assert_true(took > 0);
    return out->n;
}

/* The compute slices of the compute instance in the GI of profile id that
 * starts at start, asked of the fake directly (0: no CI). */
static unsigned ci_span(struct fake *f, unsigned gpu, unsigned id, unsigned start)
{
    const struct nvml_sym *n = &f->nvml;
    nvmlDevice_t dev;
    nvmlGpuInstance_t gis[8];
    unsigned count = 0, span = 0;
    assert_int_equal(n->nvmlInit_v2(), 0);
    assert_int_equal(n->nvmlDeviceGetHandleByIndex_v2(gpu, &dev), 0);
    assert_int_equal(n->nvmlDeviceGetGpuInstances(dev, id, gis, &count), 0);
    for (unsigned i = 0; i < count; i++) {
        nvmlGpuInstanceInfo_t info;
        assert_int_equal(n->nvmlGpuInstanceGetInfo(gis[i], &info), 0);
        for (unsigned k = 0; info.placement.start == start && k < 9; k++) {
            nvmlComputeInstanceProfileInfo_t ci;
            nvmlComputeInstance_t cis[8];
            unsigned m = 0;
            if (n->nvmlGpuInstanceGetComputeInstanceProfileInfo(gis[i], k, 0, &ci) != 0)
                continue;
            assert_int_equal(n->nvmlGpuInstanceGetComputeInstances(gis[i], ci.id, cis, &m), 0);
            if (m)
                span = ci.sliceCount;
        }
    }
    assert_int_equal(n->nvmlShutdown(), 0);
    return span;
}

static void every_placement_of_every_h100_profile(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100);
    struct device_inventory *inv = discover(d);
    struct device_slices *l = malloc(sizeof *l);
    const struct device_gpu *g = &inv->gpus[0];
    unsigned made = 0;
    struct err e;
    err_clear(&e);
    for (unsigned i = 0; i < g->n_profiles; i++) {
        const struct device_profile *p = &g->profiles[i];
        for (unsigned k = 0; k < p->n_placements; k++) {
            struct device_slice_ref r = {.gpu_uuid = g->uuid, .profile = p->name,
                                         .start = p->placements[k].start};
            struct device_slice s;
            uint64_t took = 0;
            if (device_create_slice(d, &r, &s, &took, &e) != 0)
                fail_msg("create %s at %u: %s", p->name, r.start, e.msg);
            assert_true(took > 0);
            assert_string_equal(s.profile, p->name);
            assert_int_equal(s.profile_id, p->nvml_id);
            assert_string_equal(s.gpu_uuid, g->uuid);
            assert_int_equal(s.placement.start, p->placements[k].start);
            assert_int_equal(s.placement.size, p->placements[k].size);
            assert_int_equal(s.gi_id, 1);
            assert_int_equal(s.ci_id, 0);
            assert_int_equal(strncmp(s.uuid, "MIG-", 4), 0);
            assert_fake_holds(f, 0, 1, 1);
            /* The CI spans the GI: found by its slices, not by the GI's id. */
            assert_int_equal(ci_span(f, 0, p->nvml_id, r.start), p->compute_slices);
            assert_int_equal(list(d, l), 1);
            assert_memory_equal(&l->items[0], &s, sizeof s);
            if (device_destroy_slice(d, &r, &took, &e) != 0)
                fail_msg("destroy %s at %u: %s", p->name, r.start, e.msg);
            assert_fake_holds(f, 0, 0, 0);
            assert_int_equal(list(d, l), 0);
            made++;
        }
    }
    assert_int_equal(made, 7 + 7 + 4 + 3 + 2 + 1 + 1);
    free(l);
    free(inv);
    device_close(d);
    fake_detach(f);
}

static void a_full_gpu_is_listed_by_start_and_refuses_more(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100);
    struct device_slices *l = malloc(sizeof *l);
    struct err e;
    err_clear(&e);
    static const unsigned order[] = {6, 2, 0, 5, 1, 4, 3};
    for (unsigned i = 0; i < 7; i++) {
        struct device_slice_ref r = ref_at(0, "1g.10gb", order[i]);
        assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    }
    assert_fake_holds(f, 0, 7, 7);
    assert_int_equal(list(d, l), 7);
    for (unsigned i = 0; i < 7; i++) {
        assert_int_equal(l->items[i].placement.start, i);
        for (unsigned k = 0; k < i; k++)
            assert_string_not_equal(l->items[i].uuid, l->items[k].uuid);
    }
    struct device_slice_ref me = ref_at(0, "1g.10gb+me", 6);
    assert_int_equal(device_create_slice(d, &me, NULL, NULL, &e), -ENOSPC);
    assert_msg_has(&e, "nvml: create 1g.10gb+me at 6 on GPU 0: NVML_ERROR_INSUFFICIENT_RESOURCES"
                       ": nvmlDeviceCreateGpuInstanceWithPlacement(profile id 20, {6}:1): "
                       "Insufficient Resources");
    assert_fake_holds(f, 0, 7, 7);
    free(l);
    device_close(d);
    fake_detach(f);
}

static void refusals_are_mapped(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100);
    struct err e;
    err_clear(&e);
    struct device_slice_ref r = ref_at(0, "1g.10gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    r = ref_at(0, "2g.20gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOSPC);
    r = ref_at(0, "3g.40gb", 2); /* not a start 3g may take */
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -EINVAL);
    assert_msg_has(&e, "NVML_ERROR_INVALID_ARGUMENT");
    r = ref_at(0, "5g.50gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -EINVAL);
    assert_msg_has(&e, "has no profile \"5g.50gb\" (it has: 1g.10gb, 2g.20gb, 3g.40gb, "
                       "4g.40gb, 7g.80gb, 1g.10gb+me, 1g.20gb)");
    r = ref_at(3, "1g.10gb", 1);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENODEV);
    assert_msg_has(&e, "no GPU 3 (the node has 1)");
    r = (struct device_slice_ref){.gpu_uuid = "GPU-nope", .profile = "1g.10gb", .start = 1};
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENODEV);
    assert_msg_has(&e, "no GPU GPU-nope on this node");
    /* Destroying what is not there: -ENOENT, the agent's "already gone". */
    r = ref_at(0, "1g.10gb", 4);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -ENOENT);
    assert_msg_has(&e, "no 1g.10gb starts at memory slice 4 of GPU 0");
    r = ref_at(0, "1g.20gb", 0); /* something else starts there */
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -ENOENT);
    assert_fake_holds(f, 0, 1, 1);
    device_close(d);
    fake_detach(f);
}

/* A request may use a catalogue name or alias of the GPU's profile. */
static void catalogue_names_resolve_on_the_gpu(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100);
    struct device_slice s;
    struct device_slice_ref r = ref_at(0, "nvidia.com/mig-3g.40gb", 4);
    assert_int_equal(device_create_slice(d, &r, &s, NULL, NULL), 0);
    assert_string_equal(s.profile, "3g.40gb");
    r = ref_at(0, "mig-3g.40gb", 4);
    assert_int_equal(device_destroy_slice(d, &r, NULL, NULL), 0);
    assert_fake_holds(f, 0, 0, 0);
    device_close(d);
    fake_detach(f);
}

/* A driver that names profiles otherwise than the catalogue (here: the
 * same H100 reporting 78 GiB of memory, so the share rule rounds the other
 * way): the difference is reported, and the catalogue's names still find
 * the GPU's profiles, by kind. */
static void renamed_profiles_are_reported_and_resolved(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",gpu-memory=0:79872");
    struct device_inventory *inv = discover(d);
    const struct device_gpu *g = &inv->gpus[0];
    const struct device_profile *p3 = NULL;
    for (unsigned i = 0; i < g->n_profiles; i++)
        if (g->profiles[i].nvml_index == 2)
            p3 = &g->profiles[i];
    assert_non_null(p3);
    assert_string_equal(p3->name, "3g.49gb");
    assert_string_equal(p3->catalog->name, "3g.40gb");
    char report[2048];
    assert_int_equal(device_catalog_report(g, report, sizeof report), 5);
    assert_non_null(strstr(report, "GPU 0: the driver names 3g.49gb what the catalogue of "
                                   "H100-80GB calls 3g.40gb"));
    assert_null(strstr(report, "1g.10gb")); /* named alike: not reported */

    struct device_slice s;
    struct device_slice_ref r = ref_at(0, "3g.40gb", 4);
    assert_int_equal(device_create_slice(d, &r, &s, NULL, NULL), 0);
    assert_string_equal(s.profile, "3g.49gb"); /* the device's own name */
    r = ref_at(0, "2g.29gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, NULL), 0);
    r = ref_at(0, "3g.40gb", 4);
    assert_int_equal(device_destroy_slice(d, &r, NULL, NULL), 0);
    r = ref_at(0, "2g.20gb", 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, NULL), 0);
    assert_fake_holds(f, 0, 0, 0);
    free(inv);
    device_close(d);
    fake_detach(f);
}

/* Instances made before the agent (by an operator, a previous run), one
 * of them a GI left without a CI, on the second of two GPUs. */
static void existing_instances_are_listed_and_destroyed(void **state)
{
    (void)state;
    struct fake *f = fake_attach();
    struct device *d = fake_open(f, H100 ",count=2,slice=1:3g.40gb@4,slice=1:1g.10gb@0:noci,"
                                    "model=H100-80GB,mig=off");
    struct device_inventory *inv = discover(d);
    struct device_slices *l = malloc(sizeof *l);
    assert_int_equal(list(d, l), 2); /* the MIG-disabled third GPU adds nothing */
    const struct device_slice *a = &l->items[0], *b = &l->items[1];
    assert_int_equal(a->gpu_index, 1);
    assert_string_equal(a->gpu_uuid, inv->gpus[1].uuid);
    assert_string_equal(a->profile, "1g.10gb");
    assert_int_equal(a->ci_id, DEVICE_NO_CI);
    assert_string_equal(a->uuid, "");
    assert_string_equal(b->profile, "3g.40gb");
    assert_int_equal(b->placement.start, 4);
    assert_int_equal(b->placement.size, 4);
    assert_int_equal(b->ci_id, 0);
    assert_int_equal(strncmp(b->uuid, "MIG-", 4), 0);
    assert_int_not_equal(a->gi_id, b->gi_id);

    struct device_slice_ref r = {.gpu_uuid = inv->gpus[1].uuid, .profile = "1g.10gb"};
    assert_int_equal(device_destroy_slice(d, &r, NULL, NULL), 0);
    assert_fake_holds(f, 1, 1, 1);
    r.profile = "3g.40gb";
    r.start = 4;
    assert_int_equal(device_destroy_slice(d, &r, NULL, NULL), 0);
    assert_fake_holds(f, 1, 0, 0);
    assert_int_equal(list(d, l), 0);
    free(l);
    free(inv);
    device_close(d);
    fake_detach(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_placement_of_every_h100_profile),
        cmocka_unit_test(a_full_gpu_is_listed_by_start_and_refuses_more),
        cmocka_unit_test(refusals_are_mapped),
        cmocka_unit_test(catalogue_names_resolve_on_the_gpu),
        cmocka_unit_test(renamed_profiles_are_reported_and_resolved),
        cmocka_unit_test(existing_instances_are_listed_and_destroyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
