/*
 * Reading a planning problem from the inference-optimizer's JSON files.
 *
 * A problem is six sections, each the shape the optimizer's users already
 * have: accelerators, capacity (count per accelerator type), models
 * (performance per model and accelerator), service classes, servers and
 * optimizer options. They come either as a directory of files
 *   accelerator-data.json   {"accelerators": [...]}
 *   capacity-data.json      {"count": [...]}        (optional when unlimited)
 *   model-data.json         {"models": [...]}
 *   serviceclass-data.json  {"serviceClasses": [...]}
 *   server-data.json        {"servers": [...]}
 *   optimizer-data.json     {"optimizer": {...}}    (optional)
 * or bundled in one file or request body as
 *   {"system": {"acceleratorData": {...}, "capacityData": {...},
 *               "modelData": {...}, "serviceClassData": {...},
 *               "serverData": {...}, "optimizerData": {...}}}
 * Keys are matched case-insensitively, because existing files spell them
 * inconsistently ("AvgInTokens", "milpsolver"). Numbers may be written as
 * JSON numbers or numeric strings (the autoscaler's CRDs use strings); NaN
 * and infinities are refused.
 *
 * Two additions to the optimizer's accelerator entry make a MIG slice an
 * accelerator: "gpuModel" (a catalogue model, "H100-80GB") and "migProfile"
 * ("3g.40gb"); its capacity type then counts free placements of that
 * profile. "transitionPenalty" in the optimizer options turns on the
 * penalty for changing a server's accelerator.
 *
 * Every error names the file, where in it, and the field:
 * "model-data.json:31:18: models[2].decodeParms.alpha must be > 0, got -1"
 * (LINE:COL of the value, or of the object a missing field belongs in;
 * util/jsonpos.h). Only plan_load_json(), which has no text, leaves the
 * position out.
 */
#ifndef GPUSLICE_PLANNER_PLAN_LOAD_H
#define GPUSLICE_PLANNER_PLAN_LOAD_H

#include <jansson.h>

#include "planner/plan.h"
#include "util/err.h"

/* Files larger than this are refused before parsing. */
#define PLAN_LOAD_MAX_BYTES (64L << 20)

/* Loads a directory of section files or one bundled file. On success the
 * caller owns *sys (plan_system_free); on failure *sys is zeroed. */
int plan_load_path(const char *path, struct plan_system *sys, struct err *e);

/* Loads the bundled form from text (len bytes; origin names it in
 * messages), placing errors at their LINE:COL. Ownership as above. */
int plan_load_text(const char *text, size_t len, const char *origin, struct plan_system *sys, struct err *e);

/* Loads the bundled form from a parsed document; origin names it in
 * messages (a file name, "request body"). Ownership as above. */
int plan_load_json(const json_t *root, const char *origin, struct plan_system *sys, struct err *e);

#endif
