/*
 * The exact solver of solve.h, on GLPK. One binary column per (server,
 * candidate); a row per server (at most one candidate) and per capacity
 * type (units within the count). Priorities are lexicographic: each group,
 * most important first, has the number of its servers that get a candidate
 * maximised, and that number is then fixed with a row before the next
 * group; the last stage minimises the value (cost + transition penalty).
 * When every server's cheapest candidate fits at once, that is the optimum
 * and GLPK is not called.
 */
#include "planner/solve.h"
#include "util/alloc.h"

#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per stage; a stage that runs out returns its best solution so far. */
#define PLAN_MILP_TIME_LIMIT_MS 20000

struct milp {
    const struct plan_system *sys;
    const struct plan_candidates *cands;
    glp_prob *lp;
    int *first_col;              /* per server: its first column (1-based); candidates follow */
    int n_cols;
    int *ind;                    /* row-building scratch, 1-based, n_cols + 1 */
    double *val;
    bool optimal;
};

/* Sets *fits to whether every server's cheapest candidate fits at once
 * (then choice holds that optimum). */
static bool cheapest_fit(const struct plan_system *sys, const struct plan_candidates *cands,
                         struct plan_choice *choice)
{
    plan_solve_unlimited(sys, cands, choice);
    long *used = alloc_calloc(sys->n_types ? sys->n_types : 1, sizeof *used);
    for (size_t s = 0; s < sys->n_servers; s++)
        if (choice[s].cand >= 0)
            used[sys->accelerators[cands[s].c[0].acc].type] += cands[s].c[0].units;
    bool fits = true;
    for (size_t t = 0; t < sys->n_types; t++)
        if (used[t] > (sys->types[t].count > 0 ? sys->types[t].count : 0))
            fits = false;
    free(used);
    return fits;
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
        int row = (int)(sys->n_servers + t) + 1, n = 0;
        for (size_t s = 0; s < sys->n_servers; s++) {
            for (size_t k = 0; k < m->cands[s].n; k++) {
                const struct plan_candidate *c = &m->cands[s].c[k];
                if (sys->accelerators[c->acc].type != (int)t)
                    continue;
                m->ind[++n] = m->first_col[s] + (int)k;
                m->val[n] = (double)c->units;
            }
        }
        long count = sys->types[t].count > 0 ? sys->types[t].count : 0;
        glp_set_row_bnds(m->lp, row, GLP_UP, 0.0, (double)count);
        glp_set_mat_row(m->lp, row, n, m->ind, m->val);
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
    m->ind = alloc_calloc((size_t)m->n_cols + 1, sizeof *m->ind);
    m->val = alloc_calloc((size_t)m->n_cols + 1, sizeof *m->val);
    if (!(m->lp = glp_create_prob()))
        return err_set(e, -ENOMEM, "out of memory");
    glp_add_cols(m->lp, m->n_cols);
    for (int j = 1; j <= m->n_cols; j++)
        glp_set_col_kind(m->lp, j, GLP_BV);
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
    free(m.ind);
    free(m.val);
    return rc;
}
