/*
 * Exponential backoff, the one rule for everything that retries after a
 * failure (the work queue's keys, the informers' lists and watches, the
 * controller's failed slices): the delay after the n-th failure in a row is
 * base * 2^(n-1), never more than max.
 *
 * Pure arithmetic on nanoseconds: no clock, no sleeping, no global random
 * source. Jitter, for callers that many instances share a failure with (all
 * informers losing the same server), comes from a generator state the
 * caller owns and seeds, so a simulation replays the same delays.
 */
#ifndef GPUSLICE_UTIL_BACKOFF_H
#define GPUSLICE_UTIL_BACKOFF_H

#include <stdint.h>

#include "util/err.h"

struct backoff {
    int64_t base_ns; /* delay after the first failure */
    int64_t max_ns;  /* the delay never grows past this */
};

/* 0 when 0 < base_ns <= max_ns, else -EINVAL with e filled. */
int backoff_check(const struct backoff *b, struct err *e);

/* b with each zero field taken from dflt (a config's "0: the default"). */
struct backoff backoff_or(struct backoff b, struct backoff dflt);

/* The delay after the failures-th failure in a row (0 counts as 1):
 * base_ns doubled failures - 1 times, capped at max_ns, without overflow
 * however large failures is. b must pass backoff_check. */
int64_t backoff_delay(const struct backoff *b, unsigned failures);

/* backoff_delay with its lower half replaced by jitter: a delay d becomes
 * d - d/2 + a uniform draw from [0, d/2], drawn from *rng (xorshift64*,
 * advanced; a zero state is first set to a fixed non-zero one). Callers
 * failing together with different seeds then retry apart. */
int64_t backoff_jittered(const struct backoff *b, unsigned failures, uint64_t *rng);

#endif
