/* The report page: its parts are there (the charts as SVG, the summary,
 * the bound and its formula, a Gantt bar per slice with the slices that
 * were there before), every name from a scenario is escaped, a big run's
 * page stays small, and the Gantt chart merges slices only past its
 * budget. Also the page primitives: escaping and tick steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include <math.h>

#include "sim/page.h"
#include "sim/report.h"
#include "util/clock.h"

#define S(x) ((int64_t)((x) * (double)NS_PER_SEC))

/* Two nodes, three A100-40GB; the first holds a 3g.20gb at 4 that was
 * there before. Names that need escaping. */
struct world {
    struct placement_node nodes[2];
    struct placement_gpu gpus[3];
    struct placement_cluster c;
    struct outcome out;
};

static void world_init(struct world *w, const char *node_name)
{
    memset(w, 0, sizeof *w);
    const struct gpu_model *m = catalog_find_model("A100-40GB");
    w->nodes[0].name = node_name;
    w->nodes[1].name = "n2";
    for (int g = 0; g < 3; g++) {
        occupancy_init(&w->gpus[g].occ, m);
        w->gpus[g].node = g < 2 ? 0 : 1;
        w->gpus[g].allowed = PLACEMENT_ALL_PROFILES;
    }
    assert_int_equal(occupancy_take(&w->gpus[0].occ, catalog_find_profile(m, "3g.20gb"), 4, 0,
                                    NULL), 0);
    w->c = (struct placement_cluster){.nodes = w->nodes, .n_nodes = 2, .gpus = w->gpus,
                                      .n_gpus = 3};
}

static uint8_t profile_index(const char *name)
{
    const struct gpu_model *m = catalog_find_model("A100-40GB");
    return (uint8_t)(catalog_find_profile(m, name) - m->profiles);
}

/* n pods of 1g.5gb one after another on GPU 1, each 3 s, and the timeline
 * of a sample a second. */
static void small_run(struct world *w, size_t n)
{
    struct outcome *o = &w->out;
    o->pods = calloc(n, sizeof *o->pods);
    o->slices = calloc(n, sizeof *o->slices);
    o->n_pods = o->n_slices = n;
    for (size_t i = 0; i < n; i++) {
        struct outcome_pod *p = &o->pods[i];
        char name[32];
        snprintf(name, sizeof name, "p-%zu", i);
        p->name = outcome_string(o, name, false);
        p->ns = p->node = outcome_string(o, "", true);
        p->profile = outcome_string(o, "1g.5gb", true);
        p->phase = outcome_string(o, "Succeeded", true);
        p->placed_ns = S(4 * i) + 1;
        p->ungated_ns = S(4 * i + 1);
        p->running_ns = S(4 * i + 1);
        p->finished_ns = S(4 * i + 4);
        o->slices[i] = (struct outcome_slice){.from_ns = S(4 * i), .to_ns = S(4 * i + 4.5),
                                              .gpu = 1, .start = 0, .size = 1,
                                              .profile = profile_index("1g.5gb")};
    }
    o->n_timeline = 4 * n;
    o->timeline = calloc(o->n_timeline, sizeof *o->timeline);
    for (size_t i = 0; i < o->n_timeline; i++)
        o->timeline[i] = (struct outcome_sample){.t_ns = S(i), .memory_slices_used = 1,
                                                 .running = 1, .waiting = (uint32_t)(n - i / 4)};
    o->workloads = calloc(1, sizeof *o->workloads);
    o->n_workloads = 1;
    snprintf(o->workloads[0].name, sizeof o->workloads[0].name, "<img src=x onerror=alert(1)>");
    o->summary = (struct outcome_summary){.pods = n, .pods_completed = n, .makespan_s = 4.0 * n,
                                          .lower_bound_s = 3.5 * n,
                                          .memory_slices_usable = 20, .policy = "best-fit"};
    snprintf(o->summary.bound_formula, sizeof o->summary.bound_formula, "slots: a < b & c");
}

static char *render(const struct world *w, const char *title, const struct report_limits *lim,
                    size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    report_html(f, title, &w->out, &w->c, lim);
    assert_int_equal(fclose(f), 0);
    char *page = strdup(buf); /* not the stream's buffer: gcc takes that for a local */
    free(buf);
    return page;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void the_page_has_its_parts(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, "gpu-node-1");
    small_run(&w, 10);
    size_t len;
    char *page = render(&w, "run", NULL, &len);
    assert_int_equal(strncmp(page, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(page, "</html>\n"));
    /* The bound, utilisation, pods, CDF and Gantt charts, each closed. */
    assert_int_equal(count(page, "<svg class="), 5);
    assert_int_equal(count(page, "<svg"), count(page, "</svg>"));
    assert_int_equal(count(page, "<table"), count(page, "</table>"));
    /* Utilisation one series, pods three, the CDFs three. */
    assert_int_equal(count(page, "<polyline"), 7);
    assert_non_null(strstr(page, "makespan / bound = 1.143"));
    assert_non_null(strstr(page, "slots: a &lt; b &amp; c"));
    /* A bar per slice, the slice that was there, the GPUs' names. */
    assert_int_equal(count(page, " bar\""), 10);
    assert_int_equal(count(page, "<rect class=\"foreign\" x="), 1);
    assert_non_null(strstr(page, "gpu-node-1 · GPU 1 · A100-40GB"));
    assert_non_null(strstr(page, "n2 · GPU 0 · A100-40GB"));
    assert_non_null(strstr(page, "Every slice is drawn."));
    assert_non_null(strstr(page, "1g.5gb at memory slice 0, 4.000 s to 8.500 s"));
    free(page);
    outcome_free(&w.out);
}

static void names_are_escaped(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, "n\"1'<script>");
    small_run(&w, 3);
    size_t len;
    char *page = render(&w, "<script>alert('x')</script>&", NULL, &len);
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, "<img"));
    assert_non_null(strstr(page, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
    assert_non_null(strstr(page, "n&quot;1&#39;&lt;script&gt;"));
    assert_non_null(strstr(page, "&lt;img src=x onerror=alert(1)&gt;"));
    free(page);
    outcome_free(&w.out);
}

static void without_slices_the_page_says_so(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, "n1");
    small_run(&w, 2);
    free(w.out.slices);
    w.out.slices = NULL;
    w.out.n_slices = 0;
    size_t len;
    char *page = render(&w, "run", NULL, &len);
    assert_non_null(strstr(page, "No slice records"));
    assert_int_equal(count(page, "<svg class="), 4);
    free(page);
    outcome_free(&w.out);
}

/* 100,000 pods over 60 GPUs with a timeline of 400,000 samples: the page
 * stays near a megabyte, with the GPUs, bars and points capped. */
static void a_big_run_stays_small(void **state)
{
    (void)state;
    enum { GPUS = 60, PODS = 100000 };
    struct world w;
    world_init(&w, "n1");
    struct placement_node nodes[1] = {{.name = "big"}};
    struct placement_gpu *gpus = calloc(GPUS, sizeof *gpus);
    for (int g = 0; g < GPUS; g++) {
        occupancy_init(&gpus[g].occ, catalog_find_model("H100-80GB"));
        gpus[g].allowed = PLACEMENT_ALL_PROFILES;
    }
    w.c = (struct placement_cluster){.nodes = nodes, .n_nodes = 1, .gpus = gpus, .n_gpus = GPUS};
    small_run(&w, PODS);
    for (size_t i = 0; i < PODS; i++) {
        w.out.slices[i].gpu = (uint32_t)(i % GPUS);
        w.out.slices[i].start = (uint8_t)(i / GPUS % 7);
    }
    size_t len;
    char *page = render(&w, "big", NULL, &len);
    assert_true(len < 1500000);
    assert_true(count(page, " bar\"") <= REPORT_GANTT_BARS);
    assert_non_null(strstr(page, "the first 48 GPUs are drawn"));
    assert_non_null(strstr(page, "drawn as one bar"));
    assert_non_null(strstr(page, "400000 timeline samples, drawn as the time-weighted mean"));
    /* Smaller limits, a smaller page. */
    size_t small_len;
    struct report_limits lim = {.timeline_points = 50, .cdf_points = 20, .gantt_gpus = 4,
                                .gantt_bars = 100};
    char *small = render(&w, "big", &lim, &small_len);
    assert_true(small_len < len / 5);
    assert_true(count(small, " bar\"") <= 4 * 32); /* each GPU keeps at least 32 */
    free(small);
    free(page);
    outcome_free(&w.out);
    free(gpus);
}

static void bars_merge_only_past_the_budget(void **state)
{
    (void)state;
    struct outcome_slice s[12];
    struct report_bar bars[12];
    /* Ten 1g.5gb at start 0, a second apart and 0.5 s gaps between; two
     * 2g.10gb at start 2. Given backwards: the sort puts them right. */
    for (int i = 0; i < 10; i++)
        s[9 - i] = (struct outcome_slice){.from_ns = S(i), .to_ns = S(i + 0.5), .start = 0,
                                          .size = 1, .profile = 0};
    s[10] = (struct outcome_slice){.from_ns = S(0), .to_ns = S(3), .start = 2, .size = 2,
                                   .profile = 1};
    s[11] = (struct outcome_slice){.from_ns = S(8), .to_ns = S(9), .start = 2, .size = 2,
                                   .profile = 1};
    int64_t gap;
    assert_int_equal(report_gantt_bars(s, 12, 12, S(0.1), &gap, bars), 12);
    assert_int_equal(gap, -1);
    assert_true(bars[0].from_ns == 0 && bars[9].from_ns == S(9));
    /* Over budget: the gap grows from 0.1 s until the 0.5 s gaps go. */
    assert_int_equal(report_gantt_bars(s, 12, 4, S(0.1), &gap, bars), 3);
    assert_true(gap >= S(0.5) && gap < S(1));
    assert_int_equal(bars[0].count, 10);
    assert_true(bars[0].from_ns == 0 && bars[0].to_ns == S(9.5));
    assert_int_equal(bars[1].count, 1); /* the 2g.10gb 5 s apart stay two */
    assert_int_equal(bars[2].count, 1);
    /* A budget below the lanes: every gap is taken, one bar per lane. */
    assert_int_equal(report_gantt_bars(s, 12, 1, S(0.1), &gap, bars), 2);
    assert_int_equal(bars[1].count, 2);
}

static void the_span_is_the_later_of_timeline_and_slices(void **state)
{
    (void)state;
    struct outcome o = {0};
    assert_int_equal(report_span_ns(&o), 1);
    struct outcome_sample t[2] = {{.t_ns = 0}, {.t_ns = S(10)}};
    o.timeline = t;
    o.n_timeline = 2;
    assert_int_equal(report_span_ns(&o), S(10));
    struct outcome_slice s = {.from_ns = S(1), .to_ns = S(12)};
    o.slices = &s;
    o.n_slices = 1;
    assert_int_equal(report_span_ns(&o), S(12));
}

static void limits_default_where_zero(void **state)
{
    (void)state;
    struct report_limits l = report_limits_of(NULL);
    assert_int_equal(l.timeline_points, REPORT_TIMELINE_POINTS);
    assert_int_equal(l.gantt_bars, REPORT_GANTT_BARS);
    l = report_limits_of(&(struct report_limits){.gantt_gpus = 3});
    assert_int_equal(l.gantt_gpus, 3);
    assert_int_equal(l.cdf_points, REPORT_CDF_POINTS);
}

static void page_text_escapes_and_ticks_are_round(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    page_text(f, "a<b>&\"c'");
    page_text(f, NULL);
    page_textf(f, "%d<%s", 1, "2");
    fclose(f);
    assert_string_equal(buf, "a&lt;b&gt;&amp;&quot;c&#39;1&lt;2");
    free(buf);
    assert_true(page_tick_step(100, 5) == 20);
    assert_true(page_tick_step(2251, 8) == 200);
    assert_true(fabs(page_tick_step(1, 4) - 0.2) < 1e-12);
    assert_true(page_tick_step(0, 4) == 1);
}

static void page_x_and_page_save(void **state)
{
    (void)state;
    assert_true(page_x(0, 0, 10) == PAGE_PLOT_LEFT);
    assert_true(page_x(10, 0, 10) == PAGE_WIDTH - PAGE_PLOT_RIGHT);
    assert_true(page_x(5, 5, 5) == PAGE_PLOT_LEFT); /* an empty range */
    char dir[] = "/tmp/test_report_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], path[96];
    snprintf(sub, sizeof sub, "%s/made", dir);
    struct world w;
    world_init(&w, "n1");
    small_run(&w, 2);
    struct err e = {0};
    assert_int_equal(report_write(sub, "t", &w.out, &w.c, NULL, &e), 0);
    snprintf(path, sizeof path, "%s/report.html", sub);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char head[16] = {0};
    assert_int_equal(fread(head, 1, 15, f), 15);
    assert_string_equal(head, "<!DOCTYPE html>");
    fclose(f);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
    assert_true(report_write("/nonexistent/x", "t", &w.out, &w.c, NULL, &e) < 0);
    assert_non_null(strstr(e.msg, "/nonexistent/x"));
    outcome_free(&w.out);
}

static void the_chart_draws_each_series(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {0, 5, 10};
    struct page_series s[2] = {{"a<", x, y, 3, true}, {"b", x, y, 3, false}};
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    page_chart(f, &(struct page_chart){.title = "t", .x_label = "x", .y_label = "y",
                                       .series = s, .n_series = 2});
    fclose(f);
    assert_int_equal(count(buf, "<polyline class=\"line c0\""), 1);
    assert_int_equal(count(buf, "<polyline class=\"line c1\""), 1);
    assert_non_null(strstr(buf, "<title>a&lt;</title>"));
    /* Steps: each point after the first also holds the previous y (3
     * points and 2 held in the first line's points, which come first). */
    const char *steps = strstr(buf, "c0\" points=\"");
    const char *straight = strstr(buf, "c1\" points=\"");
    assert_int_equal(count(steps, ",") - count(straight, ","), 5);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_page_has_its_parts),
        cmocka_unit_test(names_are_escaped),
        cmocka_unit_test(without_slices_the_page_says_so),
        cmocka_unit_test(a_big_run_stays_small),
        cmocka_unit_test(bars_merge_only_past_the_budget),
        cmocka_unit_test(the_span_is_the_later_of_timeline_and_slices),
        cmocka_unit_test(limits_default_where_zero),
        cmocka_unit_test(page_text_escapes_and_ticks_are_round),
        cmocka_unit_test(page_x_and_page_save),
        cmocka_unit_test(the_chart_draws_each_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
