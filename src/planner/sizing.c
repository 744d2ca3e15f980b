/*
 * The bisection of sizing.h. Both targets are folded into one monotone
 * function, the worst ratio of metric to target, so one bisection serves any
 * combination of targets.
 */
#include "planner/sizing.h"

#include <math.h>
#include <stddef.h>

#define SIZING_TOLERANCE 1e-6

static int check_target(double v, const char *name, struct err *e)
{
    if (!isfinite(v) || v < 0.0)
        return err_set(e, -EINVAL, "%s target must be a finite number >= 0, got %g", name, v);
    return 0;
}

/* The worst metric/target ratio at lambda: <= 1 means every target is met. */
static double worst_ratio(struct batchqueue *q, const struct sizing_targets *t, double lambda)
{
    struct batchqueue_metrics m;
    batchqueue_solve(q, lambda, &m, NULL);
    double worst = 0.0;
    if (t->ttft_ms > 0.0 && m.ttft_ms / t->ttft_ms > worst)
        worst = m.ttft_ms / t->ttft_ms;
    if (t->itl_ms > 0.0 && m.itl_ms / t->itl_ms > worst)
        worst = m.itl_ms / t->itl_ms;
    return worst;
}

/* Says which target a lone request already misses. */
static int unreachable(struct batchqueue *q, const struct sizing_targets *t, struct err *e)
{
    struct batchqueue_metrics m;
    batchqueue_solve(q, 0.0, &m, NULL);
    if (t->itl_ms > 0.0 && m.itl_ms > t->itl_ms)
        return err_set(e, -ERANGE, "ITL target %g ms is below the ITL of a lone request (%.4g ms)",
                       t->itl_ms, m.itl_ms);
    if (t->ttft_ms > 0.0 && m.ttft_ms > t->ttft_ms)
        return err_set(e, -ERANGE, "TTFT target %g ms is below the TTFT of a lone request (%.4g ms)",
                       t->ttft_ms, m.ttft_ms);
    return err_set(e, -ERANGE, "the targets are met by a lone request but by no sustained load");
}

int sizing_max_rate(struct batchqueue *q, const struct sizing_targets *t, double *rate, struct err *e)
{
    int rc;
    if ((rc = check_target(t->ttft_ms, "TTFT", e)) || (rc = check_target(t->itl_ms, "ITL", e)))
        return rc;
    double hi = SIZING_MAX_UTILISATION * batchqueue_peak_rate(q);
    if (worst_ratio(q, t, 0.0) > 1.0)
        return unreachable(q, t, e);
    if (worst_ratio(q, t, hi) <= 1.0) {
        *rate = hi;
        return 0;
    }
    double lo = 0.0, width = hi * SIZING_TOLERANCE;
    while (hi - lo > width) {
        double mid = 0.5 * (lo + hi);
        if (worst_ratio(q, t, mid) <= 1.0)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == 0.0)
        return unreachable(q, t, e);
    *rate = lo;
    return 0;
}
