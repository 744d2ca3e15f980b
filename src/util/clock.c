/*
 * The system's clocks in nanoseconds (see clock.h).
 */
#include "util/clock.h"

#include <errno.h>

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t clock_monotonic_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

int64_t clock_realtime_ns(void)
{
    return read_ns(CLOCK_REALTIME);
}

int64_t clock_monotonic_now(void *ctx)
{
    (void)ctx;
    return clock_monotonic_ns();
}

int64_t clock_realtime_now(void *ctx)
{
    (void)ctx;
    return clock_realtime_ns();
}

struct timespec clock_timespec(int64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / NS_PER_SEC), .tv_nsec = (long)(ns % NS_PER_SEC)};
}

struct timespec clock_deadline(clockid_t id, int64_t after_ns)
{
    struct timespec now;
    clock_gettime(id, &now);
    struct timespec add = clock_timespec(after_ns > 0 ? after_ns : 0);
    now.tv_sec += add.tv_sec;
    now.tv_nsec += add.tv_nsec;
    if (now.tv_nsec >= NS_PER_SEC) {
        now.tv_sec++;
        now.tv_nsec -= NS_PER_SEC;
    }
    return now;
}

void clock_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec left = clock_timespec(ns);
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}

void clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}
