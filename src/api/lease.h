/*
 * Leases (coordination.k8s.io/v1), as leader election uses them: who holds
 * the lease, for how long, and when it was last renewed. Times are
 * MicroTime ("2006-01-02T15:04:05.000000Z") in the object and nanoseconds
 * since the epoch here, so callers compare them with their own clock.
 */
#ifndef GPUSLICE_API_LEASE_H
#define GPUSLICE_API_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

struct lease_view {
    const char *name, *ns;
    const char *holder;     /* "" when nobody holds it */
    int64_t duration_s;     /* leaseDurationSeconds, 0 when absent */
    int64_t acquire_ns;     /* acquireTime, 0 when absent */
    int64_t renew_ns;       /* renewTime, 0 when absent */
    int64_t transitions;    /* leaseTransitions */
};

/* Reads a Lease; -EINVAL naming the field when a time or number is
 * malformed or negative. */
int lease_read(const json_t *lease, struct lease_view *v, struct err *e);

/* A Lease in ns held by holder from now_ns for duration_s; new reference
 * owned by the caller, NULL when out of memory. */
json_t *lease_new(const char *ns, const char *name, const char *holder, int64_t duration_s,
                  int64_t now_ns);

/* Whether the lease is free to take at now_ns: nobody holds it, or its
 * holder has not renewed within the duration. */
bool lease_expired(const struct lease_view *v, int64_t now_ns);

#endif
