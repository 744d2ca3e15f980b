/*
 * The agent's memo of its GPUNode reports (agent/agent_report.h): a status
 * built around the entries of the GPUs that did not change is, to the
 * byte, the one built from scratch, whatever changed between two views.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent_report.h"

static const char *const uuids[] = {"GPU-a", "GPU-b", "GPU-c", "GPU-d",
                                    "GPU-e", "GPU-f", "GPU-g", "GPU-h"};
static const char *const profiles[] = {"1g.10gb", "2g.20gb", "3g.40gb", "7g.80gb"};
static const char *const devices[] = {"MIG-1", "MIG-2", "MIG-3", NULL};

static uint32_t next(uint32_t *seed)
{
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    return *seed;
}

static struct gpunode_view eight_gpus(void)
{
    struct gpunode_view v = {.name = "node-1", .boot_id = "boot-1", .n_gpus = 8};
    for (unsigned i = 0; i < 8; i++)
        v.gpus[i] = (struct gpunode_gpu){.index = i, .uuid = uuids[i],
                                         .product = "NVIDIA H100 80GB HBM3",
                                         .model = "H100-80GB", .mig_mode = "Enabled",
                                         .memory_mib = 81559};
    return v;
}

/* One change of the kinds a node sees: a slice made, gone or claimed, a
 * GPU's mode or clients, the node's pending mode change. */
static void change(struct gpunode_view *v, uint32_t *seed, json_t *clients)
{
    struct gpunode_gpu *g = &v->gpus[next(seed) % v->n_gpus];
    switch (next(seed) % 6) {
    case 0:
        if (g->n_slices < GPUNODE_MAX_SLICES)
            g->slices[g->n_slices++] = (struct gpunode_slice){
                .profile = profiles[next(seed) % 4], .start = next(seed) % 8, .size = 1,
                .gi_id = next(seed) % 14, .ci_id = 0, .device_uuid = devices[next(seed) % 4],
                .managed = true};
        break;
    case 1:
        if (g->n_slices > 0) {
            size_t gone = next(seed) % g->n_slices;
            g->slices[gone] = g->slices[--g->n_slices];
        }
        break;
    case 2:
        if (g->n_slices > 0)
            g->slices[0].managed = !g->slices[0].managed;
        break;
    case 3:
        g->has_active = !g->has_active;
        g->active = (enum gpunode_mode)(next(seed) % 5);
        break;
    case 4:
        g->clients = g->clients ? NULL : clients;
        break;
    default:
        v->mode_pending = v->mode_pending ? NULL : "GPU-a: mig to mps";
        break;
    }
}

static char *text(const json_t *status)
{
    char *t = json_dumps(status, JSON_COMPACT);
    assert_non_null(t);
    return t;
}

static void incremental_status_is_the_status_from_scratch(void **state)
{
    (void)state;
    json_t *clients = json_pack("[{s:s, s:s, s:s, s:s}]", "namespace", "ml", "pod", "p",
                                "container", "c", "sharing", "mps");
    struct agent_report_memo m = {0};
    struct gpunode_view v = eight_gpus();
    uint32_t seed = 2463534242u;
    size_t shared = 0;
    json_t *before = NULL;
    for (int step = 0; step < 2000; step++) {
        struct gpunode_view was = v;
        for (uint32_t n = next(&seed) % 3 + 1; n > 0; n--)
            change(&v, &seed, clients);
        agent_report_view(&m, &v);
        json_t *got = agent_report_status(&m, &v), *want = gpunode_status_new(&v);
        char *a = text(got), *b = text(want);
        assert_string_equal(a, b);
        /* a GPU that did not change is the entry of the status before */
        for (size_t i = 0; before && i < v.n_gpus; i++) {
            json_t *entry = json_array_get(json_object_get(got, "gpus"), i);
            bool same = memcmp(&was.gpus[i], &v.gpus[i], sizeof v.gpus[i]) == 0;
            if (same)
                assert_ptr_equal(entry, json_array_get(json_object_get(before, "gpus"), i));
            shared += same;
        }
        free(a);
        free(b);
        json_decref(want);
        json_decref(before);
        before = got;
    }
    assert_true(shared > 2000); /* most GPUs are left alone by a step */
    json_decref(before);
    agent_report_free(&m);
    json_decref(clients);
}

static void a_view_found_written_is_not_built_again(void **state)
{
    (void)state;
    struct agent_report_memo m = {0};
    struct gpunode_view v = eight_gpus();
    agent_report_view(&m, &v);
    assert_false(agent_report_seen(&m, "7"));
    assert_false(agent_report_unchanged(&m, "7"));
    agent_report_written(&m, "7");
    assert_true(agent_report_seen(&m, "7"));
    assert_true(agent_report_unchanged(&m, "7"));
    assert_false(agent_report_unchanged(&m, "8")); /* another version: compare */
    v.gpus[3].memory_mib++;
    agent_report_view(&m, &v);
    assert_true(agent_report_seen(&m, "7"));
    assert_false(agent_report_unchanged(&m, "7"));

    /* a status sent counts as written once the cache holds that very one */
    json_t *status = agent_report_status(&m, &v);
    agent_report_sent(&m, status);
    json_t *cached = json_pack("{s:O}", "status", status);
    agent_report_landed(&m, cached, "9");
    assert_true(agent_report_unchanged(&m, "9"));
    json_decref(cached);
    json_decref(status);
    agent_report_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(incremental_status_is_the_status_from_scratch),
        cmocka_unit_test(a_view_found_written_is_not_built_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
