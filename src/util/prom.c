/*
 * The registry of prom.h: families in a growable array, each with its
 * series in another, found by a linear scan of their label values (a
 * family has tens of series, not thousands). The text is written into a
 * stream (open_memstream), so its length needs no guess.
 */
#include "util/prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/mutex.h"
#include "util/vec.h"

const double prom_latency_buckets[PROM_LATENCY_BUCKETS_N] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,  0.05,    0.1,    0.25,  1,      5,     30,
};

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };
static const char *const type_names[] = {"counter", "gauge", "histogram"};

struct series {
    char *values[PROM_MAX_LABELS];
    double value, sum;  /* value: counter or gauge; sum: histogram */
    uint64_t *buckets;  /* histogram: n + 1, not cumulative, last +Inf */
    uint64_t count;
};

struct prom_family {
    struct prom *reg;
    enum prom_type type;
    char *name, *help;
    char *labels[PROM_MAX_LABELS];
    size_t n_labels;
    double *bounds;
    size_t n_bounds;
    struct series *series;
    size_t n_series, cap_series;
};

struct hook {
    void (*fn)(void *ctx);
    void *ctx;
};

struct prom {
    struct mutex mu;       /* families and their series */
    struct mutex hooks_mu; /* hooks, held while they run */
    struct prom_family **families;
    size_t n_families, cap_families;
    struct hook *hooks;
    size_t n_hooks, cap_hooks;
};

struct prom *prom_new(void)
{
    struct prom *p = alloc_calloc(1, sizeof *p);
    mutex_init(&p->mu);
    mutex_init(&p->hooks_mu);
    return p;
}

static void series_free(struct series *s)
{
    for (size_t i = 0; i < PROM_MAX_LABELS; i++)
        free(s->values[i]);
    free(s->buckets);
}

static void family_free(struct prom_family *f)
{
    for (size_t i = 0; i < f->n_series; i++)
        series_free(&f->series[i]);
    for (size_t i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->series);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void prom_free(struct prom *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_families; i++)
        family_free(p->families[i]);
    free(p->families);
    free(p->hooks);
    mutex_destroy(&p->hooks_mu);
    mutex_destroy(&p->mu);
    free(p);
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return false;
    return true;
}

/* Splits "a,b" into f's label names; false when one is invalid or too many. */
static bool parse_labels(struct prom_family *f, const char *labels)
{
    const char *p = labels ? labels : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        if (f->n_labels == PROM_MAX_LABELS)
            return false;
        f->labels[f->n_labels] = alloc_strndup(p, len);
        if (!valid_name(f->labels[f->n_labels++], false) || strcmp(f->labels[f->n_labels - 1], "le") == 0)
            return false;
        p += len + (p[len] == ',');
    }
    return true;
}

static bool same_shape(const struct prom_family *a, const struct prom_family *b)
{
    if (a->type != b->type || a->n_labels != b->n_labels || a->n_bounds != b->n_bounds)
        return false;
    for (size_t i = 0; i < a->n_labels; i++)
        if (strcmp(a->labels[i], b->labels[i]) != 0)
            return false;
    for (size_t i = 0; i < a->n_bounds; i++)
        if (a->bounds[i] != b->bounds[i])
            return false;
    return true;
}

static bool bounds_increase(size_t n, const double *bounds)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return false;
    return true;
}

/* Adds f to p, or frees it for the same family already there (returned). */
static struct prom_family *enrol(struct prom *p, struct prom_family *f)
{
    mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_families; i++)
        if (strcmp(p->families[i]->name, f->name) == 0) {
            struct prom_family *old = same_shape(p->families[i], f) ? p->families[i] : NULL;
            mutex_unlock(&p->mu);
            family_free(f);
            return old;
        }
    VEC_RESERVE(p->families, p->cap_families, p->n_families + 1);
    p->families[p->n_families++] = f;
    mutex_unlock(&p->mu);
    return f;
}

static struct prom_family *family_new(struct prom *p, enum prom_type type, const char *name,
                                      const char *help, const char *labels, size_t n,
                                      const double *bounds)
{
    if (!p || !valid_name(name, true) || !bounds_increase(n, bounds))
        return NULL;
    struct prom_family *f = alloc_calloc(1, sizeof *f);
    f->reg = p;
    f->type = type;
    f->name = alloc_strdup(name);
    f->help = alloc_strdup(help ? help : "");
    if (!parse_labels(f, labels)) {
        family_free(f);
        return NULL;
    }
    if (n) {
        f->bounds = alloc_calloc(n, sizeof *bounds);
        memcpy(f->bounds, bounds, n * sizeof *bounds);
        f->n_bounds = n;
    }
    return enrol(p, f);
}

struct prom_family *prom_counter(struct prom *p, const char *name, const char *help,
                                 const char *labels)
{
    return family_new(p, PROM_COUNTER, name, help, labels, 0, NULL);
}

struct prom_family *prom_gauge(struct prom *p, const char *name, const char *help,
                               const char *labels)
{
    return family_new(p, PROM_GAUGE, name, help, labels, 0, NULL);
}

struct prom_family *prom_histogram(struct prom *p, const char *name, const char *help,
                                   const char *labels, size_t n, const double *bounds)
{
    return family_new(p, PROM_HISTOGRAM, name, help, labels, n, bounds);
}

/* The series of f for the values in ap, made when new; f's registry is locked. */
static struct series *series_of(struct prom_family *f, va_list ap)
{
    const char *values[PROM_MAX_LABELS];
    for (size_t i = 0; i < f->n_labels; i++) {
        values[i] = va_arg(ap, const char *);
        if (!values[i])
            values[i] = "";
    }
    for (size_t s = 0; s < f->n_series; s++) {
        size_t i = 0;
        while (i < f->n_labels && strcmp(f->series[s].values[i], values[i]) == 0)
            i++;
        if (i == f->n_labels)
            return &f->series[s];
    }
    VEC_RESERVE(f->series, f->cap_series, f->n_series + 1);
    struct series *s = &f->series[f->n_series++];
    *s = (struct series){0};
    for (size_t i = 0; i < f->n_labels; i++)
        s->values[i] = alloc_strdup(values[i]);
    if (f->type == PROM_HISTOGRAM)
        s->buckets = alloc_calloc(f->n_bounds + 1, sizeof *s->buckets);
    return s;
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void apply(struct prom_family *f, enum op op, double v, va_list ap)
{
    mutex_lock(&f->reg->mu);
    struct series *s = series_of(f, ap);
    if (op == OP_OBSERVE && f->type == PROM_HISTOGRAM) {
        size_t b = 0;
        while (b < f->n_bounds && v > f->bounds[b])
            b++;
        s->buckets[b]++;
        s->count++;
        s->sum += v;
    } else if (op == OP_SET && f->type != PROM_HISTOGRAM) {
        s->value = v;
    } else if (op == OP_ADD && (f->type == PROM_GAUGE || (f->type == PROM_COUNTER && v >= 0))) {
        s->value += v;
    }
    mutex_unlock(&f->reg->mu);
}

void prom_add(struct prom_family *f, double v, ...)
{
    if (!f)
        return;
    va_list ap;
    va_start(ap, v);
    apply(f, OP_ADD, v, ap);
    va_end(ap);
}

void prom_set(struct prom_family *f, double v, ...)
{
    if (!f)
        return;
    va_list ap;
    va_start(ap, v);
    apply(f, OP_SET, v, ap);
    va_end(ap);
}

void prom_observe(struct prom_family *f, double v, ...)
{
    if (!f)
        return;
    va_list ap;
    va_start(ap, v);
    apply(f, OP_OBSERVE, v, ap);
    va_end(ap);
}

void prom_clear(struct prom_family *f)
{
    if (!f)
        return;
    mutex_lock(&f->reg->mu);
    for (size_t i = 0; i < f->n_series; i++)
        series_free(&f->series[i]);
    f->n_series = 0;
    mutex_unlock(&f->reg->mu);
}

void prom_on_scrape(struct prom *p, void (*fn)(void *ctx), void *ctx)
{
    if (!p)
        return;
    mutex_lock(&p->hooks_mu);
    VEC_RESERVE(p->hooks, p->cap_hooks, p->n_hooks + 1);
    p->hooks[p->n_hooks++] = (struct hook){fn, ctx};
    mutex_unlock(&p->hooks_mu);
}

void prom_remove_hook(struct prom *p, void (*fn)(void *ctx), void *ctx)
{
    if (!p)
        return;
    mutex_lock(&p->hooks_mu);
    for (size_t i = 0; i < p->n_hooks; i++)
        if (p->hooks[i].fn == fn && p->hooks[i].ctx == ctx) {
            memmove(&p->hooks[i], &p->hooks[i + 1], (p->n_hooks - i - 1) * sizeof p->hooks[0]);
            p->n_hooks--;
            break;
        }
    mutex_unlock(&p->hooks_mu);
}

/* HELP text escapes backslash and newline; label values also the quote. */
static void put_escaped(FILE *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (*s == '"' && quote)
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

/* The shortest of 15 to 17 significant digits that reads back as v. */
static void put_shortest(FILE *out, double v)
{
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    fputs(text, out);
}

static void put_number(FILE *out, double v)
{
    if (isnan(v))
        fputs("NaN", out);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", out);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(out, "%.0f", v);
    else
        put_shortest(out, v);
}

/* NAME{l="v",...,le="B"} with le only when given. */
static void put_series_name(FILE *out, const struct prom_family *f, const char *suffix,
                            const struct series *s, const char *le)
{
    fprintf(out, "%s%s", f->name, suffix);
    if (f->n_labels == 0 && !le)
        return;
    fputc('{', out);
    for (size_t i = 0; i < f->n_labels; i++) {
        fprintf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_escaped(out, s->values[i], true);
        fputc('"', out);
    }
    if (le)
        fprintf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    fputc('}', out);
}

static void render_histogram(FILE *out, const struct prom_family *f, const struct series *s)
{
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= f->n_bounds; b++) {
        char le[32];
        if (b < f->n_bounds)
            snprintf(le, sizeof le, "%g", f->bounds[b]);
        else
            strcpy(le, "+Inf");
        cumulative += s->buckets[b];
        put_series_name(out, f, "_bucket", s, le);
        fprintf(out, " %llu\n", (unsigned long long)cumulative);
    }
    put_series_name(out, f, "_sum", s, NULL);
    fputc(' ', out);
    put_number(out, s->sum);
    fputc('\n', out);
    put_series_name(out, f, "_count", s, NULL);
    fprintf(out, " %llu\n", (unsigned long long)s->count);
}

/* A family with no labels shows 0 before its first use, as client
 * libraries do, so that a rate over it exists from the start. */
static void render_family(FILE *out, const struct prom_family *f)
{
    fprintf(out, "# HELP %s ", f->name);
    put_escaped(out, f->help, false);
    fprintf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    struct series zero = {0};
    bool unlabelled_empty = f->n_series == 0 && f->n_labels == 0;
    if (unlabelled_empty && f->type == PROM_HISTOGRAM)
        zero.buckets = alloc_calloc(f->n_bounds + 1, sizeof *zero.buckets);
    const struct series *all = unlabelled_empty ? &zero : f->series;
    size_t n = unlabelled_empty ? 1 : f->n_series;
    for (size_t i = 0; i < n; i++) {
        if (f->type == PROM_HISTOGRAM) {
            render_histogram(out, f, &all[i]);
            continue;
        }
        put_series_name(out, f, "", &all[i], NULL);
        fputc(' ', out);
        put_number(out, all[i].value);
        fputc('\n', out);
    }
    if (unlabelled_empty && f->type == PROM_HISTOGRAM)
        free(zero.buckets);
}

static void run_hooks(struct prom *p)
{
    mutex_lock(&p->hooks_mu);
    for (size_t i = 0; i < p->n_hooks; i++)
        p->hooks[i].fn(p->hooks[i].ctx);
    mutex_unlock(&p->hooks_mu);
}

int prom_render(struct prom *p, char **out, size_t *len, struct err *e)
{
    *out = NULL;
    *len = 0;
    FILE *f = open_memstream(out, len);
    if (!f)
        return err_set(e, -ENOMEM, "metrics: out of memory");
    if (p) {
        run_hooks(p);
        mutex_lock(&p->mu);
        for (size_t i = 0; i < p->n_families; i++)
            render_family(f, p->families[i]);
        mutex_unlock(&p->mu);
    }
    if (fclose(f) != 0 || !*out) {
        free(*out);
        *out = NULL;
        *len = 0;
        return err_set(e, -ENOMEM, "metrics: out of memory");
    }
    return 0;
}
