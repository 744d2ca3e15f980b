/*
 * OpenAPI v3 documents, to the extent clients rely on them.
 *
 * kubectl fetches /openapi/v2 only as protobuf, so only v3 is served: an
 * index (/openapi/v3: group-version → serverRelativeURL) and per
 * group-version a document whose paths carry, for every kind, its
 * operations with x-kubernetes-group-version-kind and the query parameters
 * the server honours. kubectl's apply checks there that the patch operation
 * takes fieldValidation before it relies on server-side validation. No
 * schemas are published (components.schemas is empty): `kubectl explain`
 * has nothing to show, and client-side apply computes its patches from
 * its built-in types (strategic merge) or as JSON merge patches (custom
 * resources), which is what the server expects.
 */
#ifndef GPUSLICE_APISERVER_OPENAPI_H
#define GPUSLICE_APISERVER_OPENAPI_H

#include <jansson.h>

#include "api/resource.h"

/* /openapi/v3. Each URL carries a hash of its document, so a client that
 * caches by URL sees a CRD change. New reference; NULL when out of memory. */
json_t *openapi_index(struct api_registry *reg);

/* /openapi/v3/api/v1, /openapi/v3/apis/G/V; NULL when reg serves nothing in
 * group/version (or out of memory). */
json_t *openapi_group_version(struct api_registry *reg, const char *group, const char *version);

#endif
