/* An embedded cluster laid out from a description: the node checks, the
 * emulated GPUs' spec, the kubelet's labels, the slices put on the GPUs as
 * not gpuslice's, and the GPUNode that carries the admin's settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpunode.h"
#include "device/emulated.h"
#include "sim/layout.h"

/* node-a: an A100-40GB holding 3g.20gb at 4 and held back, an H100-80GB
 * that allows 1g.10gb only; node-b: one plain H100-80GB. shared_fixture
 * adds to node-b an A100-80GB in mode mps and an L4 in mode timeslice. */
struct fixture {
    struct placement_label labels[2];
    struct placement_node nodes[2];
    struct placement_gpu gpus[3];
    size_t pos[3];
    struct clusterfile_plain plain[2];
    struct placement_cluster c;
    struct clusterfile cf;
};

static void fixture_init(struct fixture *f)
{
    const struct gpu_model *a100 = catalog_find_model("A100-40GB");
    const struct gpu_model *h100 = catalog_find_model("H100-80GB");
    memset(f, 0, sizeof *f);
    f->labels[0] = (struct placement_label){"zone", "a"};
    f->labels[1] = (struct placement_label){"pool", "x"};
    f->nodes[0] = (struct placement_node){"node-a", f->labels, 2};
    f->nodes[1] = (struct placement_node){"node-b", NULL, 0};
    occupancy_init(&f->gpus[0].occ, a100);
    assert_int_equal(occupancy_take(&f->gpus[0].occ, catalog_find_profile(a100, "3g.20gb"), 4,
                                    0, NULL), 0);
    f->gpus[0].allowed = PLACEMENT_ALL_PROFILES;
    f->gpus[0].held_back = true;
    occupancy_init(&f->gpus[1].occ, h100);
    f->gpus[1].allowed = (uint16_t)(1u << catalog_profile_index(
                                        h100, catalog_find_profile(h100, "1g.10gb"), NULL));
    occupancy_init(&f->gpus[2].occ, h100);
    f->gpus[2].node = 1;
    f->gpus[2].allowed = PLACEMENT_ALL_PROFILES;
    f->c = (struct placement_cluster){.nodes = f->nodes, .n_nodes = 2, .gpus = f->gpus,
                                      .n_gpus = 3};
    f->pos[1] = 1;
    f->cf = (struct clusterfile){.cluster = f->c, .gpu_pos = f->pos, .plain = f->plain};
}

static void shared_fixture_init(struct fixture *f)
{
    fixture_init(f);
    f->plain[0] = (struct clusterfile_plain){.node = 1, .pos = 1, .model = "A100-80GB",
                                             .catalogued = true, .mode = GPUNODE_MODE_MPS};
    f->plain[1] = (struct clusterfile_plain){.node = 1, .pos = 2, .model = "NVIDIA L4",
                                             .memory_mib = 23034, .replicas = 3,
                                             .mode = GPUNODE_MODE_TIMESLICE, .held_back = true};
    f->cf.n_plain = 2;
}

static void checks_name_the_node(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct err e;
    assert_int_equal(layout_check(&f.cf, 64, 64, &e), 0);
    assert_int_equal(layout_check(&f.cf, 1, 64, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "2 nodes"));
    assert_int_equal(layout_check(&f.cf, 64, 6, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "node-a"));
    f.gpus[2].node = 0; /* node-b left without GPUs */
    assert_int_equal(layout_check(&f.cf, 64, 64, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "node node-b has 0 GPUs"));
}

static void models_and_labels_per_node(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    char buf[128];
    struct err e;
    assert_int_equal(layout_models(&f.cf, 0, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "model=A100-40GB,model=H100-80GB,");
    assert_int_equal(layout_models(&f.cf, 1, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "model=H100-80GB,");
    assert_int_equal(layout_models(&f.cf, 0, buf, 20, &e), -E2BIG);
    char *labels = layout_labels(&f.c, 0);
    assert_string_equal(labels, "zone=a,pool=x");
    free(labels);
    assert_null(layout_labels(&f.c, 1));
}

static struct device *open_node(const struct fixture *f, size_t node)
{
    char spec[256] = "emulated:";
    assert_int_equal(layout_models(&f->cf, node, spec + strlen(spec), sizeof spec - 9, NULL), 0);
    spec[strlen(spec) - 1] = '\0'; /* the trailing comma */
    struct device *d = NULL;
    assert_int_equal(device_open(spec, &d, NULL), 0);
    return d;
}

static void slices_are_put_on_the_gpus(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct device *d = open_node(&f, 0);
    struct err e;
    assert_int_equal(layout_add_slices(&f.cf, 0, d, &e), 0);
    struct gpu_occupancy occ;
    assert_int_equal(emulated_occupancy(d, 0, &occ, NULL), 0);
    assert_int_equal(occ.n_slices, 1);
    assert_int_equal(occ.slices[0].start, 4);
    assert_int_equal(emulated_occupancy(d, 1, &occ, NULL), 0);
    assert_int_equal(occ.n_slices, 0);
    /* Again: the placement is taken now, and the error names the node. */
    assert_int_equal(layout_add_slices(&f.cf, 0, d, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "node node-a: "));
    device_close(d);
}

static void the_gpunode_carries_the_admin_settings(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct device *d = open_node(&f, 0);
    json_t *obj = NULL;
    assert_int_equal(layout_gpunode(&f.cf, 0, d, &obj, NULL), 0);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                          "name")), "node-a");
    json_t *gpus = json_object_get(json_object_get(obj, "spec"), "gpus");
    assert_int_equal(json_array_size(gpus), 2);
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, NULL), 0);
    json_t *held = json_array_get(gpus, 0), *allowed = json_array_get(gpus, 1);
    assert_string_equal(json_string_value(json_object_get(held, "uuid")), inv->gpus[0].uuid);
    assert_true(json_is_true(json_object_get(held, "heldBack")));
    assert_null(json_object_get(held, "allowedProfiles"));
    assert_string_equal(json_string_value(json_object_get(allowed, "uuid")), inv->gpus[1].uuid);
    assert_null(json_object_get(allowed, "heldBack"));
    json_t *list = json_object_get(allowed, "allowedProfiles");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_array_get(list, 0)), "1g.10gb");
    free(inv);
    json_decref(obj);
    device_close(d);

    d = open_node(&f, 1); /* nothing to say about node-b */
    assert_int_equal(layout_gpunode(&f.cf, 1, d, &obj, NULL), 0);
    assert_null(obj);
    device_close(d);
}

static void gpus_with_mig_off_get_their_mode(void **state)
{
    (void)state;
    struct fixture f;
    shared_fixture_init(&f);
    char buf[128];
    assert_int_equal(layout_models(&f.cf, 1, buf, sizeof buf, NULL), 0);
    assert_string_equal(buf, "model=H100-80GB,model=A100-80GB,mig=off,other=NVIDIA L4,"
                             "memory-mib=23034,");
    struct device *d = open_node(&f, 1);
    json_t *obj = NULL;
    assert_int_equal(layout_gpunode(&f.cf, 1, d, &obj, NULL), 0);
    json_t *gpus = json_object_get(json_object_get(obj, "spec"), "gpus");
    assert_int_equal(json_array_size(gpus), 2);
    json_t *mps = json_array_get(gpus, 0), *ts = json_array_get(gpus, 1);
    assert_string_equal(json_string_value(json_object_get(mps, "mode")), "mps");
    assert_null(json_object_get(mps, "replicas"));
    assert_string_equal(json_string_value(json_object_get(ts, "mode")), "timeslice");
    assert_int_equal(json_integer_value(json_object_get(ts, "replicas")), 3);
    assert_true(json_is_true(json_object_get(ts, "heldBack")));
    struct device_inventory *inv = malloc(sizeof *inv);
    assert_int_equal(device_discover(d, inv, NULL, NULL), 0);
    assert_int_equal(inv->n_gpus, 3);
    assert_int_equal(inv->gpus[1].mig_current, DEVICE_MIG_DISABLED);
    assert_string_equal(json_string_value(json_object_get(ts, "uuid")), inv->gpus[2].uuid);
    free(inv);
    json_decref(obj);
    device_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checks_name_the_node),
        cmocka_unit_test(models_and_labels_per_node),
        cmocka_unit_test(slices_are_put_on_the_gpus),
        cmocka_unit_test(the_gpunode_carries_the_admin_settings),
        cmocka_unit_test(gpus_with_mig_off_get_their_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
