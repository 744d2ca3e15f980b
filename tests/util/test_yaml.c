/* Tests for util/yaml: core-schema scalars, positions, documents, anchors,
 * limits, and an error naming file, line and column for every bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/yaml.h"

/* Parses text (whole string) and returns the doc; fails the test on error. */
static struct yaml_doc *parse_ok(const char *text)
{
    struct yaml_doc *d = NULL;
    struct err e;
    err_clear(&e);
    int rc = yaml_doc_parse("t.yaml", text, strlen(text), NULL, &d, &e);
    if (rc != 0)
        fail_msg("unexpected error %d: %s", rc, e.msg);
    return d;
}

/* Parses text expecting failure with code; returns the message. */
static const char *parse_bad(const char *text, const struct yaml_limits *lim, int code)
{
    static struct err e;
    struct yaml_doc *d = (struct yaml_doc *)&e; /* must be reset to NULL */
    err_clear(&e);
    assert_int_equal(yaml_doc_parse("t.yaml", text, strlen(text), lim, &d, &e), code);
    assert_null(d);
    assert_int_equal(e.code, code);
    return e.msg;
}

/* The root of a one-document text. The doc lives in *state until the next
 * call or the test's teardown. */
static json_t *root_of(void **state, const char *text)
{
    yaml_doc_free(*state);
    *state = NULL;
    *state = parse_ok(text);
    assert_int_equal(yaml_doc_count(*state), 1);
    return yaml_doc_root(*state, 0);
}

static int free_doc(void **state)
{
    yaml_doc_free(*state);
    *state = NULL;
    return 0;
}

static void plain_scalars_follow_core_schema(void **state)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", ""};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        char text[32];
        snprintf(text, sizeof text, "v: %s\n", nulls[i]);
        assert_true(json_is_null(json_object_get(root_of(state, text), "v")));
    }
    assert_true(json_is_true(json_object_get(root_of(state, "v: True"), "v")));
    assert_true(json_is_false(json_object_get(root_of(state, "v: FALSE"), "v")));
    assert_int_equal(json_integer_value(json_object_get(root_of(state, "v: -42"), "v")), -42);
    assert_int_equal(json_integer_value(json_object_get(root_of(state, "v: +7"), "v")), 7);
    assert_int_equal(json_integer_value(json_object_get(root_of(state, "v: 0o17"), "v")), 15);
    assert_int_equal(json_integer_value(json_object_get(root_of(state, "v: 0x1F"), "v")), 31);
    assert_int_equal(json_integer_value(json_object_get(root_of(state, "v: 9223372036854775807"), "v")),
                     9223372036854775807LL);
    assert_true(json_real_value(json_object_get(root_of(state, "v: 2.5"), "v")) == 2.5);
    assert_true(json_real_value(json_object_get(root_of(state, "v: .5e1"), "v")) == 5.0);
    assert_true(json_real_value(json_object_get(root_of(state, "v: -1E-2"), "v")) == -0.01);
    assert_true(json_real_value(json_object_get(root_of(state, "v: 3."), "v")) == 3.0);
    /* YAML 1.1 words and near misses stay strings under the 1.2 core schema. */
    static const char *const strings[] = {"yes", "off", "1.2.3", "0x", "0o8", "-x", ".", "1e",
                                          "tRUE", "3g.40gb", "0b101", "1_000"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        char text[32];
        snprintf(text, sizeof text, "v: %s\n", strings[i]);
        assert_string_equal(json_string_value(json_object_get(root_of(state, text), "v")), strings[i]);
    }
}

static void quoted_and_block_scalars_are_strings(void **state)
{
    json_t *r = root_of(state, "a: \"12\"\nb: 'true'\nc: |\n  null\nd: >-\n  1.5\ne: \"\"\n");
    assert_string_equal(json_string_value(json_object_get(r, "a")), "12");
    assert_string_equal(json_string_value(json_object_get(r, "b")), "true");
    assert_string_equal(json_string_value(json_object_get(r, "c")), "null\n");
    assert_string_equal(json_string_value(json_object_get(r, "d")), "1.5");
    assert_string_equal(json_string_value(json_object_get(r, "e")), "");
    json_t *nul = json_object_get(root_of(state, "v: \"a\\0b\"\n"), "v");
    assert_int_equal(json_string_length(nul), 3);
}

static void core_tags_are_honoured(void **state)
{
    json_t *r = root_of(state, "a: !!str 12\nb: !!int \"12\"\nc: !!float 1\nd: !!bool \"false\"\n"
                        "e: !!null ''\nf: ! 12\ng: !!map {x: 1}\nh: !!seq [1]\n");
    assert_string_equal(json_string_value(json_object_get(r, "a")), "12");
    assert_int_equal(json_integer_value(json_object_get(r, "b")), 12);
    assert_true(json_is_real(json_object_get(r, "c")));
    assert_true(json_is_false(json_object_get(r, "d")));
    assert_true(json_is_null(json_object_get(r, "e")));
    assert_string_equal(json_string_value(json_object_get(r, "f")), "12");
    assert_true(json_is_object(json_object_get(r, "g")));
    assert_true(json_is_array(json_object_get(r, "h")));
}

static void bad_scalars_and_tags_are_errors(void **state)
{
    (void)state;
    assert_string_equal(parse_bad("v: !!int abc\n", NULL, -EINVAL),
                        "t.yaml:1:4: \"abc\" is not a valid !!int");
    assert_string_equal(parse_bad("a: 1\nv: !!bool yes\n", NULL, -EINVAL),
                        "t.yaml:2:4: \"yes\" is not a valid !!bool");
    assert_string_equal(parse_bad("v: !custom x\n", NULL, -EINVAL),
                        "t.yaml:1:4: unsupported tag !custom on a scalar");
    assert_string_equal(parse_bad("v: !!seq {}\n", NULL, -EINVAL),
                        "t.yaml:1:4: unsupported tag tag:yaml.org,2002:seq on a mapping");
    assert_string_equal(parse_bad("v: -.inf\n", NULL, -EINVAL), "t.yaml:1:4: -.inf has no JSON form");
    assert_string_equal(parse_bad("v: .NaN\n", NULL, -EINVAL), "t.yaml:1:4: .NaN has no JSON form");
    assert_string_equal(parse_bad("v: 9223372036854775808\n", NULL, -EINVAL),
                        "t.yaml:1:4: integer 9223372036854775808 is out of range");
    assert_string_equal(parse_bad("v: 1e999\n", NULL, -EINVAL),
                        "t.yaml:1:4: number 1e999 is out of range");
    assert_string_equal(parse_bad("v: \"\\ud800\"\n", NULL, -EINVAL),
                        "t.yaml:1:7: found invalid Unicode character escape code "
                        "(while parsing a quoted scalar that started at 1:4)");
}

static void keys_must_be_unique_scalars(void **state)
{
    assert_string_equal(parse_bad("a: 1\nb: 2\na: 3\n", NULL, -EINVAL),
                        "t.yaml:3:1: duplicate key \"a\" (first at 1:1)");
    assert_string_equal(parse_bad("? [a]\n: 1\n", NULL, -EINVAL),
                        "t.yaml:1:3: mapping keys must be scalars");
    assert_string_equal(parse_bad("x: &k a\n*k : 1\n", NULL, -EINVAL),
                        "t.yaml:2:1: an alias cannot be a mapping key");
    assert_string_equal(parse_bad("\"a\\0\": 1\n", NULL, -EINVAL),
                        "t.yaml:1:1: mapping key contains a NUL character");
    /* Non-string scalar keys are taken as written. */
    json_t *r = root_of(state, "1: a\ntrue: b\n0x10: c\n");
    assert_string_equal(json_string_value(json_object_get(r, "0x10")), "c");
    assert_string_equal(json_string_value(json_object_get(r, "true")), "b");
}

static void syntax_errors_name_line_and_column(void **state)
{
    (void)state;
    assert_string_equal(parse_bad("a: 1\nb: [1, 2\nc: 3\n", NULL, -EINVAL),
                        "t.yaml:3:2: did not find expected ',' or ']' "
                        "(while parsing a flow sequence that started at 2:4)");
    assert_string_equal(parse_bad("a:\n  b: 1\n c: 2\n", NULL, -EINVAL),
                        "t.yaml:3:2: did not find expected key "
                        "(while parsing a block mapping that started at 1:1)");
    assert_string_equal(parse_bad("a: 1\nb: \"x\x01\"\n", NULL, -EINVAL),
                        "t.yaml:2:6: control characters are not allowed");
    assert_string_equal(parse_bad("a: \xff\n", NULL, -EINVAL),
                        "t.yaml:1:4: invalid leading UTF-8 octet");
}

static void positions_are_kept(void **state)
{
    (void)state;
    struct yaml_doc *d = parse_ok("# c\nnodes:\n  - name: a\n    up: true\n    gpus: [x, null]\n");
    json_t *root = yaml_doc_root(d, 0);
    struct yaml_mark at, key_at;
    assert_true(yaml_doc_where(d, root, &at));
    assert_int_equal(at.line, 2);
    assert_int_equal(at.col, 1);
    json_t *nodes = json_object_get(root, "nodes");
    assert_true(yaml_doc_where(d, nodes, &at));
    assert_int_equal(at.line, 3);
    assert_int_equal(at.col, 3);
    json_t *node = json_array_get(nodes, 0);
    assert_true(yaml_doc_where_item(d, nodes, 0, &at));
    assert_int_equal(at.line, 3);
    assert_int_equal(at.col, 5);
    assert_true(yaml_doc_where(d, json_object_get(node, "name"), &at));
    assert_int_equal(at.line, 3);
    assert_int_equal(at.col, 11);
    /* true is a shared singleton: known through its parent only. */
    assert_false(yaml_doc_where(d, json_object_get(node, "up"), &at));
    assert_true(yaml_doc_where_member(d, node, "up", &key_at, &at));
    assert_int_equal(key_at.line, 4);
    assert_int_equal(key_at.col, 5);
    assert_int_equal(at.col, 9);
    assert_true(yaml_doc_where_member(d, node, "up", NULL, NULL));
    json_t *gpus = json_object_get(node, "gpus");
    assert_true(yaml_doc_where_item(d, gpus, 1, &at));
    assert_int_equal(at.line, 5);
    assert_int_equal(at.col, 15);
    assert_false(yaml_doc_where_item(d, gpus, 2, &at));
    assert_false(yaml_doc_where_item(d, node, 0, &at));
    assert_false(yaml_doc_where_member(d, node, "missing", &key_at, &at));
    assert_false(yaml_doc_where_member(d, gpus, "x", &key_at, &at));
    json_t *foreign = json_string("x");
    assert_false(yaml_doc_where(d, foreign, &at));
    json_decref(foreign);
    assert_false(yaml_doc_where(d, NULL, &at));
    yaml_doc_free(d);
}

static void columns_count_characters(void **state)
{
    (void)state;
    struct yaml_doc *d = parse_ok("\"é€\": [ü, 1]\n");
    json_t *arr = json_object_get(yaml_doc_root(d, 0), "é€");
    struct yaml_mark at;
    assert_true(yaml_doc_where_item(d, arr, 1, &at));
    assert_int_equal(at.col, 11);
    yaml_doc_free(d);
}

static void streams_hold_many_documents(void **state)
{
    (void)state;
    struct yaml_doc *d = parse_ok("a: 1\n---\n---\n- x\n...\n--- 5\n");
    assert_int_equal(yaml_doc_count(d), 4);
    assert_true(json_is_object(yaml_doc_root(d, 0)));
    assert_true(json_is_null(yaml_doc_root(d, 1)));
    assert_true(json_is_array(yaml_doc_root(d, 2)));
    assert_int_equal(json_integer_value(yaml_doc_root(d, 3)), 5);
    assert_null(yaml_doc_root(d, 4));
    struct yaml_mark at;
    assert_true(yaml_doc_where(d, yaml_doc_root(d, 2), &at));
    assert_int_equal(at.line, 4);
    assert_string_equal(yaml_doc_name(d), "t.yaml");
    yaml_doc_free(d);
    d = parse_ok("# only a comment\n");
    assert_int_equal(yaml_doc_count(d), 0);
    yaml_doc_free(d);
    d = parse_ok("");
    assert_int_equal(yaml_doc_count(d), 0);
    yaml_doc_free(d);
}

static void aliases_are_independent_copies(void **state)
{
    struct yaml_doc *d = parse_ok("base: &b\n  x: 1\n  y: [true]\nother: *b\nk: &s hi\nl: *s\n");
    json_t *r = yaml_doc_root(d, 0);
    json_t *base = json_object_get(r, "base");
    json_t *other = json_object_get(r, "other");
    assert_true(json_equal(base, other));
    assert_ptr_not_equal(base, other);
    assert_string_equal(json_string_value(json_object_get(r, "l")), "hi");
    struct yaml_mark at;
    assert_true(yaml_doc_where(d, other, &at)); /* the copy is where the alias is */
    assert_int_equal(at.line, 4);
    assert_int_equal(at.col, 8);
    assert_true(yaml_doc_where_member(d, other, "x", NULL, &at)); /* its content where written */
    assert_int_equal(at.line, 2);
    assert_true(yaml_doc_where_item(d, json_object_get(other, "y"), 0, &at));
    assert_int_equal(at.line, 3);
    assert_int_equal(at.col, 7);
    json_object_set_new(other, "x", json_integer(2));
    assert_int_equal(json_integer_value(json_object_get(base, "x")), 1);
    yaml_doc_free(d);
    /* The latest anchor of a name wins; key anchors name the key's text. */
    r = root_of(state, "a: &n 1\nb: &n 2\nc: *n\n&k d: 3\ne: *k\n");
    assert_int_equal(json_integer_value(json_object_get(r, "c")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "e")), "d");
}

static void bad_aliases_are_errors(void **state)
{
    (void)state;
    assert_string_equal(parse_bad("a: *nope\n", NULL, -EINVAL),
                        "t.yaml:1:4: alias *nope has no anchor before it in this document");
    assert_string_equal(parse_bad("a: &x [1, *x]\n", NULL, -EINVAL),
                        "t.yaml:1:11: alias *x refers to a node that contains it");
    assert_string_equal(parse_bad("a: &x 1\n---\nb: *x\n", NULL, -EINVAL),
                        "t.yaml:3:4: alias *x has no anchor before it in this document");
}

static void alias_bombs_hit_the_node_limit(void **state)
{
    (void)state;
    char text[1024] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'i'; c++) {
        char line[96];
        snprintf(line, sizeof line, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n",
                 c, c, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
        strcat(text, line);
    }
    const char *msg = parse_bad(text, NULL, -E2BIG);
    assert_non_null(strstr(msg, "more than 1048576 nodes (aliases count as copies)"));
    assert_memory_equal(msg, "t.yaml:6:", 9); /* f: 10^6 copies */
}

static void limits_are_enforced(void **state)
{
    (void)state;
    struct yaml_limits lim = {16, 3, 10};
    assert_string_equal(parse_bad("a: 12345678901234567\n", &lim, -E2BIG),
                        "t.yaml: larger than 16 bytes");
    assert_string_equal(parse_bad("[[[[1]]]]", &lim, -E2BIG),
                        "t.yaml:1:4: nested deeper than 3 levels");
    lim.max_bytes = 1024;
    assert_string_equal(parse_bad("a:\n b:\n  c:\n   d: 1\n", &lim, -E2BIG),
                        "t.yaml:4:4: nested deeper than 3 levels");
    assert_string_equal(parse_bad("[1,2,3,4,5,6,7,8,9,0]", &lim, -E2BIG),
                        "t.yaml:1:20: more than 10 nodes (aliases count as copies)");
    lim = (struct yaml_limits){1024, 3, 100};
    assert_string_equal(parse_bad("a: &a [[1]]\nb: [*a]\n", &lim, -E2BIG),
                        "t.yaml:2:5: alias nests deeper than 3 levels");
    struct yaml_doc *d = NULL;
    assert_int_equal(yaml_doc_parse("t.yaml", "[[1]]", 5, &lim, &d, NULL), 0);
    yaml_doc_free(d);
    /* Errors are still reported by code without a struct err. */
    assert_int_equal(yaml_doc_parse("t.yaml", "[[[[1]]]]", 9, &lim, &d, NULL), -E2BIG);
    assert_null(d);
}

static void fail_formats_the_place(void **state)
{
    (void)state;
    struct yaml_doc *d = parse_ok("a: 1\n");
    struct err e;
    struct yaml_mark at = {4, 2};
    assert_int_equal(yaml_doc_fail(d, &at, &e, -EINVAL, "bad %s", "thing"), -EINVAL);
    assert_string_equal(e.msg, "t.yaml:4:2: bad thing");
    assert_int_equal(e.code, -EINVAL);
    assert_int_equal(yaml_doc_fail(d, NULL, &e, -ENOENT, "no %d", 3), -ENOENT);
    assert_string_equal(e.msg, "t.yaml: no 3");
    assert_int_equal(yaml_doc_fail(d, NULL, NULL, -ENOENT, "x"), -ENOENT);
    yaml_doc_free(d);
    yaml_doc_free(NULL);
}

static void load_reads_files(void **state)
{
    (void)state;
    char path[] = "/tmp/test_yaml_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "a: [1, 2]\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct yaml_doc *d;
    struct err e;
    assert_int_equal(yaml_doc_load(path, NULL, &d, &e), 0);
    assert_string_equal(yaml_doc_name(d), path);
    assert_int_equal(json_array_size(json_object_get(yaml_doc_root(d, 0), "a")), 2);
    yaml_doc_free(d);
    struct yaml_limits lim = {5, 8, 100};
    assert_int_equal(yaml_doc_load(path, &lim, &d, &e), -E2BIG);
    assert_null(d);
    char want[128];
    snprintf(want, sizeof want, "%s: larger than 5 bytes", path);
    assert_string_equal(e.msg, want);
    unlink(path);
    assert_int_equal(yaml_doc_load(path, NULL, &d, &e), -ENOENT);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(e.msg, want);
    assert_int_equal(yaml_doc_load("/", NULL, &d, &e), -EISDIR);
    assert_string_equal(e.msg, "/: Is a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(plain_scalars_follow_core_schema, free_doc),
        cmocka_unit_test_teardown(quoted_and_block_scalars_are_strings, free_doc),
        cmocka_unit_test_teardown(core_tags_are_honoured, free_doc),
        cmocka_unit_test_teardown(bad_scalars_and_tags_are_errors, free_doc),
        cmocka_unit_test_teardown(keys_must_be_unique_scalars, free_doc),
        cmocka_unit_test_teardown(syntax_errors_name_line_and_column, free_doc),
        cmocka_unit_test_teardown(positions_are_kept, free_doc),
        cmocka_unit_test_teardown(columns_count_characters, free_doc),
        cmocka_unit_test_teardown(streams_hold_many_documents, free_doc),
        cmocka_unit_test_teardown(aliases_are_independent_copies, free_doc),
        cmocka_unit_test_teardown(bad_aliases_are_errors, free_doc),
        cmocka_unit_test_teardown(alias_bombs_hit_the_node_limit, free_doc),
        cmocka_unit_test_teardown(limits_are_enforced, free_doc),
        cmocka_unit_test_teardown(fail_formats_the_place, free_doc),
        cmocka_unit_test_teardown(load_reads_files, free_doc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
