/*
 * Tests for core/occupancy: every rule of occupancy_check on real catalogue
 * models (and, for the limits no real GPU reaches before running out of
 * memory slices, on a small made-up model), take/release bookkeeping, and
 * headroom values worked out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/occupancy.h"

static const struct mig_profile *profile(const struct gpu_model *m, const char *name)
{
    const struct mig_profile *p = catalog_find_profile(m, name);
    assert_non_null(p);
    return p;
}

static const struct gpu_model *model(const char *name)
{
    const struct gpu_model *m = catalog_find_model(name);
    assert_non_null(m);
    return m;
}

static void take(struct gpu_occupancy *o, const char *name, unsigned start, uint32_t owner)
{
    struct err e;
    err_clear(&e);
    if (occupancy_take(o, profile(o->model, name), start, owner, &e) != 0)
        fail_msg("take %s at %u: %s", name, start, e.msg);
}

static void assert_headroom(const struct gpu_occupancy *o, const uint8_t *expected)
{
    uint8_t more[CATALOG_MAX_PROFILES];
    occupancy_headroom(o, more);
    for (unsigned i = 0; i < CATALOG_MAX_PROFILES; i++) {
        uint8_t want = i < o->model->n_profiles ? expected[i] : 0;
        if (more[i] != want)
            fail_msg("headroom of %s: %u, expected %u",
                     i < o->model->n_profiles ? o->model->profiles[i].name : "(padding)",
                     (unsigned)more[i], (unsigned)want);
    }
}

/* Nothing of any profile can be placed anywhere. */
static void assert_full(const struct gpu_occupancy *o)
{
    static const uint8_t zeros[CATALOG_MAX_PROFILES] = {0};
    assert_headroom(o, zeros);
    for (unsigned i = 0; i < o->model->n_profiles; i++) {
        const struct mig_profile *p = &o->model->profiles[i];
        uint8_t starts[MIG_MAX_PLACEMENTS];
        assert_int_equal(occupancy_free_starts(o, p, starts), 0);
        for (unsigned k = 0; k < p->n_placements; k++)
            assert_int_not_equal(occupancy_check(o, p, p->placements[k].start, NULL), 0);
    }
}

static void init_gives_an_empty_gpu(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    memset(&o, 0xa5, sizeof o);
    occupancy_init(&o, model("H100-80GB"));
    assert_ptr_equal(o.model, model("H100-80GB"));
    assert_int_equal(o.memory_mask, 0);
    assert_int_equal(o.compute_used, 0);
    assert_int_equal(o.n_slices, 0);
    for (unsigned i = 0; i < 8; i++)
        assert_null(occupancy_slice_at(&o, i));
    /* 1g, 1g+me, 1g double, 2g, 3g, 4g, 7g */
    assert_headroom(&o, (const uint8_t[]){7, 1, 4, 3, 2, 1, 1});
}

static void a100_40gb_packed_with_seven_1g(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("A100-40GB"));
    for (unsigned s = 0; s < 7; s++)
        take(&o, "1g.5gb", s, 100 + s);
    assert_int_equal(o.memory_mask, 0x7f);
    assert_int_equal(o.compute_used, 7);
    assert_int_equal(o.n_slices, 7);
    for (unsigned s = 0; s < 7; s++) {
        assert_int_equal(o.slices[s].start, s);
        assert_int_equal(occupancy_slice_at(&o, s)->owner, 100 + s);
    }
    /* Memory slice 7 is free, but no profile may start there. */
    assert_null(occupancy_slice_at(&o, 7));
    assert_full(&o);
}

static void a100_40gb_mixed_4g_and_3g(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("A100-40GB"));
    take(&o, "4g.20gb", 0, 1);
    take(&o, "3g.20gb", 4, 2);
    assert_int_equal(o.memory_mask, 0xff);
    assert_int_equal(o.compute_used, 7);
    assert_full(&o);

    assert_int_equal(occupancy_release(&o, 4, NULL), 0);
    assert_int_equal(o.memory_mask, 0x0f);
    assert_int_equal(o.compute_used, 4);
    /* 3 compute slices and memory slices 4-7 left: 1g at 4,5,6; one 1g+me;
     * 1g.10gb at 4,6; one 2g (at 4; then 1 compute slice is left); 3g at 4;
     * no second 4g; no 7g. */
    assert_headroom(&o, (const uint8_t[]){3, 1, 2, 1, 1, 0, 0});
}

static void double_memory_1g_fills_memory_before_compute(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("A100-40GB"));
    for (unsigned s = 0; s < 8; s += 2)
        take(&o, "1g.10gb", s, s);
    assert_int_equal(o.memory_mask, 0xff);
    assert_int_equal(o.compute_used, 4); /* 3 compute slices idle, unusable */
    assert_full(&o);
}

static void overlap_names_both_slices(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    take(&o, "1g.10gb", 5, 17);
    struct gpu_occupancy before = o;
    struct err e;
    err_clear(&e);
    assert_int_equal(occupancy_take(&o, profile(o.model, "3g.40gb"), 4, 9, &e), -EEXIST);
    assert_string_equal(e.msg, "3g.40gb at start 4 overlaps 1g.10gb at memory slice 5 (owner 17)");
    assert_memory_equal(&o, &before, sizeof o);
    assert_int_equal(occupancy_check(&o, profile(o.model, "7g.80gb"), 0, &e), -EEXIST);
    assert_string_equal(e.msg, "7g.80gb at start 0 overlaps 1g.10gb at memory slice 5 (owner 17)");
    assert_int_equal(occupancy_check(&o, profile(o.model, "1g.10gb"), 5, NULL), -EEXIST);
}

static void illegal_start_lists_the_legal_ones(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    struct err e;
    err_clear(&e);
    assert_int_equal(occupancy_take(&o, profile(o.model, "1g.10gb"), 7, 1, &e), -EINVAL);
    assert_string_equal(e.msg,
                        "1g.10gb cannot start at memory slice 7 on H100-80GB (legal starts: 0,1,2,3,4,5,6)");
    assert_int_equal(occupancy_check(&o, profile(o.model, "2g.20gb"), 1, &e), -EINVAL);
    assert_string_equal(e.msg, "2g.20gb cannot start at memory slice 1 on H100-80GB (legal starts: 0,2,4)");
    assert_int_equal(occupancy_check(&o, profile(o.model, "2g.20gb"), 6, NULL), -EINVAL);
    assert_int_equal(occupancy_check(&o, profile(o.model, "3g.40gb"), 2, NULL), -EINVAL);
    assert_int_equal(occupancy_check(&o, profile(o.model, "7g.80gb"), 1000000, NULL), -EINVAL);
    assert_int_equal(o.n_slices, 0);
    assert_int_equal(o.memory_mask, 0);
}

static void one_media_extended_slice_per_gpu(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    take(&o, "1g.10gb+me", 0, 3);
    struct err e;
    err_clear(&e);
    assert_int_equal(occupancy_take(&o, profile(o.model, "1g.10gb+me"), 3, 4, &e), -ENOSPC);
    assert_string_equal(e.msg, "1g.10gb+me at start 3: H100-80GB allows 1 instance of 1g.10gb+me "
                               "and all are taken");
    /* On A30 two profiles are media-extended; together they get one. */
    occupancy_init(&o, model("A30-24GB"));
    take(&o, "1g.6gb+me", 0, 5);
    assert_int_equal(occupancy_take(&o, profile(o.model, "2g.12gb+me"), 2, 6, &e), -ENOSPC);
    assert_string_equal(e.msg, "2g.12gb+me at start 2: A30-24GB allows one media-extended slice "
                               "and 1g.6gb+me at start 0 (owner 5) holds it");
    take(&o, "2g.12gb", 2, 7); /* the plain profile is not limited */
    assert_int_equal(occupancy_release(&o, 0, NULL), 0);
    assert_int_equal(occupancy_release(&o, 2, NULL), 0);
    take(&o, "2g.12gb+me", 2, 6);
    /* 1g.6gb at 0,1; no +me left; 2g at 0; no 2g+me; no 4g */
    assert_headroom(&o, (const uint8_t[]){2, 0, 1, 0, 0});
}

static void profile_must_belong_to_the_model(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    struct err e;
    err_clear(&e);
    const struct mig_profile *a100 = profile(model("A100-40GB"), "1g.5gb");
    assert_int_equal(occupancy_take(&o, a100, 0, 1, &e), -EINVAL);
    assert_string_equal(e.msg, "profile 1g.5gb is not one of H100-80GB's profiles");
    /* A profile from another model with the same name is still foreign. */
    const struct mig_profile *h100_94 = profile(model("H100-94GB"), "1g.24gb");
    assert_int_equal(occupancy_check(&o, h100_94, 0, NULL), -EINVAL);
    assert_int_equal(occupancy_check(&o, NULL, 0, &e), -EINVAL);
    assert_string_equal(e.msg, "no profile given for H100-80GB");
    assert_int_equal(occupancy_check(NULL, a100, 0, &e), -EINVAL);
    assert_string_equal(e.msg, "no GPU to place 1g.5gb on");
    struct gpu_occupancy none;
    occupancy_init(&none, NULL);
    assert_int_equal(occupancy_check(&none, NULL, 0, &e), -EINVAL);
    assert_string_equal(e.msg, "no GPU to place a slice on");
    uint8_t starts[MIG_MAX_PLACEMENTS];
    assert_int_equal(occupancy_free_starts(&o, a100, starts), 0);
    assert_int_equal(o.n_slices, 0);
}

static void release_frees_exactly_one_slice(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    take(&o, "3g.40gb", 4, 1);
    take(&o, "1g.10gb", 0, 2);
    take(&o, "2g.20gb", 2, 3);
    assert_int_equal(o.slices[0].start, 0); /* kept ordered by start */
    assert_int_equal(o.slices[1].start, 2);
    assert_int_equal(o.slices[2].start, 4);
    assert_int_equal(o.compute_used, 6);
    struct err e;
    err_clear(&e);
    assert_int_equal(occupancy_release(&o, 1, &e), -ENOENT);
    assert_string_equal(e.msg, "no slice starts at memory slice 1: it is free");
    assert_int_equal(occupancy_release(&o, 5, &e), -ENOENT);
    assert_string_equal(e.msg, "no slice starts at memory slice 5: it is inside 3g.40gb at start 4");
    assert_int_equal(occupancy_release(&o, 99, NULL), -ENOENT);
    assert_int_equal(occupancy_release(NULL, 0, &e), -EINVAL);

    assert_int_equal(occupancy_release(&o, 2, &e), 0);
    assert_int_equal(o.n_slices, 2);
    assert_int_equal(o.memory_mask, 0xf1);
    assert_int_equal(o.compute_used, 4);
    assert_int_equal(o.slices[1].start, 4);
    assert_int_equal(o.slices[1].owner, 1);
    assert_null(occupancy_slice_at(&o, 2));
    assert_int_equal(occupancy_release(&o, 2, NULL), -ENOENT);
    assert_int_equal(occupancy_release(&o, 0, NULL), 0);
    assert_int_equal(occupancy_release(&o, 4, NULL), 0);
    assert_int_equal(o.memory_mask, 0);
    assert_int_equal(o.compute_used, 0);
    assert_int_equal(o.n_slices, 0);
}

static void slice_at_finds_the_covering_slice(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    take(&o, "3g.40gb", 4, 42);
    for (unsigned i = 0; i < 4; i++)
        assert_null(occupancy_slice_at(&o, i));
    for (unsigned i = 4; i < 8; i++) {
        const struct occupied_slice *s = occupancy_slice_at(&o, i);
        assert_non_null(s);
        assert_int_equal(s->start, 4);
        assert_int_equal(s->owner, 42);
        assert_int_equal(s->profile, 4);
    }
    assert_null(occupancy_slice_at(&o, 8));
    assert_null(occupancy_slice_at(NULL, 0));
}

static void free_starts_lowest_first(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    take(&o, "1g.10gb", 2, 1);
    uint8_t starts[MIG_MAX_PLACEMENTS];
    assert_int_equal(occupancy_free_starts(&o, profile(o.model, "2g.20gb"), starts), 2);
    assert_int_equal(starts[0], 0);
    assert_int_equal(starts[1], 4);
    assert_int_equal(occupancy_free_starts(&o, profile(o.model, "1g.20gb"), starts), 3);
    assert_memory_equal(starts, ((const uint8_t[]){0, 4, 6}), 3);
    assert_int_equal(occupancy_free_starts(&o, profile(o.model, "3g.40gb"), starts), 1);
    assert_int_equal(starts[0], 4);
    assert_int_equal(occupancy_free_starts(&o, profile(o.model, "7g.80gb"), starts), 0);
    assert_int_equal(occupancy_free_starts(&o, NULL, starts), 0);
    assert_int_equal(occupancy_free_starts(NULL, profile(o.model, "7g.80gb"), starts), 0);
}

static void headroom_by_hand(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, model("H100-80GB"));
    take(&o, "1g.10gb", 2, 1);
    /* 1g at 0,1,3,4,5,6; +me; 1g double at 0,4,6; 2g at 0,4; 3g at 4 */
    assert_headroom(&o, (const uint8_t[]){6, 1, 3, 2, 1, 0, 0});

    occupancy_init(&o, model("H100-80GB"));
    take(&o, "2g.20gb", 4, 1);
    /* 1g at 0,1,2,3,6; +me; 1g double at 0,2,6; 2g at 0,2; 3g at 0; 4g at 0 */
    assert_headroom(&o, (const uint8_t[]){5, 1, 3, 2, 1, 1, 0});

    occupancy_init(&o, model("H100-80GB"));
    take(&o, "1g.10gb+me", 0, 1);
    take(&o, "3g.40gb", 4, 2);
    /* 1g at 1,2,3 (3 compute slices left); 1g double at 2; 2g at 2 */
    assert_headroom(&o, (const uint8_t[]){3, 0, 1, 1, 0, 0, 0});

    uint8_t more[CATALOG_MAX_PROFILES];
    memset(more, 0xaa, sizeof more);
    occupancy_headroom(NULL, more);
    for (unsigned i = 0; i < CATALOG_MAX_PROFILES; i++)
        assert_int_equal(more[i], 0);
}

/*
 * A made-up GPU where the count limits bind while memory is still free,
 * which no catalogued GPU allows: 4 memory slices but 2 compute slices,
 * and a profile allowed only twice.
 */
static const struct mig_profile toy_profiles[] = {
    {.name = "1g.1m", .compute_slices = 1, .memory_slices = 1, .max_instances = 4,
     .sm_count = 1, .memory_mib = 128, .n_placements = 4,
     .placements = {{0, 1}, {1, 1}, {2, 1}, {3, 1}}},
    {.name = "1g.1m.twice", .compute_slices = 1, .memory_slices = 1, .max_instances = 2,
     .sm_count = 1, .memory_mib = 128, .n_placements = 4,
     .placements = {{0, 1}, {1, 1}, {2, 1}, {3, 1}}},
};
static const char *const toy_names[] = {"toy", NULL};

static struct gpu_model toy_model(uint8_t compute_slices)
{
    return (struct gpu_model){.name = "TOY", .product_names = toy_names, .memory_mib = 512,
                              .memory_slices = 4, .compute_slices = compute_slices,
                              .n_profiles = 2, .profiles = toy_profiles};
}

static void compute_slices_are_a_limit(void **state)
{
    (void)state;
    struct gpu_model toy = toy_model(2);
    struct gpu_occupancy o;
    occupancy_init(&o, &toy);
    take(&o, "1g.1m", 0, 1);
    assert_headroom(&o, (const uint8_t[]){1, 1});
    take(&o, "1g.1m", 1, 2);
    struct err e;
    err_clear(&e);
    assert_int_equal(occupancy_take(&o, &toy_profiles[0], 2, 3, &e), -ENOSPC);
    assert_string_equal(e.msg, "1g.1m at start 2 needs 1 compute slices but 0 of 2 are free on TOY");
    assert_int_equal(o.memory_mask, 0x03);
    assert_headroom(&o, (const uint8_t[]){0, 0});
}

static void instance_count_is_a_limit(void **state)
{
    (void)state;
    struct gpu_model toy = toy_model(4);
    struct gpu_occupancy o;
    occupancy_init(&o, &toy);
    assert_headroom(&o, (const uint8_t[]){4, 2});
    take(&o, "1g.1m.twice", 0, 1);
    take(&o, "1g.1m.twice", 2, 2);
    struct err e;
    err_clear(&e);
    assert_int_equal(occupancy_check(&o, &toy_profiles[1], 1, &e), -ENOSPC);
    assert_string_equal(e.msg, "1g.1m.twice at start 1: TOY allows 2 instances of 1g.1m.twice "
                               "and all are taken");
    assert_headroom(&o, (const uint8_t[]){2, 0});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_gives_an_empty_gpu),
        cmocka_unit_test(a100_40gb_packed_with_seven_1g),
        cmocka_unit_test(a100_40gb_mixed_4g_and_3g),
        cmocka_unit_test(double_memory_1g_fills_memory_before_compute),
        cmocka_unit_test(overlap_names_both_slices),
        cmocka_unit_test(illegal_start_lists_the_legal_ones),
        cmocka_unit_test(one_media_extended_slice_per_gpu),
        cmocka_unit_test(profile_must_belong_to_the_model),
        cmocka_unit_test(release_frees_exactly_one_slice),
        cmocka_unit_test(slice_at_finds_the_covering_slice),
        cmocka_unit_test(free_starts_lowest_first),
        cmocka_unit_test(headroom_by_hand),
        cmocka_unit_test(compute_slices_are_a_limit),
        cmocka_unit_test(instance_count_is_a_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
