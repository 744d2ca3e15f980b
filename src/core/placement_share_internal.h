/*
 * How a share's placement is scored and concluded (internal to
 * placement_share*.c): the fit test, the policies' keys and the end of a
 * decision of core/placement_share.h, shared by the full scan
 * (placement_share.c) and the index (placement_share_index.c), so that
 * both rank GPUs by the very same integers.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_SHARE_INTERNAL_H
#define GPUSLICE_CORE_PLACEMENT_SHARE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/placement_share.h"

/* What a decision computes once per capacity (GPUs of one model share
 * it), not per GPU: the SM percent of r's client there, and the per-mille
 * scale as a 32.32 reciprocal, m = floor(1000 * 2^32 / capacity) + 1, so
 * that (x * m) >> 32 = floor(1000 x / capacity) exactly for x <= capacity
 * < 2^16 without a division per GPU. */
struct share_per_capacity {
    unsigned capacity, sm;
    uint64_t per_mille;
};

/* The SM percent r's client gets on g: as asked, or proportional. */
unsigned placement_share__sm_of(const struct share_gpu *g, const struct share_request *r);

/* Whether g (in r's mode) has room for r's client of sm percent. */
bool placement_share__has_room(const struct share_gpu *g, const struct share_request *r,
                               unsigned sm);

/* Sets *pc for g's capacity, unless it is already for that capacity (or g
 * has none, and then takes no client). */
void placement_share__per_capacity(const struct share_gpu *g, const struct share_request *r,
                                   struct share_per_capacity *pc);

/* The fractions of g left after r's client, in per mille: memory and SMs
 * (a time-sliced GPU has one dimension, its slots, given as both). */
void placement_share__left_after(const struct share_gpu *g, const struct share_request *r,
                                 const struct share_per_capacity *pc, unsigned *mem,
                                 unsigned *sm);

/* The policy's key for r's client on g (which fits): smaller is better,
 * the first GPU of equal keys wins. */
uint64_t placement_share__score(const struct share_gpu *g, const struct share_request *r,
                                const struct share_per_capacity *pc,
                                enum placement_policy policy);

/* 0, or -EINVAL for a malformed request. */
int placement_share__check_request(const struct share_request *r, struct err *e);

/* The end of a decision whose best GPU is best (-1: none): *d, or
 * -ENOSPC with what each rule rejected (a full pass). */
int placement_share__conclude(const struct share_gpu *gpus, size_t n,
                              const struct placement_node *nodes, const struct share_request *r,
                              enum placement_policy policy, long best, struct share_decision *d,
                              struct err *e);

#endif
