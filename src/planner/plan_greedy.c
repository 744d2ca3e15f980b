/*
 * The unlimited and greedy solvers and the saturation policies (solve.h).
 * All of them walk the servers in priority order and spend capacity from
 * one room (plan_room.c), which knows that slices and whole GPUs of one
 * model share the GPUs.
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

void plan_room_of_choices(struct plan_room *room, const struct plan_candidates *cands,
                          const struct plan_choice *choice)
{
    const struct plan_system *sys = room->sys;
    plan_room_clear(room);
    for (size_t s = 0; s < sys->n_servers; s++) {
        if (choice[s].cand < 0)
            continue;
        const struct plan_candidate *c = &cands[s].c[choice[s].cand];
        plan_room_take(room, plan_room_type(sys, c), c->units / c->replicas * choice[s].replicas);
    }
}

static long units_per_replica(const struct plan_candidate *c)
{
    return c->units / c->replicas;
}

static bool fits(struct plan_room *room, const struct plan_candidate *c, long units)
{
    return plan_room_fits(room, plan_room_type(room->sys, c), units);
}

static void take(struct plan_room *room, const struct plan_candidate *c, long units)
{
    plan_room_take(room, plan_room_type(room->sys, c), units);
}

/* The cheapest and second cheapest candidates of s that fit what is left. */
static void two_cheapest(struct plan_room *room, const struct plan_candidates *cs, int *first, int *second)
{
    *first = *second = -1;
    for (size_t i = 0; i < cs->n; i++) {
        if (!fits(room, &cs->c[i], cs->c[i].units))
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
static void greedy_group(struct plan_room *room, const struct plan_candidates *cands, int *pending, size_t n,
                         struct plan_choice *choice)
{
    while (n > 0) {
        size_t pick = n, kept = 0;
        double pick_regret = -1.0;
        int pick_cand = -1;
        for (size_t k = 0; k < n; k++) {
            int s = pending[k], first, second;
            two_cheapest(room, &cands[s], &first, &second);
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
        take(room, c, c->units);
        memmove(&pending[pick], &pending[pick + 1], (kept - pick - 1) * sizeof *pending);
        n = kept - 1;
    }
}

/* A server that could move out of a pool to make room in it. */
struct move {
    int server;
    int cand;                    /* its candidate on the other type */
    double freed;                /* GPUs' worth it gives back (plan_room_weight) */
    double delta;                /* value it adds */
};

static int by_delta_per_unit(const void *a, const void *b)
{
    const struct move *x = a, *y = b;
    double rx = x->delta / x->freed, ry = y->delta / y->freed;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return x->server - y->server;
}

/* The servers fully placed in the pool of type t that could move to a
 * candidate outside it that fits now, each with its cheapest such, into
 * moves; returns how many. */
static size_t movers(struct plan_room *room, const struct plan_candidates *cands, const struct plan_choice *choice,
                     int t, struct move *moves)
{
    const struct plan_system *sys = room->sys;
    size_t found = 0;
    for (size_t u = 0; u < sys->n_servers; u++) {
        const struct plan_choice *ch = &choice[u];
        if (ch->cand < 0 || ch->replicas < cands[u].c[ch->cand].replicas)
            continue;
        const struct plan_candidate *from = &cands[u].c[ch->cand];
        int from_type = plan_room_type(sys, from);
        if (room->pool[from_type] != room->pool[t])
            continue;
        for (size_t k = 0; k < cands[u].n; k++) {
            const struct plan_candidate *a = &cands[u].c[k];
            if (room->pool[plan_room_type(sys, a)] == room->pool[t] || !fits(room, a, a->units))
                continue;
            moves[found++] = (struct move){(int)u, (int)k, (double)from->units * plan_room_weight(room, from_type),
                                           a->value - from->value};
            break; /* candidates are cheapest first */
        }
    }
    return found;
}

/* Finds servers in the pool of type t that could move out of it, cheapest
 * per GPU freed first, until `need` more units of t fit. Fills moves[0 ..
 * *n-1] and *delta; returns whether enough was found. room is not changed
 * (the moves are tried on scratch). */
static bool find_moves(struct plan_room *room, const struct plan_candidates *cands,
                       const struct plan_choice *choice, int t, long need, struct move *moves, size_t *n,
                       double *delta, struct plan_room *scratch)
{
    *n = 0;
    *delta = 0.0;
    if (plan_room_fits(room, t, need))
        return true;
    size_t found = movers(room, cands, choice, t, moves);
    qsort(moves, found, sizeof *moves, by_delta_per_unit);
    plan_room_copy(scratch, room);
    size_t kept = 0;
    bool enough = false;
    for (size_t i = 0; i < found && !enough; i++) {
        const struct plan_candidate *from = &cands[moves[i].server].c[choice[moves[i].server].cand];
        const struct plan_candidate *to = &cands[moves[i].server].c[moves[i].cand];
        if (!fits(scratch, to, to->units))
            continue; /* an earlier move took that room */
        take(scratch, from, -from->units);
        take(scratch, to, to->units);
        *delta += moves[i].delta;
        moves[kept++] = moves[i];
        enough = plan_room_fits(scratch, t, need);
    }
    *n = kept;
    return enough;
}

struct repair {
    struct move *moves;          /* n_servers each */
    struct move *best;
    struct plan_room scratch;
};

/* Serves s by moving others out of the pools it needs, at the least added
 * value over its candidates; returns whether it worked. */
static bool repair_one(struct plan_room *room, const struct plan_candidates *cands, struct plan_choice *choice,
                       int s, struct repair *w)
{
    const struct plan_system *sys = room->sys;
    double best_total = INFINITY;
    int best_cand = -1;
    size_t best_n = 0;
    for (size_t k = 0; k < cands[s].n; k++) {
        const struct plan_candidate *c = &cands[s].c[k];
        size_t n;
        double delta;
        if (c->value >= best_total ||
            !find_moves(room, cands, choice, plan_room_type(sys, c), c->units, w->moves, &n, &delta, &w->scratch) ||
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
        take(room, from, -from->units);
        take(room, to, to->units);
        choice[m->server] = (struct plan_choice){m->cand, to->replicas};
    }
    const struct plan_candidate *c = &cands[s].c[best_cand];
    take(room, c, c->units);
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
static void smallest_first_group(struct plan_room *room, const struct plan_candidates *cands, int *pending,
                                 size_t n, struct plan_choice *choice)
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
            if (fits(room, c, c->units) && (pick < 0 || c->units < cands[s].c[pick].units))
                pick = (int)k;
        }
        if (pick < 0)
            continue;
        choice[s] = (struct plan_choice){pick, cands[s].c[pick].replicas};
        take(room, &cands[s].c[pick], cands[s].c[pick].units);
    }
    for (size_t i = 0; i < n; i++) {
        int s = pending[i];
        if (choice[s].cand < 0)
            continue;
        const struct plan_candidate *cur = &cands[s].c[choice[s].cand];
        for (int k = 0; k < choice[s].cand; k++) { /* cheaper ones come first */
            const struct plan_candidate *c = &cands[s].c[k];
            take(room, cur, -cur->units);
            if (!fits(room, c, c->units)) {
                take(room, cur, cur->units);
                continue;
            }
            take(room, c, c->units);
            choice[s] = (struct plan_choice){k, c->replicas};
            break;
        }
    }
}

enum greedy_way { GREEDY_REGRET, GREEDY_SMALLEST };

/* Runs one way of the greedy over all priority groups into choice. */
static void greedy_all(struct plan_room *room, const struct plan_candidates *cands, const int *order,
                       enum greedy_way way, int *pending, struct repair *w, struct plan_choice *choice)
{
    const struct plan_system *sys = room->sys;
    for (size_t s = 0; s < sys->n_servers; s++)
        choice[s] = (struct plan_choice){-1, 0};
    plan_room_clear(room);
    for (size_t i = 0; i < sys->n_servers;) {
        int priority = plan_server_priority(sys, order[i]);
        size_t first = i, k = 0;
        for (; i < sys->n_servers && plan_server_priority(sys, order[i]) == priority; i++)
            if (cands[order[i]].n > 0)
                pending[k++] = order[i];
        if (way == GREEDY_SMALLEST) {
            smallest_first_group(room, cands, pending, k, choice);
            continue;
        }
        greedy_group(room, cands, pending, k, choice);
        for (size_t j = first; j < i; j++)
            if (choice[order[j]].cand < 0 && cands[order[j]].n > 0)
                repair_one(room, cands, choice, order[j], w);
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
    struct repair w = {alloc_calloc(n, sizeof *w.moves), alloc_calloc(n, sizeof *w.best)};
    struct plan_room room;
    plan_room_init(&room, sys);
    plan_room_init(&w.scratch, sys);
    int rc = plan_priority_order(sys, &order, e);
    if (rc == 0) {
        greedy_all(&room, cands, order, GREEDY_REGRET, pending, &w, choice);
        greedy_all(&room, cands, order, GREEDY_SMALLEST, pending, &w, other);
        if (better(sys, cands, order, other, choice))
            memcpy(choice, other, sys->n_servers * sizeof *choice);
    }
    free(order);
    free(pending);
    free(other);
    plan_room_free(&room);
    plan_room_free(&w.scratch);
    free(w.moves);
    free(w.best);
    return rc;
}

/* PriorityExhaustive: each server left out, most important first, takes as
 * many replicas as still fit (up to what it needs) on the cheapest
 * candidate where at least one fits. */
static void saturate_exhaustive(struct plan_room *room, const struct plan_candidates *cands, const int *order,
                                struct plan_choice *choice)
{
    const struct plan_system *sys = room->sys;
    for (size_t i = 0; i < sys->n_servers; i++) {
        int s = order[i];
        if (choice[s].cand >= 0)
            continue;
        for (size_t k = 0; k < cands[s].n; k++) {
            const struct plan_candidate *c = &cands[s].c[k];
            long replicas = plan_room_fit_count(room, plan_room_type(sys, c), units_per_replica(c), c->replicas);
            if (replicas < 1)
                continue;
            choice[s] = (struct plan_choice){(int)k, (int)replicas};
            take(room, c, units_per_replica(c) * replicas);
            break;
        }
    }
}

/* One more replica for s if it can use one and one fits; its first replica
 * goes on the cheapest candidate that has room. */
static bool add_replica(struct plan_room *room, const struct plan_candidates *cs, struct plan_choice *ch)
{
    if (ch->cand < 0) {
        for (size_t k = 0; k < cs->n; k++) {
            if (fits(room, &cs->c[k], units_per_replica(&cs->c[k]))) {
                *ch = (struct plan_choice){(int)k, 1};
                take(room, &cs->c[k], units_per_replica(&cs->c[k]));
                return true;
            }
        }
        return false;
    }
    const struct plan_candidate *c = &cs->c[ch->cand];
    if (ch->replicas >= c->replicas || !fits(room, c, units_per_replica(c)))
        return false;
    ch->replicas++;
    take(room, c, units_per_replica(c));
    return true;
}

/* Round-robin over order[from .. to-1]: one replica per server per round,
 * until a round adds none. */
static void round_robin(struct plan_room *room, const struct plan_candidates *cands, const int *order,
                        size_t from, size_t to, const bool *starved, struct plan_choice *choice)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t i = from; i < to; i++) {
            int s = order[i];
            if (starved[s] && add_replica(room, &cands[s], &choice[s]))
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
    struct plan_room room;
    plan_room_init(&room, sys);
    plan_room_of_choices(&room, cands, choice);
    bool *starved = alloc_calloc(sys->n_servers ? sys->n_servers : 1, sizeof *starved);
    int rc = plan_priority_order(sys, &order, e);
    for (size_t s = 0; rc == 0 && s < sys->n_servers; s++)
        starved[s] = choice[s].cand < 0 && cands[s].n > 0;
    if (rc == 0 && policy == PLAN_SAT_PRIORITY_EXHAUSTIVE) {
        saturate_exhaustive(&room, cands, order, choice);
    } else if (rc == 0 && policy == PLAN_SAT_ROUND_ROBIN) {
        round_robin(&room, cands, order, 0, sys->n_servers, starved, choice);
    } else if (rc == 0) {
        for (size_t i = 0; i < sys->n_servers;) {
            size_t j = i;
            while (j < sys->n_servers && plan_server_priority(sys, order[j]) == plan_server_priority(sys, order[i]))
                j++;
            round_robin(&room, cands, order, i, j, starved, choice);
            i = j;
        }
    }
    free(order);
    plan_room_free(&room);
    free(starved);
    return rc;
}
