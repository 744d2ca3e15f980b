/* Tests for api/selector: label selector syntax and semantics, the
 * LabelSelector JSON form, field selectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "api/selector.h"

static bool matches(const char *sel, const char *labels_json)
{
    struct selector *s;
    struct err e;
    if (selector_parse(sel, &s, &e) != 0)
        fail_msg("parse %s: %s", sel, e.msg);
    json_t *labels = json_loads(labels_json, 0, NULL);
    bool m = selector_match_labels(s, labels);
    json_decref(labels);
    selector_free(s);
    return m;
}

static void equality(void **state)
{
    (void)state;
    assert_true(matches("app=web", "{\"app\":\"web\"}"));
    assert_true(matches("app==web", "{\"app\":\"web\"}"));
    assert_false(matches("app=web", "{\"app\":\"db\"}"));
    assert_false(matches("app=web", "{}"));
    assert_true(matches("app!=web", "{}"));
    assert_true(matches("app!=web", "{\"app\":\"db\"}"));
    assert_false(matches("app!=web", "{\"app\":\"web\"}"));
    assert_true(matches("app=", "{\"app\":\"\"}"));
    assert_true(matches(" app = web , tier=x ", "{\"app\":\"web\",\"tier\":\"x\"}"));
}

static void sets_and_existence(void **state)
{
    (void)state;
    assert_true(matches("env in (a, b)", "{\"env\":\"b\"}"));
    assert_false(matches("env in (a,b)", "{}"));
    assert_true(matches("env notin (a,b)", "{}"));
    assert_false(matches("env notin (a,b)", "{\"env\":\"a\"}"));
    assert_true(matches("env", "{\"env\":\"\"}"));
    assert_false(matches("!env", "{\"env\":\"\"}"));
    assert_true(matches("!env", "{}"));
    assert_true(matches("gpuslice.dev/enabled=true", "{\"gpuslice.dev/enabled\":\"true\"}"));
    assert_true(matches("n>3", "{\"n\":\"4\"}"));
    assert_false(matches("n>3", "{\"n\":\"x\"}"));
    assert_true(matches("n<3", "{\"n\":\"-1\"}"));
    assert_true(matches("", "{}"));
    assert_true(matches(NULL, "{\"a\":\"b\"}"));
}

static void malformed(void **state)
{
    (void)state;
    const char *bad[] = {"app in web", "app in ()", "app in (a", "=x", "app=a b", "app,",
                         "a=b c=d", "n>x", "app=(x)", "!"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct selector *s = (struct selector *)1;
        struct err e;
        int rc = selector_parse(bad[i], &s, &e);
        if (rc != -EBADMSG)
            fail_msg("\"%s\": %d, want -EBADMSG", bad[i], rc);
        assert_null(s);
    }
    struct selector *s;
    struct err e;
    assert_int_equal(selector_parse("Bad Key=x", &s, &e), -EBADMSG);
    assert_int_equal(selector_parse("a/b/c=x", &s, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "unable to parse requirement: key: Invalid value: \"a/b/c\""));
}

static void empty(void **state)
{
    (void)state;
    struct selector *s;
    struct err e;
    assert_int_equal(selector_parse("", &s, &e), 0);
    assert_true(selector_empty(s));
    selector_free(s);
    assert_int_equal(selector_parse("a", &s, &e), 0);
    assert_false(selector_empty(s));
    selector_free(s);
    assert_true(selector_empty(NULL));
    selector_free(NULL);
}

static const char *get_from(void *ctx, const char *key)
{
    return strcmp(key, "k") == 0 ? ctx : NULL;
}

static void through_a_getter(void **state)
{
    (void)state;
    struct selector *s;
    struct err e;
    assert_int_equal(selector_parse("k=v", &s, &e), 0);
    assert_true(selector_match(s, get_from, "v"));
    assert_false(selector_match(s, get_from, "w"));
    selector_free(s);
}

static void label_selector_json(void **state)
{
    (void)state;
    struct selector *s;
    struct err e;
    json_t *ls = json_loads("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
                            "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
                            "{\"key\":\"old\",\"operator\":\"DoesNotExist\"}]}", 0, NULL);
    assert_int_equal(selector_from_json(ls, "spec.selector", &s, &e), 0);
    json_t *yes = json_pack("{s:s, s:s}", "app", "web", "tier", "b");
    json_t *no = json_pack("{s:s, s:s, s:s}", "app", "web", "tier", "b", "old", "1");
    assert_true(selector_match_labels(s, yes));
    assert_false(selector_match_labels(s, no));
    selector_free(s);
    json_decref(ls);
    json_decref(yes);
    json_decref(no);
    assert_int_equal(selector_from_json(NULL, "x", &s, &e), 0);
    assert_true(selector_empty(s));
    selector_free(s);
    ls = json_loads("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}", 0, NULL);
    assert_int_equal(selector_from_json(ls, "spec.selector", &s, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.selector.matchExpressions[0].operator"));
    json_decref(ls);
    ls = json_loads("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}", 0, NULL);
    assert_int_equal(selector_from_json(ls, "s", &s, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "s.matchExpressions[0].values: Required value"));
    json_decref(ls);
    ls = json_loads("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
                    0, NULL);
    assert_int_equal(selector_from_json(ls, "s", &s, &e), -EINVAL);
    json_decref(ls);
    ls = json_loads("{\"matchLabels\":{\"a\":\"b c\"}}", 0, NULL);
    assert_int_equal(selector_from_json(ls, "s", &s, &e), -EINVAL);
    json_decref(ls);
    json_t *str = json_string("x");
    assert_int_equal(selector_from_json(str, "s", &s, &e), -EINVAL);
    json_decref(str);
}

static const char *pod_field(void *ctx, const char *field)
{
    static char buf[24];
    return selector_field_value(ctx, field, buf);
}

static void first_equals(void **state)
{
    (void)state;
    struct selector *sel;
    const char *key = NULL;
    assert_int_equal(selector_parse("tier in (a,b), gpuslice.dev/node=n1, app=x", &sel, NULL), 0);
    assert_string_equal(selector_first_equals(sel, &key), "n1");
    assert_string_equal(key, "gpuslice.dev/node");
    selector_free(sel);
    assert_int_equal(selector_parse("app!=x, tier", &sel, NULL), 0);
    assert_null(selector_first_equals(sel, &key));
    selector_free(sel);
    assert_null(selector_first_equals(NULL, &key));
}

static void field_selectors(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    const struct api_resource *pods = api_registry_find(reg, "", "v1", "pods");
    json_t *pod = json_pack("{s:{s:s, s:s}, s:{s:s}, s:{s:s}}", "metadata", "name", "a", "namespace",
                            "t", "spec", "nodeName", "n1", "status", "phase", "Running");
    struct field_selector *fs;
    struct err e;
    assert_int_equal(selector_field_parse("spec.nodeName=n1,status.phase!=Pending", pods, &fs, &e), 0);
    assert_true(selector_field_match(fs, pod_field, pod));
    assert_string_equal(selector_field_equals(fs, "spec.nodeName"), "n1");
    assert_null(selector_field_equals(fs, "status.phase"));
    selector_field_free(fs);
    assert_int_equal(selector_field_parse("spec.nodeName==", pods, &fs, &e), 0);
    assert_false(selector_field_match(fs, pod_field, pod));
    selector_field_free(fs);
    assert_int_equal(selector_field_parse("metadata.name=a\\,b", pods, &fs, &e), 0);
    assert_string_equal(selector_field_equals(fs, "metadata.name"), "a,b");
    selector_field_free(fs);
    assert_int_equal(selector_field_parse("spec.image=x", pods, &fs, &e), -EBADMSG);
    assert_string_equal(e.msg, "field label not supported: spec.image");
    assert_int_equal(selector_field_parse("nonsense", pods, &fs, &e), -EBADMSG);
    assert_int_equal(selector_field_parse("anything=x", NULL, &fs, &e), 0);
    assert_false(selector_field_empty(fs));
    selector_field_free(fs);
    assert_int_equal(selector_field_parse(NULL, pods, &fs, &e), 0);
    assert_true(selector_field_empty(fs));
    assert_true(selector_field_match(fs, pod_field, pod));
    selector_field_free(fs);
    json_decref(pod);
    api_registry_free(reg);
}

static void field_values(void **state)
{
    (void)state;
    char buf[24];
    json_t *o = json_pack("{s:{s:b, s:i, s:s, s:{}}}", "spec", "unschedulable", 1, "n", 42, "s", "x",
                          "o");
    assert_string_equal(selector_field_value(o, "spec.unschedulable", buf), "true");
    assert_string_equal(selector_field_value(o, "spec.n", buf), "42");
    assert_string_equal(selector_field_value(o, "spec.s", buf), "x");
    assert_null(selector_field_value(o, "spec.o", buf));
    assert_null(selector_field_value(o, "spec.missing", buf));
    assert_null(selector_field_value(o, "spec.s.deeper", buf));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equality),         cmocka_unit_test(sets_and_existence),
        cmocka_unit_test(malformed),        cmocka_unit_test(empty),
        cmocka_unit_test(through_a_getter), cmocka_unit_test(label_selector_json),
        cmocka_unit_test(field_selectors),  cmocka_unit_test(first_equals),  cmocka_unit_test(field_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
