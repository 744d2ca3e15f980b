/*
 * The reconcile loop (see loop.h). One mutex guards the work queue; the
 * reconciler and the store calls run without it, so informer threads can
 * keep enqueuing while a decision is executed. The thread sleeps on a
 * wakeup (util/wakeup.h) with the lock released, and an enqueue posts it
 * after releasing the lock: a condition wait on the lock cost a futex call
 * at nearly every enqueue and every sleep of the burst (issue 12).
 */
#include "reconcile/loop.h"
#include "util/alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/wakeup.h"

struct loop {
    struct loop_config cfg;
    struct workqueue *queue;
    pthread_mutex_t lock;
    struct wakeup wake; /* a key queued, a kick, or stop */
    pthread_t thread;
    bool running, stopping;
    struct loop_stats stats;
    struct action_list actions; /* reused by every decision */
    struct prom_family *depth, *reconciles, *retries, *actions_done; /* cfg.metrics' */
};

static int64_t loop_now(const struct loop *l)
{
    return l->cfg.now_ns(l->cfg.clock_ctx);
}

/* The scrape hook: the loop's counts as they are now. */
static void export_metrics(void *self)
{
    struct loop *l = self;
    struct loop_stats st;
    loop_get_stats(l, &st);
    const char *name = l->cfg.reconciler.name;
    prom_set(l->depth, (double)loop_queue_depth(l), name);
    prom_set(l->reconciles, (double)st.reconciles, name);
    prom_set(l->actions_done, (double)st.actions, name);
    prom_set(l->retries, (double)st.stale, name, "stale_cache");
    prom_set(l->retries, (double)st.failures, name, "failure");
}

static void register_metrics(struct loop *l)
{
    struct prom *p = l->cfg.metrics;
    l->depth = prom_gauge(p, "gpuslice_reconcile_queue_depth",
                          "Keys queued in a reconcile loop, ready or waiting for their time.",
                          "loop");
    l->reconciles = prom_counter(p, "gpuslice_reconcile_total", "Keys a reconcile loop decided.",
                                 "loop");
    l->actions_done = prom_counter(p, "gpuslice_reconcile_actions_total",
                                   "Actions (API writes, device operations) a reconcile loop "
                                   "executed successfully.", "loop");
    l->retries = prom_counter(p, "gpuslice_reconcile_retries_total",
                              "Keys a reconcile loop queued again after a decision dropped for a "
                              "stale cache (stale_cache) or a failed decision or write (failure).",
                              "loop,cause");
    prom_on_scrape(p, export_metrics, l);
}

int loop_new(const struct loop_config *cfg, struct loop **out, struct err *e)
{
    if (!cfg->store || !cfg->reconciler.reconcile || !cfg->component)
        return err_set(e, -EINVAL, "reconcile loop: needs a store, a reconcile function "
                                   "and a component name");
    struct loop *l = alloc_calloc(1, sizeof *l);
    l->cfg = *cfg;
    if (!l->cfg.now_ns)
        l->cfg.now_ns = clock_realtime_now;
    const struct backoff *b = cfg->backoff.base_ns ? &cfg->backoff : NULL;
    int rc = workqueue_new(b, &l->queue, e);
    if (rc < 0) {
        free(l);
        return rc;
    }
    pthread_mutex_init(&l->lock, NULL);
    wakeup_init(&l->wake);
    action_list_init(&l->actions);
    register_metrics(l);
    *out = l;
    return 0;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    loop_stop(l);
    prom_remove_hook(l->cfg.metrics, export_metrics, l);
    workqueue_free(l->queue);
    action_list_clear(&l->actions);
    wakeup_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void loop_enqueue_at(struct loop *l, const char *key, int64_t at_ns)
{
    struct err e;
    pthread_mutex_lock(&l->lock);
    int rc = workqueue_add_at(l->queue, key, at_ns, &e);
    pthread_mutex_unlock(&l->lock);
    wakeup_post(&l->wake);
    if (rc < 0) {
        fprintf(stderr, "gpuslice: %s: enqueue: %s\n", l->cfg.reconciler.name, e.msg);
        abort();
    }
}

void loop_enqueue(struct loop *l, const char *key)
{
    loop_enqueue_at(l, key, 0);
}

int64_t loop_next_due(struct loop *l)
{
    pthread_mutex_lock(&l->lock);
    int64_t due = workqueue_next_due(l->queue);
    pthread_mutex_unlock(&l->lock);
    return due;
}

void loop_requeue_by(int64_t *requeue_at_ns, int64_t at_ns)
{
    if (*requeue_at_ns == 0 || at_ns < *requeue_at_ns)
        *requeue_at_ns = at_ns;
}

bool loop_due(int64_t due_ns, int64_t now_ns, int64_t *requeue_at_ns)
{
    if (due_ns <= now_ns)
        return true;
    loop_requeue_by(requeue_at_ns, due_ns);
    return false;
}

/* A write that failed because the decision was made on a cache that was
 * behind the store: decide again once it has caught up. */
static bool stale(const struct action *a, int rc)
{
    if (rc == -ESTALE || rc == -EEXIST)
        return true;
    return rc == -ENOENT && (a->kind == ACTION_UPDATE || a->kind == ACTION_UPDATE_STATUS ||
                             a->kind == ACTION_PATCH || a->kind == ACTION_BIND);
}

static int execute_one(struct loop *l, const struct action *a, const struct action_context *ctx,
                       json_t **result, struct err *e)
{
    if (a->kind != ACTION_EXTERNAL)
        return action_execute(l->cfg.store, a, ctx,
                              l->cfg.reconciler.wants_results ? result : NULL, e);
    if (!l->cfg.reconciler.execute_external)
        return err_set(e, -ENOSYS, "%s: emitted an external action but has no executor",
                       l->cfg.reconciler.name);
    return l->cfg.reconciler.execute_external(l->cfg.reconciler.self, a, result, e);
}

enum outcome { DONE, STALE, FAILED };

/* Executes the decision's actions in order; stops at the first that makes
 * the rest meaningless. */
static enum outcome execute_all(struct loop *l, const char *key, int64_t now,
                                struct loop_stats *delta)
{
    const struct reconciler *r = &l->cfg.reconciler;
    struct action_context ctx = {.component = l->cfg.component, .host = l->cfg.host,
                                 .now_ns = now};
    for (size_t i = 0; i < l->actions.n; i++) {
        const struct action *a = &l->actions.items[i];
        /* A replica that stopped leading mid-decision writes no more of
         * it: another may lead already, deciding on what it cannot know
         * of this one. The key is decided again when it leads again. */
        if (i > 0 && l->cfg.may_act && !l->cfg.may_act(l->cfg.may_act_ctx, loop_now(l)))
            return STALE;
        json_t *result = NULL;
        struct err e = {0};
        int rc = execute_one(l, a, &ctx, &result, &e);
        if (rc == -ENOENT && a->kind == ACTION_DELETE)
            rc = 0; /* already gone: the goal is reached */
        if (r->executed)
            r->executed(r->self, key, a, rc, result, &e);
        if (rc < 0 && log_enabled(l->cfg.log, LOG_LEVEL_WARNING)) {
            char what[256];
            if (a->kind == ACTION_EXTERNAL && r->describe_external)
                r->describe_external(r->self, a, what, sizeof what);
            else
                action_describe(a, what, sizeof what);
            log_at(l->cfg.log, stale(a, rc) ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING,
                   "%s: %s for %s: %s", r->name, what, key, e.msg);
        }
        json_decref(result);
        if (rc == 0) {
            delta->actions++;
            continue;
        }
        if (a->kind == ACTION_EVENT)
            continue;
        if (stale(a, rc)) {
            delta->stale++;
            return STALE;
        }
        delta->failures++;
        return FAILED;
    }
    return DONE;
}

/* Decides and executes one key (taken from the queue, lock not held). */
static void process(struct loop *l, const char *key, int64_t now)
{
    const struct reconciler *r = &l->cfg.reconciler;
    int64_t requeue_at = 0;
    struct err e = {0};
    struct loop_stats delta = {.reconciles = 1};
    action_list_clear(&l->actions);
    int rc = r->reconcile(r->self, key, now, &l->actions, &requeue_at, &e);
    enum outcome out = rc < 0 ? FAILED : execute_all(l, key, now, &delta);
    if (rc < 0) {
        delta.failures++;
        log_warning(l->cfg.log, "%s: cannot decide for %s: %s", r->name, key, e.msg);
    }
    action_list_clear(&l->actions);

    pthread_mutex_lock(&l->lock);
    l->stats.reconciles += delta.reconciles;
    l->stats.actions += delta.actions;
    l->stats.stale += delta.stale;
    l->stats.failures += delta.failures;
    workqueue_done(l->queue, key);
    if (out == DONE) {
        workqueue_forget(l->queue, key);
        if (requeue_at > 0)
            workqueue_add_at(l->queue, key, requeue_at, NULL);
    } else {
        workqueue_add_failed(l->queue, key, now, NULL, NULL);
    }
    pthread_mutex_unlock(&l->lock);
}

size_t loop_run_ready(struct loop *l, size_t max)
{
    size_t done = 0;
    char key[WORKQUEUE_KEY_MAX];
    while (max == 0 || done < max) {
        int64_t now = loop_now(l);
        if (l->cfg.may_act && !l->cfg.may_act(l->cfg.may_act_ctx, now))
            break;
        pthread_mutex_lock(&l->lock);
        bool got = workqueue_next(l->queue, now, key);
        pthread_mutex_unlock(&l->lock);
        if (!got)
            break;
        process(l, key, now);
        done++;
    }
    return done;
}

/* How long the thread may sleep: until the next key is due, and never more
 * than a second, so may_act and a jumping clock are looked at again. */
static int64_t sleep_ns(struct loop *l)
{
    int64_t due = workqueue_next_due(l->queue), now = loop_now(l);
    int64_t wait = due == INT64_MAX ? NS_PER_SEC : due - now;
    if (wait > NS_PER_SEC)
        wait = NS_PER_SEC;
    return wait < 0 ? 0 : wait;
}

static bool stopping(struct loop *l)
{
    pthread_mutex_lock(&l->lock);
    bool stop = l->stopping;
    pthread_mutex_unlock(&l->lock);
    return stop;
}

static void *loop_thread(void *arg)
{
    struct loop *l = arg;
    while (!stopping(l)) {
        if (loop_run_ready(l, 64) > 0)
            continue;
        pthread_mutex_lock(&l->lock);
        int64_t wait = sleep_ns(l);
        pthread_mutex_unlock(&l->lock);
        if (wait == 0) {
            /* Due but not ready: may_act said no. Do not spin. */
            wait = 10 * NS_PER_MS;
        }
        struct timespec until = clock_deadline(CLOCK_MONOTONIC, wait);
        wakeup_wait(&l->wake, &until);
    }
    return NULL;
}

int loop_start(struct loop *l, struct err *e)
{
    pthread_mutex_lock(&l->lock);
    if (l->running) {
        pthread_mutex_unlock(&l->lock);
        return err_set(e, -EBUSY, "%s: loop already running", l->cfg.reconciler.name);
    }
    l->stopping = false;
    int rc = pthread_create(&l->thread, NULL, loop_thread, l);
    l->running = rc == 0;
    pthread_mutex_unlock(&l->lock);
    return rc == 0 ? 0 : err_set(e, -rc, "%s: cannot start the loop thread",
                                 l->cfg.reconciler.name);
}

void loop_stop(struct loop *l)
{
    pthread_mutex_lock(&l->lock);
    if (!l->running) {
        pthread_mutex_unlock(&l->lock);
        return;
    }
    l->stopping = true;
    pthread_mutex_unlock(&l->lock);
    wakeup_post(&l->wake);
    pthread_join(l->thread, NULL);
    pthread_mutex_lock(&l->lock);
    l->running = false;
    pthread_mutex_unlock(&l->lock);
}

void loop_kick(struct loop *l)
{
    wakeup_post(&l->wake);
}

void loop_get_stats(struct loop *l, struct loop_stats *out)
{
    pthread_mutex_lock(&l->lock);
    *out = l->stats;
    pthread_mutex_unlock(&l->lock);
}

size_t loop_queue_depth(struct loop *l)
{
    pthread_mutex_lock(&l->lock);
    size_t n = workqueue_len(l->queue);
    pthread_mutex_unlock(&l->lock);
    return n;
}
