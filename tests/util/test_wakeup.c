/* Tests for util/wakeup: a post wakes the sleeper or its next sleep, posts
 * pending coalesce, a timed sleep times out, and no post is lost between a
 * sleeper's look at its state and its sleep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/clock.h"
#include "util/wakeup.h"

static int setup(void **state)
{
    struct wakeup *w = malloc(sizeof *w);
    wakeup_init(w);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    wakeup_destroy(*state);
    free(*state);
    return 0;
}

static struct timespec soon(void)
{
    return clock_deadline(CLOCK_MONOTONIC, NS_PER_MS);
}

static void a_post_before_the_sleep_is_kept(void **state)
{
    struct wakeup *w = *state;
    wakeup_post(w);
    assert_int_equal(wakeup_wait(w, NULL), 0);
}

static void a_timed_sleep_without_a_post_times_out(void **state)
{
    struct wakeup *w = *state;
    struct timespec until = soon();
    assert_int_equal(wakeup_wait(w, &until), ETIMEDOUT);
}

static void a_sleep_until_a_time_past_takes_a_pending_post(void **state)
{
    struct wakeup *w = *state;
    struct timespec past = clock_deadline(CLOCK_MONOTONIC, 0);
    assert_int_equal(wakeup_wait(w, &past), ETIMEDOUT);
    wakeup_post(w);
    assert_int_equal(wakeup_wait(w, &past), 0);
    assert_int_equal(wakeup_wait(w, &past), ETIMEDOUT);
}

static void posts_pending_wake_one_sleep(void **state)
{
    struct wakeup *w = *state;
    for (int i = 0; i < 3; i++)
        wakeup_post(w);
    struct timespec until = soon();
    assert_int_equal(wakeup_wait(w, &until), 0);
    until = soon();
    assert_int_equal(wakeup_wait(w, &until), ETIMEDOUT);
}

static void waiting_unlocked_holds_the_mutex_again(void **state)
{
    struct wakeup *w = *state;
    struct mutex m;
    mutex_init(&m);
    mutex_lock(&m);
    struct timespec until = soon();
    assert_int_equal(wakeup_wait_unlocked(&m, w, &until), ETIMEDOUT);
    assert_true(mutex_held(&m));
    wakeup_post(w);
    assert_int_equal(wakeup_wait_unlocked(&m, w, NULL), 0);
    assert_true(mutex_held(&m));
    mutex_unlock(&m);
    mutex_destroy(&m);
}

/* A sleeper that waits without a limit for a counter to move, and a poster
 * that moves it only once the sleeper has seen the last move: each post
 * finds the sleeper asleep or about to be, so a lost post leaves it asleep
 * for good and the test never ends (the harness's timeout fails it). */
#define ROUNDS 2000

struct ping_pong {
    struct mutex m;
    struct wakeup to_sleeper, to_poster;
    int sent, seen;
};

static void *sleeper_main(void *arg)
{
    struct ping_pong *pp = arg;
    mutex_lock(&pp->m);
    while (pp->seen < ROUNDS) {
        while (pp->seen == pp->sent)
            wakeup_wait_unlocked(&pp->m, &pp->to_sleeper, NULL);
        pp->seen = pp->sent;
        mutex_unlock(&pp->m);
        wakeup_post(&pp->to_poster);
        mutex_lock(&pp->m);
    }
    mutex_unlock(&pp->m);
    return NULL;
}

static void no_post_is_lost(void **state)
{
    (void)state;
    struct ping_pong pp = {.sent = 0};
    mutex_init(&pp.m);
    wakeup_init(&pp.to_sleeper);
    wakeup_init(&pp.to_poster);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sleeper_main, &pp), 0);
    mutex_lock(&pp.m);
    for (int i = 1; i <= ROUNDS; i++) {
        pp.sent = i;
        mutex_unlock(&pp.m);
        wakeup_post(&pp.to_sleeper);
        mutex_lock(&pp.m);
        while (pp.seen < i)
            wakeup_wait_unlocked(&pp.m, &pp.to_poster, NULL);
    }
    mutex_unlock(&pp.m);
    pthread_join(t, NULL);
    assert_int_equal(pp.seen, ROUNDS);
    wakeup_destroy(&pp.to_poster);
    wakeup_destroy(&pp.to_sleeper);
    mutex_destroy(&pp.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_post_before_the_sleep_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(a_timed_sleep_without_a_post_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sleep_until_a_time_past_takes_a_pending_post, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(posts_pending_wake_one_sleep, setup, teardown),
        cmocka_unit_test_setup_teardown(waiting_unlocked_holds_the_mutex_again, setup,
                                        teardown),
        cmocka_unit_test(no_post_is_lost),
    };
    return cmocka_run_group_tests_name("util_wakeup", tests, NULL, NULL);
}
