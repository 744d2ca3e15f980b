/*
 * The judge: a discrete-event simulation of every server of a plan, to say
 * how its requests would really fare, whichever model planned it.
 *
 * Each replica is simulated on its own, as an inference engine that batches
 * continuously, iteration by iteration (vLLM's scheduler without chunked
 * prefill):
 *  - requests arrive as a Poisson stream at the server's load divided by its
 *    replicas: a Kubernetes Service spreads connections over the replicas
 *    at random, and a random split of a Poisson stream is Poisson; it is
 *    also what both models assume. A shared queue in front of the replicas
 *    would flatter every plan alike and hide where one is short;
 *  - between iterations, waiting requests (FIFO, no limit: a server queues,
 *    it does not drop) join while fewer than the plan's batch size run, and
 *    the k that join are prefilled together in one step of
 *    prefill(k) = gamma + delta * in * k; the first output token of each is
 *    out at its end (TTFT = end - arrival);
 *  - otherwise, with m requests running, one decode step of
 *    decode(m) = alpha + beta * m gives each of them one more token; a
 *    request leaves with its last token. Its ITL is the time from its first
 *    to its last token over out - 1: the prefill steps that ran meanwhile
 *    stall it, as they stall a real engine;
 *  - prompts take the server's average prompt tokens; output lengths are
 *    drawn geometric with its average (memoryless, as both models' chains
 *    assume, and real output lengths spread as widely), at least 1.
 * Arrivals run for a warm-up of a tenth of the simulated time, not measured,
 * then for the simulated time; the replica then drains, so every measured
 * request finishes, however late. Each replica draws from its own generator,
 * seeded from the run's seed, the server's name and the replica's index: the
 * same seed gives the same numbers, and one server's draws do not depend on
 * the others.
 *
 * A server's verdict: every target it has (a zero target is none) is met by
 * at least `percentile` % of its requests, which is the same as the
 * percentile's latency (nearest rank) being within the target. A server
 * that misses that but whose means are within the targets (what both
 * models promise) is "mean only". A server without replicas has all of its
 * requests (its load over the measured time) missing their targets.
 *
 * Pure computation in virtual time: no clock, no threads, no global state.
 */
#ifndef GPUSLICE_PLANNER_JUDGE_H
#define GPUSLICE_PLANNER_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "planner/perfmodel.h"
#include "planner/plan.h"
#include "util/err.h"

#define JUDGE_DEFAULT_SECONDS 3600.0
#define JUDGE_DEFAULT_SEED 1u
#define JUDGE_DEFAULT_PERCENTILE 95.0
#define JUDGE_WARMUP_SHARE 0.1
/* The most requests one run simulates (all servers, warm-up included), so
 * that a large --seconds cannot exhaust memory: about 32 bytes each. */
#define JUDGE_MAX_REQUESTS 100000000.0

struct judge_options {
    double seconds;              /* measured simulated time, > 0 */
    uint64_t seed;
    double percentile;           /* in (0, 100): the tail reported, and the share each target must hold for */
};

/* One measured request: TTFT, and ITL (NAN for a single output token: it
 * has no gap between tokens, and meets any ITL target). */
struct judge_request {
    double ttft_ms;
    double itl_ms;
};

/* The requests one simulation measured; the array is the caller's (free). */
struct judge_samples {
    struct judge_request *req;
    size_t n, cap;
};

/* One replica: its performance, its requests' average shape, its batch
 * size and its arrival rate (requests per ms). */
struct judge_replica {
    const struct perf_params *perf;
    struct perf_request req;
    int max_batch;
    double rate_per_ms;
};

/* Simulates one replica with the generator seeded by stream, appending the
 * measured requests to *out. -EINVAL for a rate or batch out of range. */
int judge_replica_run(const struct judge_replica *r, const struct judge_options *o, uint64_t stream,
                      struct judge_samples *out, struct err *e);

/* One latency over a set of requests. */
struct judge_metric {
    double mean_ms, tail_ms;     /* NAN without requests */
    double target_ms;            /* 0: no target */
    double attained;             /* share of the requests within the target; NAN without a target */
};

enum judge_verdict {
    JUDGE_MEETS,                 /* every target held for the percentile's share of requests */
    JUDGE_MEAN_ONLY,             /* the means are within the targets, the tail is not */
    JUDGE_MISSES,
    JUDGE_NO_TARGETS,            /* nothing to meet */
    JUDGE_NO_REPLICAS,           /* the plan gave it nothing: every request misses */
};

struct judge_stats {
    double requests;             /* measured (or, without replicas, its load over the measured time) */
    struct judge_metric ttft, itl;
    double attained;             /* share of requests meeting all of their targets */
    enum judge_verdict verdict;
};

/* Summarises samples against targets (0 = none) at the given percentile. */
void judge_stats_of(const struct judge_samples *s, double ttft_target_ms, double itl_target_ms,
                    double percentile, struct judge_stats *out);

struct judge_result {
    struct judge_stats *servers; /* one per server of the plan, same order */
    size_t n_servers;
    struct judge_stats overall;  /* all requests, each against its own server's targets
                                  * (the metric targets are 0 there) */
    size_t meeting;              /* servers that meet their targets (or have none) */
    double cost;                 /* the plan's, per hour */
    double seconds;              /* as judged */
    double percentile;
};

/* Simulates every server of plan (a plan of sys) and judges it. The caller
 * owns *out (judge_result_free). -EINVAL for options out of range or a run
 * over JUDGE_MAX_REQUESTS. */
int judge_plan(const struct plan_system *sys, const struct plan_result *plan, const struct judge_options *o,
               struct judge_result *out, struct err *e);

void judge_result_free(struct judge_result *r);

/* "meets", "mean only", "misses", "no targets", "no replicas". */
const char *judge_verdict_name(enum judge_verdict v);

#endif
