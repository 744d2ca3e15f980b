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

static void string_hashes_its_bytes(void **state)
{
    (void)state;
    assert_true(hash_string(HASH_INIT, "foobar") == UINT64_C(0x85944171f73967e8));
    assert_true(hash_string(HASH_INIT, "") == HASH_INIT);
    /* Chained, it is the hash of the concatenation (no separator). */
    assert_true(hash_string(hash_string(HASH_INIT, "foo"), "bar") ==
                hash_string(HASH_INIT, "foobar"));
}

static void matches_fnv1a_32_reference_values(void **state)
{
    (void)state;
    /* Published FNV-1a 32-bit test vectors (Go's hash/fnv New32a agrees,
     * which the Kubernetes pod-template-hash uses). */
    assert_true(hash_bytes32(HASH_INIT32, "", 0) == UINT32_C(0x811c9dc5));
    assert_true(hash_bytes32(HASH_INIT32, "a", 1) == UINT32_C(0xe40c292c));
    assert_true(hash_bytes32(HASH_INIT32, "foobar", 6) == UINT32_C(0xbf9cf968));
    assert_true(hash_bytes32(hash_bytes32(HASH_INIT32, "foo", 3), "bar", 3) ==
                UINT32_C(0xbf9cf968));
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
        cmocka_unit_test(string_hashes_its_bytes),
        cmocka_unit_test(matches_fnv1a_32_reference_values),
        cmocka_unit_test(fields_are_separated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
