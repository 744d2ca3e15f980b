/* Tests for util/hash: the FNV-1a reference values and field separation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/hash.h"

static void matches_fnv1a_reference_values(void **state)
{
    (void)state;
    /* Published FNV-1a 64-bit test vectors. */
    assert_true(hash_bytes(HASH_INIT, "", 0) == UINT64_C(0xcbf29ce484222325));
    assert_true(hash_bytes(HASH_INIT, "a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(hash_bytes(HASH_INIT, "foobar", 6) == UINT64_C(0x85944171f73967e8));
}

static void fields_are_separated(void **state)
{
    (void)state;
    uint64_t ab_c = hash_field(hash_field(HASH_INIT, "ab"), "c");
    uint64_t a_bc = hash_field(hash_field(HASH_INIT, "a"), "bc");
    assert_true(ab_c != a_bc);
    assert_true(hash_field(HASH_INIT, NULL) == hash_field(HASH_INIT, ""));
    assert_true(hash_field(HASH_INIT, "x") == hash_field(HASH_INIT, "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_fnv1a_reference_values),
        cmocka_unit_test(fields_are_separated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
