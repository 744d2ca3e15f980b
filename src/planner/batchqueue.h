/*
 * The queueing model of one inference server replica that batches requests.
 *
 * A replica is a birth-death chain on n, the number of requests it holds:
 * arrivals are Poisson at rate lambda; up to N of the n requests are in the
 * batch (being served), the rest wait in a FIFO queue of Q places, and an
 * arrival that finds N + Q requests is lost. With m = min(n, N) requests in
 * the batch every one of them is served at the pace service(m) of
 * perfmodel.h sets, so requests leave at the state-dependent rate
 *   mu(n) = m / service(m)      (constant above n = N).
 * The chain treats each request's time in the batch as memoryless, the usual
 * abstraction for continuous batching (a request leaves after its own number
 * of tokens, not when a batch ends).
 *
 * The stationary distribution is p(n) ~ prod_{i<=n} lambda / mu(i). Its
 * running products are rescaled by their peak before they can overflow, so
 * batch sizes up to PERFMODEL_MAX_BATCH and queues ten times longer neither
 * overflow nor produce NaN; states whose probability is below e^-40 of the
 * largest are cut off (they change no metric beyond the 15th digit).
 *
 * From it, with X the throughput and d(), pf() the decode and prefill times:
 *   W    = (L - Ls) / X * (1 + c2) / 2       waiting time
 *   ITL  = sum p(n) mu(n) d(m) / X           = d(n_tok)
 *   TTFT = W + pf(n_entry)
 * ITL is the mean time between two output tokens over all tokens: in state n
 * the batch emits tokens at a rate proportional to mu(n) (each request that
 * leaves took out-1 decode steps), each such gap lasting d(m), so the mean
 * gap weighs d(m) by p(n) mu(n). Because d() is linear this is d() at the
 * token-weighted concurrency n_tok = sum p(n) mu(n) m / X.
 * W is Little's law on the queue, scaled by the Allen-Cunneen factor for
 * service times less variable than the chain's exponential ones: c2 is the
 * squared coefficient of variation of service(N) (perfmodel_service_scv;
 * waiting only happens behind a full batch) with geometric output lengths.
 * The deterministic prefill makes c2 < 1; without the factor the chain
 * overstates waiting by 5-8% at 90% utilisation against a simulation.
 * TTFT is the waiting time plus the prefill, which runs at the batch size the
 * request joins: an arrival that finds n < N requests (Poisson arrivals see
 * the stationary distribution) joins a batch of n + 1, one that has to wait
 * joins a full batch of N, so n_entry = E[min(n + 1, N) | not lost].
 */
#ifndef GPUSLICE_PLANNER_BATCHQUEUE_H
#define GPUSLICE_PLANNER_BATCHQUEUE_H

#include "planner/perfmodel.h"
#include "util/err.h"

/* The queue length the planner gives a replica: this many times its batch. */
#define BATCHQUEUE_QUEUE_RATIO 10

struct batchqueue {
    struct perf_params perf;
    struct perf_request req;
    int max_batch;  /* N */
    int capacity;   /* N + Q: the most requests a replica holds */
    double wait_scale; /* (1 + c2) / 2, see above */
    double *rate;   /* rate[m] = mu(m) in requests/ms, m = 0..N */
    double *inv_rate; /* 1 / mu(m), m = 1..N */
    double *prob;   /* p(0..capacity) of the last solve; cut-off states are 0 */
    int top;        /* the last state the last solve kept */
};

struct batchqueue_metrics {
    double lambda;       /* offered arrival rate, requests/ms */
    double throughput;   /* accepted and served, requests/ms */
    double loss;         /* probability an arrival finds no room */
    double in_system;    /* mean requests held, L */
    double in_service;   /* mean requests in the batch, Ls */
    double wait_ms;      /* mean time in the queue, W (scaled, see above) */
    double response_ms;  /* mean time from arrival to last token, W + Ls / X */
    double concurrency;  /* token-weighted batch size, n_tok */
    double entry_batch;  /* mean batch size a request joins, n_entry */
    double ttft_ms;      /* mean time to first token */
    double itl_ms;       /* mean inter-token latency */
    double utilisation;  /* throughput / mu(N): share of the replica's peak */
    double busy;         /* probability the replica holds any request */
    double tokens_per_s; /* output tokens per second */
};

/* Builds the chain of a replica with batch size max_batch (1 ..
 * PERFMODEL_MAX_BATCH) and a queue of queue_len places (0 .. 10 * max_batch
 * is the tested range; at most 16 * PERFMODEL_MAX_BATCH). Checks p and r.
 * On success the caller owns q and releases it with batchqueue_free(). */
int batchqueue_init(struct batchqueue *q, const struct perf_params *p, const struct perf_request *r,
                    int max_batch, int queue_len, struct err *e);

/* Releases what batchqueue_init() allocated; q may be zeroed or NULL. */
void batchqueue_free(struct batchqueue *q);

/* mu(N): the throughput a replica approaches when its batch is always full. */
double batchqueue_peak_rate(const struct batchqueue *q);

/* Solves the chain at arrival rate lambda (requests/ms, finite, >= 0) and
 * fills m; q->prob holds the distribution afterwards. -EINVAL on a bad rate. */
int batchqueue_solve(struct batchqueue *q, double lambda, struct batchqueue_metrics *m, struct err *e);

#endif
