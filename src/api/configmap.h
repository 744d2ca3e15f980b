/*
 * ConfigMaps, as the agent writes them for containers to read through
 * envFrom: string data under keys the API server accepts as environment
 * variable sources ([-._a-zA-Z0-9]+, at most 253 characters, not "." or
 * ".."), 1 MiB in all.
 */
#ifndef GPUSLICE_API_CONFIGMAP_H
#define GPUSLICE_API_CONFIGMAP_H

#include <jansson.h>

#include "util/err.h"

#define CONFIGMAP_MAX_BYTES (1024 * 1024)

/* A valid data key, else -EINVAL naming field. */
int configmap_check_key(const char *key, const char *field, struct err *e);

struct configmap_view {
    const char *name, *ns;
    const json_t *data;        /* an object of strings, or NULL */
    const json_t *binary_data; /* binaryData, or NULL */
};

/* Reads and checks a ConfigMap: data and binaryData keys valid and not in
 * both, values strings, CONFIGMAP_MAX_BYTES in all. -EINVAL naming the
 * field. */
int configmap_read(const json_t *cm, struct configmap_view *v, struct err *e);

/* A ConfigMap in ns with a copy of data (an object of strings), owned by
 * owner (a controller reference) when owner is not NULL. New reference
 * owned by the caller; NULL when out of memory. */
json_t *configmap_new(const char *ns, const char *name, const json_t *data, const json_t *owner);

#endif
