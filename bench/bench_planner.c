/*
 * Benchmark of the inference planner.
 *
 * 1. Plan time at the scale: 1,000 servers x 20 accelerator types
 *    (10 models, each with performance data on all 20 accelerators, so
 *    20,000 candidates to size), with capacity for about 80% of what the
 *    cheapest choices would take, so the greedy has to spread servers over
 *    types. Generated from a fixed seed. Timed separately: sizing the
 *    candidates (a bisection on the queueing chain each), the greedy with
 *    saturation, the whole greedy pipeline (plan_solve, which also
 *    evaluates every allocation), and the MILP on the same candidates; in
 *    gpuslice's model, then the whole greedy plan in the compatible model
 *    (the default), each beside its target (< 1 s).
 * 2. The greedy's gap to the MILP on samples/planner/large.json as shipped,
 *    and with every capacity count cut to 75% (where the greedy starts to
 *    leave servers out that the MILP fits).
 *
 * 3. The judge's run time on samples/planner/inferno-small: both models'
 *    plans, an hour of simulated requests each (its default).
 * 4. `plan --sizing judged` on the same sample in each model
 *    (plan_solve_judged: plan, judge, tighten, again), through
 *    bench_report beside this project's own bar for an interactive command
 *    (10 s), BELOW TARGET when it misses.
 *
 * argv[1] is the samples/planner directory. Single-threaded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "planner/judge.h"
#include "planner/plan_judged.h"
#include "planner/plan_load.h"
#include "planner/solve.h"

#include "bench_report.h"

#define SERVERS 1000
#define TYPES 20
#define MODELS 10
#define SEED 42u
#define GREEDY_TARGET_S 1.0 /* issue 8 and 17: a whole greedy plan at this scale */
#define JUDGED_TARGET_S 10.0 /* this project's own bar: `plan --sizing judged` stays an interactive command */

static double rnd(uint64_t *rng)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*rng >> 11) * 0x1.0p-53;
}

static json_t *generated_problem(uint64_t *rng)
{
    json_t *accs = json_array(), *models = json_array(), *servers = json_array(), *count = json_array();
    double speed[TYPES];
    for (int a = 0; a < TYPES; a++) {
        char name[16];
        snprintf(name, sizeof name, "acc%02d", a);
        speed[a] = 0.5 + 2.0 * rnd(rng); /* relative to an A100 */
        double cost = 40.0 * speed[a] * (0.7 + 0.6 * rnd(rng));
        json_array_append_new(accs, json_pack("{s:s, s:f}", "name", name, "cost", cost));
        json_array_append_new(count, json_pack("{s:s, s:i}", "type", name, "count", 1));
    }
    for (int m = 0; m < MODELS; m++) {
        double size = 1.0 + 9.0 * rnd(rng); /* 1x .. 10x an 8B model */
        for (int a = 0; a < TYPES; a++) {
            char model[16], acc[16];
            snprintf(model, sizeof model, "model%d", m);
            snprintf(acc, sizeof acc, "acc%02d", a);
            double k = size / speed[a];
            json_array_append_new(
                models, json_pack("{s:s, s:s, s:i, s:i, s:i, s:{s:f, s:f}, s:{s:f, s:f}}", "name", model, "acc",
                                  acc, "accCount", size > 6 ? 2 : 1, "maxBatchSize", (int)(32 + 160 * rnd(rng)),
                                  "atTokens", 1024, "decodeParms", "alpha", 8.0 * k, "beta", 0.05 * k,
                                  "prefillParms", "gamma", 20.0 * k, "delta", 0.001 * k));
        }
    }
    json_t *classes = json_array();
    const char *names[] = {"Premium", "Bronze", "Batch"};
    for (int c = 0; c < 3; c++) {
        json_t *targets = json_array();
        for (int m = 0; m < MODELS; m++) {
            char model[16];
            snprintf(model, sizeof model, "model%d", m);
            json_array_append_new(targets, json_pack("{s:s, s:f, s:f}", "model", model, "slo-itl",
                                                     120.0 * (c + 1), "slo-ttft", 2000.0 * (c + 1)));
        }
        json_array_append_new(classes, json_pack("{s:s, s:i, s:o}", "name", names[c], "priority", c + 1,
                                                 "modelTargets", targets));
    }
    for (int s = 0; s < SERVERS; s++) {
        char name[16], model[16];
        snprintf(name, sizeof name, "server%04d", s);
        snprintf(model, sizeof model, "model%d", (int)(MODELS * rnd(rng)));
        json_array_append_new(
            servers, json_pack("{s:s, s:s, s:s, s:{s:{s:f, s:f, s:f}}}", "name", name, "class",
                               names[(int)(3 * rnd(rng))], "model", model, "currentAlloc", "load", "arrivalRate",
                               10.0 + 600.0 * rnd(rng), "avgInTokens", 64.0 + 1024.0 * rnd(rng), "avgOutTokens",
                               32.0 + 512.0 * rnd(rng)));
    }
    return json_pack("{s:{s:{s:o}, s:{s:o}, s:{s:o}, s:{s:o}, s:{s:o}}}", "system", "acceleratorData",
                     "accelerators", accs, "modelData", "models", models, "serviceClassData", "serviceClasses",
                     classes, "serverData", "servers", servers, "capacityData", "count", count);
}

/* Capacity for `share` of what each type's cheapest choices would use,
 * spread evenly over the types. */
static void set_capacity(struct plan_system *sys, const struct plan_candidates *cands, double share)
{
    long total = 0;
    for (size_t s = 0; s < sys->n_servers; s++)
        if (cands[s].n)
            total += cands[s].c[0].units;
    for (size_t t = 0; t < sys->n_types; t++)
        sys->types[t].count = (long)(share * (double)total / (double)sys->n_types);
}

struct outcome {
    int served;
    double value;
};

static struct outcome outcome(const struct plan_system *sys, const struct plan_candidates *cands,
                              const struct plan_choice *choice)
{
    struct outcome o = {0, 0.0};
    for (size_t s = 0; s < sys->n_servers; s++) {
        if (choice[s].cand < 0 || choice[s].replicas < cands[s].c[choice[s].cand].replicas)
            continue;
        o.served++;
        o.value += cands[s].c[choice[s].cand].value;
    }
    return o;
}

/* "target < 1 s: met" or "... MISSED" beside a plan time. */
static const char *verdict(double seconds)
{
    return seconds < GREEDY_TARGET_S ? "target < 1 s: met" : "target < 1 s: MISSED";
}

/* The whole greedy pipeline in the compatible model (the optimizer's model
 * and greedy, then RoundRobin saturation), on the same capacity. */
static void compatible_scale(struct plan_system *sys)
{
    struct err e;
    err_clear(&e);
    sys->options.model = PLAN_MODEL_COMPATIBLE;
    sys->options.saturation = PLAN_SAT_ROUND_ROBIN;
    struct plan_candidates *cands;
    double t0 = bench_now_s();
    if (plan_candidates_build(sys, &cands, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return;
    }
    double t1 = bench_now_s();
    struct plan_result r;
    int rc = plan_solve(sys, &r, &e);
    double t2 = bench_now_s();
    int served = 0;
    for (size_t s = 0; rc == 0 && s < r.n_servers; s++)
        served += r.servers[s].status == PLAN_OK;
    printf("  compatible model: size candidates %.3f s; plan_solve (greedy) %8.3f s  (%s); serves %d fully, "
           "%.0f of %.0f requests/min\n",
           t1 - t0, t2 - t1, verdict(t2 - t1), served, rc ? 0.0 : r.served_per_min,
           rc ? 0.0 : r.served_per_min + r.unserved_per_min);
    if (rc == 0)
        plan_result_free(&r);
    plan_candidates_free(cands, sys->n_servers);
    sys->options.model = PLAN_MODEL_GPUSLICE;
    sys->options.saturation = PLAN_SAT_NONE;
}

static int scale(void)
{
    uint64_t rng = SEED;
    json_t *doc = generated_problem(&rng);
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    double t0 = bench_now_s();
    if (plan_load_json(doc, "generated", &sys, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    sys.options.model = PLAN_MODEL_GPUSLICE;
    json_decref(doc);
    double t1 = bench_now_s();
    struct plan_candidates *cands;
    if (plan_candidates_build(&sys, &cands, &e))
        return 1;
    double t2 = bench_now_s();
    size_t n_cands = 0;
    for (size_t s = 0; s < sys.n_servers; s++)
        n_cands += cands[s].n;
    set_capacity(&sys, cands, 0.8);
    struct plan_choice *greedy = calloc(sys.n_servers, sizeof *greedy), *milp = calloc(sys.n_servers, sizeof *milp);
    double t3 = bench_now_s();
    plan_solve_greedy(&sys, cands, greedy, &e);
    plan_saturate(&sys, cands, PLAN_SAT_NONE, greedy, &e);
    double t4 = bench_now_s();
    struct plan_result r;
    plan_solve(&sys, &r, &e);
    double t5 = bench_now_s();
    bool optimal = false;
    int milp_rc = plan_solve_milp(&sys, cands, milp, &optimal, &e);
    double t6 = bench_now_s();
    struct outcome og = outcome(&sys, cands, greedy), om = outcome(&sys, cands, milp);
    printf("planner scale: %d servers x %zu accelerator types, %zu feasible candidates of %zu\n", SERVERS,
           sys.n_types, n_cands, (size_t)SERVERS * TYPES);
    printf("  load JSON            %8.3f s\n", t1 - t0);
    printf("  size candidates      %8.3f s  (%.1f us each)\n", t2 - t1, 1e6 * (t2 - t1) / (SERVERS * TYPES));
    printf("  greedy + saturation  %8.3f s\n", t4 - t3);
    printf("  plan_solve (greedy)  %8.3f s  (candidates + greedy + evaluating the plan; %s)\n", t5 - t4,
           verdict(t5 - t4));
    printf("  MILP on candidates   %8.3f s  (%s)\n", t6 - t5,
           milp_rc ? e.msg : optimal ? "optimal" : "time limit, best found");
    printf("  greedy serves %d at value %.3f; MILP serves %d at value %.3f\n", og.served, og.value, om.served,
           om.value);
    compatible_scale(&sys);
    plan_result_free(&r);
    free(greedy);
    free(milp);
    plan_candidates_free(cands, sys.n_servers);
    plan_system_free(&sys);
    return 0;
}

static int gap(const char *samples, double share)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/large.json", samples);
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    struct plan_candidates *cands;
    if (plan_load_path(path, &sys, &e) || plan_candidates_build(&sys, &cands, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    for (size_t t = 0; t < sys.n_types; t++)
        sys.types[t].count = (long)floor(share * (double)sys.types[t].count);
    struct plan_choice *greedy = calloc(sys.n_servers, sizeof *greedy), *milp = calloc(sys.n_servers, sizeof *milp);
    bool optimal = false;
    double t0 = bench_now_s();
    plan_solve_greedy(&sys, cands, greedy, &e);
    double t1 = bench_now_s();
    plan_solve_milp(&sys, cands, milp, &optimal, &e);
    double t2 = bench_now_s();
    struct outcome og = outcome(&sys, cands, greedy), om = outcome(&sys, cands, milp);
    printf("gap on large.json, capacity x%.2f (%zu servers): greedy serves %d at cost %.1f (%.2f ms), "
           "MILP serves %d at cost %.1f (%.2f ms, %s)",
           share, sys.n_servers, og.served, og.value, 1e3 * (t1 - t0), om.served, om.value, 1e3 * (t2 - t1),
           optimal ? "optimal" : "not proven");
    if (og.served == om.served)
        printf(": greedy costs %.2f%% more\n", 100.0 * (og.value - om.value) / om.value);
    else
        printf(": greedy leaves %d more servers out\n", om.served - og.served);
    free(greedy);
    free(milp);
    plan_candidates_free(cands, sys.n_servers);
    plan_system_free(&sys);
    return 0;
}

/* The judge on sys's plan in its model: an hour of requests (the
 * default), seed 1. */
static int judge_time(struct plan_system *sys, const struct judge_options *o, struct err *e)
{
    struct plan_result plan;
    struct judge_result j;
    int rc = plan_solve(sys, &plan, e);
    if (rc)
        return rc;
    double t0 = bench_now_s();
    rc = judge_plan(sys, &plan, o, &j, e);
    double t1 = bench_now_s();
    if (rc == 0)
        printf("judge on inferno-small, %s plan, %.0f s of requests: %.3f s, %.0f requests measured, "
               "%zu of %zu servers meet their targets\n",
               plan_queue_model_name(sys->options.model), o->seconds, t1 - t0, j.overall.requests, j.meeting,
               j.n_servers);
    judge_result_free(&j);
    plan_result_free(&plan);
    return rc;
}

/* `plan --sizing judged` on sys in its model, with the same judge. */
static int judged_sizing_time(struct plan_system *sys, const struct judge_options *o, struct err *e)
{
    struct plan_result plan;
    struct judge_result j;
    struct plan_judged_report rep;
    double t0 = bench_now_s();
    int rc = plan_solve_judged(sys, o, PLAN_JUDGED_MAX_ROUNDS, &plan, &j, &rep, e);
    double t1 = bench_now_s();
    if (rc)
        return rc;
    char name[96];
    snprintf(name, sizeof name, "planner: plan --sizing judged on inferno-small, %s model",
             plan_queue_model_name(sys->options.model));
    bench_report1(name, t1 - t0, "s", BENCH_AT_MOST, JUDGED_TARGET_S,
                  "this project's own bar for an interactive command; %d rounds, %zu of %zu servers meet their "
                  "targets at %.2f per hour",
                  rep.rounds, j.meeting, j.n_servers, plan.total_cost);
    plan_judged_report_free(&rep);
    judge_result_free(&j);
    plan_result_free(&plan);
    return 0;
}

/* The judge alone, then sizing by the judge, on the optimizer's sample in
 * each model. */
static int inferno_small_times(const char *samples)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/inferno-small", samples);
    struct plan_system sys;
    struct err e;
    err_clear(&e);
    if (plan_load_path(path, &sys, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    const enum plan_queue_model models[] = {PLAN_MODEL_COMPATIBLE, PLAN_MODEL_GPUSLICE};
    struct judge_options o = {JUDGE_DEFAULT_SECONDS, JUDGE_DEFAULT_SEED, JUDGE_DEFAULT_PERCENTILE};
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < 2; k++) {
        sys.options.model = models[k];
        if ((rc = judge_time(&sys, &o, &e)) == 0)
            rc = judged_sizing_time(&sys, &o, &e);
    }
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    plan_system_free(&sys);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *samples = argc > 1 ? argv[1] : "samples/planner";
    int rc = inferno_small_times(samples);
    rc |= gap(samples, 1.0);
    rc |= gap(samples, 0.75);
    rc |= scale();
    return rc;
}
