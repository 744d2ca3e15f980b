/* Tests for api/gpuslice: the GPUSlice reader and builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_internal.h"
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
    assert_null(meta_annotation(obj, GPUSLICE_ANNOTATION_UPGRADE_QUOTA));
    json_decref(obj);
    /* An upgrade within a quota's room names the quota. */
    struct gpuslice_spec upgraded = spec;
    upgraded.requested_profile = "2g.20gb";
    upgraded.upgrade_quota = "gpu-memory";
    obj = gpuslice_new("team", &upgraded, p);
    assert_string_equal(meta_annotation(obj, GPUSLICE_ANNOTATION_UPGRADE_QUOTA), "gpu-memory");
    json_decref(obj);
    json_decref(p);
}

/* The object as written to the API server, member by member in the
 * order it always had (a request by memory names its GiB last), and none
 * at all for a name that is not UTF-8. */
static void new_slice_text_and_order(void **state)
{
    (void)state;
    json_t *p = pod();
    struct gpuslice_spec by_memory = spec;
    by_memory.requested_memory_gib = 30;
    by_memory.existing = true;
    json_t *obj = gpuslice_new("team", &by_memory, p);
    char *text = json_dumps(obj, JSON_COMPACT);
    assert_string_equal(
        text,
        "{\"apiVersion\":\"gpuslice.dev/v1alpha1\",\"kind\":\"GPUSlice\",\"metadata\":"
        "{\"name\":\"train-main-1\",\"namespace\":\"team\",\"ownerReferences\":"
        "[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"train\",\"uid\":\"pod-uid-1\","
        "\"controller\":true,\"blockOwnerDeletion\":true}],\"finalizers\":"
        "[\"" GPUSLICE_SLICE_FINALIZER "\"],\"labels\":{\"gpuslice.dev/node\":\"node-a\"}},"
        "\"spec\":{\"podName\":\"train\",\"podUID\":\"pod-uid-1\",\"container\":\"main\","
        "\"init\":false,\"index\":1,\"nodeName\":\"node-a\",\"gpuUUID\":\"GPU-1\","
        "\"gpuIndex\":0,\"model\":\"H100-80GB\",\"profile\":\"3g.40gb\",\"start\":4,"
        "\"size\":4,\"configMap\":\"gpuslice-train-main\",\"requestedMemoryGiB\":30,"
        "\"existing\":true}}");
    free(text);
    json_decref(obj);
    struct gpuslice_spec bad = spec;
    bad.node = "node-\xff";
    assert_null(gpuslice_new("team", &bad, p));
    /* A share with such a name is none either (json_pack's NULL object
     * then had its sharing set, and aborted). */
    bad.sharing = POD_SHARING_MPS;
    bad.memory_gib = 8;
    assert_null(gpuslice_new("team", &bad, p));
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
    /* warmUntil is written when given and kept through later phases. */
    struct gpuslice_status warm = {.phase = "Warm", .warm_until = "2026-11-22T10:00:31Z"};
    json_t *c = gpuslice_with_status(b, &warm, "2026-11-22T10:00:01Z");
    struct gpuslice_status deleting = {.phase = "Deleting"};
    json_t *d = gpuslice_with_status(c, &deleting, "2026-11-22T10:00:02Z");
    assert_int_equal(gpuslice_read(d, &v, NULL), 0);
    assert_string_equal(v.status.phase, "Deleting");
    assert_string_equal(v.status.warm_until, "2026-11-22T10:00:31Z");
    assert_int_equal(gpuslice_read(a, &v, NULL), 0);
    assert_null(v.status.warm_until);
    json_decref(c);
    json_decref(d);
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
    /* Up to 253 characters the name is spelled out whole; one more and it
     * is cut and hashed. */
    char plain[GPUSLICE_NAME_MAX];
    pod_name[253 - strlen("-main-10")] = '\0';
    gpuslice_name(pod_name, "main", 10, plain);
    assert_int_equal(strlen(plain), 253);
    assert_string_equal(plain + strlen(pod_name), "-main-10");
    gpuslice_name(pod_name, "main", 100, plain);
    assert_int_equal(strlen(plain), 200 + 1 + 16 + 1 + 3);
    assert_string_equal(plain + strlen(plain) - 4, "-100");
    gpuslice_name("p", "c", 0, plain);
    assert_string_equal(plain, "p-c-0");
    gpuslice_name("p", "c", 4294967295u, plain);
    assert_string_equal(plain, "p-c-4294967295");
}

/* A share of a whole GPU carries its sharing and MPS limits instead of a
 * MIG slice's profile and place. */
static void shares_read_back(void **state)
{
    (void)state;
    json_t *p = pod();
    struct gpuslice_spec mps = spec;
    mps.profile = NULL;
    mps.start = mps.size = 0;
    mps.sharing = POD_SHARING_MPS;
    mps.memory_gib = 8;
    mps.sm_percent = 25;
    json_t *obj = gpuslice_new("team", &mps, p);
    const json_t *js = json_object_get(obj, "spec");
    assert_null(json_object_get(js, "profile"));
    assert_null(json_object_get(js, "start"));
    assert_string_equal(json_string_value(json_object_get(js, "sharing")), "mps");
    struct gpuslice_view v;
    assert_int_equal(gpuslice_read(obj, &v, NULL), 0);
    assert_int_equal(v.spec.sharing, POD_SHARING_MPS);
    assert_int_equal(v.spec.memory_gib, 8);
    assert_int_equal(v.spec.sm_percent, 25);
    assert_null(v.spec.profile);
    json_decref(obj);
    struct gpuslice_spec ts = mps;
    ts.sharing = POD_SHARING_TIMESLICE;
    obj = gpuslice_new("team", &ts, p);
    assert_null(json_object_get(json_object_get(obj, "spec"), "memoryGiB"));
    assert_int_equal(gpuslice_read(obj, &v, NULL), 0);
    assert_int_equal(v.spec.sharing, POD_SHARING_TIMESLICE);
    assert_int_equal(v.spec.memory_gib, 0);
    /* A MIG slice says no sharing. */
    json_decref(obj);
    obj = gpuslice_new("team", &spec, p);
    assert_int_equal(gpuslice_read(obj, &v, NULL), 0);
    assert_int_equal(v.spec.sharing, POD_SHARING_NONE);
    json_decref(obj);
    json_decref(p);
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
        {"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"podName\":\"p\",\"container\":\"c\","
         "\"nodeName\":\"n\",\"gpuUUID\":\"g\",\"sharing\":\"vgpu\"}}",
         "spec.sharing: \"vgpu\" is not a sharing (mps, timeslice)"},
        {"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"podName\":\"p\",\"container\":\"c\","
         "\"nodeName\":\"n\",\"gpuUUID\":\"g\",\"sharing\":\"mps\",\"smPercent\":20}}",
         "spec.memoryGiB: is required"},
        {"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"podName\":\"p\",\"container\":\"c\","
         "\"nodeName\":\"n\",\"gpuUUID\":\"g\",\"sharing\":\"mps\",\"memoryGiB\":4,"
         "\"smPercent\":0}}",
         "spec.smPercent: must be at least 1 for MPS"},
        {"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"podName\":\"p\",\"container\":\"c\","
         "\"nodeName\":\"n\",\"gpuUUID\":\"g\"}}",
         "spec.profile: is required"},
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

/* The field paths of error messages: joined, indexed, keyed, and cut to
 * the buffer. */
static void field_paths(void **state)
{
    (void)state;
    char b[40], k[300];
    assert_string_equal(api__path(b, sizeof b, "spec.", "containers"), "spec.containers");
    assert_string_equal(api__path_index(b, sizeof b, "spec.containers", 0), "spec.containers[0]");
    assert_string_equal(api__path_index(b, sizeof b, "x", 1234567), "x[1234567]");
    assert_string_equal(api__path_key(b, sizeof b, "limits", "cpu"), "limits[cpu]");
    assert_string_equal(api__path(b, 8, "status.", "gpus"), "status.");
    assert_string_equal(api__path_index(b, 4, "ab", 12), "ab[");
    char key[400];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_int_equal(strlen(api__path_key(k, sizeof k, "m", key)), 1 + 1 + 256 + 1);
}

/* One pass finds the members asked for, NULL for the others; the readers
 * taking a value judge it as those taking its object. */
static void members_in_one_pass(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s, s:i, s:b, s:s}", "phase", "Created", "giID", 3, "init", 1,
                          "pod", "p");
    static const char *const names[] = {"giID", "phase", "podName", "pod", "init"};
    const json_t *v[5];
    api__members(o, names, 5, v);
    assert_string_equal(json_string_value(v[1]), "Created");
    assert_int_equal(json_integer_value(v[0]), 3);
    assert_null(v[2]);
    assert_string_equal(json_string_value(v[3]), "p");
    const char *str = NULL;
    unsigned n = 0;
    bool b = false;
    struct err e;
    assert_int_equal(api__take_string(v[1], "phase", "status", true, &str, &e), 0);
    assert_string_equal(str, "Created");
    assert_int_equal(api__take_uint(v[0], "giID", "status", true, 7, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(api__take_bool(v[4], "init", "spec", &b, &e), 0);
    assert_true(b);
    assert_int_equal(api__take_string(v[2], "podName", "spec", true, &str, &e), -EINVAL);
    assert_string_equal(e.msg, "spec.podName: is required");
    assert_int_equal(api__take_uint(v[0], "giID", "status", true, 2, &n, &e), -EINVAL);
    assert_int_equal(api__take_bool(v[1], "phase", "status", &b, &e), -EINVAL);
    api__members(json_object_get(o, "phase"), names, 5, v);
    assert_null(v[1]);
    json_decref(o);
}

/* The memo answers as gpuslice_read does, holding the object while it
 * keeps its view; a slice that does not read is not kept. */
static void memo_reads_as_gpuslice_read(void **state)
{
    (void)state;
    struct jmemo *memo = gpuslice_memo_new(8);
    json_t *p = pod();
    json_t *obj = gpuslice_new("team", &spec, p);
    struct gpuslice_view want, got;
    assert_int_equal(gpuslice_read(obj, &want, NULL), 0);
    for (int round = 0; round < 2; round++) {
        memset(&got, 0, sizeof got);
        assert_int_equal(gpuslice_read_memo(memo, obj, &got, NULL), 0);
        assert_memory_equal(&got, &want, sizeof got);
        assert_int_equal(obj->refcount, 2);
    }
    json_t *bad = json_pack("{s:{s:s}}", "metadata", "name", "no-spec");
    struct err e = {0};
    assert_int_equal(gpuslice_read_memo(memo, bad, &got, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec: is required"));
    assert_int_equal(bad->refcount, 1);
    jmemo_free(memo);
    assert_int_equal(obj->refcount, 1);
    json_decref(bad);
    json_decref(obj);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_slice_reads_back),
        cmocka_unit_test(new_slice_text_and_order),
        cmocka_unit_test(field_paths),
        cmocka_unit_test(members_in_one_pass),
        cmocka_unit_test(status_is_set_and_kept),
        cmocka_unit_test(long_names_stay_unique_and_bounded),
        cmocka_unit_test(shares_read_back),
        cmocka_unit_test(bad_slices_name_the_field),
        cmocka_unit_test(status_ids_and_phase_time),
        cmocka_unit_test(memo_reads_as_gpuslice_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
