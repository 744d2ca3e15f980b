/*
 * A comparison's renderings (see compare.h): a table per figure, as
 * Markdown for a terminal or a document and as a page whose strip charts
 * show every run, so that the spread between seeds can be set against the
 * difference between policies.
 */
#include "sim/compare.h"

#include <stdlib.h>

#include "sim/page.h"

#define ROW_H 34
#define STRIP_TOP 8
#define STRIP_BOTTOM 44

/* A figure's value as the tables write it: utilisation as a share, the
 * rest in seconds. */
static const char *format_of(enum compare_figure f)
{
    return f == COMPARE_UTILISATION ? "%.4f" : "%.1f";
}

/* How a table is written: Markdown or HTML. */
struct table_syntax {
    const char *row_open, *cell_open, *cell_close, *name_open, *row_close;
};

static const struct table_syntax markdown = {"", "| ", " ", "| ", "|\n"};
static const struct table_syntax html = {"<tr>", "<td>", "</td>", "<td class=\"l\">",
                                         "</tr>\n"};

static void cell(FILE *f, const struct table_syntax *t, enum compare_figure fig, double v)
{
    fputs(t->cell_open, f);
    fprintf(f, format_of(fig), v);
    fputs(t->cell_close, f);
}

/* "+d ± se": the paired difference and its standard error. */
static void difference_cell(FILE *f, const struct table_syntax *t, enum compare_figure fig,
                            const struct compare_paired *pr)
{
    fputs(t->cell_open, f);
    if (pr->mean_difference >= 0)
        fputc('+', f);
    fprintf(f, format_of(fig), pr->mean_difference);
    fputs(" ± ", f);
    fprintf(f, format_of(fig), pr->standard_error);
    fputs(t->cell_close, f);
}

/* A row per policy: its statistics, and beside first-fit's on the same
 * seeds (empty for first-fit itself). */
static void figure_rows(FILE *f, const struct compare *c, enum compare_figure fig,
                        const struct table_syntax *t)
{
    for (int p = 0; p < PLACEMENT_POLICY_COUNT; p++) {
        struct compare_stat st = compare_stat_of(c, (enum placement_policy)p, fig);
        struct compare_paired pr = compare_paired_of(c, (enum placement_policy)p, fig);
        fprintf(f, "%s%s%s%s", t->row_open, t->name_open,
                placement_policy_name((enum placement_policy)p), t->cell_close);
        cell(f, t, fig, st.mean);
        cell(f, t, fig, st.stddev);
        cell(f, t, fig, st.min);
        cell(f, t, fig, st.max);
        if (p == PLACEMENT_FIRST_FIT)
            fprintf(f, "%s%s%s%s", t->cell_open, t->cell_close, t->cell_open, t->cell_close);
        else {
            difference_cell(f, t, fig, &pr);
            fprintf(f, "%s%zu / %zu%s", t->cell_open, pr.better, pr.worse, t->cell_close);
        }
        fputs(t->row_close, f);
    }
}

static void intro_markdown(FILE *f, const struct compare *c, const char *title)
{
    fprintf(f, "# Placement policies on %s\n\n", title);
    fprintf(f, "%zu seeds (%llu to %llu): a seed draws the same pods under every policy, so "
            "\"vs first-fit\" compares each policy with first-fit on the same pods "
            "(the mean of the differences ± its standard error; on how many seeds it was "
            "better / worse).\n",
            c->n_seeds, (unsigned long long)c->first_seed,
            (unsigned long long)(c->first_seed + c->n_seeds - 1));
}

static void figure_markdown(FILE *f, const struct compare *c, enum compare_figure fig)
{
    fprintf(f, "\n## %s (%s is better)\n\n", compare_figure_name(fig),
            compare_higher_is_better(fig) ? "higher" : "lower");
    fputs("| policy | mean | stddev | min | max | vs first-fit | better / worse |\n"
          "|---|---:|---:|---:|---:|---:|---|\n", f);
    figure_rows(f, c, fig, &markdown);
}

static size_t stalled_runs(const struct compare *c)
{
    size_t n = 0;
    for (size_t i = 0; i < PLACEMENT_POLICY_COUNT * c->n_seeds; i++)
        n += c->runs[i].stalled;
    return n;
}

void compare_markdown(FILE *f, const struct compare *c, const char *title)
{
    intro_markdown(f, c, title);
    for (int fig = 0; fig < COMPARE_FIGURES; fig++)
        figure_markdown(f, c, (enum compare_figure)fig);
    if (stalled_runs(c))
        fprintf(f, "\n%zu runs stalled (pods left that could never run).\n", stalled_runs(c));
}

/* ---- the page ------------------------------------------------------------ */

static void figure_table_html(FILE *f, const struct compare *c, enum compare_figure fig)
{
    fputs("<table>\n<tr><th class=\"l\">policy</th><th>mean</th><th>stddev</th><th>min</th>"
          "<th>max</th><th>vs first-fit</th><th>better / worse</th></tr>\n", f);
    figure_rows(f, c, fig, &html);
    fputs("</table>\n", f);
}

/* The axis of a strip chart: every run's value, with a little room. */
static void strip_range(const struct compare *c, enum compare_figure fig, double *lo,
                        double *hi)
{
    *lo = *hi = compare_figure_of(&c->runs[0], fig);
    for (size_t i = 1; i < PLACEMENT_POLICY_COUNT * c->n_seeds; i++) {
        double v = compare_figure_of(&c->runs[i], fig);
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
    double pad = *hi > *lo ? (*hi - *lo) * 0.05 : (*hi != 0 ? *hi * 0.05 : 1);
    *lo = *lo - pad < 0 && *lo >= 0 ? 0 : *lo - pad;
    *hi += pad;
}

static void strip_row(FILE *f, const struct compare *c, enum compare_figure fig,
                      enum placement_policy p, double lo, double hi, double y)
{
    fprintf(f, "<text x=\"%d\" y=\"%.1f\">%s</text>\n", PAGE_PLOT_LEFT, y + 10,
            placement_policy_name(p));
    for (size_t k = 0; k < c->n_seeds; k++) {
        double v = compare_figure_of(&c->runs[(size_t)p * c->n_seeds + k], fig);
        fprintf(f, "<circle class=\"c%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill-opacity=\".6\">"
                "<title>%s, seed %llu: ", (int)p, page_x(v, lo, hi), y + 22,
                placement_policy_name(p), (unsigned long long)(c->first_seed + k));
        fprintf(f, format_of(fig), v);
        fputs("</title></circle>\n", f);
    }
    double mean = compare_stat_of(c, p, fig).mean;
    fprintf(f, "<line class=\"c%d\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke-width=\"2.5\"><title>mean: ", (int)p, page_x(mean, lo, hi), y + 12,
            page_x(mean, lo, hi), y + 32);
    fprintf(f, format_of(fig), mean);
    fputs("</title></line>\n", f);
}

static void strip_html(FILE *f, const struct compare *c, enum compare_figure fig)
{
    double lo, hi, plot_h = PLACEMENT_POLICY_COUNT * ROW_H;
    double height = STRIP_TOP + plot_h + STRIP_BOTTOM;
    strip_range(c, fig, &lo, &hi);
    fprintf(f, "<svg class=\"strip\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
            "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>%s, every run</title>\n",
            PAGE_WIDTH, height, PAGE_WIDTH, height, compare_figure_name(fig));
    page_x_axis(f, lo, hi, STRIP_TOP, plot_h, compare_figure_name(fig));
    for (int p = 0; p < PLACEMENT_POLICY_COUNT; p++)
        strip_row(f, c, fig, (enum placement_policy)p, lo, hi, STRIP_TOP + p * ROW_H);
    fputs("</svg>\n", f);
}

void compare_html(FILE *f, const struct compare *c, const char *title)
{
    char heading[1200];
    snprintf(heading, sizeof heading, "Placement policies on %s", title ? title : "");
    page_begin(f, heading);
    fprintf(f, "<p>%zu seeds (%llu to %llu), every policy on each. A seed draws the same pods "
            "under every policy, so <em>vs first-fit</em> compares each policy with first-fit "
            "on the same pods: the mean of the differences ± its standard error, and on how many "
            "seeds it was better and worse. In the charts each dot is a run (hover for its seed) and each bar a "
            "policy&#39;s mean.</p>\n", c->n_seeds, (unsigned long long)c->first_seed,
            (unsigned long long)(c->first_seed + c->n_seeds - 1));
    for (int fig = 0; fig < COMPARE_FIGURES; fig++) {
        fprintf(f, "<h2>%s (%s is better)</h2>\n", compare_figure_name((enum compare_figure)fig),
                compare_higher_is_better((enum compare_figure)fig) ? "higher" : "lower");
        figure_table_html(f, c, (enum compare_figure)fig);
        strip_html(f, c, (enum compare_figure)fig);
    }
    if (stalled_runs(c))
        fprintf(f, "<p>%zu runs stalled (pods left that could never run).</p>\n",
                stalled_runs(c));
    page_end(f);
}

/* ---- files --------------------------------------------------------------- */

struct compare_args {
    const struct compare *c;
    const char *title;
};

static void render_markdown(void *ctx, FILE *f)
{
    const struct compare_args *a = ctx;
    compare_markdown(f, a->c, a->title);
}

static void render_html(void *ctx, FILE *f)
{
    const struct compare_args *a = ctx;
    compare_html(f, a->c, a->title);
}

static void render_json(void *ctx, FILE *f)
{
    const struct compare_args *a = ctx;
    json_t *o = compare_json(a->c);
    json_dumpf(o, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', f);
    json_decref(o);
}

int compare_write(const struct compare *c, const char *dir, const char *title, struct err *e)
{
    struct compare_args a = {c, title};
    int rc = page_save(dir, "compare.md", render_markdown, &a, e);
    if (rc == 0)
        rc = page_save(dir, "compare.json", render_json, &a, e);
    if (rc == 0)
        rc = page_save(dir, "compare.html", render_html, &a, e);
    return rc;
}
