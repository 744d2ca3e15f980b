/* Tests for api/meta: name, label and annotation rules, finalizers, owner
 * references, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "api/meta.h"
#include "util/jdoc.h"

static void subdomains(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(meta_check_subdomain("a.b-c.d1", "metadata.name", &e), 0);
    assert_int_equal(meta_check_subdomain("A", "metadata.name", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "metadata.name: Invalid value: \"A\""));
    assert_int_equal(meta_check_subdomain("-a", "f", &e), -EINVAL);
    assert_int_equal(meta_check_subdomain("a..b", "f", &e), -EINVAL);
    assert_int_equal(meta_check_subdomain("", "f", &e), -EINVAL);
    char long_name[300];
    memset(long_name, 'a', 254);
    long_name[254] = '\0';
    assert_int_equal(meta_check_subdomain(long_name, "f", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "253"));
}

static void labels_names(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(meta_check_label_name("my-ns1", "f", &e), 0);
    assert_int_equal(meta_check_label_name("a.b", "f", &e), -EINVAL);
    char s[70];
    memset(s, 'a', 64);
    s[64] = '\0';
    assert_int_equal(meta_check_label_name(s, "f", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "63"));
}

static void qualified_names(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(meta_check_qualified_name("app", "k", &e), 0);
    assert_int_equal(meta_check_qualified_name("gpuslice.dev/slice", "k", &e), 0);
    assert_int_equal(meta_check_qualified_name("My_Name.x", "k", &e), 0);
    assert_int_equal(meta_check_qualified_name("/x", "k", &e), -EINVAL);
    assert_int_equal(meta_check_qualified_name("a/b/c", "k", &e), -EINVAL);
    assert_int_equal(meta_check_qualified_name("Bad.Prefix/x", "k", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "prefix part"));
    assert_int_equal(meta_check_qualified_name("a.io/", "k", &e), -EINVAL);
    assert_int_equal(meta_check_qualified_name("x y", "k", &e), -EINVAL);
}

static void label_values(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(meta_check_label_value("", "v", &e), 0);
    assert_int_equal(meta_check_label_value("Value_1.x", "v", &e), 0);
    assert_int_equal(meta_check_label_value("_x", "v", &e), -EINVAL);
    assert_int_equal(meta_check_label_value("a b", "v", &e), -EINVAL);
    char long_value[70];
    memset(long_value, 'a', 64);
    long_value[64] = '\0';
    assert_int_equal(meta_check_label_value(long_value, "v", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "must be no more than 63 characters"));
}

static void label_and_annotation_maps(void **state)
{
    (void)state;
    struct err e;
    json_t *ok = json_pack("{s:s, s:s}", "app", "web", "gpuslice.dev/enabled", "true");
    assert_int_equal(meta_check_labels(ok, "metadata.labels", &e), 0);
    assert_int_equal(meta_check_labels(NULL, "metadata.labels", &e), 0);
    json_t *bad = json_pack("{s:i}", "app", 3);
    assert_int_equal(meta_check_labels(bad, "metadata.labels", &e), -EINVAL);
    assert_string_equal(e.msg, "metadata.labels[app]: Invalid value: must be a string");
    json_t *arr = json_array();
    assert_int_equal(meta_check_labels(arr, "spec.nodeSelector", &e), -EINVAL);
    json_t *ann = json_pack("{s:s}", "note", "anything goes here: spaces, \"quotes\"");
    assert_int_equal(meta_check_annotations(ann, "metadata.annotations", &e), 0);
    json_t *badk = json_pack("{s:s}", "no spaces", "x");
    assert_int_equal(meta_check_annotations(badk, "metadata.annotations", &e), -EINVAL);
    json_decref(ok);
    json_decref(bad);
    json_decref(arr);
    json_decref(ann);
    json_decref(badk);
}

static void whole_metadata(void **state)
{
    (void)state;
    struct err e;
    json_t *md = json_pack("{s:s, s:[s], s:[{s:s, s:s, s:s, s:s, s:b}]}", "name", "x",
                           "finalizers", "a.io/f", "ownerReferences", "apiVersion", "v1", "kind",
                           "Pod", "name", "p", "uid", "u", "controller", 1);
    assert_int_equal(meta_check(md, false, false, &e), 0);
    json_array_append_new(json_object_get(md, "finalizers"), json_string("a.io/f"));
    assert_int_equal(meta_check(md, false, false, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Duplicate value"));
    json_array_remove(json_object_get(md, "finalizers"), 1);
    json_array_append_new(json_object_get(md, "ownerReferences"),
                          json_pack("{s:s, s:s, s:s, s:s, s:b}", "apiVersion", "v1", "kind", "Pod",
                                    "name", "q", "uid", "v", "controller", 1));
    assert_int_equal(meta_check(md, false, false, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "only one reference"));
    json_object_del(json_array_get(json_object_get(md, "ownerReferences"), 1), "uid");
    assert_int_equal(meta_check(md, false, false, &e), -EINVAL);
    assert_string_equal(e.msg, "metadata.ownerReferences[1].uid: Required value");
    json_decref(md);
    md = json_pack("{s:s}", "generateName", "web-");
    assert_int_equal(meta_check(md, false, true, &e), 0);
    assert_int_equal(meta_check(md, false, false, &e), -EINVAL);
    json_decref(md);
    assert_int_equal(meta_check(NULL, false, false, &e), -EINVAL);
}

static void finalizers(void **state)
{
    (void)state;
    json_t *obj = json_pack("{s:{s:s}}", "metadata", "name", "x");
    assert_false(meta_has_finalizer(obj, "a"));
    assert_int_equal(meta_add_finalizer(obj, "a"), 1);
    assert_int_equal(meta_add_finalizer(obj, "a"), 0);
    assert_int_equal(meta_add_finalizer(obj, "b"), 1);
    assert_int_equal(meta_finalizer_count(obj), 2);
    assert_int_equal(meta_remove_finalizer(obj, "a"), 1);
    assert_int_equal(meta_remove_finalizer(obj, "a"), 0);
    assert_int_equal(meta_remove_finalizer(obj, "b"), 1);
    assert_null(json_object_get(json_object_get(obj, "metadata"), "finalizers"));
    json_t *bare = json_object();
    assert_int_equal(meta_add_finalizer(bare, "z"), 1);
    assert_true(meta_has_finalizer(bare, "z"));
    assert_int_equal(meta_add_finalizer(json_null(), "z"), -EINVAL);
    json_decref(obj);
    json_decref(bare);
}

static void owner_references(void **state)
{
    (void)state;
    json_t *owner = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "apps/v1", "kind",
                              "ReplicaSet", "metadata", "name", "rs", "uid", "u-1");
    json_t *ref = meta_owner_ref(owner, true, true);
    assert_string_equal(json_string_value(json_object_get(ref, "kind")), "ReplicaSet");
    assert_string_equal(json_string_value(json_object_get(ref, "uid")), "u-1");
    assert_true(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
    json_t *dep = json_pack("{s:{s:s, s:[o]}}", "metadata", "name", "p", "ownerReferences", ref);
    assert_true(meta_owned_by(dep, "u-1"));
    assert_false(meta_owned_by(dep, "u-2"));
    assert_string_equal(json_string_value(json_object_get(meta_controller_ref(dep), "name")), "rs");
    assert_null(meta_controller_ref(owner));
    json_decref(owner);
    json_decref(dep);
}

static void accessors(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s}}}", "metadata", "name", "n",
                          "namespace", "ns", "uid", "u", "resourceVersion", "7", "labels", "a", "1",
                          "annotations", "b", "2");
    assert_string_equal(meta_name(o), "n");
    assert_string_equal(meta_namespace(o), "ns");
    assert_string_equal(meta_uid(o), "u");
    assert_string_equal(meta_resource_version(o), "7");
    assert_string_equal(meta_label(o, "a"), "1");
    assert_string_equal(meta_annotation(o, "b"), "2");
    assert_null(meta_label(o, "zz"));
    assert_null(meta_name(json_null()));
    json_t *bare = json_object();
    assert_non_null(meta_of(bare));
    assert_non_null(json_object_get(bare, "metadata"));
    json_t *odd = json_pack("{s:i}", "metadata", 1);
    assert_null(meta_of(odd));
    assert_null(meta_of(json_null()));
    json_decref(o);
    json_decref(bare);
    json_decref(odd);
}

static void timestamps(void **state)
{
    (void)state;
    char t[META_TIME_LEN], m[META_MICROTIME_LEN];
    int64_t ns = 1714557600123456789LL;
    meta_format_time(ns, t);
    assert_string_equal(t, "2024-05-01T10:00:00Z");
    meta_format_microtime(ns, m);
    assert_string_equal(m, "2024-05-01T10:00:00.123456Z");
    int64_t back;
    struct err e;
    assert_int_equal(meta_parse_time("2024-05-01T10:00:00Z", "f", &back, &e), 0);
    assert_true(back == 1714557600000000000LL);
    assert_int_equal(meta_parse_time("2024-05-01T10:00:00.5Z", "f", &back, &e), 0);
    assert_true(back == 1714557600500000000LL);
    assert_int_equal(meta_parse_time("2024-05-01T12:00:00+02:00", "f", &back, &e), 0);
    assert_true(back == 1714557600000000000LL);
    assert_int_equal(meta_parse_time("2024-05-01 10:00:00", "f", &back, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "f: Invalid value"));
    assert_int_equal(meta_parse_time("2024-13-01T10:00:00Z", "f", &back, &e), -EINVAL);
    assert_int_equal(meta_parse_time("2024-05-01T10:00:00", "f", &back, &e), -EINVAL);
    assert_int_equal(meta_parse_time(NULL, "f", &back, &e), -EINVAL);
    /* Any year a client writes: past 2261 the nanoseconds overflowed. */
    assert_int_equal(meta_parse_time("9999-01-01T00:00:00Z", "f", &back, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "out of range"));
    assert_int_equal(meta_parse_time("1000-01-01T00:00:00Z", "f", &back, &e), -EINVAL);
    assert_int_equal(meta_parse_time("2261-01-01T00:00:00Z", "f", &back, &e), 0);
    meta_format_time(-1, t); /* before the epoch: still a valid time */
    assert_string_equal(t, "1969-12-31T23:59:59Z");
    meta_format_microtime(-1, m);
    assert_string_equal(m, "1969-12-31T23:59:59.999999Z");
    /* The hand-made calendar agrees with gmtime_r, leap days and
     * centuries included, from 1677 to 2262 (what int64 nanoseconds hold). */
    for (int64_t s = -9200000000LL; s < 9200000000LL; s += 7777777 + (s & 4095)) {
        time_t tt = (time_t)s;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char want[64];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        meta_format_time(s * 1000000000LL, t);
        assert_string_equal(t, want);
        /* and the hand-made reader reads each back, as timegm did */
        if (s >= -META_TIME_MAX_SECONDS && s <= META_TIME_MAX_SECONDS) {
            assert_int_equal(meta_parse_time(want, "f", &back, &e), 0);
            assert_true(back == s * 1000000000LL);
        }
    }
    meta_format_time(951782400LL * 1000000000LL, t);
    assert_string_equal(t, "2000-02-29T00:00:00Z");
    /* Past a month's end, or a leap second, counts on as timegm did. */
    assert_int_equal(meta_parse_time("2023-02-30T00:00:00Z", "f", &back, &e), 0);
    assert_true(back == 1677715200LL * 1000000000LL); /* 2023-03-02 */
    assert_int_equal(meta_parse_time("2023-12-31T23:59:60Z", "f", &back, &e), 0);
    assert_true(back == 1704067200LL * 1000000000LL); /* 2024-01-01 */
    /* Cut short anywhere, it is no time. */
    assert_int_equal(meta_parse_time("2024-05-01T10:0", "f", &back, &e), -EINVAL);
    assert_int_equal(meta_parse_time("2024", "f", &back, &e), -EINVAL);
}

/* A write's copy: what the caller changes (the top level, metadata's
 * members, the member copied whole) never reaches the cached original;
 * the rest is the original's own, shared. */
static void copies_for_a_write(void **state)
{
    (void)state;
    json_t *orig = json_pack("{s:s, s:{s:s, s:[s]}, s:{s:{s:s}}, s:{s:[{s:s}]}}", "kind", "Pod",
                             "metadata", "name", "p", "finalizers", "f", "spec", "nodeSelector",
                             "k", "v", "status", "conditions", "type", "Ready");
    char *before = json_dumps(orig, JSON_COMPACT);
    json_t *c = meta_copy_for_write(orig, "status");
    assert_true(json_equal(c, orig));
    jdoc_set(c, "kind", json_string("Other"));
    jdoc_set(meta_of(c), "name", json_string("q"));
    jdoc_set(json_array_get(json_object_get(json_object_get(c, "status"), "conditions"), 0),
             "type", json_string("Gone"));
    assert_ptr_equal(json_object_get(c, "spec"), json_object_get(orig, "spec"));
    json_decref(c);
    c = meta_copy_for_write(orig, "metadata");
    assert_int_equal(meta_remove_finalizer(c, "f"), 1);
    assert_ptr_equal(json_object_get(c, "status"), json_object_get(orig, "status"));
    json_decref(c);
    c = meta_copy_for_write(orig, "spec");
    jdoc_set(json_object_get(json_object_get(c, "spec"), "nodeSelector"), "k", json_string("w"));
    json_decref(c);
    c = meta_copy_for_write(orig, NULL);
    json_object_del(meta_of(c), "finalizers");
    json_decref(c);
    char *after = json_dumps(orig, JSON_COMPACT);
    assert_string_equal(after, before);
    free(before);
    free(after);
    assert_null(meta_copy_for_write(json_object_get(orig, "kind"), NULL));
    json_decref(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subdomains),      cmocka_unit_test(labels_names),
        cmocka_unit_test(qualified_names), cmocka_unit_test(label_values),
        cmocka_unit_test(label_and_annotation_maps), cmocka_unit_test(whole_metadata),
        cmocka_unit_test(finalizers),      cmocka_unit_test(owner_references),
        cmocka_unit_test(accessors),       cmocka_unit_test(timestamps),
        cmocka_unit_test(copies_for_a_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
