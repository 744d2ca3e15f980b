/*
 * The JSONPath subset that CustomResourceDefinition printer columns use
 * (additionalPrinterColumns[].jsonPath): member steps (.spec.node),
 * array indexes ([0], [-1] from the end), the wildcard [*], and equality
 * filters ([?(@.type=="Ready")] or with single quotes). Where a full
 * JSONPath would give several values, this gives the first, which is the
 * one the API server's table converter prints.
 */
#ifndef GPUSLICE_APISERVER_JSONPATH_H
#define GPUSLICE_APISERVER_JSONPATH_H

#include <jansson.h>

/* The node path selects in root (borrowed from root), or NULL when nothing
 * matches or path is not in the subset. */
const json_t *jsonpath_get(const json_t *root, const char *path);

#endif
