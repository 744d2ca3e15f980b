/*
 * OpenAPI v3 documents (openapi.h), generated from the registry on request.
 */
#include "apiserver/openapi.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/discovery.h"
#include "util/hash.h"
#include "util/jdoc.h"

static json_t *param(const char *name, const char *in, bool required)
{
    return json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", in, "required", required,
                     "schema", "type", "string");
}

/* The query parameters of a write; force only for patch. */
static json_t *write_params(bool patch)
{
    json_t *p = json_array();
    jdoc_append(p, param("dryRun", "query", false));
    jdoc_append(p, param("fieldManager", "query", false));
    jdoc_append(p, param("fieldValidation", "query", false));
    if (patch)
        jdoc_append(p, param("force", "query", false));
    return p;
}

static json_t *operation(const struct api_resource *r, const char *action, json_t *params)
{
    json_t *op = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:{s:s}}}", "x-kubernetes-action",
                           action, "x-kubernetes-group-version-kind", "group", r->group,
                           "version", r->version, "kind", r->kind, "responses", "200",
                           "description", "OK");
    if (op && params)
        jdoc_set(op, "parameters", params);
    else
        json_decref(params);
    return op;
}

/* "api/v1" or "apis/G/V": where r's group-version is served. */
static void gv_path(const struct api_resource *r, char *buf, size_t size)
{
    if (r->group[0])
        snprintf(buf, size, "apis/%s/%s", r->group, r->version);
    else
        snprintf(buf, size, "api/%s", r->version);
}

/* The path item of res's collection and of one object, added to paths. */
static void add_paths(json_t *paths, const struct api_resource *r)
{
    char gv[300], coll[700], item[800];
    gv_path(r, gv, sizeof gv);
    snprintf(coll, sizeof coll, "/%s%s/%s", gv, r->namespaced ? "/namespaces/{namespace}" : "",
             r->plural);
    snprintf(item, sizeof item, "%s/{name}", coll);
    json_t *ns_params = json_array();
    if (r->namespaced)
        jdoc_append(ns_params, param("namespace", "path", true));
    json_t *item_params = jdoc_copy(ns_params);
    jdoc_append(item_params, param("name", "path", true));
    jdoc_set(paths, coll,
                        json_pack("{s:o, s:o, s:o}", "parameters", ns_params, "get",
                                  operation(r, "list", NULL), "post",
                                  operation(r, "post", write_params(false))));
    jdoc_set(paths, item,
                        json_pack("{s:o, s:o, s:o, s:o, s:o}", "parameters", item_params, "get",
                                  operation(r, "get", NULL), "put",
                                  operation(r, "put", write_params(false)), "patch",
                                  operation(r, "patch", write_params(true)), "delete",
                                  operation(r, "delete", NULL)));
}

json_t *openapi_group_version(struct api_registry *reg, const char *group, const char *version)
{
    const struct api_resource **v;
    size_t n = discovery_resources(reg, &v);
    json_t *paths = json_object();
    bool any = false;
    for (size_t i = 0; paths && i < n; i++)
        if (strcmp(v[i]->group, group) == 0 && strcmp(v[i]->version, version) == 0) {
            add_paths(paths, v[i]);
            any = true;
        }
    free(v);
    if (!any) {
        json_decref(paths);
        return NULL;
    }
    return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:{}}}", "openapi", "3.0.0", "info", "title",
                     "Kubernetes", "version", "v" DISCOVERY_KUBE_MAJOR "." DISCOVERY_KUBE_MINOR
                     ".0", "paths", paths, "components", "schemas");
}

/* FNV-1a over the compact document: changes when the document does. */
static uint64_t doc_hash(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = hash_string(HASH_INIT, s ? s : "");
    free(s);
    return h;
}

json_t *openapi_index(struct api_registry *reg)
{
    const struct api_resource **v;
    size_t n = discovery_resources(reg, &v);
    json_t *paths = json_object();
    for (size_t i = 0; paths && i < n; i++) {
        char key[300], url[400];
        gv_path(v[i], key, sizeof key);
        if (json_object_get(paths, key))
            continue;
        json_t *doc = openapi_group_version(reg, v[i]->group, v[i]->version);
        snprintf(url, sizeof url, "/openapi/v3/%s?hash=%016" PRIX64, key, doc_hash(doc));
        json_decref(doc);
        jdoc_set(paths, key, json_pack("{s:s}", "serverRelativeURL", url));
    }
    free(v);
    return paths ? json_pack("{s:o}", "paths", paths) : NULL;
}
