/*
 * Time in gpuslice: one unit, nanoseconds in an int64_t, everywhere (an
 * int64_t of nanoseconds lasts until 2262), and the one place that reads
 * the system's clocks.
 *
 * Components never read a clock themselves: they are given one, a
 * clock_now_fn and its context, in their config. That is what lets the
 * simulator and the tests run the same code in virtual time. The real
 * clocks below have the clock_now_fn shape so that a config can name them.
 *
 * Two real clocks, for two different questions: CLOCK_REALTIME is "what
 * time is it" (timestamps written into objects, Events, leases' renew
 * times); CLOCK_MONOTONIC is "how long since" (timeouts, backoff, latency),
 * which a wall-clock step must not disturb.
 */
#ifndef GPUSLICE_UTIL_CLOCK_H
#define GPUSLICE_UTIL_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define NS_PER_US INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)

/* An injected clock: nanoseconds on the scale the config that holds it
 * names (since the Unix epoch, or on any monotonic scale). ctx is the
 * config's clock_ctx. */
typedef int64_t (*clock_now_fn)(void *ctx);

/* The system's clocks now, in nanoseconds. */
int64_t clock_monotonic_ns(void);
int64_t clock_realtime_ns(void);

/* The same as clock_now_fn, ignoring ctx: the default of a config whose
 * clock is NULL. */
int64_t clock_monotonic_now(void *ctx);
int64_t clock_realtime_now(void *ctx);

/* A timespec of ns nanoseconds (ns >= 0). */
struct timespec clock_timespec(int64_t ns);

/* The absolute time after_ns from now on clock id (the clock a condition
 * variable waits on: CLOCK_REALTIME unless its attributes say otherwise),
 * for pthread_cond_timedwait. A negative after_ns counts as 0. */
struct timespec clock_deadline(clockid_t id, int64_t after_ns);

/* Initialises cond to time out on CLOCK_MONOTONIC, so its waits, given
 * clock_deadline(CLOCK_MONOTONIC, ...), do not jump when the wall clock is
 * set. Destroy it with pthread_cond_destroy. */
void clock_cond_init(pthread_cond_t *cond);

/* Sleeps ns nanoseconds of real time, resuming after a signal; returns at
 * once when ns <= 0. */
void clock_sleep_ns(int64_t ns);

#endif
