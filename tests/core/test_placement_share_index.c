/*
 * Tests for core/placement_share_index: over long random histories of
 * shared GPUs (mps GPUs of three capacities, timeslice GPUs of two replica
 * counts, clients coming and going, GPUs held back and let go, counters
 * past the room), the index stays what a build from the array gives and
 * chooses exactly what placement_share_decide's full scan chooses, under
 * every policy, with node rules that refuse some nodes or all; a node's
 * rules are asked once a decision; and a capacity past the index's bound
 * is refused at build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/placement_share_index.h"

#define NODES 40
#define GPUS_PER_NODE 5
#define GPUS (NODES * GPUS_PER_NODE)
#define STEPS 4000

static const struct placement_label zone_a = {"zone", "a"};

static uint32_t rnd(uint64_t *rng, uint32_t n)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*rng >> 33) % n);
}

/* Nodes: every third in zone a. */
static void make_nodes(struct placement_node *nodes, char (*names)[16])
{
    for (size_t i = 0; i < NODES; i++) {
        snprintf(names[i], sizeof names[i], "node-%zu", i);
        nodes[i] = (struct placement_node){names[i], i % 3 == 0 ? &zone_a : NULL, i % 3 == 0};
    }
}

/* How a history draws: sparse (three mps capacities, any sizes: GPUs
 * spread over many cells) or dense (one mps capacity, coarse sizes: many
 * cells of a row in use, many GPUs a cell, many equal keys). */
struct kind {
    unsigned n_caps, gib_max, sm_step;
};

static const struct kind sparse = {3, 30, 1}, dense = {1, 8, 10};

/* A random shared GPU on node: mps of 23, 39 or 79 GiB, or timeslice of
 * 4 or 7 replicas. */
static struct share_gpu random_gpu(uint64_t *rng, const struct kind *k, size_t node)
{
    static const unsigned caps[] = {23, 39, 79};
    struct share_gpu g = {.node = node};
    if (rnd(rng, 4)) {
        g.mode = SHARE_MPS;
        g.capacity_gib = caps[rnd(rng, k->n_caps)];
        g.slots = PLACEMENT_SHARE_MPS_CLIENTS_MAX;
    } else {
        g.mode = SHARE_TIMESLICE;
        g.slots = rnd(rng, 2) ? 4 : 7;
    }
    return g;
}

/* A client held on a GPU, to release later. */
struct held {
    size_t gpu;
    unsigned gib, sm;
};

static struct share_request random_request(uint64_t *rng, const struct kind *k)
{
    if (rnd(rng, 5) == 0)
        return (struct share_request){.mode = SHARE_TIMESLICE};
    unsigned sm = k->sm_step * (1 + rnd(rng, 60 / k->sm_step));
    return (struct share_request){.mode = SHARE_MPS, .memory_gib = 1 + rnd(rng, k->gib_max),
                                  .sm_percent = rnd(rng, 3) ? 0 : sm};
}

/* Refuses the nodes whose bit is set in *ctx (a mask over node % 64). */
static bool refuse_masked(void *ctx, size_t node, char *reason, size_t size)
{
    (void)reason;
    (void)size;
    return !((*(uint64_t *)ctx >> (node % 64)) & 1);
}

/* Node rules of a random kind: none, a selector, a filter refusing a few
 * nodes, or one refusing all but one. */
static void random_where(uint64_t *rng, struct share_request *r, uint64_t *mask)
{
    switch (rnd(rng, 4)) {
    case 1:
        r->where.selector = &zone_a;
        r->where.n_selector = 1;
        break;
    case 2:
        *mask = 0;
        for (int k = 0; k < 6; k++)
            *mask |= 1ull << rnd(rng, NODES);
        r->where.filter = refuse_masked;
        r->where.filter_ctx = mask;
        break;
    case 3:
        *mask = ~(1ull << rnd(rng, NODES));
        r->where.filter = refuse_masked;
        r->where.filter_ctx = mask;
        break;
    default:
        break;
    }
}

static void check_index(const struct share_index *ix, const struct share_gpu *gpus, size_t step)
{
    struct err e = {0};
    if (placement_share_index_check(ix, gpus, GPUS, &e) != 0)
        fail_msg("step %zu: %s", step, e.msg);
}

/* The indexed decision equals the scan's, return code and GPU and SMs. */
static void same_choice(struct share_index *ix, const struct share_gpu *gpus,
                        const struct placement_node *nodes, const struct share_request *r,
                        size_t step)
{
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++) {
        struct share_decision x = {0}, y = {0};
        struct err ex = {0}, ey = {0};
        int rx = placement_share_decide_indexed(ix, gpus, GPUS, nodes, r,
                                                (enum placement_policy)pol, &x, &ex);
        int ry = placement_share_decide(gpus, GPUS, nodes, r, (enum placement_policy)pol, &y, &ey);
        if (rx != ry || x.gpu != y.gpu || x.sm_percent != y.sm_percent ||
            strcmp(ex.msg, ey.msg) != 0)
            fail_msg("step %zu: %s %u GiB %u%% under %s: index %d gpu %zu, scan %d gpu %zu (%s)",
                     step, placement_share_mode_name(r->mode), r->memory_gib, r->sm_percent,
                     placement_policy_name((enum placement_policy)pol), rx, x.gpu, ry, y.gpu,
                     ey.msg);
    }
}

/* One random change to the GPUs, told to the index: a client placed by a
 * random policy (or pinned anywhere, even past the room), one released,
 * or a GPU held back or let go. */
static void random_change(uint64_t *rng, const struct kind *k, struct share_index *ix,
                          struct share_gpu *gpus,
                          const struct placement_node *nodes, struct held *held, size_t *n_held)
{
    uint32_t what = rnd(rng, 10);
    size_t g;
    if (what < 5 || *n_held == 0) {
        struct share_request r = random_request(rng, k);
        struct share_decision d;
        enum placement_policy pol = (enum placement_policy)rnd(rng, PLACEMENT_POLICY_COUNT);
        if (placement_share_decide_indexed(ix, gpus, GPUS, nodes, &r, pol, &d, NULL) != 0)
            return;
        g = d.gpu;
        held[(*n_held)++] = (struct held){g, d.memory_gib, d.sm_percent};
    } else if (what < 8) {
        size_t h = rnd(rng, (uint32_t)*n_held);
        g = held[h].gpu;
        placement_share_release(&gpus[g], held[h].gib, held[h].sm);
        held[h] = held[--*n_held];
        placement_share_index_update(ix, gpus, g);
        return;
    } else if (what < 9) {
        g = rnd(rng, GPUS);
        gpus[g].held_back = !gpus[g].held_back;
        placement_share_index_update(ix, gpus, g);
        return;
    } else {
        /* A client the API shows, wherever it is: may overfill the GPU. */
        g = rnd(rng, GPUS);
        unsigned gib = gpus[g].mode == SHARE_MPS ? 1 + rnd(rng, k->gib_max) : 0;
        unsigned sm = gpus[g].mode == SHARE_MPS ? k->sm_step * rnd(rng, 40 / k->sm_step) : 0;
        held[(*n_held)++] = (struct held){g, gib, sm};
    }
    placement_share_take(&gpus[g], held[*n_held - 1].gib, held[*n_held - 1].sm);
    placement_share_index_update(ix, gpus, g);
}

static void random_histories_choose_what_the_scan_chooses(void **state)
{
    (void)state;
    struct placement_node nodes[NODES];
    char names[NODES][16];
    make_nodes(nodes, names);
    for (uint64_t seed = 1; seed <= 6; seed++) {
        const struct kind *k = seed <= 3 ? &sparse : &dense;
        uint64_t rng = seed;
        struct share_gpu gpus[GPUS];
        for (size_t i = 0; i < GPUS; i++)
            gpus[i] = random_gpu(&rng, k, i / GPUS_PER_NODE);
        struct share_index *ix = NULL;
        assert_int_equal(placement_share_index_build(gpus, GPUS, &ix, NULL), 0);
        struct held *held = calloc(STEPS * 2, sizeof *held);
        size_t n_held = 0;
        for (size_t step = 0; step < STEPS; step++) {
            random_change(&rng, k, ix, gpus, nodes, held, &n_held);
            check_index(ix, gpus, step);
            struct share_request r = random_request(&rng, k);
            uint64_t mask = 0;
            random_where(&rng, &r, &mask);
            same_choice(ix, gpus, nodes, &r, step);
        }
        free(held);
        placement_share_index_free(ix);
    }
}

static void an_index_built_late_equals_one_kept_up(void **state)
{
    (void)state;
    uint64_t rng = 99;
    struct share_gpu gpus[GPUS];
    for (size_t i = 0; i < GPUS; i++) {
        gpus[i] = random_gpu(&rng, &sparse, i / GPUS_PER_NODE);
        if (gpus[i].mode == SHARE_MPS && rnd(&rng, 2))
            placement_share_take(&gpus[i], 1 + rnd(&rng, 20), rnd(&rng, 50));
    }
    struct share_index *ix = NULL;
    assert_int_equal(placement_share_index_build(gpus, GPUS, &ix, NULL), 0);
    check_index(ix, gpus, 0);
    /* A change it was not told of is found. */
    size_t g = 0;
    while (gpus[g].mode != SHARE_MPS)
        g++;
    placement_share_take(&gpus[g], 1, 1);
    struct err e = {0};
    assert_int_equal(placement_share_index_check(ix, gpus, GPUS, &e), -EINVAL);
    placement_share_index_update(ix, gpus, g);
    check_index(ix, gpus, 1);
    placement_share_index_free(ix);
}

static bool refuse_and_count(void *ctx, size_t node, char *reason, size_t size)
{
    (void)node;
    (void)reason;
    (void)size;
    (*(int *)ctx)++;
    return false;
}

/* A walk that meets a node's GPUs apart (in key order they alternate
 * between nodes) asks each node once; the explanation's pass once more. */
static void each_node_is_asked_once_a_decision(void **state)
{
    (void)state;
    struct placement_node nodes[2] = {{"node-0", NULL, 0}, {"node-1", NULL, 0}};
    struct share_gpu gpus[6];
    for (size_t i = 0; i < 6; i++) {
        gpus[i] = (struct share_gpu){.node = i / 3, .mode = SHARE_MPS, .capacity_gib = 79,
                                     .slots = PLACEMENT_SHARE_MPS_CLIENTS_MAX};
        placement_share_take(&gpus[i], 10 + 20 * (unsigned)(i % 3) + 10 * (unsigned)(i / 3), 1);
    }
    struct share_index *ix = NULL;
    assert_int_equal(placement_share_index_build(gpus, 6, &ix, NULL), 0);
    int asked = 0;
    struct share_request r = {.mode = SHARE_MPS, .memory_gib = 1,
                              .where = {.filter = refuse_and_count, .filter_ctx = &asked}};
    struct share_decision d;
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++) {
        asked = 0;
        assert_int_equal(placement_share_decide_indexed(ix, gpus, 6, nodes, &r,
                                                        (enum placement_policy)pol, &d, NULL),
                         -ENOSPC);
        assert_int_equal(asked, 4);
    }
    placement_share_index_free(ix);
}

static void a_capacity_past_the_bound_is_refused(void **state)
{
    (void)state;
    struct share_gpu g = {.mode = SHARE_MPS, .slots = 48,
                          .capacity_gib = PLACEMENT_SHARE_INDEX_CAPACITY_MAX + 1};
    struct share_index *ix = (struct share_index *)&g;
    struct err e = {0};
    assert_int_equal(placement_share_index_build(&g, 1, &ix, &e), -E2BIG);
    assert_null(ix);
    assert_non_null(strstr(e.msg, "the share index takes at most"));
    placement_share_index_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_histories_choose_what_the_scan_chooses),
        cmocka_unit_test(an_index_built_late_equals_one_kept_up),
        cmocka_unit_test(each_node_is_asked_once_a_decision),
        cmocka_unit_test(a_capacity_past_the_bound_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
