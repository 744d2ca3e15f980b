/*
 * A store that counts the writes made through it, by kind: the figure the
 * cost of a pod follows. Each write the parts make is a commit, a watch
 * event to every informer of its kind and the reconciles that wakes, so
 * writes per pod is what a change to the lifecycle should move first;
 * summary.json reports it (storeWrites) so that no one needs a patched
 * store to see it.
 *
 * Only writes that succeeded count (a create, update, patch, delete or
 * binding the inner store took): a conflict or a refused create changed
 * nothing. Reads and watches go to the inner store unchanged.
 *
 * Ownership: the wrapper is the caller's (store_free frees it, not the
 * inner store, which must outlive it).
 */
#ifndef GPUSLICE_SIM_TALLY_H
#define GPUSLICE_SIM_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define TALLY_KINDS_MAX 32

struct tally_kind {
    char plural[64]; /* the resource's plural ("pods", "gpuslices"): a DNS label, <= 63 */
    uint64_t writes;
};

/* The counts so far, kinds in the order first written; kinds past
 * TALLY_KINDS_MAX count in total only. */
struct tally_counts {
    uint64_t total;
    struct tally_kind kinds[TALLY_KINDS_MAX];
    size_t n_kinds;
};

/* A store over inner (not owned) that counts the writes through it. */
int tally_store_new(struct store *inner, struct store **out, struct err *e);

/* What st counted; all zero when st is not a tally store. */
void tally_get(struct store *st, struct tally_counts *out);

#endif
