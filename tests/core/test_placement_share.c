/*
 * Tests for core/placement_share: the MPS capacity after the server's
 * overhead, proportional SM shares, both dimensions and the client bound
 * of mps GPUs, the count of timeslice GPUs, the three policies' choices in
 * two dimensions, the node rules, and the explanation when nothing fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/placement_share.h"

static const struct placement_label zone_a = {"zone", "a"};
static const struct placement_node nodes[] = {
    {"node-0", &zone_a, 1},
    {"node-1", NULL, 0},
};

/* An mps GPU of an 80 GB card (79 GiB to pin after the default overhead). */
static struct share_gpu mps_gpu(size_t node)
{
    return (struct share_gpu){
        .node = node, .mode = SHARE_MPS, .slots = PLACEMENT_SHARE_MPS_CLIENTS_MAX,
        .capacity_gib = placement_share_capacity_gib(81920, PLACEMENT_SHARE_MPS_OVERHEAD_MIB_DEFAULT),
    };
}

static struct share_request mps(unsigned gib, unsigned sm)
{
    return (struct share_request){.mode = SHARE_MPS, .memory_gib = gib, .sm_percent = sm};
}

static void the_server_overhead_comes_off_in_whole_gib(void **state)
{
    (void)state;
    assert_int_equal(placement_share_capacity_gib(81920, 512), 79);
    assert_int_equal(placement_share_capacity_gib(81920, 1), 79);
    assert_int_equal(placement_share_capacity_gib(32768, 27), 31);
    assert_int_equal(placement_share_capacity_gib(512, 512), 0);
    struct share_gpu g = mps_gpu(0);
    assert_int_equal(placement_share_proportional_sm(&g, 79), 100);
    assert_int_equal(placement_share_proportional_sm(&g, 20), 25);  /* 25.3, rounded down */
    assert_int_equal(placement_share_proportional_sm(&g, 0), 1);
}

static void both_dimensions_and_the_client_bound_limit_an_mps_gpu(void **state)
{
    (void)state;
    struct share_gpu g = mps_gpu(0);
    struct share_request big = mps(60, 0), sm_heavy = mps(1, 90);
    assert_true(placement_share_fits(&g, &big));
    placement_share_take(&g, 60, placement_share_proportional_sm(&g, 60));
    assert_false(placement_share_fits(&g, &big));         /* memory: 19 GiB left */
    assert_false(placement_share_fits(&g, &sm_heavy));    /* SMs: 76% held */
    struct share_request rest = mps(19, 0);
    assert_true(placement_share_fits(&g, &rest));
    placement_share_release(&g, 60, 75);
    assert_int_equal(g.clients, 0);
    assert_int_equal(g.used_gib, 0);
    g.slots = 2;
    struct share_request one = mps(1, 1);
    placement_share_take(&g, 1, 1);
    placement_share_take(&g, 1, 1);
    assert_false(placement_share_fits(&g, &one));          /* clients */
    assert_false(placement_share_over(&g));
    placement_share_take(&g, 1, 1);
    assert_true(placement_share_over(&g));
    g.held_back = true;
    g.clients = 0;
    assert_false(placement_share_fits(&g, &one));
}

static void a_timeslice_gpu_takes_its_replicas(void **state)
{
    (void)state;
    struct share_gpu g = {.mode = SHARE_TIMESLICE, .slots = 2};
    struct share_request ts = {.mode = SHARE_TIMESLICE};
    struct share_request m = mps(1, 0);
    assert_false(placement_share_fits(&g, &m));
    assert_true(placement_share_fits(&g, &ts));
    placement_share_take(&g, 0, 0);
    placement_share_take(&g, 0, 0);
    assert_false(placement_share_fits(&g, &ts));
}

/* GPU 0 empty, GPU 1 with 40 GiB and 20% of the SMs held (memory-heavy),
 * GPU 2 with 20 GiB and 60% held (SM-heavy), all on node-1. */
static void three_gpus(struct share_gpu g[3])
{
    for (size_t i = 0; i < 3; i++)
        g[i] = mps_gpu(1);
    placement_share_take(&g[1], 40, 20);
    placement_share_take(&g[2], 20, 60);
}

static size_t decide(const struct share_gpu *g, size_t n, struct share_request r,
                     enum placement_policy p)
{
    struct share_decision d;
    struct err e = {0};
    if (placement_share_decide(g, n, nodes, &r, p, &d, &e) != 0)
        fail_msg("%s", e.msg);
    return d.gpu;
}

static void the_policies_score_two_dimensions(void **state)
{
    (void)state;
    struct share_gpu g[3];
    three_gpus(g);
    /* 10 GiB with 30% of the SMs. */
    assert_int_equal(decide(g, 3, mps(10, 30), PLACEMENT_FIRST_FIT), 0);
    /* best-fit: GPU 1 leaves 29 GiB (367 per mille) + 50% SMs = 867;
     * GPU 2 leaves 49 GiB (620) + 10% (100) = 720: GPU 2. */
    assert_int_equal(decide(g, 3, mps(10, 30), PLACEMENT_BEST_FIT), 2);
    /* fragmentation-aware: GPU 1 leaves 367 and 500 (133 apart), GPU 2
     * leaves 620 and 100 (520 apart): GPU 1 keeps its remainders usable. */
    assert_int_equal(decide(g, 3, mps(10, 30), PLACEMENT_FRAGMENTATION_AWARE), 1);
    /* An SM-light request balances the SM-heavy GPU 2 instead. */
    assert_int_equal(decide(g, 3, mps(30, 5), PLACEMENT_FRAGMENTATION_AWARE), 2);
    /* The empty GPU only when no shared one has room. */
    assert_int_equal(decide(g, 3, mps(60, 0), PLACEMENT_FRAGMENTATION_AWARE), 0);
    struct share_decision d;
    struct share_request r = mps(60, 0);
    assert_int_equal(placement_share_decide(g, 3, nodes, &r, PLACEMENT_BEST_FIT, &d, NULL), 0);
    assert_int_equal(d.sm_percent, 75); /* proportional to memory, resolved */
    assert_int_equal(d.memory_gib, 60);
}

static bool refuse_node_0(void *ctx, size_t node, char *reason, size_t size)
{
    (*(int *)ctx)++;
    if (node == 0 && size)
        strncpy(reason, "cordoned", size);
    return node != 0;
}

static void node_rules_apply_and_the_explanation_names_the_mode(void **state)
{
    (void)state;
    struct share_gpu g[4] = {mps_gpu(0), mps_gpu(0), mps_gpu(1),
                             {.node = 1, .mode = SHARE_TIMESLICE, .slots = 4}};
    int asked = 0;
    struct share_request r = mps(10, 0);
    r.where.filter = refuse_node_0;
    r.where.filter_ctx = &asked;
    assert_int_equal(decide(g, 4, r, PLACEMENT_FIRST_FIT), 2);
    assert_int_equal(asked, 2); /* once per node */
    r.where.selector = &zone_a;
    r.where.n_selector = 1;
    struct share_decision d;
    struct err e = {0};
    assert_int_equal(placement_share_decide(g, 4, nodes, &r, PLACEMENT_BEST_FIT, &d, &e), -ENOSPC);
    assert_string_equal(e.msg, "no GPU in mode mps with room for 10 GiB: 1 in another mode, 0 "
                               "held back, 0 without room, 1 on nodes the selector rules out, "
                               "2 on nodes refused: cordoned");
    struct share_request bad = mps(0, 0);
    assert_int_equal(placement_share_decide(g, 4, nodes, &bad, PLACEMENT_BEST_FIT, &d, NULL),
                     -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_server_overhead_comes_off_in_whole_gib),
        cmocka_unit_test(both_dimensions_and_the_client_bound_limit_an_mps_gpu),
        cmocka_unit_test(a_timeslice_gpu_takes_its_replicas),
        cmocka_unit_test(the_policies_score_two_dimensions),
        cmocka_unit_test(node_rules_apply_and_the_explanation_names_the_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
