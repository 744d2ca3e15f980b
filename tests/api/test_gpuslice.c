/* Tests for api/gpuslice: GPUSlice and GPUNode readers and builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpuslice.h"
#include "api/meta.h"

static json_t *pod(void)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
                     "metadata", "name", "train", "namespace", "team", "uid", "pod-uid-1");
}

static const struct gpuslice_spec spec = {
    .pod_name = "train", .pod_uid = "pod-uid-1", .container = "main", .index = 1,
    .node = "node-a", .gpu_uuid = "GPU-1", .gpu_index = 0, .model = "H100-80GB",
    .profile = "3g.40gb", .start = 4, .size = 4, .config_map = "gpuslice-train-main",
};

static void new_slice_reads_back(void **state)
{
    (void)state;
    json_t *p = pod();
    json_t *obj = gpuslice_new("team", &spec, p);
    assert_non_null(obj);
    assert_string_equal(meta_name(obj), "train-main-1");
    const json_t *owner = meta_controller_ref(obj);
    assert_non_null(owner);
    assert_string_equal(json_string_value(json_object_get(owner, "uid")), "pod-uid-1");
    assert_true(json_is_true(json_object_get(owner, "blockOwnerDeletion")));
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(obj, &v, NULL), 0);
    assert_string_equal(v.ns, "team");
    assert_string_equal(v.spec.node, "node-a");
    assert_string_equal(v.spec.profile, "3g.40gb");
    assert_string_equal(v.spec.requested_profile, "3g.40gb");
    assert_int_equal(v.spec.start, 4);
    assert_int_equal(v.spec.size, 4);
    assert_int_equal(v.spec.index, 1);
    assert_string_equal(v.spec.config_map, "gpuslice-train-main");
    assert_string_equal(v.status.phase, "Creating");
    assert_null(v.status.device_uuid);
    assert_false(v.deleting);
    json_decref(obj);
    json_decref(p);
}

static void status_is_set_and_kept(void **state)
{
    (void)state;
    json_t *p = pod();
    json_t *obj = gpuslice_new("team", &spec, p);
    struct gpuslice_status created = {.phase = "Created", .device_uuid = "MIG-1",
                                      .boot_id = "boot-1"};
    json_t *a = gpuslice_with_status(obj, &created, "2026-11-22T10:00:00Z");
    struct gpuslice_status ungated = {.phase = "Ungated"};
    json_t *b = gpuslice_with_status(a, &ungated, "2026-11-22T10:00:01Z");
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(b, &v, NULL), 0);
    assert_string_equal(v.status.phase, "Ungated");
    assert_string_equal(v.status.device_uuid, "MIG-1");
    assert_string_equal(v.status.boot_id, "boot-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "status"),
                                                          "lastTransitionTime")),
                        "2026-11-22T10:00:01Z");
    /* The input is not changed. */
    assert_null(json_object_get(obj, "status"));
    json_decref(a);
    json_decref(b);
    json_decref(obj);
    json_decref(p);
}

static void long_names_stay_unique_and_bounded(void **state)
{
    (void)state;
    char pod_name[254], a[GPUSLICE_NAME_MAX], b[GPUSLICE_NAME_MAX], c[GPUSLICE_NAME_MAX];
    memset(pod_name, 'p', 253);
    pod_name[253] = '\0';
    gpuslice_name(pod_name, "main", 0, a);
    gpuslice_name(pod_name, "main", 1, b);
    gpuslice_name(pod_name, "side", 0, c);
    assert_true(strlen(a) < GPUSLICE_NAME_MAX);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    char again[GPUSLICE_NAME_MAX];
    gpuslice_name(pod_name, "main", 0, again);
    assert_string_equal(a, again);
    assert_int_equal(meta_check_subdomain(a, "name", NULL), 0);
}

static void bad_slices_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"metadata\":{\"name\":\"s\"}}", "GPUSlice s: spec: is required"},
        {"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"podName\":\"p\",\"container\":\"c\","
         "\"nodeName\":\"n\",\"gpuUUID\":\"g\",\"profile\":\"1g.10gb\",\"start\":9,\"size\":1}}",
         "spec.start: must be a whole number in range"},
        {"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"podName\":\"p\",\"container\":\"c\","
         "\"nodeName\":\"\",\"gpuUUID\":\"g\",\"profile\":\"1g.10gb\",\"start\":0,\"size\":1}}",
         "spec.nodeName: must be a non-empty string"},
        {"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"podName\":\"p\",\"container\":\"c\","
         "\"nodeName\":\"n\",\"gpuUUID\":\"g\",\"profile\":\"1g.10gb\",\"start\":0,\"size\":1},"
         "\"status\":{\"phase\":3}}",
         "status.phase: must be a non-empty string"},
        {"{\"metadata\":{}}", "metadata.name is required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *obj = json_loads(cases[i].json, 0, NULL);
        struct gpuslice_view v;
        struct err e = {0};
        assert_int_equal(gpuslice_read(obj, &v, &e), -EINVAL);
        if (!strstr(e.msg, cases[i].want))
            fail_msg("case %zu: got \"%s\"", i, e.msg);
        json_decref(obj);
    }
}

static void gpunode_joins_status_and_settings(void **state)
{
    (void)state;
    json_t *obj = json_loads(
        "{\"metadata\":{\"name\":\"node-a\"},"
        "\"spec\":{\"gpus\":[{\"uuid\":\"GPU-2\",\"heldBack\":true},"
        "{\"uuid\":\"GPU-1\",\"allowedProfiles\":[\"1g.10gb\",\"3g.40gb\"]}]},"
        "\"status\":{\"bootID\":\"b1\",\"gpus\":["
        "{\"index\":0,\"uuid\":\"GPU-1\",\"model\":\"H100-80GB\",\"migMode\":\"Enabled\","
        "\"memoryMiB\":81559,\"slices\":[{\"profile\":\"1g.10gb\",\"start\":6,\"size\":1,"
        "\"managed\":false}]},"
        "{\"index\":1,\"uuid\":\"GPU-2\",\"product\":\"NVIDIA A100-SXM4-40GB\"}]}}",
        0, NULL);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(obj, &v, NULL), 0);
    assert_string_equal(v.name, "node-a");
    assert_string_equal(v.boot_id, "b1");
    assert_int_equal(v.n_gpus, 2);
    assert_string_equal(v.gpus[0].model, "H100-80GB");
    assert_false(v.gpus[0].held_back);
    assert_int_equal(v.gpus[0].n_slices, 1);
    assert_false(v.gpus[0].slices[0].managed);
    assert_true(gpunode_profile_allowed(&v.gpus[0], "3g.40gb"));
    assert_false(gpunode_profile_allowed(&v.gpus[0], "7g.80gb"));
    assert_true(v.gpus[1].held_back);
    assert_string_equal(v.gpus[1].model, "");
    assert_string_equal(v.gpus[1].mig_mode, "Unsupported");
    assert_true(gpunode_profile_allowed(&v.gpus[1], "7g.80gb"));
    json_decref(obj);

    json_t *bad = json_loads("{\"metadata\":{\"name\":\"n\"},\"status\":{\"gpus\":"
                             "[{\"index\":0,\"uuid\":\"G\",\"slices\":[{\"profile\":\"x\"}]}]}}",
                             0, NULL);
    struct err e;
    assert_int_equal(gpunode_read(bad, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "GPUNode n: status.gpus[0].slices[0].start: is required"));
    json_decref(bad);
    json_t *empty = json_loads("{\"metadata\":{\"name\":\"n\"}}", 0, NULL);
    assert_int_equal(gpunode_read(empty, &v, NULL), 0);
    assert_int_equal(v.n_gpus, 0);
    json_decref(empty);
}

static void status_ids_and_phase_time(void **state)
{
    (void)state;
    json_t *p = pod();
    json_t *obj = gpuslice_new("team", &spec, p);
    struct gpuslice_status created = {.phase = "Created", .device_uuid = "MIG-1",
                                      .has_ids = true, .gi_id = 3, .ci_id = 0};
    json_t *a = gpuslice_with_status(obj, &created, "2026-11-22T10:00:00Z");
    /* A change within the phase (now NULL) keeps the transition time. */
    struct gpuslice_status moved = {.phase = "Created", .device_uuid = "MIG-2"};
    json_t *b = gpuslice_with_status(a, &moved, NULL);
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(b, &v, NULL), 0);
    assert_true(v.status.has_ids);
    assert_int_equal(v.status.gi_id, 3);
    assert_int_equal(v.status.ci_id, 0);
    assert_string_equal(v.status.device_uuid, "MIG-2");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "status"),
                                                          "lastTransitionTime")),
                        "2026-11-22T10:00:00Z");
    assert_int_equal(gpuslice_read(obj, &v, NULL), 0);
    assert_false(v.status.has_ids);
    json_object_set_new(json_object_get(b, "status"), "giID", json_string("3"));
    struct err e;
    assert_int_equal(gpuslice_read(b, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "status.giID"));
    json_decref(a);
    json_decref(b);
    json_decref(obj);
    json_decref(p);
}

static void gpunode_status_reads_back(void **state)
{
    (void)state;
    struct gpunode_view v = {.name = "node-a", .boot_id = "b2", .n_gpus = 2};
    v.gpus[0] = (struct gpunode_gpu){
        .index = 0, .uuid = "GPU-1", .product = "NVIDIA H100 80GB HBM3", .model = "H100-80GB",
        .mig_mode = "Enabled", .memory_mib = 81920, .n_slices = 2,
        .slices = {{.profile = "1g.10gb", .start = 6, .size = 1, .gi_id = 9, .ci_id = 0,
                    .device_uuid = "MIG-9", .managed = true},
                   {.profile = "3g.40gb", .start = 0, .size = 4, .gi_id = 1}}};
    v.gpus[1] = (struct gpunode_gpu){.index = 1, .uuid = "GPU-2", .product = "NVIDIA L4",
                                     .mig_mode = "Unsupported", .memory_mib = 23034};
    json_t *st = gpunode_status_new(&v);
    assert_non_null(st);
    json_t *slice1 = json_array_get(
        json_object_get(json_array_get(json_object_get(st, "gpus"), 0), "slices"), 1);
    assert_null(json_object_get(slice1, "ciID"));
    assert_null(json_object_get(slice1, "deviceUUID"));
    json_t *obj = json_pack("{s:{s:s}, s:o}", "metadata", "name", "node-a", "status", st);
    struct gpunode_view r;
    assert_int_equal(gpunode_read(obj, &r, NULL), 0);
    assert_string_equal(r.boot_id, "b2");
    assert_int_equal(r.n_gpus, 2);
    assert_string_equal(r.gpus[0].product, "NVIDIA H100 80GB HBM3");
    assert_int_equal(r.gpus[0].memory_mib, 81920);
    assert_int_equal(r.gpus[0].n_slices, 2);
    assert_true(r.gpus[0].slices[0].managed);
    assert_int_equal(r.gpus[0].slices[0].gi_id, 9);
    assert_string_equal(r.gpus[0].slices[0].device_uuid, "MIG-9");
    assert_false(r.gpus[0].slices[1].managed);
    assert_null(r.gpus[0].slices[1].device_uuid);
    assert_string_equal(r.gpus[1].model, "");
    assert_string_equal(r.gpus[1].mig_mode, "Unsupported");
    assert_int_equal(r.gpus[1].n_slices, 0);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_slice_reads_back),
        cmocka_unit_test(status_is_set_and_kept),
        cmocka_unit_test(long_names_stay_unique_and_bounded),
        cmocka_unit_test(bad_slices_name_the_field),
        cmocka_unit_test(gpunode_joins_status_and_settings),
        cmocka_unit_test(status_ids_and_phase_time),
        cmocka_unit_test(gpunode_status_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
