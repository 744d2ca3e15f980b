/*
 * Writing a plan: the inference-optimizer's allocation JSON, and a table for
 * people.
 *
 * The JSON keeps the optimizer's shape, {"allocations": {SERVER: {
 * "accelerator", "numReplicas", "maxBatch", "cost", "itlAverage",
 * "ttftAverage", "load": {"arrivalRate", "avgInTokens", "avgOutTokens"}}}},
 * so existing consumers read it unchanged, and adds what gpuslice needs to
 * act on it and what the optimizer left unsaid: per allocation "status",
 * "utilisation", "resource" ("nvidia.com/mig-3g.40gb") and
 * "resourcesPerReplica"; "unallocated" {SERVER: {"status", "reason"}} for
 * servers that got nothing, with its "unservedLoad" (requests/min; also on
 * saturated allocations); and "summary" {"solver", "optimal", "totalCost",
 * "servedLoad", "unservedLoad", "capacity": {TYPE: {"used", "count"}}}.
 */
#ifndef GPUSLICE_PLANNER_PLAN_OUTPUT_H
#define GPUSLICE_PLANNER_PLAN_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "planner/judge.h"
#include "planner/plan_judged.h"
#include "planner/plan.h"

/* How plans are written as text: numbers are rounded to four decimals, and
 * ten significant digits print them without binary noise. */
#define PLAN_JSON_DUMP_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

/* A new JSON object (caller decrefs), or NULL when out of memory. */
json_t *plan_result_json(const struct plan_system *sys, const struct plan_result *r);

/* Writes one line per server, then the servers left out with their
 * reasons, then the totals. Returns 0 or -EIO. */
int plan_result_table(const struct plan_system *sys, const struct plan_result *r, FILE *out);

/* Writes the plans of the same system in the two models side by side: per
 * server and in total, the accelerator and replicas, the cost and the load
 * served within the targets. Returns 0 or -EIO. */
int plan_compare_table(const struct plan_system *sys, const struct plan_result *compatible,
                       const struct plan_result *gpuslice, FILE *out);

/* One plan as the judge (judge.h) found it. */
struct plan_judged {
    const char *label;           /* "compatible" */
    const struct plan_result *plan;
    const struct judge_result *judged;
    int rounds;                  /* -1: sized for the means; else the rounds of judged sizing
                                  * (plan_judged.h) that made it */
};

/* Writes, for each of the n plans of the same system, a line per server
 * (accelerator and replicas; TTFT and ITL mean, tail, target and the share
 * of requests within it; verdict) and the line of all requests, then one
 * line per plan side by side: cost, load served, attainment, servers that
 * meet their targets. Returns 0 or -EIO. */
int plan_judge_table(const struct plan_system *sys, const struct plan_judged *plans, size_t n, FILE *out);

/* The same as JSON, for scripts: {"seconds", "seed", "percentile",
 * "plans": [{"plan" (the label), "sizing": "mean" | "judged", "rounds"
 * (judged only), "totalCost", "servedLoad", "serversMeeting", "servers",
 * "overall": STATS, "judged": {SERVER: STATS + "accelerator",
 * "numReplicas"}}]}, where STATS is {"requests", "attainment", "verdict",
 * "ttft" and "itl": {"mean", "tail", "target", "attainment"}}; times in
 * ms, shares in [0, 1], null where there is nothing to show (no target, no
 * request), "accelerator" null for a server left without replicas. A new
 * object (caller decrefs), or NULL when out of memory. */
json_t *plan_judge_json(const struct plan_system *sys, const struct plan_judged *plans, size_t n, uint64_t seed);

/* What judged sizing did, for the plan's summary: {"by": "judge",
 * "rounds", "unsizedCost", "unsizedServersMeeting", "serversMeeting",
 * "servers", "targets": {SERVER: {"ttft", "itl" (the mean targets it was
 * sized for, null for none), "steps", "stop"}}}. A new object (caller
 * decrefs), or NULL when out of memory. */
json_t *plan_sizing_json(const struct plan_system *sys, const struct plan_judged_report *rep,
                         const struct judge_result *judged);

#endif
