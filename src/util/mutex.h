/*
 * A mutex that knows which thread holds it, so that a function whose
 * comment says "called with the lock held" can assert it:
 *
 *     assert(mutex_held(&c->lock));
 *
 * pthread_mutex_trylock cannot answer that question (it fails the same way
 * whether this thread or another holds the lock), and pthread_t has no
 * portable null value; so each thread is named by the address of a
 * thread-local byte, recorded after locking and cleared before unlocking.
 * A thread that does not hold the mutex never reads its own name in the
 * owner field, which is all mutex_held needs. It costs two relaxed atomic
 * stores per lock and unlock.
 *
 * A failure of the pthread calls underneath (EINVAL, EDEADLK) is a
 * programming error, asserted against; none of these functions fails.
 */
#ifndef GPUSLICE_UTIL_MUTEX_H
#define GPUSLICE_UTIL_MUTEX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

struct mutex {
    pthread_mutex_t mu;
    _Atomic(const void *) owner; /* the holder's name, or NULL */
};

void mutex_init(struct mutex *m);

/* m must not be held. */
void mutex_destroy(struct mutex *m);

void mutex_lock(struct mutex *m);

/* m must be held by the calling thread. */
void mutex_unlock(struct mutex *m);

/* Whether the calling thread holds m. */
bool mutex_held(const struct mutex *m);

/* pthread_cond_timedwait on m, which the caller holds (and holds again
 * after); until NULL waits without a limit. Returns 0 or ETIMEDOUT. */
int mutex_cond_wait(struct mutex *m, pthread_cond_t *cond, const struct timespec *until);

#endif
