/*
 * What a simulation leaves: one record per pod, the timeline of the
 * cluster's gauges, one entry per workload item and the summary, as plain
 * C data that every output renders from (summary.json, pods.csv,
 * timeline.csv here; a report or a comparison of policies elsewhere).
 *
 * Times in records are nanoseconds on the simulation's virtual clock,
 * counted from its start (the instant 0 of the scenario); OUTCOME_NEVER in
 * a pod's field means "never reached", except created_ns, which is always
 * set. (Not 0: the cluster is up before the first arrival, so a pod
 * created at 0 may be placed at 0 too.)
 *
 * The machine figures (wall_s, speedup, peak_rss_bytes) differ from run to
 * run; everything else is a function of the scenario and the seed. The
 * summary JSON writes the machine figures last, under their own names, so
 * that a comparison of two runs drops exactly those (outcome_summary_json's
 * `machine` flag).
 */
#ifndef GPUSLICE_SIM_OUTCOME_H
#define GPUSLICE_SIM_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim/tally.h"
#include "util/err.h"
#include "util/strpool.h"

#define OUTCOME_NEVER INT64_C(-1) /* a pod's moment never reached */

/* Strings point into the outcome's pool (each distinct namespace, node,
 * profile and phase once), valid until outcome_free; never NULL. */
struct outcome_pod {
    const char *ns, *name;
    const char *node;     /* "" when never bound */
    const char *profile;  /* its first slice ("" when it asked for none) */
    const char *phase;    /* as last seen */
    uint32_t workload;    /* index into outcome.workloads */
    bool gated;           /* held by gpuslice's gate when created */
    bool serving;         /* a Deployment's: runs until deleted */
    int64_t created_ns, placed_ns, ungated_ns, bound_ns, running_ns, finished_ns;
};

/* The gauges at one instant; they hold until the next sample. */
struct outcome_sample {
    int64_t t_ns;
    int64_t memory_slices_used;     /* held by GPUSlices: decided and not yet gone */
    int64_t memory_slices_on_gpus;  /* held by gpuslice's slices on the GPUs (being
                                       created counts, being destroyed does not) */
    uint32_t waiting, placed, pending, running, ended; /* pods (observer.h's states) */
};

struct outcome_latency {
    double p50, p95, p99; /* seconds */
};

struct outcome_workload {
    char name[64];
    size_t pods, completed;
    struct outcome_latency to_ungated, to_running, to_completed;
    /* Items with inferenceSeconds only (sim/inference.h): the units of
     * work its pods completed and their mean time under sharing (0 when
     * none completed). The engine fills them. */
    bool inference;
    uint64_t inference_units;
    double mean_inference_s;
};

struct outcome_summary {
    size_t pods, pods_completed;
    double makespan_s;          /* first pod created to last pod ended */
    double lower_bound_s;
    char bound_formula[512];    /* how lower_bound_s was reached, in words */
    struct outcome_latency to_ungated, to_running, to_completed;
    uint64_t creates, destroys; /* device operations, failed ones included */
    double mean_pending_pods;   /* time-weighted over the makespan: created, not yet running */
    double memory_slice_utilisation; /* time-weighted over the makespan, of the usable ones */
    double fragmentation_wait_s;
    int64_t memory_slices_usable;
    bool stalled;               /* ended with pods that could never run */
    uint64_t seed;
    const char *policy;
    struct tally_counts writes; /* the parts' store writes (sim/tally.h) */
    /* The machine's figures. */
    double wall_s, speedup;
    uint64_t peak_rss_bytes;
};

/* One GPUSlice's life, for the report's Gantt chart: where the controller
 * placed it, from its decision (the object created) until it was gone (the
 * agent destroyed the slice): the time memory_slices_used counts it. */
struct outcome_slice {
    int64_t from_ns, to_ns;  /* to_ns: the run's end when it outlived the run */
    uint32_t gpu;            /* index into the scenario's cluster GPUs */
    uint8_t start, size;     /* memory slices */
    uint8_t profile;         /* index into that GPU's model's profiles */
};

struct outcome {
    struct outcome_pod *pods;
    size_t n_pods, cap_pods;
    struct strpool strings;       /* what pods[] point to (outcome_string) */
    struct outcome_sample *timeline;
    size_t n_timeline, cap_timeline;
    struct outcome_workload *workloads;
    size_t n_workloads;
    struct outcome_summary summary;
    /* Only when the engine was asked for them (engine_options.slices), in
     * the order decided; otherwise NULL and 0. */
    struct outcome_slice *slices;
    size_t n_slices;
};

/* Frees what out holds; out is then empty. */
void outcome_free(struct outcome *out);

/* s (NULL reads as "") kept in out's pool for a pod record: shared with
 * equal strings when shared, else a copy of its own (a pod's name). */
const char *outcome_string(struct outcome *out, const char *s, bool shared);

/* Fills every workload's counts and latencies and the summary's pods,
 * completions and latencies from the pod records (the rest of the summary
 * is the engine's). */
void outcome_summarize(struct outcome *out);

/* The summary as summary.json has it (a new object, the caller's); with
 * machine false, without wallSeconds, speedup and peakRssBytes. */
json_t *outcome_summary_json(const struct outcome *out, bool machine);

/* Writes summary.json, pods.csv and timeline.csv into dir (made when
 * missing). -errno naming the file. */
int outcome_write(const struct outcome *out, const char *dir, struct err *e);

#endif
