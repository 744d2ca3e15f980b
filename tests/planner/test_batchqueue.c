/*
 * Tests for planner/perfmodel and planner/batchqueue: the chain against the
 * closed forms of M/M/1/K, M/M/c/K and M/G/1 (Pollaczek-Khinchine), its numerical behaviour at the largest
 * batch and queue, the limits at no load and overload, and bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <cmocka.h>

#include "planner/batchqueue.h"

#define assert_close(a, b, rel)                                                                    \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (rel) * fmax(fabs(b_), 1e-300)))                                    \
            fail_msg("%s = %.12g, expected %.12g (rel %g)", #a, a_, b_, (double)(rel));            \
    } while (0)

/* A replica whose every request takes `service_ms` whatever the batch: with
 * one output token the service time is the prefill gamma alone. */
static struct perf_params constant_service(double service_ms)
{
    return (struct perf_params){.alpha = 1.0, .beta = 0.0, .gamma = service_ms, .delta = 0.0,
                                .max_batch = 1, .at_tokens = 1};
}

static const struct perf_request one_token = {.in_tokens = 0.0, .out_tokens = 1.0};

/* A realistic replica: a 13B-class model on one GPU. */
static const struct perf_params llm = {.alpha = 10.0, .beta = 0.5, .gamma = 50.0, .delta = 0.01,
                                       .max_batch = 64, .at_tokens = 512};
static const struct perf_request chat = {.in_tokens = 256.0, .out_tokens = 64.0};

static void batch_one_is_mm1k(void **state)
{
    (void)state;
    const double mu = 1.0 / 50.0;
    const int queue = 9, k = 1 + queue;
    struct perf_params p = constant_service(50.0);
    struct batchqueue q;
    assert_int_equal(batchqueue_init(&q, &p, &one_token, 1, queue, NULL), 0);
    const double rhos[] = {0.3, 0.9, 1.0 - 1e-9, 1.7};
    for (size_t i = 0; i < sizeof rhos / sizeof rhos[0]; i++) {
        double rho = rhos[i], lambda = rho * mu;
        struct batchqueue_metrics m;
        assert_int_equal(batchqueue_solve(&q, lambda, &m, NULL), 0);
        /* p(n) = rho^n (1 - rho) / (1 - rho^(K+1)), summed by hand so that
         * rho near 1 needs no special case. */
        double z = 0, l = 0;
        for (int n = 0; n <= k; n++) {
            z += pow(rho, n);
            l += n * pow(rho, n);
        }
        for (int n = 0; n <= k; n++)
            assert_close(q.prob[n], pow(rho, n) / z, 1e-9);
        double pk = pow(rho, k) / z, p0 = 1.0 / z;
        assert_close(m.loss, pk, 1e-9);
        assert_close(m.throughput, lambda * (1.0 - pk), 1e-9);
        assert_close(m.in_system, l / z, 1e-9);
        assert_close(m.in_service, 1.0 - p0, 1e-9);
        /* One-token requests take exactly their prefill: the waiting time
         * is the chain's, halved by the Allen-Cunneen factor (c2 = 0). */
        assert_close(q.wait_scale, 0.5, 1e-12);
        assert_close(m.wait_ms, 0.5 * (l / z - (1.0 - p0)) / (lambda * (1.0 - pk)), 1e-9);
        assert_close(m.busy, 1.0 - p0, 1e-9);
        assert_close(m.utilisation, 1.0 - p0, 1e-9);
        assert_close(m.ttft_ms, m.wait_ms + 50.0, 1e-12);
    }
    batchqueue_free(&q);
}

/* With a batch of c whose service time does not depend on the batch size the
 * chain is M/M/c/K: p(n) ~ a^n / n! up to c, a^n / (c! c^(n-c)) above. */
static void constant_batch_is_mmck(void **state)
{
    (void)state;
    const int c = 8, queue = 12, k = c + queue;
    const double service = 40.0, mu = 1.0 / service;
    struct perf_params p = constant_service(service);
    p.max_batch = c;
    struct batchqueue q;
    assert_int_equal(batchqueue_init(&q, &p, &one_token, c, queue, NULL), 0);
    const double loads[] = {0.5, 0.95, 1.3};
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        double lambda = loads[i] * c * mu, a = lambda / mu;
        double w[64], z = 0, l = 0, ls = 0;
        for (int n = 0; n <= k; n++) {
            double lg = n <= c ? n * log(a) - lgamma(n + 1.0)
                               : n * log(a) - lgamma(c + 1.0) - (n - c) * log((double)c);
            w[n] = exp(lg);
            z += w[n];
            l += n * w[n];
            ls += (n < c ? n : c) * w[n];
        }
        struct batchqueue_metrics m;
        assert_int_equal(batchqueue_solve(&q, lambda, &m, NULL), 0);
        for (int n = 0; n <= k; n++)
            assert_close(q.prob[n], w[n] / z, 1e-9);
        double x = lambda * (1.0 - w[k] / z);
        assert_close(m.throughput, x, 1e-9);
        assert_close(m.in_system, l / z, 1e-9);
        assert_close(m.in_service, ls / z, 1e-9);
        assert_close(m.wait_ms, q.wait_scale * (l - ls) / z / x, 1e-9);
        assert_close(m.response_ms, m.wait_ms + service, 1e-9);
        /* Little's law for the batch: Ls = X * service. */
        assert_close(m.in_service, x * service, 1e-9);
    }
    batchqueue_free(&q);
}

/* With a batch of one and a queue long enough to be infinite the corrected
 * waiting time is the Pollaczek-Khinchine mean of M/G/1, whatever the
 * service time's spread: W = lambda E[S^2] / (2 (1 - rho)). */
static void batch_one_is_pollaczek_khinchine(void **state)
{
    (void)state;
    struct perf_params p = llm;
    p.max_batch = 1;
    const struct perf_request shapes[] = {one_token, chat, {.in_tokens = 0, .out_tokens = 200}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct batchqueue q;
        assert_int_equal(batchqueue_init(&q, &p, &shapes[i], 1, 16000, NULL), 0);
        double s = perfmodel_service_ms(&p, &shapes[i], 1);
        double d = perfmodel_decode_ms(&p, 1), k = shapes[i].out_tokens;
        double s2 = s * s + d * d * k * (k - 1.0); /* geometric output lengths */
        for (double rho = 0.2; rho < 0.95; rho += 0.3) {
            struct batchqueue_metrics m;
            assert_int_equal(batchqueue_solve(&q, rho / s, &m, NULL), 0);
            assert_close(m.wait_ms, rho / s * s2 / (2.0 * (1.0 - rho)), 1e-9);
        }
        batchqueue_free(&q);
    }
}

/* The largest chain the planner builds, far past the point where the plain
 * product of rate ratios overflows a double (ratio^11264 at 1.5). */
static void largest_chain_stays_finite(void **state)
{
    (void)state;
    struct perf_params p = llm;
    p.max_batch = PERFMODEL_MAX_BATCH;
    struct batchqueue q;
    const int n = PERFMODEL_MAX_BATCH, queue = BATCHQUEUE_QUEUE_RATIO * PERFMODEL_MAX_BATCH;
    assert_int_equal(batchqueue_init(&q, &p, &chat, n, queue, NULL), 0);
    const double loads[] = {1e-9, 0.5, 0.99, 1.0, 1.5, 40.0};
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        struct batchqueue_metrics m;
        assert_int_equal(batchqueue_solve(&q, loads[i] * batchqueue_peak_rate(&q), &m, NULL), 0);
        double sum = 0;
        for (int s = 0; s <= q.capacity; s++) {
            assert_true(isfinite(q.prob[s]) && q.prob[s] >= 0.0);
            sum += q.prob[s];
        }
        assert_close(sum, 1.0, 1e-12);
        assert_true(isfinite(m.ttft_ms) && isfinite(m.itl_ms) && isfinite(m.wait_ms));
        assert_true(m.loss >= 0.0 && m.loss <= 1.0);
        assert_true(m.utilisation > 0.0 && m.utilisation <= 1.0 + 1e-12);
        assert_true(m.concurrency >= 1.0 && m.concurrency <= n);
        if (loads[i] > 1.0) {
            /* Overloaded: the queue is full, the batch runs at its peak. */
            assert_close(m.throughput, batchqueue_peak_rate(&q), 1e-6);
            assert_true(m.in_system > n + 0.9 * queue);
        }
    }
    batchqueue_free(&q);
}

static void idle_replica_serves_a_lone_request(void **state)
{
    (void)state;
    struct batchqueue q;
    assert_int_equal(batchqueue_init(&q, &llm, &chat, 16, 160, NULL), 0);
    struct batchqueue_metrics m;
    assert_int_equal(batchqueue_solve(&q, 0.0, &m, NULL), 0);
    assert_close(m.itl_ms, llm.alpha + llm.beta, 1e-12);
    assert_close(m.ttft_ms, llm.gamma + llm.delta * chat.in_tokens, 1e-12);
    assert_close(q.prob[0], 1.0, 0);
    assert_true(m.throughput == 0.0 && m.wait_ms == 0.0 && m.utilisation == 0.0);
    /* A vanishing load gives the same numbers as no load. */
    assert_int_equal(batchqueue_solve(&q, 1e-12, &m, NULL), 0);
    assert_close(m.itl_ms, llm.alpha + llm.beta, 1e-6);
    assert_close(m.ttft_ms, llm.gamma + llm.delta * chat.in_tokens, 1e-6);
    batchqueue_free(&q);
}

/* TTFT, ITL and waiting grow with the load: what sizing's bisection needs. */
static void latencies_grow_with_load(void **state)
{
    (void)state;
    struct batchqueue q;
    assert_int_equal(batchqueue_init(&q, &llm, &chat, 32, 320, NULL), 0);
    struct batchqueue_metrics prev, m;
    assert_int_equal(batchqueue_solve(&q, 0.0, &prev, NULL), 0);
    for (int i = 1; i <= 120; i++) {
        assert_int_equal(batchqueue_solve(&q, i * 0.01 * batchqueue_peak_rate(&q), &m, NULL), 0);
        assert_true(m.ttft_ms >= prev.ttft_ms);
        assert_true(m.itl_ms >= prev.itl_ms);
        assert_true(m.wait_ms >= prev.wait_ms);
        assert_true(m.throughput >= prev.throughput * (1.0 - 1e-12));
        prev = m;
    }
    /* Past the peak the queue is full: waiting is about Q / mu(N). */
    assert_close(prev.wait_ms, q.wait_scale * 320.0 / batchqueue_peak_rate(&q), 0.1);
    batchqueue_free(&q);
}

static void service_rates_follow_the_perf_model(void **state)
{
    (void)state;
    struct batchqueue q;
    assert_int_equal(batchqueue_init(&q, &llm, &chat, 8, 0, NULL), 0);
    for (int m = 1; m <= 8; m++) {
        double service = 50.0 + 0.01 * 256 * m + 63 * (10.0 + 0.5 * m);
        assert_close(q.rate[m], m / service, 1e-12);
        assert_close(perfmodel_service_ms(&llm, &chat, m), service, 1e-12);
    }
    assert_close(batchqueue_peak_rate(&q), q.rate[8], 0);
    assert_close(perfmodel_decode_ms(&llm, 4), 12.0, 1e-12);
    assert_close(perfmodel_prefill_ms(&llm, 100, 2), 52.0, 1e-12);
    batchqueue_free(&q);
}

static void batch_limit_scales_with_request_size(void **state)
{
    (void)state;
    struct perf_params p = {.alpha = 1, .max_batch = 32, .at_tokens = 512};
    struct perf_request r = {.in_tokens = 128, .out_tokens = 128};
    assert_int_equal(perfmodel_batch_limit(&p, &r), 64);
    r.out_tokens = 896;
    assert_int_equal(perfmodel_batch_limit(&p, &r), 16);
    r = (struct perf_request){.in_tokens = 100000, .out_tokens = 100000};
    assert_int_equal(perfmodel_batch_limit(&p, &r), 1);
    r = (struct perf_request){.in_tokens = 0, .out_tokens = 1};
    assert_int_equal(perfmodel_batch_limit(&p, &r), PERFMODEL_MAX_BATCH);
}

static void bad_parameters_are_rejected(void **state)
{
    (void)state;
    struct err e;
    struct batchqueue q;
    struct perf_params p = llm;
    p.alpha = 0.0;
    assert_int_equal(batchqueue_init(&q, &p, &chat, 8, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "decodeParms.alpha must be > 0, got 0");
    p = llm;
    p.beta = NAN;
    assert_int_equal(batchqueue_init(&q, &p, &chat, 8, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "decodeParms.beta must be a finite number, got nan");
    p = llm;
    p.delta = -1;
    assert_int_equal(batchqueue_init(&q, &p, &chat, 8, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "prefillParms.delta must be >= 0, got -1");
    p = llm;
    p.max_batch = 0;
    assert_int_equal(batchqueue_init(&q, &p, &chat, 8, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "maxBatchSize must be >= 1, got 0");
    p = llm;
    p.at_tokens = -3;
    assert_int_equal(batchqueue_init(&q, &p, &chat, 8, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "atTokens must be >= 1, got -3");
    struct perf_request r = {.in_tokens = 10, .out_tokens = 0};
    assert_int_equal(batchqueue_init(&q, &llm, &r, 8, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "avgOutTokens must be >= 1, got 0");
    r = (struct perf_request){.in_tokens = INFINITY, .out_tokens = 5};
    assert_int_equal(batchqueue_init(&q, &llm, &r, 8, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "avgInTokens must be a finite number, got inf");
    assert_int_equal(batchqueue_init(&q, &llm, &chat, 0, 8, &e), -EINVAL);
    assert_string_equal(e.msg, "batch size must be 1 .. 1024, got 0");
    assert_int_equal(batchqueue_init(&q, &llm, &chat, 1025, 8, &e), -EINVAL);
    assert_int_equal(batchqueue_init(&q, &llm, &chat, 8, -1, &e), -EINVAL);
    assert_string_equal(e.msg, "queue length must be 0 .. 16384, got -1");
    batchqueue_free(&q); /* zeroed by the failed init: harmless */
    batchqueue_free(NULL);

    assert_int_equal(batchqueue_init(&q, &llm, &chat, 8, 8, &e), 0);
    struct batchqueue_metrics m;
    assert_int_equal(batchqueue_solve(&q, -1.0, &m, &e), -EINVAL);
    assert_string_equal(e.msg, "arrival rate must be finite and >= 0, got -1");
    assert_int_equal(batchqueue_solve(&q, NAN, &m, &e), -EINVAL);
    assert_int_equal(batchqueue_solve(&q, INFINITY, &m, &e), -EINVAL);
    batchqueue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_one_is_mm1k),
        cmocka_unit_test(constant_batch_is_mmck),
        cmocka_unit_test(batch_one_is_pollaczek_khinchine),
        cmocka_unit_test(largest_chain_stays_finite),
        cmocka_unit_test(idle_replica_serves_a_lone_request),
        cmocka_unit_test(latencies_grow_with_load),
        cmocka_unit_test(service_rates_follow_the_perf_model),
        cmocka_unit_test(batch_limit_scales_with_request_size),
        cmocka_unit_test(bad_parameters_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
