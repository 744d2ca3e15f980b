/*
 * The GPUs' workers (real time, see agent.h "Device calls in parallel"):
 * one thread per GPU, started when its GPU gets its first call, each making
 * the creates and destroys of its own GPU one at a time, as the driver
 * takes them, while the other GPUs' workers run theirs and the loop's
 * thread goes on deciding and writing. A worker sleeps a call's modelled
 * duration (device.h, "Time") before it reports, so an emulated node takes
 * as long as a real one.
 *
 * A GPU's queue holds destroys before creates: a destroy frees a placement
 * (and is what a finished pod waits for); no two calls on one placement are
 * ever queued, since a decision waits for the call on its slice.
 *
 * Locks: the workers' own lock guards the queues and is taken with or
 * without the agent's lock held, never the other way round; a worker takes
 * the agent's lock only to report, after the device call and the sleep.
 * A worker sleeps on its wakeup (util/wakeup.h) with that lock released,
 * and a submit posts it after releasing it: a condition wait on the lock
 * cost a futex call per call submitted (issue 12).
 */
#include "agent/agent_internal.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/vec.h"
#include "util/wakeup.h"

struct worker {
    struct agent_workers *ws;
    pthread_t thread;
    struct wakeup wake; /* a call queued for this GPU, or stop */
    bool started;
    struct agent_call *queue;
    size_t n, cap;
};

struct agent_workers {
    struct agent *a;
    struct mutex lock;
    bool stopping;
    struct worker gpus[DEVICE_MAX_GPUS];
};

/* Sleeps ns unless the workers stop first; lock held. */
static void spend(struct worker *w, uint64_t ns)
{
    struct agent_workers *ws = w->ws;
    struct timespec until = clock_deadline(CLOCK_MONOTONIC, (int64_t)ns);
    while (!ws->stopping && wakeup_wait_unlocked(&ws->lock, &w->wake, &until) != ETIMEDOUT)
        ;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct agent_workers *ws = w->ws;
    struct agent *a = ws->a;
    struct device_slices *after = alloc_malloc(sizeof *after);
    mutex_lock(&ws->lock);
    for (;;) {
        while (!ws->stopping && w->n == 0)
            wakeup_wait_unlocked(&ws->lock, &w->wake, NULL);
        if (ws->stopping)
            break;
        struct agent_call c = w->queue[0];
        memmove(w->queue, w->queue + 1, --w->n * sizeof w->queue[0]);
        mutex_unlock(&ws->lock);
        agent__call_run(a, &c, after);
        mutex_lock(&ws->lock);
        if (a->cfg.device->modelled_time)
            spend(w, c.took);
        mutex_unlock(&ws->lock);
        mutex_lock(&a->lock);
        agent__call_finish(a, &c, after, 0);
        mutex_unlock(&a->lock);
        mutex_lock(&ws->lock);
    }
    mutex_unlock(&ws->lock);
    free(after);
    return NULL;
}

void agent__workers_start(struct agent *a)
{
    if (a->workers)
        return;
    struct agent_workers *ws = alloc_calloc(1, sizeof *ws);
    ws->a = a;
    mutex_init(&ws->lock);
    for (unsigned i = 0; i < DEVICE_MAX_GPUS; i++) {
        ws->gpus[i].ws = ws;
        wakeup_init(&ws->gpus[i].wake);
    }
    mutex_lock(&a->lock);
    a->workers = ws;
    mutex_unlock(&a->lock);
}

/* Where c goes in w's queue: a destroy after the destroys, a create last. */
static size_t slot_for(const struct worker *w, const struct agent_call *c)
{
    if (c->create)
        return w->n;
    size_t i = 0;
    while (i < w->n && !w->queue[i].create)
        i++;
    return i;
}

int agent__workers_submit(struct agent *a, const struct agent_call *c)
{
    assert(mutex_held(&a->lock));
    struct agent_workers *ws = a->workers;
    if (!ws || c->gpu >= DEVICE_MAX_GPUS)
        return -EINVAL;
    struct worker *w = &ws->gpus[c->gpu];
    mutex_lock(&ws->lock);
    int rc = 0;
    if (!w->started) {
        rc = -pthread_create(&w->thread, NULL, work, w);
        w->started = rc == 0;
    }
    if (rc == 0) {
        VEC_RESERVE(w->queue, w->cap, w->n + 1);
        size_t at = slot_for(w, c);
        memmove(w->queue + at + 1, w->queue + at, (w->n - at) * sizeof w->queue[0]);
        w->queue[at] = *c;
        w->n++;
    }
    mutex_unlock(&ws->lock);
    if (rc == 0)
        wakeup_post(&w->wake);
    return rc;
}

/* A call dropped at stop: nothing runs on its slice any more, and its key
 * decides again (a later start or step makes the call anew). */
static void drop(struct agent *a, const struct agent_call *c)
{
    mutex_lock(&a->lock);
    agent__pending_set(a, c->gpu, c->start, 0, a->cfg.now_ns(a->cfg.clock_ctx));
    agent__enqueue(a, c->key[0] ? c->key : AGENT_KEY_NODE);
    agent__enqueue_at(a, c->gpu, c->start);
    mutex_unlock(&a->lock);
}

void agent__workers_stop(struct agent *a)
{
    struct agent_workers *ws = a->workers;
    if (!ws)
        return;
    mutex_lock(&ws->lock);
    ws->stopping = true;
    mutex_unlock(&ws->lock);
    for (unsigned i = 0; i < DEVICE_MAX_GPUS; i++)
        wakeup_post(&ws->gpus[i].wake);
    for (unsigned i = 0; i < DEVICE_MAX_GPUS; i++) {
        struct worker *w = &ws->gpus[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        for (size_t k = 0; k < w->n; k++)
            drop(a, &w->queue[k]);
        free(w->queue);
        wakeup_destroy(&w->wake);
    }
    mutex_lock(&a->lock);
    a->workers = NULL;
    mutex_unlock(&a->lock);
    mutex_destroy(&ws->lock);
    free(ws);
}
