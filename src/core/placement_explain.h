/*
 * Why nothing was placeable (internal to placement*.c): a second, plain
 * pass over every GPU that counts which filter dropped it, run only after
 * a decision found nothing, so the decision path stays lean.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_EXPLAIN_H
#define GPUSLICE_CORE_PLACEMENT_EXPLAIN_H

#include "core/placement.h"
#include "util/err.h"

/* Explains in e why r fits nowhere in c and returns -ENOSPC; -EINVAL when
 * no catalogued model has r's profile at all. With e NULL only the code is
 * worked out (the GPUs are not counted). */
int placement_explain(const struct placement_cluster *c, const struct placement_request *r,
                      struct err *e);

#endif
