/* Tests for cluster/query: percent-decoding, parameters, booleans, integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/query.h"

static void unescape_decodes(void **state)
{
    (void)state;
    char out[64];
    size_t n;
    assert_int_equal(query_unescape("a%3Db+c%2c", 10, true, out, &n), 0);
    assert_string_equal(out, "a=b c,");
    assert_int_equal(n, 6);
    assert_int_equal(query_unescape("a+b", 3, false, out, &n), 0);
    assert_string_equal(out, "a+b");
}

static void unescape_rejects_bad_escapes(void **state)
{
    (void)state;
    char out[16];
    size_t n;
    assert_int_equal(query_unescape("%", 1, true, out, &n), -EBADMSG);
    assert_int_equal(query_unescape("%4", 2, true, out, &n), -EBADMSG);
    assert_int_equal(query_unescape("%zz", 3, true, out, &n), -EBADMSG);
    assert_int_equal(query_unescape("%00", 3, true, out, &n), -EBADMSG);
    assert_int_equal(query_unescape("a\0b", 3, true, out, &n), -EBADMSG);
}

static void parse_and_get(void **state)
{
    (void)state;
    struct query q;
    const char *s = "watch&labelSelector=app%3Dweb&&limit=5&watch=false";
    assert_int_equal(query_parse(s, strlen(s), &q, NULL), 0);
    assert_int_equal(q.n, 4);
    assert_string_equal(query_get(&q, "labelSelector"), "app=web");
    assert_string_equal(query_get(&q, "watch"), ""); /* the first one wins */
    assert_null(query_get(&q, "missing"));
    query_free(&q);
    assert_int_equal(query_parse("", 0, &q, NULL), 0);
    assert_int_equal(q.n, 0);
    query_free(&q);
}

static void parse_rejects_bad_input(void **state)
{
    (void)state;
    struct query q;
    struct err e;
    assert_int_equal(query_parse("a=%zz", 5, &q, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "a"));
    query_free(&q);
    char many[4 * (QUERY_MAX_PARAMS + 1) + 1] = "";
    for (int i = 0; i <= QUERY_MAX_PARAMS; i++)
        strcat(many, "a=1&");
    assert_int_equal(query_parse(many, strlen(many), &q, &e), -EBADMSG);
    query_free(&q);
}

static void booleans_as_the_api_server_reads_them(void **state)
{
    (void)state;
    struct query q;
    const char *s = "a=true&b=0&c=FALSE&d&e=yes";
    assert_int_equal(query_parse(s, strlen(s), &q, NULL), 0);
    assert_true(query_bool(&q, "a", false));
    assert_false(query_bool(&q, "b", true));
    assert_false(query_bool(&q, "c", true));
    assert_true(query_bool(&q, "d", false));
    assert_true(query_bool(&q, "e", false));
    assert_true(query_bool(&q, "absent", true));
    query_free(&q);
}

static void integers_in_range(void **state)
{
    (void)state;
    struct query q;
    struct err e;
    bool present;
    int64_t v = 7;
    const char *s = "n=42&neg=-3&big=99999999999999999999&x=4x&sp=%205&plus=%2B5";
    assert_int_equal(query_parse(s, strlen(s), &q, NULL), 0);
    assert_int_equal(query_int(&q, "n", 0, 100, &present, &v, &e), 0);
    assert_true(present);
    assert_int_equal(v, 42);
    assert_int_equal(query_int(&q, "absent", 0, 100, &present, &v, &e), 0);
    assert_false(present);
    assert_int_equal(v, 42);
    assert_int_equal(query_int(&q, "neg", 0, 100, &present, &v, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "neg"));
    assert_int_equal(query_int(&q, "neg", -5, 100, &present, &v, &e), 0);
    assert_int_equal(v, -3);
    assert_int_equal(query_int(&q, "big", 0, INT64_MAX, &present, &v, &e), -EBADMSG);
    assert_int_equal(query_int(&q, "x", 0, 100, &present, &v, &e), -EBADMSG);
    assert_int_equal(query_int(&q, "sp", 0, 100, &present, &v, &e), -EBADMSG);
    assert_int_equal(query_int(&q, "plus", 0, 100, &present, &v, &e), -EBADMSG);
    query_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unescape_decodes),
        cmocka_unit_test(unescape_rejects_bad_escapes),
        cmocka_unit_test(parse_and_get),
        cmocka_unit_test(parse_rejects_bad_input),
        cmocka_unit_test(booleans_as_the_api_server_reads_them),
        cmocka_unit_test(integers_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
