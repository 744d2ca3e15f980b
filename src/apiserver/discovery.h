/*
 * API discovery: the documents clients read to learn what the server
 * serves (/api, /apis, /apis/G, /api/v1, /apis/G/V) and /version.
 *
 * Discovery is served unaggregated: kubectl asks for the aggregated
 * apidiscovery.k8s.io/v2 form first, gets plain application/json, and
 * falls back to one APIResourceList per group-version. The documents are
 * built from the registry on every request, so a CRD is discoverable as
 * soon as it is served.
 */
#ifndef GPUSLICE_APISERVER_DISCOVERY_H
#define GPUSLICE_APISERVER_DISCOVERY_H

#include <stddef.h>

#include <jansson.h>

#include "api/resource.h"

/* The Kubernetes release whose API this server follows (/version). */
#define DISCOVERY_KUBE_MAJOR "1"
#define DISCOVERY_KUBE_MINOR "32"

/* A snapshot of the served resources (registration order): *out is an
 * array the caller frees with free(); its entries stay valid for the
 * registry's life. Returns the count; 0 with *out NULL when out of memory
 * or nothing is served. */
size_t discovery_resources(struct api_registry *reg, const struct api_resource ***out);

/* /api: APIVersions. New reference; NULL when out of memory. */
json_t *discovery_core(void);

/* /apis: APIGroupList of every group but the core one, each version once,
 * the first registered preferred. New reference; NULL when out of memory. */
json_t *discovery_groups(struct api_registry *reg);

/* /apis/G: one APIGroup; NULL when reg serves nothing in group (or out of
 * memory). */
json_t *discovery_group(struct api_registry *reg, const char *group);

/* /api/v1, /apis/G/V: the APIResourceList of group/version, subresources
 * included; NULL when reg serves nothing there (or out of memory). */
json_t *discovery_group_version(struct api_registry *reg, const char *group,
                                const char *version);

/* /version: the version.Info of the API followed, gitVersion carrying
 * gpuslice's own version as build metadata. New reference. */
json_t *discovery_version(const char *gpuslice_version);

#endif
