/*
 * The pages' HTML and SVG (see page.h). Coordinates are written with one
 * decimal: a tenth of a pixel is finer than any screen shows, and it keeps
 * a chart of many points small.
 */
#include "sim/page.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/atomicfile.h"

#define CHART_HEIGHT 260
#define CHART_TOP 34
#define CHART_BOTTOM 42

static const char *const colours[PAGE_COLOURS] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#1f77b4", "#17becf", "#8c564b",
};

void page_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

int page_save(const char *dir, const char *name, void (*render)(void *ctx, FILE *f), void *ctx,
              struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", dir, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    render(ctx, f);
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        err_set(e, rc, "%s: cannot render it", path);
    else
        rc = atomicfile_write(path, buf, len, 0644, e);
    free(buf);
    return rc;
}

void page_textf(FILE *f, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    page_text(f, buf);
}

void page_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    page_text(f, title);
    fputs("</title>\n<style>\n"
          "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1000px;"
          "color:#222}\n"
          "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\n"
          "table{border-collapse:collapse;margin:.5em 0}\n"
          "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}\n"
          "th{background:#f3f3f3}td.l,th.l{text-align:left}\n"
          "code{background:#f6f6f6;padding:.1em .3em;word-break:break-word}\n"
          "p.note{color:#555;font-size:.9em}\n"
          "svg{display:block;margin:.4em 0}svg text{font-size:11px;fill:#333}\n"
          ".axis{stroke:#888;stroke-width:1}.grid{stroke:#eee;stroke-width:1}\n"
          ".line{fill:none;stroke-width:1.6}\n"
          ".foreign{fill:#bbb;fill-opacity:.6}.lane{fill:#fafafa;stroke:#ddd}\n"
          ".gantt .bar{stroke:#fff;stroke-width:.5}\n",
          f);
    for (int i = 0; i < PAGE_COLOURS; i++)
        fprintf(f, ".c%d{fill:%s;stroke:%s}.line.c%d{fill:none}\n", i, colours[i], colours[i],
                i);
    fputs("</style>\n</head>\n<body>\n<h1>", f);
    page_text(f, title);
    fputs("</h1>\n", f);
}

void page_end(FILE *f)
{
    fputs("</body>\n</html>\n", f);
}

double page_tick_step(double range, int ticks)
{
    if (!(range > 0) || ticks < 1)
        return 1;
    double raw = range / ticks;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

static double plot_width(void)
{
    return PAGE_WIDTH - PAGE_PLOT_LEFT - PAGE_PLOT_RIGHT;
}

double page_x(double x, double x_min, double x_max)
{
    double range = x_max > x_min ? x_max - x_min : 1;
    return PAGE_PLOT_LEFT + (x - x_min) / range * plot_width();
}

void page_x_axis(FILE *f, double x_min, double x_max, double y_top, double plot_height,
                 const char *label)
{
    double base = y_top + plot_height;
    fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
            PAGE_PLOT_LEFT, base, PAGE_WIDTH - PAGE_PLOT_RIGHT, base);
    double step = page_tick_step(x_max - x_min, 8);
    double first = ceil(x_min / step - 1e-9);
    for (int i = 0; x_max > x_min && (first + i) * step <= x_max + step * 1e-9; i++) {
        double x = (first + i) * step, px = page_x(x, x_min, x_max);
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                px, y_top, px, base, px, base + 14, fabs(x) < step * 1e-9 ? 0 : x);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", PAGE_PLOT_LEFT +
            plot_width() / 2, base + 32);
    page_text(f, label);
    fputs("</text>\n", f);
}

static void y_axis(FILE *f, const struct page_chart *c, double y_max, double plot_h)
{
    fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>\n",
            PAGE_PLOT_LEFT, CHART_TOP, PAGE_PLOT_LEFT, CHART_TOP + plot_h);
    double step = page_tick_step(y_max, 4);
    for (int i = 0; i * step <= y_max * (1 + 1e-9); i++) {
        double py = CHART_TOP + plot_h - i * step / y_max * plot_h;
        fprintf(f,
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>\n",
                PAGE_PLOT_LEFT, py, PAGE_WIDTH - PAGE_PLOT_RIGHT, py, PAGE_PLOT_LEFT - 4,
                py + 4, c->y_percent ? i * step * 100 : i * step, c->y_percent ? "%" : "");
    }
    fprintf(f, "<text x=\"12\" y=\"%.1f\" transform=\"rotate(-90 12 %.1f)\" "
            "text-anchor=\"middle\">", CHART_TOP + plot_h / 2, CHART_TOP + plot_h / 2);
    page_text(f, c->y_label);
    fputs("</text>\n", f);
}

static void series_line(FILE *f, const struct page_series *s, int colour, double x_max,
                        double y_max, double plot_h)
{
    fprintf(f, "<polyline class=\"line c%d\" points=\"", colour % PAGE_COLOURS);
    double prev_py = 0;
    for (size_t i = 0; i < s->n; i++) {
        double px = page_x(s->x[i], 0, x_max);
        double py = CHART_TOP + plot_h - s->y[i] / y_max * plot_h;
        if (s->steps && i > 0)
            fprintf(f, "%.1f,%.1f ", px, prev_py);
        fprintf(f, "%.1f,%.1f ", px, py);
        prev_py = py;
    }
    fputs("\"><title>", f);
    page_text(f, s->name);
    fputs("</title></polyline>\n", f);
}

static void legend(FILE *f, const struct page_chart *c)
{
    double x = PAGE_PLOT_LEFT;
    for (size_t i = 0; i < c->n_series; i++) {
        fprintf(f, "<rect class=\"c%zu\" x=\"%.1f\" y=\"20\" width=\"14\" height=\"4\"/>"
                "<text x=\"%.1f\" y=\"26\">", i % PAGE_COLOURS, x, x + 18);
        page_text(f, c->series[i].name);
        fputs("</text>\n", f);
        x += 30 + 6.5 * (double)(c->series[i].name ? strlen(c->series[i].name) : 0);
    }
}

static void data_max(const struct page_chart *c, double *x_max, double *y_max)
{
    *x_max = c->x_max;
    *y_max = c->y_max;
    for (size_t i = 0; i < c->n_series; i++)
        for (size_t k = 0; k < c->series[i].n; k++) {
            if (c->x_max <= 0 && c->series[i].x[k] > *x_max)
                *x_max = c->series[i].x[k];
            if (c->y_max <= 0 && c->series[i].y[k] > *y_max)
                *y_max = c->series[i].y[k];
        }
    *x_max = *x_max > 0 ? *x_max : 1;
    *y_max = *y_max > 0 ? *y_max : 1;
}

void page_chart(FILE *f, const struct page_chart *c)
{
    double x_max, y_max, plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM;
    data_max(c, &x_max, &y_max);
    fprintf(f, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>",
            PAGE_WIDTH, CHART_HEIGHT, PAGE_WIDTH, CHART_HEIGHT);
    page_text(f, c->title);
    fprintf(f, "</title>\n<text x=\"%d\" y=\"12\" font-weight=\"bold\">", PAGE_PLOT_LEFT);
    page_text(f, c->title);
    fputs("</text>\n", f);
    legend(f, c);
    y_axis(f, c, y_max, plot_h);
    page_x_axis(f, 0, x_max, CHART_TOP, plot_h, c->x_label);
    for (size_t i = 0; i < c->n_series; i++)
        series_line(f, &c->series[i], (int)i, x_max, y_max, plot_h);
    fputs("</svg>\n", f);
}
