/*
 * The performance model of one inference server replica: how long a decode
 * step and a prefill take for a given model on a given accelerator, as the
 * linear fits the inference-optimizer's model data carries, and how large a
 * batch the accelerator's memory holds for a given request shape.
 *
 * Times are in milliseconds. At batch size n (the number of requests being
 * served together):
 *   decode(n)      = alpha + beta * n                 one output token
 *   prefill(n, k)  = gamma + delta * k * n            the prompt of k tokens
 *   service(n)     = prefill(n, in) + (out - 1) * decode(n)
 * service(n) is the time one request spends in the batch when the batch stays
 * at n: the prefill produces the first output token, every further token
 * costs one decode step.
 */
#ifndef GPUSLICE_PLANNER_PERFMODEL_H
#define GPUSLICE_PLANNER_PERFMODEL_H

#include "util/err.h"

/* The largest batch the queueing model accepts; bounds its state space. */
#define PERFMODEL_MAX_BATCH 1024

struct perf_params {
    double alpha;     /* decode ms, base */
    double beta;      /* decode ms per request in the batch */
    double gamma;     /* prefill ms, base */
    double delta;     /* prefill ms per prompt token per request in the batch */
    int max_batch;    /* the largest useful batch ... */
    int at_tokens;    /* ... measured with requests of this many tokens */
};

/* The average request a server sees. */
struct perf_request {
    double in_tokens;  /* prompt tokens */
    double out_tokens; /* generated tokens, >= 1 */
};

double perfmodel_decode_ms(const struct perf_params *p, double n);
double perfmodel_prefill_ms(const struct perf_params *p, double in_tokens, double n);
double perfmodel_service_ms(const struct perf_params *p, const struct perf_request *r, double n);

/* The squared coefficient of variation of service(n) when output lengths are
 * geometric with mean out_tokens (the memoryless shape the queueing model
 * assumes): the decode part varies as d^2 * out * (out - 1), the prefill not
 * at all. Below 1 as soon as the prefill is a visible share of the service. */
double perfmodel_service_scv(const struct perf_params *p, const struct perf_request *r, double n);

/* The batch size a replica can run for requests of shape r: max_batch scaled
 * by at_tokens / (in + out), because the KV cache holds every token of every
 * request in the batch, prompt and output alike. At least 1, at most
 * PERFMODEL_MAX_BATCH. */
int perfmodel_batch_limit(const struct perf_params *p, const struct perf_request *r);

/* 0 when every parameter is finite and in range (alpha > 0, beta, gamma,
 * delta >= 0, max_batch and at_tokens >= 1); otherwise -EINVAL naming the
 * field ("decodeParms.alpha must be > 0, got -1"). */
int perfmodel_check(const struct perf_params *p, struct err *e);

/* The same for a request: in_tokens >= 0, out_tokens >= 1, both finite. */
int perfmodel_check_request(const struct perf_request *r, struct err *e);

#endif
