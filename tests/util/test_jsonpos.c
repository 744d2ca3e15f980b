/*
 * Tests for util/jsonpos: values found by key, index and case-insensitive
 * key, past strings holding brackets and escaped quotes, and the deepest
 * existing part of a path that is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/jsonpos.h"

static const char doc[] =
    "{\n"
    "  \"name\": \"a \\\"[quoted]\\\" {x}\",\n"
    "  \"models\": [\n"
    "    {\"n\": 1, \"decodeParms\": {\"alpha\": 12}},\n"
    "    {\"n\": [1, [2, 3]], \"decodeParms\": {\"Alpha\": -1, \"beta\": true}}\n"
    "  ],\n"
    "  \"empty\": {}\n"
    "}\n";

static struct jsonpos find(const char *path, bool want_whole)
{
    struct jsonpos at = {0, 0};
    assert_int_equal(jsonpos_find(doc, strlen(doc), path, &at), want_whole);
    return at;
}

static void finds_values(void **state)
{
    (void)state;
    struct jsonpos at = find("", true);
    assert_int_equal(at.line, 1);
    assert_int_equal(at.column, 1);
    at = find("name", true);
    assert_int_equal(at.line, 2);
    assert_int_equal(at.column, 11);
    at = find("models[0].decodeParms.alpha", true);
    assert_int_equal(at.line, 4);
    assert_int_equal(at.column, 39);
    at = find("MODELS[1].decodeParms.alpha", true); /* keys in any case */
    assert_int_equal(at.line, 5);
    assert_int_equal(at.column, 49);
    at = find("models[1].decodeParms.beta", true);
    assert_int_equal(at.line, 5);
    assert_int_equal(at.column, 61);
    at = find("empty", true);
    assert_int_equal(at.line, 7);
    assert_int_equal(at.column, 12);
}

static void missing_parts_stop_at_the_deepest_found(void **state)
{
    (void)state;
    struct jsonpos at = find("models[1].decodeParms.gamma", false);
    assert_int_equal(at.line, 5);
    assert_int_equal(at.column, 39); /* the decodeParms object */
    at = find("models[7]", false);
    assert_int_equal(at.line, 1);
    at = find("empty.x", false);
    assert_int_equal(at.line, 7);
    at = find("nothing", false);
    assert_int_equal(at.line, 1);
    assert_int_equal(jsonpos_find("[1, 2", 5, "x", &at), false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_values),
        cmocka_unit_test(missing_parts_stop_at_the_deepest_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
