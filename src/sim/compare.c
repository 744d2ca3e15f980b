/*
 * A comparison of placement policies (see compare.h): the runs and their
 * statistics here; the Markdown and HTML renderings in compare_render.c.
 */
#include "sim/compare.h"

#include <math.h>
#include <stdlib.h>

#include "sim/engine.h"
#include "util/alloc.h"
#include "util/jdoc.h"

int compare_run(const struct scenario *sc, const struct compare_options *o, struct compare *out,
                struct err *e)
{
    *out = (struct compare){.n_seeds = o->seeds ? o->seeds : 1,
                            .first_seed = o->first_seed ? o->first_seed : 1};
    size_t total = PLACEMENT_POLICY_COUNT * out->n_seeds;
    out->runs = alloc_calloc(total, sizeof *out->runs);
    struct scenario one = *sc;
    for (size_t i = 0; i < total; i++) {
        one.policy = (enum placement_policy)(i / out->n_seeds);
        struct engine_options eo = {.seed = out->first_seed + i % out->n_seeds};
        struct outcome run;
        int rc = engine_run(&one, &eo, &run, e);
        if (rc == 0)
            out->runs[i] = run.summary;
        outcome_free(&run);
        if (rc < 0)
            return err_prefix(e, rc, "%s, seed %llu: ", placement_policy_name(one.policy),
                              (unsigned long long)eo.seed);
        if (o->ran)
            o->ran(o->ctx, &out->runs[i], i + 1, total);
    }
    return 0;
}

void compare_free(struct compare *c)
{
    free(c->runs);
    *c = (struct compare){0};
}

double compare_figure_of(const struct outcome_summary *s, enum compare_figure f)
{
    switch (f) {
    case COMPARE_UTILISATION:
        return s->memory_slice_utilisation;
    case COMPARE_FRAGMENTATION_WAIT:
        return s->fragmentation_wait_s;
    case COMPARE_MAKESPAN:
        return s->makespan_s;
    case COMPARE_TO_RUNNING_P95:
        return s->to_running.p95;
    case COMPARE_FIGURES:
        break;
    }
    return 0;
}

const char *compare_figure_name(enum compare_figure f)
{
    static const char *const names[COMPARE_FIGURES] = {
        "memorySliceUtilisation", "fragmentationWaitSeconds", "makespanSeconds",
        "createdToRunning.p95"};
    return f < COMPARE_FIGURES ? names[f] : "?";
}

bool compare_higher_is_better(enum compare_figure f)
{
    return f == COMPARE_UTILISATION;
}

static const struct outcome_summary *run_of(const struct compare *c, enum placement_policy p,
                                            size_t k)
{
    return &c->runs[(size_t)p * c->n_seeds + k];
}

struct compare_stat compare_stat_of(const struct compare *c, enum placement_policy p,
                                    enum compare_figure f)
{
    struct compare_stat st = {0};
    double sum = 0, squares = 0;
    for (size_t k = 0; k < c->n_seeds; k++) {
        double v = compare_figure_of(run_of(c, p, k), f);
        st.min = k == 0 || v < st.min ? v : st.min;
        st.max = k == 0 || v > st.max ? v : st.max;
        sum += v;
    }
    st.mean = c->n_seeds ? sum / (double)c->n_seeds : 0;
    for (size_t k = 0; k < c->n_seeds; k++) {
        double d = compare_figure_of(run_of(c, p, k), f) - st.mean;
        squares += d * d;
    }
    st.stddev = c->n_seeds > 1 ? sqrt(squares / (double)(c->n_seeds - 1)) : 0;
    return st;
}

struct compare_paired compare_paired_of(const struct compare *c, enum placement_policy p,
                                        enum compare_figure f)
{
    struct compare_paired pr = {0};
    double sign = compare_higher_is_better(f) ? 1 : -1, squares = 0;
    for (size_t k = 0; k < c->n_seeds; k++) {
        double d = compare_figure_of(run_of(c, p, k), f) -
                   compare_figure_of(run_of(c, PLACEMENT_FIRST_FIT, k), f);
        pr.mean_difference += d;
        squares += d * d;
        pr.better += sign * d > 0;
        pr.worse += sign * d < 0;
    }
    double n = (double)c->n_seeds;
    pr.mean_difference = c->n_seeds ? pr.mean_difference / n : 0;
    if (c->n_seeds > 1) {
        double var = (squares - n * pr.mean_difference * pr.mean_difference) / (n - 1);
        pr.standard_error = sqrt(var > 0 ? var / n : 0);
    }
    return pr;
}

static json_t *policy_json(const struct compare *c, enum placement_policy p)
{
    json_t *o = json_pack("{s:s}", "policy", placement_policy_name(p));
    for (int f = 0; f < COMPARE_FIGURES; f++) {
        struct compare_stat st = compare_stat_of(c, p, (enum compare_figure)f);
        struct compare_paired pr = compare_paired_of(c, p, (enum compare_figure)f);
        json_t *runs = json_array();
        for (size_t k = 0; k < c->n_seeds; k++)
            jdoc_append(runs, json_real(compare_figure_of(run_of(c, p, k),
                                                          (enum compare_figure)f)));
        jdoc_set(o, compare_figure_name((enum compare_figure)f),
                 json_pack("{s:f, s:f, s:f, s:f, s:{s:f, s:f, s:I, s:I}, s:o}", "mean",
                           st.mean, "stddev", st.stddev, "min", st.min, "max", st.max,
                           "againstFirstFit", "meanDifference", pr.mean_difference,
                           "standardError", pr.standard_error, "better", (json_int_t)pr.better,
                           "worse", (json_int_t)pr.worse, "runs", runs));
    }
    return o;
}

json_t *compare_json(const struct compare *c)
{
    json_t *policies = json_array();
    for (int p = 0; p < PLACEMENT_POLICY_COUNT; p++)
        jdoc_append(policies, policy_json(c, (enum placement_policy)p));
    json_t *seeds = json_array();
    for (size_t k = 0; k < c->n_seeds; k++)
        jdoc_append(seeds, json_integer((json_int_t)(c->first_seed + k)));
    return json_pack("{s:o, s:o}", "seeds", seeds, "policies", policies);
}
