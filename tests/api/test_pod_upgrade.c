/* api/pod_upgrade: the upgrade and restore annotations, read strictly, and
 * the owners that make a deleted pod again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/pod_upgrade.h"
#include "util/clock.h"

static json_t *pod_with(const char *after, const char *restore)
{
    json_t *ann = json_object();
    if (after)
        json_object_set_new(ann, GPUSLICE_ANNOTATION_UPGRADE_AFTER, json_string(after));
    if (restore)
        json_object_set_new(ann, GPUSLICE_ANNOTATION_RESTORE, json_string(restore));
    return json_pack("{s:{s:s, s:o}}", "metadata", "name", "p", "annotations", ann);
}

static void a_pod_without_annotations_is_not_opted_in(void **state)
{
    (void)state;
    json_t *pod = pod_with(NULL, NULL);
    struct pod_upgrade u;
    assert_int_equal(pod_upgrade_of(pod, &u, NULL), 0);
    assert_false(u.upgrade);
    assert_true(u.restore);
    json_decref(pod);
}

static void the_delay_and_the_opt_out_are_read(void **state)
{
    (void)state;
    json_t *pod = pod_with("5s", NULL);
    struct pod_upgrade u;
    assert_int_equal(pod_upgrade_of(pod, &u, NULL), 0);
    assert_true(u.upgrade);
    assert_int_equal(u.after_ns, 5 * NS_PER_SEC);
    assert_true(u.restore);
    json_decref(pod);
    pod = pod_with("0s", "never");
    assert_int_equal(pod_upgrade_of(pod, &u, NULL), 0);
    assert_true(u.upgrade);
    assert_int_equal(u.after_ns, 0);
    assert_false(u.restore);
    json_decref(pod);
}

static void bad_values_name_the_annotation_and_opt_out(void **state)
{
    (void)state;
    json_t *pod = pod_with("5", NULL);
    struct pod_upgrade u;
    struct err e = {0};
    assert_int_equal(pod_upgrade_of(pod, &u, &e), -EINVAL);
    assert_false(u.upgrade);
    assert_true(u.restore);
    assert_non_null(strstr(e.msg, "annotation gpuslice.dev/upgrade-after: \"5\" is not a "
                                  "duration"));
    json_decref(pod);
    pod = pod_with("10s", "sometimes");
    e = (struct err){0};
    assert_int_equal(pod_upgrade_of(pod, &u, &e), -EINVAL);
    assert_true(u.upgrade);
    assert_false(u.restore);
    assert_non_null(strstr(e.msg, "annotation gpuslice.dev/restore: \"sometimes\""));
    json_decref(pod);
}

static json_t *owned_by(const char *kind, bool controller)
{
    return json_pack("{s:{s:s, s:[{s:s, s:s, s:s, s:s, s:b}]}}", "metadata", "name", "p",
                     "ownerReferences", "apiVersion", "apps/v1", "kind", kind, "name", "o",
                     "uid", "u-1", "controller", controller);
}

static void owners_that_recreate_pods_are_found(void **state)
{
    (void)state;
    static const char *const yes[] = {"ReplicaSet", "Job", "StatefulSet"};
    for (size_t i = 0; i < 3; i++) {
        json_t *pod = owned_by(yes[i], true);
        const json_t *ref = pod_recreating_owner(pod);
        assert_non_null(ref);
        assert_string_equal(json_string_value(json_object_get(ref, "kind")), yes[i]);
        json_decref(pod);
    }
    json_t *pod = owned_by("DaemonSet", true);
    assert_null(pod_recreating_owner(pod));
    json_decref(pod);
    pod = owned_by("ReplicaSet", false); /* not its controller */
    assert_null(pod_recreating_owner(pod));
    json_decref(pod);
    pod = pod_with(NULL, NULL);
    assert_null(pod_recreating_owner(pod));
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_pod_without_annotations_is_not_opted_in),
        cmocka_unit_test(the_delay_and_the_opt_out_are_read),
        cmocka_unit_test(bad_values_name_the_annotation_and_opt_out),
        cmocka_unit_test(owners_that_recreate_pods_are_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
