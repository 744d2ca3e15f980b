/*
 * The interference model (interference.h): the time of a unit of work
 * under sharing, and its fit to measurements.
 *
 * Each parameter has a closed-form least-squares fit on the points of its
 * own way, so a fit needs no solver and cannot fail to converge: the
 * switch overhead and the contention are slopes through a fixed point (one
 * pod costs exactly the time alone), and the exponent is a slope through
 * the origin in log space.
 */
#include "core/interference.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>

static double slowdown_of_share(const struct interference_model *m, double share)
{
    return pow(share, -m->exponent);
}

static int check_args(enum sharing_way way, double alone, unsigned pods, double share,
                      struct err *e)
{
    if (!(alone > 0) || !isfinite(alone))
        return err_set(e, -EINVAL, "interference: the time alone must be positive, not %g",
                       alone);
    if (pods == 0)
        return err_set(e, -EINVAL, "interference: at least one pod shares the GPU");
    if (way == SHARING_WHOLE && pods != 1)
        return err_set(e, -EINVAL, "interference: a whole GPU holds one pod, not %u", pods);
    if ((way == SHARING_MPS || way == SHARING_MIG) && !(share > 0 && share <= 1))
        return err_set(e, -EINVAL, "interference: a compute share is in (0, 1], not %g", share);
    return 0;
}

int interference_seconds(const struct interference_model *m, enum sharing_way way,
                         double alone, unsigned pods, double share, double *out, struct err *e)
{
    int rc = check_args(way, alone, pods, share, e);
    if (rc < 0)
        return rc;
    double others = (double)(pods - 1), ratio = 1;
    switch (way) {
    case SHARING_WHOLE:
        break;
    case SHARING_TIMESLICE:
        ratio = pods + m->switch_overhead * others;
        break;
    case SHARING_MPS:
        ratio = slowdown_of_share(m, share) * (1 + m->contention * others);
        break;
    case SHARING_MIG:
        ratio = slowdown_of_share(m, share);
        break;
    }
    *out = alone * ratio;
    return 0;
}

/* The mean time of one pod alone on a whole GPU; 0 when no point says. */
static double time_alone(const struct interference_point *p, size_t n)
{
    double sum = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        bool whole_gpu = p[i].way != SHARING_MIG && (p[i].way != SHARING_MPS || p[i].share == 1);
        if (p[i].pods == 1 && whole_gpu) {
            sum += p[i].seconds;
            count++;
        }
    }
    return count ? sum / count : 0;
}

/* The exponent: ln(ratio) = -exponent * ln(share) over MIG's points. */
static int fit_exponent(const struct interference_point *p, size_t n, double alone,
                        double *out, struct err *e)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].way == SHARING_MIG && p[i].share > 0 && p[i].share < 1) {
            double x = -log(p[i].share);
            num += x * log(p[i].seconds / alone);
            den += x * x;
        }
    if (den == 0)
        return err_set(e, -EINVAL, "interference: no MIG point on a slice smaller than the GPU "
                                   "to fit the exponent on");
    *out = num / den;
    return 0;
}

/* A slope through (1 pod, ratio base): ratio = base * (extra + slope * (k - 1)),
 * where extra is k for time-slicing and 1 for MPS. */
static int fit_slope(const struct interference_point *p, size_t n, enum sharing_way way,
                     const struct interference_model *m, double alone, double *out,
                     struct err *e)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].way != way || p[i].pods < 2)
            continue;
        double k = p[i].pods, others = k - 1;
        double share = way == SHARING_MPS ? p[i].share : 1;
        double ratio = p[i].seconds / alone / slowdown_of_share(m, share);
        num += others * (ratio - (way == SHARING_TIMESLICE ? k : 1));
        den += others * others;
    }
    if (den == 0)
        return err_set(e, -EINVAL, "interference: no %s point with several pods to fit on",
                       interference_way_name(way));
    *out = num / den;
    return 0;
}

int interference_fit(const struct interference_point *points, size_t n,
                     struct interference_model *out, double *alone_out, struct err *e)
{
    for (size_t i = 0; i < n; i++)
        if (!(points[i].seconds > 0) || points[i].pods == 0 || !(points[i].share > 0) ||
            points[i].share > 1)
            return err_set(e, -EINVAL, "interference: point %zu is not a measurement "
                           "(%u pods, share %g, %g s)", i, points[i].pods, points[i].share,
                           points[i].seconds);
    double alone = time_alone(points, n);
    if (alone == 0)
        return err_set(e, -EINVAL, "interference: no point with one pod alone on a whole GPU");
    struct interference_model m = {0};
    int rc = fit_exponent(points, n, alone, &m.exponent, e);
    if (rc == 0)
        rc = fit_slope(points, n, SHARING_TIMESLICE, &m, alone, &m.switch_overhead, e);
    if (rc == 0)
        rc = fit_slope(points, n, SHARING_MPS, &m, alone, &m.contention, e);
    if (rc < 0)
        return rc;
    *out = m;
    if (alone_out)
        *alone_out = alone;
    return 0;
}

const char *interference_way_name(enum sharing_way way)
{
    switch (way) {
    case SHARING_WHOLE:
        return "whole";
    case SHARING_TIMESLICE:
        return "timeslice";
    case SHARING_MPS:
        return "mps";
    case SHARING_MIG:
        return "mig";
    }
    return "unknown";
}
