/* Tests for api/configmap: keys, reading, building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/configmap.h"

static void keys(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(configmap_check_key("NVIDIA_VISIBLE_DEVICES", "data", &e), 0);
    assert_int_equal(configmap_check_key("a.b-c_d", "data", &e), 0);
    assert_int_equal(configmap_check_key("", "data", &e), -EINVAL);
    assert_int_equal(configmap_check_key(".", "data", &e), -EINVAL);
    assert_int_equal(configmap_check_key("..", "data", &e), -EINVAL);
    assert_int_equal(configmap_check_key("a/b", "data[a/b]", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "data[a/b]: Invalid value"));
}

static void builds_and_reads(void **state)
{
    (void)state;
    json_t *data = json_pack("{s:s}", "NVIDIA_VISIBLE_DEVICES", "MIG-1234");
    json_t *owner = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
                              "metadata", "name", "p", "uid", "u");
    json_t *cm = configmap_new("t", "gpuslice-p", data, owner);
    json_object_set_new(data, "LATER", json_string("not in the copy"));
    struct configmap_view v;
    struct err e;
    assert_int_equal(configmap_read(cm, &v, &e), 0);
    assert_string_equal(v.name, "gpuslice-p");
    assert_string_equal(v.ns, "t");
    assert_string_equal(json_string_value(json_object_get(v.data, "NVIDIA_VISIBLE_DEVICES")), "MIG-1234");
    assert_null(json_object_get(v.data, "LATER"));
    const json_t *ref = json_array_get(json_object_get(json_object_get(cm, "metadata"), "ownerReferences"), 0);
    assert_string_equal(json_string_value(json_object_get(ref, "uid")), "u");
    json_decref(cm);
    cm = configmap_new("t", "empty", NULL, NULL);
    assert_int_equal(configmap_read(cm, &v, &e), 0);
    assert_int_equal(json_object_size(v.data), 0);
    json_decref(cm);
    json_decref(data);
    json_decref(owner);
}

static void bad_configmaps_name_the_field(void **state)
{
    (void)state;
    struct configmap_view v;
    struct err e;
    json_t *cm = json_pack("{s:{s:i}}", "data", "k", 1);
    assert_int_equal(configmap_read(cm, &v, &e), -EINVAL);
    assert_string_equal(e.msg, "data[k]: Invalid value: must be a string");
    json_decref(cm);
    cm = json_pack("{s:{s:s}, s:{s:s}}", "data", "k", "a", "binaryData", "k", "YQ==");
    assert_int_equal(configmap_read(cm, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "duplicate"));
    json_decref(cm);
    cm = json_pack("{s:[]}", "data");
    assert_int_equal(configmap_read(cm, &v, &e), -EINVAL);
    json_decref(cm);
    char *big = malloc(CONFIGMAP_MAX_BYTES + 2);
    memset(big, 'x', CONFIGMAP_MAX_BYTES + 1);
    big[CONFIGMAP_MAX_BYTES + 1] = '\0';
    cm = json_pack("{s:{s:s}}", "data", "k", big);
    assert_int_equal(configmap_read(cm, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Too long"));
    json_decref(cm);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys),
        cmocka_unit_test(builds_and_reads),
        cmocka_unit_test(bad_configmaps_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
