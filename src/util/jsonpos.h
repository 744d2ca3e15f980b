/*
 * Where a value sits in JSON text, by its path: jansson keeps no positions,
 * yet an error in a user's file should name FILE:LINE:COL (docs/cli.md).
 * The loaders that check values by path ("models[2].decodeParms.alpha") ask
 * this scanner where that path is in the text they parsed.
 *
 * A path is keys joined by '.', with "[i]" after a key for an array item;
 * keys are compared case-insensitively and byte for byte (no unescaping),
 * as the planner's loader matches them; the first match wins, as in
 * jansson's ordered objects. Only well-formed JSON is expected (the text
 * was parsed already); on anything else the scanner stops where it is.
 */
#ifndef GPUSLICE_UTIL_JSONPOS_H
#define GPUSLICE_UTIL_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>

struct jsonpos {
    int line;   /* 1-based */
    int column; /* 1-based, in bytes */
};

/* Finds path ("" is the whole document) in text[0 .. len-1] and sets *at to
 * where its value starts. Returns true when the whole path was found;
 * otherwise false with *at at the deepest part of the path that exists
 * (the object a missing key belongs in, for instance). */
bool jsonpos_find(const char *text, size_t len, const char *path, struct jsonpos *at);

#endif
