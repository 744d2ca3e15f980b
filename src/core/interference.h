/*
 * How much slower one unit of a pod's work (an inference, a step) runs
 * when the GPU is shared, in each way gpuslice shares one: a MIG slice, an
 * MPS client, a time-sliced client, or the whole GPU alone. The emulated
 * sharing and the simulator's `inferenceSeconds` workloads read it; the
 * real system never does (there the hardware answers).
 *
 * The model, per unit of work that takes `alone` seconds on a whole GPU
 * with nothing beside it, with k pods on the GPU:
 *
 *   whole       alone                                  (k is 1)
 *   time-slice  alone * (k + switch * (k - 1))         each pod waits for
 *               the others' turns, plus a context switch between turns
 *   MPS         alone * share^-exponent * (1 + contention * (k - 1))
 *               the clients' kernels run side by side, so each extra
 *               client adds only the part of a pod's time it contends for
 *   MIG         alone * share^-exponent                isolated: k does not
 *               matter, only the slice's share of the compute
 *
 * where share is the fraction of the GPU's compute the pod may use (a MIG
 * slice's compute slices / the GPU's, an MPS client's active thread
 * percentage / 100; 1 for time-slicing). A work that used a whole GPU
 * fully would slow down as 1 / share (exponent 1); a small model does not,
 * so the exponent is fitted too. Fitted on published measurements
 * (interference_fit; docs/sharing.md has the data and the fit), three
 * parameters for nine points.
 *
 * Pure functions of their arguments; no state.
 */
#ifndef GPUSLICE_CORE_INTERFERENCE_H
#define GPUSLICE_CORE_INTERFERENCE_H

#include <stddef.h>

#include "util/err.h"

enum sharing_way {
    SHARING_WHOLE,
    SHARING_TIMESLICE,
    SHARING_MPS,
    SHARING_MIG,
};

struct interference_model {
    double switch_overhead; /* time-slicing: extra per other pod, in units of alone */
    double contention;      /* MPS: extra per other client, in units of alone */
    double exponent;        /* how the time grows as the compute share shrinks */
};

/* The model fitted on the YOLOS-small measurements on an A100-80GB
 * (docs/sharing.md); tests/core/test_interference.c refits it from the
 * data and checks these numbers. */
#define INTERFERENCE_DEFAULT                                                                  \
    ((struct interference_model){.switch_overhead = 0.1331, .contention = 0.4379,           \
                                 .exponent = 0.6982})

/* One published measurement: the mean time of one unit of work with pods
 * pods on the GPU shared in way, each with compute share share. */
struct interference_point {
    enum sharing_way way;
    unsigned pods;
    double share;
    double seconds;
};

/* The time of one unit of work that takes alone seconds alone on a whole
 * GPU, for one of pods pods sharing it in way with compute share share
 * (in (0, 1]; ignored for whole and time-slicing). -EINVAL naming the
 * argument at fault (pods 0, a share outside (0, 1], alone not positive
 * and finite, whole with more than one pod). */
int interference_seconds(const struct interference_model *m, enum sharing_way way,
                         double alone, unsigned pods, double share, double *out,
                         struct err *e);

/* Fits the model to points by least squares on the ratios to the time
 * alone, which is the mean of the points with one pod on a whole GPU,
 * MPS or time-slicing (at least one must be there). Each parameter is
 * fitted on its own way's points (the exponent on MIG's, in log space), so
 * each needs at least one point: -EINVAL saying which is missing.
 * *alone_out (may be NULL) gets the time alone. */
int interference_fit(const struct interference_point *points, size_t n,
                     struct interference_model *out, double *alone_out, struct err *e);

/* "whole", "timeslice", "mps", "mig". */
const char *interference_way_name(enum sharing_way way);

#endif
