/*
 * Resource quantities ("500m", "1.5", "64Gi", "1e3", "2k"), as Kubernetes
 * writes CPU, memory, pod counts and extended resources in requests, limits
 * and node capacity.
 *
 * A quantity is read into thousandths of its unit (the API's MilliValue):
 * "500m" CPU is 500, "2" is 2000, "1Ki" bytes is 1024000. Fractions finer
 * than a thousandth round up, as the API server rounds a request, so a
 * request is never under-counted. An int64 of thousandths holds up to
 * 9.2e15 units (8 PiB of memory), which no node approaches; larger values
 * are refused rather than wrapped.
 *
 * Grammar (the API's): an optional sign, digits with an optional fraction,
 * then either a suffix (binary Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E)
 * or an exponent (e or E followed by an optional sign and digits).
 */
#ifndef GPUSLICE_API_QUANTITY_H
#define GPUSLICE_API_QUANTITY_H

#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define QUANTITY_MAX_DIGITS 18 /* significant digits kept exactly */

/* Parses s into thousandths (*milli). -EINVAL naming field when s is not a
 * quantity, -ERANGE when it does not fit or has more than
 * QUANTITY_MAX_DIGITS significant digits. */
int quantity_parse(const char *s, const char *field, int64_t *milli, struct err *e);

/* The same for a JSON value: a string as above, or a number (YAML turns
 * `cpu: 2` into one). */
int quantity_from_json(const json_t *v, const char *field, int64_t *milli, struct err *e);

#endif
