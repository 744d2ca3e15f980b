/*
 * The shared report format of the benchmarks (bench_report.h): figures
 * beside their targets, BELOW TARGET lines for misses, and the one way a
 * benchmark fails when a call it times fails.
 */
#include "bench_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/clock.h"

/* A figure with as many digits as it needs to be read: whole numbers as
 * they are and from 100 up, one decimal from 10, three significant digits
 * below. */
static void format_value(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "unknown");
    else if (fabs(v) >= 100 || v == floor(v))
        snprintf(buf, size, "%.0f", v);
    else if (fabs(v) >= 10)
        snprintf(buf, size, "%.1f", v);
    else
        snprintf(buf, size, "%.3g", v);
}

static void print_measure(const char *label, double v, const char *unit)
{
    char text[64];
    format_value(v, text, sizeof text);
    printf("%s%s%s%s%s", label ? label : "", label ? " " : "", text, unit && *unit ? " " : "",
           unit ? unit : "");
}

static bool misses(const struct bench_figure *f)
{
    switch (f->goal) {
    case BENCH_AT_LEAST:
        return !(f->value >= f->target); /* NaN misses */
    case BENCH_AT_MOST:
        return !(f->value <= f->target);
    default:
        return false;
    }
}

static void print_targets(const struct bench_figure *figures, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const struct bench_figure *f = &figures[i];
        if (f->goal == BENCH_REFERENCE)
            continue;
        printf("%s", any ? ", " : " (target ");
        if (f->label)
            printf("%s ", f->label);
        printf("%s ", f->goal == BENCH_AT_LEAST ? ">=" : "<=");
        print_measure(NULL, f->target, f->unit);
        any = true;
    }
    printf("%s", any ? ")" : " (target: none, for reference)");
}

static int vreport(const char *name, const struct bench_figure *figures, size_t n,
                   const char *detail_fmt, va_list ap)
{
    printf("%s: ", name);
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        print_measure(figures[i].label, figures[i].value, figures[i].unit);
    }
    print_targets(figures, n);
    if (detail_fmt) {
        printf("; ");
        vprintf(detail_fmt, ap);
    }
    printf("\n");
    int missed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!misses(&figures[i]))
            continue;
        printf("BELOW TARGET: %s: ", name);
        print_measure(figures[i].label, figures[i].value, figures[i].unit);
        print_targets(&figures[i], 1);
        printf("\n");
        missed++;
    }
    /* benchmarks run for minutes under meson: show each line as it comes */
    fflush(stdout);
    return missed;
}

int bench_report(const char *name, const struct bench_figure *figures, size_t n,
                 const char *detail_fmt, ...)
{
    va_list ap;
    va_start(ap, detail_fmt);
    int missed = vreport(name, figures, n, detail_fmt, ap);
    va_end(ap);
    return missed;
}

int bench_report1(const char *name, double value, const char *unit, enum bench_goal goal,
                  double target, const char *detail_fmt, ...)
{
    struct bench_figure f = {.value = value, .unit = unit, .goal = goal, .target = target};
    va_list ap;
    va_start(ap, detail_fmt);
    int missed = vreport(name, &f, 1, detail_fmt, ap);
    va_end(ap);
    return missed;
}

void bench_check(int rc, const struct err *e, const char *call_fmt, ...)
{
    if (rc >= 0)
        return;
    va_list ap;
    va_start(ap, call_fmt);
    fflush(stdout);
    fprintf(stderr, "%s: ", program_invocation_short_name);
    vfprintf(stderr, call_fmt, ap);
    fprintf(stderr, " failed (%d)%s%s\n", rc, e && e->msg[0] ? ": " : "", e ? e->msg : "");
    va_end(ap);
    exit(1);
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fprintf(stderr, "%s: ", program_invocation_short_name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

double bench_now_s(void)
{
    return (double)clock_monotonic_ns() / (double)NS_PER_SEC;
}

static double cpu_clock_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_thread_cpu_s(void)
{
    return cpu_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

double bench_process_cpu_s(void)
{
    return cpu_clock_s(CLOCK_PROCESS_CPUTIME_ID);
}
