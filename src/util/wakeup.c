/*
 * The wake-up of wakeup.h: a semaphore that never counts past one, and a
 * flag that says whether that one post is pending, so that a poster finds
 * out with one atomic exchange whether there is anything to do.
 *
 * Why no wake-up is lost: a poster that finds the flag already set skips
 * its post, but its exchange came before the sleeper's own exchange that
 * clears the flag, which follows the sleep the pending post ends; that
 * exchange reads what the poster wrote, so everything the poster changed
 * before is seen by the sleeper when it looks again.
 */
#include "util/wakeup.h"

#include <assert.h>
#include <errno.h>

void wakeup_init(struct wakeup *w)
{
    int rc = sem_init(&w->sem, 0, 0);
    assert(rc == 0);
    (void)rc;
    atomic_init(&w->pending, false);
}

void wakeup_destroy(struct wakeup *w)
{
    sem_destroy(&w->sem);
}

void wakeup_post(struct wakeup *w)
{
    if (!atomic_exchange_explicit(&w->pending, true, memory_order_acq_rel))
        sem_post(&w->sem);
}

int wakeup_wait(struct wakeup *w, const struct timespec *until)
{
    int rc;
    do
        rc = until ? sem_clockwait(&w->sem, CLOCK_MONOTONIC, until) : sem_wait(&w->sem);
    while (rc != 0 && errno == EINTR);
    if (rc != 0)
        return errno;
    atomic_exchange_explicit(&w->pending, false, memory_order_acq_rel);
    return 0;
}

int wakeup_wait_unlocked(struct mutex *m, struct wakeup *w, const struct timespec *until)
{
    mutex_unlock(m);
    int rc = wakeup_wait(w, until);
    mutex_lock(m);
    return rc;
}
