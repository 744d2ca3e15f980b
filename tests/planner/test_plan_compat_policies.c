/*
 * The saturation policies and the transition penalty in the compatible
 * model (the default on the optimizer's files), on inputs cut from the
 * optimizer's published sample (samples/planner/inferno-small): every
 * expected replica count, cost and unserved load is worked out by hand in
 * the comments from the candidates the model gives each server. argv[1] is
 * the samples/planner directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "planner/plan_load.h"
#include "planner/plan_output.h"
#include "planner/solve.h"

static const char *samples;

/* The sample bundled in one document (the caller owns it). */
static json_t *sample(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/inferno-small/system-data.json", samples);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        fail_msg("%s: %s", path, je.text);
    return root;
}

static json_t *section(json_t *root, const char *key, const char *inner)
{
    return json_object_get(json_object_get(json_object_get(root, "system"), key), inner);
}

static json_t *server_named(json_t *root, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(section(root, "serverData", "servers"), i, s)
        if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
            return s;
    fail_msg("no server %s in the sample", name);
    return NULL;
}

static void plan_doc(const json_t *root, struct plan_system *sys, struct plan_result *r)
{
    struct err e;
    err_clear(&e);
    if (plan_load_json(root, "inferno-small (cut)", sys, &e) || plan_solve(sys, r, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(sys->options.model, PLAN_MODEL_COMPATIBLE); /* the default: no "model" key */
    assert_string_equal(r->solver, "greedy");
}

static size_t server_index(const struct plan_system *sys, const char *name)
{
    for (size_t s = 0; s < sys->n_servers; s++)
        if (strcmp(sys->servers[s].name, name) == 0)
            return s;
    fail_msg("no server %s in the plan", name);
    return 0;
}

/* ---- saturation policies ----------------------------------------------- */

/* The sample's llama_13b and granite_13b servers (three classes each) on a
 * cluster of 10 G2, 4 A100, 3 AIU2 and no L4. Their candidates, cheapest
 * first, as the model sizes them (replicas, cost per hour, requests/min
 * one replica carries):
 *   Premium-llama_13b   G2 x3 69; A100 x4 160; 4xA100 x2 320
 *   Premium-granite_13b G2 x2 46; A100 x3 120; 4xA100 x2 320
 *   Bronze-llama_13b    G2 x5 115; A100 x6 240; 4xA100 x3 480; 2xAIU2 x205; L4 x332
 *   Bronze-granite_13b  G2 x4 92; A100 x5 200 (25.7305/replica); 4xA100 x3 480
 *   Free-llama_13b      G2 x8 184; AIU2 x105 393.75 (2.3026/replica); A100 x11 440;
 *                       2xAIU2 x66; 4xA100 x6; L4 x484
 *   Free-granite_13b    G2 x6 138; A100 x9 360 (27.8745/replica); 4xA100 x4 640;
 *                       2xAIU2 x192 1440 (1.2501/replica); L4 x455
 * The optimizer's greedy: Premium-llama_13b (regret 91) takes 3 G2,
 * Premium-granite_13b 2, Bronze-llama_13b (regret 125 before
 * Bronze-granite_13b's 108) 5: the G2 are gone. Bronze-granite_13b then
 * walks down: A100 x5 > 4, 4xA100 x3 takes 12; the Free servers find room
 * nowhere (AIU2 x105 > 3, ...). Those three go to the saturation policy,
 * with 4 A100 and 3 AIU2 left. */
static json_t *saturation_input(const char *policy)
{
    json_t *root = sample(), *servers = section(root, "serverData", "servers");
    for (size_t i = json_array_size(servers); i-- > 0;) {
        const char *model = json_string_value(json_object_get(json_array_get(servers, i), "model"));
        if (strcmp(model, "llama_13b") != 0 && strcmp(model, "granite_13b") != 0)
            json_array_remove(servers, i);
    }
    json_object_set_new(json_object_get(json_object_get(root, "system"), "capacityData"), "count",
                        json_pack("[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}, {s:s, s:i}]", "type", "L4", "count", 0,
                                  "type", "A100", "count", 4, "type", "AIU2", "count", 3, "type", "G2", "count",
                                  10));
    json_object_set_new(section(root, "optimizerData", "optimizer"), "saturationPolicy", json_string(policy));
    return root;
}

/* What one server should get: acc NULL for none. */
struct expect {
    const char *server;
    const char *acc;
    int replicas;
    double cost;
    double unserved;             /* requests/min, to the hundredth */
};

/* The unserved load the plan's JSON states for server s. */
static double json_unserved(const json_t *plan, const char *name)
{
    const json_t *a = json_object_get(json_object_get(plan, "allocations"), name);
    if (!a)
        a = json_object_get(json_object_get(plan, "unallocated"), name);
    const json_t *u = json_object_get(a, "unservedLoad");
    if (!u)
        return 0.0;
    return json_number_value(u);
}

/* Plans the cut sample under policy: the servers the greedy placed keep
 * their G2, the others get exactly `want`; the per-server unserved loads
 * (in the result and in the JSON) add up to the plan's. */
static void saturates(const char *policy, const struct expect *want, double total_cost)
{
    static const struct expect placed[] = {{"Premium-llama_13b", "G2", 3, 69.0, 0.0},
                                           {"Premium-granite_13b", "G2", 2, 46.0, 0.0},
                                           {"Bronze-llama_13b", "G2", 5, 115.0, 0.0}};
    json_t *root = saturation_input(policy);
    struct plan_system sys;
    struct plan_result r;
    plan_doc(root, &sys, &r);
    assert_string_equal(plan_saturation_name(sys.options.saturation), policy);
    json_t *doc = plan_result_json(&sys, &r);
    for (size_t k = 0; k < 6; k++) {
        const struct expect *x = k < 3 ? &placed[k] : &want[k - 3];
        size_t s = server_index(&sys, x->server);
        const struct plan_server_result *got = &r.servers[s];
        const char *acc = got->alloc.acc >= 0 ? sys.accelerators[got->alloc.acc].name : NULL;
        bool same_acc = acc && x->acc ? strcmp(acc, x->acc) == 0 : acc == x->acc;
        if (!same_acc || (x->acc && (got->alloc.replicas != x->replicas || fabs(got->alloc.cost - x->cost) > 1e-9)) ||
            fabs(got->unserved_per_min - x->unserved) > 0.01)
            fail_msg("%s, %s: got %s x%d at %.2f leaving %.4f req/min unserved; want %s x%d at %.2f leaving %.2f",
                     policy, x->server, acc ? acc : "nothing", got->alloc.replicas, got->alloc.cost,
                     got->unserved_per_min, x->acc ? x->acc : "nothing", x->replicas, x->cost, x->unserved);
        enum plan_status status = !x->acc ? PLAN_UNALLOCATED : x->unserved > 0 ? PLAN_SATURATED : PLAN_OK;
        assert_int_equal(got->status, status);
        assert_true(fabs(json_unserved(doc, x->server) - got->unserved_per_min) <= 0.5e-4 + 1e-9); /* 4 places */
    }
    double unserved = 0;
    for (size_t s = 0; s < r.n_servers; s++)
        unserved += r.servers[s].unserved_per_min;
    assert_true(fabs(unserved - r.unserved_per_min) < 1e-6);
    assert_true(fabs(r.served_per_min + r.unserved_per_min - 840.0) < 1e-6);
    assert_true(fabs(r.total_cost - total_cost) < 1e-9);
    json_decref(doc);
    plan_result_free(&r);
    plan_system_free(&sys);
    json_decref(root);
}

/* None: the three are left without replicas and all of their load. */
static void saturation_none(void **state)
{
    (void)state;
    const struct expect want[] = {{"Bronze-granite_13b", NULL, 0, 0, 120.0},
                                  {"Free-llama_13b", NULL, 0, 0, 240.0},
                                  {"Free-granite_13b", NULL, 0, 0, 240.0}};
    saturates("None", want, 230.0);
}

/* PriorityExhaustive: in priority order, each takes as many replicas as
 * fit on the first candidate where one does. Bronze-granite_13b: 4 of its
 * 5 on A100, 4 x 40 = 160 (200 x 4/5), leaving 120 - 4 x 25.7305 = 17.08;
 * Free-llama_13b: G2 full, so 3 of 105 on AIU2, 3 x 3.75 = 11.25
 * (393.75 x 3/105), leaving 240 - 3 x 2.3026 = 233.09; Free-granite_13b:
 * nothing left that fits (A100 and AIU2 spent). */
static void saturation_priority_exhaustive(void **state)
{
    (void)state;
    const struct expect want[] = {{"Bronze-granite_13b", "A100", 4, 160.0, 17.08},
                                  {"Free-llama_13b", "AIU2", 3, 11.25, 233.09},
                                  {"Free-granite_13b", NULL, 0, 0, 240.0}};
    saturates("PriorityExhaustive", want, 230.0 + 160.0 + 11.25);
}

/* PriorityRoundRobin: one replica at a time within a priority, priorities
 * in order. Bronze-granite_13b is alone in its group: A100 one at a time
 * until the 4 are gone, as above. Free: round 1, Free-llama_13b takes 1
 * AIU2 (G2 full); Free-granite_13b finds G2 and A100 full, 4xA100 needing
 * 4, and takes 1 x 2xAIU2 (2 of the 2 AIU2 left), 7.50 (1440 x 1/192),
 * leaving 240 - 1.2501 = 238.75; round 2 adds nothing. Free-llama_13b: 1 x
 * AIU2, 3.75, leaving 240 - 2.3026 = 237.70. */
static void saturation_priority_round_robin(void **state)
{
    (void)state;
    const struct expect want[] = {{"Bronze-granite_13b", "A100", 4, 160.0, 17.08},
                                  {"Free-llama_13b", "AIU2", 1, 3.75, 237.70},
                                  {"Free-granite_13b", "2xAIU2", 1, 7.50, 238.75}};
    saturates("PriorityRoundRobin", want, 230.0 + 160.0 + 3.75 + 7.50);
}

/* RoundRobin, the optimizer's rule: one replica at a time, in turn (most
 * important first, then input order), each on the first of its candidates
 * with room for one, while capacity lasts.
 *   round 1: Bronze-granite_13b 1 A100 (3 left); Free-llama_13b 1 AIU2 (G2
 *            full; 2 left); Free-granite_13b 1 A100 (2 left)
 *   round 2: Bronze-granite_13b 2 A100 (1 left); Free-llama_13b 2 AIU2 (1
 *            left); Free-granite_13b 2 A100 (0 left)
 *   round 3: Bronze-granite_13b: A100 full; Free-llama_13b 3 AIU2 (0
 *            left); Free-granite_13b: A100 full
 *   round 4: nothing fits; done.
 * Costs scaled by given / needed: 200 x 2/5 = 80, 393.75 x 3/105 = 11.25,
 * 360 x 2/9 = 80. Unserved: 120 - 2 x 25.7305 = 68.54, 240 - 3 x 2.3026 =
 * 233.09, 240 - 2 x 27.8745 = 184.25. */
static void saturation_round_robin(void **state)
{
    (void)state;
    const struct expect want[] = {{"Bronze-granite_13b", "A100", 2, 80.0, 68.54},
                                  {"Free-llama_13b", "AIU2", 3, 11.25, 233.09},
                                  {"Free-granite_13b", "A100", 2, 80.0, 184.25}};
    saturates("RoundRobin", want, 230.0 + 80.0 + 11.25 + 80.0);
}

/* ---- transition penalty ------------------------------------------------ */

/* The whole sample, with Premium-llama_13b running today on 4 A100 (160 an
 * hour) and Premium-llama_70b on 51 x 4xA100 (8160), and a transition
 * penalty f: a candidate on another accelerator is valued at its cost plus
 * f x (current cost + its cost). Their cheapest candidates are on G2:
 *   Premium-llama_13b: G2 x3 69, saving 91; penalty f x (160 + 69) = 229 f,
 *                      so it moves while f < 91/229 = 0.397;
 *   Premium-llama_70b: G2 x52 4784, saving 3376; penalty f x (8160 + 4784)
 *                      = 12944 f, so it moves while f < 3376/12944 = 0.261.
 * At f = 0.3 the 13b's saving (91) is more than its penalty (68.70) and it
 * moves; the 70b's (3376) is less than its penalty (3883.20) and it stays.
 * The plan's costs are the accelerators' only, the penalty never in them. */
static void transition(double penalty, const char *acc_13b, double cost_13b, const char *acc_70b, double cost_70b)
{
    json_t *root = sample();
    json_t *c13 = json_object_get(server_named(root, "Premium-llama_13b"), "currentAlloc");
    json_t *c70 = json_object_get(server_named(root, "Premium-llama_70b"), "currentAlloc");
    json_object_set_new(c13, "accelerator", json_string("A100"));
    json_object_set_new(c13, "numReplicas", json_integer(4));
    json_object_set_new(c13, "cost", json_real(160.0));
    json_object_set_new(c70, "accelerator", json_string("4xA100"));
    json_object_set_new(c70, "numReplicas", json_integer(51));
    json_object_set_new(c70, "cost", json_real(8160.0));
    json_object_set_new(section(root, "optimizerData", "optimizer"), "transitionPenalty", json_real(penalty));
    struct plan_system sys;
    struct plan_result r;
    plan_doc(root, &sys, &r);
    const struct {
        const char *server, *acc;
        double cost;
    } want[] = {{"Premium-llama_13b", acc_13b, cost_13b}, {"Premium-llama_70b", acc_70b, cost_70b}};
    for (size_t k = 0; k < 2; k++) {
        const struct plan_server_result *got = &r.servers[server_index(&sys, want[k].server)];
        assert_int_equal(got->status, PLAN_OK);
        const char *acc = sys.accelerators[got->alloc.acc].name;
        if (strcmp(acc, want[k].acc) != 0 || fabs(got->alloc.cost - want[k].cost) > 1e-9)
            fail_msg("penalty %g, %s: %s at %.2f, want %s at %.2f", penalty, want[k].server, acc,
                     got->alloc.cost, want[k].acc, want[k].cost);
    }
    plan_result_free(&r);
    plan_system_free(&sys);
    json_decref(root);
}

static void transition_penalty_keeps_where_saving_is_smaller(void **state)
{
    (void)state;
    transition(0.0, "G2", 69.0, "G2", 4784.0);       /* no penalty: the published plan */
    transition(0.2, "G2", 69.0, "G2", 4784.0);       /* both savings exceed their penalties */
    transition(0.3, "G2", 69.0, "4xA100", 8160.0);   /* 91 > 68.70 moves; 3376 < 3883.20 stays */
    transition(0.5, "A100", 160.0, "4xA100", 8160.0); /* neither saving pays for the move */
}

int main(int argc, char **argv)
{
    samples = argc > 1 ? argv[1] : "samples/planner";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(saturation_none),
        cmocka_unit_test(saturation_priority_exhaustive),
        cmocka_unit_test(saturation_priority_round_robin),
        cmocka_unit_test(saturation_round_robin),
        cmocka_unit_test(transition_penalty_keeps_where_saving_is_smaller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
