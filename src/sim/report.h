/*
 * A run's report: report.html, one self-contained page (sim/page.h) that
 * shows what a simulation did: the summary table with the lower bound
 * beside the makespan and its formula; the memory slice utilisation and
 * the pods waiting over time; the latency CDFs (created to ungated, to
 * running, to completed); and a Gantt chart of the slices on each GPU,
 * coloured by profile, beside the slices that were there before.
 *
 * The page stays bounded whatever the run's size (report_limits): the
 * timeline is averaged into at most timeline_points points, each CDF drawn
 * through at most cdf_points quantiles, the Gantt chart shows the first
 * gantt_gpus GPUs, and on each GPU slices of one profile at one start that
 * follow one another closer than a gap are drawn as one bar, the gap
 * starting at one pixel's time and doubling until the GPU's bars fit its
 * share of gantt_bars. The page says what it left out.
 *
 * Ownership: everything is borrowed; nothing is kept.
 */
#ifndef GPUSLICE_SIM_REPORT_H
#define GPUSLICE_SIM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/placement.h"
#include "sim/outcome.h"
#include "util/err.h"

#define REPORT_TIMELINE_POINTS 600
#define REPORT_CDF_POINTS 200
#define REPORT_GANTT_GPUS 48
#define REPORT_GANTT_BARS 6000

/* Zero fields take the defaults above. */
struct report_limits {
    size_t timeline_points, cdf_points, gantt_gpus, gantt_bars;
};

/* *lim (NULL: all zero) with its zero fields set to the defaults. */
struct report_limits report_limits_of(const struct report_limits *lim);

/* The page for out, a run on cluster c (the scenario's), headed by title
 * (escaped, like every name on the page). out->slices feeds the Gantt
 * chart; without them the page says how to get it. lim may be NULL. */
void report_html(FILE *f, const char *title, const struct outcome *out,
                 const struct placement_cluster *c, const struct report_limits *lim);

/* report_html into dir/report.html (page_save). -errno naming the file. */
int report_write(const char *dir, const char *title, const struct outcome *out,
                 const struct placement_cluster *c, const struct report_limits *lim,
                 struct err *e);

/* The end of the report's time axis, in nanoseconds since the run's
 * start: the last timeline sample or the last slice's end, whichever is
 * later (at least 1). */
int64_t report_span_ns(const struct outcome *out);

/* One bar of the Gantt chart: count slices of one profile at one start on
 * one GPU, the first from from_ns, the last to to_ns. */
struct report_bar {
    int64_t from_ns, to_ns;
    uint32_t count;
    uint8_t start, size, profile;
};

/* The bars of n slices of one GPU (sorted in place by start, profile and
 * time) into bars[n]: a bar per slice when n <= budget (*gap_ns = -1);
 * else slices of one start and profile whose gap is at most *gap_ns are
 * one bar, the gap starting at pixel_ns (at least 1) and doubling until at
 * most budget bars remain or every gap is taken (*gap_ns is the gap
 * used). Returns the bars written. */
size_t report_gantt_bars(struct outcome_slice *slices, size_t n, size_t budget,
                         int64_t pixel_ns, int64_t *gap_ns, struct report_bar *bars);

/* The Gantt chart section of the page (report_html calls it); lim as
 * report_html takes it. */
void report_gantt(FILE *f, const struct outcome *out, const struct placement_cluster *c,
                  const struct report_limits *lim);

#endif
