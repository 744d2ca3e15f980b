/*
 * The inference optimizer's own model of a replica, so that gpuslice can
 * give its users the answers they already get (the compatible model of
 * docs/planner.md). It reads the same birth-death chain as batchqueue.h
 * (states 0 .. K = 11 N, service rate n / service(n) with n in the batch,
 * constant above N), but differently:
 *  - the batch N = max(floor(maxBatchSize * atTokens / out), 1): only output
 *    tokens are counted against the measured batch;
 *  - from the chain's throughput X, mean time in system T and in service S,
 *    the waiting time W = max(T - S, 0), without gpuslice's correction for
 *    service less variable than exponential;
 *  - one effective concurrency n_eff, the batch size whose service time is
 *    S, clamped to [0, N]; TTFT = W + prefill(n_eff), ITL = decode(n_eff);
 *  - a prompt of 0 tokens has no prefill (gamma too is dropped);
 *  - the largest arrival rate meeting the targets is searched between
 *    0.001 mu(1) and 0.999 mu(N), and a replica is credited with the
 *    throughput X at that rate.
 * gpuslice's own reading (batchqueue.h) judges ITL per token and TTFT at the
 * batch a request joins; the two are compared with `plan --compare`.
 */
#ifndef GPUSLICE_PLANNER_COMPAT_H
#define GPUSLICE_PLANNER_COMPAT_H

#include "planner/batchqueue.h"
#include "planner/sizing.h"
#include "util/err.h"

/* The ends of the search for a replica's largest rate, as shares of mu(1)
 * and mu(N). */
#define COMPAT_RATE_LOW 0.001
#define COMPAT_RATE_HIGH 0.999

struct compat_metrics {
    double throughput;   /* X, requests/ms */
    double wait_ms;      /* W */
    double service_ms;   /* S */
    double n_eff;        /* effective concurrency */
    double ttft_ms;
    double itl_ms;
    double utilisation;  /* X / mu(N) */
};

/* The optimizer's batch size for requests of shape r, at most
 * PERFMODEL_MAX_BATCH (the chain's bound). */
int compat_batch_size(const struct perf_params *p, const struct perf_request *r);

/* Builds the optimizer's chain of a replica with batch n (queue 10 n) into
 * q: p with the prefill dropped for empty prompts. Ownership as
 * batchqueue_init(). */
int compat_queue_init(struct batchqueue *q, const struct perf_params *p, const struct perf_request *r, int n,
                      struct err *e);

/* The optimizer's metrics of q at arrival rate lambda (requests/ms). */
int compat_solve(struct batchqueue *q, double lambda, struct compat_metrics *m, struct err *e);

/* The largest rate lambda* in [0.001 mu(1), 0.999 mu(N)] at which q meets t
 * (a zero target is none), within a relative 1e-9, and the replica's
 * throughput X(lambda*) into *throughput. With need > 0 (the server's load,
 * requests/ms) the search stops as soon as every rate left gives the same
 * replicas ceil(need / X): *lambda and *throughput are then the feasible
 * end of the interval left, at most one replica's worth below the exact
 * ones, and the replica count is the exact one. -ERANGE naming the target
 * when not even the low end meets it. */
int compat_max_rate(struct batchqueue *q, const struct sizing_targets *t, double need, double *lambda,
                    double *throughput, struct err *e);

#endif
