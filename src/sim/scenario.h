/*
 * A simulation scenario: the cluster, the device's costs, the placement
 * policy, the workload and the namespaces, as `gpuslice sim -f FILE` reads
 * them (docs/simulator.md has the format) or as code builds them.
 *
 *     cluster:   the cluster-file format of `gpuslice place`, inline, or
 *                {file: PATH} (relative to the scenario's folder)
 *     device:    {createMs, destroyMs}: a number of milliseconds, or a
 *                distribution {dist: constant, value} | {dist: exponential,
 *                mean} | {dist: lognormal, medianMs, p99Ms}
 *     policy:    first-fit | best-fit | fragmentation-aware
 *     warmMaxPercent: the controller's cap on warm memory, 0 to 100
 *     workload:  a list of items, each one of
 *                {at, count, profile, runSeconds, namespace, name}  a batch
 *                {generator: poisson, startAt, durationSeconds,
 *                 ratePerSecond, mix: [{profile, weight, runSeconds}], ...}
 *                {kind: Deployment, name, namespace, at, replicas,
 *                 request, annotations, deleteAt}
 *                {kind: Job, name, namespace, at, completions, parallelism,
 *                 runSeconds, request, annotations, deleteAt}
 *                runSeconds is a number or a distribution ({dist: ...,
 *                mean | medianMs-style keys in seconds: median, p99});
 *                any item may add inferenceSeconds (> 0): its pods then
 *                do units of work of that time alone, slowed by sharing,
 *                while they run (sim/inference.h)
 *     namespaces: {NAME: {labels, annotations}}
 *     seed:      the default seed (--seed overrides it)
 *
 * Decoding is strict: unknown fields, wrong types, unknown profiles and
 * policies, negative times are errors naming FILE:LINE:COL.
 */
#ifndef GPUSLICE_SIM_SCENARIO_H
#define GPUSLICE_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/placement.h"
#include "sim/clusterfile.h"
#include "util/err.h"
#include "util/rng.h"
#include "util/yaml.h"

#define SCENARIO_NAME_MAX 64
#define SCENARIO_DEFAULT_NAMESPACE "sim"

enum scenario_kind {
    SCENARIO_BATCH = 0, /* count pods at once */
    SCENARIO_POISSON,   /* pods arriving at random, profiles from a mix */
    SCENARIO_DEPLOYMENT,
    SCENARIO_JOB,
};

struct scenario_mix {
    const char *profile;   /* borrowed (the document's, or the builder's) */
    double weight;         /* > 0 */
    struct rng_dist run_s; /* seconds */
};

struct scenario_item {
    enum scenario_kind kind;
    char name[SCENARIO_NAME_MAX]; /* given, or "workload-<index>" */
    const char *ns;               /* borrowed; SCENARIO_DEFAULT_NAMESPACE when not given */
    double at_s;                  /* batch, Deployment, Job: when; poisson: startAt */
    size_t count;                 /* batch: pods; Deployment: replicas; Job: completions */
    size_t parallelism;           /* Job (0: 1) */
    const char *profile;          /* batch: each pod asks nvidia.com/mig-<profile>: 1 */
    struct rng_dist run_s;        /* batch (a draw per pod), Job (one draw) */
    double duration_s, rate_per_s;       /* poisson */
    const struct scenario_mix *mix;      /* poisson; borrowed */
    size_t n_mix;
    const json_t *request;        /* Deployment, Job: resource -> count; borrowed */
    const json_t *annotations;    /* pod annotations; borrowed, may be NULL */
    double delete_at_s;           /* Deployment, Job: when deleted; < 0: never */
    double inference_s;           /* one unit of work alone on a whole GPU; 0: none */
};

struct scenario_namespace {
    const char *name;                  /* borrowed */
    const json_t *labels, *annotations; /* borrowed, may be NULL */
};

struct scenario {
    const struct placement_cluster *cluster; /* borrowed (file: cf's) */
    struct rng_dist create_ms, destroy_ms;
    enum placement_policy policy;
    int warm_max_percent;                    /* controller_config's: 0 default, <0 none */
    struct scenario_item *items;             /* owned when decoded */
    size_t n_items;
    struct scenario_namespace *namespaces;   /* owned when decoded */
    size_t n_namespaces;
    uint64_t seed;                           /* 0: 1 */
    int64_t event_ttl_s;                     /* kube-apiserver's --event-ttl; 0: an hour */
    /* What a decoded scenario owns (NULL when built in code). */
    struct yaml_doc *doc;
    struct clusterfile *cf;
    struct scenario_mix *mixes;
};

/* Decodes the single document of doc into *sc, taking doc (freed on
 * failure too). dir is where a `cluster: {file: PATH}` is looked for when
 * PATH is relative (NULL: the working directory). -EINVAL with
 * "FILE:LINE:COL: what" for a bad scenario; on failure *sc holds nothing.
 * Free with scenario_free. */
int scenario_decode(struct scenario *sc, struct yaml_doc *doc, const char *dir, struct err *e);

/* yaml_doc_load + scenario_decode, with dir the file's folder. */
int scenario_load(struct scenario *sc, const char *path, struct err *e);

/* Frees what a decoded sc owns; sc is then empty. NULL is fine. */
void scenario_free(struct scenario *sc);

/* The pods the workload is expected to make: exact for batches, Jobs and
 * Deployments, the mean for Poisson items (for progress bars). */
double scenario_expected_pods(const struct scenario *sc);

#endif
