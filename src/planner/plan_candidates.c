/*
 * The candidates of every server (solve.h): for each accelerator with
 * performance data for the server's model, size one replica with the
 * queueing model and count the replicas and the cost the load needs.
 * This is where the planner spends its time (a bisection on the chain per
 * candidate); the solvers only compare the numbers it leaves.
 */
#include "planner/solve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/compat.h"
#include "planner/sizing.h"
#include "util/alloc.h"

double plan_required_rate(const struct plan_server *s)
{
    double rate = s->rate_per_min / 60000.0;
    double tps_rate = s->target->tps / s->req.out_tokens / 1000.0;
    return tps_rate > rate ? tps_rate : rate;
}

/* Appends src to the string in dst (capacity cap), truncating. */
static void append(char *dst, size_t cap, const char *src)
{
    size_t used = strlen(dst), n = strnlen(src, cap - 1 - used);
    memcpy(dst + used, src, n);
    dst[used + n] = '\0';
}

/* "A100: ITL target ...; G2: ..." */
static void add_reason(char *reason, size_t cap, const char *acc, const char *why)
{
    if (reason[0])
        append(reason, cap, "; ");
    append(reason, cap, acc);
    append(reason, cap, ": ");
    append(reason, cap, why);
}

static double transition_penalty(const struct plan_system *sys, const struct plan_server *s,
                                 const struct plan_candidate *c)
{
    if (sys->options.transition_penalty <= 0.0 || s->current.acc < 0 || s->current.acc == c->acc)
        return 0.0;
    return sys->options.transition_penalty * (s->current.cost + c->cost);
}

/* gpuslice's model: the batch the KV cache holds for prompt and output, and
 * the largest rate meeting the targets (sizing.h). */
static int gpuslice_rate(const struct plan_server *s, const struct perf_params *p, int *batch, double *rate,
                         struct err *e)
{
    int n = s->max_batch ? s->max_batch : perfmodel_batch_limit(p, &s->req);
    struct batchqueue q;
    int rc = batchqueue_init(&q, p, &s->req, n, BATCHQUEUE_QUEUE_RATIO * n, e);
    if (rc)
        return rc;
    struct sizing_targets t = {.ttft_ms = s->target->ttft_ms, .itl_ms = s->target->itl_ms};
    rc = sizing_max_rate(&q, &t, rate, e);
    batchqueue_free(&q);
    *batch = n;
    return rc;
}

/* The optimizer's model (compat.h): a replica carries its throughput at
 * the largest rate meeting the targets. */
static int compatible_rate(const struct plan_server *s, const struct perf_params *p, int *batch, double *rate,
                           struct err *e)
{
    int n = s->max_batch ? s->max_batch : compat_batch_size(p, &s->req);
    struct batchqueue q;
    int rc = compat_queue_init(&q, p, &s->req, n, e);
    if (rc)
        return rc;
    struct sizing_targets t = {.ttft_ms = s->target->ttft_ms, .itl_ms = s->target->itl_ms};
    double lambda;
    rc = compat_max_rate(&q, &t, plan_required_rate(s), &lambda, rate, e);
    batchqueue_free(&q);
    *batch = n;
    return rc;
}

/* Sizes the server on one performance entry. 0 with *c filled, or -ERANGE
 * with the reason in e (a target out of reach, too many replicas). */
static int size_candidate(const struct plan_system *sys, const struct plan_server *s, int perf_index,
                          struct plan_candidate *c, struct err *e)
{
    const struct plan_perf *perf = &sys->perfs[perf_index];
    const struct plan_accelerator *acc = &sys->accelerators[perf->acc];
    int n = 0;
    double rate = 0.0;
    int rc = sys->options.model == PLAN_MODEL_COMPATIBLE ? compatible_rate(s, &perf->params, &n, &rate, e)
                                                         : gpuslice_rate(s, &perf->params, &n, &rate, e);
    if (rc)
        return rc;
    double replicas = ceil(plan_required_rate(s) / rate);
    if (replicas < s->min_replicas)
        replicas = s->min_replicas;
    if (replicas < 1)
        replicas = 1;
    if (replicas > PLAN_MAX_REPLICAS)
        return err_set(e, -ERANGE, "needs more than %d replicas", PLAN_MAX_REPLICAS);
    *c = (struct plan_candidate){
        .perf = perf_index,
        .acc = perf->acc,
        .max_batch = n,
        .rate_per_replica = rate,
        .replicas = (int)replicas,
        .units = (long)replicas * perf->acc_count * acc->multiplicity,
        .cost = acc->cost * perf->acc_count * replicas,
    };
    c->value = c->cost + transition_penalty(sys, s, c);
    return 0;
}

static int by_value(const void *a, const void *b)
{
    const struct plan_candidate *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->acc - y->acc;
}

static int build_one(const struct plan_system *sys, const struct plan_server *s, struct plan_candidates *out,
                     struct err *e)
{
    out->c = alloc_calloc(sys->n_perfs ? sys->n_perfs : 1, sizeof *out->c);
    for (size_t p = 0; p < sys->n_perfs; p++) {
        const struct plan_perf *perf = &sys->perfs[p];
        if (perf->model != s->model)
            continue;
        if (s->keep_accelerator && s->current.acc >= 0 && perf->acc != s->current.acc)
            continue;
        struct err why;
        err_clear(&why);
        int rc = size_candidate(sys, s, (int)p, &out->c[out->n], &why);
        if (rc == -ENOMEM)
            return err_set(e, rc, "%s", why.msg);
        if (rc)
            add_reason(out->reason, sizeof out->reason, sys->accelerators[perf->acc].name, why.msg);
        else
            out->n++;
    }
    if (out->n == 0 && out->reason[0] == '\0')
        snprintf(out->reason, sizeof out->reason, "%s",
                 s->keep_accelerator ? "no performance data on the accelerator it must keep"
                                     : "no performance data for its model");
    qsort(out->c, out->n, sizeof *out->c, by_value);
    return 0;
}

int plan_candidates_build(const struct plan_system *sys, struct plan_candidates **out, struct err *e)
{
    struct plan_candidates *all = alloc_calloc(sys->n_servers ? sys->n_servers : 1, sizeof *all);
    for (size_t i = 0; i < sys->n_servers; i++) {
        int rc = build_one(sys, &sys->servers[i], &all[i], e);
        if (rc) {
            plan_candidates_free(all, sys->n_servers);
            return rc;
        }
    }
    *out = all;
    return 0;
}

void plan_candidates_free(struct plan_candidates *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        free(c[i].c);
    free(c);
}
