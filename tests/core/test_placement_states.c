/* Tests for the per-model score tables behind the placement policies
 * (core/placement_states.h): the state enumeration, the keys, and the
 * scores placement_states.c documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/placement_states.h"

static unsigned profile_index(const struct gpu_model *m, const char *name)
{
    const struct mig_profile *p = catalog_find_profile(m, name);
    assert_non_null(p);
    return (unsigned)(p - m->profiles);
}

/* Every set of slices the rules accept: 2,319 on an 8-slice GPU with the
 * seven usual profiles, 76 on an A30. */
static void every_state_is_enumerated(void **state)
{
    (void)state;
    struct placement_states s;
    struct err e;
    assert_int_equal(placement_states_build(&s, catalog_find_model("H100-80GB"), &e), 0);
    assert_int_equal(s.n_states, 2319);
    assert_true(placement_states_bytes(&s) > s.n_states * sizeof *s.keys);
    placement_states_free(&s);
    assert_null(s.keys);
    assert_int_equal(placement_states_build(&s, catalog_find_model("A30-24GB"), &e), 0);
    assert_int_equal(s.n_states, 76);
    placement_states_free(&s);
}

static void keys_name_slices_by_start(void **state)
{
    (void)state;
    const struct gpu_model *m = catalog_find_model("H100-80GB");
    struct placement_states s;
    assert_int_equal(placement_states_build(&s, m, NULL), 0);
    struct gpu_occupancy o;
    occupancy_init(&o, m);
    assert_int_equal(placement_states_key(&o), 0);
    assert_int_equal(placement_states_find(&s, &o), 0); /* the first state is the empty GPU */
    unsigned g3 = profile_index(m, "3g.40gb");
    assert_int_equal(occupancy_take(&o, &m->profiles[g3], 4, 99, NULL), 0);
    assert_int_equal(placement_states_key(&o), (g3 + 1) << 16);
    long id = placement_states_find(&s, &o);
    assert_true(id > 0);
    assert_int_equal(s.keys[id], (g3 + 1) << 16);

    /* A 4g at slice 4 is no legal placement: no state has it. */
    occupancy_init(&o, m);
    o.n_slices = 1;
    o.slices[0] = (struct occupied_slice){.profile = (uint8_t)profile_index(m, "4g.40gb"),
                                          .start = 4};
    assert_int_equal(placement_states_find(&s, &o), -1);
    placement_states_free(&s);
}

/* The numbers placement_states.c quotes: a 1g on an empty H100 goes to
 * slice 6 at a loss of 85; a 7g leaves no memory slice free. */
static void scores_are_the_documented_ones(void **state)
{
    (void)state;
    const struct gpu_model *m = catalog_find_model("H100-80GB");
    struct placement_states s;
    assert_int_equal(placement_states_build(&s, m, NULL), 0);
    unsigned g1 = profile_index(m, "1g.10gb"), g7 = profile_index(m, "7g.80gb");

    const struct placement_choice *fa =
        placement_states_choice(&s, PLACEMENT_FRAGMENTATION_AWARE, 0, g1);
    assert_int_equal(fa->start, 6);
    assert_int_equal(s.scores[PLACEMENT_FRAGMENTATION_AWARE][g1][fa->group], 0xffffu - 85);

    const struct placement_choice *ff = placement_states_choice(&s, PLACEMENT_FIRST_FIT, 0, g1);
    assert_int_equal(ff->start, 0);
    assert_int_equal(ff->group, 0);
    assert_int_equal(s.n_groups[PLACEMENT_FIRST_FIT][g1], 1);

    const struct placement_choice *bf = placement_states_choice(&s, PLACEMENT_BEST_FIT, 0, g7);
    assert_int_equal(s.scores[PLACEMENT_BEST_FIT][g7][bf->group], 8);

    /* On a GPU holding a 7g nothing else fits. */
    struct gpu_occupancy o;
    occupancy_init(&o, m);
    assert_int_equal(occupancy_take(&o, &m->profiles[g7], 0, 1, NULL), 0);
    long full = placement_states_find(&s, &o);
    for (unsigned p = 0; p < m->n_profiles; p++)
        for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
            assert_int_equal(
                placement_states_choice(&s, (enum placement_policy)pol, (size_t)full, p)->group,
                PLACEMENT_NO_GROUP);
    placement_states_free(&s);
}

/* Groups are ranked best first, so group 0 of every policy and profile has
 * the highest score. */
static void groups_are_ranked_best_first(void **state)
{
    (void)state;
    const struct gpu_model *m = catalog_find_model("A100-40GB");
    struct placement_states s;
    assert_int_equal(placement_states_build(&s, m, NULL), 0);
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
        for (unsigned p = 0; p < m->n_profiles; p++) {
            assert_true(s.n_groups[pol][p] >= 1);
            for (unsigned g = 1; g < s.n_groups[pol][p]; g++)
                assert_true(s.scores[pol][p][g - 1] > s.scores[pol][p][g]);
        }
    placement_states_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_state_is_enumerated),
        cmocka_unit_test(keys_name_slices_by_start),
        cmocka_unit_test(scores_are_the_documented_ones),
        cmocka_unit_test(groups_are_ranked_best_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
