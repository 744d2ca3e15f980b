/*
 * The simulator's units of work: a workload item that declares
 * inferenceSeconds (the time of one unit alone on a whole GPU) has pods
 * that, while they run, do units of work back to back, each slowed by
 * core/interference.h for the way the pod holds its GPU (a MIG slice's
 * compute share; an MPS client's SM share and the number of clients on
 * that GPU; the number of time-sliced pods on it). This book keeps them in
 * virtual time and gives each workload the mean time of its completed
 * units.
 *
 * Accounting by rates: a pod's progress through its current unit goes at
 * 1 / T(k) units per second, where T is the model's time of a unit with k
 * pods on the GPU. Whenever k changes on a GPU (a pod there starts or stops
 * running, a slice comes or goes), every working pod on that GPU is first
 * advanced to now at its old rate, then goes on at the new one. A unit
 * that spans a change thus takes the time its parts took at each rate:
 * what a real loop of inferences would see, with no event per unit (a
 * Deployment doing ten inferences a second for an hour costs nothing
 * between changes). A unit is counted when it completes; the unit a pod
 * was in when it stopped (deleted, its runSeconds over) is dropped, as a
 * benchmark that reads completed inferences drops it.
 *
 * Every pod that runs holding a GPUSlice counts towards k on its GPU, those
 * without inferenceSeconds too (they are clients all the same); only pods
 * with inferenceSeconds do units. A pod with several slices is counted on
 * its first one seen. A pod holding no slice does no units.
 *
 * Pods are known by "namespace/name"; the book copies every string. Not
 * thread-safe (the engine steps it on its one thread). Owned by its
 * creator (inference_book_free).
 */
#ifndef GPUSLICE_SIM_INFERENCE_H
#define GPUSLICE_SIM_INFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "api/gpuslice.h"
#include "core/interference.h"
#include "util/err.h"

/* How a pod holds its GPU, read from its GPUSlice. */
struct inference_hold {
    enum sharing_way way;
    double share; /* compute share in (0, 1]; 1 for time-slicing */
};

/* What the book tells of one workload. */
struct inference_totals {
    uint64_t units;   /* completed units of work */
    double seconds;   /* their time in all */
};

struct inference_book;

/* A book for n_workloads workload items (indices 0..n-1), timing units
 * with model m (copied). */
struct inference_book *inference_book_new(size_t n_workloads, const struct interference_model *m);

void inference_book_free(struct inference_book *b);

/* How the GPUSlice spec s holds its GPU: MPS at its smPercent, time-slicing
 * at the whole GPU, a MIG slice at its profile's compute slices over its
 * model's. -EINVAL naming what is missing (a MIG slice of a model or
 * profile the catalogue lacks, an MPS share without smPercent). */
int inference_hold_of(const struct gpuslice_spec *s, struct inference_hold *out,
                      struct err *e);

/* Pod ns/pod holds a slice named slice on GPU gpu (its UUID) in the way h
 * says, from now on; a pod that holds one already keeps its first. */
void inference_held(struct inference_book *b, const char *ns, const char *pod,
                    const char *slice, const char *gpu, const struct inference_hold *h,
                    int64_t now_ns);

/* The slice named slice of pod ns/pod is gone. */
void inference_released(struct inference_book *b, const char *ns, const char *pod,
                        const char *slice, int64_t now_ns);

/* Pod ns/pod, of workload item workload, runs from now on; alone_s > 0 is
 * its item's inferenceSeconds (0: it does no units but counts as a pod on
 * its GPU). */
void inference_running(struct inference_book *b, const char *ns, const char *pod,
                       size_t workload, double alone_s, int64_t now_ns);

/* Pod ns/pod runs no longer (ended or deleted); the book forgets it once
 * its slice is gone too. */
void inference_stopped(struct inference_book *b, const char *ns, const char *pod,
                       int64_t now_ns);

/* Workload's completed units up to now (units still under way are not
 * counted). Workloads out of range have none. */
struct inference_totals inference_totals(struct inference_book *b, size_t workload,
                                         int64_t now_ns);

#endif
