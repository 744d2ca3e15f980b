/* Tests for util/jsontext: on documents of every shape it reads and
 * prints (and on those it hands to jansson) the results are jansson's
 * own: equal values in the same key order, the same errors, the same
 * bytes; and thousands of random documents, texts cut short and bytes
 * flipped at random, agree too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsontext.h"
#include "util/rng.h"

/* jsontext_load and json_loadb agree on text: both fail with the same
 * message, or both give values that print alike (key order included). */
static void assert_reads_as_jansson(const char *text, size_t len)
{
    json_error_t mine, theirs;
    json_t *a = jsontext_load(text, len, 0, &mine);
    json_t *b = json_loadb(text, len, 0, &theirs);
    assert_int_equal(a == NULL, b == NULL);
    if (!a) {
        assert_string_equal(mine.text, theirs.text);
        assert_int_equal(mine.position, theirs.position);
        return;
    }
    assert_true(json_equal(a, b));
    char *sa = json_dumps(a, JSON_COMPACT), *sb = json_dumps(b, JSON_COMPACT);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
}

/* jsontext_dumps and jsontext_dumpb print v as jansson does. */
static void assert_prints_as_jansson(const json_t *v)
{
    char *mine = jsontext_dumps(v), *theirs = json_dumps(v, JSON_COMPACT);
    assert_int_equal(mine == NULL, theirs == NULL);
    if (mine)
        assert_string_equal(mine, theirs);
    size_t want = json_dumpb(v, NULL, 0, JSON_COMPACT);
    assert_int_equal(jsontext_dumpb(v, NULL, 0), want);
    if (want) {
        char *buf = malloc(want);
        assert_int_equal(jsontext_dumpb(v, buf, want), want);
        assert_memory_equal(buf, theirs, want);
        assert_int_equal(jsontext_dumpb(v, buf, want - 1), want); /* too small: only counted */
        free(buf);
    }
    free(mine);
    free(theirs);
}

static const char *const documents[] = {
    "{}",
    "[]",
    " \t\r\n{ \"a\" : 1 , \"b\":[ true,false ,null ] }\n ",
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{}},"
    "\"spec\":{\"containers\":[{\"name\":\"main\",\"resources\":{\"limits\":"
    "{\"nvidia.com/mig-1g.10gb\":1}}}]}}",
    "{\"s\":\"a \\\"quoted\\\" \\\\ back\\/slash\\b\\f\\n\\r\\t end\"}",
    "{\"json in json\":\"[{\\\"container\\\":\\\"main\\\",\\\"count\\\":1}]\"}",
    "{\"dup\":1,\"other\":2,\"dup\":3}",
    "{\"\":\"empty key\",\"n\":-0,\"m\":-123456789012345678,\"z\":0}",
    "[1,-1,999999999999999999,-999999999999999999]",
    "[[[[[[[[[[{\"deep\":[[[]]]}]]]]]]]]]]",
    /* what jansson reads for it */
    "{\"u\":\"\\u00e9t\\u00e9\"}",
    "{\"k\\u0041y\":1}",
    "{\"esc\\\"key\":1}",
    "{\"utf8\":\"caf\xc3\xa9\"}",
    "{\"real\":1.5,\"exp\":1e3,\"neg\":-2.5E-3}",
    "[1234567890123456789,-9223372036854775808]",
    "[99999999999999999999999]",
    "\"just a string\"",
    "42",
    /* errors, all jansson's */
    "",
    "   ",
    "{",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "[1,]",
    "[1 2]",
    "{\"a\":1} trailing",
    "{\"a\":01}",
    "{\"a\":-}",
    "{\"a\":tru}",
    "{\"a\":nul}",
    "{\"a\":\"unterminated}",
    "{\"a\":\"bad \\x escape\"}",
    "{\"a\":\"raw\ttab\"}",
    "{a:1}",
    "{\"bad\":\"\xff\xfe\"}",
    "{\"nul\":\"\\u0000\"}",
};

static void documents_read_as_jansson_reads_them(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof documents / sizeof documents[0]; i++)
        assert_reads_as_jansson(documents[i], strlen(documents[i]));
}

/* A NUL byte inside the buffer is text, not its end. */
static void a_nul_inside_the_buffer_is_jansson_s_error(void **state)
{
    (void)state;
    static const char text[] = "{\"a\":\"x\0y\"}";
    assert_reads_as_jansson(text, sizeof text - 1);
    static const char after[] = "{\"a\":1}\0";
    assert_reads_as_jansson(after, sizeof after - 1);
}

/* JSON_REJECT_DUPLICATES is honoured (a repeated key at any depth is
 * jansson's error); other flags are jansson's to honour. */
static void flags_go_to_jansson(void **state)
{
    (void)state;
    json_error_t je;
    const char *dup = "{\"x\":{\"a\":1,\"b\":{},\"a\":2}}";
    assert_null(jsontext_load(dup, strlen(dup), JSON_REJECT_DUPLICATES, &je));
    assert_non_null(strstr(je.text, "duplicate"));
    const char *unique = "{\"a\":{\"a\":1},\"b\":[{\"a\":2}]}";
    json_t *ok = jsontext_load(unique, strlen(unique), JSON_REJECT_DUPLICATES, NULL);
    json_t *want = json_loadb(unique, strlen(unique), 0, NULL);
    assert_true(json_equal(ok, want));
    json_decref(ok);
    json_decref(want);
    json_t *any = jsontext_load("7", 1, JSON_DECODE_ANY, NULL);
    assert_int_equal(json_integer_value(any), 7);
    json_decref(any);
}

static void values_print_as_jansson_prints_them(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof documents / sizeof documents[0]; i++) {
        json_t *v = json_loadb(documents[i], strlen(documents[i]), JSON_DECODE_ANY, NULL);
        if (v)
            assert_prints_as_jansson(v);
        json_decref(v);
    }
    json_t *odd = json_pack("{s:s, s:s, s:f, s:I, s:I, s:o}", "controls", "\x01\x1f\x7f/",
                            "slash", "a/b", "real", 0.1, "min", (json_int_t)INT64_MIN, "max",
                            (json_int_t)INT64_MAX, "nested", json_pack("[{}, [], {s:[]}]", "x"));
    assert_prints_as_jansson(odd);
    json_decref(odd);
    json_t *raw = json_object();
    json_object_set_new(raw, "k", json_stringn_nocheck("not \xc3 utf8", 10));
    assert_prints_as_jansson(raw); /* jansson refuses it: so do we */
    json_decref(raw);
}

/* A loop jansson detects (a container inside itself) is refused, not
 * followed forever. */
static void a_loop_is_jansson_s_failure(void **state)
{
    (void)state;
    json_t *a = json_array(), *o = json_object();
    json_array_append(a, o);
    json_object_set(o, "back", a);
    assert_null(jsontext_dumps(a));
    assert_int_equal(jsontext_dumpb(a, NULL, 0), 0);
    json_object_del(o, "back");
    json_decref(o);
    json_decref(a);
    assert_prints_as_jansson(NULL);
    json_t *scalar = json_integer(1);
    assert_prints_as_jansson(scalar); /* not a document without JSON_ENCODE_ANY */
    json_decref(scalar);
}

/* ---- random documents ------------------------------------------------------ */

static json_t *random_value(struct rng *r, int depth);

static json_t *random_string(struct rng *r)
{
    static const char alphabet[] = "ab/Z09 .-_\"\\\n\t\x01\x7f{}[],:";
    char s[24];
    size_t n = rng_next(r) % sizeof s;
    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[rng_next(r) % (sizeof alphabet - 1)];
    return json_stringn(s, n);
}

static json_t *random_container(struct rng *r, int depth)
{
    size_t n = rng_next(r) % 5;
    if (rng_next(r) % 2) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, random_value(r, depth + 1));
        return a;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *k = random_string(r);
        json_object_set_new(o, json_string_value(k), random_value(r, depth + 1));
        json_decref(k);
    }
    return o;
}

static json_t *random_value(struct rng *r, int depth)
{
    switch (rng_next(r) % (depth < 6 ? 8 : 6)) {
    case 0:
        return random_string(r);
    case 1:
        return json_integer((json_int_t)(rng_next(r) >> (rng_next(r) % 64)) *
                            (rng_next(r) % 2 ? 1 : -1));
    case 2: /* rarely: a real sends the whole document to jansson */
        return rng_next(r) % 16 ? json_integer(7) : json_real((double)(rng_next(r) % 999) / 8.0);
    case 3:
        return json_true();
    case 4:
        return rng_next(r) % 2 ? json_false() : json_null();
    case 5:
        return random_string(r);
    default:
        return random_container(r, depth);
    }
}

static void random_documents_agree(void **state)
{
    (void)state;
    struct rng r = rng_seeded(12);
    for (int i = 0; i < 3000; i++) {
        json_t *doc = random_container(&r, 0);
        assert_prints_as_jansson(doc);
        char *text = json_dumps(doc, JSON_COMPACT);
        size_t len = strlen(text);
        assert_reads_as_jansson(text, len);
        assert_reads_as_jansson(text, len ? rng_next(&r) % len : 0); /* cut short */
        if (len) {
            text[rng_next(&r) % len] = (char)(rng_next(&r) % 256); /* a byte flipped */
            assert_reads_as_jansson(text, len);
        }
        free(text);
        json_decref(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(documents_read_as_jansson_reads_them),
        cmocka_unit_test(a_nul_inside_the_buffer_is_jansson_s_error),
        cmocka_unit_test(flags_go_to_jansson),
        cmocka_unit_test(values_print_as_jansson_prints_them),
        cmocka_unit_test(a_loop_is_jansson_s_failure),
        cmocka_unit_test(random_documents_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
