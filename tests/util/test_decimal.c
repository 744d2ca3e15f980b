/* util/decimal: integers as text, checked against snprintf over the
 * edges of each type and a sweep of values. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/decimal.h"

/* got holds n digits and a NUL, and they are what printf wrote. */
static void same_as_printf(const char *want, const char *got, size_t n)
{
    assert_int_equal(n, strlen(want));
    assert_string_equal(got, want);
}

static void check_u64(uint64_t v)
{
    char want[32], got[DECIMAL_MAX];
    memset(got, 'x', sizeof got); /* a missing NUL shows */
    snprintf(want, sizeof want, "%" PRIu64, v);
    same_as_printf(want, got, decimal_u64(got, v));
}

static void check_i64(int64_t v)
{
    char want[32], got[DECIMAL_MAX];
    memset(got, 'x', sizeof got); /* a missing NUL shows */
    snprintf(want, sizeof want, "%" PRId64, v);
    same_as_printf(want, got, decimal_i64(got, v));
}

static void unsigned_edges_and_powers(void **state)
{
    (void)state;
    check_u64(0);
    check_u64(9);
    check_u64(10);
    check_u64(UINT64_MAX);
    for (uint64_t p = 1; p <= UINT64_MAX / 10; p *= 10) {
        check_u64(p - 1);
        check_u64(p);
        check_u64(p + 1);
    }
}

static void signed_edges_and_powers(void **state)
{
    (void)state;
    check_i64(0);
    check_i64(-1);
    check_i64(INT64_MAX);
    check_i64(INT64_MIN);
    check_i64(INT64_MIN + 1);
    for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10) {
        check_i64(p);
        check_i64(-p);
        check_i64(p - 1);
        check_i64(1 - p);
    }
}

/* The longest values of both types fill DECIMAL_MAX exactly: the NUL
 * lands in its last byte. */
static void longest_values_fit_the_bound(void **state)
{
    (void)state;
    char out[DECIMAL_MAX];
    assert_int_equal(decimal_i64(out, INT64_MIN), DECIMAL_MAX - 1);
    assert_int_equal(out[DECIMAL_MAX - 1], '\0');
    assert_int_equal(decimal_u64(out, UINT64_MAX), DECIMAL_MAX - 1);
    assert_int_equal(out[DECIMAL_MAX - 1], '\0');
}

static void sweep_matches_printf(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        check_u64(x >> (i % 64));
        check_i64((int64_t)(x >> (i % 63 + 1)) * (i % 2 ? -1 : 1));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unsigned_edges_and_powers),
        cmocka_unit_test(signed_edges_and_powers),
        cmocka_unit_test(longest_values_fit_the_bound),
        cmocka_unit_test(sweep_matches_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
