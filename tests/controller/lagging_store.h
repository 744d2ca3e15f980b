/*
 * A store in front of another that plays two things a real API server and
 * its watches do under load, each on demand: a create that was applied but
 * whose reply never came (the client saw a timeout), and a watch of one
 * resource that lags (delivers nothing while held). Together they open the
 * window in which a controller knows less than the store holds.
 *
 * Owns the inner store (store_free frees both). Not thread-safe: for the
 * controller tests' stepped world.
 */
#ifndef GPUSLICE_TESTS_CONTROLLER_LAGGING_STORE_H
#define GPUSLICE_TESTS_CONTROLLER_LAGGING_STORE_H

#include <stdbool.h>

#include "store/store.h"

struct lagging {
    const struct api_resource *res; /* the resource both faults apply to */
    unsigned lose_create_replies;   /* the next creates of res: applied, -ETIMEDOUT */
    bool hold_watch;                /* watches of res deliver nothing while set */
};

/* A store over inner (taken) whose faults are read from, and counted down
 * in, *faults (the caller's, outliving the store). */
struct store *lagging_store_new(struct store *inner, struct lagging *faults);

#endif
