/*
 * The optimizer's reading of the chain (compat.h): its metrics from
 * batchqueue_solve()'s stationary sums, and its bisection. Both targets are
 * monotone in the load (W and n_eff grow with it), so the largest rate
 * meeting both is the smaller of the largest meeting each, found by one
 * bisection on the worse of the two.
 */
#include "planner/compat.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#define COMPAT_TOLERANCE 1e-9

int compat_batch_size(const struct perf_params *p, const struct perf_request *r)
{
    double n = floor((double)p->max_batch * (double)p->at_tokens / r->out_tokens);
    if (!(n >= 1.0))
        return 1;
    return n > PERFMODEL_MAX_BATCH ? PERFMODEL_MAX_BATCH : (int)n;
}

int compat_queue_init(struct batchqueue *q, const struct perf_params *p, const struct perf_request *r, int n,
                      struct err *e)
{
    struct perf_params own = *p;
    if (r->in_tokens == 0.0)
        own.gamma = 0.0;
    return batchqueue_init(q, &own, r, n, BATCHQUEUE_QUEUE_RATIO * n, e);
}

/* The batch size whose service time is s: service() is linear in n. */
static double effective_concurrency(const struct batchqueue *q, double s)
{
    const struct perf_params *p = &q->perf;
    double steps = q->req.out_tokens - 1.0;
    double per_request = p->delta * q->req.in_tokens + p->beta * steps;
    double n = per_request > 0.0 ? (s - (p->gamma + p->alpha * steps)) / per_request : 0.0;
    if (!(n > 0.0))
        return 0.0;
    return n > q->max_batch ? q->max_batch : n;
}

int compat_solve(struct batchqueue *q, double lambda, struct compat_metrics *m, struct err *e)
{
    struct batchqueue_metrics b;
    int rc = batchqueue_solve(q, lambda, &b, e);
    if (rc)
        return rc;
    m->throughput = b.throughput;
    if (b.throughput > 0.0) {
        double t = b.in_system / b.throughput;
        m->service_ms = b.in_service / b.throughput;
        m->wait_ms = t > m->service_ms ? t - m->service_ms : 0.0;
    } else { /* no load: a lone request */
        m->service_ms = perfmodel_service_ms(&q->perf, &q->req, 1.0);
        m->wait_ms = 0.0;
    }
    m->n_eff = effective_concurrency(q, m->service_ms);
    m->ttft_ms = m->wait_ms + perfmodel_prefill_ms(&q->perf, q->req.in_tokens, m->n_eff);
    m->itl_ms = perfmodel_decode_ms(&q->perf, m->n_eff);
    m->utilisation = b.utilisation;
    return 0;
}

/* The worse metric/target ratio at lambda: <= 1 means every target is met. */
static double worst_ratio(struct batchqueue *q, const struct sizing_targets *t, double lambda,
                          struct compat_metrics *m)
{
    compat_solve(q, lambda, m, NULL);
    double worst = 0.0;
    if (t->ttft_ms > 0.0 && m->ttft_ms / t->ttft_ms > worst)
        worst = m->ttft_ms / t->ttft_ms;
    if (t->itl_ms > 0.0 && m->itl_ms / t->itl_ms > worst)
        worst = m->itl_ms / t->itl_ms;
    return worst;
}

static int out_of_reach(const struct sizing_targets *t, const struct compat_metrics *m, struct err *e)
{
    if (t->itl_ms > 0.0 && m->itl_ms > t->itl_ms)
        return err_set(e, -ERANGE, "ITL target %g ms is below the ITL at the lowest load (%.4g ms)", t->itl_ms,
                       m->itl_ms);
    return err_set(e, -ERANGE, "TTFT target %g ms is below the TTFT at the lowest load (%.4g ms)", t->ttft_ms,
                   m->ttft_ms);
}

/* Whether every rate in [lo, hi) needs the same replicas for load `need`:
 * X grows with the rate, so ceil(need / X) can only fall from lo to hi. */
static bool replicas_settled(double need, double x_lo, double x_hi)
{
    return need > 0.0 && x_lo > 0.0 && ceil(need / x_lo) == ceil(need / x_hi);
}

int compat_max_rate(struct batchqueue *q, const struct sizing_targets *t, double need, double *lambda,
                    double *throughput, struct err *e)
{
    if (!(t->ttft_ms >= 0.0) || !(t->itl_ms >= 0.0) || !isfinite(t->ttft_ms) || !isfinite(t->itl_ms))
        return err_set(e, -EINVAL, "targets must be finite numbers >= 0, got TTFT %g, ITL %g", t->ttft_ms,
                       t->itl_ms);
    struct compat_metrics m;
    double lo = COMPAT_RATE_LOW * q->rate[1], hi = COMPAT_RATE_HIGH * batchqueue_peak_rate(q);
    if (worst_ratio(q, t, lo, &m) > 1.0)
        return out_of_reach(t, &m, e);
    double x_lo = m.throughput;
    if (worst_ratio(q, t, hi, &m) <= 1.0) {
        *lambda = hi;
        *throughput = m.throughput;
        return 0;
    }
    double x_hi = m.throughput, width = hi * COMPAT_TOLERANCE;
    while (hi - lo > width && !replicas_settled(need, x_lo, x_hi)) {
        double mid = 0.5 * (lo + hi);
        if (worst_ratio(q, t, mid, &m) <= 1.0)
            lo = mid, x_lo = m.throughput;
        else
            hi = mid, x_hi = m.throughput;
    }
    *lambda = lo;
    *throughput = x_lo;
    return 0;
}
