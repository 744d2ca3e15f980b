/*
 * Sizing a replica: the largest arrival rate one replica sustains while it
 * meets a service class's latency targets, found by bisection on the queueing
 * model. TTFT and ITL both grow with the arrival rate (more requests wait,
 * and the batch runs fuller), so the feasible rates form an interval
 * [0, rate*] and bisection finds its end.
 */
#ifndef GPUSLICE_PLANNER_SIZING_H
#define GPUSLICE_PLANNER_SIZING_H

#include "planner/batchqueue.h"
#include "util/err.h"

/* A replica is never planned above this share of its peak throughput: near
 * the peak the queue fills and small load changes cost large delays. */
#define SIZING_MAX_UTILISATION 0.95

struct sizing_targets {
    double ttft_ms; /* mean time to first token; 0 = no target */
    double itl_ms;  /* mean inter-token latency; 0 = no target */
};

/* Sets *rate to the largest arrival rate (requests/ms) at which q meets t,
 * at most SIZING_MAX_UTILISATION of its peak, within a relative 1e-6.
 * Returns -ERANGE, with a message saying which target and by how much, when
 * no rate meets the targets (a lone request already misses them), and
 * -EINVAL for a negative or NaN target. */
int sizing_max_rate(struct batchqueue *q, const struct sizing_targets *t, double *rate, struct err *e);

#endif
