/*
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection does it, written as a pure step so that the controller's
 * two replicas can be interleaved deterministically in tests and the
 * simulator.
 *
 * The rules: the holder renews spec.renewTime every retry period; a
 * candidate takes the lease over only when it has seen no change to the
 * lease record for a whole lease duration, measured on its own clock (never
 * by comparing another process's timestamps with its own, since clocks
 * differ); every write carries the resourceVersion it read, so two
 * candidates racing for an expired lease cannot both win (one gets a
 * Conflict). A leader that has not renewed within the renew deadline stops
 * acting before anyone else may take over (renew deadline < lease
 * duration), so two leaders never act at once. A lease that vanished (an
 * API server restarted with an empty store) counts as a change of the
 * record: a replica that saw it held creates a new one only after it has
 * been gone a whole lease duration, while the leader itself re-creates it
 * at once; a replica that never saw one creates it at once.
 */
#ifndef GPUSLICE_RECONCILE_LEADER_H
#define GPUSLICE_RECONCILE_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define LEADER_IDENTITY_MAX 128
#define LEADER_RV_MAX 32

struct leader_config {
    const char *identity;     /* this replica: "controller-7f9c-abcde" */
    int64_t lease_ns;         /* leaseDurationSeconds, e.g. 15 s */
    int64_t renew_deadline_ns;/* stop leading after this long without a renewal, e.g. 10 s */
    int64_t retry_ns;         /* how often to try, e.g. 2 s */
};

struct leader {
    struct leader_config cfg;
    bool leading;
    int64_t last_renew_ns;    /* our clock: when we last renewed successfully */
    /* What we last saw of the lease, and when (our clock): a record that has
     * not changed for lease_ns is expired. */
    char seen_holder[LEADER_IDENTITY_MAX];
    char seen_renew[40];
    char seen_rv[LEADER_RV_MAX];
    int64_t seen_at_ns;
    bool seen_any;
    /* The lease was gone when last read (since seen_at_ns): a store that
     * lost it, or a transient failure to read it. */
    bool seen_absent;
};

/* Starts as a follower. -EINVAL unless 0 < retry < renew_deadline < lease
 * and the identity is 1..LEADER_IDENTITY_MAX-1 bytes. */
int leader_init(struct leader *l, const struct leader_config *cfg, struct err *e);

/* One election step at now_ns (our clock; also written into the lease as
 * wall time through wall_ns) given the lease as last read (NULL when it does
 * not exist). Sets *write to the Lease to create (when lease is NULL) or
 * update (carrying the read resourceVersion), or NULL when there is nothing
 * to write; *write is owned by the caller. A leader past its renew deadline
 * stops leading here. Returns 0, or -ENOMEM. */
int leader_step(struct leader *l, const json_t *lease, const char *ns, const char *name,
                int64_t now_ns, int64_t wall_ns, json_t **write, struct err *e);

/* Reports the outcome of writing what leader_step asked for: rc 0 with the
 * stored lease makes this replica the leader (renewed now); a failure (a
 * Conflict: someone else wrote first) leaves it a follower, or a leader
 * until its renew deadline passes. */
void leader_written(struct leader *l, int rc, const json_t *stored, int64_t now_ns);

/* Whether this replica may act now: it leads and renewed within the renew
 * deadline. */
bool leader_is_leading(const struct leader *l, int64_t now_ns);

/* When leader_step should run next (our clock). */
int64_t leader_next_step(const struct leader *l, int64_t now_ns);

#endif
