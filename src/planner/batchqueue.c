/*
 * The birth-death chain of batchqueue.h: building the service rates from the
 * performance model, the stationary distribution in log space, and the
 * metrics. A solve is O(states kept) with no allocation, because the sizing
 * bisection solves the same chain a few dozen times per candidate.
 */
#include "planner/batchqueue.h"
#include "util/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* States below e^-40 of the most likely one are dropped (see the header). */
#define BATCHQUEUE_CUTOFF 4.248354255291589e-18
/* Weights are rescaled before they can overflow. */
#define BATCHQUEUE_RESCALE 1e250

int batchqueue_init(struct batchqueue *q, const struct perf_params *p, const struct perf_request *r,
                    int max_batch, int queue_len, struct err *e)
{
    memset(q, 0, sizeof *q);
    int rc;
    if ((rc = perfmodel_check(p, e)) || (rc = perfmodel_check_request(r, e)))
        return rc;
    if (max_batch < 1 || max_batch > PERFMODEL_MAX_BATCH)
        return err_set(e, -EINVAL, "batch size must be 1 .. %d, got %d", PERFMODEL_MAX_BATCH, max_batch);
    if (queue_len < 0 || queue_len > 16 * PERFMODEL_MAX_BATCH)
        return err_set(e, -EINVAL, "queue length must be 0 .. %d, got %d", 16 * PERFMODEL_MAX_BATCH,
                       queue_len);
    q->rate = alloc_malloc(sizeof *q->rate * (size_t)(max_batch + 1));
    q->inv_rate = alloc_malloc(sizeof *q->inv_rate * (size_t)(max_batch + 1));
    q->prob = alloc_calloc((size_t)(max_batch + queue_len + 1), sizeof *q->prob);
    q->perf = *p;
    q->req = *r;
    q->max_batch = max_batch;
    q->capacity = max_batch + queue_len;
    q->wait_scale = 0.5 * (1.0 + perfmodel_service_scv(p, r, max_batch));
    q->rate[0] = 0.0;
    q->inv_rate[0] = 0.0;
    for (int m = 1; m <= max_batch; m++) {
        q->rate[m] = (double)m / perfmodel_service_ms(p, r, m);
        q->inv_rate[m] = 1.0 / q->rate[m];
    }
    return 0;
}

void batchqueue_free(struct batchqueue *q)
{
    if (!q)
        return;
    free(q->rate);
    free(q->inv_rate);
    free(q->prob);
    q->rate = q->inv_rate = q->prob = NULL;
}

double batchqueue_peak_rate(const struct batchqueue *q)
{
    return q->rate[q->max_batch];
}

static int in_batch(const struct batchqueue *q, int n)
{
    return n < q->max_batch ? n : q->max_batch;
}

/* Fills q->prob[0..top] with unnormalised weights and returns top, the last
 * state kept. The weights are running products of lambda / mu(n), rescaled
 * by their running peak whenever they grow past 1e250, so no product
 * overflows and no exp() or log() is paid per state. The log-weights are
 * concave in n (mu is non-decreasing), so once they fall and are below
 * e^-40 of the peak every later state is smaller still. States above top
 * are kept at zero (only the ones the previous solve used are cleared). */
static int chain_weights(struct batchqueue *q, double lambda)
{
    double w = 1.0, peak = 1.0;
    int top = 0;
    q->prob[0] = 1.0;
    for (int n = 1; n <= q->capacity; n++) {
        double step = lambda * q->inv_rate[in_batch(q, n)];
        w *= step;
        q->prob[n] = w;
        top = n;
        if (w > peak) {
            peak = w;
            if (peak > BATCHQUEUE_RESCALE) {
                for (int i = 0; i <= n; i++)
                    q->prob[i] /= peak;
                w = peak = 1.0;
            }
        } else if (step <= 1.0 && w < peak * BATCHQUEUE_CUTOFF) {
            break;
        }
    }
    for (int n = top + 1; n <= q->top; n++)
        q->prob[n] = 0.0;
    q->top = top;
    return top;
}

/* The limit as lambda goes to 0: a lone request, served at batch size 1. */
static void idle_metrics(struct batchqueue *q, struct batchqueue_metrics *m)
{
    q->prob[0] = 1.0;
    for (int n = 1; n <= q->top; n++)
        q->prob[n] = 0.0;
    q->top = 0;
    m->concurrency = 1.0;
    m->entry_batch = 1.0;
    m->response_ms = perfmodel_service_ms(&q->perf, &q->req, 1.0);
}

int batchqueue_solve(struct batchqueue *q, double lambda, struct batchqueue_metrics *m, struct err *e)
{
    if (!isfinite(lambda) || lambda < 0.0)
        return err_set(e, -EINVAL, "arrival rate must be finite and >= 0, got %g", lambda);
    memset(m, 0, sizeof *m);
    m->lambda = lambda;
    if (lambda == 0.0) {
        idle_metrics(q, m);
    } else {
        int top = chain_weights(q, lambda);
        int full = q->max_batch;
        double z = 0, lq = 0, ls = 0, x = 0, xm = 0, entry = 0, admit = 0;
        for (int n = 0; n <= top; n++) {
            double w = q->prob[n];
            int k = in_batch(q, n);
            z += w;
            lq += (n - k) * w; /* apart from Ls: no cancellation at low load */
            ls += k * w;
            x += q->rate[k] * w;
            xm += q->rate[k] * k * w;
            if (n < q->capacity) {
                admit += w;
                entry += (n < full ? n + 1 : full) * w;
            }
        }
        for (int n = 0; n <= top; n++)
            q->prob[n] /= z;
        m->throughput = x / z;
        m->loss = top == q->capacity ? q->prob[top] : 0.0;
        m->in_system = (ls + lq) / z;
        m->in_service = ls / z;
        m->busy = 1.0 - q->prob[0];
        m->wait_ms = lq / x * q->wait_scale;
        m->response_ms = m->wait_ms + ls / x;
        m->concurrency = xm / x;
        m->entry_batch = entry / admit;
    }
    m->itl_ms = perfmodel_decode_ms(&q->perf, m->concurrency);
    m->ttft_ms = m->wait_ms + perfmodel_prefill_ms(&q->perf, q->req.in_tokens, m->entry_batch);
    m->utilisation = m->throughput / batchqueue_peak_rate(q);
    m->tokens_per_s = m->throughput * q->req.out_tokens * 1000.0;
    return 0;
}
