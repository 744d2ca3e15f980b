/*
 * The report's Gantt chart (see report.h): a band per GPU, a lane per
 * memory slice, and a bar per slice (or per run of slices merged to keep
 * the page bounded) from the controller's decision until the slice was
 * gone, coloured by profile; the slices that were on the GPU before the
 * run, which gpuslice leaves alone, span the whole run in grey.
 */
#include "sim/report.h"

#include <stdlib.h>
#include <string.h>

#include "sim/page.h"
#include "util/alloc.h"
#include "util/clock.h"

#define LANE_H 5      /* per memory slice */
#define LABEL_H 14    /* a GPU's name above its lanes */
#define BAND_GAP 6
#define LEGEND_MAX 64
#define MIN_BUDGET 32 /* bars per GPU, whatever the page's budget */

static double seconds(int64_t ns)
{
    return (double)ns / (double)NS_PER_SEC;
}

static int by_lane_then_time(const void *a, const void *b)
{
    const struct outcome_slice *x = a, *y = b;
    if (x->start != y->start)
        return x->start - y->start;
    if (x->profile != y->profile)
        return x->profile - y->profile;
    return (x->from_ns > y->from_ns) - (x->from_ns < y->from_ns);
}

static size_t merge(const struct outcome_slice *s, size_t n, int64_t gap,
                    struct report_bar *bars)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct report_bar *last = m ? &bars[m - 1] : NULL;
        if (last && gap >= 0 && last->start == s[i].start && last->profile == s[i].profile &&
            s[i].from_ns - last->to_ns <= gap) {
            last->to_ns = s[i].to_ns > last->to_ns ? s[i].to_ns : last->to_ns;
            last->count++;
            continue;
        }
        bars[m++] = (struct report_bar){.from_ns = s[i].from_ns, .to_ns = s[i].to_ns,
                                        .count = 1, .start = s[i].start, .size = s[i].size,
                                        .profile = s[i].profile};
    }
    return m;
}

size_t report_gantt_bars(struct outcome_slice *slices, size_t n, size_t budget,
                         int64_t pixel_ns, int64_t *gap_ns, struct report_bar *bars)
{
    qsort(slices, n, sizeof *slices, by_lane_then_time);
    *gap_ns = -1;
    if (n <= budget)
        return merge(slices, n, -1, bars);
    int64_t first = slices[0].from_ns, last = slices[0].to_ns;
    for (size_t i = 1; i < n; i++) {
        first = slices[i].from_ns < first ? slices[i].from_ns : first;
        last = slices[i].to_ns > last ? slices[i].to_ns : last;
    }
    int64_t gap = pixel_ns > 0 ? pixel_ns : 1;
    size_t m = merge(slices, n, gap, bars);
    while (m > budget && gap <= last - first) {
        gap *= 2;
        m = merge(slices, n, gap, bars);
    }
    *gap_ns = gap;
    return m;
}

/* ---- colours ------------------------------------------------------------- */

/* The profiles on the chart by name (an A100's 1g.5gb and an H100's
 * 1g.10gb are two), smallest first, so that one profile keeps its colour
 * from run to run. */
struct legend {
    const struct mig_profile *profiles[LEGEND_MAX];
    size_t n;
};

static void legend_add(struct legend *l, const struct mig_profile *p)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->profiles[i]->name, p->name) == 0)
            return;
    if (l->n < LEGEND_MAX)
        l->profiles[l->n++] = p;
}

static int by_size_then_name(const void *a, const void *b)
{
    const struct mig_profile *x = *(const struct mig_profile *const *)a;
    const struct mig_profile *y = *(const struct mig_profile *const *)b;
    if (x->memory_slices != y->memory_slices)
        return x->memory_slices - y->memory_slices;
    return strcmp(x->name, y->name);
}

static size_t colour_of(const struct legend *l, const struct mig_profile *p)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->profiles[i]->name, p->name) == 0)
            return i % PAGE_COLOURS;
    return 0;
}

static void legend_html(FILE *f, const struct legend *l)
{
    fputs("<p>", f);
    for (size_t i = 0; i < l->n; i++) {
        fprintf(f, "<svg width=\"14\" height=\"10\" style=\"display:inline;margin:0 4px 0 10px\">"
                "<rect class=\"c%zu\" width=\"14\" height=\"10\"/></svg>", i % PAGE_COLOURS);
        page_text(f, l->profiles[i]->name);
    }
    fputs("<svg width=\"14\" height=\"10\" style=\"display:inline;margin:0 4px 0 10px\">"
          "<rect class=\"foreign\" width=\"14\" height=\"10\"/></svg>there before the run "
          "(not gpuslice&#39;s)</p>\n", f);
}

/* ---- drawing ------------------------------------------------------------- */

struct gantt {
    FILE *f;
    const struct placement_cluster *c;
    const struct legend *legend;
    double span_s;
    int64_t gap_ns;     /* the largest gap any GPU needed; -1: none merged */
};

static double x_of(const struct gantt *g, int64_t ns)
{
    return page_x(seconds(ns), 0, g->span_s);
}

static void bar_html(const struct gantt *g, size_t gpu, const struct report_bar *b, double y0)
{
    const struct mig_profile *p = &g->c->gpus[gpu].occ.model->profiles[b->profile];
    double x = x_of(g, b->from_ns), w = x_of(g, b->to_ns) - x;
    fprintf(g->f, "<rect class=\"c%zu bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\">"
            "<title>", colour_of(g->legend, p), x, y0 + b->start * LANE_H, w < 1 ? 1 : w,
            b->size * LANE_H - 1);
    if (b->count == 1)
        page_textf(g->f, "%s at memory slice %u, %.3f s to %.3f s", p->name, b->start,
                   seconds(b->from_ns), seconds(b->to_ns));
    else
        page_textf(g->f, "%u slices of %s at memory slice %u, one after another from %.3f s "
                   "to %.3f s", b->count, p->name, b->start, seconds(b->from_ns),
                   seconds(b->to_ns));
    fputs("</title></rect>\n", g->f);
}

/* GPU gpu's band at y0: its name, its lanes, the slices that were there
 * and its bars. */
static void band_html(struct gantt *g, size_t gpu, double y0, const struct report_bar *bars,
                      size_t n)
{
    const struct placement_gpu *pg = &g->c->gpus[gpu];
    const struct gpu_occupancy *occ = &pg->occ;
    size_t first = gpu;
    while (first > 0 && g->c->gpus[first - 1].node == pg->node)
        first--;
    fprintf(g->f, "<text x=\"%d\" y=\"%.1f\">", PAGE_PLOT_LEFT, y0 + LABEL_H - 3);
    page_textf(g->f, "%s · GPU %zu · %s%s", g->c->nodes[pg->node].name, gpu - first,
               occ->model->name, pg->held_back ? " · held back" : "");
    double lanes_y = y0 + LABEL_H, w = PAGE_WIDTH - PAGE_PLOT_LEFT - PAGE_PLOT_RIGHT;
    fprintf(g->f, "</text>\n<rect class=\"lane\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%d\"/>\n", PAGE_PLOT_LEFT, lanes_y, w, occ->model->memory_slices * LANE_H);
    for (unsigned s = 0; s < occ->n_slices; s++) {
        const struct mig_profile *p = &occ->model->profiles[occ->slices[s].profile];
        fprintf(g->f, "<rect class=\"foreign\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%d\"><title>", PAGE_PLOT_LEFT, lanes_y + occ->slices[s].start * LANE_H,
                w, p->memory_slices * LANE_H - 1);
        page_textf(g->f, "%s at memory slice %u, there before the run", p->name,
                   occ->slices[s].start);
        fputs("</title></rect>\n", g->f);
    }
    for (size_t i = 0; i < n; i++)
        bar_html(g, gpu, &bars[i], lanes_y);
}

static double band_height(const struct placement_gpu *pg)
{
    return LABEL_H + pg->occ.model->memory_slices * LANE_H + BAND_GAP;
}

/* The slices of the first `shown` GPUs, grouped by GPU: *starts[g] is
 * where GPU g's begin in the copy returned (the caller frees both). */
static struct outcome_slice *group_by_gpu(const struct outcome *out, size_t shown,
                                          size_t **starts)
{
    size_t *at = alloc_calloc(shown + 1, sizeof *at);
    for (size_t i = 0; i < out->n_slices; i++)
        if (out->slices[i].gpu < shown)
            at[out->slices[i].gpu + 1]++;
    for (size_t g = 0; g < shown; g++)
        at[g + 1] += at[g];
    struct outcome_slice *copy = alloc_calloc(at[shown] + 1, sizeof *copy);
    size_t *fill = alloc_calloc(shown + 1, sizeof *fill);
    memcpy(fill, at, (shown + 1) * sizeof *fill);
    for (size_t i = 0; i < out->n_slices; i++)
        if (out->slices[i].gpu < shown)
            copy[fill[out->slices[i].gpu]++] = out->slices[i];
    free(fill);
    *starts = at;
    return copy;
}

static void collect_legend(const struct outcome_slice *s, size_t n,
                           const struct placement_cluster *c, size_t shown, struct legend *l)
{
    for (size_t i = 0; i < n; i++)
        legend_add(l, &c->gpus[s[i].gpu].occ.model->profiles[s[i].profile]);
    for (size_t g = 0; g < shown; g++)
        for (unsigned k = 0; k < c->gpus[g].occ.n_slices; k++)
            legend_add(l, &c->gpus[g].occ.model->profiles[c->gpus[g].occ.slices[k].profile]);
    qsort(l->profiles, l->n, sizeof l->profiles[0], by_size_then_name);
}

static void gantt_note(FILE *f, const struct outcome *out, const struct placement_cluster *c,
                       size_t shown, size_t budget, int64_t gap_ns)
{
    fprintf(f, "<p class=\"note\">%zu slices over %zu GPUs; ", out->n_slices, c->n_gpus);
    if (shown < c->n_gpus)
        fprintf(f, "the first %zu GPUs are drawn. ", shown);
    else
        fputs("every GPU is drawn. ", f);
    fputs("A bar runs from the controller&#39;s decision until the slice was destroyed "
          "and released. ", f);
    if (gap_ns < 0)
        fputs("Every slice is drawn.</p>\n", f);
    else
        fprintf(f, "On a GPU with more than %zu slices, slices of one profile at one start "
                "that follow one another within %.3f s (at most) are drawn as one bar, to "
                "keep the page small (hover for how many).</p>\n", budget, seconds(gap_ns));
}

void report_gantt(FILE *f, const struct outcome *out, const struct placement_cluster *c,
                  const struct report_limits *limits)
{
    struct report_limits l = report_limits_of(limits);
    const struct report_limits *lim = &l;
    fputs("<h2 id=\"gantt\">Slices on each GPU</h2>\n", f);
    if (!out->slices || !c || c->n_gpus == 0) {
        fputs("<p class=\"note\">No slice records: the run did not keep them "
              "(<code>gpuslice sim -o DIR</code> does).</p>\n", f);
        return;
    }
    size_t shown = c->n_gpus < lim->gantt_gpus ? c->n_gpus : lim->gantt_gpus;
    size_t budget = lim->gantt_bars / shown;
    budget = budget < MIN_BUDGET ? MIN_BUDGET : budget;
    size_t *starts;
    struct outcome_slice *grouped = group_by_gpu(out, shown, &starts);
    struct legend legend = {0};
    collect_legend(grouped, starts[shown], c, shown, &legend);
    struct gantt g = {.f = f, .c = c, .legend = &legend,
                      .span_s = seconds(report_span_ns(out)), .gap_ns = -1};
    int64_t pixel_ns = report_span_ns(out) / (PAGE_WIDTH - PAGE_PLOT_LEFT - PAGE_PLOT_RIGHT);
    double height = 8 + 48;
    for (size_t gpu = 0; gpu < shown; gpu++)
        height += band_height(&c->gpus[gpu]);
    legend_html(f, &legend);
    fprintf(f, "<svg class=\"gantt\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
            "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>Slices on each GPU"
            "</title>\n", PAGE_WIDTH, height, PAGE_WIDTH, height);
    page_x_axis(f, 0, g.span_s, 8, height - 56, "seconds since the start");
    struct report_bar *bars = alloc_calloc(starts[shown] + 1, sizeof *bars);
    double y = 8;
    for (size_t gpu = 0; gpu < shown; gpu++) {
        int64_t gap;
        size_t n = report_gantt_bars(grouped + starts[gpu], starts[gpu + 1] - starts[gpu],
                                     budget, pixel_ns, &gap, bars);
        g.gap_ns = gap > g.gap_ns ? gap : g.gap_ns;
        band_html(&g, gpu, y, bars, n);
        y += band_height(&c->gpus[gpu]);
    }
    fputs("</svg>\n", f);
    gantt_note(f, out, c, shown, budget, g.gap_ns);
    free(bars);
    free(grouped);
    free(starts);
}
