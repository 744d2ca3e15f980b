/* Tests for util/jdoc: fields and items are set, a missing value or a bad
 * key aborts loudly, wire strings are checked without aborting, and a
 * copy is deep and the same text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../common/aborts.h"
#include "util/jdoc.h"

#include <string.h>

static void sets_and_appends(void **state)
{
    (void)state;
    json_t *o = json_object(), *a = json_array();
    jdoc_set(o, "n", json_integer(3));
    jdoc_append(a, json_string("x"));
    jdoc_set(o, "a", a);
    assert_int_equal(json_integer_value(json_object_get(o, "n")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "a"), 0)), "x");
    json_decref(o);
}

static void set_null(void *arg)
{
    (void)arg;
    json_t *o = json_object();
    jdoc_set(o, "name", json_string("\xff"));
    json_decref(o);
}

static void set_on_array(void *arg)
{
    (void)arg;
    json_t *a = json_array();
    jdoc_set(a, "k", json_true());
    json_decref(a);
}

static void append_null(void *arg)
{
    (void)arg;
    json_t *a = json_array();
    jdoc_append(a, NULL);
    json_decref(a);
}

static void a_field_that_cannot_be_set_aborts(void **state)
{
    (void)state;
    assert_aborts(set_null, NULL, "cannot set the JSON field \"name\": no value");
    assert_aborts(set_on_array, NULL, "cannot set the JSON field \"k\": the target");
    assert_aborts(append_null, NULL, "cannot append to the JSON array");
}

/* A member set by jdoc_put keeps the object good; a value missing (a
 * string that was not UTF-8) or a target that is no object makes it bad,
 * and one bad member keeps it so. */
static void members_are_put_until_one_is_missing(void **state)
{
    (void)state;
    json_t *o = json_object();
    bool ok = jdoc_put(o, "a", json_string("x"), true);
    assert_true(ok);
    assert_string_equal(json_string_value(json_object_get(o, "a")), "x");
    ok = jdoc_put(o, "b", json_string("\xff"), ok);
    assert_false(ok);
    assert_null(json_object_get(o, "b"));
    assert_false(jdoc_put(o, "c", json_integer(1), ok));
    assert_non_null(json_object_get(o, "c")); /* set, but the object stays bad */
    json_t *list = json_array();
    assert_false(jdoc_put(list, "d", json_integer(2), true));
    json_decref(list);
    assert_null(jdoc_built(o, ok)); /* released: ASan and valgrind see no leak */
    o = json_object();
    assert_ptr_equal(jdoc_built(o, true), o);
    json_decref(o);
}

/* A string is s when its bytes and length are: not a prefix, not one
 * holding a NUL after s's bytes, not another type. */
static void a_string_is_its_bytes(void **state)
{
    (void)state;
    json_t *v = json_string("abc"), *longer = json_stringn("abc\0d", 5), *num = json_integer(1);
    assert_true(jdoc_string_is(v, "abc"));
    assert_false(jdoc_string_is(v, "ab"));
    assert_false(jdoc_string_is(v, "abcd"));
    assert_false(jdoc_string_is(longer, "abc"));
    assert_false(jdoc_string_is(num, "1"));
    assert_false(jdoc_string_is(NULL, ""));
    json_decref(v);
    json_decref(longer);
    json_decref(num);
}

static void wire_strings_are_checked(void **state)
{
    (void)state;
    struct err e;
    assert_null(jdoc_string("ns\xc3", "the namespace in the URL", &e));
    assert_int_equal(e.code, -EBADMSG);
    assert_string_equal(e.msg, "the namespace in the URL is not valid UTF-8");
    assert_null(jdoc_string("\xff", "x", NULL));
    json_t *j = jdoc_string("default", "x", &e);
    assert_string_equal(json_string_value(j), "default");
    json_decref(j);
}

/* Text that must reach a client: never NULL, its bad bytes as '?'. */
static void scrubbed_strings_are_always_made(void **state)
{
    (void)state;
    json_t *j = jdoc_string_scrubbed("caf\xc3\xa9");
    assert_string_equal(json_string_value(j), "caf\xc3\xa9");
    json_decref(j);
    j = jdoc_string_scrubbed("a\xff" "b\xe2\x82");
    assert_string_equal(json_string_value(j), "a?b");
    json_decref(j);
}

static void copies_are_deep_and_keep_the_order(void **state)
{
    (void)state;
    const char *text = "{\"z\":1,\"a\":[true,null,{\"k\":\"v\\u0000w\"},2.5],"
                       "\"m\":{\"b\":false,\"a\":-7}}";
    json_t *orig = json_loads(text, JSON_ALLOW_NUL, NULL);
    assert_non_null(orig);
    json_t *copy = jdoc_copy(orig);
    assert_true(json_equal(orig, copy));
    char *a = json_dumps(orig, JSON_COMPACT), *b = json_dumps(copy, JSON_COMPACT);
    assert_string_equal(a, b);
    assert_int_equal(json_string_length(json_object_get(json_array_get(json_object_get(copy, "a"), 2), "k")), 3);
    jdoc_set(json_object_get(copy, "m"), "b", json_true());
    json_array_clear(json_object_get(copy, "a"));
    assert_false(json_is_true(json_object_get(json_object_get(orig, "m"), "b")));
    assert_int_equal(json_array_size(json_object_get(orig, "a")), 4);
    /* scalars are shared: no code changes one in place */
    assert_ptr_equal(json_object_get(copy, "z"), json_object_get(orig, "z"));
    assert_null(jdoc_copy(NULL));
    json_t *top = jdoc_shallow(orig);
    assert_true(json_equal(top, orig));
    assert_ptr_equal(json_object_get(top, "m"), json_object_get(orig, "m"));
    jdoc_set(top, "z", json_integer(2));
    assert_int_equal(json_integer_value(json_object_get(orig, "z")), 1);
    json_decref(top);
    free(a);
    free(b);
    json_decref(orig);
    json_decref(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sets_and_appends),
        cmocka_unit_test(a_field_that_cannot_be_set_aborts),
        cmocka_unit_test(members_are_put_until_one_is_missing),
        cmocka_unit_test(a_string_is_its_bytes),
        cmocka_unit_test(wire_strings_are_checked),
        cmocka_unit_test(scrubbed_strings_are_always_made),
        cmocka_unit_test(copies_are_deep_and_keep_the_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
