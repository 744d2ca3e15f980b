/*
 * Exponential backoff (see backoff.h).
 */
#include "util/backoff.h"

#define BACKOFF_RNG_SEED UINT64_C(0x9E3779B97F4A7C15) /* for a zero state */

int backoff_check(const struct backoff *b, struct err *e)
{
    if (b->base_ns <= 0 || b->max_ns < b->base_ns)
        return err_set(e, -EINVAL, "backoff needs 0 < base <= max (base %lld ns, max %lld ns)",
                       (long long)b->base_ns, (long long)b->max_ns);
    return 0;
}

struct backoff backoff_or(struct backoff b, struct backoff dflt)
{
    if (!b.base_ns)
        b.base_ns = dflt.base_ns;
    if (!b.max_ns)
        b.max_ns = dflt.max_ns;
    return b;
}

int64_t backoff_delay(const struct backoff *b, unsigned failures)
{
    unsigned doublings = failures > 1 ? failures - 1 : 0;
    /* base << doublings fits and stays under max only while base does not
     * exceed max >> doublings; past 62 doublings nothing positive does. */
    if (doublings > 62 || b->base_ns > (b->max_ns >> doublings))
        return b->max_ns;
    return b->base_ns << doublings;
}

static uint64_t next_random(uint64_t *rng)
{
    if (!*rng)
        *rng = BACKOFF_RNG_SEED;
    /* xorshift64*: enough for jitter, and reproducible from the seed. */
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    return *rng * UINT64_C(0x2545F4914F6CDD1D);
}

int64_t backoff_jittered(const struct backoff *b, unsigned failures, uint64_t *rng)
{
    int64_t delay = backoff_delay(b, failures);
    int64_t half = delay / 2;
    return delay - half + (int64_t)(next_random(rng) % ((uint64_t)half + 1));
}
