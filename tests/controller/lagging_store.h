/*
 * A store in front of another that plays two things a real API server and
 * its watches do under load, each on demand: a create that was applied but
 * whose reply never came (the client saw a timeout), a watch of one
 * resource that lags (delivers nothing while held), and a reply that comes
 * after what the watches showed next (after_update). Together they open
 * the windows in which a controller knows less, or other, than the store
 * holds.
 *
 * Owns the inner store (store_free frees both). Not thread-safe: for the
 * controller tests' stepped world.
 */
#ifndef GPUSLICE_TESTS_CONTROLLER_LAGGING_STORE_H
#define GPUSLICE_TESTS_CONTROLLER_LAGGING_STORE_H

#include <stdbool.h>

#include <jansson.h>

#include "store/store.h"

struct lagging {
    const struct api_resource *res; /* the resource both faults apply to */
    unsigned lose_create_replies;   /* the next creates of res: applied, -ETIMEDOUT */
    bool hold_watch;                /* watches of res deliver nothing while set */
    /* Called after each update of res the inner store took, before its
     * reply goes back (NULL: none): what the writer's caches can hear of
     * before the writer hears its answer, on another thread of a real
     * client. */
    void (*after_update)(void *ctx, const json_t *written);
    void *after_update_ctx;
};

/* A store over inner (taken) whose faults are read from, and counted down
 * in, *faults (the caller's, outliving the store). */
struct store *lagging_store_new(struct store *inner, struct lagging *faults);

#endif
