/*
 * A work queue of keys for reconcilers, in the shape of client-go's: a key
 * is queued at most once however often it is added; a key being processed
 * that is added again is queued once more when its processing is done (so
 * no change is lost and no key is reconciled by two workers at once); keys
 * may be added to become ready later; and a key that keeps failing waits
 * exponentially longer each time until it is forgotten.
 *
 * Time is passed in by the caller (nanoseconds on any monotonic clock, real
 * or virtual) and the queue never blocks: the runtime asks for the next
 * ready key and, when there is none, for when the next delayed one is due.
 * That is what lets the simulator run the same controllers in virtual time.
 *
 * Ready keys come out in the order they became ready (FIFO; delayed keys
 * that fall due together come out in the order of their deadlines, then of
 * their adding), so a run is deterministic. Not thread-safe: a threaded
 * runtime holds its own lock around the calls.
 */
#ifndef GPUSLICE_UTIL_WORKQUEUE_H
#define GPUSLICE_UTIL_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/backoff.h"
#include "util/clock.h"
#include "util/err.h"

#define WORKQUEUE_KEY_MAX 320 /* "resource/namespace/name" fits */

struct workqueue;

/* client-go's: 5 ms doubling up to 5 minutes. */
#define WORKQUEUE_BACKOFF_DEFAULT ((struct backoff){5 * NS_PER_MS, 300 * NS_PER_SEC})

/* A new empty queue, owned by the caller (workqueue_free). backoff may be
 * NULL for WORKQUEUE_BACKOFF_DEFAULT; one that fails backoff_check is
 * -EINVAL. */
int workqueue_new(const struct backoff *backoff, struct workqueue **out, struct err *e);

void workqueue_free(struct workqueue *q);

/* Queues key now. -EINVAL (and nothing queued) for an empty key or one
 * longer than WORKQUEUE_KEY_MAX - 1 bytes, its only failure: memory follows
 * util/alloc.h. */
int workqueue_add(struct workqueue *q, const char *key, struct err *e);

/* Queues key to be ready at time at_ns (a key already due sooner keeps its
 * earlier time). */
int workqueue_add_at(struct workqueue *q, const char *key, int64_t at_ns, struct err *e);

/* Queues key after its failure backoff, counting one more failure; returns
 * the delay chosen through *delay_ns (may be NULL). */
int workqueue_add_failed(struct workqueue *q, const char *key, int64_t now_ns,
                         int64_t *delay_ns, struct err *e);

/* Resets key's failure count (after a success). */
void workqueue_forget(struct workqueue *q, const char *key);

/* How many times key failed since it was last forgotten. */
unsigned workqueue_failures(const struct workqueue *q, const char *key);

/* Takes the next key ready at now_ns into key (WORKQUEUE_KEY_MAX bytes) and
 * marks it processing. false when none is ready. */
bool workqueue_next(struct workqueue *q, int64_t now_ns, char key[WORKQUEUE_KEY_MAX]);

/* Ends the processing of key; if it was added meanwhile it is queued again. */
void workqueue_done(struct workqueue *q, const char *key);

/* The earliest time a delayed key falls due, or INT64_MAX when none waits.
 * A key queued now counts as due at 0. */
int64_t workqueue_next_due(const struct workqueue *q);

/* Keys queued or delayed (not those only processing). */
size_t workqueue_len(const struct workqueue *q);

#endif
