/*
 * Tests for util/jsonpos: values found by key, index and case-insensitive
 * key, past strings holding brackets and escaped quotes, and the deepest
 * existing part of a path that is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
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

static void expect_at(const char *path, bool want_whole, int line, int column)
{
    struct jsonpos at = find(path, want_whole);
    if (at.line != line || at.column != column)
        fail_msg("%s: at %d:%d, want %d:%d", path, at.line, at.column, line, column);
}

static void finds_values(void **state)
{
    (void)state;
    expect_at("", true, 1, 1);
    expect_at("name", true, 2, 11);
    expect_at("models[0].decodeParms.alpha", true, 4, 39);
    expect_at("MODELS[1].decodeParms.alpha", true, 5, 49); /* keys in any case */
    expect_at("models[1].decodeParms.beta", true, 5, 61);
    expect_at("empty", true, 7, 12);
}

static void missing_parts_stop_at_the_deepest_found(void **state)
{
    (void)state;
    expect_at("models[1].decodeParms.gamma", false, 5, 39); /* the decodeParms object */
    expect_at("models[7]", false, 1, 1);
    expect_at("empty.x", false, 7, 12);
    expect_at("nothing", false, 1, 1);
    struct jsonpos at;
    assert_int_equal(jsonpos_find("[1, 2", 5, "x", &at), false);
}

/* A member cut off after its colon: the scan stops at the end of the text
 * (a buffer of exactly its length, so a read past it shows under ASan). */
static void text_cut_after_a_colon_is_not_read_past(void **state)
{
    (void)state;
    static const char cut[] = "{\"x\":";
    char *text = malloc(strlen(cut));
    memcpy(text, cut, strlen(cut));
    struct jsonpos at;
    assert_int_equal(jsonpos_find(text, strlen(cut), "a", &at), false);
    assert_int_equal(at.line, 1);
    assert_int_equal(at.column, 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_values),
        cmocka_unit_test(missing_parts_stop_at_the_deepest_found),
        cmocka_unit_test(text_cut_after_a_colon_is_not_read_past),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
