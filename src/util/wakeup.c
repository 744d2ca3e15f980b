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

/* Whether until (CLOCK_MONOTONIC) has come. */
static bool passed(const struct timespec *until)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > until->tv_sec ||
           (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec);
}

/* One try at the semaphore: 0, or -1 with errno (EINTR, ETIMEDOUT). */
static int take(struct wakeup *w, const struct timespec *until)
{
    if (!until)
        return sem_wait(&w->sem);
    /* glibc's timed wait makes the futex call even for a time already
     * past: a worker's spend of 0 ns cost one per device call. */
    if (!passed(until))
        return sem_clockwait(&w->sem, CLOCK_MONOTONIC, until);
    if (sem_trywait(&w->sem) == 0)
        return 0;
    errno = ETIMEDOUT;
    return -1;
}

int wakeup_wait(struct wakeup *w, const struct timespec *until)
{
    int rc;
    do
        rc = take(w, until);
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
