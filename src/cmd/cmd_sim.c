/*
 * `gpuslice sim -f SCENARIO.yaml [-o DIR] [--seed N] [--policy P]`: runs a
 * scenario on the simulator (sim/engine.h), the real controller, agents
 * and cluster parts in virtual time; prints a summary, and writes
 * summary.json, pods.csv, timeline.csv and report.html (sim/report.h) into
 * DIR. While it runs, a progress bar on a terminal, or a plain line now
 * and then when stderr is not one.
 *
 * `--compare [--seeds N]` runs the scenario under every placement policy
 * on N seeds instead (sim/compare.h), prints the comparison's tables and
 * writes compare.md, compare.json and compare.html into DIR.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "sim/bound.h"
#include "sim/compare.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "util/clock.h"

struct sim_args {
    const char *file, *dir;
    uint64_t seed;
    bool has_policy, compare;
    enum placement_policy policy;
    size_t seeds;
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
    fprintf(stderr, "\nusage: gpuslice sim -f SCENARIO.yaml [-o DIR] [--seed N] [--policy P]\n"
                    "       gpuslice sim -f SCENARIO.yaml --compare [--seeds N] [--seed FIRST] "
                    "[-o DIR]\n");
    return 2;
}

#define SEEDS_MAX 10000

static int parse_args(int argc, char **argv, struct sim_args *a)
{
    static const struct option options[] = {
        {"file", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},
        {"policy", required_argument, NULL, 'p'},
        {"compare", no_argument, NULL, 'c'},
        {"seeds", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "f:o:s:", options, NULL)) != -1;) {
        char *end = NULL;
        struct err why = {0};
        if (c == 'f')
            a->file = optarg;
        else if (c == 'o')
            a->dir = optarg;
        else if (c == 's' && ((a->seed = strtoull(optarg, &end, 10)) == 0 || *end))
            return usage_error("--seed takes a whole number above 0, not \"%s\"", optarg);
        else if (c == 'p' && placement_policy_parse(optarg, &a->policy, &why) < 0)
            return usage_error("--policy: %s", why.msg);
        else if (c == 'p')
            a->has_policy = true;
        else if (c == 'c')
            a->compare = true;
        else if (c == 'n' && ((a->seeds = strtoull(optarg, &end, 10)) == 0 || *end ||
                              a->seeds > SEEDS_MAX))
            return usage_error("--seeds takes a whole number from 1 to %d, not \"%s\"",
                               SEEDS_MAX, optarg);
        else if (c == '?')
            return usage_error("bad option or missing value: %s", argv[optind - 1]);
    }
    if (!a->file)
        return usage_error("no scenario (-f SCENARIO.yaml)");
    if (a->compare && a->has_policy)
        return usage_error("--compare runs every policy: it takes no --policy");
    if (a->seeds && !a->compare)
        return usage_error("--seeds goes with --compare");
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
    for (size_t w = 0; w < out->n_workloads; w++)
        if (out->workloads[w].inference)
            printf("units of work            %s: %llu, mean %.5f s each\n",
                   out->workloads[w].name,
                   (unsigned long long)out->workloads[w].inference_units,
                   out->workloads[w].mean_inference_s);
    printf("wall                     %.3f s (%.0fx real time), peak RSS %.1f MiB\n", s->wall_s,
           s->speedup, (double)s->peak_rss_bytes / (1 << 20));
}

static void show_run(void *ctx, const struct outcome_summary *s, size_t done, size_t total)
{
    (void)ctx;
    fprintf(stderr, "sim: %zu/%zu: %s, seed %llu: utilisation %.4f, fragmentation wait %.1f s, "
            "makespan %.1f s (%.1f s of wall time)\n", done, total, s->policy,
            (unsigned long long)s->seed, s->memory_slice_utilisation, s->fragmentation_wait_s,
            s->makespan_s, s->wall_s);
}

static int compare_policies(const struct scenario *sc, const struct sim_args *a)
{
    struct compare c;
    struct err e = {0};
    struct compare_options o = {.seeds = a->seeds ? a->seeds : 20,
                                .first_seed = a->seed ? a->seed : 1, .ran = show_run};
    int rc = compare_run(sc, &o, &c, &e);
    if (rc == 0)
        compare_markdown(stdout, &c, a->file);
    if (rc == 0 && a->dir)
        rc = compare_write(&c, a->dir, a->file, &e);
    if (rc < 0)
        fprintf(stderr, "gpuslice sim: %s\n", e.msg);
    compare_free(&c);
    return rc < 0 ? 1 : 0;
}

static int run_one(struct scenario *sc, const struct sim_args *a)
{
    struct err e = {0};
    if (a->has_policy)
        sc->policy = a->policy;
    struct progress_view view = {.tty = isatty(STDERR_FILENO)};
    struct engine_options o = {.seed = a->seed, .progress = show_progress, .progress_ctx = &view,
                               .slices = a->dir != NULL};
    struct outcome out;
    int rc = engine_run(sc, &o, &out, &e);
    if (view.tty)
        fputc('\n', stderr);
    if (rc == 0) {
        struct bound b;
        bound_compute(sc, &b);
        out.summary.lower_bound_s = b.seconds;
        snprintf(out.summary.bound_formula, sizeof out.summary.bound_formula, "%s", b.formula);
        print_summary(&out);
    }
    if (rc == 0 && a->dir)
        rc = outcome_write(&out, a->dir, &e);
    if (rc == 0 && a->dir)
        rc = report_write(a->dir, a->file, &out, sc->cluster, NULL, &e);
    if (rc < 0)
        fprintf(stderr, "gpuslice sim: %s\n", e.msg);
    outcome_free(&out);
    return rc < 0 ? 1 : 0;
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
    rc = a.compare ? compare_policies(&sc, &a) : run_one(&sc, &a);
    scenario_free(&sc);
    return rc;
}
