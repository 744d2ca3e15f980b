/*
 * The one seeded random number generator: splitmix64, a full-period
 * sequence whose output function is also a good 64-bit mixer, so the same
 * code draws numbers, derives identifiers from (seed, tag, n) and seeds
 * sub-streams. Every user owns its generator (never a process-wide one), so
 * a run is a function of its seed: the mem store's uids, the emulated
 * device's UUIDs and fault draws, the planner's and the simulator's
 * workloads. Not for anything an adversary sees (util/random.h is).
 *
 * Distributions (struct rng_dist) are what scenario files and device
 * models name: a constant, an exponential by its mean, a lognormal by its
 * median and 99th percentile.
 */
#ifndef GPUSLICE_UTIL_RNG_H
#define GPUSLICE_UTIL_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define RNG_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

struct rng {
    uint64_t state;
};

/* splitmix64's output function: a bijective 64-bit mix. */
static inline uint64_t rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A number derived from (seed, tag, n): no two tags of one seed collide,
 * so one seed can name many independent things. */
static inline uint64_t rng_derive(uint64_t seed, uint64_t tag, uint64_t n)
{
    return rng_mix(seed +
                   RNG_GOLDEN * (1 + rng_mix(tag + RNG_GOLDEN * (1 + rng_mix(n + RNG_GOLDEN)))));
}

static inline struct rng rng_seeded(uint64_t seed)
{
    return (struct rng){seed};
}

static inline uint64_t rng_next(struct rng *r)
{
    return rng_mix(r->state += RNG_GOLDEN);
}

/* Uniform in [0, 1), 53 bits. */
static inline double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

/* Uniform in (0, 1): never 0, so that log() of a draw is finite. */
static inline double rng_open_unit(struct rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) * 0x1p-53;
}

/* Exponential with the given rate (mean 1 / rate). Inline: the planner's
 * simulations draw millions. */
static inline double rng_exponential(struct rng *r, double rate)
{
    return -log(rng_open_unit(r)) / rate;
}

/* Geometric on {1, 2, ...} with the given mean (1 when mean <= 1). */
static inline long rng_geometric(struct rng *r, double mean)
{
    if (mean <= 1.0)
        return 1;
    return 1 + (long)floor(log(rng_open_unit(r)) / log(1.0 - 1.0 / mean));
}

/* Standard normal (Box-Muller, one of the pair). */
double rng_normal(struct rng *r);

enum rng_dist_kind {
    RNG_CONSTANT = 0,
    RNG_EXPONENTIAL, /* by its mean */
    RNG_LOGNORMAL,   /* by its median and its 99th percentile */
};

struct rng_dist {
    enum rng_dist_kind kind;
    double mean;   /* constant: the value; exponential: the mean */
    double median; /* lognormal */
    double p99;    /* lognormal, >= median */
};

#define RNG_CONST(v) ((struct rng_dist){.kind = RNG_CONSTANT, .mean = (v)})

/* One draw of d (a constant draws nothing from r). Never negative for a
 * valid d (rng_dist_check). */
double rng_dist_draw(const struct rng_dist *d, struct rng *r);

/* The smallest value d can draw (0 for the exponential): what a lower
 * bound may count on. */
double rng_dist_min(const struct rng_dist *d);

/* The mean of d. */
double rng_dist_mean(const struct rng_dist *d);

/* 0 when d is a distribution (finite, non-negative parameters; a lognormal's
 * p99 at least its median); -EINVAL otherwise, with why[size] saying what. */
int rng_dist_check(const struct rng_dist *d, char *why, size_t size);

#endif
