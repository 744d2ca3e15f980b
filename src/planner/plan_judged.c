/*
 * The judged sizing loop of plan_judged.h. The system is planned through a
 * shallow copy whose servers point at targets of their own, which the loop
 * tightens; the judge always reads the caller's system, so every plan is
 * judged against the targets the input gives.
 */
#include "planner/plan_judged.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "planner/solve.h"
#include "util/alloc.h"

struct sizing {
    const struct plan_system *sys;
    const struct judge_options *o;
    struct plan_system tight;    /* sys, but its servers' targets are targets[] */
    struct plan_target *targets; /* the effective targets, one per server */
    struct plan_judged_server *state; /* the report's */
    bool *stopped;               /* stopped for good (no capacity, no candidate) */
    int *order;                  /* the servers, most important first */
};

static size_t at_least_one(size_t n)
{
    return n ? n : 1;
}

static int sizing_init(struct sizing *z, const struct plan_system *sys, const struct judge_options *o,
                       struct plan_judged_report *rep, struct err *e)
{
    size_t n = sys->n_servers;
    *z = (struct sizing){.sys = sys, .o = o, .tight = *sys};
    int rc = plan_priority_order(sys, &z->order, e);
    if (rc)
        return rc;
    z->tight.servers = alloc_calloc(at_least_one(n), sizeof *z->tight.servers);
    z->targets = alloc_calloc(at_least_one(n), sizeof *z->targets);
    z->stopped = alloc_calloc(at_least_one(n), sizeof *z->stopped);
    rep->servers = z->state = alloc_calloc(at_least_one(n), sizeof *z->state);
    rep->n_servers = n;
    for (size_t i = 0; i < n; i++) {
        z->targets[i] = *sys->servers[i].target;
        z->tight.servers[i] = sys->servers[i];
        z->tight.servers[i].target = &z->targets[i];
    }
    return 0;
}

static void sizing_free(struct sizing *z)
{
    free(z->tight.servers);
    free(z->targets);
    free(z->stopped);
    free(z->order);
}

static bool meets(const struct judge_stats *st)
{
    return st->verdict == JUDGE_MEETS || st->verdict == JUDGE_NO_TARGETS;
}

/* Whether server i is failing as judged and may still be tightened. */
static bool active(const struct sizing *z, const struct judge_result *j, size_t i)
{
    return !z->stopped[i] && !meets(&j->servers[i]);
}

static bool any_active(const struct sizing *z, const struct judge_result *j)
{
    for (size_t i = 0; i < z->sys->n_servers; i++)
        if (active(z, j, i))
            return true;
    return false;
}

/* After a plan is judged: a server without its full allocation stops
 * (tightening cannot give it capacity); the others meet or go on. */
static void take_verdicts(struct sizing *z, const struct plan_result *plan, const struct judge_result *j)
{
    for (size_t i = 0; i < z->sys->n_servers; i++) {
        if (!z->stopped[i] && !meets(&j->servers[i]) && plan->servers[i].status != PLAN_OK) {
            z->stopped[i] = true;
            z->state[i].stop = PLAN_JUDGED_NO_CAPACITY;
        } else if (!z->stopped[i]) {
            z->state[i].stop = meets(&j->servers[i]) ? PLAN_JUDGED_MEETS : PLAN_JUDGED_ROUNDS;
        }
    }
}

/* One step of an effective target whose judged metric misses: by target
 * over tail, clamped. */
static void step_metric(double *effective, const struct judge_metric *m, double share)
{
    if (m->target_ms <= 0.0 || isnan(m->attained) || m->attained >= share)
        return;
    double step = m->tail_ms > 0.0 ? m->target_ms / m->tail_ms : PLAN_JUDGED_STEP_MAX;
    *effective *= fmin(fmax(step, PLAN_JUDGED_STEP_MIN), PLAN_JUDGED_STEP_MAX);
}

static void tighten(struct sizing *z, const struct judge_result *j, size_t i)
{
    double share = j->percentile / 100.0;
    step_metric(&z->targets[i].ttft_ms, &j->servers[i].ttft, share);
    step_metric(&z->targets[i].itl_ms, &j->servers[i].itl, share);
}

/* Whether every server with its full allocation in before still has one. */
static bool keeps(const struct plan_result *before, const struct plan_result *after)
{
    for (size_t i = 0; i < before->n_servers; i++)
        if (before->servers[i].status == PLAN_OK && after->servers[i].status != PLAN_OK)
            return false;
    return true;
}

/* Plans with the effective targets; the plan replaces *best when it keeps
 * every full allocation. *kept says which. */
static int try_plan(struct sizing *z, struct plan_result *best, bool *kept, struct plan_result *trial,
                    struct err *e)
{
    int rc = plan_solve(&z->tight, trial, e);
    if (rc)
        return rc;
    *kept = keeps(best, trial);
    if (*kept) {
        plan_result_free(best);
        *best = *trial;
        memset(trial, 0, sizeof *trial);
    }
    return 0;
}

/* The failing servers one at a time, most important first: a step that
 * costs a full allocation is undone and its server stops. */
static int round_one_by_one(struct sizing *z, const struct judge_result *j, struct plan_result *best, struct err *e)
{
    for (size_t k = 0; k < z->sys->n_servers; k++) {
        size_t i = (size_t)z->order[k];
        if (!active(z, j, i))
            continue;
        struct plan_target before = z->targets[i];
        struct plan_result trial = {0};
        bool kept;
        tighten(z, j, i);
        int rc = try_plan(z, best, &kept, &trial, e);
        if (rc)
            return rc;
        if (kept) {
            z->state[i].steps++;
        } else {
            z->targets[i] = before;
            z->stopped[i] = true;
            z->state[i].stop = trial.servers[i].status == PLAN_INFEASIBLE ? PLAN_JUDGED_NO_CANDIDATE
                                                                          : PLAN_JUDGED_NO_CAPACITY;
        }
        plan_result_free(&trial);
    }
    return 0;
}

/* Every failing server one step at once; redone one at a time when that
 * costs a full allocation. */
static int round_all(struct sizing *z, const struct judge_result *j, struct plan_result *best, struct err *e)
{
    size_t n = z->sys->n_servers;
    struct plan_target *saved = alloc_calloc(at_least_one(n), sizeof *saved);
    memcpy(saved, z->targets, n * sizeof *saved);
    for (size_t i = 0; i < n; i++)
        if (active(z, j, i))
            tighten(z, j, i);
    struct plan_result trial = {0};
    bool kept = false;
    int rc = try_plan(z, best, &kept, &trial, e);
    plan_result_free(&trial);
    if (rc == 0 && kept) {
        for (size_t i = 0; i < n; i++)
            z->state[i].steps += active(z, j, i);
    } else if (rc == 0) {
        memcpy(z->targets, saved, n * sizeof *saved);
        rc = round_one_by_one(z, j, best, e);
    }
    free(saved);
    return rc;
}

static int size_rounds(struct sizing *z, int max_rounds, struct plan_result *plan, struct judge_result *judged,
                       struct plan_judged_report *rep, struct err *e)
{
    int rc = plan_solve(&z->tight, plan, e);
    if (rc)
        return rc;
    if ((rc = judge_plan(z->sys, plan, z->o, judged, e)) != 0)
        return rc;
    rep->unsized_cost = plan->total_cost;
    rep->unsized_meeting = judged->meeting;
    take_verdicts(z, plan, judged);
    while (rep->rounds < max_rounds && any_active(z, judged)) {
        if ((rc = round_all(z, judged, plan, e)) != 0)
            return rc;
        judge_result_free(judged);
        if ((rc = judge_plan(z->sys, plan, z->o, judged, e)) != 0)
            return rc;
        rep->rounds++;
        take_verdicts(z, plan, judged);
    }
    return 0;
}

int plan_solve_judged(const struct plan_system *sys, const struct judge_options *o, int max_rounds,
                      struct plan_result *plan, struct judge_result *judged, struct plan_judged_report *rep,
                      struct err *e)
{
    memset(plan, 0, sizeof *plan);
    memset(judged, 0, sizeof *judged);
    memset(rep, 0, sizeof *rep);
    if (max_rounds < 0)
        return err_set(e, -EINVAL, "the rounds of judged sizing must be >= 0, got %d", max_rounds);
    struct sizing z;
    int rc = sizing_init(&z, sys, o, rep, e);
    if (rc == 0)
        rc = size_rounds(&z, max_rounds, plan, judged, rep, e);
    for (size_t i = 0; rc == 0 && i < sys->n_servers; i++) {
        rep->servers[i].ttft_ms = z.targets[i].ttft_ms;
        rep->servers[i].itl_ms = z.targets[i].itl_ms;
    }
    sizing_free(&z);
    if (rc) {
        plan_result_free(plan);
        judge_result_free(judged);
        plan_judged_report_free(rep);
    }
    return rc;
}

void plan_judged_report_free(struct plan_judged_report *r)
{
    if (!r)
        return;
    free(r->servers);
    memset(r, 0, sizeof *r);
}

const char *plan_judged_stop_name(enum plan_judged_stop s)
{
    static const char *const names[] = {
        [PLAN_JUDGED_MEETS] = "meets",
        [PLAN_JUDGED_NO_CAPACITY] = "no capacity",
        [PLAN_JUDGED_NO_CANDIDATE] = "no candidate",
        [PLAN_JUDGED_ROUNDS] = "rounds ran out",
    };
    return names[s];
}
