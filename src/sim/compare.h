/*
 * A comparison of placement policies: one scenario run under every policy
 * on each of n seeds (the scenario's policy is ignored), the summary of
 * each run kept, and per policy and figure the mean, standard deviation,
 * least and largest over the seeds, plus each policy beside first-fit on
 * the same seeds (the same pods: a seed draws the same workload whatever
 * the policy, so a paired difference is the policy's doing alone).
 *
 * What `gpuslice sim --compare` prints and writes: compare.md (the tables),
 * compare.json (every run's figures and the statistics) and compare.html
 * (the tables and a strip chart of every run, sim/page.h).
 *
 * Ownership: a struct compare owns its runs (compare_free).
 */
#ifndef GPUSLICE_SIM_COMPARE_H
#define GPUSLICE_SIM_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/placement.h"
#include "sim/outcome.h"
#include "sim/scenario.h"
#include "util/err.h"

/* The figures compared, as summary.json names them. */
enum compare_figure {
    COMPARE_UTILISATION,        /* memorySliceUtilisation: higher is better */
    COMPARE_FRAGMENTATION_WAIT, /* fragmentationWaitSeconds: lower is better */
    COMPARE_MAKESPAN,           /* makespanSeconds */
    COMPARE_TO_RUNNING_P95,     /* createdToRunning.p95 */
    COMPARE_FIGURES
};

struct compare_stat {
    double mean, stddev, min, max; /* stddev: the sample's (n - 1), 0 for one run */
};

struct compare {
    size_t n_seeds;
    uint64_t first_seed;           /* the seeds are first_seed .. first_seed + n_seeds - 1 */
    /* runs[policy * n_seeds + k]: the policy (enum placement_policy
     * order) on seed first_seed + k. */
    struct outcome_summary *runs;
};

struct compare_options {
    size_t seeds;                  /* 0: 1 */
    uint64_t first_seed;           /* 0: 1 */
    /* Called after each run (NULL: none). */
    void (*ran)(void *ctx, const struct outcome_summary *s, size_t done, size_t total);
    void *ctx;
};

/* Runs sc (borrowed) under every policy on every seed into *out (the
 * caller's; compare_free it, on failure too). Fails as engine_run does. */
int compare_run(const struct scenario *sc, const struct compare_options *o, struct compare *out,
                struct err *e);

void compare_free(struct compare *c);

/* The figure f of one run. */
double compare_figure_of(const struct outcome_summary *s, enum compare_figure f);

/* summary.json's name of f, and whether more of it is better. */
const char *compare_figure_name(enum compare_figure f);
bool compare_higher_is_better(enum compare_figure f);

/* Figure f of policy p over the seeds. */
struct compare_stat compare_stat_of(const struct compare *c, enum placement_policy p,
                                    enum compare_figure f);

/* Policy p beside first-fit on the same seeds, for figure f: the mean of
 * (p's - first-fit's) and its standard error (the differences' sample
 * deviation over the square root of the seeds; 0 for one seed), and on how
 * many seeds p was better, and worse. */
struct compare_paired {
    double mean_difference, standard_error;
    size_t better, worse;
};
struct compare_paired compare_paired_of(const struct compare *c, enum placement_policy p,
                                        enum compare_figure f);

/* The statistics and every run's figures (a new object, the caller's). */
json_t *compare_json(const struct compare *c);

/* The tables as Markdown, headed by title (a scenario's path). */
void compare_markdown(FILE *f, const struct compare *c, const char *title);

/* The page: the tables and a strip chart per figure (every run a dot). */
void compare_html(FILE *f, const struct compare *c, const char *title);

/* compare.md, compare.json and compare.html into dir (made when
 * missing). -errno naming the file. */
int compare_write(const struct compare *c, const char *dir, const char *title, struct err *e);

#endif
