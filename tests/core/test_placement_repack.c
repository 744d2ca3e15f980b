/* Tests for placement_fits_after_repack: moving slices frees the memory a
 * profile needs, but never compute slices or instance counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/placement.h"

static const struct mig_profile *profile(const struct gpu_occupancy *o, const char *name)
{
    const struct mig_profile *p = catalog_find_profile(o->model, name);
    assert_non_null(p);
    return p;
}

static void take(struct gpu_occupancy *o, const char *name, unsigned start)
{
    assert_int_equal(occupancy_take(o, profile(o, name), start, 0, NULL), 0);
}

static void h100(struct gpu_occupancy *o)
{
    occupancy_init(o, catalog_find_model("H100-80GB"));
}

static void fits_now_is_true(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    h100(&o);
    assert_true(placement_fits_after_repack(&o, profile(&o, "7g.80gb")));
    take(&o, "3g.40gb", 4);
    assert_true(placement_fits_after_repack(&o, profile(&o, "4g.40gb")));
}

static void moving_slices_frees_aligned_memory(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    h100(&o);
    take(&o, "3g.40gb", 0); /* the 4g's only start */
    assert_true(placement_fits_after_repack(&o, profile(&o, "4g.40gb")));

    /* 1g at every even slice: no 4 free in a row, but packed to 0..3 they
     * leave the 3g its start at 4. */
    h100(&o);
    for (unsigned s = 0; s < 8; s += 2)
        take(&o, "1g.10gb", s);
    assert_true(placement_fits_after_repack(&o, profile(&o, "3g.40gb")));

    h100(&o);
    take(&o, "2g.20gb", 2);
    take(&o, "1g.20gb", 6);
    assert_true(placement_fits_after_repack(&o, profile(&o, "4g.40gb")));
}

static void memory_it_does_not_have_is_not_found(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    h100(&o);
    take(&o, "1g.10gb", 0);
    assert_false(placement_fits_after_repack(&o, profile(&o, "7g.80gb")));

    occupancy_init(&o, catalog_find_model("A100-40GB"));
    for (unsigned s = 0; s < 7; s++)
        take(&o, "1g.5gb", s);
    assert_false(placement_fits_after_repack(&o, profile(&o, "1g.5gb")));
}

static void compute_and_instance_limits_still_apply(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    h100(&o);
    take(&o, "1g.10gb", 0);
    take(&o, "3g.40gb", 4); /* 4 compute slices used: a 4g would make 8 */
    assert_false(placement_fits_after_repack(&o, profile(&o, "4g.40gb")));

    h100(&o);
    take(&o, "1g.10gb+me", 0); /* one media-extended slice per GPU */
    assert_false(placement_fits_after_repack(&o, profile(&o, "1g.10gb+me")));
}

/* Memory slices all held while compute is left: no order of the slices
 * makes room (the search is not even needed). */
static void held_memory_is_not_found_by_moving(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    h100(&o);
    for (unsigned s = 0; s < 8; s += 2)
        take(&o, "1g.20gb", s);
    assert_false(placement_fits_after_repack(&o, profile(&o, "1g.10gb")));
    assert_false(placement_fits_after_repack(&o, profile(&o, "2g.20gb")));
}

static void bad_arguments_are_false(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    h100(&o);
    const struct mig_profile *other =
        catalog_find_profile(catalog_find_model("A100-40GB"), "1g.5gb");
    assert_false(placement_fits_after_repack(&o, other));
    assert_false(placement_fits_after_repack(&o, NULL));
    assert_false(placement_fits_after_repack(NULL, profile(&o, "1g.10gb")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fits_now_is_true),
        cmocka_unit_test(moving_slices_frees_aligned_memory),
        cmocka_unit_test(memory_it_does_not_have_is_not_found),
        cmocka_unit_test(compute_and_instance_limits_still_apply),
        cmocka_unit_test(held_memory_is_not_found_by_moving),
        cmocka_unit_test(bad_arguments_are_false),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
