/*
 * The simulator's speed (issue 13): the InstaSlice envelope with 3,000
 * pods (samples/sim/envelope-3000.yaml) run by the engine, as `gpuslice
 * sim` runs it. Reported: the speedup (virtual makespan over wall time,
 * target >= 1,000x real time) and over CPU time (what a loaded machine
 * does not distort), the peak resident memory, and the makespan beside its
 * lower bound (target <= 1.15x). Arguments: the samples/sim folder, and
 * optionally a scenario of it to run instead (`make bench-scale`:
 * scale-1m.yaml, 10,000 nodes and a million pods, target within 10
 * minutes of wall time), reported by its wall and CPU time, speedup and
 * peak memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_report.h"
#include "sim/bound.h"
#include "sim/engine.h"
#include "util/clock.h"

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* Loads dir/name into *sc and runs it into *out; the CPU seconds it took. */
static double run(const char *dir, const char *name, struct scenario *sc, struct outcome *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct err e = {0};
    bench_check(scenario_load(sc, path, &e), &e, "scenario_load(%s)", path);
    double cpu0 = cpu_seconds();
    bench_check(engine_run(sc, &(struct engine_options){0}, out, &e), &e, "engine_run");
    return cpu_seconds() - cpu0;
}

/* A named scenario: how long it takes and how much memory. */
static int run_named(const char *dir, const char *name)
{
    struct scenario sc;
    struct outcome out;
    double cpu = run(dir, name, &sc, &out);
    const struct outcome_summary *s = &out.summary;
    char what[256];
    snprintf(what, sizeof what, "sim %s", name);
    bench_report1(what, s->wall_s, "s wall", BENCH_AT_MOST, 600,
                  "%zu pods (%zu completed%s), makespan %.1f virtual s, %.1f s CPU, "
                  "%.0fx real time (%.0fx per CPU second)",
                  s->pods, s->pods_completed, s->stalled ? ", stalled" : "", s->makespan_s, cpu,
                  s->speedup, cpu > 0 ? s->makespan_s / cpu : 0);
    snprintf(what, sizeof what, "sim %s peak RSS", name);
    bench_report1(what, (double)s->peak_rss_bytes / (1 << 20), "MiB", BENCH_REFERENCE, 0,
                  "%.0f B per pod", s->pods ? (double)s->peak_rss_bytes / (double)s->pods : 0);
    outcome_free(&out);
    scenario_free(&sc);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SAMPLES_SIM_DIR [SCENARIO.yaml]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        return run_named(argv[1], argv[2]);
    struct scenario sc;
    struct outcome out;
    double cpu = run(argv[1], "envelope-3000.yaml", &sc, &out);
    struct bound b;
    bound_compute(&sc, &b);
    const struct outcome_summary *s = &out.summary;
    if (s->pods_completed != 3000)
        bench_fail("only %zu of 3000 pods completed", s->pods_completed);
    struct bench_figure speed[] = {
        {"wall", s->speedup, "x real time", BENCH_AT_LEAST, 1000},
        {"cpu", cpu > 0 ? s->makespan_s / cpu : 0, "x real time", BENCH_AT_LEAST, 1000},
    };
    bench_report("sim envelope 3000 pods speedup", speed, 2,
                 "makespan %.1f virtual s in %.2f s wall, %.2f s CPU", s->makespan_s, s->wall_s,
                 cpu);
    bench_report1("sim envelope 3000 pods makespan / bound", s->makespan_s / b.seconds, "x",
                  BENCH_AT_MOST, 1.15, "makespan %.3f s, bound %.3f s", s->makespan_s,
                  b.seconds);
    bench_report1("sim envelope 3000 pods peak RSS", (double)s->peak_rss_bytes / (1 << 20),
                  "MiB", BENCH_REFERENCE, 0, NULL);
    outcome_free(&out);
    scenario_free(&sc);
    return 0;
}
