/*
 * The webhook's counters and its latency histogram, in the Prometheus text
 * format (version 0.0.4) that GET /metrics answers.
 *
 * Every counter is atomic: the server's worker threads record without a
 * lock, and a scrape reads each value once (a scrape racing a request may
 * see the request counted and its latency not yet, as with any Prometheus
 * client).
 */
#ifndef GPUSLICE_WEBHOOK_METRICS_H
#define GPUSLICE_WEBHOOK_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Upper bounds of the latency buckets, in microseconds; +Inf follows. */
#define METRICS_BUCKETS 12
#define METRICS_BUCKET_BOUNDS_US \
    {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000}

/* What one POST /mutate-pod came to. */
enum metrics_result {
    METRICS_ALLOWED = 0, /* allowed untouched */
    METRICS_PATCHED,     /* allowed with a patch */
    METRICS_DENIED,      /* allowed: false */
    METRICS_ERROR,       /* no review: 400, 413 or 500 */
    METRICS_RESULTS
};

struct metrics {
    atomic_uint_fast64_t results[METRICS_RESULTS];
    atomic_uint_fast64_t buckets[METRICS_BUCKETS + 1]; /* not cumulative; last: +Inf */
    atomic_uint_fast64_t latency_sum_ns;
    atomic_uint_fast64_t reloads, reload_failures;     /* certificate re-reads */
};

/* Zeroes every counter. */
void metrics_init(struct metrics *m);

/* Records one request's result and how long answering it took. */
void metrics_observe(struct metrics *m, enum metrics_result r, uint64_t elapsed_ns);

/* Records a certificate re-read that took effect (ok) or was refused. */
void metrics_reload(struct metrics *m, int ok);

/* The exposition text: *out is malloc'd (owned by the caller), NUL-terminated,
 * *len bytes. -ENOMEM. */
int metrics_render(struct metrics *m, char **out, size_t *len, struct err *e);

#endif
