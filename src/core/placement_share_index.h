/*
 * The share index: the shared GPUs of core/placement_share.h grouped by
 * what they have free, so that a decision visits only GPUs with room for
 * the request, in the order the policy ranks them, instead of scoring
 * every shared GPU. It chooses exactly what placement_share_decide's scan
 * chooses (tests/core/test_placement_share_index.c compares them over
 * random histories).
 *
 * A GPU that can take a client (not held back, clients below its slots,
 * counters within its room) sits in one cell, keyed by its class (mode
 * and capacity: GiB clients may pin for mps, slots for timeslice), whether
 * it is empty, its free GiB (timeslice: free slots) and its free SM
 * percent (timeslice: 0). Every GPU of a cell has the same fit and the
 * same key for any request, so a decision ranks cells, not GPUs; a cell
 * keeps its GPUs sorted, which is the policies' tie-break. Cells are
 * rows of bit sets (a row per free GiB, a bit per free SM percent), and
 * within a row the best-fit key grows with the free SMs and the
 * fragmentation-aware key grows away from the balanced point, so each row
 * yields its cells in key order by bit scans. First-fit, where every GPU
 * ties, walks blocks of 64 GPUs instead, skipping a block whose most free
 * GiB or SMs are too few.
 *
 * The caller owns the GPU array and calls placement_share_index_update
 * after every change to a GPU's counters or held_back. Not thread-safe;
 * a decision uses scratch space inside the index.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_SHARE_INDEX_H
#define GPUSLICE_CORE_PLACEMENT_SHARE_INDEX_H

#include <stddef.h>

#include "core/placement_share.h"
#include "util/err.h"

/* The most GiB (mps) or slots (timeslice) a GPU of the index may have. */
#define PLACEMENT_SHARE_INDEX_CAPACITY_MAX 4096u

struct share_index;

/* Builds an index of gpus[n] into *out (the caller's, placement_share_index_free).
 * -E2BIG when a GPU's capacity passes PLACEMENT_SHARE_INDEX_CAPACITY_MAX
 * (decide by the scan then). */
int placement_share_index_build(const struct share_gpu *gpus, size_t n, struct share_index **out,
                                struct err *e);

/* Frees an index; NULL is fine. */
void placement_share_index_free(struct share_index *ix);

/* Moves gpus[g] to the cell of what it holds now. */
void placement_share_index_update(struct share_index *ix, const struct share_gpu *gpus, size_t g);

/* As placement_share_decide over the GPUs ix indexes (gpus[n], the same
 * array), visiting only GPUs with room. */
int placement_share_decide_indexed(struct share_index *ix, const struct share_gpu *gpus, size_t n,
                                   const struct placement_node *nodes,
                                   const struct share_request *r, enum placement_policy policy,
                                   struct share_decision *d, struct err *e);

/* 0 when ix is what placement_share_index_build would make of gpus[n] now;
 * -EINVAL naming the first GPU it has wrong. For tests. */
int placement_share_index_check(const struct share_index *ix, const struct share_gpu *gpus,
                                size_t n, struct err *e);

#endif
