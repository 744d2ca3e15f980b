/*
 * The unlimited and greedy solvers and the saturation policies (solve.h).
 * All of them walk the servers in priority order and spend capacity from
 * one array of units left per type.
 */
#include "planner/solve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ranked {
    int priority;
    int server;
};

static int by_priority(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->server - y->server;
}

int plan_priority_order(const struct plan_system *sys, int **order, struct err *e)
{
    size_t n = sys->n_servers;
    struct ranked *r = calloc(n ? n : 1, sizeof *r);
    int *out = calloc(n ? n : 1, sizeof *out);
    if (!r || !out) {
        free(r);
        free(out);
        return err_set(e, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        r[i] = (struct ranked){sys->classes[sys->servers[i].cls].priority, (int)i};
    qsort(r, n, sizeof *r, by_priority);
    for (size_t i = 0; i < n; i++)
        out[i] = r[i].server;
    free(r);
    *order = out;
    return 0;
}

int plan_server_priority(const struct plan_system *sys, int server)
{
    return sys->classes[sys->servers[server].cls].priority;
}

void plan_solve_unlimited(const struct plan_system *sys, const struct plan_candidates *cands,
                          struct plan_choice *choice)
{
    for (size_t s = 0; s < sys->n_servers; s++)
        choice[s] = cands[s].n ? (struct plan_choice){0, cands[s].c[0].replicas}
                               : (struct plan_choice){-1, 0};
}

/* Units left per type once the choices made so far are taken. */
static long *capacity_left(const struct plan_system *sys, const struct plan_candidates *cands,
                           const struct plan_choice *choice, struct err *e)
{
    long *left = calloc(sys->n_types ? sys->n_types : 1, sizeof *left);
    if (!left) {
        err_set(e, -ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t t = 0; t < sys->n_types; t++)
        left[t] = sys->types[t].count > 0 ? sys->types[t].count : 0;
    for (size_t s = 0; s < sys->n_servers; s++) {
        if (choice[s].cand < 0)
            continue;
        const struct plan_candidate *c = &cands[s].c[choice[s].cand];
        left[sys->accelerators[c->acc].type] -= c->units / c->replicas * choice[s].replicas;
    }
    return left;
}

static long units_per_replica(const struct plan_candidate *c)
{
    return c->units / c->replicas;
}

static long *type_left(const struct plan_system *sys, long *left, const struct plan_candidate *c)
{
    return &left[sys->accelerators[c->acc].type];
}

/* The cheapest and second cheapest candidates of s that fit what is left. */
static void two_cheapest(const struct plan_system *sys, const struct plan_candidates *cs, long *left,
                         int *first, int *second)
{
    *first = *second = -1;
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->c[i].units > *type_left(sys, left, &cs->c[i]))
            continue;
        if (*first < 0) {
            *first = (int)i;
        } else {
            *second = (int)i;
            return;
        }
    }
}

/* Allocates one priority group: while servers are pending, the one that
 * would lose most by waiting (largest regret) takes its cheapest fit. */
static void greedy_group(const struct plan_system *sys, const struct plan_candidates *cands, long *left,
                         int *pending, size_t n, struct plan_choice *choice)
{
    while (n > 0) {
        size_t pick = n, kept = 0;
        double pick_regret = -1.0;
        int pick_cand = -1;
        for (size_t k = 0; k < n; k++) {
            int s = pending[k], first, second;
            two_cheapest(sys, &cands[s], left, &first, &second);
            if (first < 0)
                continue; /* nothing fits: dropped, stays unallocated */
            double regret = second < 0 ? INFINITY : cands[s].c[second].value - cands[s].c[first].value;
            pending[kept] = s;
            if (regret > pick_regret) {
                pick_regret = regret;
                pick = kept;
                pick_cand = first;
            }
            kept++;
        }
        if (pick == n)
            return;
        int s = pending[pick];
        const struct plan_candidate *c = &cands[s].c[pick_cand];
        choice[s] = (struct plan_choice){pick_cand, c->replicas};
        *type_left(sys, left, c) -= c->units;
        memmove(&pending[pick], &pending[pick + 1], (kept - pick - 1) * sizeof *pending);
        n = kept - 1;
    }
}

int plan_solve_greedy(const struct plan_system *sys, const struct plan_candidates *cands,
                      struct plan_choice *choice, struct err *e)
{
    for (size_t s = 0; s < sys->n_servers; s++)
        choice[s] = (struct plan_choice){-1, 0};
    int *order = NULL, *pending = calloc(sys->n_servers ? sys->n_servers : 1, sizeof *pending);
    long *left = capacity_left(sys, cands, choice, e);
    int rc = pending && left ? plan_priority_order(sys, &order, e) : err_set(e, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < sys->n_servers;) {
        int priority = plan_server_priority(sys, order[i]);
        size_t n = 0;
        for (; i < sys->n_servers && plan_server_priority(sys, order[i]) == priority; i++)
            if (cands[order[i]].n > 0)
                pending[n++] = order[i];
        greedy_group(sys, cands, left, pending, n, choice);
    }
    free(order);
    free(pending);
    free(left);
    return rc;
}

/* PriorityExhaustive: each server left out, most important first, takes as
 * many replicas as still fit (up to what it needs) on the cheapest
 * candidate where at least one fits. */
static void saturate_exhaustive(const struct plan_system *sys, const struct plan_candidates *cands,
                                const int *order, long *left, struct plan_choice *choice)
{
    for (size_t i = 0; i < sys->n_servers; i++) {
        int s = order[i];
        if (choice[s].cand >= 0)
            continue;
        for (size_t k = 0; k < cands[s].n; k++) {
            const struct plan_candidate *c = &cands[s].c[k];
            long fit = *type_left(sys, left, c) / units_per_replica(c);
            if (fit < 1)
                continue;
            int replicas = fit < c->replicas ? (int)fit : c->replicas;
            choice[s] = (struct plan_choice){(int)k, replicas};
            *type_left(sys, left, c) -= units_per_replica(c) * replicas;
            break;
        }
    }
}

/* One more replica for s if it can use one and one fits; its first replica
 * goes on the cheapest candidate that has room. */
static bool add_replica(const struct plan_system *sys, const struct plan_candidates *cs, long *left,
                        struct plan_choice *ch)
{
    if (ch->cand < 0) {
        for (size_t k = 0; k < cs->n; k++) {
            if (units_per_replica(&cs->c[k]) <= *type_left(sys, left, &cs->c[k])) {
                *ch = (struct plan_choice){(int)k, 1};
                *type_left(sys, left, &cs->c[k]) -= units_per_replica(&cs->c[k]);
                return true;
            }
        }
        return false;
    }
    const struct plan_candidate *c = &cs->c[ch->cand];
    if (ch->replicas >= c->replicas || units_per_replica(c) > *type_left(sys, left, c))
        return false;
    ch->replicas++;
    *type_left(sys, left, c) -= units_per_replica(c);
    return true;
}

/* Round-robin over order[from .. to-1]: one replica per server per round,
 * until a round adds none. */
static void round_robin(const struct plan_system *sys, const struct plan_candidates *cands,
                        const int *order, size_t from, size_t to, const bool *starved, long *left,
                        struct plan_choice *choice)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t i = from; i < to; i++) {
            int s = order[i];
            if (starved[s] && add_replica(sys, &cands[s], left, &choice[s]))
                progress = true;
        }
    }
}

int plan_saturate(const struct plan_system *sys, const struct plan_candidates *cands,
                  enum plan_saturation policy, struct plan_choice *choice, struct err *e)
{
    if (policy == PLAN_SAT_NONE)
        return 0;
    int *order = NULL;
    long *left = capacity_left(sys, cands, choice, e);
    bool *starved = calloc(sys->n_servers ? sys->n_servers : 1, sizeof *starved);
    int rc = left && starved ? plan_priority_order(sys, &order, e) : err_set(e, -ENOMEM, "out of memory");
    for (size_t s = 0; rc == 0 && s < sys->n_servers; s++)
        starved[s] = choice[s].cand < 0 && cands[s].n > 0;
    if (rc == 0 && policy == PLAN_SAT_PRIORITY_EXHAUSTIVE) {
        saturate_exhaustive(sys, cands, order, left, choice);
    } else if (rc == 0 && policy == PLAN_SAT_ROUND_ROBIN) {
        round_robin(sys, cands, order, 0, sys->n_servers, starved, left, choice);
    } else if (rc == 0) {
        for (size_t i = 0; i < sys->n_servers;) {
            size_t j = i;
            while (j < sys->n_servers && plan_server_priority(sys, order[j]) == plan_server_priority(sys, order[i]))
                j++;
            round_robin(sys, cands, order, i, j, starved, left, choice);
            i = j;
        }
    }
    free(order);
    free(left);
    free(starved);
    return rc;
}
