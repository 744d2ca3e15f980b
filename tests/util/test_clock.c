/* Tests for util/clock: the real clocks, conversions, deadlines, sleeping. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "util/clock.h"

static void units_are_nanoseconds(void **state)
{
    (void)state;
    assert_int_equal(NS_PER_US, 1000);
    assert_int_equal(NS_PER_MS, 1000 * NS_PER_US);
    assert_int_equal(NS_PER_SEC, 1000 * NS_PER_MS);
}

static void monotonic_never_goes_back(void **state)
{
    (void)state;
    int64_t a = clock_monotonic_ns();
    int64_t b = clock_monotonic_ns();
    int64_t c = clock_monotonic_now(NULL);
    assert_true(a > 0);
    assert_true(b >= a);
    assert_true(c >= b);
}

static void realtime_is_since_the_epoch(void **state)
{
    (void)state;
    /* Bracketed by CLOCK_REALTIME itself: glibc's time() reads a coarse
     * clock up to a tick behind, so at a second's boundary a precise
     * reading taken before it could land past it (a flake under load). */
    struct timespec b, a;
    clock_gettime(CLOCK_REALTIME, &b);
    int64_t ns = clock_realtime_ns();
    int64_t now = clock_realtime_now(NULL);
    clock_gettime(CLOCK_REALTIME, &a);
    assert_in_range(ns, (int64_t)b.tv_sec * NS_PER_SEC + b.tv_nsec,
                    (int64_t)a.tv_sec * NS_PER_SEC + a.tv_nsec);
    assert_true(now >= ns);
}

static void timespec_splits_seconds_and_nanoseconds(void **state)
{
    (void)state;
    struct timespec ts = clock_timespec(3 * NS_PER_SEC + 250 * NS_PER_MS);
    assert_int_equal(ts.tv_sec, 3);
    assert_int_equal(ts.tv_nsec, 250 * NS_PER_MS);
    ts = clock_timespec(999);
    assert_int_equal(ts.tv_sec, 0);
    assert_int_equal(ts.tv_nsec, 999);
}

static int64_t ns_of(struct timespec ts)
{
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static void deadline_is_later_by_the_wait(void **state)
{
    (void)state;
    clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (size_t i = 0; i < 2; i++) {
        struct timespec now;
        clock_gettime(ids[i], &now);
        struct timespec d = clock_deadline(ids[i], 1500 * NS_PER_MS);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < NS_PER_SEC);
        assert_true(ns_of(d) - ns_of(now) >= 1500 * NS_PER_MS);
        /* A wait in the past is no wait: the deadline is now. */
        struct timespec p = clock_deadline(ids[i], -5 * NS_PER_SEC);
        assert_true(ns_of(p) >= ns_of(now));
        assert_true(ns_of(p) < ns_of(d));
    }
}

/* A condition variable made by clock_cond_init times out on the
 * monotonic clock: a wait until a monotonic instant ends no earlier than
 * that instant. (One on the realtime clock would read the same timespec as
 * decades ago and return at once, before the instant.) */
static void cond_waits_on_the_monotonic_clock(void **state)
{
    (void)state;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c;
    clock_cond_init(&c);
    pthread_mutex_lock(&m);
    struct timespec until = clock_deadline(CLOCK_MONOTONIC, 20 * NS_PER_MS);
    int rc;
    while ((rc = pthread_cond_timedwait(&c, &m, &until)) == 0)
        ; /* a spurious wake-up: wait again */
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(clock_monotonic_ns() >= (int64_t)until.tv_sec * NS_PER_SEC + until.tv_nsec);
    pthread_mutex_unlock(&m);
    pthread_cond_destroy(&c);
}

static void sleep_lasts_at_least_its_length(void **state)
{
    (void)state;
    int64_t t0 = clock_monotonic_ns();
    clock_sleep_ns(2 * NS_PER_MS);
    assert_true(clock_monotonic_ns() - t0 >= 2 * NS_PER_MS);
    clock_sleep_ns(0);
    clock_sleep_ns(-1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(units_are_nanoseconds),
        cmocka_unit_test(monotonic_never_goes_back),
        cmocka_unit_test(realtime_is_since_the_epoch),
        cmocka_unit_test(timespec_splits_seconds_and_nanoseconds),
        cmocka_unit_test(deadline_is_later_by_the_wait),
        cmocka_unit_test(cond_waits_on_the_monotonic_clock),
        cmocka_unit_test(sleep_lasts_at_least_its_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
