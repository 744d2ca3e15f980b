/* Schema checks over a parsed YAML document: unknown fields, wrong types
 * and missing required fields are refused at FILE:LINE:COL; any number
 * passes a JSON_REAL field; lists are cut when full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/schema.h"

static const struct schema_field fields[] = {
    {"name", JSON_STRING, true},
    {"at", JSON_REAL, false},
    {"on", JSON_TRUE, false},
    {"any", JSON_NULL, false},
};

static int check(const char *text, struct err *e)
{
    struct yaml_doc *doc = NULL;
    assert_int_equal(yaml_doc_parse("s.yaml", text, strlen(text), NULL, &doc, e), 0);
    struct schema s = {.doc = doc, .e = e};
    int rc = schema_check(&s, yaml_doc_root(doc, 0), "an item", fields, 4);
    yaml_doc_free(doc);
    return rc;
}

static void fields_are_checked_where_they_are(void **state)
{
    (void)state;
    struct err e = {0};
    assert_int_equal(check("name: a\nat: 3\non: true\nany: [1]\n", &e), 0);
    assert_int_equal(check("name: a\nat: 2.5\n", &e), 0);
    assert_int_equal(check("name: a\nwhen: 3\n", &e), -EINVAL);
    assert_string_equal(e.msg, "s.yaml:2:1: unknown field \"when\" in an item (known: name, at, "
                               "on, any)");
    assert_int_equal(check("name: a\nat: soon\n", &e), -EINVAL);
    assert_string_equal(e.msg, "s.yaml:2:5: \"at\" must be a number, not a string");
    assert_int_equal(check("at: 1\n", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "an item needs \"name\""));
    assert_int_equal(check("name: a\non: 1\n", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "a boolean, not an integer"));
}

static void items_and_nodes_are_named(void **state)
{
    (void)state;
    struct err e = {0};
    const char *text = "- {a: 1}\n- 3\n";
    struct yaml_doc *doc = NULL;
    assert_int_equal(yaml_doc_parse("l.yaml", text, strlen(text), NULL, &doc, &e), 0);
    struct schema s = {.doc = doc, .e = &e};
    json_t *root = yaml_doc_root(doc, 0), *item = NULL;
    assert_int_equal(schema_mapping_item(&s, root, 0, "a thing", &item), 0);
    assert_int_equal(schema_mapping_item(&s, root, 1, "a thing", &item), -EINVAL);
    assert_string_equal(e.msg, "l.yaml:2:3: a thing must be a mapping, not an integer");
    assert_int_equal(schema_fail_item(&s, root, 0, "bad %d", 1), -EINVAL);
    assert_string_equal(e.msg, "l.yaml:1:3: bad 1");
    assert_int_equal(schema_fail_member(&s, json_array_get(root, 0), "a", true, "key"), -EINVAL);
    assert_string_equal(e.msg, "l.yaml:1:4: key");
    assert_int_equal(schema_fail_at(&s, json_array_get(root, 0), "here"), -EINVAL);
    assert_string_equal(e.msg, "l.yaml:1:3: here");
    assert_string_equal(schema_type_name(json_array_get(root, 1)), "an integer");
    yaml_doc_free(doc);
}

static void lists_are_cut_when_full(void **state)
{
    (void)state;
    char buf[8];
    size_t used = 0;
    schema_list_append(buf, sizeof buf, &used, "one");
    schema_list_append(buf, sizeof buf, &used, "two");
    schema_list_append(buf, sizeof buf, &used, "three");
    assert_string_equal(buf, "one, tw");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_are_checked_where_they_are),
        cmocka_unit_test(items_and_nodes_are_named),
        cmocka_unit_test(lists_are_cut_when_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
