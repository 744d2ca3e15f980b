/*
 * Durations as users write them in annotations ("5s", "1m30s", "250ms",
 * "0s"): Go's time.ParseDuration form, the one Kubernetes users know, read
 * strictly (a number and a unit, repeated; no sign, no spaces, no unit
 * missing, nothing after) into nanoseconds, and written back in the same
 * form for messages.
 */
#ifndef GPUSLICE_UTIL_DURATION_H
#define GPUSLICE_UTIL_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Longest text duration_format writes, NUL included. */
#define DURATION_TEXT_MAX 32

/* Parses text ("1h2m3.5s"; units h, m, s, ms, us, ns; a number may have a
 * fraction) into *ns. -EINVAL with a message quoting text for anything
 * else (empty, negative, a number without a unit, an unknown unit) and
 * -ERANGE past about 292 years; *ns is untouched on failure. */
int duration_parse(const char *text, int64_t *ns, struct err *e);

/* Writes ns (>= 0) as "1h2m3.5s", "250ms", "0s" into out: hours and
 * minutes when there are any, seconds with at most three decimals (ms
 * under a second). Returns out. */
char *duration_format(int64_t ns, char out[DURATION_TEXT_MAX]);

#endif
