/* Tests for util/random.h: the buffer is filled, and two draws differ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/random.h"

static void fills_the_whole_buffer(void **state)
{
    (void)state;
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    assert_int_equal(random_fill(a, sizeof a), sizeof a);
    assert_int_equal(random_fill(b, sizeof b), sizeof b);
    /* 512 random bits twice alike (or all zero) would be a broken source. */
    assert_memory_not_equal(a, b, sizeof a);
    static const unsigned char zero[64];
    assert_memory_not_equal(a, zero, sizeof a);
    assert_int_equal(random_fill(a, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fills_the_whole_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
