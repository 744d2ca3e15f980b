/* Tests for api/event: building Events the way kubectl describe finds
 * them, and reading them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "api/event.h"

#define T0 1714557600000000000LL

static void builds_an_event(void **state)
{
    (void)state;
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", "name", "p", "namespace", "t", "uid", "u1",
                            "resourceVersion", "9");
    struct event_spec s = {EVENT_WARNING, "SliceFailed", "no room on any GPU", "gpuslice-controller"};
    json_t *ev = event_new(pod, &s, T0);
    assert_non_null(ev);
    const json_t *md = json_object_get(ev, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "generateName")), "p.");
    assert_string_equal(json_string_value(json_object_get(md, "namespace")), "t");
    assert_string_equal(json_string_value(json_object_get(ev, "lastTimestamp")), "2024-05-01T10:00:00Z");
    struct event_view v;
    struct err e;
    assert_int_equal(event_read(ev, &v, &e), 0);
    assert_string_equal(v.type, "Warning");
    assert_string_equal(v.reason, "SliceFailed");
    assert_string_equal(v.message, "no room on any GPU");
    assert_string_equal(v.kind, "Pod");
    assert_string_equal(v.object, "p");
    assert_string_equal(v.object_ns, "t");
    assert_string_equal(v.object_uid, "u1");
    assert_int_equal(v.count, 1);
    json_decref(ev);
    json_decref(pod);
}

static void cluster_scoped_objects_report_in_default(void **state)
{
    (void)state;
    json_t *node = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Node", "metadata",
                             "name", "n1");
    struct event_spec s = {NULL, "Registered", NULL, NULL};
    json_t *ev = event_new(node, &s, T0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "metadata"), "namespace")),
                        "default");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "Normal");
    json_decref(ev);
    json_t *nameless = json_object();
    assert_null(event_new(nameless, &s, T0));
    json_decref(nameless);
    json_decref(node);
}

static void bad_events_name_the_field(void **state)
{
    (void)state;
    struct event_view v;
    struct err e;
    json_t *ev = json_pack("{s:{s:s}}", "metadata", "name", "x");
    assert_int_equal(event_read(ev, &v, &e), -EINVAL);
    assert_string_equal(e.msg, "involvedObject: Required value");
    json_object_set_new(ev, "involvedObject", json_pack("{s:s}", "kind", "Pod"));
    assert_int_equal(event_read(ev, &v, &e), -EINVAL);
    assert_string_equal(e.msg, "involvedObject.name: Required value");
    json_object_set_new(json_object_get(ev, "involvedObject"), "name", json_string("p"));
    json_object_set_new(ev, "type", json_string("Loud"));
    assert_int_equal(event_read(ev, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "type: Unsupported value"));
    json_object_del(ev, "type");
    json_object_set_new(ev, "count", json_string("1"));
    assert_int_equal(event_read(ev, &v, &e), -EINVAL);
    json_object_del(ev, "count");
    assert_int_equal(event_read(ev, &v, &e), 0);
    assert_string_equal(v.type, "Normal");
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_an_event),
        cmocka_unit_test(cluster_scoped_objects_report_in_default),
        cmocka_unit_test(bad_events_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
