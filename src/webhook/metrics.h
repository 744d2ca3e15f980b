/*
 * The webhook's metrics, as families of a Prometheus registry (util/prom.h):
 * admission results and latency, certificate reloads. The webhook answers
 * them on its own GET /metrics and, through the same registry, on
 * `gpuslice webhook --metrics-address`.
 */
#ifndef GPUSLICE_WEBHOOK_METRICS_H
#define GPUSLICE_WEBHOOK_METRICS_H

#include <stdint.h>

#include "util/prom.h"

/* What one POST /mutate-pod came to. */
enum metrics_result {
    METRICS_ALLOWED = 0, /* allowed untouched */
    METRICS_PATCHED,     /* allowed with a patch */
    METRICS_DENIED,      /* allowed: false */
    METRICS_ERROR,       /* no review: 400, 413 or 500 */
    METRICS_RESULTS
};

/* The families, registered in a registry the caller owns. */
struct metrics {
    struct prom_family *results, *requests, *denials, *errors, *duration, *reloads;
};

/* Registers the families in reg (NULL: every record is a no-op). */
void metrics_init(struct metrics *m, struct prom *reg);

/* Records one request's result and how long answering it took. */
void metrics_observe(struct metrics *m, enum metrics_result r, uint64_t elapsed_ns);

/* Records a certificate re-read that took effect (ok) or was refused. */
void metrics_reload(struct metrics *m, int ok);

#endif
