/* Tests for api/gpunode: the GPUNode reader (status joined with the admin's
 * settings) and the status builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpunode.h"
#include "../common/json_text.h"

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

/* spec.gpus[].mode is the admin's wish, status.gpus[].mode what the agent
 * applies; a GPU never reported applies spec's; the condition is read
 * while True; a mode no one knows is an error naming the field. */
static void gpunode_modes(void **state)
{
    (void)state;
    json_t *obj = json_loads(
        "{\"metadata\":{\"name\":\"n\"},"
        "\"spec\":{\"gpus\":[{\"uuid\":\"G0\",\"mode\":\"mig-static\"},"
        "{\"uuid\":\"G1\",\"mode\":\"mig-static\"}]},"
        "\"status\":{\"conditions\":[{\"type\":\"ModeChangePending\",\"status\":\"True\","
        "\"message\":\"waits\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}],"
        "\"gpus\":[{\"index\":0,\"uuid\":\"G0\",\"mode\":\"mig\"},"
        "{\"index\":1,\"uuid\":\"G1\"},{\"index\":2,\"uuid\":\"G2\"}]}}",
        0, NULL);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(obj, &v, NULL), 0);
    assert_int_equal(v.gpus[0].mode, GPUNODE_MODE_MIG_STATIC);
    assert_true(v.gpus[0].has_active);
    assert_int_equal(gpunode_active_mode(&v.gpus[0]), GPUNODE_MODE_MIG);
    assert_int_equal(gpunode_active_mode(&v.gpus[1]), GPUNODE_MODE_MIG_STATIC);
    assert_int_equal(gpunode_active_mode(&v.gpus[2]), GPUNODE_MODE_MIG);
    assert_string_equal(v.mode_pending, "waits");
    assert_string_equal(v.mode_pending_since, "2026-01-01T00:00:00Z");
    json_t *st = gpunode_status_new(&v);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(st, "gpus"), 0), "mode")), "mig");
    assert_null(json_object_get(json_array_get(json_object_get(st, "gpus"), 1), "mode"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(st, "conditions"), 0), "type")),
                        GPUNODE_CONDITION_MODE);
    json_decref(st);
    json_decref(obj);

    json_t *bad = json_loads("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"gpus\":"
                             "[{\"uuid\":\"G\",\"mode\":\"static\"}]},\"status\":{\"gpus\":"
                             "[{\"index\":0,\"uuid\":\"G\"}]}}", 0, NULL);
    struct err e;
    assert_int_equal(gpunode_read(bad, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.gpus[0].mode: \"static\" is not a mode"));
    json_decref(bad);
    enum gpunode_mode m;
    assert_int_equal(gpunode_mode_parse("mig-static", &m), 0);
    assert_string_equal(gpunode_mode_name(m), "mig-static");
    assert_int_equal(gpunode_mode_parse(NULL, &m), -EINVAL);
    /* What spec asks, for a GPU status does not list yet. */
    json_t *wish = json_loads("{\"spec\":{\"gpus\":[{\"uuid\":\"A\",\"mode\":\"mig-static\"},"
                              "{\"uuid\":\"B\",\"mode\":\"x\"}]}}", 0, NULL);
    assert_int_equal(gpunode_wanted_mode(wish, "A"), GPUNODE_MODE_MIG_STATIC);
    assert_int_equal(gpunode_wanted_mode(wish, "B"), GPUNODE_MODE_MIG);
    assert_int_equal(gpunode_wanted_mode(wish, "C"), GPUNODE_MODE_MIG);
    assert_int_equal(gpunode_wanted_mode(NULL, "C"), GPUNODE_MODE_MIG);
    json_decref(wish);
}

/* The sharing modes, timeslice's replicas and a shared GPU's clients. */
static void gpunode_sharing_modes_and_clients(void **state)
{
    (void)state;
    json_t *obj = json_loads(
        "{\"metadata\":{\"name\":\"n\"},"
        "\"spec\":{\"gpus\":[{\"uuid\":\"G0\",\"mode\":\"mps\"},"
        "{\"uuid\":\"G1\",\"mode\":\"timeslice\",\"replicas\":6},"
        "{\"uuid\":\"G2\",\"mode\":\"whole\"}]},"
        "\"status\":{\"gpus\":[{\"index\":0,\"uuid\":\"G0\",\"mode\":\"mps\","
        "\"clients\":[{\"namespace\":\"team\",\"pod\":\"a\",\"container\":\"c\","
        "\"sharing\":\"mps\",\"memoryGiB\":8,\"smPercent\":25}]},"
        "{\"index\":1,\"uuid\":\"G1\"},{\"index\":2,\"uuid\":\"G2\"}]}}",
        0, NULL);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(obj, &v, NULL), 0);
    assert_int_equal(gpunode_active_mode(&v.gpus[0]), GPUNODE_MODE_MPS);
    assert_int_equal(v.gpus[1].mode, GPUNODE_MODE_TIMESLICE);
    assert_int_equal(v.gpus[1].replicas, 6);
    assert_int_equal(v.gpus[2].mode, GPUNODE_MODE_WHOLE);
    assert_int_equal(v.gpus[2].replicas, GPUNODE_TIMESLICE_REPLICAS_DEFAULT);
    assert_int_equal(json_array_size(v.gpus[0].clients), 1);
    assert_null(v.gpus[1].clients);
    assert_true(gpunode_mode_mig(GPUNODE_MODE_MIG_STATIC));
    assert_false(gpunode_mode_mig(GPUNODE_MODE_MPS));
    assert_false(gpunode_mode_mig(GPUNODE_MODE_WHOLE));
    /* The clients are written back as read. */
    json_t *st = gpunode_status_new(&v);
    json_t *clients = json_object_get(json_array_get(json_object_get(st, "gpus"), 0), "clients");
    assert_true(json_equal(clients, (json_t *)v.gpus[0].clients));
    assert_string_equal(json_string_value(json_object_get(st, "modes")), "mps");
    json_decref(st);
    json_decref(obj);

    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"metadata\":{\"name\":\"n\"},\"spec\":{\"gpus\":[{\"uuid\":\"G\",\"replicas\":0}]},"
         "\"status\":{\"gpus\":[{\"index\":0,\"uuid\":\"G\"}]}}",
         "spec.gpus[0].replicas: must be at least 1"},
        {"{\"metadata\":{\"name\":\"n\"},\"spec\":{\"gpus\":[{\"uuid\":\"G\",\"replicas\":49}]},"
         "\"status\":{\"gpus\":[{\"index\":0,\"uuid\":\"G\"}]}}",
         "spec.gpus[0].replicas: must be a whole number in range"},
        {"{\"metadata\":{\"name\":\"n\"},\"status\":{\"gpus\":[{\"index\":0,\"uuid\":\"G\","
         "\"clients\":{}}]}}",
         "status.gpus[0].clients: must be a list"},
        {"{\"metadata\":{\"name\":\"n\"},\"status\":{\"gpus\":[{\"index\":0,\"uuid\":\"G\","
         "\"clients\":[{\"namespace\":\"t\",\"pod\":\"p\",\"sharing\":\"mps\",\"smPercent\":101}]}]}}",
         "status.gpus[0].clients[0].smPercent: must be a whole number in range"},
        {"{\"metadata\":{\"name\":\"n\"},\"status\":{\"gpus\":[{\"index\":0,\"uuid\":\"G\","
         "\"clients\":[{\"namespace\":\"t\",\"sharing\":\"mps\"}]}]}}",
         "status.gpus[0].clients[0].pod: is required"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = json_loads(bad[i].json, 0, NULL);
        assert_non_null(o);
        struct err e = {0};
        assert_int_equal(gpunode_read(o, &v, &e), -EINVAL);
        if (!strstr(e.msg, bad[i].want))
            fail_msg("case %zu: got \"%s\"", i, e.msg);
        json_decref(o);
    }
}

/* kubectl get gpunodes prints a printer column's first match only, so the
 * status carries each column's values in one line. */
static void gpunode_status_sums_up_every_gpu(void **state)
{
    (void)state;
    struct gpunode_view v = {.name = "n", .n_gpus = 4};
    v.gpus[0] = (struct gpunode_gpu){.uuid = "G0", .model = "A100-40GB", .mig_mode = "Enabled",
                                     .has_active = true, .active = GPUNODE_MODE_MIG};
    v.gpus[1] = (struct gpunode_gpu){.uuid = "G1", .model = "H100-80GB", .mig_mode = "Enabled",
                                     .has_active = true, .active = GPUNODE_MODE_MIG_STATIC};
    v.gpus[2] = (struct gpunode_gpu){.uuid = "G2", .model = "H100-80GB", .mig_mode = "Enabled",
                                     .has_active = true, .active = GPUNODE_MODE_MIG};
    v.gpus[3] = (struct gpunode_gpu){.uuid = "G3", .model = "", .mig_mode = "Unsupported"};
    json_t *st = gpunode_status_new(&v);
    assert_string_equal(json_string_value(json_object_get(st, "models")),
                        "A100-40GB,2xH100-80GB");
    assert_string_equal(json_string_value(json_object_get(st, "migModes")),
                        "Enabled,Unsupported");
    assert_string_equal(json_string_value(json_object_get(st, "modes")), "mig,mig-static");
    json_decref(st);
    v.n_gpus = 0;
    st = gpunode_status_new(&v);
    assert_string_equal(json_string_value(json_object_get(st, "models")), "");
    json_decref(st);
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
    assert_keys_begin(st, "gpus,models,migModes,modes,bootID");
    assert_int_equal(json_object_size(st), 5);
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


/* A GPU's status entry, byte for byte: members in the order the agent has
 * always written them (a store diff or a client reading raw JSON sees the
 * same text whichever way the entry is built). */
static void gpunode_gpu_status_keeps_its_bytes(void **state)
{
    (void)state;
    json_t *clients = json_loads("[{\"pod\":\"p\"}]", 0, NULL);
    struct gpunode_gpu g = {
        .index = 3, .uuid = "GPU-1", .product = "NVIDIA H100 80GB HBM3", .model = "H100-80GB",
        .mig_mode = "Enabled", .memory_mib = 81920, .has_active = true,
        .active = GPUNODE_MODE_MIG, .clients = clients, .n_slices = 2,
        .slices = {{.profile = "1g.10gb", .start = 6, .size = 1, .gi_id = 9, .ci_id = 2,
                    .device_uuid = "MIG-9", .managed = true},
                   {.profile = "3g.40gb", .start = 0, .size = 4, .gi_id = 1}}};
    json_t *o = gpunode_gpu_status_new(&g);
    char *text = json_dumps(o, JSON_COMPACT);
    assert_string_equal(
        text, "{\"index\":3,\"uuid\":\"GPU-1\",\"product\":\"NVIDIA H100 80GB HBM3\","
              "\"model\":\"H100-80GB\",\"memoryMiB\":81920,\"migMode\":\"Enabled\","
              "\"slices\":[{\"profile\":\"1g.10gb\",\"start\":6,\"size\":1,\"giID\":9,"
              "\"managed\":true,\"ciID\":2,\"deviceUUID\":\"MIG-9\"},"
              "{\"profile\":\"3g.40gb\",\"start\":0,\"size\":4,\"giID\":1,"
              "\"managed\":false}],\"mode\":\"mig\",\"clients\":[{\"pod\":\"p\"}]}");
    free(text);
    json_decref(o);
    /* No product, model nor mig mode: empty, empty, Unsupported; a uuid
     * that is no string makes no entry. */
    struct gpunode_gpu bare = {.uuid = "G"};
    o = gpunode_gpu_status_new(&bare);
    text = json_dumps(o, JSON_COMPACT);
    assert_string_equal(text, "{\"index\":0,\"uuid\":\"G\",\"product\":\"\",\"model\":\"\","
                              "\"memoryMiB\":0,\"migMode\":\"Unsupported\",\"slices\":[]}");
    free(text);
    json_decref(o);
    bare.uuid = "\xff";
    assert_null(gpunode_gpu_status_new(&bare));
    json_decref(clients);
}


/* Reading a GPUNode a GPU at a time reads what gpunode_read reads, and a
 * GPU is the same as the version before's when its entry and spec.gpus
 * are the very values; a status around given entries is the one built
 * whole. */
static void gpunode_read_and_built_a_gpu_at_a_time(void **state)
{
    (void)state;
    json_t *obj = json_loads(
        "{\"metadata\":{\"name\":\"n\"},"
        "\"spec\":{\"gpus\":[{\"uuid\":\"G1\",\"heldBack\":true}]},"
        "\"status\":{\"bootID\":\"b\",\"conditions\":[{\"type\":\"ModeChangePending\","
        "\"status\":\"True\",\"message\":\"waits\"}],\"gpus\":["
        "{\"index\":0,\"uuid\":\"G0\",\"model\":\"H100-80GB\",\"migMode\":\"Enabled\","
        "\"slices\":[{\"profile\":\"1g.10gb\",\"start\":6,\"size\":1,\"giID\":13}]},"
        "{\"index\":1,\"uuid\":\"G1\"},{\"index\":2}]}}",
        0, NULL);
    struct gpunode_view whole, head;
    struct err e;
    assert_int_equal(gpunode_read(obj, &whole, NULL), -EINVAL); /* GPU 2 has no uuid */
    assert_int_equal(gpunode_read_head(obj, &head, NULL), 0);
    assert_int_equal(head.n_gpus, 3);
    assert_string_equal(head.boot_id, "b");
    assert_string_equal(head.mode_pending, "waits");
    struct gpunode_gpu g;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(gpunode_read_gpu(obj, i, &g, NULL), 0);
        assert_memory_equal(&g, &whole.gpus[i], sizeof g);
    }
    assert_true(g.held_back);
    assert_int_equal(gpunode_read_gpu(obj, 2, &g, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "GPUNode n: status.gpus[2].uuid: is required"));
    assert_int_equal(gpunode_read_gpu(obj, 3, &g, NULL), -EINVAL);

    /* a version sharing GPU 0's entry and the spec */
    json_t *next = json_deep_copy(obj);
    json_t *gpus = json_object_get(json_object_get(next, "status"), "gpus");
    json_array_set(gpus, 0, json_array_get(json_object_get(json_object_get(obj, "status"),
                                                           "gpus"), 0));
    assert_int_equal(gpunode_same_gpus(next, obj), 0); /* another spec */
    json_object_set(next, "spec", json_object_get(obj, "spec"));
    assert_int_equal(gpunode_same_gpus(next, obj), 1); /* GPU 0 alone */
    assert_int_equal(gpunode_same_gpus(next, NULL), 0);

    json_array_remove(gpus, 2);
    assert_int_equal(gpunode_read(next, &whole, NULL), 0);
    json_t *entries[2] = {gpunode_gpu_status_new(&whole.gpus[0]),
                          gpunode_gpu_status_new(&whole.gpus[1])};
    json_t *built = gpunode_status_new(&whole), *around = gpunode_status_of(&whole, entries);
    assert_true(json_equal(built, around));
    assert_ptr_equal(json_array_get(json_object_get(around, "gpus"), 1), entries[1]);
    assert_true(json_equal(json_array_get(json_object_get(built, "gpus"), 0), entries[0]));
    for (size_t i = 0; i < 2; i++)
        json_decref(entries[i]);
    json_decref(built);
    json_decref(around);
    json_decref(next);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gpunode_joins_status_and_settings),
        cmocka_unit_test(gpunode_status_sums_up_every_gpu),
        cmocka_unit_test(gpunode_status_reads_back),
        cmocka_unit_test(gpunode_gpu_status_keeps_its_bytes),
        cmocka_unit_test(gpunode_modes),
        cmocka_unit_test(gpunode_sharing_modes_and_clients),
        cmocka_unit_test(gpunode_read_and_built_a_gpu_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
