/*
 * The HTML the simulator's pages are made of (a run's report, a
 * comparison of policies): one self-contained page with its style inline
 * and its charts as inline SVG, so that it opens in any browser with no
 * network and no script. Hover texts are SVG <title> elements, which
 * browsers show as tooltips.
 *
 * Every string that comes from outside the program (a scenario's names, a
 * file name) goes through page_text, which escapes it for HTML text and
 * attribute values alike.
 *
 * Nothing here fails but page_save: the caller checks ferror(f).
 */
#ifndef GPUSLICE_SIM_PAGE_H
#define GPUSLICE_SIM_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

/* Colours of series and profiles: the CSS classes c0 .. c<PAGE_COLOURS-1>
 * (fill and stroke) that page_begin's style defines. */
#define PAGE_COLOURS 12

/* The chart area every chart and the Gantt chart share, in SVG units. */
#define PAGE_WIDTH 960
#define PAGE_PLOT_LEFT 64
#define PAGE_PLOT_RIGHT 24

/* s escaped for HTML (& < > " '); NULL writes nothing. */
void page_text(FILE *f, const char *s);

/* Writes dir/name (made when missing, mode 0644) whole with what
 * render(ctx, f) writes (util/atomicfile.h: a reader never sees half a
 * page). -errno naming the file. */
int page_save(const char *dir, const char *name, void (*render)(void *ctx, FILE *f), void *ctx,
              struct err *e);

/* printf into a bounded buffer, then page_text. */
void page_textf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The page's head, its style and the opening of its body with title as
 * the heading; page_end closes what it opened. */
void page_begin(FILE *f, const char *title);
void page_end(FILE *f);

/* One line of a chart: n points (x ascending); steps: each y holds until
 * the next x (a gauge), else points are joined straight (a CDF). */
struct page_series {
    const char *name;      /* legend and tooltip */
    const double *x, *y;
    size_t n;
    bool steps;
};

struct page_chart {
    const char *title, *x_label, *y_label;
    const struct page_series *series;
    size_t n_series;
    double x_max, y_max;   /* the axes' ends; 0: the data's largest */
    bool y_percent;        /* y in 0..1, labelled as percent */
};

/* c as an SVG line chart with axes, ticks and a legend. */
void page_chart(FILE *f, const struct page_chart *c);

/* A round step for about `ticks` ticks over 0..range (1, 2 or 5 times a
 * power of ten); 1 for a range of 0 or less. */
double page_tick_step(double range, int ticks);

/* The x axis of a plot plot_height tall from y_top, over x_min .. x_max
 * (ticks, grid lines and label); the Gantt and strip charts share it. */
void page_x_axis(FILE *f, double x_min, double x_max, double y_top, double plot_height,
                 const char *label);

/* Where x falls on that axis, in SVG units. */
double page_x(double x, double x_min, double x_max);

#endif
