/*
 * The unlimited and greedy solvers and the saturation policies (solve.h).
 * All of them walk the servers in priority order and spend capacity from
 * one array of units left per type.
 */
#include "planner/solve.h"
#include "util/alloc.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
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
    (void)e; /* nothing fails: memory follows util/alloc.h */
    size_t n = sys->n_servers;
    struct ranked *r = alloc_calloc(n ? n : 1, sizeof *r);
    int *out = alloc_calloc(n ? n : 1, sizeof *out);
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
                           const struct plan_choice *choice)
{
    long *left = alloc_calloc(sys->n_types ? sys->n_types : 1, sizeof *left);
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

/* A server that could move to another type to make room. */
struct move {
    int server;
    int cand;                    /* its candidate on the other type */
    long freed;                  /* units it gives back */
    double delta;                /* value it adds */
};

static int by_delta_per_unit(const void *a, const void *b)
{
    const struct move *x = a, *y = b;
    double rx = x->delta / (double)x->freed, ry = y->delta / (double)y->freed;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return x->server - y->server;
}

/* Finds servers on type t that could move elsewhere, cheapest per unit
 * freed first, until `deficit` units are free. Fills moves[0 .. *n-1] and
 * *delta; returns whether enough was found. Nothing is changed. */
static bool find_moves(const struct plan_system *sys, const struct plan_candidates *cands, const long *left,
                       const struct plan_choice *choice, int t, long deficit, struct move *moves, size_t *n,
                       double *delta, long *scratch)
{
    size_t found = 0;
    for (size_t u = 0; u < sys->n_servers; u++) {
        const struct plan_choice *ch = &choice[u];
        if (ch->cand < 0 || sys->accelerators[cands[u].c[ch->cand].acc].type != t ||
            ch->replicas < cands[u].c[ch->cand].replicas)
            continue;
        for (size_t k = 0; k < cands[u].n; k++) {
            const struct plan_candidate *a = &cands[u].c[k];
            if (sys->accelerators[a->acc].type == t || a->units > left[sys->accelerators[a->acc].type])
                continue;
            moves[found++] = (struct move){(int)u, (int)k, cands[u].c[ch->cand].units,
                                           a->value - cands[u].c[ch->cand].value};
            break; /* candidates are cheapest first */
        }
    }
    qsort(moves, found, sizeof *moves, by_delta_per_unit);
    memcpy(scratch, left, sys->n_types * sizeof *scratch);
    long freed = 0;
    size_t kept = 0;
    *delta = 0.0;
    for (size_t i = 0; i < found && freed < deficit; i++) {
        const struct plan_candidate *a = &cands[moves[i].server].c[moves[i].cand];
        long *room = &scratch[sys->accelerators[a->acc].type];
        if (a->units > *room)
            continue; /* an earlier move took that room */
        *room -= a->units;
        freed += moves[i].freed;
        *delta += moves[i].delta;
        moves[kept++] = moves[i];
    }
    *n = kept;
    return freed >= deficit;
}

struct repair {
    struct move *moves;          /* n_servers each */
    struct move *best;
    long *scratch;               /* n_types */
};

/* Serves s by moving others of types it needs elsewhere, at the least added
 * value over its candidates; returns whether it worked. */
static bool repair_one(const struct plan_system *sys, const struct plan_candidates *cands, long *left,
                       struct plan_choice *choice, int s, struct repair *w)
{
    double best_total = INFINITY;
    int best_cand = -1;
    size_t best_n = 0;
    for (size_t k = 0; k < cands[s].n; k++) {
        const struct plan_candidate *c = &cands[s].c[k];
        int t = sys->accelerators[c->acc].type;
        size_t n;
        double delta;
        if (c->value >= best_total || c->units > (sys->types[t].count > 0 ? sys->types[t].count : 0) ||
            !find_moves(sys, cands, left, choice, t, c->units - left[t], w->moves, &n, &delta, w->scratch) ||
            c->value + delta >= best_total)
            continue;
        best_total = c->value + delta;
        best_cand = (int)k;
        best_n = n;
        memcpy(w->best, w->moves, n * sizeof *w->moves);
    }
    if (best_cand < 0)
        return false;
    for (size_t i = 0; i < best_n; i++) {
        const struct move *m = &w->best[i];
        const struct plan_candidate *from = &cands[m->server].c[choice[m->server].cand];
        const struct plan_candidate *to = &cands[m->server].c[m->cand];
        *type_left(sys, left, from) += from->units;
        *type_left(sys, left, to) -= to->units;
        choice[m->server] = (struct plan_choice){m->cand, to->replicas};
    }
    const struct plan_candidate *c = &cands[s].c[best_cand];
    *type_left(sys, left, c) -= c->units;
    choice[s] = (struct plan_choice){best_cand, c->replicas};
    return true;
}

static long min_units(const struct plan_candidates *cs)
{
    long m = LONG_MAX;
    for (size_t k = 0; k < cs->n; k++)
        if (cs->c[k].units < m)
            m = cs->c[k].units;
    return m;
}

/* The other way to fill a group, for when capacity is tight: the most
 * servers fit when the smallest go first, each on its smallest candidate
 * that fits; then each moves to the cheapest candidate the room left allows. */
static void smallest_first_group(const struct plan_system *sys, const struct plan_candidates *cands, long *left,
                                 int *pending, size_t n, struct plan_choice *choice)
{
    for (size_t i = 1; i < n; i++) { /* insertion sort: stable, n is one group */
        int s = pending[i];
        size_t j = i;
        for (; j > 0 && min_units(&cands[pending[j - 1]]) > min_units(&cands[s]); j--)
            pending[j] = pending[j - 1];
        pending[j] = s;
    }
    for (size_t i = 0; i < n; i++) {
        int s = pending[i], pick = -1;
        for (size_t k = 0; k < cands[s].n; k++) {
            const struct plan_candidate *c = &cands[s].c[k];
            if (c->units <= *type_left(sys, left, c) && (pick < 0 || c->units < cands[s].c[pick].units))
                pick = (int)k;
        }
        if (pick < 0)
            continue;
        choice[s] = (struct plan_choice){pick, cands[s].c[pick].replicas};
        *type_left(sys, left, &cands[s].c[pick]) -= cands[s].c[pick].units;
    }
    for (size_t i = 0; i < n; i++) {
        int s = pending[i];
        if (choice[s].cand < 0)
            continue;
        const struct plan_candidate *cur = &cands[s].c[choice[s].cand];
        for (int k = 0; k < choice[s].cand; k++) { /* cheaper ones come first */
            const struct plan_candidate *c = &cands[s].c[k];
            bool same_type = sys->accelerators[c->acc].type == sys->accelerators[cur->acc].type;
            long room = *type_left(sys, left, c) + (same_type ? cur->units : 0);
            if (c->units > room)
                continue;
            *type_left(sys, left, cur) += cur->units;
            *type_left(sys, left, c) -= c->units;
            choice[s] = (struct plan_choice){k, c->replicas};
            break;
        }
    }
}

enum greedy_way { GREEDY_REGRET, GREEDY_SMALLEST };

/* Runs one way of the greedy over all priority groups into choice. */
static void greedy_all(const struct plan_system *sys, const struct plan_candidates *cands, const int *order,
                       enum greedy_way way, long *left, int *pending, struct repair *w, struct plan_choice *choice)
{
    for (size_t s = 0; s < sys->n_servers; s++)
        choice[s] = (struct plan_choice){-1, 0};
    for (size_t t = 0; t < sys->n_types; t++)
        left[t] = sys->types[t].count > 0 ? sys->types[t].count : 0;
    for (size_t i = 0; i < sys->n_servers;) {
        int priority = plan_server_priority(sys, order[i]);
        size_t first = i, k = 0;
        for (; i < sys->n_servers && plan_server_priority(sys, order[i]) == priority; i++)
            if (cands[order[i]].n > 0)
                pending[k++] = order[i];
        if (way == GREEDY_SMALLEST) {
            smallest_first_group(sys, cands, left, pending, k, choice);
            continue;
        }
        greedy_group(sys, cands, left, pending, k, choice);
        for (size_t j = first; j < i; j++)
            if (choice[order[j]].cand < 0 && cands[order[j]].n > 0)
                repair_one(sys, cands, left, choice, order[j], w);
    }
}

/* Whether plan a beats plan b: more servers served in the most important
 * group where they differ, else less value. */
static bool better(const struct plan_system *sys, const struct plan_candidates *cands, const int *order,
                   const struct plan_choice *a, const struct plan_choice *b)
{
    double va = 0, vb = 0;
    for (size_t i = 0; i < sys->n_servers;) {
        int priority = plan_server_priority(sys, order[i]), na = 0, nb = 0;
        for (; i < sys->n_servers && plan_server_priority(sys, order[i]) == priority; i++) {
            int s = order[i];
            na += a[s].cand >= 0;
            nb += b[s].cand >= 0;
            va += a[s].cand >= 0 ? cands[s].c[a[s].cand].value : 0;
            vb += b[s].cand >= 0 ? cands[s].c[b[s].cand].value : 0;
        }
        if (na != nb)
            return na > nb;
    }
    return va < vb;
}

int plan_solve_greedy(const struct plan_system *sys, const struct plan_candidates *cands,
                      struct plan_choice *choice, struct err *e)
{
    size_t n = sys->n_servers ? sys->n_servers : 1;
    int *order = NULL, *pending = alloc_calloc(n, sizeof *pending);
    struct plan_choice *other = alloc_calloc(n, sizeof *other);
    struct repair w = {alloc_calloc(n, sizeof *w.moves), alloc_calloc(n, sizeof *w.best),
                       alloc_calloc(sys->n_types ? sys->n_types : 1, sizeof *w.scratch)};
    long *left = alloc_calloc(sys->n_types ? sys->n_types : 1, sizeof *left);
    int rc = pending && other && left && w.moves && w.best && w.scratch ? plan_priority_order(sys, &order, e)
                                                                        : err_set(e, -ENOMEM, "out of memory");
    if (rc == 0) {
        greedy_all(sys, cands, order, GREEDY_REGRET, left, pending, &w, choice);
        greedy_all(sys, cands, order, GREEDY_SMALLEST, left, pending, &w, other);
        if (better(sys, cands, order, other, choice))
            memcpy(choice, other, sys->n_servers * sizeof *choice);
    }
    free(order);
    free(pending);
    free(other);
    free(left);
    free(w.moves);
    free(w.best);
    free(w.scratch);
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
    long *left = capacity_left(sys, cands, choice);
    bool *starved = alloc_calloc(sys->n_servers ? sys->n_servers : 1, sizeof *starved);
    int rc = plan_priority_order(sys, &order, e);
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
