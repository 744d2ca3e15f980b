/*
 * The exact solver of solve.h, on GLPK. One binary column per (server,
 * candidate); a row per server (at most one candidate) and per capacity
 * type (units within the count). Priorities are lexicographic: each group,
 * most important first, has the number of its servers that get a candidate
 * maximised, and that number is then fixed with a row before the next
 * group; the last stage minimises the value (cost + transition penalty).
 * A GPU pool (whole GPUs and the slice types cut from them, plan_room in
 * solve.h) gets one integer column per way of cutting one GPU (a maximal
 * set of its slice types' profiles that fits the MIG geometry, enumerated
 * with core/occupancy.h): the GPUs used whole plus the GPUs cut each way
 * are within the count, and the slices of each type used are within what
 * the cut GPUs hold. That is exact, where the greedy's first fit may judge
 * a pool full early.
 * When every server's cheapest candidate fits at once, that is the optimum
 * and GLPK is not called.
 */
#include "planner/solve.h"
#include "util/alloc.h"
#include "util/vec.h"

#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per stage; a stage that runs out returns its best solution so far. */
#define PLAN_MILP_TIME_LIMIT_MS 20000
/* Pools are enumerated for systems with at most this many types. */
#define PLAN_MILP_MAX_TYPES 64

/* One way to cut a GPU of a pool: how many slices of each slice type. */
struct cut {
    int gpus;                    /* the pool's GPU type */
    uint8_t n[PLAN_MILP_MAX_TYPES]; /* per type */
};

struct milp {
    const struct plan_system *sys;
    const struct plan_candidates *cands;
    glp_prob *lp;
    int *first_col;              /* per server: its first column (1-based); candidates follow */
    int n_cols;
    int n_x;                     /* the (server, candidate) columns: 1 .. n_x */
    struct cut *cuts;            /* the GPU pools' columns: n_x + 1 .. n_cols */
    size_t n_cuts, cap_cuts;
    int *ind;                    /* row-building scratch, 1-based, n_cols + 1 */
    double *val;
    bool optimal;
};

/* Whether every server's cheapest candidate fits at once (then choice
 * holds that optimum). */
static bool cheapest_fit(const struct plan_system *sys, const struct plan_candidates *cands,
                         struct plan_choice *choice)
{
    plan_solve_unlimited(sys, cands, choice);
    struct plan_room room;
    plan_room_init(&room, sys);
    plan_room_of_choices(&room, cands, choice);
    bool fits = plan_room_holds_all(&room);
    plan_room_free(&room);
    return fits;
}

/* Adds cut c unless a cut of the same pool already holds as much of every
 * type; drops the cuts it holds more than. */
static void add_cut(struct milp *m, const struct cut *c)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->n_cuts; i++) {
        const struct cut *o = &m->cuts[i];
        bool o_covers = o->gpus == c->gpus, c_covers = o->gpus == c->gpus;
        for (size_t t = 0; t < m->sys->n_types; t++) {
            o_covers = o_covers && o->n[t] >= c->n[t];
            c_covers = c_covers && c->n[t] >= o->n[t];
        }
        if (o_covers)
            return;
        if (!c_covers)
            m->cuts[kept++] = *o;
    }
    m->n_cuts = kept;
    VEC_RESERVE(m->cuts, m->cap_cuts, m->n_cuts + 1);
    m->cuts[m->n_cuts++] = *c;
}

/* Every way of cutting a GPU of the pool: slices of the room's slice types
 * from index `from` on, and of that one only at starts from min_start on
 * (so each placement set is reached in one order), at every free start. */
static void enumerate_cuts(struct milp *m, const struct plan_room *room, struct gpu_occupancy *gpu, size_t from,
                           unsigned min_start, struct cut *c)
{
    bool more = false;
    for (size_t i = from; i < room->n_slices; i++) {
        int t = room->slices[i];
        const struct mig_profile *p = m->sys->types[t].profile;
        uint8_t starts[MIG_MAX_PLACEMENTS];
        if (room->pool[t] != c->gpus)
            continue;
        unsigned n = occupancy_free_starts(gpu, p, starts);
        for (unsigned k = 0; k < n; k++) {
            if (i == from && starts[k] < min_start)
                continue;
            struct gpu_occupancy next = *gpu;
            occupancy_take(&next, p, starts[k], 0, NULL);
            c->n[t]++;
            enumerate_cuts(m, room, &next, i, starts[k] + 1u, c);
            c->n[t]--;
            more = true;
        }
    }
    if (!more)
        add_cut(m, c);
}

/* The cuts of every GPU pool of the system. */
static void find_cuts(struct milp *m)
{
    const struct plan_system *sys = m->sys;
    if (sys->n_types > PLAN_MILP_MAX_TYPES)
        return;
    struct plan_room room;
    plan_room_init(&room, sys);
    for (size_t i = 0; i < room.n_slices; i++) {
        int g = room.pool[room.slices[i]];
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen = seen || room.pool[room.slices[k]] == g;
        if (seen)
            continue;
        struct gpu_occupancy gpu;
        occupancy_init(&gpu, sys->types[g].gpu);
        struct cut c = {.gpus = g};
        enumerate_cuts(m, &room, &gpu, 0, 0, &c);
    }
    plan_room_free(&room);
}

static long row_bound(const struct plan_type *t)
{
    return t->count > 0 ? t->count : 0;
}

/* The (server, candidate) columns of type t with their units into ind and
 * val from 1; returns how many. */
static int type_columns(struct milp *m, int t)
{
    const struct plan_system *sys = m->sys;
    int n = 0;
    for (size_t s = 0; s < sys->n_servers; s++) {
        for (size_t k = 0; k < m->cands[s].n; k++) {
            const struct plan_candidate *c = &m->cands[s].c[k];
            if (sys->accelerators[c->acc].type != t)
                continue;
            m->ind[++n] = m->first_col[s] + (int)k;
            m->val[n] = (double)c->units;
        }
    }
    return n;
}

/* Slices of type t used <= the slices of t the cut GPUs hold. */
static void add_slice_row(struct milp *m, int t)
{
    int n = type_columns(m, t);
    for (size_t i = 0; i < m->n_cuts; i++)
        if (m->cuts[i].n[t] > 0) {
            m->ind[++n] = m->n_x + 1 + (int)i;
            m->val[n] = -(double)m->cuts[i].n[t];
        }
    int row = glp_add_rows(m->lp, 1);
    glp_set_row_bnds(m->lp, row, GLP_UP, 0.0, 0.0);
    glp_set_mat_row(m->lp, row, n, m->ind, m->val);
}

static void add_rows(struct milp *m)
{
    const struct plan_system *sys = m->sys;
    glp_add_rows(m->lp, (int)(sys->n_servers + sys->n_types));
    for (size_t s = 0; s < sys->n_servers; s++) {
        int row = (int)s + 1, n = 0;
        for (size_t k = 0; k < m->cands[s].n; k++) {
            m->ind[++n] = m->first_col[s] + (int)k;
            m->val[n] = 1.0;
        }
        glp_set_row_bnds(m->lp, row, GLP_UP, 0.0, 1.0);
        glp_set_mat_row(m->lp, row, n, m->ind, m->val);
    }
    for (size_t t = 0; t < sys->n_types; t++) {
        int row = (int)(sys->n_servers + t) + 1, n = type_columns(m, (int)t);
        for (size_t i = 0; i < m->n_cuts; i++) /* a GPU cut is a GPU not used whole */
            if (m->cuts[i].gpus == (int)t) {
                m->ind[++n] = m->n_x + 1 + (int)i;
                m->val[n] = 1.0;
            }
        bool own_limit = sys->types[t].count >= 0 || plan_type_gpus(sys, (int)t) < 0;
        glp_set_row_bnds(m->lp, row, own_limit ? GLP_UP : GLP_FR, 0.0, (double)row_bound(&sys->types[t]));
        glp_set_mat_row(m->lp, row, n, m->ind, m->val);
        if (plan_type_gpus(sys, (int)t) >= 0)
            add_slice_row(m, (int)t);
    }
}

/* GLPK aborts the process on an empty glp_add_rows/cols, so this runs only
 * with at least one column (hence one server and one type). */
static int build(struct milp *m, struct err *e)
{
    const struct plan_system *sys = m->sys;
    m->first_col = alloc_calloc(sys->n_servers ? sys->n_servers : 1, sizeof *m->first_col);
    for (size_t s = 0; s < sys->n_servers; s++) {
        m->first_col[s] = m->n_cols + 1;
        m->n_cols += (int)m->cands[s].n;
    }
    m->n_x = m->n_cols;
    find_cuts(m);
    m->n_cols += (int)m->n_cuts;
    m->ind = alloc_calloc((size_t)m->n_cols + 1, sizeof *m->ind);
    m->val = alloc_calloc((size_t)m->n_cols + 1, sizeof *m->val);
    if (!(m->lp = glp_create_prob()))
        return err_set(e, -ENOMEM, "out of memory");
    glp_add_cols(m->lp, m->n_cols);
    for (int j = 1; j <= m->n_x; j++)
        glp_set_col_kind(m->lp, j, GLP_BV);
    for (size_t i = 0; i < m->n_cuts; i++) {
        int j = m->n_x + 1 + (int)i;
        glp_set_col_kind(m->lp, j, GLP_IV);
        long gpus = row_bound(&sys->types[m->cuts[i].gpus]);
        glp_set_col_bnds(m->lp, j, gpus > 0 ? GLP_DB : GLP_FX, 0.0, (double)gpus);
    }
    add_rows(m);
    return 0;
}

/* Solves with the objective set; leaves the solution in the problem. */
static int solve(struct milp *m, struct err *e)
{
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.presolve = GLP_ON;
    parm.msg_lev = GLP_MSG_OFF;
    parm.tm_lim = PLAN_MILP_TIME_LIMIT_MS;
    int rc = glp_intopt(m->lp, &parm);
    int status = glp_mip_status(m->lp);
    if (rc == GLP_ETMLIM && status == GLP_FEAS) {
        m->optimal = false;
        return 0;
    }
    if (rc != 0 || status != GLP_OPT)
        return err_set(e, -EIO, "GLPK failed (glp_intopt %d, status %d)", rc, status);
    return 0;
}

static void set_objective(struct milp *m, int dir, int priority)
{
    const struct plan_system *sys = m->sys;
    glp_set_obj_dir(m->lp, dir);
    for (size_t s = 0; s < sys->n_servers; s++) {
        for (size_t k = 0; k < m->cands[s].n; k++) {
            double coef = dir == GLP_MIN ? m->cands[s].c[k].value
                                         : plan_server_priority(sys, (int)s) == priority ? 1.0 : 0.0;
            glp_set_obj_coef(m->lp, m->first_col[s] + (int)k, coef);
        }
    }
}

/* Maximises how many servers of this priority are served, then fixes it. */
static int stage(struct milp *m, int priority, struct err *e)
{
    const struct plan_system *sys = m->sys;
    set_objective(m, GLP_MAX, priority);
    int rc = solve(m, e);
    if (rc)
        return rc;
    double served = floor(glp_mip_obj_val(m->lp) + 0.5);
    int row = glp_add_rows(m->lp, 1), n = 0;
    for (size_t s = 0; s < sys->n_servers; s++) {
        if (plan_server_priority(sys, (int)s) != priority)
            continue;
        for (size_t k = 0; k < m->cands[s].n; k++) {
            m->ind[++n] = m->first_col[s] + (int)k;
            m->val[n] = 1.0;
        }
    }
    glp_set_row_bnds(m->lp, row, GLP_LO, served, 0.0);
    glp_set_mat_row(m->lp, row, n, m->ind, m->val);
    return 0;
}

static int run_stages(struct milp *m, struct err *e)
{
    int *order = NULL, rc = plan_priority_order(m->sys, &order, e);
    for (size_t i = 0; rc == 0 && i < m->sys->n_servers; i++) {
        int priority = plan_server_priority(m->sys, order[i]);
        if (i == 0 || priority != plan_server_priority(m->sys, order[i - 1]))
            rc = stage(m, priority, e);
    }
    free(order);
    if (rc == 0) {
        set_objective(m, GLP_MIN, 0);
        rc = solve(m, e);
    }
    return rc;
}

static void read_choice(const struct milp *m, struct plan_choice *choice)
{
    for (size_t s = 0; s < m->sys->n_servers; s++) {
        choice[s] = (struct plan_choice){-1, 0};
        for (size_t k = 0; k < m->cands[s].n; k++) {
            if (glp_mip_col_val(m->lp, m->first_col[s] + (int)k) > 0.5) {
                choice[s] = (struct plan_choice){(int)k, m->cands[s].c[k].replicas};
                break;
            }
        }
    }
}

int plan_solve_milp(const struct plan_system *sys, const struct plan_candidates *cands,
                    struct plan_choice *choice, bool *optimal, struct err *e)
{
    *optimal = true;
    if (cheapest_fit(sys, cands, choice))
        return 0;
    int rc;
    /* Something does not fit, so some server has a candidate: columns > 0. */
    struct milp m = {.sys = sys, .cands = cands, .optimal = true};
    if ((rc = build(&m, e)) == 0 && (rc = run_stages(&m, e)) == 0) {
        read_choice(&m, choice);
        *optimal = m.optimal;
    }
    if (m.lp)
        glp_delete_prob(m.lp);
    free(m.first_col);
    free(m.cuts);
    free(m.ind);
    free(m.val);
    return rc;
}
