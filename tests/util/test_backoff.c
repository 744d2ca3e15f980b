/* Tests for util/backoff: the doubling, the cap, overflow, bad settings,
 * defaults, and reproducible jitter. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/backoff.h"

static void delay_doubles_per_failure_up_to_the_cap(void **state)
{
    (void)state;
    struct backoff b = {.base_ns = 10, .max_ns = 100};
    static const int64_t want[] = {10, 10, 20, 40, 80, 100, 100, 100};
    for (unsigned n = 0; n < sizeof want / sizeof *want; n++)
        assert_int_equal(backoff_delay(&b, n), want[n]);
    /* A cap that is no power of two of base is reached, not overshot. */
    struct backoff odd = {.base_ns = 100, .max_ns = 300};
    assert_int_equal(backoff_delay(&odd, 2), 200);
    assert_int_equal(backoff_delay(&odd, 3), 300);
    /* base == max: a constant delay. */
    struct backoff flat = {.base_ns = 7, .max_ns = 7};
    assert_int_equal(backoff_delay(&flat, 1), 7);
    assert_int_equal(backoff_delay(&flat, 40), 7);
}

static void large_failure_counts_do_not_overflow(void **state)
{
    (void)state;
    struct backoff b = {.base_ns = 3, .max_ns = INT64_MAX};
    assert_int_equal(backoff_delay(&b, 62), (int64_t)3 << 61);
    for (unsigned n = 63; n < 200; n++)
        assert_int_equal(backoff_delay(&b, n), INT64_MAX);
    assert_int_equal(backoff_delay(&b, UINT_MAX), INT64_MAX);
    struct backoff one = {.base_ns = 1, .max_ns = INT64_MAX};
    assert_int_equal(backoff_delay(&one, 63), (int64_t)1 << 62);
    assert_int_equal(backoff_delay(&one, 64), INT64_MAX);
    struct backoff big = {.base_ns = INT64_MAX / 2 + 1, .max_ns = INT64_MAX};
    assert_int_equal(backoff_delay(&big, 2), INT64_MAX);
}

static void bad_settings_are_refused(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(backoff_check(&(struct backoff){.base_ns = 1, .max_ns = 1}, &e), 0);
    assert_int_equal(backoff_check(&(struct backoff){.base_ns = 0, .max_ns = 10}, &e), -EINVAL);
    assert_int_equal(backoff_check(&(struct backoff){.base_ns = -5, .max_ns = 10}, &e), -EINVAL);
    assert_int_equal(backoff_check(&(struct backoff){.base_ns = 100, .max_ns = 10}, &e),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "base"));
    assert_int_equal(backoff_check(&(struct backoff){.base_ns = 100, .max_ns = 10}, NULL),
                     -EINVAL);
}

static void zero_fields_take_the_defaults(void **state)
{
    (void)state;
    struct backoff dflt = {.base_ns = 5, .max_ns = 50};
    struct backoff b = backoff_or((struct backoff){0}, dflt);
    assert_int_equal(b.base_ns, 5);
    assert_int_equal(b.max_ns, 50);
    b = backoff_or((struct backoff){.max_ns = 9}, dflt);
    assert_int_equal(b.base_ns, 5);
    assert_int_equal(b.max_ns, 9);
    b = backoff_or((struct backoff){.base_ns = -1, .max_ns = 70}, dflt);
    assert_int_equal(b.base_ns, -1); /* not zero: left for backoff_check */
    assert_int_equal(b.max_ns, 70);
}

static void jitter_stays_in_the_upper_half_and_replays(void **state)
{
    (void)state;
    struct backoff b = {.base_ns = 100, .max_ns = 300};
    uint64_t rng = 7, again = 7, other = 8;
    int differ = 0;
    for (unsigned n = 1; n <= 50; n++) {
        int64_t d = backoff_delay(&b, n);
        int64_t j = backoff_jittered(&b, n, &rng);
        assert_in_range(j, d - d / 2, d);
        assert_int_equal(backoff_jittered(&b, n, &again), j);
        differ += backoff_jittered(&b, n, &other) != j;
    }
    assert_true(differ > 0);
    /* A zero state is usable: it starts from a fixed one. */
    uint64_t z1 = 0, z2 = 0;
    assert_int_equal(backoff_jittered(&b, 1, &z1), backoff_jittered(&b, 1, &z2));
    assert_true(z1 != 0);
    /* A delay of 1 has no room for jitter. */
    struct backoff tiny = {.base_ns = 1, .max_ns = 1};
    assert_int_equal(backoff_jittered(&tiny, 5, &rng), 1);
    /* Nor does jitter overflow at the top of the range. */
    struct backoff huge = {.base_ns = INT64_MAX, .max_ns = INT64_MAX};
    assert_in_range(backoff_jittered(&huge, 1, &rng), INT64_MAX / 2, INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delay_doubles_per_failure_up_to_the_cap),
        cmocka_unit_test(large_failure_counts_do_not_overflow),
        cmocka_unit_test(bad_settings_are_refused),
        cmocka_unit_test(zero_fields_take_the_defaults),
        cmocka_unit_test(jitter_stays_in_the_upper_half_and_replays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
