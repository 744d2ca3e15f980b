/*
 * Solving a plan: the candidates of every server, and the three solvers that
 * choose among them.
 *
 * A candidate is one accelerator with performance data for the server's
 * model: the model the options name (compat.h, or sizing.h) gives the largest arrival rate one replica sustains within
 * the class's targets, so the server needs
 *   replicas = max(minNumReplicas, ceil(load / rate per replica))
 * and costs cost(accelerator) * accCount * replicas. The load is the arrival
 * rate, or the rate the class's tokens-per-second target implies when that
 * is higher.
 *
 *  - unlimited: every server takes its cheapest candidate.
 *  - greedy: priority groups in order (lower number first); inside a group,
 *    repeatedly the server with the largest regret (the extra cost it pays
 *    if its cheapest candidate that still fits is taken by others) takes
 *    that candidate. A server none of whose candidates fits is then
 *    repaired if it can be: servers already placed on the type it needs
 *    move to their cheapest other candidate that fits, cheapest per unit
 *    freed first, when that frees enough (the least added cost over its
 *    candidates wins). What still does not fit is left for the saturation
 *    policy.
 *  - greedy, compatible model: the inference optimizer's own greedy, which
 *    walks each server down its candidates by regret and has no repair
 *    (plan_solve_greedy_compat).
 *  - milp: the same problem exactly, with GLPK: one binary per (server,
 *    candidate), at most one per server, capacity per type. Priorities are
 *    lexicographic stages: first the number of servers of the most important
 *    group that get their full allocation is maximised and then fixed, then
 *    the next group's, and last the cost is minimised.
 * Both limited solvers then hand what capacity is left to the servers left
 * out, as the saturation policy says.
 */
#ifndef GPUSLICE_PLANNER_SOLVE_H
#define GPUSLICE_PLANNER_SOLVE_H

#include "core/occupancy.h"
#include "planner/plan.h"
#include "util/err.h"

/* The candidates of one server, cheapest (by value) first. */
struct plan_candidates {
    struct plan_candidate *c;
    size_t n;
    char reason[256];            /* with n == 0: why no accelerator qualifies */
};

/* The arrival rate s must carry, in requests/ms: its load, or the rate its
 * class's tokens-per-second target implies when that is more. */
double plan_required_rate(const struct plan_server *s);

/* Builds the candidates of every server of sys into *out (an array of
 * sys->n_servers, freed with plan_candidates_free). A server without
 * candidates is not an error: its reason says why. -ENOMEM only. */
int plan_candidates_build(const struct plan_system *sys, struct plan_candidates **out, struct err *e);

void plan_candidates_free(struct plan_candidates *c, size_t n);

/* The solvers' common output: the chosen candidate (-1 = none) and its
 * replicas (below the candidate's on a saturated server), per server. */
struct plan_choice {
    int cand;
    int replicas;
};

/* Each fills choice[0 .. n_servers-1]. The limited ones respect the counts
 * of sys->types (a type without a count has none). */
void plan_solve_unlimited(const struct plan_system *sys, const struct plan_candidates *cands,
                          struct plan_choice *choice);
int plan_solve_greedy(const struct plan_system *sys, const struct plan_candidates *cands,
                      struct plan_choice *choice, struct err *e);
/* The inference optimizer's greedy, the compatible model's default: in
 * priority order, within a priority the largest regret (its current
 * candidate's cost to its next one's) first, then the dearest; a server
 * whose current candidate does not fit moves to its next and is put back in
 * order (plan_greedy_compat.c). */
int plan_solve_greedy_compat(const struct plan_system *sys, const struct plan_candidates *cands,
                             struct plan_choice *choice, struct err *e);
/* Sets *optimal to whether GLPK proved optimality within its time limit.
 * -EIO when GLPK fails. */
int plan_solve_milp(const struct plan_system *sys, const struct plan_candidates *cands,
                    struct plan_choice *choice, bool *optimal, struct err *e);

/* The capacity a solver spends: units used per type, and whether more fit
 * (plan_room.c). Whole GPUs of a catalogued model and the slice types cut
 * from them are one pool: a GPU used whole holds no slices, and the slices
 * must fit the MIG geometry of the GPUs left. Other types fit while their
 * units are within their counts. */
struct plan_room {
    const struct plan_system *sys;
    long *used;                  /* units per type */
    int *pool;                   /* per type: the GPU type of its pool, or itself */
    int *slices;                 /* the slice types of GPU pools, largest profile first */
    size_t n_slices;
    struct gpu_occupancy *gpu;   /* packing scratch */
    size_t gpu_cap;
};

/* An empty room for sys (read, not owned); plan_room_free releases it. */
void plan_room_init(struct plan_room *r, const struct plan_system *sys);
void plan_room_free(struct plan_room *r);
/* Everything free again. */
void plan_room_clear(struct plan_room *r);
/* dst (a room of the same system) uses what src uses. */
void plan_room_copy(struct plan_room *dst, const struct plan_room *src);
/* Spends units of type (negative: gives them back); no check. */
void plan_room_take(struct plan_room *r, int type, long units);
/* Whether units more of type fit with what is used. */
bool plan_room_fits(struct plan_room *r, int type, long units);
/* Whether everything used fits. */
bool plan_room_holds_all(struct plan_room *r);
/* The most k <= most with k * per more units of type fitting. */
long plan_room_fit_count(struct plan_room *r, int type, long per, long most);
/* The GPUs of GPU type g that its slices in use take (first fit), or -1
 * when that is more than most. */
long plan_room_sliced_gpus(struct plan_room *r, int g, long most);
/* A unit of type in GPUs of its pool (a 3g.40gb slice: 4/8), 1 for others:
 * what moving it away frees. */
double plan_room_weight(const struct plan_room *r, int type);
/* The type a candidate spends. */
int plan_room_type(const struct plan_system *sys, const struct plan_candidate *c);

/* room (of the same system) uses what the choices take, and nothing else. */
void plan_room_of_choices(struct plan_room *room, const struct plan_candidates *cands,
                          const struct plan_choice *choice);

/* Gives the capacity the choices leave to the servers without a choice, as
 * policy says. Used by both limited solvers. -ENOMEM only. */
int plan_saturate(const struct plan_system *sys, const struct plan_candidates *cands,
                  enum plan_saturation policy, struct plan_choice *choice, struct err *e);

/* The servers, most important first (priority, then input order), into
 * *order (n_servers ints, caller frees). -ENOMEM only. */
int plan_priority_order(const struct plan_system *sys, int **order, struct err *e);

/* The priority of a server's class. */
int plan_server_priority(const struct plan_system *sys, int server);

/* Turns choices into a result: metrics of every allocation from the
 * queueing model, units used, total cost, statuses and reasons. */
int plan_result_build(const struct plan_system *sys, const struct plan_candidates *cands,
                      const struct plan_choice *choice, const char *solver, struct plan_result *out,
                      struct err *e);

/* The whole pipeline: candidates, the solver sys->options ask for,
 * saturation, result. On success the caller owns *out (plan_result_free). */
int plan_solve(const struct plan_system *sys, struct plan_result *out, struct err *e);

#endif
