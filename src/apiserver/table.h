/*
 * Table output (meta.k8s.io/v1 Table): the rows and columns `kubectl get`
 * prints, computed on the server as the API server does.
 *
 * Columns come from one of three places: built-in printers for the kinds
 * gpuslice and its embedded cluster serve (pods, nodes, namespaces, events,
 * deployments, replicasets, jobs, configmaps, leases, CRDs, ...); for a
 * custom resource, the additionalPrinterColumns of its stored
 * CustomResourceDefinition (GPUNode and GPUSlice included); otherwise Name
 * and Age. kubectl prints cells verbatim, so ages are formatted here
 * ("5m", "3d4h") and a missing value is a null cell (kubectl's "<none>").
 */
#ifndef GPUSLICE_APISERVER_TABLE_H
#define GPUSLICE_APISERVER_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api/resource.h"
#include "store/store.h"
#include "util/err.h"

#define TABLE_AGE_LEN 24

struct table_spec;

/* What each row carries besides its cells (?includeObject=). */
enum table_include {
    TABLE_INCLUDE_METADATA = 0, /* PartialObjectMetadata: the default */
    TABLE_INCLUDE_OBJECT,
    TABLE_INCLUDE_NONE,
};

/* Reads ?includeObject= (NULL: Metadata). -EBADMSG for another value. */
int table_include_parse(const char *s, enum table_include *out, struct err *e);

/* The columns for res, owned by the caller (table_spec_free). For a custom
 * resource the CRD is read from st; -ENOMEM is the only failure (a missing
 * or unreadable CRD gives Name and Age). */
int table_spec_new(struct store *st, const struct api_resource *res, struct table_spec **out,
                   struct err *e);

void table_spec_free(struct table_spec *ts);

/* A Table of the objects in items (a JSON array): with the column
 * definitions when columns is true, metadata copied from list_meta (may be
 * NULL), apiVersion meta.k8s.io/<version>. Ages are relative to now_ns.
 * New reference owned by the caller; NULL only when out of memory. */
json_t *table_build(const struct table_spec *ts, const json_t *items, const json_t *list_meta,
                    bool columns, enum table_include inc, const char *version, int64_t now_ns);

/* The PartialObjectMetadata of obj (meta.k8s.io/<version>): kind,
 * apiVersion and a copy of its metadata. New reference; NULL when out of
 * memory. */
json_t *table_partial(const json_t *obj, const char *version);

/* A duration as kubectl shows ages, at two units of precision at most:
 * "45s", "2m30s", "5m", "3h10m", "20h", "3d4h", "120d", "2y30d", "9y";
 * "<invalid>" for a time more than a second in the future. */
void table_age(int64_t ns, char out[TABLE_AGE_LEN]);

/* The age of the RFC 3339 time s at now_ns, or "<unknown>" when s is
 * missing or malformed. */
void table_age_since(const char *s, int64_t now_ns, char out[TABLE_AGE_LEN]);

#endif
