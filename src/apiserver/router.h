/*
 * The paths of the Kubernetes REST API, parsed into what a request
 * addresses: a discovery document, the OpenAPI documents, the health
 * checks, or a collection or object of a served resource (the resource
 * looked up in the registry, so an unknown one is a 404 here).
 *
 *   /api, /apis, /apis/G, /api/v1, /apis/G/V          discovery
 *   /api/v1/PLURAL[/NAME[/SUB]]                       cluster-scoped, or all namespaces
 *   /api/v1/namespaces/NS/PLURAL[/NAME[/SUB]]         namespaced
 *   /apis/G/V/...                                     the same for group G
 *   /openapi/v3, /openapi/v3/api/v1, /openapi/v3/apis/G/V
 *   /version, /healthz, /livez, /readyz (and below them)
 *
 * /api/v1/namespaces/NS is the namespace NS itself, and
 * /api/v1/namespaces/NS/status its status, as in the API server.
 */
#ifndef GPUSLICE_APISERVER_ROUTER_H
#define GPUSLICE_APISERVER_ROUTER_H

#include <stddef.h>

#include "api/resource.h"
#include "util/err.h"

#define ROUTE_PATH_MAX 2048
#define ROUTE_NOT_FOUND "the server could not find the requested resource"

enum route_kind {
    ROUTE_ROOT,          /* "/" */
    ROUTE_HEALTH,        /* /healthz, /livez, /readyz */
    ROUTE_VERSION,       /* /version */
    ROUTE_API,           /* /api: the core group's versions */
    ROUTE_APIS,          /* /apis: the groups */
    ROUTE_GROUP,         /* /apis/G */
    ROUTE_GROUP_VERSION, /* /api/v1, /apis/G/V: the resources of one version */
    ROUTE_OPENAPI_INDEX, /* /openapi/v3 */
    ROUTE_OPENAPI_DOC,   /* /openapi/v3/api/v1, /openapi/v3/apis/G/V */
    ROUTE_COLLECTION,    /* .../PLURAL */
    ROUTE_OBJECT,        /* .../PLURAL/NAME[/SUB] */
};

struct route {
    enum route_kind kind;
    const char *group;       /* GROUP, GROUP_VERSION, OPENAPI_DOC, COLLECTION, OBJECT */
    const char *version;     /* GROUP_VERSION, OPENAPI_DOC, COLLECTION, OBJECT */
    const struct api_resource *res; /* COLLECTION, OBJECT */
    const char *ns;          /* NULL when the path names no namespace */
    const char *name;        /* OBJECT */
    const char *subresource; /* OBJECT: NULL or "status", "binding", ... */
    char buf[ROUTE_PATH_MAX]; /* the decoded segments the pointers above point into */
};

/* Parses the path path[0..len) (no query string) into rt. -ENOENT with
 * ROUTE_NOT_FOUND for a path the API does not have (a resource reg does not
 * serve included), -EBADMSG for a malformed %-escape or a path of
 * ROUTE_PATH_MAX bytes or more. rt's strings live in rt->buf. */
int router_parse(struct api_registry *reg, const char *path, size_t len, struct route *rt,
                 struct err *e);

#endif
