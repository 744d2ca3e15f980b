/* Tests for api/patch: RFC 7386 merge patch, RFC 6902 JSON patch, and the
 * strategic merge patch for built-in kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "api/patch.h"

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad JSON in test: %s: %s", text, je.text);
    return v;
}

static void expect_equal(json_t *got, const char *want)
{
    json_t *w = J(want);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("got %s, want %s", g, want);
    }
    json_decref(w);
}

typedef int (*patch_fn)(const json_t *, const json_t *, json_t **, struct err *);

static void check(patch_fn fn, const char *target, const char *patch, const char *want)
{
    json_t *t = J(target), *p = J(patch), *out = NULL;
    struct err e;
    int rc = fn(t, p, &out, &e);
    if (rc)
        fail_msg("patch %s: %s", patch, e.msg);
    expect_equal(out, want);
    expect_equal(t, target); /* the target is left alone */
    json_decref(t);
    json_decref(p);
    json_decref(out);
}

static int check_fails(patch_fn fn, const char *target, const char *patch, struct err *e)
{
    json_t *t = J(target), *p = J(patch), *out = (json_t *)1;
    int rc = fn(t, p, &out, e);
    assert_null(out);
    expect_equal(t, target);
    json_decref(t);
    json_decref(p);
    return rc;
}

static void merge_patch_rfc7386(void **state)
{
    (void)state;
    check(patch_merge, "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check(patch_merge, "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    check(patch_merge, "{\"a\":\"b\"}", "{\"a\":null}", "{}");
    check(patch_merge, "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    check(patch_merge, "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check(patch_merge, "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    check(patch_merge, "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
    check(patch_merge, "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    check(patch_merge, "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    check(patch_merge, "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    check(patch_merge, "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    check(patch_merge, "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    check(patch_merge, "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
    struct err e;
    json_t *out;
    assert_int_equal(patch_merge(NULL, NULL, &out, &e), -EBADMSG);
}

/* A merge patch makes new objects only along its paths: what it leaves
 * alone is the target's own, shared; the target never changes. */
static void merge_patch_shares_what_it_leaves(void **state)
{
    (void)state;
    const char *target = "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"1\"}},"
                         "\"spec\":{\"x\":{\"y\":1}}}";
    json_t *t = J(target), *p = J("{\"metadata\":{\"labels\":{\"b\":\"2\"}}}"), *out = NULL;
    assert_int_equal(patch_merge(t, p, &out, NULL), 0);
    assert_ptr_equal(json_object_get(out, "spec"), json_object_get(t, "spec"));
    assert_ptr_not_equal(json_object_get(out, "metadata"), json_object_get(t, "metadata"));
    json_t *labels = json_object_get(json_object_get(out, "metadata"), "labels");
    assert_ptr_not_equal(labels, json_object_get(json_object_get(t, "metadata"), "labels"));
    assert_int_equal(json_object_size(labels), 2);
    expect_equal(t, target);
    json_decref(out);
    json_decref(t);
    json_decref(p);
}

static void json_patch_ops(void **state)
{
    (void)state;
    check(patch_json, "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
          "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    check(patch_json, "{\"foo\":[\"bar\",\"baz\"]}",
          "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    check(patch_json, "{\"foo\":[1]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":2}]",
          "{\"foo\":[1,2]}");
    check(patch_json, "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
          "{\"foo\":\"bar\"}");
    check(patch_json, "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
          "{\"foo\":[\"bar\",\"baz\"]}");
    check(patch_json, "{\"baz\":\"qux\"}", "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
          "{\"baz\":\"boo\"}");
    check(patch_json, "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
          "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
          "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    check(patch_json, "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
          "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
          "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    check(patch_json, "{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
          "{\"a\":{\"b\":1},\"c\":{\"b\":1}}");
    check(patch_json, "{\"a~b\":1,\"c/d\":2}",
          "[{\"op\":\"test\",\"path\":\"/a~0b\",\"value\":1},{\"op\":\"remove\",\"path\":\"/c~1d\"}]",
          "{\"a~b\":1}");
    check(patch_json, "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]");
    check(patch_json, "{\"a\":1}", "[]", "{\"a\":1}");
    check(patch_json, "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1}");
}

static void json_patch_failures(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(check_fails(patch_json, "{}", "{\"op\":\"add\"}", &e), -EBADMSG);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", &e), -EBADMSG);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "missing \"value\""));
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"move\",\"path\":\"/a\"}]", &e), -EBADMSG);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"path\":\"/a\"}]", &e), -EBADMSG);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"remove\"}]", &e), -EBADMSG);
    assert_int_equal(check_fails(patch_json, "{}", "[3]", &e), -EBADMSG);
    assert_int_equal(check_fails(patch_json, "{\"a\":1}",
                                 "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
                                 "{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "test failed"));
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"remove\",\"path\":\"/x\"}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"replace\",\"path\":\"/x\",\"value\":1}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"add\",\"path\":\"/x/y\",\"value\":1}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"copy\",\"from\":\"/n\",\"path\":\"/b\"}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"add\",\"path\":\"x\",\"value\":1}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"remove\",\"path\":\"\"}]", &e), -EINVAL);
    assert_int_equal(check_fails(patch_json, "{}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]", &e), -EINVAL);
}

static void pointers(void **state)
{
    (void)state;
    json_t *d = J("{\"a\":{\"b\":[10,20]},\"m~n\":1,\"\":2}");
    assert_ptr_equal(patch_pointer_get(d, ""), d);
    assert_int_equal(json_integer_value(patch_pointer_get(d, "/a/b/1")), 20);
    assert_int_equal(json_integer_value(patch_pointer_get(d, "/m~0n")), 1);
    assert_int_equal(json_integer_value(patch_pointer_get(d, "/")), 2);
    assert_null(patch_pointer_get(d, "/a/b/2"));
    assert_null(patch_pointer_get(d, "/a/b/-"));
    assert_null(patch_pointer_get(d, "a"));
    assert_null(patch_pointer_get(d, NULL));
    json_decref(d);
}

static void strategic(const char *kind, const char *target, const char *patch, const char *want)
{
    json_t *t = J(target), *p = J(patch), *out = NULL;
    struct err e;
    if (patch_strategic(t, p, kind, &out, &e) != 0)
        fail_msg("strategic %s: %s", patch, e.msg);
    expect_equal(out, want);
    expect_equal(t, target);
    json_decref(t);
    json_decref(p);
    json_decref(out);
}

#define POD2 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"env\":[{\"name\":\"E\",\"value\":\"1\"}]},{\"name\":\"b\",\"image\":\"y\"}]}}"

static void strategic_lists_by_key(void **state)
{
    (void)state;
    strategic("Pod", POD2, "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"z\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"env\":[{\"name\":\"E\",\"value\":\"1\"}]},{\"name\":\"b\",\"image\":\"z\"}]}}");
    strategic("Pod", POD2, "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"F\",\"value\":\"2\"}]}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"env\":[{\"name\":\"E\",\"value\":\"1\"},{\"name\":\"F\",\"value\":\"2\"}]},{\"name\":\"b\",\"image\":\"y\"}]}}");
    strategic("Pod", POD2, "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"w\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"env\":[{\"name\":\"E\",\"value\":\"1\"}]},{\"name\":\"b\",\"image\":\"y\"},{\"name\":\"c\",\"image\":\"w\"}]}}");
    strategic("Pod", POD2, "{\"spec\":{\"containers\":[{\"name\":\"a\",\"$patch\":\"delete\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"}]}}");
    strategic("Pod", POD2, "{\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"m\"},{\"$patch\":\"replace\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"m\"}]}}");
    strategic("Deployment", "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}}}",
              "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"}]}}}}",
              "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"y\"}]}}}}");
    strategic("Pod", "{\"spec\":{\"schedulingGates\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
              "{\"spec\":{\"schedulingGates\":[{\"name\":\"a\",\"$patch\":\"delete\"}]}}",
              "{\"spec\":{\"schedulingGates\":[{\"name\":\"b\"}]}}");
    strategic("Pod", "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}",
              "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}",
              "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}");
    strategic("Node", "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"1\"}]}}",
              "{\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"h\"}]}}",
              "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"1\"},{\"type\":\"Hostname\",\"address\":\"h\"}]}}");
}

static void strategic_replaced_lists_and_sets(void **state)
{
    (void)state;
    /* tolerations have no merge key: replaced, as the API server does */
    strategic("Pod", "{\"spec\":{\"tolerations\":[{\"key\":\"a\"}]}}",
              "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}]}}", "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}]}}");
    /* unknown kinds: every list is replaced */
    strategic("Widget", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"b\"}]}}", "{\"spec\":{\"containers\":[{\"name\":\"b\"}]}}");
    strategic("ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
              "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}");
    strategic("ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
              "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a\"]}}",
              "{\"metadata\":{\"finalizers\":[\"b\"]}}");
    strategic("ConfigMap", "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"x\"}]}}",
              "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\",\"name\":\"y\"}]}}",
              "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"x\"},{\"uid\":\"2\",\"name\":\"y\"}]}}");
}

static void strategic_maps_and_directives(void **state)
{
    (void)state;
    strategic("ConfigMap", "{\"data\":{\"a\":\"1\",\"b\":\"2\"}}", "{\"data\":{\"a\":null,\"c\":\"3\"}}",
              "{\"data\":{\"b\":\"2\",\"c\":\"3\"}}");
    strategic("ConfigMap", "{\"data\":{\"a\":\"1\"}}", "{\"data\":{\"$patch\":\"replace\",\"z\":\"9\"}}",
              "{\"data\":{\"z\":\"9\"}}");
    strategic("ConfigMap", "{\"data\":{\"a\":\"1\"},\"x\":1}", "{\"data\":{\"$patch\":\"delete\"}}",
              "{\"x\":1}");
    strategic("ConfigMap", "{\"a\":1,\"b\":2,\"c\":3}", "{\"$retainKeys\":[\"a\",\"d\"],\"d\":4}",
              "{\"a\":1,\"d\":4}");
    strategic("Pod", POD2, "{\"$setElementOrder/x\":[],\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}]}}",
              POD2);
    strategic("ConfigMap", "{\"a\":1}", "{\"$patch\":\"replace\",\"b\":2}", "{\"b\":2}");
    strategic("ConfigMap", "{\"a\":{\"$weird\":1}}", "{\"b\":{\"c\":null,\"d\":{\"$patch\":\"x\",\"e\":1}}}",
              "{\"a\":{\"$weird\":1},\"b\":{\"d\":{\"e\":1}}}");
}

static void strategic_failures(void **state)
{
    (void)state;
    struct err e;
    json_t *t = J(POD2), *out = (json_t *)1;
    json_t *p = J("{\"spec\":{\"containers\":[{\"image\":\"no-name\"}]}}");
    assert_int_equal(patch_strategic(t, p, "Pod", &out, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "merge key \"name\""));
    assert_null(out);
    json_decref(p);
    p = J("{\"spec\":{\"containers\":[\"str\"]}}");
    assert_int_equal(patch_strategic(t, p, "Pod", &out, &e), -EBADMSG);
    json_decref(p);
    p = J("[1]");
    assert_int_equal(patch_strategic(t, p, "Pod", &out, &e), -EBADMSG);
    json_decref(p);
    p = J("{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":\"a\"}}");
    assert_int_equal(patch_strategic(t, p, "Pod", &out, &e), -EBADMSG);
    json_decref(p);
    p = J("{\"$retainKeys\":\"a\"}");
    assert_int_equal(patch_strategic(t, p, "Pod", &out, &e), -EBADMSG);
    json_decref(p);
    expect_equal(t, POD2);
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merge_patch_rfc7386),
        cmocka_unit_test(merge_patch_shares_what_it_leaves),
        cmocka_unit_test(json_patch_ops),
        cmocka_unit_test(json_patch_failures),
        cmocka_unit_test(pointers),
        cmocka_unit_test(strategic_lists_by_key),
        cmocka_unit_test(strategic_replaced_lists_and_sets),
        cmocka_unit_test(strategic_maps_and_directives),
        cmocka_unit_test(strategic_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
