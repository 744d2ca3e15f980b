/*
 * Admission without HTTP: a store that hands every pod create to the
 * webhook's rewrite (webhook/mutate.h, mutate_pod) before the store sees
 * it, exactly where the API server's mutating admission runs when the
 * embedded cluster registers gpuslice's webhook for namespaces labelled
 * gpuslice.dev/enabled=true.
 *
 * Why a store wrapper: every pod of a simulation is created through a
 * store (the workload driver's, and the Job and ReplicaSet controllers'
 * in cluster/), so wrapping the store they are given admits them all, at
 * the one point a real API server would, with no part knowing about it;
 * the mem store stays free of webhook logic (store/ may not include
 * webhook/), and sim/ is the layer allowed to join the two. Every other
 * call, watches included, goes to the inner store unchanged.
 *
 * What admission decides is what the real webhook decides (same function):
 * a namespace not opted in, or one the webhook never mutates, passes pods
 * untouched; a request the webhook denies fails the create with -EINVAL
 * and the webhook's message, as kube-apiserver fails it. The ConfigMap
 * prefix, random in the real webhook, comes from a seeded sequence here,
 * so a simulation replays.
 */
#ifndef GPUSLICE_SIM_ADMIT_H
#define GPUSLICE_SIM_ADMIT_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* A store over inner (not owned: it must outlive the wrapper; store_free
 * frees the wrapper only) that admits pod creates. *out is the caller's. */
int admit_store_new(struct store *inner, uint64_t seed, struct store **out, struct err *e);

/* Pod creates admitted with a rewrite, and denied, so far. */
struct admit_stats {
    uint64_t mutated, denied;
};

void admit_get_stats(struct store *st, struct admit_stats *out);

#endif
