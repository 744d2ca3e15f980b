/* Tests for util/alloc: the wrappers allocate, copy and zero as libc does,
 * and a size that cannot be allocated aborts with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../common/aborts.h"
#include "util/alloc.h"

static void allocations_are_usable(void **state)
{
    (void)state;
    char *p = alloc_malloc(16);
    memset(p, 'x', 16);
    p = alloc_realloc(p, 4096);
    assert_int_equal(p[15], 'x');
    free(p);
    free(alloc_malloc(0)); /* a pointer, not NULL, even for nothing */
    int *zeroed = alloc_calloc(100, sizeof *zeroed);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(zeroed[i], 0);
    zeroed = alloc_realloc_array(zeroed, 200, sizeof *zeroed);
    zeroed[199] = 7;
    free(zeroed);
}

static void strings_are_copied(void **state)
{
    (void)state;
    char *a = alloc_strdup("gpuslice");
    assert_string_equal(a, "gpuslice");
    char *b = alloc_strndup("gpuslice", 3);
    assert_string_equal(b, "gpu");
    char *c = alloc_strndup("ab", 10);
    assert_string_equal(c, "ab");
    free(a);
    free(b);
    free(c);
}

static void calloc_overflow(void *arg)
{
    (void)arg;
    free(alloc_calloc(SIZE_MAX / 2, 3));
}

static void array_overflow(void *arg)
{
    (void)arg;
    free(alloc_realloc_array(NULL, SIZE_MAX / 4 + 1, 8));
}

static void report_failure(void *arg)
{
    alloc_failed(*(size_t *)arg);
}

static void impossible_sizes_abort_with_a_message(void **state)
{
    (void)state;
    assert_aborts(calloc_overflow, NULL, "gpuslice: out of memory");
    assert_aborts(array_overflow, NULL, "gpuslice: out of memory");
    size_t size = 12345;
    assert_aborts(report_failure, &size, "gpuslice: out of memory (12345 bytes)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_usable),
        cmocka_unit_test(strings_are_copied),
        cmocka_unit_test(impossible_sizes_abort_with_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
