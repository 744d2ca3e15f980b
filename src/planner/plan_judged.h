/*
 * Sizing against the judge: a plan whose servers meet their targets as the
 * judge (judge.h) finds them, not only as the models promise.
 *
 * Both models size a replica for the mean TTFT and ITL within the targets,
 * and a mean within target leaves the tail above it. This loop puts the
 * judge in the plan: it plans (either model, any solver), judges the plan,
 * and for every server that misses its targets as judged tightens the
 * targets it is sized for (the effective ones, never the targets it is
 * judged against), only those it misses, then plans and judges again:
 *  - a step multiplies an effective target by target / judged tail (the
 *    percentile's latency) clamped to [0.5, 0.9]: far off, it halves; close,
 *    it takes a tenth off. So a target ends within one step of the loosest
 *    one the judge accepts;
 *  - a round tightens every failing server at once; when that plan leaves
 *    a server that had its full allocation without it (capacity) or a
 *    server without a candidate (a target below what a lone request takes),
 *    the round is redone one server at a time, most important first, and a
 *    server whose step would do that keeps its targets and stops;
 *  - a server without replicas or with fewer than it needs stops at once:
 *    tightening cannot give it capacity;
 *  - it ends when no server is left failing and still tightening, or after
 *    max_rounds rounds.
 * A server's replicas and cost only grow as its targets tighten (fewer
 * candidates, each with at least as many replicas), and a server with its
 * full allocation keeps one, so the plan is not cheaper than the unsized
 * one without a capacity shuffle between servers. The judge runs with the
 * caller's options, so the plan is deterministic for a seed.
 *
 * Pure computation; no clock, no global state.
 */
#ifndef GPUSLICE_PLANNER_PLAN_JUDGED_H
#define GPUSLICE_PLANNER_PLAN_JUDGED_H

#include <stddef.h>

#include "planner/judge.h"
#include "planner/plan.h"
#include "util/err.h"

#define PLAN_JUDGED_MAX_ROUNDS 40
#define PLAN_JUDGED_STEP_MIN 0.5
#define PLAN_JUDGED_STEP_MAX 0.9

/* Why a server's targets stopped where they are. */
enum plan_judged_stop {
    PLAN_JUDGED_MEETS,           /* it meets its targets as judged (or has none) */
    PLAN_JUDGED_NO_CAPACITY,     /* no (full) allocation, or a tighter one would take another's */
    PLAN_JUDGED_NO_CANDIDATE,    /* a tighter target no accelerator meets */
    PLAN_JUDGED_ROUNDS,          /* still failing when the rounds ran out */
};

struct plan_judged_server {
    double ttft_ms, itl_ms;      /* the mean targets it was sized for (0: none) */
    int steps;                   /* how many times they were tightened */
    enum plan_judged_stop stop;
};

struct plan_judged_report {
    int rounds;                  /* plans judged after the unsized one */
    double unsized_cost;
    size_t unsized_meeting;      /* servers meeting their targets in the unsized plan */
    struct plan_judged_server *servers; /* one per server, same order (caller frees with
                                         * plan_judged_report_free) */
    size_t n_servers;
};

/* Plans sys (its options: model, solver, saturation) sized against the
 * judge with options o, for at most max_rounds rounds (>= 0). On success
 * the caller owns *plan (plan_result_free), *judged (judge_result_free:
 * the final plan as judged) and *rep. -EINVAL for judge options out of
 * range; planning errors as plan_solve gives them. */
int plan_solve_judged(const struct plan_system *sys, const struct judge_options *o, int max_rounds,
                      struct plan_result *plan, struct judge_result *judged, struct plan_judged_report *rep,
                      struct err *e);

void plan_judged_report_free(struct plan_judged_report *r);

/* "meets", "no capacity", "no candidate", "rounds ran out". */
const char *plan_judged_stop_name(enum plan_judged_stop s);

#endif
