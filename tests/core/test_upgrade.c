/* core/upgrade: which larger profiles stand in for an asked one, in what
 * order, and how much an upgrade wastes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/upgrade.h"
#include "test_placement_fixture.h"

/* The first candidate of model for name, or NULL. */
static const struct mig_profile *first_on(const char *name, const char *model)
{
    struct catalog_fit c[CATALOG_FITS_MAX];
    size_t n = upgrade_candidates(name, c, CATALOG_FITS_MAX);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].model->name, model) == 0)
            return c[i].profile;
    return NULL;
}

static void candidates_go_by_compute_then_memory(void **state)
{
    (void)state;
    struct catalog_fit c[CATALOG_FITS_MAX];
    size_t n = upgrade_candidates("1g.5gb", c, CATALOG_FITS_MAX);
    assert_true(n > 10);
    for (size_t i = 1; i < n; i++) {
        const struct mig_profile *a = c[i - 1].profile, *b = c[i].profile;
        assert_true(a->compute_slices < b->compute_slices ||
                    (a->compute_slices == b->compute_slices &&
                     catalog_profile_gib(a) <= catalog_profile_gib(b)));
    }
    for (size_t i = 0; i < n; i++) {
        assert_false(c[i].profile->media_extended);
        assert_string_not_equal(c[i].profile->name, "1g.5gb");
    }
    assert_string_equal(c[0].profile->name, "1g.6gb"); /* an A30's: 1 compute, 6 GiB */
    /* On an A100-40GB one compute slice with more memory comes before two. */
    assert_string_equal(first_on("1g.5gb", "A100-40GB")->name, "1g.10gb");
    /* A pod written for an A100 on H100s: the H100's smallest that holds it. */
    assert_string_equal(first_on("1g.5gb", "H100-80GB")->name, "1g.10gb");
    assert_string_equal(first_on("2g.10gb", "H100-80GB")->name, "2g.20gb");
    assert_string_equal(first_on("1g.10gb", "H100-80GB")->name, "1g.20gb");
    /* Never fewer compute slices, never less memory. */
    assert_string_equal(first_on("2g.10gb", "A100-40GB")->name, "3g.20gb");
    assert_null(first_on("7g.80gb", "H100-80GB"));
    assert_string_equal(first_on("3g.40gb", "A100-40GB")->name, "7g.40gb");
}

static void one_name_on_several_models_is_adjacent(void **state)
{
    (void)state;
    struct catalog_fit c[CATALOG_FITS_MAX];
    size_t n = upgrade_candidates("1g.5gb", c, CATALOG_FITS_MAX);
    for (size_t i = 0; i + 2 < n; i++)
        if (strcmp(c[i].profile->name, c[i + 2].profile->name) == 0)
            assert_string_equal(c[i].profile->name, c[i + 1].profile->name);
    assert_int_equal(upgrade_candidates("1g.5gb", c, 3), 3);
    assert_int_equal(upgrade_candidates("9g.1tb", c, CATALOG_FITS_MAX), 0);
}

static void media_engines_only_when_asked(void **state)
{
    (void)state;
    struct catalog_fit c[CATALOG_FITS_MAX];
    size_t n = upgrade_candidates("1g.10gb+me", c, CATALOG_FITS_MAX);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        bool whole = c[i].profile->compute_slices == c[i].model->compute_slices;
        assert_true(c[i].profile->media_extended || whole);
        assert_true(catalog_profile_gib(c[i].profile) >= 10);
    }
    /* On an H100 the asked name is its own: only the whole GPU is larger. */
    assert_string_equal(first_on("1g.10gb+me", "H100-80GB")->name, "7g.80gb");
    assert_string_equal(first_on("1g.5gb+me", "A100-40GB")->name, "7g.40gb");
}

static void the_asked_size_is_the_smallest_of_its_name(void **state)
{
    (void)state;
    struct upgrade_size s;
    assert_int_equal(upgrade_asked_size("1g.10gb", &s, NULL), 0);
    assert_int_equal(s.compute, 1);
    assert_int_equal(s.gib, 10);
    assert_false(s.media);
    assert_int_equal(upgrade_asked_size("mig-3g.39gb", &s, NULL), 0); /* an alias */
    assert_int_equal(s.compute, 3);
    assert_int_equal(s.gib, 40);
    assert_int_equal(upgrade_asked_size("1g.5gb+me", &s, NULL), 0);
    assert_true(s.media);
    struct err e = {0};
    assert_int_equal(upgrade_asked_size("9g.1tb", &s, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "9g.1tb"));
}

static void waste_orders_by_memory_then_compute(void **state)
{
    (void)state;
    const struct gpu_model *a100 = catalog_find_model("A100-40GB");
    struct upgrade_size asked;
    assert_int_equal(upgrade_asked_size("1g.5gb", &asked, NULL), 0);
    struct upgrade_waste w2 = upgrade_waste_of(catalog_find_profile(a100, "2g.10gb"), &asked);
    struct upgrade_waste w1 = upgrade_waste_of(catalog_find_profile(a100, "1g.10gb"), &asked);
    struct upgrade_waste w3 = upgrade_waste_of(catalog_find_profile(a100, "3g.20gb"), &asked);
    assert_int_equal(w2.gib, 5);
    assert_int_equal(w2.compute, 1);
    assert_int_equal(w1.compute, 0);
    assert_true(upgrade_waste_cmp(&w3, &w2) < 0); /* 15 GiB more wastes most */
    assert_true(upgrade_waste_cmp(&w2, &w1) < 0); /* same memory, one more compute slice */
    assert_true(upgrade_waste_cmp(&w1, &w2) > 0);
    assert_int_equal(upgrade_waste_cmp(&w2, &w2), 0);
    struct upgrade_waste none = upgrade_waste_of(catalog_find_profile(a100, "1g.5gb"), &asked);
    assert_int_equal(none.gib + none.compute, 0);
}

/* A pod written for an A100 on an H100: the H100's smallest slice that
 * holds it; on one model with free geometry a larger profile never fits
 * where the asked one does not (upgrades cannot help there). */
static void upgrades_cross_models_but_not_geometry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, 1, 1, "H100-80GB");
    struct placement_request r = {.profile = "1g.5gb"};
    struct placement_decision d;
    assert_int_equal(placement_decide(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, &d, NULL),
                     -ENOSPC);
    assert_int_equal(upgrade_decide(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, &d), 0);
    assert_string_equal(d.profile->name, "1g.10gb");
    assert_string_equal(r.profile, "1g.5gb"); /* r is left as it was */
    for (unsigned start = 0; start <= 4; start += 2)
        fixture_take(&f, 0, "1g.10gb", start);
    r.profile = "2g.20gb";
    assert_int_equal(placement_decide(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, &d, NULL),
                     -ENOSPC);
    assert_int_equal(upgrade_decide(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, &d), -ENOSPC);
    r.profile = "9g.1tb";
    assert_int_equal(upgrade_decide(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, &d), -ENOSPC);
    fixture_free(&f);
}

/* A quota's room caps the upgrade: only candidates of at most max_gib GiB.
 * On an empty H100 a 1g.5gb (an A100's profile) gets a 1g.10gb, unless the
 * cap is under 10 GiB, though it would fit. */
static void upgrades_stay_within_a_memory_cap(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, 1, 1, "H100-80GB");
    struct placement_request r = {.profile = "1g.5gb"};
    struct placement_decision d;
    assert_int_equal(upgrade_decide_within(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, 10, &d), 0);
    assert_string_equal(d.profile->name, "1g.10gb");
    assert_int_equal(upgrade_decide_within(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, 9, &d),
                     -ENOSPC);
    assert_int_equal(upgrade_decide_within(&f.c, &r, PLACEMENT_FRAGMENTATION_AWARE, 0, &d),
                     -ENOSPC);
    fixture_free(&f);
}

/* placement_decide_first takes the first group that can be placed, one
 * profile name on several models deciding together, and explains the
 * first group when none can. */
static void the_first_placeable_group_is_decided(void **state)
{
    (void)state;
    const char *const models[] = {"A100-40GB", "H100-80GB"};
    struct fixture f;
    fixture_alloc(&f, 1, 2, models);
    fixture_init(&f);
    struct catalog_fit fits[CATALOG_FITS_MAX];
    size_t n = catalog_fits_memory(10, fits, CATALOG_FITS_MAX);
    struct placement_request r = {0};
    struct placement_decision d;
    struct err first = {0};
    assert_int_equal(placement_decide_first(&f.c, &r, PLACEMENT_FIRST_FIT, fits, n, &d,
                                            &first), 0);
    assert_string_equal(d.profile->name, "1g.10gb");
    assert_string_equal(r.profile, "1g.10gb");
    assert_null(r.models);
    assert_int_equal(d.gpu, 0); /* first-fit over both models of the group */
    /* Whole GPUs taken: nothing of the list fits. */
    fixture_take(&f, 0, "7g.40gb", 0);
    fixture_take(&f, 1, "7g.80gb", 0);
    assert_int_equal(placement_decide_first(&f.c, &r, PLACEMENT_FIRST_FIT, fits, n, &d,
                                            &first), -ENOSPC);
    assert_non_null(strstr(first.msg, "no GPU can take 1g.10gb"));
    assert_int_equal(placement_decide_first(&f.c, &r, PLACEMENT_FIRST_FIT, fits, n, &d, NULL),
                     -ENOSPC);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(candidates_go_by_compute_then_memory),
        cmocka_unit_test(one_name_on_several_models_is_adjacent),
        cmocka_unit_test(media_engines_only_when_asked),
        cmocka_unit_test(the_asked_size_is_the_smallest_of_its_name),
        cmocka_unit_test(waste_orders_by_memory_then_compute),
        cmocka_unit_test(upgrades_cross_models_but_not_geometry),
        cmocka_unit_test(upgrades_stay_within_a_memory_cap),
        cmocka_unit_test(the_first_placeable_group_is_decided),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
