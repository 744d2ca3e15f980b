/*
 * The planning pipeline of solve.h: candidates, the solver the options ask
 * for, the saturation policy, and the result with every allocation's
 * latencies from the queueing model at the load it actually gets.
 */
#include "planner/solve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/batchqueue.h"
#include "planner/compat.h"
#include "util/alloc.h"

/* The latencies and utilisation of one replica at rate lambda, as the
 * model the options name judges them. */
static int replica_metrics(const struct plan_system *sys, const struct plan_server *s,
                           const struct plan_candidate *c, double lambda, double *itl, double *ttft,
                           double *utilisation, struct err *e)
{
    const struct perf_params *p = &sys->perfs[c->perf].params;
    struct batchqueue q;
    bool compatible = sys->options.model == PLAN_MODEL_COMPATIBLE;
    int rc = compatible ? compat_queue_init(&q, p, &s->req, c->max_batch, e)
                        : batchqueue_init(&q, p, &s->req, c->max_batch, BATCHQUEUE_QUEUE_RATIO * c->max_batch, e);
    if (rc)
        return rc;
    if (compatible) {
        struct compat_metrics m;
        if ((rc = compat_solve(&q, lambda, &m, e)) == 0)
            *itl = m.itl_ms, *ttft = m.ttft_ms, *utilisation = m.utilisation;
    } else {
        struct batchqueue_metrics m;
        if ((rc = batchqueue_solve(&q, lambda, &m, e)) == 0)
            *itl = m.itl_ms, *ttft = m.ttft_ms, *utilisation = m.utilisation;
    }
    batchqueue_free(&q);
    return rc;
}

/* Fills the latencies of a chosen allocation: the model at the server's
 * load shared by the replicas it got. */
static int evaluate(const struct plan_system *sys, const struct plan_server *s, const struct plan_candidate *c,
                    int replicas, struct plan_server_result *r, struct err *e)
{
    const struct plan_perf *perf = &sys->perfs[c->perf];
    const struct plan_accelerator *acc = &sys->accelerators[c->acc];
    double itl = 0, ttft = 0, utilisation = 0;
    int rc = replica_metrics(sys, s, c, plan_required_rate(s) / replicas, &itl, &ttft, &utilisation, e);
    if (rc)
        return rc;
    r->perf = c->perf;
    r->alloc = (struct plan_alloc){
        .acc = c->acc,
        .replicas = replicas,
        .max_batch = c->max_batch,
        .cost = acc->cost * perf->acc_count * replicas,
        .itl_ms = itl,
        .ttft_ms = ttft,
    };
    r->utilisation = utilisation;
    return 0;
}

static void unallocated(const struct plan_system *sys, const struct plan_candidates *cs,
                        struct plan_server_result *r)
{
    const struct plan_candidate *c = &cs->c[0];
    const struct plan_accelerator *acc = &sys->accelerators[c->acc];
    r->status = PLAN_UNALLOCATED;
    snprintf(r->reason, sizeof r->reason, "not enough capacity: its cheapest option, %d x %s, takes %ld %s",
             c->replicas, acc->name, c->units, sys->types[acc->type].name);
}

static int build_server(const struct plan_system *sys, size_t s, const struct plan_candidates *cs,
                        const struct plan_choice *ch, struct plan_result *out, struct err *e)
{
    struct plan_server_result *r = &out->servers[s];
    double load = sys->servers[s].rate_per_min;
    r->alloc.acc = -1;
    r->perf = -1;
    r->unserved_per_min = load;
    out->unserved_per_min += load;
    if (cs->n == 0) {
        r->status = PLAN_INFEASIBLE;
        snprintf(r->reason, sizeof r->reason, "no accelerator meets the targets: %s", cs->reason);
        return 0;
    }
    if (ch->cand < 0) {
        unallocated(sys, cs, r);
        return 0;
    }
    const struct plan_candidate *c = &cs->c[ch->cand];
    int rc = evaluate(sys, &sys->servers[s], c, ch->replicas, r, e);
    if (rc)
        return rc;
    r->needed_replicas = c->replicas;
    r->status = ch->replicas < c->replicas ? PLAN_SATURATED : PLAN_OK;
    /* a replica carries rate_per_replica within the targets (per ms) */
    double carried = r->status == PLAN_OK ? load : fmin(load, ch->replicas * c->rate_per_replica * 60000.0);
    r->unserved_per_min = load - carried;
    out->unserved_per_min -= carried;
    out->served_per_min += carried;
    if (r->status == PLAN_SATURATED)
        snprintf(r->reason, sizeof r->reason, "capacity for %d of the %d replicas its targets need",
                 ch->replicas, c->replicas);
    out->used[sys->accelerators[c->acc].type] += c->units / c->replicas * ch->replicas;
    out->total_cost += r->alloc.cost;
    return 0;
}

int plan_result_build(const struct plan_system *sys, const struct plan_candidates *cands,
                      const struct plan_choice *choice, const char *solver, struct plan_result *out,
                      struct err *e)
{
    memset(out, 0, sizeof *out);
    out->servers = alloc_calloc(sys->n_servers ? sys->n_servers : 1, sizeof *out->servers);
    out->used = alloc_calloc(sys->n_types ? sys->n_types : 1, sizeof *out->used);
    out->n_servers = sys->n_servers;
    out->n_types = sys->n_types;
    out->solver = solver;
    out->optimal = true;
    for (size_t s = 0; s < sys->n_servers; s++) {
        int rc = build_server(sys, s, &cands[s], &choice[s], out, e);
        if (rc) {
            plan_result_free(out);
            return err_prefix(e, rc, "server %s: ", sys->servers[s].name);
        }
    }
    return 0;
}

int plan_solve(const struct plan_system *sys, struct plan_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct plan_candidates *cands = NULL;
    int rc = plan_candidates_build(sys, &cands, e);
    if (rc)
        return rc;
    struct plan_choice *choice = alloc_calloc(sys->n_servers ? sys->n_servers : 1, sizeof *choice);
    const char *solver = sys->options.unlimited ? "unlimited" : sys->options.milp ? "milp" : "greedy";
    bool optimal = true;
    if (sys->options.unlimited)
        plan_solve_unlimited(sys, cands, choice);
    else if (sys->options.milp)
        rc = plan_solve_milp(sys, cands, choice, &optimal, e);
    else if (sys->options.model == PLAN_MODEL_COMPATIBLE)
        rc = plan_solve_greedy_compat(sys, cands, choice, e);
    else
        rc = plan_solve_greedy(sys, cands, choice, e);
    if (rc == 0 && !sys->options.unlimited)
        rc = plan_saturate(sys, cands, sys->options.saturation, choice, e);
    if (rc == 0 && (rc = plan_result_build(sys, cands, choice, solver, out, e)) == 0)
        out->optimal = optimal;
    free(choice);
    plan_candidates_free(cands, sys->n_servers);
    return rc;
}
