/*
 * The inference optimizer's greedy (solve.h, docs/planner.md), kept apart
 * from gpuslice's own (plan_greedy.c) because the compatible model must
 * choose as the optimizer does, repairs and second passes excluded. Each
 * server walks down its candidates, cheapest first. Within a priority the
 * server whose next step down costs most (its regret) goes first, the
 * dearest on ties, then the first in input order; it takes its current
 * candidate when that fits, else steps down and waits its turn again. A
 * server that runs out of candidates is left to the saturation policy.
 */
#include "planner/solve.h"
#include "util/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct walker {
    const struct plan_system *sys;
    const struct plan_candidates *cands;
    struct plan_room room;
    int *at;                     /* per server: its current candidate */
};

static double regret(const struct walker *w, int s)
{
    const struct plan_candidates *cs = &w->cands[s];
    int k = w->at[s];
    return k + 1 < (int)cs->n ? cs->c[k + 1].value - cs->c[k].value : INFINITY;
}

/* Whether server a goes before server b. */
static bool goes_first(const struct walker *w, int a, int b)
{
    double ra = regret(w, a), rb = regret(w, b);
    if (ra != rb)
        return ra > rb;
    double ca = w->cands[a].c[w->at[a]].value, cb = w->cands[b].c[w->at[b]].value;
    if (ca != cb)
        return ca > cb;
    return a < b;
}

/* Places the servers pending[0 .. n-1] of one priority. */
static void place_group(struct walker *w, int *pending, size_t n, struct plan_choice *choice)
{
    while (n > 0) {
        size_t pick = 0;
        for (size_t k = 1; k < n; k++)
            if (goes_first(w, pending[k], pending[pick]))
                pick = k;
        int s = pending[pick];
        const struct plan_candidate *c = &w->cands[s].c[w->at[s]];
        int type = plan_room_type(w->sys, c);
        bool done = true;
        if (plan_room_fits(&w->room, type, c->units)) {
            plan_room_take(&w->room, type, c->units);
            choice[s] = (struct plan_choice){w->at[s], c->replicas};
        } else if (++w->at[s] < (int)w->cands[s].n) {
            done = false;
        }
        if (done)
            pending[pick] = pending[--n];
    }
}

int plan_solve_greedy_compat(const struct plan_system *sys, const struct plan_candidates *cands,
                             struct plan_choice *choice, struct err *e)
{
    size_t n = sys->n_servers ? sys->n_servers : 1;
    int *order = NULL, rc = plan_priority_order(sys, &order, e);
    if (rc)
        return rc;
    struct walker w = {.sys = sys, .cands = cands, .at = alloc_calloc(n, sizeof *w.at)};
    plan_room_init(&w.room, sys);
    int *pending = alloc_calloc(n, sizeof *pending);
    for (size_t s = 0; s < sys->n_servers; s++)
        choice[s] = (struct plan_choice){-1, 0};
    for (size_t i = 0; i < sys->n_servers;) {
        int priority = plan_server_priority(sys, order[i]);
        size_t k = 0;
        for (; i < sys->n_servers && plan_server_priority(sys, order[i]) == priority; i++)
            if (cands[order[i]].n > 0)
                pending[k++] = order[i];
        place_group(&w, pending, k, choice);
    }
    free(order);
    free(pending);
    plan_room_free(&w.room);
    free(w.at);
    return 0;
}
