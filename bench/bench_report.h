/*
 * How every benchmark reports (issue 12): each measured figure printed
 * beside its target, in one format, so that a reader of `make bench` can
 * tell at a glance what was measured, what it should have been, and what
 * missed. A line reads
 *
 *   NAME: [label ]VALUE UNIT[, ...] (target >= X UNIT[, ...])[; DETAIL]
 *
 * with "(target: none, for reference)" where no figure on it has one, and
 * is followed by `BELOW TARGET: NAME: [label ]VALUE UNIT (target ...)` for
 * each figure that misses. A miss never fails the run (timings are not
 * tests); a call that fails inside a benchmark does (bench_check).
 *
 * Stateless; every string is the caller's and only read during the call.
 */
#ifndef GPUSLICE_BENCH_REPORT_H
#define GPUSLICE_BENCH_REPORT_H

#include <stddef.h>

#include "util/err.h"

enum bench_goal {
    BENCH_REFERENCE, /* no target: the figure is for reference */
    BENCH_AT_LEAST,  /* met when value >= target */
    BENCH_AT_MOST,   /* met when value <= target */
};

struct bench_figure {
    const char *label; /* printed before the value ("p99"), or NULL */
    double value;      /* NaN when it could not be measured: misses any target */
    const char *unit;  /* printed after the value ("decisions/s"); the target's too */
    enum bench_goal goal;
    double target;     /* ignored for BENCH_REFERENCE */
};

/* Prints the n figures measured together under name (one line), then a
 * BELOW TARGET line for each that misses its target. detail_fmt
 * (printf-style, may be NULL) says what else the reader needs to read the
 * figures (sizes, counts, secondary figures with no target). Returns how
 * many figures missed. */
int bench_report(const char *name, const struct bench_figure *figures, size_t n,
                 const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

/* bench_report of one figure. */
int bench_report1(const char *name, double value, const char *unit, enum bench_goal goal,
                  double target, const char *detail_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Fails the benchmark when rc is negative (the project's failure codes):
 * prints "PROGRAM: CALL failed (rc): why" on stderr, CALL formatted from
 * call_fmt and why taken from e (may be NULL), and exits 1, so that a
 * figure is never printed for work that was not done. */
void bench_check(int rc, const struct err *e, const char *call_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Seconds on the monotonic clock, for timing a benchmark's loop. */
double bench_now_s(void);

/* CPU seconds of the calling thread: on a shared machine the wall clock
 * says more about the neighbours than about the work. */
double bench_thread_cpu_s(void);

/* CPU seconds of the whole process, every thread's (user and system): the
 * cost of work spread over threads, such as an embedded cluster's. */
double bench_process_cpu_s(void);

/* bench_check for a failure the caller found itself (a count that came
 * out short, a phase never reached): always exits 1. */
_Noreturn void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
