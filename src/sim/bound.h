/*
 * A lower bound on a scenario's makespan (first pod created to last pod
 * ended), from the scenario alone, with the formula that reached it in
 * words; docs/simulator.md says why each term is a bound.
 *
 * Let c, d and r be the least create, destroy and run times the scenario's
 * distributions allow (their constants, or 0).
 *
 * Identical pods (every item a batch of one profile, all at one instant):
 * the larger of
 *   slots:  k (c + r) + (k - 1) d with k = ceil(N / P), P the placements of
 *           the profile free at once on the cluster: some placement serves
 *           k pods one after another, each made, run, and (but the last)
 *           destroyed before the next can be made there;
 *   device: m c + max(0, m - Pg) d + r with m = ceil(N / G), G the GPUs
 *           that can hold the profile, Pg the most placements one of them
 *           has: some GPU hosts m pods, its changes run one at a time, and
 *           before its last create ends it has made m slices and destroyed
 *           all but Pg; that pod still runs r.
 * Otherwise (mixed, spread in time, Jobs, Deployments, Poisson) the
 * largest of
 *   longest: a batch's offset + c + r (its pods cannot end sooner), a Job's
 *            offset + ceil(completions / parallelism) (c + r), a
 *            Deployment's deleteAt;
 *   capacity: the memory slice-seconds of the batches' pods, each holding
 *            its profile's smallest slice for at least c + r, over the
 *            memory slices gpuslice may use.
 * Poisson items add nothing: their pods are random, and a bound holds for
 * every draw.
 * When a namespace keeps slices warm (gpuslice.dev/keep-warm), a pod may
 * take over a slice made for an earlier one: identical pods are bound by
 * c + k r (the first pod of each placement needs its create), and the
 * mixed terms count no create.
 */
#ifndef GPUSLICE_SIM_BOUND_H
#define GPUSLICE_SIM_BOUND_H

#include "sim/scenario.h"

struct bound {
    double seconds;
    char formula[512];
};

/* Computes the bound of sc into *out (0 s for an empty workload). */
void bound_compute(const struct scenario *sc, struct bound *out);

/* The placements of profile (a name) free at once on GPU g of c: a copy of
 * its occupancy filled from the lowest start (equal sizes: the most); 0
 * when the GPU is held back, does not allow the profile or its model has
 * none. */
unsigned bound_placements(const struct placement_cluster *c, size_t g, const char *profile);

#endif
