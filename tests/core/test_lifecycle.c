/*
 * Tests for core/lifecycle: all 36 (from, to) pairs against an expectation
 * written out here independently of lifecycle.c's table, plus the names,
 * parsing and terminal phases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/lifecycle.h"

/* The and the brief's list of legal moves, by name. */
static const char *const legal_moves[][2] = {
    {"Creating", "Created"}, {"Creating", "Failed"}, {"Creating", "Deleting"},
    {"Created", "Ungated"},  {"Created", "Failed"},  {"Created", "Deleting"},
    {"Ungated", "Deleting"}, {"Deleting", "Deleted"},
    {"Ungated", "Warm"},     {"Warm", "Deleting"},
};

static const char *const all_names[] = {"Creating", "Created", "Ungated",
                                        "Deleting", "Deleted", "Failed", "Warm"};

static bool expected_legal(const char *from, const char *to)
{
    for (size_t i = 0; i < sizeof legal_moves / sizeof legal_moves[0]; i++)
        if (strcmp(legal_moves[i][0], from) == 0 && strcmp(legal_moves[i][1], to) == 0)
            return true;
    return false;
}

static enum slice_phase parse(const char *name)
{
    enum slice_phase p;
    assert_int_equal(lifecycle_phase_parse(name, &p, NULL), 0);
    return p;
}

static void every_pair_of_phases(void **state)
{
    (void)state;
    unsigned legal = 0;
    for (size_t f = 0; f < SLICE_PHASE_COUNT; f++) {
        for (size_t t = 0; t < SLICE_PHASE_COUNT; t++) {
            struct err e;
            err_clear(&e);
            int rc = lifecycle_transition(parse(all_names[f]), parse(all_names[t]), &e);
            if (expected_legal(all_names[f], all_names[t])) {
                if (rc != 0)
                    fail_msg("%s -> %s refused: %s", all_names[f], all_names[t], e.msg);
                assert_string_equal(e.msg, "");
                legal++;
            } else {
                char want[96];
                snprintf(want, sizeof want, "slice phase %s cannot go to %s", all_names[f],
                         all_names[t]);
                if (rc != -EINVAL)
                    fail_msg("%s -> %s accepted", all_names[f], all_names[t]);
                assert_string_equal(e.msg, want);
            }
        }
    }
    assert_int_equal(legal, 10);
}

static void transition_refuses_values_that_are_not_phases(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    assert_int_equal(lifecycle_transition((enum slice_phase)SLICE_PHASE_COUNT, SLICE_CREATED, &e),
                     -EINVAL);
    assert_string_equal(e.msg, "slice phase 7 is not a phase");
    assert_int_equal(lifecycle_transition(SLICE_CREATING, (enum slice_phase)-1, &e), -EINVAL);
    assert_string_equal(e.msg, "slice phase Creating cannot go to -1: not a phase");
    assert_int_equal(lifecycle_transition(SLICE_DELETED, SLICE_CREATED, NULL), -EINVAL);
}

static void names_are_the_status_spellings(void **state)
{
    (void)state;
    assert_string_equal(lifecycle_phase_name(SLICE_CREATING), "Creating");
    assert_string_equal(lifecycle_phase_name(SLICE_CREATED), "Created");
    assert_string_equal(lifecycle_phase_name(SLICE_UNGATED), "Ungated");
    assert_string_equal(lifecycle_phase_name(SLICE_DELETING), "Deleting");
    assert_string_equal(lifecycle_phase_name(SLICE_DELETED), "Deleted");
    assert_string_equal(lifecycle_phase_name(SLICE_FAILED), "Failed");
    assert_null(lifecycle_phase_name((enum slice_phase)SLICE_PHASE_COUNT));
    assert_null(lifecycle_phase_name((enum slice_phase)-1));
}

static void parse_round_trips_and_rejects_the_rest(void **state)
{
    (void)state;
    for (int p = 0; p < SLICE_PHASE_COUNT; p++)
        assert_int_equal(parse(lifecycle_phase_name((enum slice_phase)p)), p);

    static const char *const bad[] = {"creating", "CREATED", "Created ", "", "Pending", "Ungate"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum slice_phase p = SLICE_UNGATED;
        struct err e;
        err_clear(&e);
        assert_int_equal(lifecycle_phase_parse(bad[i], &p, &e), -EINVAL);
        assert_int_equal(p, SLICE_UNGATED); /* untouched on error */
        char want[160];
        snprintf(want, sizeof want,
                 "unknown slice phase \"%s\" (expected Creating, Created, Ungated, Deleting, "
                 "Deleted, Failed or Warm)",
                 bad[i]);
        assert_string_equal(e.msg, want);
    }
    struct err e;
    enum slice_phase p;
    assert_int_equal(lifecycle_phase_parse(NULL, &p, &e), -EINVAL);
    assert_string_equal(e.msg, "no slice phase given");

    /* A long value is quoted in part, never overflowing the message. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(lifecycle_phase_parse(big, &p, &e), -EINVAL);
    assert_true(strlen(e.msg) < 200);
}

static void terminal_phases_have_no_way_out(void **state)
{
    (void)state;
    for (int f = 0; f < SLICE_PHASE_COUNT; f++) {
        bool any = false;
        for (int t = 0; t < SLICE_PHASE_COUNT; t++)
            any |= lifecycle_transition((enum slice_phase)f, (enum slice_phase)t, NULL) == 0;
        assert_int_equal(lifecycle_is_terminal((enum slice_phase)f), !any);
    }
    assert_true(lifecycle_is_terminal(SLICE_DELETED));
    assert_true(lifecycle_is_terminal(SLICE_FAILED));
    assert_false(lifecycle_is_terminal(SLICE_DELETING));
    assert_false(lifecycle_is_terminal(SLICE_CREATING));
    assert_false(lifecycle_is_terminal((enum slice_phase)SLICE_PHASE_COUNT));
}

/* A GPUSlice with a deletionTimestamp is on its way out whatever phase
 * its status still names; a final phase stays what it is. */
static void a_deleted_object_is_deleting_unless_final(void **state)
{
    (void)state;
    for (unsigned p = 0; p < SLICE_PHASE_COUNT; p++) {
        enum slice_phase ph = (enum slice_phase)p;
        assert_int_equal(lifecycle_seen(ph, false), ph);
        assert_int_equal(lifecycle_seen(ph, true),
                         lifecycle_is_terminal(ph) ? ph : SLICE_DELETING);
    }
    assert_int_equal(lifecycle_seen(SLICE_UNGATED, true), SLICE_DELETING);
    assert_int_equal(lifecycle_seen(SLICE_WARM, true), SLICE_DELETING);
    assert_int_equal(lifecycle_seen(SLICE_DELETED, true), SLICE_DELETED);
    assert_int_equal(lifecycle_seen((enum slice_phase)SLICE_PHASE_COUNT, true),
                     (enum slice_phase)SLICE_PHASE_COUNT);
}

static void the_seen_phase_by_name(void **state)
{
    (void)state;
    assert_string_equal(lifecycle_seen_name("Ungated", true), "Deleting");
    assert_string_equal(lifecycle_seen_name("Ungated", false), "Ungated");
    assert_string_equal(lifecycle_seen_name(NULL, true), "Deleting");
    assert_string_equal(lifecycle_seen_name(NULL, false), "Creating");
    assert_string_equal(lifecycle_seen_name("Failed", true), "Failed");
    assert_string_equal(lifecycle_seen_name("Bogus", true), "Bogus");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair_of_phases),
        cmocka_unit_test(transition_refuses_values_that_are_not_phases),
        cmocka_unit_test(names_are_the_status_spellings),
        cmocka_unit_test(parse_round_trips_and_rejects_the_rest),
        cmocka_unit_test(terminal_phases_have_no_way_out),
        cmocka_unit_test(a_deleted_object_is_deleting_unless_final),
        cmocka_unit_test(the_seen_phase_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
