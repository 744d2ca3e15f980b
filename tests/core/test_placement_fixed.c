/*
 * Tests for fixed (mig-static) GPUs in core/placement: a request is given
 * a free slice of the admin's layout before any new slice is made
 * elsewhere; a held slice is never given twice; taking and releasing hold
 * and let go without touching the layout; the GPUs of the pod's other
 * slices come first; no new slice is ever made on a fixed GPU; the
 * explanation says when a fixed GPU has no free slice of the profile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/placement.h"
#include "test_placement_fixture.h"

/* node-0: two A100-40GB, both fixed with the all-balanced layout (2g.10gb
 * at 0, 1g.5gb at 2 and 3, 3g.20gb at 4); node-1: one A100-40GB in mode mig. */
static void make_all_balanced(struct fixture *f)
{
    const char *models[] = {"A100-40GB", "A100-40GB"};
    fixture_alloc(f, 2, 2, models);
    for (size_t g = 0; g < 2; g++) {
        f->gpus[g].fixed = true;
        struct gpu_occupancy *o = &f->gpus[g].occ;
        assert_int_equal(occupancy_take(o, catalog_find_profile(o->model, "2g.10gb"), 0, 0, NULL), 0);
        assert_int_equal(occupancy_take(o, catalog_find_profile(o->model, "1g.5gb"), 2, 0, NULL), 0);
        assert_int_equal(occupancy_take(o, catalog_find_profile(o->model, "1g.5gb"), 3, 0, NULL), 0);
        assert_int_equal(occupancy_take(o, catalog_find_profile(o->model, "3g.20gb"), 4, 0, NULL), 0);
    }
    f->n_gpus = 3; /* node-1 has one GPU */
    fixture_init(f);
}

static void free_layout_slices_come_first_and_never_twice(void **state)
{
    (void)state;
    struct fixture f;
    make_all_balanced(&f);
    assert_int_equal(f.c.n_fixed, 2);
    struct placement_decision d;
    struct err e;
    unsigned want_gpu[] = {0, 0, 1, 1}, want_start[] = {2, 3, 2, 3};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(fixture_place(&f, PLACEMENT_FRAGMENTATION_AWARE, "1g.5gb", &d, &e), 0);
        assert_true(d.existing);
        assert_int_equal(d.gpu, want_gpu[i]);
        assert_int_equal(d.node_gpu, want_gpu[i]);
        assert_int_equal(d.start, want_start[i]);
    }
    /* Both layouts are held: the fifth is a new slice on the mig GPU. */
    assert_int_equal(fixture_place(&f, PLACEMENT_FIRST_FIT, "1g.5gb", &d, &e), 0);
    assert_false(d.existing);
    assert_int_equal(d.gpu, 2);
    /* The layouts never changed: four slices each, none made. */
    assert_int_equal(f.gpus[0].occ.n_slices, 4);
    assert_int_equal(f.gpus[1].occ.n_slices, 4);
    assert_int_equal(f.gpus[0].held, 0x0c);
    /* Released, the slice is free again; releasing twice is an error. */
    assert_int_equal(placement_release(&f.c, 0, 3, NULL), 0);
    assert_int_equal(placement_release(&f.c, 0, 3, &e), -ENOENT);
    assert_int_equal(f.gpus[0].occ.n_slices, 4);
    assert_int_equal(fixture_place(&f, PLACEMENT_BEST_FIT, "1g.5gb", &d, &e), 0);
    assert_true(d.existing);
    assert_int_equal(d.gpu, 0);
    assert_int_equal(d.start, 3);
    fixture_free(&f);
}

static uint32_t owner_at(const struct placement_gpu *g, unsigned start)
{
    for (unsigned i = 0; i < g->occ.n_slices; i++)
        if (g->occ.slices[i].start == start)
            return g->occ.slices[i].owner;
    fail_msg("no slice at %u", start);
    return 0;
}

static void take_holds_only_what_the_layout_has(void **state)
{
    (void)state;
    struct fixture f;
    make_all_balanced(&f);
    struct err e;
    const struct mig_profile *one = fixture_profile(&f, 0, "1g.5gb");
    assert_int_equal(placement_take(&f.c, 0, one, 2, 7, &e), 0);
    assert_int_equal(owner_at(&f.gpus[0], 2), 7);
    assert_int_equal(placement_take(&f.c, 0, one, 2, 8, &e), -EBUSY);
    assert_int_equal(placement_take(&f.c, 0, one, 6, 8, &e), -ENOENT);
    assert_string_equal(e.msg, "the mig-static layout has no 1g.5gb at memory slice 6");
    assert_int_equal(placement_take(&f.c, 0, one, 4, 8, &e), -ENOENT); /* a 3g.20gb there */
    assert_int_equal(placement_release(&f.c, 0, 2, NULL), 0);
    assert_int_equal(owner_at(&f.gpus[0], 2), 0);
    /* A cluster whose fixed GPU holds a slice its layout lacks is refused. */
    struct placement_cluster c;
    f.gpus[1].held = 0x80;
    assert_int_equal(placement_cluster_init(&c, f.nodes, 2, f.gpus, 3, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "gpu 1: holds slices its layout does not have"));
    f.gpus[1].held = 0;
    fixture_free(&f);
}

static void near_gpus_come_first(void **state)
{
    (void)state;
    struct fixture f;
    make_all_balanced(&f);
    struct placement_decision d;
    size_t near[] = {1};
    struct placement_request r = {.profile = "2g.10gb", .near = near, .n_near = 1};
    assert_int_equal(placement_decide(&f.c, &r, PLACEMENT_FIRST_FIT, &d, NULL), 0);
    assert_int_equal(d.gpu, 1);
    assert_true(d.existing);
    fixture_free(&f);
}

static void filters_apply_to_fixed_gpus(void **state)
{
    (void)state;
    struct fixture f;
    make_all_balanced(&f);
    struct placement_decision d;
    struct err e;
    f.gpus[0].held_back = true;
    f.gpus[1].allowed = 0;
    placement_gpu_changed(&f.c, 0, NULL);
    placement_gpu_changed(&f.c, 1, NULL);
    assert_int_equal(fixture_place(&f, PLACEMENT_FIRST_FIT, "3g.20gb", &d, &e), 0);
    assert_false(d.existing);
    assert_int_equal(d.gpu, 2);
    /* No profile a layout lacks is ever made on a fixed GPU. */
    f.gpus[0].held_back = false;
    f.gpus[1].allowed = PLACEMENT_ALL_PROFILES;
    placement_gpu_changed(&f.c, 0, NULL);
    placement_gpu_changed(&f.c, 1, NULL);
    assert_int_equal(fixture_place(&f, PLACEMENT_FIRST_FIT, "4g.20gb", &d, &e), -ENOSPC);
    assert_string_equal(e.msg, "no GPU can take 4g.20gb: of 3 GPUs, 1 with no free placement "
                               "for it (1 could fit it after defragmentation), 2 mig-static "
                               "with no free 4g.20gb");
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(free_layout_slices_come_first_and_never_twice),
        cmocka_unit_test(take_holds_only_what_the_layout_has),
        cmocka_unit_test(near_gpus_come_first),
        cmocka_unit_test(filters_apply_to_fixed_gpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
