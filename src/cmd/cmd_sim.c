/*
 * `gpuslice sim -f SCENARIO.yaml [-o DIR] [--seed N]`: runs a scenario on
 * the simulator (sim/engine.h), the real controller, agents and cluster
 * parts in virtual time; prints a summary, and writes summary.json,
 * pods.csv, timeline.csv and report.html (sim/report.h) into DIR. While it runs, a progress bar on a
 * terminal, or a plain line now and then when stderr is not one.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "sim/bound.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "util/clock.h"

struct sim_args {
    const char *file, *dir;
    uint64_t seed;
};

struct progress_view {
    bool tty;
    int64_t last_ns; /* real time of the last line (plain output) */
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpuslice sim: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: gpuslice sim -f SCENARIO.yaml [-o DIR] [--seed N]\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct sim_args *a)
{
    static const struct option options[] = {
        {"file", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "f:o:s:", options, NULL)) != -1;) {
        char *end = NULL;
        if (c == 'f')
            a->file = optarg;
        else if (c == 'o')
            a->dir = optarg;
        else if (c == 's' && ((a->seed = strtoull(optarg, &end, 10)) == 0 || *end))
            return usage_error("--seed takes a whole number above 0, not \"%s\"", optarg);
        else if (c == '?')
            return usage_error("bad option or missing value: %s", argv[optind - 1]);
    }
    if (!a->file)
        return usage_error("no scenario (-f SCENARIO.yaml)");
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
    return 0;
}

static void show_progress(void *ctx, const struct engine_progress *p)
{
    struct progress_view *v = ctx;
    double done = p->expected_pods > 0 ? (double)p->ended / p->expected_pods : 0;
    done = done > 1 ? 1 : done;
    if (v->tty) {
        char bar[41];
        int filled = (int)(done * 40);
        for (int i = 0; i < 40; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[40] = '\0';
        fprintf(stderr, "\r[%s] %3.0f%%  %zu/%.0f pods ended  t=%.0f s ", bar, done * 100,
                p->ended, p->expected_pods, p->virtual_s);
        return;
    }
    int64_t now = clock_monotonic_ns();
    if (v->last_ns && now - v->last_ns < 2 * NS_PER_SEC)
        return;
    v->last_ns = now;
    fprintf(stderr, "sim: t=%.0f s, %zu pods, %zu ended (%.0f%%)\n", p->virtual_s, p->pods,
            p->ended, done * 100);
}

static void print_latency(const char *what, const struct outcome_latency *l)
{
    printf("  %-24s p50 %.3f s  p95 %.3f s  p99 %.3f s\n", what, l->p50, l->p95, l->p99);
}

static void print_summary(const struct outcome *out)
{
    const struct outcome_summary *s = &out->summary;
    printf("pods                     %zu (%zu completed)%s\n", s->pods, s->pods_completed,
           s->stalled ? "  STALLED: pods left that could not run" : "");
    printf("makespan                 %.3f s\n", s->makespan_s);
    printf("lower bound              %.3f s  (ratio %.3f)\n", s->lower_bound_s,
           s->lower_bound_s > 0 ? s->makespan_s / s->lower_bound_s : 0);
    printf("  %s\n", s->bound_formula);
    print_latency("created -> ungated", &s->to_ungated);
    print_latency("created -> running", &s->to_running);
    print_latency("created -> completed", &s->to_completed);
    printf("device ops               %llu creates, %llu destroys\n",
           (unsigned long long)s->creates, (unsigned long long)s->destroys);
    printf("mean pending pods        %.2f\n", s->mean_pending_pods);
    printf("memory slice utilisation %.1f%% of %lld usable\n",
           s->memory_slice_utilisation * 100, (long long)s->memory_slices_usable);
    printf("fragmentation wait       %.3f pod-seconds\n", s->fragmentation_wait_s);
    printf("wall                     %.3f s (%.0fx real time), peak RSS %.1f MiB\n", s->wall_s,
           s->speedup, (double)s->peak_rss_bytes / (1 << 20));
}

int cmd_sim(int argc, char **argv)
{
    struct sim_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    struct scenario sc;
    struct err e = {0};
    if (scenario_load(&sc, a.file, &e) < 0) {
        fprintf(stderr, "gpuslice sim: %s\n", e.msg);
        return 1;
    }
    struct progress_view view = {.tty = isatty(STDERR_FILENO)};
    struct engine_options o = {.seed = a.seed, .progress = show_progress, .progress_ctx = &view,
                               .slices = a.dir != NULL};
    struct outcome out;
    rc = engine_run(&sc, &o, &out, &e);
    if (view.tty)
        fputc('\n', stderr);
    if (rc == 0) {
        struct bound b;
        bound_compute(&sc, &b);
        out.summary.lower_bound_s = b.seconds;
        snprintf(out.summary.bound_formula, sizeof out.summary.bound_formula, "%s", b.formula);
        print_summary(&out);
    }
    if (rc == 0 && a.dir)
        rc = outcome_write(&out, a.dir, &e);
    if (rc == 0 && a.dir)
        rc = report_write(a.dir, a.file, &out, sc.cluster, NULL, &e);
    if (rc < 0)
        fprintf(stderr, "gpuslice sim: %s\n", e.msg);
    outcome_free(&out);
    scenario_free(&sc);
    return rc < 0 ? 1 : 0;
}
