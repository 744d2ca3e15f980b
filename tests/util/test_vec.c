/* Tests for util/vec: growth by doubling, keeping the contents, no growth
 * when there is room, and an unrepresentable size aborting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../common/aborts.h"
#include "util/vec.h"

static void appends_keep_the_contents(void **state)
{
    (void)state;
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        VEC_RESERVE(v, cap, n + 1);
        v[n++] = i;
    }
    assert_true(cap >= 1000 && cap < 2000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);
    free(v);
}

static void capacity_doubles_from_the_minimum(void **state)
{
    (void)state;
    char *v = NULL;
    size_t cap = 0;
    VEC_RESERVE(v, cap, 1);
    assert_int_equal(cap, VEC_MIN_CAP);
    VEC_RESERVE(v, cap, VEC_MIN_CAP + 1);
    assert_int_equal(cap, 2 * VEC_MIN_CAP);
    char *same = v;
    VEC_RESERVE(v, cap, 3);
    assert_ptr_equal(v, same);
    assert_int_equal(cap, 2 * VEC_MIN_CAP);
    VEC_RESERVE(v, cap, 1000); /* a jump doubles as far as it needs */
    assert_int_equal(cap, 128 * VEC_MIN_CAP);
    free(v);
}

static void huge(void *arg)
{
    (void)arg;
    uint64_t *v = NULL;
    size_t cap = 0;
    VEC_RESERVE(v, cap, SIZE_MAX / 2);
    free(v);
}

static void an_unrepresentable_size_aborts(void **state)
{
    (void)state;
    assert_aborts(huge, NULL, "gpuslice: out of memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_keep_the_contents),
        cmocka_unit_test(capacity_doubles_from_the_minimum),
        cmocka_unit_test(an_unrepresentable_size_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
