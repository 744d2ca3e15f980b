/*
 * The seeded generator's distributions (rng.h).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "util/rng.h"

/* z of the standard normal's 99th percentile: a lognormal's sigma is
 * ln(p99 / median) / this. */
#define Z99 2.3263478740408408

double rng_normal(struct rng *r)
{
    double u = rng_open_unit(r), v = rng_unit(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

double rng_dist_draw(const struct rng_dist *d, struct rng *r)
{
    switch (d->kind) {
    case RNG_EXPONENTIAL:
        return d->mean > 0 ? rng_exponential(r, 1.0 / d->mean) : 0;
    case RNG_LOGNORMAL: {
        double sigma = d->median > 0 ? log(d->p99 / d->median) / Z99 : 0;
        return d->median * exp(sigma * rng_normal(r));
    }
    default:
        return d->mean;
    }
}

double rng_dist_min(const struct rng_dist *d)
{
    return d->kind == RNG_CONSTANT ? d->mean : 0;
}

double rng_dist_mean(const struct rng_dist *d)
{
    if (d->kind != RNG_LOGNORMAL)
        return d->mean;
    double sigma = d->median > 0 ? log(d->p99 / d->median) / Z99 : 0;
    return d->median * exp(sigma * sigma / 2);
}

int rng_dist_check(const struct rng_dist *d, char *why, size_t size)
{
    double a = d->kind == RNG_LOGNORMAL ? d->median : d->mean;
    double b = d->kind == RNG_LOGNORMAL ? d->p99 : 0;
    if (!isfinite(a) || !isfinite(b) || a < 0 || b < 0) {
        snprintf(why, size, "a distribution's parameters are finite and not negative");
        return -EINVAL;
    }
    if (d->kind == RNG_LOGNORMAL && (d->median <= 0 || d->p99 < d->median)) {
        snprintf(why, size, "a lognormal needs 0 < medianMs <= p99Ms");
        return -EINVAL;
    }
    return 0;
}
