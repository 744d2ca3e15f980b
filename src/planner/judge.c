/*
 * The judge of judge.h: one engine per replica, stepped iteration by
 * iteration in virtual time, then the servers' statistics.
 *
 * A decode step gives every running request one token, so a request that
 * joins the decoding after step s with out tokens leaves at the end of step
 * s + out - 1: the running requests are a min-heap on that step number, and
 * a step costs O(1) plus O(log N) per request that leaves, never O(N).
 */
#include "planner/judge.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/vec.h"

struct waiting {
    double arrival_ms;
    long out;                    /* output tokens */
    bool measured;               /* arrived after the warm-up */
};

struct running {
    long last_step;              /* the decode step that gives its last token */
    double arrival_ms;
    double first_token_ms;
    long out;
    bool measured;
};

struct engine {
    const struct judge_replica *r;
    struct rng rng;
    struct waiting *queue;       /* FIFO: queue[head .. n_queued-1] */
    size_t head, n_queued, cap;
    struct running *batch;       /* min-heap on last_step, max_batch places */
    size_t n_running;
    long steps;                  /* decode steps done */
    double now_ms, next_arrival_ms, warmup_end_ms, arrivals_end_ms;
    struct judge_samples *out;
};

static void record(struct engine *g, double ttft_ms, double itl_ms)
{
    struct judge_samples *s = g->out;
    VEC_RESERVE(s->req, s->cap, s->n + 1);
    s->req[s->n++] = (struct judge_request){ttft_ms, itl_ms};
}

static void heap_push(struct engine *g, struct running x)
{
    size_t i = g->n_running++;
    while (i > 0 && g->batch[(i - 1) / 2].last_step > x.last_step) {
        g->batch[i] = g->batch[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    g->batch[i] = x;
}

static struct running heap_pop(struct engine *g)
{
    struct running top = g->batch[0], last = g->batch[--g->n_running];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g->n_running)
            break;
        if (c + 1 < g->n_running && g->batch[c + 1].last_step < g->batch[c].last_step)
            c++;
        if (g->batch[c].last_step >= last.last_step)
            break;
        g->batch[i] = g->batch[c];
        i = c;
    }
    if (g->n_running > 0)
        g->batch[i] = last;
    return top;
}

/* Queues every arrival up to now. */
static void admit_arrivals(struct engine *g)
{
    while (g->next_arrival_ms <= g->now_ms && g->next_arrival_ms < g->arrivals_end_ms) {
        if (g->head > 4096 && g->head * 2 > g->n_queued) { /* reuse the room of those gone */
            memmove(g->queue, g->queue + g->head, (g->n_queued - g->head) * sizeof *g->queue);
            g->n_queued -= g->head;
            g->head = 0;
        }
        VEC_RESERVE(g->queue, g->cap, g->n_queued + 1);
        g->queue[g->n_queued++] = (struct waiting){
            .arrival_ms = g->next_arrival_ms,
            .out = rng_geometric(&g->rng, g->r->req.out_tokens),
            .measured = g->next_arrival_ms >= g->warmup_end_ms,
        };
        g->next_arrival_ms += rng_exponential(&g->rng, g->r->rate_per_ms);
    }
}

/* The k requests that can join are prefilled together; each has its first
 * token at the end of the step. */
static void prefill_step(struct engine *g)
{
    size_t room = (size_t)g->r->max_batch - g->n_running, queued = g->n_queued - g->head;
    size_t k = queued < room ? queued : room;
    g->now_ms += perfmodel_prefill_ms(g->r->perf, g->r->req.in_tokens, (double)k);
    for (size_t i = 0; i < k; i++) {
        struct waiting w = g->queue[g->head++];
        double ttft = g->now_ms - w.arrival_ms;
        if (w.out == 1) {
            if (w.measured)
                record(g, ttft, NAN);
            continue;
        }
        heap_push(g, (struct running){g->steps + w.out - 1, w.arrival_ms, g->now_ms, w.out, w.measured});
    }
}

static void decode_step(struct engine *g)
{
    g->now_ms += perfmodel_decode_ms(g->r->perf, (double)g->n_running);
    g->steps++;
    while (g->n_running > 0 && g->batch[0].last_step == g->steps) {
        struct running x = heap_pop(g);
        if (x.measured)
            record(g, x.first_token_ms - x.arrival_ms, (g->now_ms - x.first_token_ms) / (double)(x.out - 1));
    }
}

int judge_replica_run(const struct judge_replica *r, const struct judge_options *o, uint64_t stream,
                      struct judge_samples *out, struct err *e)
{
    if (!(r->rate_per_ms > 0.0) || !isfinite(r->rate_per_ms) || r->max_batch < 1)
        return err_set(e, -EINVAL, "a replica needs a rate > 0 and a batch >= 1 (got %g, %d)", r->rate_per_ms,
                       r->max_batch);
    double warmup_ms = JUDGE_WARMUP_SHARE * o->seconds * 1000.0;
    struct engine g = {
        .r = r,
        .rng = rng_seeded(stream),
        .batch = alloc_calloc((size_t)r->max_batch, sizeof *g.batch),
        .warmup_end_ms = warmup_ms,
        .arrivals_end_ms = warmup_ms + o->seconds * 1000.0,
        .out = out,
    };
    g.next_arrival_ms = rng_exponential(&g.rng, r->rate_per_ms);
    for (;;) {
        admit_arrivals(&g);
        if (g.head < g.n_queued && g.n_running < (size_t)r->max_batch)
            prefill_step(&g);
        else if (g.n_running > 0)
            decode_step(&g);
        else if (g.next_arrival_ms < g.arrivals_end_ms)
            g.now_ms = g.next_arrival_ms;
        else
            break;
    }
    free(g.queue);
    free(g.batch);
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Mean and nearest-rank percentile of the n values in v (sorted here), and
 * the share within target (when there is one). */
static void summarise(double *v, size_t n, double target_ms, double percentile, struct judge_metric *m)
{
    m->target_ms = target_ms;
    m->mean_ms = m->tail_ms = m->attained = NAN;
    if (n == 0)
        return;
    double sum = 0.0;
    size_t within = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        within += v[i] <= target_ms;
    }
    qsort(v, n, sizeof *v, by_value);
    size_t rank = (size_t)ceil(percentile / 100.0 * (double)n);
    m->mean_ms = sum / (double)n;
    m->tail_ms = v[rank > 0 ? rank - 1 : 0];
    if (target_ms > 0.0)
        m->attained = (double)within / (double)n;
}

static bool metric_meets(const struct judge_metric *m, double share)
{
    return m->target_ms <= 0.0 || isnan(m->attained) || m->attained >= share;
}

static bool metric_mean_meets(const struct judge_metric *m)
{
    return m->target_ms <= 0.0 || isnan(m->mean_ms) || m->mean_ms <= m->target_ms;
}

void judge_stats_of(const struct judge_samples *s, double ttft_target_ms, double itl_target_ms,
                    double percentile, struct judge_stats *out)
{
    double *v = alloc_calloc(s->n ? s->n : 1, sizeof *v);
    size_t met = 0, n_itl = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct judge_request *q = &s->req[i];
        met += (ttft_target_ms <= 0.0 || q->ttft_ms <= ttft_target_ms) &&
               (itl_target_ms <= 0.0 || isnan(q->itl_ms) || q->itl_ms <= itl_target_ms);
        v[i] = q->ttft_ms;
    }
    *out = (struct judge_stats){.requests = (double)s->n, .attained = s->n ? (double)met / (double)s->n : NAN};
    summarise(v, s->n, ttft_target_ms, percentile, &out->ttft);
    for (size_t i = 0; i < s->n; i++)
        if (!isnan(s->req[i].itl_ms))
            v[n_itl++] = s->req[i].itl_ms;
    summarise(v, n_itl, itl_target_ms, percentile, &out->itl);
    free(v);
    double share = percentile / 100.0;
    if (ttft_target_ms <= 0.0 && itl_target_ms <= 0.0)
        out->verdict = JUDGE_NO_TARGETS;
    else if (metric_meets(&out->ttft, share) && metric_meets(&out->itl, share))
        out->verdict = JUDGE_MEETS;
    else if (metric_mean_meets(&out->ttft) && metric_mean_meets(&out->itl))
        out->verdict = JUDGE_MEAN_ONLY;
    else
        out->verdict = JUDGE_MISSES;
}

static int check_options(const struct plan_system *sys, const struct judge_options *o, struct err *e)
{
    if (!(o->seconds > 0.0) || !isfinite(o->seconds))
        return err_set(e, -EINVAL, "the simulated time must be > 0 seconds, got %g", o->seconds);
    if (!(o->percentile > 0.0 && o->percentile < 100.0))
        return err_set(e, -EINVAL, "the percentile must be in (0, 100), got %g", o->percentile);
    double requests = 0.0;
    for (size_t i = 0; i < sys->n_servers; i++)
        requests += sys->servers[i].rate_per_min / 60.0 * o->seconds * (1.0 + JUDGE_WARMUP_SHARE);
    if (requests > JUDGE_MAX_REQUESTS)
        return err_set(e, -EINVAL, "%g seconds would simulate %.3g requests, over the %.3g a run may; "
                       "simulate fewer seconds", o->seconds, requests, JUDGE_MAX_REQUESTS);
    return 0;
}

/* Simulates every replica of server i into *s. */
static int simulate_server(const struct plan_system *sys, const struct plan_result *plan, size_t i,
                           const struct judge_options *o, struct judge_samples *s, struct err *e)
{
    const struct plan_server *srv = &sys->servers[i];
    const struct plan_server_result *r = &plan->servers[i];
    struct judge_replica rep = {
        .perf = &sys->perfs[r->perf].params,
        .req = srv->req,
        .max_batch = r->alloc.max_batch,
        .rate_per_ms = srv->rate_per_min / 60000.0 / r->alloc.replicas,
    };
    if (!(rep.rate_per_ms > 0.0))
        return 0; /* no load (arrivalRate 0): no request to simulate */
    uint64_t h = hash_field(hash_bytes(HASH_INIT, &o->seed, sizeof o->seed), srv->name);
    for (int k = 0; k < r->alloc.replicas; k++) {
        int rc = judge_replica_run(&rep, o, hash_bytes(h, &k, sizeof k), s, e);
        if (rc)
            return err_prefix(e, rc, "server %s: ", srv->name);
    }
    return 0;
}

/* A server the plan left without replicas: its load over the measured time,
 * every request missing. */
static void no_replicas(const struct plan_server *srv, const struct judge_options *o, struct judge_stats *st)
{
    struct judge_samples none = {0};
    judge_stats_of(&none, srv->target->ttft_ms, srv->target->itl_ms, o->percentile, st);
    st->requests = srv->rate_per_min / 60.0 * o->seconds;
    st->attained = 0.0;
    if (srv->target->ttft_ms > 0.0)
        st->ttft.attained = 0.0;
    if (srv->target->itl_ms > 0.0)
        st->itl.attained = 0.0;
    st->verdict = JUDGE_NO_REPLICAS;
}

/* Weighted shares over the servers: every request against its own targets. */
struct tally {
    double requests, met, ttft_n, ttft_met, itl_n, itl_met;
};

static void tally_add(struct tally *t, const struct judge_stats *st)
{
    if (!(st->requests > 0.0))
        return; /* a load too small to see one request in the time */
    t->requests += st->requests;
    t->met += st->attained * st->requests;
    if (!isnan(st->ttft.attained)) {
        t->ttft_n += st->requests;
        t->ttft_met += st->ttft.attained * st->requests;
    }
    if (!isnan(st->itl.attained)) {
        t->itl_n += st->requests;
        t->itl_met += st->itl.attained * st->requests;
    }
}

static void overall(const struct judge_samples *all, const struct tally *t, const struct judge_result *r,
                    struct judge_stats *out)
{
    judge_stats_of(all, 0.0, 0.0, r->percentile, out);
    out->requests = t->requests;
    out->attained = t->requests > 0 ? t->met / t->requests : NAN;
    out->ttft.attained = t->ttft_n > 0 ? t->ttft_met / t->ttft_n : NAN;
    out->itl.attained = t->itl_n > 0 ? t->itl_met / t->itl_n : NAN;
    out->verdict = r->meeting == r->n_servers ? JUDGE_MEETS : JUDGE_MISSES;
}

int judge_plan(const struct plan_system *sys, const struct plan_result *plan, const struct judge_options *o,
               struct judge_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    int rc = check_options(sys, o, e);
    if (rc)
        return rc;
    out->servers = alloc_calloc(sys->n_servers ? sys->n_servers : 1, sizeof *out->servers);
    out->n_servers = sys->n_servers;
    out->cost = plan->total_cost;
    out->seconds = o->seconds;
    out->percentile = o->percentile;
    struct judge_samples all = {0}, one = {0};
    struct tally t = {0};
    for (size_t i = 0; rc == 0 && i < sys->n_servers; i++) {
        const struct plan_server *srv = &sys->servers[i];
        struct judge_stats *st = &out->servers[i];
        if (plan->servers[i].alloc.acc < 0) {
            no_replicas(srv, o, st);
        } else {
            one.n = 0;
            if ((rc = simulate_server(sys, plan, i, o, &one, e)) != 0)
                break;
            judge_stats_of(&one, srv->target->ttft_ms, srv->target->itl_ms, o->percentile, st);
            if (one.n) { /* a server with no load measured nothing (and may have no array) */
                VEC_RESERVE(all.req, all.cap, all.n + one.n);
                memcpy(all.req + all.n, one.req, one.n * sizeof *one.req);
                all.n += one.n;
            }
        }
        out->meeting += st->verdict == JUDGE_MEETS || st->verdict == JUDGE_NO_TARGETS;
        tally_add(&t, st);
    }
    if (rc == 0)
        overall(&all, &t, out, &out->overall);
    free(all.req);
    free(one.req);
    if (rc)
        judge_result_free(out);
    return rc;
}

void judge_result_free(struct judge_result *r)
{
    if (!r)
        return;
    free(r->servers);
    memset(r, 0, sizeof *r);
}

const char *judge_verdict_name(enum judge_verdict v)
{
    static const char *const names[] = {
        [JUDGE_MEETS] = "meets",
        [JUDGE_MEAN_ONLY] = "mean only",
        [JUDGE_MISSES] = "misses",
        [JUDGE_NO_TARGETS] = "no targets",
        [JUDGE_NO_REPLICAS] = "no replicas",
    };
    return names[v];
}
