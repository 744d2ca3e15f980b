/* Tests for util/mutex: mutex_held answers for the calling thread only,
 * through locks, unlocks and condition waits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "util/mutex.h"

static void held_only_between_lock_and_unlock(void **state)
{
    (void)state;
    struct mutex m;
    mutex_init(&m);
    assert_false(mutex_held(&m));
    mutex_lock(&m);
    assert_true(mutex_held(&m));
    mutex_unlock(&m);
    assert_false(mutex_held(&m));
    mutex_destroy(&m);
}

struct probe {
    struct mutex *m;
    bool held;
};

static void *ask_from_another_thread(void *arg)
{
    struct probe *p = arg;
    p->held = mutex_held(p->m);
    return NULL;
}

static void another_thread_does_not_hold_it(void **state)
{
    (void)state;
    struct mutex m;
    mutex_init(&m);
    mutex_lock(&m);
    struct probe p = {&m, true};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, ask_from_another_thread, &p), 0);
    pthread_join(t, NULL);
    assert_false(p.held);
    assert_true(mutex_held(&m));
    mutex_unlock(&m);
    mutex_destroy(&m);
}

static void held_again_after_a_condition_wait(void **state)
{
    (void)state;
    struct mutex m;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    mutex_init(&m);
    mutex_lock(&m);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    assert_int_equal(mutex_cond_wait(&m, &cond, &now), ETIMEDOUT);
    assert_true(mutex_held(&m));
    mutex_unlock(&m);
    mutex_destroy(&m);
    pthread_cond_destroy(&cond);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(held_only_between_lock_and_unlock),
        cmocka_unit_test(another_thread_does_not_hold_it),
        cmocka_unit_test(held_again_after_a_condition_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
