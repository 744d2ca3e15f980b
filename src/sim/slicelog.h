/*
 * The slice log: every GPUSlice of a run, where the controller placed it
 * (which GPU of the scenario's cluster, which memory slices, which
 * profile) and from when until when, kept as compact records
 * (struct outcome_slice) for the report's Gantt chart.
 *
 * The engine feeds it the GPUSlice changes it already watches; the log
 * keeps an open record per live GPUSlice (found by namespace and name)
 * and closes it when the object is gone. A million slices cost 24 MB, so
 * the engine keeps a log only when asked (engine_options.slices).
 *
 * Ownership: the log borrows the cluster, which must outlive it; the
 * records move to the outcome at slicelog_finish.
 */
#ifndef GPUSLICE_SIM_SLICELOG_H
#define GPUSLICE_SIM_SLICELOG_H

#include <stdint.h>

#include "api/gpuslice.h"
#include "core/placement.h"
#include "sim/outcome.h"

struct slicelog;

/* An empty log over c's nodes and GPUs (borrowed). Never fails (out of
 * memory aborts, util/alloc.h). */
struct slicelog *slicelog_new(const struct placement_cluster *c);

/* v was decided at t_ns (since the run's start). A slice on a node or GPU
 * the cluster does not have, or of a profile its model lacks, is left out:
 * the Gantt chart draws the scenario's GPUs only. */
void slicelog_added(struct slicelog *l, const struct gpuslice_view *v, int64_t t_ns);

/* v is gone at t_ns; nothing when it was never logged. */
void slicelog_gone(struct slicelog *l, const struct gpuslice_view *v, int64_t t_ns);

/* Closes the records still open at end_ns and moves them all into
 * out->slices (replacing what was there); the log is then empty. */
void slicelog_finish(struct slicelog *l, int64_t end_ns, struct outcome *out);

void slicelog_free(struct slicelog *l);

#endif
