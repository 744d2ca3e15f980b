/*
 * The queueing model against a discrete-event simulation of the batched
 * server it abstracts.
 *
 * The simulated replica works request by request, not by rates: requests
 * arrive as a Poisson stream; up to N are in the batch, the rest wait FIFO
 * in a queue of Q places. A request in the batch first runs its prefill
 * (one step of length prefill(n, in)) and then its decode steps, one per
 * further output token, each of length decode(n), where n is the batch size
 * at that moment: when n changes mid-step, the step's remaining part runs at
 * the new pace. Output lengths are geometric with the model's mean, the
 * memoryless shape the chain assumes. TTFT is measured from arrival to the
 * end of the prefill, ITL as decode time over decode tokens, over all
 * requests after a warm-up.
 *
 * Since every request in the same phase progresses at the same pace, a
 * phase's end is a point on that phase's virtual clock (the integral of
 * 1 / step length), and an event costs O(log N), not O(tokens).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "planner/batchqueue.h"
#include "util/rng.h"


struct job {
    double arrival;
    double decode_start;
    double finish_tag; /* on the clock of its phase */
    long tokens;       /* output tokens */
    int counted;       /* arrived after the warm-up */
};

struct sim_result {
    double ttft_ms, itl_ms;
};

/* Every prefill is one unit of work on the prefill clock, so prefills end in
 * the order they start (a FIFO); decodes end in order of their tags (a
 * min-heap). Both hold indices into the slots of the batch. */
struct sim {
    int max_batch, queue_len;
    struct job *slot;   /* max_batch jobs */
    int *free_slots, n_free;
    int *prefill, pf_head, pf_len;
    int *decode, n_decode;
    struct job *queue;  /* ring of queue_len waiting jobs */
    int q_head, q_len;
    double clock_prefill, clock_decode;
    double ttft_sum, decode_time, decode_tokens;
    long ttft_count;
};

static int sim_in_batch(const struct sim *s)
{
    return s->max_batch - s->n_free;
}

static void heap_push(struct sim *s, int id)
{
    int i = s->n_decode++;
    while (i > 0 && s->slot[s->decode[(i - 1) / 2]].finish_tag > s->slot[id].finish_tag) {
        s->decode[i] = s->decode[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->decode[i] = id;
}

static void heap_pop(struct sim *s)
{
    int last = s->decode[--s->n_decode], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= s->n_decode)
            break;
        if (c + 1 < s->n_decode && s->slot[s->decode[c + 1]].finish_tag < s->slot[s->decode[c]].finish_tag)
            c++;
        if (s->slot[s->decode[c]].finish_tag >= s->slot[last].finish_tag)
            break;
        s->decode[i] = s->decode[c];
        i = c;
    }
    s->decode[i] = last;
}

static void sim_enter(struct sim *s, struct job j)
{
    int id = s->free_slots[--s->n_free];
    j.finish_tag = s->clock_prefill + 1.0;
    s->slot[id] = j;
    s->prefill[(s->pf_head + s->pf_len++) % s->max_batch] = id;
}

static void sim_leave(struct sim *s, int id)
{
    s->free_slots[s->n_free++] = id;
    if (s->q_len > 0) {
        sim_enter(s, s->queue[s->q_head]);
        s->q_head = (s->q_head + 1) % s->queue_len;
        s->q_len--;
    }
}

static void sim_prefill_done(struct sim *s, double t)
{
    int id = s->prefill[s->pf_head];
    s->pf_head = (s->pf_head + 1) % s->max_batch;
    s->pf_len--;
    struct job *j = &s->slot[id];
    s->clock_prefill = j->finish_tag; /* no rounding short of the tag */
    if (j->counted) {
        s->ttft_sum += t - j->arrival;
        s->ttft_count++;
    }
    if (j->tokens == 1) {
        sim_leave(s, id);
        return;
    }
    j->decode_start = t;
    j->finish_tag = s->clock_decode + (double)(j->tokens - 1);
    heap_push(s, id);
}

static void sim_decode_done(struct sim *s, double t)
{
    int id = s->decode[0];
    heap_pop(s);
    struct job *j = &s->slot[id];
    s->clock_decode = j->finish_tag;
    if (j->counted) {
        s->decode_time += t - j->decode_start;
        s->decode_tokens += (double)(j->tokens - 1);
    }
    sim_leave(s, id);
}

static struct sim_result simulate(const struct perf_params *perf, const struct perf_request *req,
                                  int max_batch, double lambda, long requests, uint64_t seed)
{
    struct sim s = {.max_batch = max_batch, .queue_len = BATCHQUEUE_QUEUE_RATIO * max_batch};
    s.slot = calloc((size_t)max_batch, sizeof *s.slot);
    s.free_slots = calloc((size_t)max_batch, sizeof *s.free_slots);
    s.prefill = calloc((size_t)max_batch, sizeof *s.prefill);
    s.decode = calloc((size_t)max_batch, sizeof *s.decode);
    s.queue = calloc((size_t)s.queue_len, sizeof *s.queue);
    assert_true(s.slot && s.free_slots && s.prefill && s.decode && s.queue);
    for (int i = 0; i < max_batch; i++)
        s.free_slots[s.n_free++] = max_batch - 1 - i;
    struct rng rng = rng_seeded(seed);
    long warmup = requests / 10, total = requests + warmup, arrived = 0;
    double t = 0.0, next_arrival = rng_exponential(&rng, lambda);
    while (arrived < total || sim_in_batch(&s) > 0) {
        int n = sim_in_batch(&s);
        double pre = perfmodel_prefill_ms(perf, req->in_tokens, n);
        double dec = perfmodel_decode_ms(perf, n);
        double dt_arrival = arrived < total ? next_arrival - t : INFINITY;
        double dt_prefill = s.pf_len ? (s.slot[s.prefill[s.pf_head]].finish_tag - s.clock_prefill) * pre
                                     : INFINITY;
        double dt_decode = s.n_decode ? (s.slot[s.decode[0]].finish_tag - s.clock_decode) * dec : INFINITY;
        double dt = fmin(dt_arrival, fmin(dt_prefill, dt_decode));
        t += dt;
        s.clock_prefill += dt / pre;
        s.clock_decode += dt / dec;
        if (dt == dt_prefill) {
            sim_prefill_done(&s, t);
        } else if (dt == dt_decode) {
            sim_decode_done(&s, t);
        } else {
            struct job j = {.arrival = t, .tokens = rng_geometric(&rng, req->out_tokens),
                            .counted = arrived >= warmup};
            arrived++;
            next_arrival = t + rng_exponential(&rng, lambda);
            if (n < max_batch)
                sim_enter(&s, j);
            else if (s.q_len < s.queue_len)
                s.queue[(s.q_head + s.q_len++) % s.queue_len] = j;
        }
    }
    free(s.slot);
    free(s.free_slots);
    free(s.prefill);
    free(s.decode);
    free(s.queue);
    return (struct sim_result){.ttft_ms = s.ttft_sum / (double)s.ttft_count,
                               .itl_ms = s.decode_time / s.decode_tokens};
}

static void compare_at(const struct perf_params *perf, const struct perf_request *req, double util,
                       long requests, double tolerance)
{
    int n = perfmodel_batch_limit(perf, req);
    struct batchqueue q;
    assert_int_equal(batchqueue_init(&q, perf, req, n, BATCHQUEUE_QUEUE_RATIO * n, NULL), 0);
    double lambda = util * batchqueue_peak_rate(&q);
    struct batchqueue_metrics m;
    assert_int_equal(batchqueue_solve(&q, lambda, &m, NULL), 0);
    struct sim_result r = simulate(perf, req, n, lambda, requests, 20240601u);
    double ttft_err = (m.ttft_ms - r.ttft_ms) / r.ttft_ms;
    double itl_err = (m.itl_ms - r.itl_ms) / r.itl_ms;
    printf("# batch %d, utilisation %.2f: TTFT model %.2f sim %.2f (%+.2f%%), "
           "ITL model %.3f sim %.3f (%+.2f%%)\n",
           n, m.utilisation, m.ttft_ms, r.ttft_ms, 100 * ttft_err, m.itl_ms, r.itl_ms, 100 * itl_err);
    assert_true(fabs(ttft_err) <= tolerance);
    assert_true(fabs(itl_err) <= tolerance);
    batchqueue_free(&q);
}

/* A 13B-class model on one GPU with short chat requests (batch 16), and a
 * long-prompt workload whose batch is 128. */
static const struct perf_params chat_perf = {.alpha = 10.0, .beta = 0.5, .gamma = 50.0,
                                             .delta = 0.01, .max_batch = 16, .at_tokens = 320};
static const struct perf_request chat_req = {.in_tokens = 256.0, .out_tokens = 64.0};
static const struct perf_params rag_perf = {.alpha = 20.0, .beta = 0.1, .gamma = 100.0,
                                            .delta = 0.002, .max_batch = 128, .at_tokens = 1280};
static const struct perf_request rag_req = {.in_tokens = 1024.0, .out_tokens = 256.0};

/* Waiting times converge slowly near saturation: the 90% runs are longer.
 * With these lengths the largest error over seeds 1-10 was 2.7% (TTFT at
 * 90%), below the 4% allowed; ITL stayed within 0.3%. */
#define TOLERANCE 0.04

static void chat_at_30_percent(void **state)
{
    (void)state;
    compare_at(&chat_perf, &chat_req, 0.3, 1000000, TOLERANCE);
}

static void chat_at_60_percent(void **state)
{
    (void)state;
    compare_at(&chat_perf, &chat_req, 0.6, 1000000, TOLERANCE);
}

static void chat_at_90_percent(void **state)
{
    (void)state;
    compare_at(&chat_perf, &chat_req, 0.9, 4000000, TOLERANCE);
}

static void rag_at_30_percent(void **state)
{
    (void)state;
    compare_at(&rag_perf, &rag_req, 0.3, 1000000, TOLERANCE);
}

static void rag_at_60_percent(void **state)
{
    (void)state;
    compare_at(&rag_perf, &rag_req, 0.6, 1000000, TOLERANCE);
}

static void rag_at_90_percent(void **state)
{
    (void)state;
    compare_at(&rag_perf, &rag_req, 0.9, 4000000, TOLERANCE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_at_30_percent), cmocka_unit_test(chat_at_60_percent),
        cmocka_unit_test(chat_at_90_percent), cmocka_unit_test(rag_at_30_percent),
        cmocka_unit_test(rag_at_60_percent),  cmocka_unit_test(rag_at_90_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
