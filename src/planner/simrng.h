/*
 * The random numbers of the planner's simulations: a generator that each
 * simulation owns and seeds, never a process-wide one, so that a run is a
 * function of its seed (the judge's replicas each get their own stream, and
 * the same seed replays the same requests).
 *
 * splitmix64: small, fast, and uniform enough for queueing simulations; not
 * for anything an adversary sees.
 */
#ifndef GPUSLICE_PLANNER_SIMRNG_H
#define GPUSLICE_PLANNER_SIMRNG_H

#include <math.h>
#include <stdint.h>

struct simrng {
    uint64_t state;
};

static inline struct simrng simrng_seeded(uint64_t seed)
{
    return (struct simrng){seed};
}

/* Uniform in (0, 1): never 0, so that log() of a draw is finite. */
static inline double simrng_uniform(struct simrng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1.0p-53;
}

/* Exponential with the given rate (mean 1 / rate). */
static inline double simrng_exponential(struct simrng *r, double rate)
{
    return -log(simrng_uniform(r)) / rate;
}

/* Geometric on {1, 2, ...} with the given mean (1 when mean <= 1). */
static inline long simrng_geometric(struct simrng *r, double mean)
{
    if (mean <= 1.0)
        return 1;
    return 1 + (long)floor(log(simrng_uniform(r)) / log(1.0 - 1.0 / mean));
}

#endif
