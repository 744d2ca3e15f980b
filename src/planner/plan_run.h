/*
 * The planner as a function of text: a bundled problem in, the plan's JSON
 * out. What `gpuslice plan serve` answers to POST /plan, kept here so that
 * the HTTP glue in src/cmd stays a router.
 */
#ifndef GPUSLICE_PLANNER_PLAN_RUN_H
#define GPUSLICE_PLANNER_PLAN_RUN_H

#include <stddef.h>

#include "util/err.h"

/* Parses text (len bytes, the bundled {"system": ...} form; origin names it
 * in messages), plans, and sets *out to the plan as JSON text (malloc'd,
 * caller frees). -EINVAL for bad input, with the field at fault; other
 * codes for failures of the planner itself. */
int plan_run_text(const char *text, size_t len, const char *origin, char **out, struct err *e);

#endif
