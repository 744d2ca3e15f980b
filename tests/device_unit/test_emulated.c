/* Tests for the emulated backend: discovery, create/destroy under the real
 * placement rules, NVML's errors, injected faults and their rollback, in-use
 * slices, reboots, MIG modes, seeded determinism, concurrent callers, and
 * each GPU's one change at a time on a virtual clock. */
#include <pthread.h>

#include "helpers.h"

static struct device_slices *list_of(struct device *d)
{
    static struct device_slices list;
    struct err e;
    if (device_list_slices(d, &list, NULL, &e) != 0)
        fail_msg("list: %s", e.msg);
    return &list;
}

static struct gpu_occupancy occupancy_of(struct device *d, unsigned gpu)
{
    struct gpu_occupancy o;
    struct err e;
    if (emulated_occupancy(d, gpu, &o, &e) != 0)
        fail_msg("occupancy: %s", e.msg);
    return o;
}

static void discovery_reports_the_catalogue(void **state)
{
    (void)state;
    struct device *d = open_spec("model=H100-80GB,count=2,seed=3");
    struct device_inventory *inv = malloc(sizeof *inv);
    uint64_t took;
    assert_int_equal(device_discover(d, inv, &took, NULL), 0);
    assert_int_equal(inv->n_gpus, 2);
    assert_int_equal(took, 2 * UINT64_C(50000000)); /* default 50 ms per GPU */
    const struct gpu_model *m = catalog_find_model("H100-80GB");
    for (unsigned i = 0; i < 2; i++) {
        const struct device_gpu *g = &inv->gpus[i];
        assert_int_equal(g->index, i);
        assert_uuid_format(g->uuid, "GPU-");
        assert_string_equal(g->product, "NVIDIA H100 80GB HBM3");
        assert_ptr_equal(g->model, m);
        assert_int_equal(g->memory_mib, m->memory_mib);
        assert_int_equal(g->mig_current, DEVICE_MIG_ENABLED);
        assert_int_equal(g->mig_pending, DEVICE_MIG_ENABLED);
        assert_int_equal(strlen(g->pci_bus_id), 16);
        assert_int_equal(g->n_profiles, m->n_profiles);
        for (unsigned k = 0; k < g->n_profiles; k++) {
            const struct device_profile *p = &g->profiles[k];
            const struct mig_profile *c = &m->profiles[k];
            assert_ptr_equal(p->catalog, c);
            assert_string_equal(p->name, c->name);
            assert_int_equal(p->nvml_id, c->nvml_id);
            assert_int_equal(p->nvml_index, c->nvml_index);
            assert_int_equal(p->memory_mib, c->memory_mib);
            assert_int_equal(p->max_instances, c->max_instances);
            assert_int_equal(p->n_placements, c->n_placements);
            assert_memory_equal(p->placements, c->placements,
                                c->n_placements * sizeof c->placements[0]);
        }
    }
    assert_string_not_equal(inv->gpus[0].uuid, inv->gpus[1].uuid);
    assert_string_not_equal(inv->gpus[0].pci_bus_id, inv->gpus[1].pci_bus_id);
    /* The readout of a real H100 (tests/data): 1g.20gb is id 15 at {0,2,4,6}. */
    const struct device_profile *p = NULL;
    for (unsigned k = 0; k < inv->gpus[0].n_profiles; k++)
        if (strcmp(inv->gpus[0].profiles[k].name, "1g.20gb") == 0)
            p = &inv->gpus[0].profiles[k];
    assert_non_null(p);
    assert_int_equal(p->nvml_id, 15);
    assert_int_equal(p->n_placements, 4);
    assert_int_equal(p->placements[3].start, 6);
    free(inv);
    device_close(d);
}

/* A node holds as many GPUs as it has, up to the maximum: the last of
 * sixteen takes a slice like the first. */
static void the_sixteenth_gpu_is_a_gpu(void **state)
{
    (void)state;
    struct device *d = open_spec("model=H100-80GB,count=16,seed=3");
    struct device_slice_ref ref = {.gpu_index = 15, .profile = "3g.40gb", .start = 4};
    struct device_slice made;
    uint64_t took;
    assert_int_equal(device_create_slice(d, &ref, &made, &took, NULL), 0);
    assert_int_equal(made.gpu_index, 15);
    struct device_slices *list = malloc(sizeof *list);
    assert_int_equal(device_list_slices(d, list, &took, NULL), 0);
    assert_int_equal(list->n, 1);
    assert_int_equal(list->items[0].gpu_index, 15);
    assert_string_equal(list->items[0].gpu_uuid, made.gpu_uuid);
    free(list);
    device_close(d);
}

static void every_h100_placement_creates_and_destroys(void **state)
{
    (void)state;
    struct device *d = open_spec("seed=11");
    const struct gpu_model *m = catalog_find_model("H100-80GB");
    struct err e;
    unsigned made = 0;
    char seen[64][DEVICE_UUID_MAX];
    for (unsigned k = 0; k < m->n_profiles; k++) {
        const struct mig_profile *p = &m->profiles[k];
        for (unsigned i = 0; i < p->n_placements; i++) {
            struct device_slice_ref ref = ref_at(0, p->name, p->placements[i].start);
            struct device_slice s;
            if (device_create_slice(d, &ref, &s, NULL, &e) != 0)
                fail_msg("%s at %u: %s", p->name, ref.start, e.msg);
            assert_string_equal(s.profile, p->name);
            assert_int_equal(s.profile_id, p->nvml_id);
            assert_int_equal(s.placement.start, p->placements[i].start);
            assert_int_equal(s.placement.size, p->memory_slices);
            assert_int_equal(s.gpu_index, 0);
            assert_uuid_format(s.gpu_uuid, "GPU-");
            assert_true(s.gi_id >= 1);
            assert_int_equal(s.ci_id, 0);
            assert_uuid_format(s.uuid, "MIG-");
            for (unsigned j = 0; j < made; j++)
                assert_string_not_equal(seen[j], s.uuid);
            memcpy(seen[made++], s.uuid, DEVICE_UUID_MAX);

            struct device_slices *list = list_of(d);
            assert_int_equal(list->n, 1);
            assert_memory_equal(&list->items[0], &s, sizeof s);
            struct gpu_occupancy o = occupancy_of(d, 0);
            assert_int_equal(o.n_slices, 1);
            assert_int_equal(o.memory_mask, mig_placement_mask(p->placements[i]));
            assert_int_equal(o.slices[0].owner, s.gi_id);

            assert_int_equal(device_destroy_slice(d, &ref, NULL, &e), 0);
            assert_int_equal(list_of(d)->n, 0);
            assert_int_equal(occupancy_of(d, 0).memory_mask, 0);
        }
    }
    assert_int_equal(made, 7 + 7 + 4 + 3 + 2 + 1 + 1);
    device_close(d);
}

static void overlap_is_enospc_and_changes_nothing(void **state)
{
    (void)state;
    /* fail-create=2: a refused create must not count, so the 2nd slice made fails. */
    struct device *d = open_spec("fail-create=2");
    struct err e;
    struct device_slice_ref big = ref_at(0, "3g.40gb", 0);
    assert_int_equal(device_create_slice(d, &big, NULL, NULL, &e), 0);
    struct gpu_occupancy before = occupancy_of(d, 0);
    struct device_slices saved = *list_of(d);

    struct device_slice_ref inside = ref_at(0, "1g.10gb", 2);
    assert_int_equal(device_create_slice(d, &inside, NULL, NULL, &e), -ENOSPC);
    assert_msg_has(&e, "NVML_ERROR_INSUFFICIENT_RESOURCES");
    assert_msg_has(&e, "overlaps");
    struct device_slice_ref same = ref_at(0, "3g.40gb", 0);
    assert_int_equal(device_create_slice(d, &same, NULL, NULL, &e), -ENOSPC);
    struct gpu_occupancy after = occupancy_of(d, 0);
    assert_memory_equal(&before, &after, sizeof before);
    assert_memory_equal(&saved, list_of(d), sizeof saved);

    struct device_slice_ref next = ref_at(0, "1g.10gb", 4);
    assert_int_equal(device_create_slice(d, &next, NULL, NULL, &e), -EIO);
    assert_msg_has(&e, "create #2");
    device_close(d);
}

static void bad_requests_get_nvmls_errors(void **state)
{
    (void)state;
    struct device *d = open_spec("model=H100-80GB,count=2");
    struct err e;
    struct device_slice_ref r = ref_at(0, "2g.20gb", 1);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -EINVAL);
    assert_msg_has(&e, "NVML_ERROR_INVALID_ARGUMENT");
    assert_msg_has(&e, "legal starts: 0,2,4");
    r = ref_at(0, "5g.50gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -EINVAL);
    assert_msg_has(&e, "has no profile \"5g.50gb\"");
    r = ref_at(2, "1g.10gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENODEV);
    assert_msg_has(&e, "NVML_ERROR_GPU_NOT_FOUND");
    r.gpu_uuid = "GPU-00000000-0000-0000-0000-000000000000";
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENODEV);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -ENODEV);
    /* The 1g+me limit is one per GPU. */
    r = ref_at(1, "1g.10gb+me", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    r.start = 3;
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOSPC);
    assert_int_equal(list_of(d)->n, 1);
    device_close(d);
}

static void gpu_by_uuid_and_profile_by_alias(void **state)
{
    (void)state;
    struct device *d = open_spec("model=A100-80GB,count=2");
    struct device_inventory *inv = malloc(sizeof *inv);
    struct err e;
    assert_int_equal(device_discover(d, inv, NULL, &e), 0);
    struct device_slice_ref r = {.gpu_uuid = inv->gpus[1].uuid, .profile = "mig-3g.39gb",
                                 .start = 4};
    struct device_slice s;
    assert_int_equal(device_create_slice(d, &r, &s, NULL, &e), 0);
    assert_int_equal(s.gpu_index, 1);
    assert_string_equal(s.profile, "3g.40gb");
    r.profile = "nvidia.com/mig-3g.40gb";
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), 0);
    free(inv);
    device_close(d);
}

static void a30_has_its_own_geometry(void **state)
{
    (void)state;
    struct device *d = open_spec("model=A30-24GB");
    struct err e;
    struct device_slice_ref r = ref_at(0, "2g.12gb", 2);
    struct device_slice s;
    assert_int_equal(device_create_slice(d, &r, &s, NULL, &e), 0);
    assert_int_equal(s.profile_id, 5);
    r = ref_at(0, "4g.24gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOSPC);
    device_close(d);
}

static void ci_failure_rolls_the_gi_back(void **state)
{
    (void)state;
    struct device *d = open_spec("fail-create=1:ci,create-ms=900,destroy-ms=400");
    struct err e;
    struct device_slice_ref r = ref_at(0, "2g.20gb", 2);
    uint64_t took;
    assert_int_equal(device_create_slice(d, &r, NULL, &took, &e), -EIO);
    assert_msg_has(&e, "NVML_ERROR_UNKNOWN");
    assert_msg_has(&e, "at the CI step");
    assert_msg_has(&e, "the GI was destroyed again");
    assert_int_equal(took, UINT64_C(900000000) + UINT64_C(200000000));
    assert_int_equal(list_of(d)->n, 0);
    struct gpu_occupancy o = occupancy_of(d, 0);
    assert_int_equal(o.n_slices, 0);
    assert_int_equal(o.memory_mask, 0);
    assert_int_equal(o.compute_used, 0);
    /* The next create goes through. */
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    device_close(d);
}

static void gi_failure_makes_nothing(void **state)
{
    (void)state;
    struct device *d = open_spec("fail-create=2:gi,create-ms=900");
    struct err e;
    struct device_slice_ref a = ref_at(0, "1g.10gb", 0), b = ref_at(0, "1g.10gb", 1);
    uint64_t took;
    assert_int_equal(device_create_slice(d, &a, NULL, NULL, &e), 0);
    assert_int_equal(device_create_slice(d, &b, NULL, &took, &e), -EIO);
    assert_msg_has(&e, "at the GI step; nothing was made");
    assert_int_equal(took, UINT64_C(450000000));
    assert_int_equal(list_of(d)->n, 1);
    device_close(d);
}

static void hangs_report_a_timeout_and_leave_what_was_made(void **state)
{
    (void)state;
    struct device *d = open_spec("hang-create=1,hang-create=2:ci,hang-create=3:done,hang-ms=30000");
    struct err e;
    uint64_t took;
    struct device_slice_ref r0 = ref_at(0, "1g.10gb", 0), r1 = ref_at(0, "1g.10gb", 1),
                            r2 = ref_at(0, "1g.10gb", 2);
    assert_int_equal(device_create_slice(d, &r0, NULL, &took, &e), -ETIMEDOUT);
    assert_msg_has(&e, "NVML_ERROR_TIMEOUT");
    assert_int_equal(took, UINT64_C(30000000000));
    assert_int_equal(list_of(d)->n, 0);

    assert_int_equal(device_create_slice(d, &r1, NULL, NULL, &e), -ETIMEDOUT);
    struct device_slices *list = list_of(d);
    assert_int_equal(list->n, 1);
    assert_int_equal(list->items[0].placement.start, 1);
    assert_int_equal(list->items[0].ci_id, DEVICE_NO_CI);
    assert_string_equal(list->items[0].uuid, "");

    assert_int_equal(device_create_slice(d, &r2, NULL, NULL, &e), -ETIMEDOUT);
    list = list_of(d);
    assert_int_equal(list->n, 2);
    assert_int_equal(list->items[1].ci_id, 0);
    assert_uuid_format(list->items[1].uuid, "MIG-");

    /* Recovery can destroy both, the GI without CI included. */
    assert_int_equal(device_destroy_slice(d, &r1, NULL, &e), 0);
    assert_int_equal(device_destroy_slice(d, &r2, NULL, &e), 0);
    assert_int_equal(list_of(d)->n, 0);
    device_close(d);
}

static void destroy_faults_leave_what_remains(void **state)
{
    (void)state;
    struct device *d = open_spec("fail-destroy=1,fail-destroy=2:gi,hang-destroy=3:done");
    struct err e;
    struct device_slice_ref r = ref_at(0, "4g.40gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -EIO);
    assert_msg_has(&e, "nothing was destroyed");
    assert_int_equal(list_of(d)->n, 1);
    assert_int_equal(list_of(d)->items[0].ci_id, 0);

    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -EIO);
    assert_msg_has(&e, "the CI is gone, the GI is left");
    assert_int_equal(list_of(d)->n, 1);
    assert_int_equal(list_of(d)->items[0].ci_id, DEVICE_NO_CI);

    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -ETIMEDOUT);
    assert_int_equal(list_of(d)->n, 0);
    assert_int_equal(occupancy_of(d, 0).n_slices, 0);
    device_close(d);
}

static void destroy_of_what_is_not_there_is_enoent(void **state)
{
    (void)state;
    struct device *d = open_spec("");
    struct err e;
    struct device_slice_ref r = ref_at(0, "2g.20gb", 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -ENOENT);
    assert_msg_has(&e, "NVML_ERROR_NOT_FOUND");
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    struct device_slice_ref wrong = ref_at(0, "1g.20gb", 0);
    assert_int_equal(device_destroy_slice(d, &wrong, NULL, &e), -ENOENT);
    assert_msg_has(&e, "is 2g.20gb, not 1g.20gb");
    struct device_slice_ref inside = ref_at(0, "1g.10gb", 1);
    assert_int_equal(device_destroy_slice(d, &inside, NULL, &e), -ENOENT);
    assert_int_equal(list_of(d)->n, 1);
    device_close(d);
}

static void a_held_slice_is_busy(void **state)
{
    (void)state;
    struct device *d = open_spec("");
    struct err e;
    struct device_slice_ref r = ref_at(0, "1g.20gb", 6);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), 0);
    assert_int_equal(emulated_set_in_use(d, 0, 6, true, &e), 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), -EBUSY);
    assert_msg_has(&e, "NVML_ERROR_IN_USE");
    assert_int_equal(list_of(d)->n, 1);
    assert_int_equal(list_of(d)->items[0].ci_id, 0);
    assert_int_equal(emulated_set_in_use(d, 0, 6, false, &e), 0);
    assert_int_equal(device_destroy_slice(d, &r, NULL, &e), 0);

    assert_int_equal(emulated_set_in_use(d, 0, 6, true, &e), -ENOENT);
    assert_int_equal(emulated_set_in_use(d, 1, 0, true, &e), -ENODEV);
    device_close(d);
}

/* A slice made outside gpuslice: there at once, and the Nth-create fault
 * rules still count only the creates that came through the interface. */
static void an_added_slice_is_no_create_call(void **state)
{
    (void)state;
    struct device *d = open_spec("model=A100-40GB,fail-create=1");
    struct err e;
    struct device_slice_ref mine = ref_at(0, "3g.20gb", 4), other = ref_at(0, "1g.5gb", 0);
    struct device_slice got;
    assert_int_equal(emulated_add_slice(d, &mine, &got, &e), 0);
    assert_string_equal(got.profile, "3g.20gb");
    assert_int_equal(got.placement.start, 4);
    assert_uuid_format(got.uuid, "MIG-");
    assert_int_equal(list_of(d)->n, 1);
    assert_int_equal(device_create_slice(d, &other, NULL, NULL, &e), -EIO);
    assert_msg_has(&e, "create #1");
    assert_int_equal(emulated_add_slice(d, &mine, NULL, &e), -ENOSPC);
    struct device_slice_ref bad = ref_at(0, "9g.99gb", 0);
    assert_int_equal(emulated_add_slice(d, &bad, NULL, &e), -EINVAL);
    assert_int_equal(list_of(d)->n, 1);
    assert_int_equal(device_destroy_slice(d, &mine, NULL, &e), 0);
    device_close(d);
}

/* The count of changes grows with each call that may have changed what a
 * discovery reports (creates, destroys, added slices, reboots), not with
 * the reads; a backend without one says so. */
static void changes_count_what_moves_a_discovery(void **state)
{
    (void)state;
    struct device *d = open_spec("model=H100-80GB,count=2");
    struct err e;
    uint64_t n0, n;
    assert_int_equal(device_changes(d, &n0, &e), 0);
    struct device_inventory *inv = malloc(sizeof *inv);
    char boot[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_discover(d, inv, NULL, &e), 0);
    assert_int_equal(device_boot_id(d, boot, &e), 0);
    (void)list_of(d);
    assert_int_equal(device_changes(d, &n, &e), 0);
    assert_int_equal(n, n0);
    struct device_slice_ref a = ref_at(0, "3g.40gb", 4), b = ref_at(1, "1g.10gb", 0);
    assert_int_equal(device_create_slice(d, &a, NULL, NULL, &e), 0);
    assert_int_equal(device_changes(d, &n0, &e), 0);
    assert_true(n0 > n);
    assert_int_equal(emulated_add_slice(d, &b, NULL, &e), 0);
    assert_int_equal(device_changes(d, &n, &e), 0);
    assert_true(n > n0);
    assert_int_equal(device_destroy_slice(d, &a, NULL, &e), 0);
    assert_int_equal(device_changes(d, &n0, &e), 0);
    assert_true(n0 > n);
    assert_int_equal(emulated_reboot(d, NULL, &e), 0);
    assert_int_equal(device_changes(d, &n, &e), 0);
    assert_true(n > n0);
    assert_int_equal(device_changes(d, NULL, &e), -EINVAL);
    free(inv);
    device_close(d);

    static const struct device_ops uncounted_ops = {.name = "uncounted"};
    struct device uncounted = {.ops = &uncounted_ops};
    assert_int_equal(device_changes(&uncounted, &n, &e), -ENOTSUP);
    assert_msg_has(&e, "uncounted: ");
}

static void extras_refuse_other_devices(void **state)
{
    (void)state;
    static const struct device_ops other_ops = {.name = "other"};
    struct device other = {.ops = &other_ops};
    struct gpu_occupancy o;
    struct err e;
    assert_int_equal(emulated_reboot(&other, NULL, &e), -EINVAL);
    assert_msg_has(&e, "not an emulated device");
    assert_int_equal(emulated_set_in_use(&other, 0, 0, true, &e), -EINVAL);
    struct device_slice_ref r = ref_at(0, "1g.10gb", 0);
    assert_int_equal(emulated_add_slice(&other, &r, NULL, &e), -EINVAL);
    assert_int_equal(emulated_occupancy(&other, 0, &o, &e), -EINVAL);
    assert_int_equal(emulated_reboot(NULL, NULL, &e), -EINVAL);
    struct device *d = open_spec("");
    assert_int_equal(emulated_occupancy(d, 0, NULL, &e), -EINVAL);
    assert_int_equal(emulated_occupancy(d, 1, &o, &e), -ENODEV);
    device_close(d);
}

static void reboot_wipes_slices_and_changes_boot_id(void **state)
{
    (void)state;
    struct device *d = open_spec("model=H100-80GB,count=2,seed=5");
    struct err e;
    char before[DEVICE_BOOT_ID_MAX], after[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(d, before, &e), 0);
    assert_uuid_format(before, "");
    struct device_slice_ref a = ref_at(0, "7g.80gb", 0), b = ref_at(1, "3g.40gb", 4);
    assert_int_equal(device_create_slice(d, &a, NULL, NULL, &e), 0);
    assert_int_equal(device_create_slice(d, &b, NULL, NULL, &e), 0);
    assert_int_equal(emulated_set_in_use(d, 1, 4, true, &e), 0);

    assert_int_equal(emulated_reboot(d, NULL, &e), 0);
    assert_int_equal(device_boot_id(d, after, &e), 0);
    assert_string_not_equal(before, after);
    assert_int_equal(list_of(d)->n, 0);
    assert_int_equal(occupancy_of(d, 0).n_slices, 0);
    assert_int_equal(occupancy_of(d, 1).n_slices, 0);
    /* The in-use mark went with the slice: a new one there destroys fine. */
    assert_int_equal(device_create_slice(d, &b, NULL, NULL, &e), 0);
    assert_int_equal(device_destroy_slice(d, &b, NULL, &e), 0);

    assert_int_equal(emulated_reboot(d, "given-boot-id", &e), 0);
    assert_int_equal(device_boot_id(d, after, &e), 0);
    assert_string_equal(after, "given-boot-id");
    /* Asking for the same id again still changes it: a reboot always does. */
    assert_int_equal(emulated_reboot(d, "given-boot-id", &e), 0);
    assert_int_equal(device_boot_id(d, after, &e), 0);
    assert_string_not_equal(after, "given-boot-id");
    assert_int_equal(emulated_reboot(d, "", &e), -EINVAL);
    device_close(d);
}

static void disabled_mig_refuses_and_pending_mig_comes_with_reboot(void **state)
{
    (void)state;
    struct device *d = open_spec("model=A100-40GB,mig=off,model=H100-80GB,mig=pending");
    struct err e;
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, &e), 0);
    assert_int_equal(inv->gpus[0].mig_current, DEVICE_MIG_DISABLED);
    assert_int_equal(inv->gpus[0].mig_pending, DEVICE_MIG_DISABLED);
    assert_int_equal(inv->gpus[1].mig_current, DEVICE_MIG_DISABLED);
    assert_int_equal(inv->gpus[1].mig_pending, DEVICE_MIG_ENABLED);
    /* Profiles are reported with MIG off, as the driver does. */
    assert_true(inv->gpus[0].n_profiles > 0);

    struct device_slice_ref r0 = ref_at(0, "1g.5gb", 0), r1 = ref_at(1, "1g.10gb", 0);
    assert_int_equal(device_create_slice(d, &r0, NULL, NULL, &e), -ENOTSUP);
    assert_msg_has(&e, "NVML_ERROR_NOT_SUPPORTED: MIG is disabled on GPU 0");
    assert_int_equal(device_destroy_slice(d, &r0, NULL, &e), -ENOTSUP);
    assert_int_equal(device_create_slice(d, &r1, NULL, NULL, &e), -ENOTSUP);
    assert_msg_has(&e, "enabled after the next reboot");

    assert_int_equal(emulated_reboot(d, NULL, &e), 0);
    assert_int_equal(device_create_slice(d, &r0, NULL, NULL, &e), -ENOTSUP);
    assert_int_equal(device_create_slice(d, &r1, NULL, NULL, &e), 0);
    assert_int_equal(list_of(d)->n, 1);
    assert_int_equal(list_of(d)->items[0].gpu_index, 1);
    free(inv);
    device_close(d);
}

static void uncatalogued_gpu_is_reported_not_dropped(void **state)
{
    (void)state;
    struct device *d = open_spec("other=NVIDIA L4,memory-mib=23034,model=H100-80GB");
    struct err e;
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, &e), 0);
    assert_int_equal(inv->n_gpus, 2);
    assert_string_equal(inv->gpus[0].product, "NVIDIA L4");
    assert_null(inv->gpus[0].model);
    assert_int_equal(inv->gpus[0].memory_mib, 23034);
    assert_int_equal(inv->gpus[0].mig_current, DEVICE_MIG_UNSUPPORTED);
    assert_int_equal(inv->gpus[0].n_profiles, 0);
    struct device_slice_ref r = ref_at(0, "1g.10gb", 0);
    assert_int_equal(device_create_slice(d, &r, NULL, NULL, &e), -ENOTSUP);
    assert_msg_has(&e, "has no MIG");
    struct gpu_occupancy o = occupancy_of(d, 0);
    assert_null(o.model);
    assert_int_equal(o.n_slices, 0);
    free(inv);
    device_close(d);
}

static void gi_ids_reuse_the_lowest_free(void **state)
{
    (void)state;
    struct device *d = open_spec("");
    struct err e;
    struct device_slice s;
    struct device_slice_ref a = ref_at(0, "1g.10gb", 0), b = ref_at(0, "1g.10gb", 1),
                            c = ref_at(0, "1g.10gb", 2);
    assert_int_equal(device_create_slice(d, &a, &s, NULL, &e), 0);
    assert_int_equal(s.gi_id, 1);
    assert_int_equal(device_create_slice(d, &b, &s, NULL, &e), 0);
    assert_int_equal(s.gi_id, 2);
    assert_int_equal(device_destroy_slice(d, &a, NULL, &e), 0);
    assert_int_equal(device_create_slice(d, &c, &s, NULL, &e), 0);
    assert_int_equal(s.gi_id, 1);
    device_close(d);
}

/* The outcome of a fixed script of creates and destroys, as a bit string. */
static uint64_t fault_pattern(const char *spec, char first_uuid[DEVICE_UUID_MAX])
{
    struct device *d = open_spec(spec);
    uint64_t bits = 0;
    struct device_slice s;
    first_uuid[0] = '\0';
    for (unsigned i = 0; i < 32; i++) {
        struct device_slice_ref r = ref_at(0, "1g.10gb", i % 7);
        int rc = device_create_slice(d, &r, &s, NULL, NULL);
        bits = bits << 1 | (rc != 0);
        if (rc == 0 && !first_uuid[0])
            memcpy(first_uuid, s.uuid, DEVICE_UUID_MAX);
        if (rc == 0) {
            rc = device_destroy_slice(d, &r, NULL, NULL);
            bits = bits << 1 | (rc != 0);
            if (rc != 0)
                emulated_reboot(d, NULL, NULL); /* start clean for the next round */
        }
    }
    device_close(d);
    return bits;
}

static void seeds_make_uuids_and_fault_draws_reproducible(void **state)
{
    (void)state;
    char u1[DEVICE_UUID_MAX], u2[DEVICE_UUID_MAX], u3[DEVICE_UUID_MAX];
    uint64_t a = fault_pattern("seed=7,fail-p=0.3", u1);
    uint64_t b = fault_pattern("seed=7,fail-p=0.3", u2);
    uint64_t c = fault_pattern("seed=8,fail-p=0.3", u3);
    assert_int_equal(a, b);
    assert_string_equal(u1, u2);
    assert_true(a != 0);
    assert_true(a != c);
    assert_string_not_equal(u1, u3);
    assert_int_equal(fault_pattern("seed=7,fail-p=0", u1), 0);
    /* p=1: every create fails, so the script is 32 ones. */
    assert_int_equal(fault_pattern("seed=7,fail-p=1", u1), UINT64_C(0xffffffff));

    struct device_inventory *i1 = malloc(sizeof *i1), *i2 = malloc(sizeof *i2);
    struct device *d1 = open_spec("model=B200-180GB,count=2,seed=42");
    struct device *d2 = open_spec("model=B200-180GB,count=2,seed=42");
    assert_int_equal(device_discover(d1, i1, NULL, NULL), 0);
    assert_int_equal(device_discover(d2, i2, NULL, NULL), 0);
    assert_string_equal(i1->gpus[1].uuid, i2->gpus[1].uuid);
    char b1[DEVICE_BOOT_ID_MAX], b2[DEVICE_BOOT_ID_MAX];
    device_boot_id(d1, b1, NULL);
    device_boot_id(d2, b2, NULL);
    assert_string_equal(b1, b2);
    device_close(d1);
    device_close(d2);
    free(i1);
    free(i2);
}

struct worker {
    struct device *d;
    unsigned gpu;
    int failures;
};

static void *churn(void *arg)
{
    struct worker *w = arg;
    for (unsigned i = 0; i < 200; i++) {
        struct device_slice_ref r = ref_at(w->gpu, "2g.20gb", 2 * (i % 3));
        w->failures += device_create_slice(w->d, &r, NULL, NULL, NULL) != 0;
        w->failures += device_destroy_slice(w->d, &r, NULL, NULL) != 0;
    }
    return NULL;
}

static void *watch(void *arg)
{
    struct worker *w = arg;
    struct device_slices *list = malloc(sizeof *list);
    for (unsigned i = 0; i < 200; i++) {
        if (device_list_slices(w->d, list, NULL, NULL) != 0 || list->n > 4)
            w->failures++;
    }
    free(list);
    return NULL;
}

static void concurrent_callers_are_serialised(void **state)
{
    (void)state;
    struct device *d = open_spec("model=H100-80GB,count=4");
    pthread_t t[5];
    struct worker w[5];
    for (unsigned i = 0; i < 5; i++) {
        w[i] = (struct worker){.d = d, .gpu = i};
        assert_int_equal(pthread_create(&t[i], NULL, i < 4 ? churn : watch, &w[i]), 0);
    }
    for (unsigned i = 0; i < 5; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(list_of(d)->n, 0);
    device_close(d);
}

static int64_t virtual_now(void *ctx)
{
    return *(int64_t *)ctx;
}

static uint64_t took_of_create(struct device *d, unsigned gpu, unsigned start)
{
    struct device_slice_ref r = ref_at(gpu, "1g.10gb", start);
    uint64_t took = 0;
    struct err e;
    if (device_create_slice(d, &r, NULL, &took, &e) != 0)
        fail_msg("create: %s", e.msg);
    return took;
}

/* Two creates on one GPU at the same instant cannot overlap: the second
 * ends when the first has finished plus its own time. On two GPUs they run
 * side by side. Refusals, queries and a GPU that has had time to finish do
 * not wait. */
static void one_change_at_a_time_per_gpu(void **state)
{
    (void)state;
    const uint64_t create = 900 * UINT64_C(1000000), destroy = 400 * UINT64_C(1000000);
    int64_t now = 1000 * INT64_C(1000000000);
    struct device *d = open_spec("model=H100-80GB,count=2");
    assert_int_equal(took_of_create(d, 0, 0), create); /* no clock: each call alone */
    assert_int_equal(took_of_create(d, 0, 1), create);

    device_set_clock(d, virtual_now, &now);
    assert_int_equal(took_of_create(d, 0, 2), create);
    assert_int_equal(took_of_create(d, 0, 3), 2 * create);
    assert_int_equal(took_of_create(d, 1, 0), create);
    assert_int_equal(took_of_create(d, 1, 1), 2 * create);

    /* A refusal changes nothing and waits for nothing; a query neither. */
    struct device_slice_ref taken = ref_at(0, "1g.10gb", 2);
    uint64_t took = 0;
    struct err e;
    assert_int_equal(device_create_slice(d, &taken, NULL, &took, &e), -ENOSPC);
    assert_int_equal(took, 5 * UINT64_C(1000000));
    struct device_slices *list = malloc(sizeof *list);
    assert_int_equal(device_list_slices(d, list, &took, NULL), 0);
    assert_int_equal(took, 5 * UINT64_C(1000000));

    /* Half-way through GPU 0's queue a destroy waits for the rest of it. */
    now += (int64_t)create;
    assert_int_equal(device_destroy_slice(d, &taken, &took, NULL), 0);
    assert_int_equal(took, create + destroy);
    /* Once the GPU is free, a change takes its own time only. */
    now += 10 * (int64_t)create;
    assert_int_equal(took_of_create(d, 0, 4), create);
    assert_int_equal(took_of_create(d, 1, 2), create);

    device_set_clock(d, NULL, NULL);
    assert_int_equal(took_of_create(d, 0, 5), create);
    free(list);
    device_close(d);
}

/* Latencies drawn from distributions: each successful call takes a draw,
 * the same seed gives the same draws, and a refusal still takes query time. */
static void latencies_can_be_drawn(void **state)
{
    (void)state;
    uint64_t first[6];
    for (int run = 0; run < 2; run++) {
        struct emulated_config cfg;
        struct err e = {0};
        assert_int_equal(emulated_config_parse("model=H100-80GB,seed=5", &cfg, &e), 0);
        cfg.latency.create_ms = (struct rng_dist){.kind = RNG_LOGNORMAL, .median = 900,
                                                  .p99 = 2500};
        cfg.latency.destroy_ms = (struct rng_dist){.kind = RNG_EXPONENTIAL, .mean = 400};
        struct device *d = NULL;
        assert_int_equal(emulated_open(&cfg, &d, &e), 0);
        bool differ = false;
        for (unsigned s = 0; s < 3; s++) {
            uint64_t took = took_of_create(d, 0, s), gone = 0;
            struct device_slice_ref r = ref_at(0, "1g.10gb", s);
            assert_int_equal(device_destroy_slice(d, &r, &gone, NULL), 0);
            if (run == 0) {
                first[2 * s] = took;
                first[2 * s + 1] = gone;
            }
            assert_int_equal(took, first[2 * s]);
            assert_int_equal(gone, first[2 * s + 1]);
            differ |= took != first[0];
        }
        assert_true(run == 0 || differ || first[0] != first[2]);
        device_close(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(discovery_reports_the_catalogue),
        cmocka_unit_test(the_sixteenth_gpu_is_a_gpu),
        cmocka_unit_test(every_h100_placement_creates_and_destroys),
        cmocka_unit_test(overlap_is_enospc_and_changes_nothing),
        cmocka_unit_test(bad_requests_get_nvmls_errors),
        cmocka_unit_test(gpu_by_uuid_and_profile_by_alias),
        cmocka_unit_test(a30_has_its_own_geometry),
        cmocka_unit_test(ci_failure_rolls_the_gi_back),
        cmocka_unit_test(gi_failure_makes_nothing),
        cmocka_unit_test(hangs_report_a_timeout_and_leave_what_was_made),
        cmocka_unit_test(destroy_faults_leave_what_remains),
        cmocka_unit_test(destroy_of_what_is_not_there_is_enoent),
        cmocka_unit_test(a_held_slice_is_busy),
        cmocka_unit_test(an_added_slice_is_no_create_call),
        cmocka_unit_test(changes_count_what_moves_a_discovery),
        cmocka_unit_test(extras_refuse_other_devices),
        cmocka_unit_test(reboot_wipes_slices_and_changes_boot_id),
        cmocka_unit_test(disabled_mig_refuses_and_pending_mig_comes_with_reboot),
        cmocka_unit_test(uncatalogued_gpu_is_reported_not_dropped),
        cmocka_unit_test(gi_ids_reuse_the_lowest_free),
        cmocka_unit_test(seeds_make_uuids_and_fault_draws_reproducible),
        cmocka_unit_test(concurrent_callers_are_serialised),
        cmocka_unit_test(one_change_at_a_time_per_gpu),
        cmocka_unit_test(latencies_can_be_drawn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
