/*
 * The owner-recording mutex of mutex.h. The thread's name must be one
 * object for the whole program (not one per translation unit), hence this
 * file rather than inline functions.
 */
#include "util/mutex.h"

#include <assert.h>

static _Thread_local char thread_name;

static const void *self(void)
{
    return &thread_name;
}

void mutex_init(struct mutex *m)
{
    int rc = pthread_mutex_init(&m->mu, NULL);
    assert(rc == 0);
    (void)rc;
    atomic_init(&m->owner, NULL);
}

void mutex_destroy(struct mutex *m)
{
    assert(atomic_load_explicit(&m->owner, memory_order_relaxed) == NULL);
    pthread_mutex_destroy(&m->mu);
}

void mutex_lock(struct mutex *m)
{
    int rc = pthread_mutex_lock(&m->mu);
    assert(rc == 0);
    (void)rc;
    atomic_store_explicit(&m->owner, self(), memory_order_relaxed);
}

void mutex_unlock(struct mutex *m)
{
    assert(mutex_held(m));
    atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
    pthread_mutex_unlock(&m->mu);
}

bool mutex_held(const struct mutex *m)
{
    return atomic_load_explicit(&m->owner, memory_order_relaxed) == self();
}

int mutex_cond_wait(struct mutex *m, pthread_cond_t *cond, const struct timespec *until)
{
    assert(mutex_held(m));
    atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
    int rc = until ? pthread_cond_timedwait(cond, &m->mu, until) : pthread_cond_wait(cond, &m->mu);
    atomic_store_explicit(&m->owner, self(), memory_order_relaxed);
    return rc;
}
