/*
 * Tests for planner/solve: the MILP against brute force on random small
 * instances (and the greedy for feasibility there), the saturation policies
 * on hand-made candidates, and the candidate rules (replicas, targets,
 * transition penalty, keepAccelerator) through the whole pipeline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "planner/plan_load.h"
#include "planner/solve.h"
#include "plan_fixture.h"

static int load_text(const char *text, struct plan_system *sys)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    struct err e;
    err_clear(&e);
    if (!root)
        fail_msg("does not parse: %s", je.text);
    int rc = plan_load_json(root, "test.json", sys, &e);
    json_decref(root);
    if (rc)
        fail_msg("%s", e.msg);
    return rc;
}

/* ---- brute force ------------------------------------------------------- */

#define MAX_SERVERS 6
#define MAX_GROUPS 3

/* The lexicographic objective: servers served per priority group, most
 * important first (more is better), then the value (less is better). */
struct score {
    int served[MAX_GROUPS];
    double value;
};

static int group_of(const struct plan_system *sys, size_t s)
{
    return sys->classes[sys->servers[s].cls].priority - 1;
}

static bool score_score(const struct plan_system *sys, const struct plan_candidates *cands,
                        const struct plan_choice *choice, struct score *out)
{
    memset(out, 0, sizeof *out);
    long used[8] = {0};
    for (size_t s = 0; s < sys->n_servers; s++) {
        if (choice[s].cand < 0)
            continue;
        const struct plan_candidate *c = &cands[s].c[choice[s].cand];
        assert_int_equal(choice[s].replicas, c->replicas);
        used[sys->accelerators[c->acc].type] += c->units;
        out->served[group_of(sys, s)]++;
        out->value += c->value;
    }
    for (size_t t = 0; t < sys->n_types; t++)
        if (used[t] > sys->types[t].count)
            return false;
    return true;
}

/* <0 when a is better than b. */
static int score_cmp(const struct score *a, const struct score *b)
{
    for (int g = 0; g < MAX_GROUPS; g++)
        if (a->served[g] != b->served[g])
            return a->served[g] > b->served[g] ? -1 : 1;
    if (fabs(a->value - b->value) <= 1e-9 * fmax(1.0, a->value))
        return 0;
    return a->value < b->value ? -1 : 1;
}

static void brute_force(const struct plan_system *sys, const struct plan_candidates *cands, size_t s,
                        struct plan_choice *choice, struct score *best)
{
    if (s == sys->n_servers) {
        struct score sc;
        if (score_score(sys, cands, choice, &sc) && score_cmp(&sc, best) < 0)
            *best = sc;
        return;
    }
    for (int k = -1; k < (int)cands[s].n; k++) {
        choice[s] = (struct plan_choice){k, k < 0 ? 0 : cands[s].c[k].replicas};
        brute_force(sys, cands, s + 1, choice, best);
    }
}

struct rng {
    unsigned long long s;
};

static int rng_below(struct rng *r, int n)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (int)((r->s >> 33) % (unsigned long long)n);
}

/* A random problem: 2-3 accelerator types, one model on each, 3-6 servers
 * in up to 3 priority groups, counts a little short of what they want. */
static char *random_problem(struct rng *r)
{
    static const char *accs[] = {"A", "B", "C"};
    int n_acc = 2 + rng_below(r, 2), n_srv = 3 + rng_below(r, MAX_SERVERS - 2);
    size_t cap = 1 << 14, n = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    n += (size_t)snprintf(t + n, cap - n, "{\"system\": {\"acceleratorData\": {\"accelerators\": [");
    for (int a = 0; a < n_acc; a++)
        n += (size_t)snprintf(t + n, cap - n, "%s{\"name\": \"%s\", \"multiplicity\": %d, \"cost\": %d}",
                              a ? "," : "", accs[a], 1 + rng_below(r, 2), 10 + rng_below(r, 40));
    n += (size_t)snprintf(t + n, cap - n, "]}, \"modelData\": {\"models\": [");
    for (int a = 0; a < n_acc; a++)
        n += (size_t)snprintf(t + n, cap - n,
                              "%s{\"name\": \"m\", \"acc\": \"%s\", \"accCount\": %d, \"maxBatchSize\": %d,"
                              " \"atTokens\": 512, \"decodeParms\": {\"alpha\": %d, \"beta\": 0.%d},"
                              " \"prefillParms\": {\"gamma\": %d, \"delta\": 0.00%d}}",
                              a ? "," : "", accs[a], 1 + rng_below(r, 2), 8 + rng_below(r, 56),
                              5 + rng_below(r, 20), 1 + rng_below(r, 9), 10 + rng_below(r, 40), 1 + rng_below(r, 9));
    n += (size_t)snprintf(t + n, cap - n, "]}, \"serviceClassData\": {\"serviceClasses\": [");
    for (int g = 0; g < MAX_GROUPS; g++)
        n += (size_t)snprintf(t + n, cap - n,
                              "%s{\"name\": \"c%d\", \"priority\": %d, \"modelTargets\": [{\"model\": \"m\","
                              " \"slo-itl\": %d, \"slo-ttft\": %d}]}",
                              g ? "," : "", g, g + 1, 40 + 20 * g, 1000 + 500 * g);
    n += (size_t)snprintf(t + n, cap - n, "]}, \"serverData\": {\"servers\": [");
    for (int s = 0; s < n_srv; s++)
        n += (size_t)snprintf(t + n, cap - n,
                              "%s{\"name\": \"s%d\", \"class\": \"c%d\", \"model\": \"m\", \"currentAlloc\":"
                              " {\"load\": {\"arrivalRate\": %d, \"avgInTokens\": 256, \"avgOutTokens\": 128}}}",
                              s ? "," : "", s, rng_below(r, MAX_GROUPS), 30 + rng_below(r, 600));
    n += (size_t)snprintf(t + n, cap - n, "]}, \"capacityData\": {\"count\": [");
    for (int a = 0; a < n_acc; a++)
        n += (size_t)snprintf(t + n, cap - n, "%s{\"type\": \"%s\", \"count\": %d}", a ? "," : "", accs[a],
                              rng_below(r, 4 * n_srv));
    snprintf(t + n, cap - n, "]}}}");
    return t;
}

static void milp_matches_brute_force(void **state)
{
    (void)state;
    struct rng r = {12345};
    int greedy_optimal = 0, instances = 300;
    for (int i = 0; i < instances; i++) {
        char *text = random_problem(&r);
        struct plan_system sys;
        load_text(text, &sys);
        struct plan_candidates *cands;
        assert_int_equal(plan_candidates_build(&sys, &cands, NULL), 0);
        struct plan_choice work[MAX_SERVERS], milp[MAX_SERVERS], greedy[MAX_SERVERS];
        struct score best = {.value = INFINITY}, got;
        for (int g = 0; g < MAX_GROUPS; g++)
            best.served[g] = -1;
        brute_force(&sys, cands, 0, work, &best);
        bool optimal;
        assert_int_equal(plan_solve_milp(&sys, cands, milp, &optimal, NULL), 0);
        assert_true(optimal);
        assert_true(score_score(&sys, cands, milp, &got));
        if (score_cmp(&got, &best) != 0)
            fail_msg("instance %d: milp served %d/%d/%d value %g, brute force %d/%d/%d value %g\n%s", i,
                     got.served[0], got.served[1], got.served[2], got.value, best.served[0], best.served[1],
                     best.served[2], best.value, text);
        assert_int_equal(plan_solve_greedy(&sys, cands, greedy, NULL), 0);
        assert_true(score_score(&sys, cands, greedy, &got)); /* within capacity */
        assert_true(score_cmp(&got, &best) >= 0);            /* never better than optimal */
        greedy_optimal += score_cmp(&got, &best) == 0;
        plan_candidates_free(cands, sys.n_servers);
        plan_system_free(&sys);
        free(text);
    }
    printf("# greedy optimal on %d of %d random instances\n", greedy_optimal, instances);
    assert_true(greedy_optimal > instances / 2);
}

/* Unlimited: each server alone, its cheapest candidate. */
static void unlimited_takes_the_cheapest(void **state)
{
    (void)state;
    struct rng r = {99};
    for (int i = 0; i < 50; i++) {
        char *text = random_problem(&r);
        struct plan_system sys;
        load_text(text, &sys);
        struct plan_candidates *cands;
        assert_int_equal(plan_candidates_build(&sys, &cands, NULL), 0);
        struct plan_choice choice[MAX_SERVERS];
        plan_solve_unlimited(&sys, cands, choice);
        for (size_t s = 0; s < sys.n_servers; s++) {
            if (cands[s].n == 0) {
                assert_int_equal(choice[s].cand, -1);
                continue;
            }
            for (size_t k = 0; k < cands[s].n; k++)
                assert_true(cands[s].c[choice[s].cand].value <= cands[s].c[k].value);
        }
        plan_candidates_free(cands, sys.n_servers);
        plan_system_free(&sys);
        free(text);
    }
}

/* ---- saturation on hand-made candidates -------------------------------- */

static struct plan_class hand_classes[] = {{.name = (char *)"hi", .priority = 1}, {.name = (char *)"lo", .priority = 2}};
static struct plan_accelerator hand_accs[] = {{.name = (char *)"g", .type = 0, .multiplicity = 1, .cost = 1}};

/* Servers needing `need` one-unit replicas each, in the given classes, on
 * one type with `count` units. */
static void hand_system(struct plan_system *sys, struct plan_type *type, struct plan_server *servers,
                        struct plan_candidates *cands, struct plan_candidate *c, const int *cls, const int *need,
                        size_t n, long count)
{
    *type = (struct plan_type){.name = (char *)"G", .count = count};
    *sys = (struct plan_system){.accelerators = hand_accs, .n_accelerators = 1, .types = type, .n_types = 1,
                                .classes = hand_classes, .n_classes = 2, .servers = servers, .n_servers = n};
    for (size_t s = 0; s < n; s++) {
        servers[s] = (struct plan_server){.name = (char *)"s", .cls = cls[s]};
        c[s] = (struct plan_candidate){.acc = 0, .replicas = need[s], .units = need[s], .cost = need[s],
                                       .value = need[s]};
        cands[s] = (struct plan_candidates){.c = &c[s], .n = 1};
    }
}

static void saturate(const int *cls, const int *need, size_t n, long count, enum plan_saturation policy,
                     const int *want)
{
    struct plan_system sys;
    struct plan_type type;
    struct plan_server servers[4];
    struct plan_candidates cands[4];
    struct plan_candidate c[4];
    struct plan_choice choice[4];
    hand_system(&sys, &type, servers, cands, c, cls, need, n, count);
    assert_int_equal(plan_solve_greedy(&sys, cands, choice, NULL), 0);
    assert_int_equal(plan_saturate(&sys, cands, policy, choice, NULL), 0);
    for (size_t s = 0; s < n; s++)
        if (choice[s].replicas != want[s] || (want[s] == 0) != (choice[s].cand < 0))
            fail_msg("%s: server %zu has %d replicas (cand %d), want %d", plan_saturation_name(policy), s,
                     choice[s].replicas, choice[s].cand, want[s]);
}

/* Two servers of one group need 4 each; 3 units are left. */
static void saturation_within_a_group(void **state)
{
    (void)state;
    const int cls[] = {1, 1}, need[] = {4, 4};
    saturate(cls, need, 2, 3, PLAN_SAT_NONE, (const int[]){0, 0});
    saturate(cls, need, 2, 3, PLAN_SAT_PRIORITY_EXHAUSTIVE, (const int[]){3, 0});
    saturate(cls, need, 2, 3, PLAN_SAT_PRIORITY_ROUND_ROBIN, (const int[]){2, 1});
    saturate(cls, need, 2, 3, PLAN_SAT_ROUND_ROBIN, (const int[]){2, 1});
}

/* A server of each group needs 6; 5 units. */
static void saturation_across_groups(void **state)
{
    (void)state;
    const int cls[] = {1, 0}, need[] = {6, 6}; /* the second server is the important one */
    saturate(cls, need, 2, 5, PLAN_SAT_NONE, (const int[]){0, 0});
    saturate(cls, need, 2, 5, PLAN_SAT_PRIORITY_EXHAUSTIVE, (const int[]){0, 5});
    saturate(cls, need, 2, 5, PLAN_SAT_PRIORITY_ROUND_ROBIN, (const int[]){0, 5});
    saturate(cls, need, 2, 5, PLAN_SAT_ROUND_ROBIN, (const int[]){2, 3});
}

/* The greedy serves the important group first even when it costs more. */
static void greedy_serves_priority_first(void **state)
{
    (void)state;
    const int cls[] = {1, 1, 0}, need[] = {2, 2, 4};
    saturate(cls, need, 3, 5, PLAN_SAT_NONE, (const int[]){0, 0, 4});
}

/* ---- the optimizer's greedy (compatible model) -------------------------- */

static struct plan_accelerator two_accs[] = {{.name = (char *)"a", .type = 0, .multiplicity = 1, .cost = 1},
                                             {.name = (char *)"b", .type = 1, .multiplicity = 1, .cost = 1}};

/* Servers of one class with candidates on type 0 then type 1 (4 units
 * each) at the costs given; type 0 has room for one, type 1 for `room1`. */
static void compat_greedy(const double (*cost)[2], size_t n, long room1, const int *want)
{
    struct plan_type types[] = {{.name = (char *)"A", .count = 4}, {.name = (char *)"B", .count = room1}};
    struct plan_server servers[4];
    struct plan_candidates cands[4];
    struct plan_candidate c[4][2];
    struct plan_choice choice[4];
    struct plan_system sys = {.accelerators = two_accs, .n_accelerators = 2, .types = types, .n_types = 2,
                              .classes = hand_classes, .n_classes = 2, .servers = servers, .n_servers = n};
    for (size_t s = 0; s < n; s++) {
        servers[s] = (struct plan_server){.name = (char *)"s", .cls = 0};
        for (int k = 0; k < 2; k++)
            c[s][k] = (struct plan_candidate){.acc = k, .replicas = 4, .units = 4, .cost = cost[s][k],
                                              .value = cost[s][k]};
        cands[s] = (struct plan_candidates){.c = c[s], .n = 2};
    }
    assert_int_equal(plan_solve_greedy_compat(&sys, cands, choice, NULL), 0);
    for (size_t s = 0; s < n; s++)
        if (choice[s].cand != want[s])
            fail_msg("server %zu took candidate %d, want %d", s, choice[s].cand, want[s]);
}

/* The server that would lose most by stepping down goes first; on equal
 * regrets the dearer; one that runs out of candidates is left out. */
static void compat_greedy_goes_by_regret(void **state)
{
    (void)state;
    compat_greedy((const double[][2]){{10, 11}, {10, 30}}, 2, 4, (const int[]){1, 0});
    compat_greedy((const double[][2]){{10, 30}, {10, 11}}, 2, 4, (const int[]){0, 1});
    compat_greedy((const double[][2]){{10, 20}, {12, 22}}, 2, 4, (const int[]){1, 0});
    compat_greedy((const double[][2]){{10, 20}, {10, 20}}, 2, 4, (const int[]){0, 1}); /* input order */
    compat_greedy((const double[][2]){{10, 11}, {10, 30}}, 2, 0, (const int[]){-1, 0});
}

/* ---- candidates through the pipeline ----------------------------------- */

static void solve_text(const char *text, struct plan_system *sys, struct plan_result *r)
{
    load_text(text, sys);
    struct err e;
    err_clear(&e);
    if (plan_solve(sys, r, &e))
        fail_msg("%s", e.msg);
}

static void fixture_plan(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result r;
    solve_text(PLAN_FIXTURE, &sys, &r);
    assert_string_equal(r.solver, "greedy");
    double total = 0;
    for (size_t s = 0; s < r.n_servers; s++) {
        const struct plan_server_result *sr = &r.servers[s];
        assert_int_equal(sr->status, PLAN_OK);
        assert_true(sr->alloc.itl_ms <= sys.servers[s].target->itl_ms);
        assert_true(sr->alloc.ttft_ms <= sys.servers[s].target->ttft_ms);
        assert_true(sr->utilisation > 0 && sr->utilisation <= 0.95 + 1e-9);
        total += sr->alloc.cost;
    }
    assert_true(fabs(total - r.total_cost) < 1e-9);
    plan_result_free(&r);
    plan_system_free(&sys);
}

/* Replicas follow the load: a hundred times the traffic, about a hundred
 * times the replicas (without capacity limits), and never fewer than
 * minNumReplicas. */
static void replicas_follow_load(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result one, many;
    char *unlimited = fixture_edit(PLAN_FIXTURE, "\"unlimited\": false", "\"unlimited\": true");
    solve_text(unlimited, &sys, &one);
    double per_replica = 600.0 / one.servers[1].alloc.replicas / one.servers[1].utilisation;
    plan_system_free(&sys);
    char *text = fixture_edit(unlimited, "\"arrivalRate\": 600", "\"arrivalRate\": 60000");
    solve_text(text, &sys, &many);
    /* The same accelerator at up to 95% of its peak per replica. */
    assert_int_equal(many.servers[1].alloc.acc, one.servers[1].alloc.acc);
    assert_int_equal(many.servers[1].alloc.replicas, (int)ceil(60000.0 / (0.95 * per_replica)));
    plan_system_free(&sys);
    free(text);
    free(unlimited);
    text = fixture_edit(PLAN_FIXTURE, "{\"name\": \"b\",", "{\"name\": \"b\", \"minNumReplicas\": 7,");
    struct plan_result min;
    solve_text(text, &sys, &min);
    assert_int_equal(min.servers[1].alloc.replicas, 7);
    plan_result_free(&one);
    plan_result_free(&many);
    plan_result_free(&min);
    plan_system_free(&sys);
    free(text);
}

/* A throughput target needs replicas for that many tokens per second. */
static void tps_target_adds_replicas(void **state)
{
    (void)state;
    char *text = fixture_edit(PLAN_FIXTURE, "\"slo-itl\": 80, \"slo-ttft\": 2000", "\"slo-tps\": 20000");
    struct plan_system sys;
    struct plan_result r;
    solve_text(text, &sys, &r);
    const struct plan_server_result *b = &r.servers[1];
    assert_int_equal(b->status, PLAN_OK);
    /* 600 req/min of 512 tokens is 5,120 tokens/s; 20,000 is about 4x the
     * load, but without latency targets replicas run fuller. */
    struct plan_result base;
    struct plan_system sys0;
    solve_text(PLAN_FIXTURE, &sys0, &base);
    assert_true(b->alloc.replicas >= 2 * base.servers[1].alloc.replicas);
    assert_true(b->utilisation <= 0.95 + 1e-9);
    plan_result_free(&r);
    plan_result_free(&base);
    plan_system_free(&sys);
    plan_system_free(&sys0);
    free(text);
}

static void unreachable_target_is_infeasible(void **state)
{
    (void)state;
    char *text = fixture_edit(PLAN_FIXTURE, "\"slo-itl\": 40", "\"slo-itl\": 5");
    struct plan_system sys;
    struct plan_result r;
    solve_text(text, &sys, &r);
    assert_int_equal(r.servers[0].status, PLAN_INFEASIBLE);
    assert_int_equal(r.servers[0].alloc.acc, -1);
    assert_string_equal(r.servers[0].reason,
                        "no accelerator meets the targets: A100: ITL target 5 ms is below the ITL of a lone "
                        "request (12.08 ms); H100-3g: ITL target 5 ms is below the ITL of a lone request (18.2 ms)");
    assert_int_equal(r.servers[1].status, PLAN_OK);
    plan_result_free(&r);
    plan_system_free(&sys);
    free(text);
}

static void capacity_shortage_is_reported(void **state)
{
    (void)state;
    char *a = fixture_edit(PLAN_FIXTURE, "{\"type\": \"A100-80GB\", \"count\": 8}", "{\"type\": \"A100-80GB\", \"count\": 0}");
    char *b = fixture_edit(a, "{\"type\": \"H100-80GB/3g.40gb\", \"count\": 8}", "{\"type\": \"H100-80GB/3g.40gb\", \"count\": 1}");
    struct plan_system sys;
    struct plan_result r;
    solve_text(b, &sys, &r);
    assert_int_equal(r.servers[0].status, PLAN_OK); /* Premium first */
    assert_int_equal(r.servers[1].status, PLAN_UNALLOCATED);
    assert_non_null(strstr(r.servers[1].reason, "not enough capacity: its cheapest option"));
    assert_int_equal(r.used[1], 1);
    plan_result_free(&r);
    plan_system_free(&sys);
    free(a);
    free(b);
}

/* Server p runs on A100 today. Without a penalty it moves to the cheaper
 * slice; with one (or keepAccelerator) it stays. */
static void transition_penalty_and_keep(void **state)
{
    (void)state;
    struct plan_system sys;
    struct plan_result r;
    solve_text(PLAN_FIXTURE, &sys, &r);
    assert_string_equal(sys.accelerators[r.servers[0].alloc.acc].name, "H100-3g");
    plan_result_free(&r);
    plan_system_free(&sys);
    char *text = fixture_edit(PLAN_FIXTURE, "\"unlimited\": false", "\"unlimited\": false, \"transitionPenalty\": 1");
    solve_text(text, &sys, &r);
    assert_string_equal(sys.accelerators[r.servers[0].alloc.acc].name, "A100");
    plan_result_free(&r);
    plan_system_free(&sys);
    free(text);
    text = fixture_edit(PLAN_FIXTURE, "{\"name\": \"p\",", "{\"name\": \"p\", \"keepAccelerator\": true,");
    solve_text(text, &sys, &r);
    assert_string_equal(sys.accelerators[r.servers[0].alloc.acc].name, "A100");
    plan_result_free(&r);
    plan_system_free(&sys);
    free(text);
}


/* ---- MIG slices share their GPUs --------------------------------------- */

/* Whole H100s and two slice profiles cut from them: w needs one whole GPU
 * (priority 1), s3 three 3g.40gb slices and s1 SLICES 1g.10gb slices
 * (priority 2), on a cluster of GPUS H100s (type TYPE: "H100-80GB" makes
 * one pool; another name leaves the slice types pools of their own, with
 * the free placements of an empty H100 each). */
static char *shared_gpus(const char *type, int gpus, int slices, bool milp)
{
    const char *perf = "\"accCount\": 1, \"maxBatchSize\": 8, \"atTokens\": 512, \"decodeParms\": {\"alpha\": 10, "
                       "\"beta\": 0.1}, \"prefillParms\": {\"gamma\": 10, \"delta\": 0.001}";
    const char *load = "\"load\": {\"arrivalRate\": 1, \"avgInTokens\": 64, \"avgOutTokens\": 64}";
    const char *targets = "[{\"model\": \"big\", \"slo-itl\": 0}, {\"model\": \"mid\", \"slo-itl\": 0},"
                          " {\"model\": \"small\", \"slo-itl\": 0}]";
    char placements[256] = ""; /* a pool's slice types need no count of their own */
    if (strcmp(type, "H100-80GB") != 0)
        snprintf(placements, sizeof placements,
                 ", {\"type\": \"%s/3g.40gb\", \"count\": %d}, {\"type\": \"%s/1g.10gb\", \"count\": %d}", type,
                 2 * gpus, type, 7 * gpus);
    char *text = malloc(8192);
    assert_non_null(text);
    snprintf(text, 8192,
             "{\"system\": {\"acceleratorData\": {\"accelerators\": ["
             " {\"name\": \"H100\", \"type\": \"%s\", \"cost\": 65},"
             " {\"name\": \"H100-3g\", \"type\": \"%s/3g.40gb\", \"gpuModel\": \"H100-80GB\", \"migProfile\": \"3g.40gb\", \"cost\": 28},"
             " {\"name\": \"H100-1g\", \"type\": \"%s/1g.10gb\", \"gpuModel\": \"H100-80GB\", \"migProfile\": \"1g.10gb\", \"cost\": 10}]},"
             " \"modelData\": {\"models\": [{\"name\": \"big\", \"acc\": \"H100\", %s},"
             "  {\"name\": \"mid\", \"acc\": \"H100-3g\", %s}, {\"name\": \"small\", \"acc\": \"H100-1g\", %s}]},"
             " \"serviceClassData\": {\"serviceClasses\": [{\"name\": \"hi\", \"priority\": 1, \"modelTargets\": %s},"
             "  {\"name\": \"lo\", \"priority\": 2, \"modelTargets\": %s}]},"
             " \"serverData\": {\"servers\": ["
             "  {\"name\": \"w\", \"class\": \"hi\", \"model\": \"big\", \"currentAlloc\": {%s}},"
             "  {\"name\": \"s3\", \"class\": \"lo\", \"model\": \"mid\", \"minNumReplicas\": 3, \"currentAlloc\": {%s}},"
             "  {\"name\": \"s1\", \"class\": \"lo\", \"model\": \"small\", \"minNumReplicas\": %d, \"currentAlloc\": {%s}}]},"
             " \"capacityData\": {\"count\": [{\"type\": \"%s\", \"count\": %d}%s]},"
             " \"optimizerData\": {\"optimizer\": {\"model\": \"gpuslice\", \"milpSolver\": %s}}}}",
             type, type, type, perf, perf, perf, targets, targets, load, load, slices, load, type, gpus, placements, milp ? "true" : "false");
    return text;
}

static void shared_statuses(const char *type, int gpus, int slices, bool milp, const enum plan_status *want)
{
    char *text = shared_gpus(type, gpus, slices, milp);
    struct plan_system sys;
    struct plan_result r;
    solve_text(text, &sys, &r);
    for (size_t s = 0; s < 3; s++) {
        if (r.servers[s].status != want[s])
            fail_msg("%s, %d GPUs, %s: %s is %s, not %s (%s)", type, gpus, milp ? "milp" : "greedy",
                     sys.servers[s].name, plan_status_name(r.servers[s].status), plan_status_name(want[s]),
                     r.servers[s].reason);
    }
    plan_result_free(&r);
    plan_system_free(&sys);
    free(text);
}

/* Two H100s: one used whole leaves one GPU, which holds two 3g.40gb, not
 * three, so s3 cannot be served; s1's two 1g.10gb fit beside. Counted as
 * separate pools (each type with an empty GPU's placements per GPU) the
 * same cluster seems to hold all three: 1 whole + 3 x 3g + 2 x 1g, which
 * needs three GPUs. */
static void slices_share_their_gpus(void **state)
{
    (void)state;
    const enum plan_status joint[] = {PLAN_OK, PLAN_UNALLOCATED, PLAN_OK};
    const enum plan_status separate[] = {PLAN_OK, PLAN_OK, PLAN_OK};
    for (int milp = 0; milp < 2; milp++) {
        shared_statuses("H100-80GB", 2, 2, milp, joint);
        shared_statuses("gpu", 2, 2, milp, separate); /* the over-allocation */
    }
    /* Three GPUs: one whole, 3g + 3g on the second, and on the third a 3g
     * at start 4 and four 1g at 0-3 (a 3g at 0 would leave room for three) ... */
    const enum plan_status all[] = {PLAN_OK, PLAN_OK, PLAN_OK};
    const enum plan_status no_s1[] = {PLAN_OK, PLAN_OK, PLAN_UNALLOCATED};
    const enum plan_status no_s3[] = {PLAN_OK, PLAN_UNALLOCATED, PLAN_OK};
    for (int milp = 0; milp < 2; milp++)
        shared_statuses("H100-80GB", 3, 4, milp, all);
    /* ... but not a fifth: one of s3 and s1 goes without. The greedy
     * serves s3 first (its larger regret), the MILP the cheaper s1 (5 x 10
     * an hour against 3 x 28). */
    shared_statuses("H100-80GB", 3, 5, false, no_s1);
    shared_statuses("H100-80GB", 3, 5, true, no_s3);
}

/* The room itself: GPUs the slices take, replicas that fit, weights. */
static void room_counts_gpus(void **state)
{
    (void)state;
    char *text = shared_gpus("H100-80GB", 3, 1, false);
    struct plan_system sys;
    load_text(text, &sys);
    struct plan_room room;
    plan_room_init(&room, &sys);
    int whole = 0, g3 = 1, g1 = 2; /* types in the order the accelerators name them */
    assert_int_equal(room.pool[g3], whole);
    plan_room_take(&room, g3, 3);
    plan_room_take(&room, g1, 4);
    assert_int_equal(plan_room_sliced_gpus(&room, whole, 3), 2);
    assert_int_equal(plan_room_sliced_gpus(&room, whole, 1), -1);
    assert_true(plan_room_fits(&room, whole, 1));
    assert_false(plan_room_fits(&room, whole, 2));
    assert_true(plan_room_fits(&room, g1, 1)); /* on the third GPU, while it is not used whole */
    plan_room_take(&room, whole, 1);
    assert_false(plan_room_fits(&room, g1, 1));
    plan_room_take(&room, whole, -1);
    assert_int_equal(plan_room_fit_count(&room, whole, 1, 5), 1);
    assert_true(plan_room_holds_all(&room));
    assert_true(plan_room_weight(&room, g3) == 0.5 && plan_room_weight(&room, whole) == 1.0);
    struct plan_room copy;
    plan_room_init(&copy, &sys);
    plan_room_copy(&copy, &room);
    plan_room_take(&copy, whole, 2);
    assert_false(plan_room_holds_all(&copy));
    plan_room_clear(&copy);
    assert_true(plan_room_holds_all(&copy));
    plan_room_free(&copy);
    plan_room_free(&room);
    plan_system_free(&sys);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(milp_matches_brute_force),
        cmocka_unit_test(unlimited_takes_the_cheapest),
        cmocka_unit_test(saturation_within_a_group),
        cmocka_unit_test(saturation_across_groups),
        cmocka_unit_test(greedy_serves_priority_first),
        cmocka_unit_test(compat_greedy_goes_by_regret),
        cmocka_unit_test(fixture_plan),
        cmocka_unit_test(replicas_follow_load),
        cmocka_unit_test(tps_target_adds_replicas),
        cmocka_unit_test(unreachable_target_is_infeasible),
        cmocka_unit_test(capacity_shortage_is_reported),
        cmocka_unit_test(transition_penalty_and_keep),
        cmocka_unit_test(slices_share_their_gpus),
        cmocka_unit_test(room_counts_gpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
