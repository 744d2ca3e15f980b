/*
 * A Prometheus registry: the one place every gpuslice component keeps its
 * metrics and renders them in the Prometheus text exposition format
 * (version 0.0.4) that GET /metrics answers.
 *
 * A registry holds families (a counter, a gauge or a histogram with a name,
 * a help text and up to PROM_MAX_LABELS label names); a family holds one
 * series per set of label values, made on first use. Values are given as
 * the family's label values, in the order of its label names, after the
 * value:
 *
 *     struct prom_family *ops = prom_histogram(reg, "gpuslice_x_seconds",
 *         "How long x took.", "kind,result", PROM_LATENCY_BUCKETS_N, prom_latency_buckets);
 *     prom_observe(ops, 0.012, "create", "success");
 *
 * Gauges that describe a state held elsewhere (slices by phase) are best
 * computed when scraped: a scrape hook (prom_on_scrape) clears and sets
 * them just before the text is written.
 *
 * Everything is thread-safe: one lock per registry guards the series (a
 * scrape sees each series consistent: a histogram's buckets, sum and count
 * agree). A NULL registry or family is accepted everywhere and does
 * nothing, so a component built without metrics needs no branches.
 *
 * Ownership: the registry owns its families; families live until
 * prom_free. Names and label names must be valid Prometheus names (checked;
 * an invalid one gets no family, NULL). Registering a name again gives the
 * family already there when its type and labels agree, else NULL.
 */
#ifndef GPUSLICE_UTIL_PROM_H
#define GPUSLICE_UTIL_PROM_H

#include <stddef.h>

#include "util/err.h"

#define PROM_MAX_LABELS 4

/* Latency buckets in seconds, 100 us to 30 s, for operations from an
 * in-memory decision to a MIG device call. */
#define PROM_LATENCY_BUCKETS_N 14
extern const double prom_latency_buckets[PROM_LATENCY_BUCKETS_N];

struct prom;
struct prom_family;

/* An empty registry, the caller's (prom_free). */
struct prom *prom_new(void);

/* Frees p and its families (may be NULL); no hook may be running. */
void prom_free(struct prom *p);

/* A family registered in p. labels: comma-separated label names ("kind,result"),
 * NULL or "" for none. Histogram bounds: n strictly increasing upper bounds
 * (+Inf is added). NULL when p is NULL or a name is invalid or taken by a
 * different family. */
struct prom_family *prom_counter(struct prom *p, const char *name, const char *help,
                                 const char *labels);
struct prom_family *prom_gauge(struct prom *p, const char *name, const char *help,
                               const char *labels);
struct prom_family *prom_histogram(struct prom *p, const char *name, const char *help,
                                   const char *labels, size_t n, const double *bounds);

/* The series of f for the label values that follow (one const char * per
 * label name; NULL reads ""): a counter grows by v (v < 0 is ignored), a
 * gauge is set to v or moved by v, a histogram counts one observation.
 * prom_set on a counter copies a count kept elsewhere (by a scrape hook),
 * which must never fall. */
void prom_add(struct prom_family *f, double v, ...);
void prom_set(struct prom_family *f, double v, ...);
void prom_observe(struct prom_family *f, double v, ...);

/* Drops every series of f (a gauge recomputed at each scrape). */
void prom_clear(struct prom_family *f);

/* fn(ctx) runs at the start of every prom_render, in the order added,
 * outside the registry's lock, to refresh gauges. */
void prom_on_scrape(struct prom *p, void (*fn)(void *ctx), void *ctx);

/* Removes fn(ctx); when it returns no render runs it any more, so ctx may
 * be freed. */
void prom_remove_hook(struct prom *p, void (*fn)(void *ctx), void *ctx);

/* The exposition text of every family in registration order: *out is
 * malloc'd (the caller's), NUL-terminated, *len bytes. -ENOMEM. A NULL p
 * renders "". */
int prom_render(struct prom *p, char **out, size_t *len, struct err *e);

#endif
