/*
 * A wake-up for one sleeping thread, posted after the poster has released
 * the lock that guards what changed, and slept on with that lock released
 * (issue 12). It replaces a condition variable where one thread sleeps and
 * others tell it that there is work:
 *
 *   - a condition variable signalled under the lock wakes its sleeper only
 *     for it to block on the lock at once, and the signaller's unlock then
 *     pays a futex wake;
 *   - glibc takes a mutex back from a condition wait marked contended, so
 *     the sleeper's next unlock made a futex call even with no one waiting.
 *
 * The sleeper looks at its state under its lock, releases the lock and
 * sleeps (wakeup_wait, or wakeup_wait_unlocked); a poster changes the state
 * under the lock, releases it, then posts. A post with no one asleep is
 * kept for the next sleep, which returns at once; posts pending coalesce
 * into one, so a busy sleeper is not woken once per post afterwards. A wake-up is
 * never lost; at worst one is spare, and the sleeper looks once more.
 *
 * Ownership: the wakeup is the caller's, usually a field of the sleeper's
 * struct; wakeup_destroy once no thread sleeps on it or posts it.
 */
#ifndef GPUSLICE_UTIL_WAKEUP_H
#define GPUSLICE_UTIL_WAKEUP_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "util/mutex.h"

struct wakeup {
    sem_t sem;            /* 1 while a post is pending, else 0 */
    atomic_bool pending;  /* posted, and no sleep has taken it yet */
};

void wakeup_init(struct wakeup *w);
void wakeup_destroy(struct wakeup *w);

/* Wakes the sleeper, or makes its next sleep return at once. Any thread,
 * with no lock held (posting under the sleeper's lock works, but costs the
 * wake-ups this file exists to save). Makes a system call only when the
 * sleeper is asleep and no post was pending. */
void wakeup_post(struct wakeup *w);

/* Sleeps until posted or until the time until on CLOCK_MONOTONIC
 * (clock_deadline(CLOCK_MONOTONIC, ...); NULL: no limit), resuming after a
 * signal. Returns 0 when posted, ETIMEDOUT when the time came first. */
int wakeup_wait(struct wakeup *w, const struct timespec *until);

/* wakeup_wait with m, which the caller holds, released meanwhile and held
 * again when it returns. */
int wakeup_wait_unlocked(struct mutex *m, struct wakeup *w, const struct timespec *until);

#endif
